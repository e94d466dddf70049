//! `leadpipe call-list`: who may be called now, filtered, windowed and split across
//! operators, written as CSV or XLSX.

use super::base::{open_for_reading, with_settings};
use super::time_arg::parse_time;
use super::{print_json, CliError, CmdResult};
use chrono::NaiveTime;
use clap::Args;
use leadpipe::consent::Purpose;
use leadpipe::consent_commands::{self as consent_cmd, CallList};
use leadpipe::enrich::gazetteer::{resolve_place_filter, PlaceKind};
use leadpipe::export::{CallListOptions, CallListStats, OutsideWindow};
use leadpipe::settings::TypedTime;
use std::path::PathBuf;

/// Write who may be called now: only valid numbers with call consent granted, in force
/// and given for that number, never suppressed, never erased.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe call-list --db demo.duckdb --out calls.csv
  leadpipe call-list --db demo.duckdb --out calls.csv --as-of 2026-12-01 --json

Consent is derived from the full history at the moment of the call list (not from what
`leads.call_consent` said at the last run), so a withdrawal recorded a minute ago counts.
The CSV is UTF-8 with a BOM (Excel opens it as is); --json prints counts and reasons.")]
pub struct CallListArgs {
    /// DuckDB file to read.
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// File to write: calls.csv (UTF-8 with BOM) or calls.xlsx.
    #[arg(long)]
    out: PathBuf,
    /// Advertising calls need prior consent; service calls rest on a contract.
    #[arg(long, value_enum, default_value_t = Purpose::Advertising)]
    purpose: Purpose,
    /// Judge consent and calling windows at this time instead of now.
    #[arg(long, value_parser = parse_time)]
    as_of: Option<TypedTime>,
    /// Only these warmth tiers (repeatable: --tier hot --tier warm).
    #[arg(long, value_parser = ["hot", "warm", "cold"])]
    tier: Vec<String>,
    /// Only leads scoring at least this.
    #[arg(long)]
    min_score: Option<i64>,
    /// Only leads that came from this source (repeatable).
    #[arg(long)]
    source: Vec<String>,
    /// Only leads in this city: its name, an abbreviation (СПб) or another spelling
    /// (repeatable, any case).
    #[arg(long)]
    city: Vec<String>,
    /// Only leads in this region: name, short form or code (RU-MOW, MOW; repeatable).
    #[arg(long)]
    region: Vec<String>,
    /// Allowed local hours of the callee, e.g. 09:00-21:00.
    #[arg(long, default_value = "09:00-21:00", value_parser = parse_window)]
    window: (NaiveTime, NaiveTime),
    /// Numbers outside their window now: leave out, or keep with `call_after_utc`.
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
    /// CSV delimiter: `,` or `;` (Excel in Russian locales expects `;`).
    #[arg(long, default_value = ",")]
    delimiter: char,
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
        if !self.delimiter.is_ascii() {
            return Err(CliError::BadArgument(
                "--delimiter must be one ASCII character".into(),
            ));
        }
        let cities = resolve_place_filter(PlaceKind::City, &self.city);
        let regions = resolve_place_filter(PlaceKind::Region, &self.region);
        let warnings = [cities.warnings, regions.warnings].concat();
        let opts = CallListOptions {
            tiers: self.tier.clone(),
            min_score: self.min_score,
            sources: self.source.clone(),
            cities: cities.values,
            regions: regions.values,
            window_start: self.window.0,
            window_end: self.window.1,
            outside_window: self.outside_window,
            operators: self.operators.max(1),
            capacity: self.capacity,
            split_files: self.split,
            delimiter: self.delimiter as u8,
            ..CallListOptions::default()
        };
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
    let now = settings.moment(args.as_of.as_ref());
    let list = consent_cmd::call_list(&store, args.purpose, now, &settings.normaliser)?;
    let (_, stats, files) = leadpipe::export::export_call_list(&store, &list, &opts, &args.out)?;
    if args.json {
        print_json(&serde_json::json!({
            "files": file_names(&files),
            "as_of": list.as_of,
            "purpose": list.purpose,
            "rows": stats,
            "blocked_by_reason": list.blocked_by_reason,
            "warnings": warnings,
        }));
    } else {
        print_counts(&list, &stats, &files);
    }
    Ok(())
}

fn file_names(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.display().to_string()).collect()
}

/// What was written, what the filters and windows left out, and why the rest is blocked.
fn print_counts(list: &CallList, stats: &CallListStats, files: &[PathBuf]) {
    println!(
        "{}: {} numbers to call ({} purpose, as of {}); {} callable before filters",
        file_names(files).join(", "),
        stats.rows,
        list.purpose.as_str(),
        list.as_of.format("%Y-%m-%d %H:%M UTC"),
        stats.callable_numbers
    );
    for (what, n) in [
        ("left out by filters", stats.filtered_out),
        ("outside their calling window", stats.outside_window),
        ("scheduled for later (call_after_utc)", stats.scheduled),
        ("over operator capacity", stats.over_capacity),
    ] {
        if n > 0 {
            println!("  {what:<38} {n:>8}");
        }
    }
    for (reason, n) in &list.blocked_by_reason {
        println!("  blocked: {reason:<30} {n:>8}");
    }
    println!("  (leads with no consent history at all are never callable and not counted)");
}
