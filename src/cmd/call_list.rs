//! `leadpipe call-list`: who may be called now, filtered, windowed and split across
//! operators, written as CSV or XLSX.

use super::base::{open_for_reading, with_settings};
use super::filters::LeadFilters;
use super::time_arg::parse_time;
use super::{print_json, CliError, CmdResult};
use chrono::NaiveTime;
use clap::Args;
use leadpipe::consent::Purpose;
use leadpipe::consent_commands::{self as consent_cmd, CallList};
use leadpipe::export::{CallListOptions, CallListStats, ListStyle, OutsideWindow};
use leadpipe::lang::Lang;
use leadpipe::settings::TypedTime;
use leadpipe::shortfall::{self, Explanation};
use std::path::PathBuf;

/// Write who may be called now: only valid numbers with call consent granted, in force
/// and given for that number, never suppressed, never erased.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe call-list --db demo.duckdb --out calls.csv
  leadpipe call-list --db demo.duckdb --out calls.csv --as-of 2026-12-01 --json

Consent is derived from the full history at the moment of the call list (not from what
`leads.call_consent` said at the last run), so a withdrawal recorded a minute ago counts.
By default the list is for people: headers in the base's language (--lang), times in the
base's zone, and a CSV that Russian Excel opens right (`;`, UTF-8 BOM, phones as
`+7 916 123-45-67`). --style machine writes English columns, E.164 and UTC for dialers.
When numbers are missing, the command says why and what to do (--json: `explanation`).")]
pub struct CallListArgs {
    /// DuckDB file to read.
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// File to write: calls.csv or calls.xlsx.
    #[arg(long)]
    out: PathBuf,
    /// Advertising calls need prior consent; service calls rest on a contract.
    #[arg(long, value_enum, default_value_t = Purpose::Advertising)]
    purpose: Purpose,
    /// Judge consent and calling windows at this time instead of now.
    #[arg(long, value_parser = parse_time)]
    as_of: Option<TypedTime>,
    #[command(flatten)]
    filters: LeadFilters,
    /// Allowed local hours of the callee, e.g. 09:00-21:00.
    #[arg(long, default_value = "09:00-21:00", value_parser = parse_window)]
    window: (NaiveTime, NaiveTime),
    /// Numbers outside their window now: leave out, or keep them with the time their
    /// window opens ("Звонить с", in the base's zone; `call_after_utc` for machines).
    #[arg(long, value_enum, default_value_t = OutsideWindow::Exclude)]
    outside_window: OutsideWindow,
    /// Split across this many operators (round-robin, best leads spread evenly).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    operators: u32,
    /// At most this many numbers per operator.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    capacity: Option<u32>,
    /// One file per operator (calls.op1.csv …) instead of an `operator` column only.
    #[arg(long)]
    split: bool,
    /// CSV delimiter (default `;` for people, `,` for machines).
    #[arg(long)]
    delimiter: Option<char>,
    /// Who reads the list: people in a spreadsheet, or a dialer (`machine`).
    #[arg(long, value_enum, default_value_t = ListStyle::People)]
    style: ListStyle,
    /// Language of headers and words (default: the base's `[output] lang`, else Russian).
    #[arg(long, value_enum)]
    lang: Option<Lang>,
    /// Print counts and blocked reasons as JSON.
    #[arg(long)]
    json: bool,
}

/// `09:00-21:00` → (09:00, 21:00).
fn parse_window(s: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?}: write the window as HH:MM-HH:MM, e.g. 09:00-21:00"))?;
    let t = |x: &str| {
        NaiveTime::parse_from_str(x.trim(), "%H:%M")
            .map_err(|_| format!("{x:?} is not a time of day (HH:MM)"))
    };
    let (start, end) = (t(a)?, t(b)?);
    if start == end {
        return Err("the calling window is empty".into());
    }
    Ok((start, end))
}

impl CallListArgs {
    /// The export's options, and a warning for each place filter the gazetteer does not
    /// know; the delimiter is checked before the base is opened.
    fn options(&self) -> Result<(CallListOptions, Vec<String>), CliError> {
        if self.delimiter.is_some_and(|d| !d.is_ascii()) {
            return Err(CliError::BadArgument(
                "--delimiter must be one ASCII character".into(),
            ));
        }
        let mut opts = CallListOptions {
            window_start: self.window.0,
            window_end: self.window.1,
            outside_window: self.outside_window,
            operators: self.operators.max(1),
            capacity: self.capacity,
            split_files: self.split,
            delimiter: self.delimiter.map(|d| d as u8),
            style: self.style,
            ..CallListOptions::default()
        };
        let warnings = self.filters.apply(&mut opts);
        Ok((opts, warnings))
    }
}

pub fn run(args: CallListArgs) -> CmdResult {
    let (mut opts, warnings) = args.options()?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let (store, settings) = with_settings(open_for_reading(&args.db)?)?;
    // Callees with no known time zone are taken in the base's default zone.
    opts.default_offset_minutes =
        i64::from(settings.normaliser.naive_offset.local_minus_utc() / 60);
    opts.lang = args.lang.unwrap_or(settings.lang);
    opts.zone = settings.zone();
    opts.warmth = settings.warmth.clone();
    args.filters.resolve_segments(&store, &mut opts)?;
    let now = settings.moment(args.as_of.as_ref());
    let list = consent_cmd::call_list(&store, args.purpose, now, &settings.normaliser)?;
    let (_, stats, files) = leadpipe::export::export_call_list(&store, &list, &opts, &args.out)?;
    let explanation = shortfall::explain(&list, &stats, store.leads_with_phone()?, opts.lang);
    if args.json {
        print_json(&serde_json::json!({
            "files": file_names(&files),
            "as_of": list.as_of,
            "purpose": list.purpose,
            "rows": stats,
            "blocked_by_reason": list.blocked_by_reason,
            "explanation": explanation,
            "warnings": warnings,
        }));
    } else {
        print_counts(&list, &stats, &files, &opts, &explanation);
    }
    Ok(())
}

fn file_names(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.display().to_string()).collect()
}

/// What was written, and why numbers are missing, in the list's language.
fn print_counts(
    list: &CallList,
    stats: &CallListStats,
    files: &[PathBuf],
    opts: &CallListOptions,
    explanation: &Explanation,
) {
    let lang = opts.lang;
    println!(
        "{}: {} {} ({}, {} {})",
        file_names(files).join(", "),
        stats.rows,
        match lang {
            Lang::Ru => shortfall::plural_ru(stats.rows as u64, ["номер", "номера", "номеров"]),
            Lang::En => "numbers",
        },
        match (list.purpose.as_str(), lang) {
            ("advertising", Lang::Ru) => "рекламные звонки",
            ("service", Lang::Ru) => "звонки по обслуживанию",
            ("advertising", Lang::En) => "advertising calls",
            _ => "service calls",
        },
        lang.pick("на", "as of"),
        lang.time(list.as_of, opts.zone),
    );
    if stats.rows == stats.callable_numbers && explanation.reasons.is_empty() {
        return;
    }
    shortfall::print(explanation);
}
