//! `leadpipe compliance report`: what a compliance reviewer asks for, as HTML or CSV.

use super::base::{open_for_reading, with_settings};
use super::time_arg::parse_time;
use super::CmdResult;
use clap::{Args, Subcommand};
use leadpipe::compliance::View;
use leadpipe::consent::Purpose;
use leadpipe::lang::Lang;
use leadpipe::settings::TypedTime;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ComplianceCommand {
    Report(ComplianceReportArgs),
}

/// Consent coverage, who would be called and on what basis, who is blocked and why,
/// suppression lists, and one lead's audit trail. HTML (self-contained) or CSV.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe compliance report --db demo.duckdb --out report.html
  leadpipe compliance report --db demo.duckdb --out decisions.csv
  leadpipe compliance report --db demo.duckdb --out lead.html --lead 3

The CSV has one row per lead and number with the decision and its reason.")]
pub struct ComplianceReportArgs {
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// report.html or report.csv.
    #[arg(long)]
    out: PathBuf,
    /// Add this lead's consent history and audit trail.
    #[arg(long)]
    lead: Option<i64>,
    #[arg(long, value_enum, default_value_t = Purpose::Advertising)]
    purpose: Purpose,
    #[arg(long, value_parser = parse_time)]
    as_of: Option<TypedTime>,
    /// Language of the HTML page (default: the base's `[output] lang`, else Russian); the
    /// CSV keeps English codes.
    #[arg(long, value_enum)]
    lang: Option<Lang>,
}

pub fn run(command: ComplianceCommand) -> CmdResult {
    let ComplianceCommand::Report(args) = command;
    let (store, settings) = with_settings(open_for_reading(&args.db)?)?;
    let now = settings.moment(args.as_of.as_ref());
    let report =
        leadpipe::compliance::build(&store, args.purpose, now, args.lead, &settings.normaliser)?;
    let view = View {
        lang: args.lang.unwrap_or(settings.lang),
        zone: settings.zone(),
    };
    leadpipe::compliance::write(&report, &args.out, view)?;
    println!(
        "{}: {} leads; {} numbers may be called, {} blocked",
        args.out.display(),
        report.total_leads,
        report.callable_numbers,
        report.blocked_numbers
    );
    Ok(())
}
