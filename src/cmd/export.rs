//! `leadpipe export`: golden records for Bitrix24, amoCRM or a spreadsheet.

use super::base::{open_for_reading, with_settings};
use super::filters::LeadFilters;
use super::time_arg::parse_time;
use super::{print_json, CmdResult};
use clap::Args;
use leadpipe::consent::Purpose;
use leadpipe::consent_commands as consent_cmd;
use leadpipe::crm_export::{self, ConsentScope, ExportFormat, ExportOptions};
use leadpipe::export::CallListOptions;
use leadpipe::lang::Lang;
use leadpipe::settings::TypedTime;
use std::path::PathBuf;

/// Write deduplicated leads (one row per golden record) for a CRM's import or a
/// spreadsheet, by default only those that may be called now.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe export --format bitrix24 --out leads.csv --tier hot --tier warm
  leadpipe export --format amocrm --out leads.xlsx --city Москва
  leadpipe export --format xlsx --out base.xlsx --consent any --since 2026-11-01

Bitrix24: CSV, `;`, UTF-8, the lead import's own column names (CRM → Лиды → Импорт).
amoCRM: XLSX (or CSV), the contact-and-deal import's column names.
With --consent callable (the default) a lead goes out only if it may be called now, and
only with the numbers it may be called on; --consent any exports every lead with all its
numbers and says which may be called.")]
pub struct ExportArgs {
    /// DuckDB file to read.
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// File to write (.csv or .xlsx).
    #[arg(long)]
    out: PathBuf,
    /// Who the file is for.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Only callable leads with their callable numbers, or every lead.
    #[arg(long, value_enum, default_value_t = ConsentScope::Callable)]
    consent: ConsentScope,
    /// The purpose calls are judged for.
    #[arg(long, value_enum, default_value_t = Purpose::Advertising)]
    purpose: Purpose,
    #[command(flatten)]
    filters: LeadFilters,
    /// Only leads last seen at or after this time.
    #[arg(long, value_parser = parse_time)]
    since: Option<TypedTime>,
    /// Only leads last seen before this time.
    #[arg(long, value_parser = parse_time)]
    until: Option<TypedTime>,
    /// Judge consent at this time instead of now.
    #[arg(long, value_parser = parse_time)]
    as_of: Option<TypedTime>,
    /// Language of the spreadsheet's headers and words (CRM formats keep the CRM's names).
    #[arg(long, value_enum)]
    lang: Option<Lang>,
    /// Print counts as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ExportArgs) -> CmdResult {
    let (store, settings) = with_settings(open_for_reading(&args.db)?)?;
    let mut filters = CallListOptions {
        lang: args.lang.unwrap_or(settings.lang),
        zone: settings.zone(),
        warmth: settings.warmth.clone(),
        ..CallListOptions::default()
    };
    let warnings = args.filters.apply(&mut filters);
    args.filters.resolve_segments(&store, &mut filters)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let opts = ExportOptions {
        format: args.format,
        consent: args.consent,
        filters,
        since: args.since.as_ref().map(|t| t.resolve(&settings)),
        until: args.until.as_ref().map(|t| t.resolve(&settings)),
    };
    let now = settings.moment(args.as_of.as_ref());
    let list = consent_cmd::call_list(&store, args.purpose, now, &settings.normaliser)?;
    let stats = crm_export::export(&store, &list, &opts, &args.out)?;
    if args.json {
        print_json(&serde_json::json!({
            "file": args.out.display().to_string(),
            "format": args.format,
            "consent": args.consent,
            "as_of": now,
            "leads": stats,
            "warnings": warnings,
        }));
    } else {
        let lang = opts.filters.lang;
        println!(
            "{}: {} {} {} {}",
            args.out.display(),
            stats.exported,
            lang.pick("из", "of"),
            stats.leads,
            lang.pick("лидов", "leads"),
        );
        for (n, ru, en) in [
            (
                stats.not_callable,
                "нельзя звонить сейчас (--consent any выгрузит и их)",
                "may not be called now (--consent any exports them too)",
            ),
            (
                stats.filtered_out,
                "отсеяны фильтрами",
                "left out by the filters",
            ),
        ] {
            if n > 0 {
                println!("  {n:>8}  {}", lang.pick(ru, en));
            }
        }
    }
    Ok(())
}
