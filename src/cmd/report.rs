//! `leadpipe report`: one run as a self-contained HTML page.

use super::base::{open_for_reading, with_settings};
use super::{CliError, CmdResult};
use clap::Args;
use leadpipe::lang::Lang;
use std::path::PathBuf;

/// Write a self-contained HTML report of a run: funnel, rejects by reason, source
/// quality, warmth distribution, consent coverage (charts with their numbers).
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe report --db demo.duckdb --out report.html           the latest run
  leadpipe report --db demo.duckdb --run 3 --out run3.html --lang en

The file opens in any browser without a network connection.")]
pub struct ReportArgs {
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// The run (see `leadpipe runs`); default the latest.
    #[arg(long)]
    run: Option<i64>,
    #[arg(long)]
    out: PathBuf,
    /// Language of the report; default the base's `[output] lang` (Russian unless set).
    #[arg(long, value_enum)]
    lang: Option<Lang>,
}

pub fn run(args: ReportArgs) -> CmdResult {
    let (store, settings) = with_settings(open_for_reading(&args.db)?)?;
    let report = leadpipe::report::build(
        &store,
        args.run,
        &settings.normaliser,
        (&settings.warmth, settings.threshold),
    )?;
    let lang = args.lang.unwrap_or(settings.lang);
    let page = leadpipe::report::html(&report, lang, settings.zone());
    std::fs::write(&args.out, page).map_err(|source| CliError::Write {
        path: args.out.clone(),
        source,
    })?;
    let funnel: Vec<String> = report
        .funnel
        .iter()
        .map(|(k, v)| format!("{} {v}", leadpipe::report::term(lang, k)))
        .collect();
    println!(
        "{}: {} {} ({})",
        args.out.display(),
        lang.pick("отчёт о запуске", "report of run"),
        report.run_id,
        funnel.join(" → ")
    );
    Ok(())
}
