//! `leadpipe run`: a pipeline file, every source, every stage, one transaction. Also the
//! run summary that `import` prints too.

use super::time_arg::parse_time;
use super::{truncate, CmdResult};
use clap::Args;
use leadpipe::pipeline::{self, RunError, RunOptions, RunSummary};
use leadpipe::record::Stage;
use leadpipe::settings::TypedTime;
use std::path::PathBuf;

/// Run a pipeline file: every source, every stage, one transaction.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe run pipelines/demo.toml
  leadpipe run pipelines/demo.toml --db /tmp/demo.duckdb --json
  leadpipe run pipelines/demo.toml --only import      land raw rows only
  leadpipe run pipelines/demo.toml --from normalise   re-derive records from landed raw rows
  leadpipe run pipelines/demo.toml --to normalise     land clean records; dedupe later

Relative paths inside the pipeline file are relative to the file's folder.
Re-running on unchanged files adds nothing but a row in `runs`.")]
pub struct RunArgs {
    /// The pipeline file (TOML): sources, settings, output database.
    pipeline: PathBuf,
    #[command(flatten)]
    common: Common,
    /// Run only this stage (against what earlier runs landed).
    #[arg(long, value_enum, conflicts_with = "from")]
    only: Option<Stage>,
    /// Run this stage and every later one.
    #[arg(long, value_enum)]
    from: Option<Stage>,
    /// Stop after this stage (`--to normalise`: land clean records, leave deduplication,
    /// consent and warmth for a later `--from dedupe`).
    #[arg(long, value_enum, conflicts_with = "only")]
    to: Option<Stage>,
    /// Judge consent expiry at this time instead of now (reproducible runs), e.g.
    /// 2026-11-23T09:00:00+03:00.
    #[arg(long, value_parser = parse_time)]
    as_of: Option<TypedTime>,
    /// Fetch web pages (html sources with [sources.fetch]) again instead of using the
    /// copies kept from earlier runs.
    #[arg(long)]
    refresh: bool,
}

/// The options `run` and `import` share.
#[derive(Args)]
pub struct Common {
    /// DuckDB file to write (default: the pipeline's `db`, or ./leadpipe.duckdb).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: RunArgs, quiet: bool) -> CmdResult {
    let plan = pipeline::load_pipeline(&args.pipeline).map_err(RunError::from)?;
    let opts = RunOptions {
        only: args.only,
        from: args.from,
        to: args.to,
        progress: !quiet,
        command: format!("run {}", args.pipeline.display()),
        as_of: args.as_of,
        refresh: args.refresh,
        ..RunOptions::default()
    };
    let summary = pipeline::run(&plan, &opts, args.common.db.as_deref())?;
    print_run_summary(&summary, args.common.json, quiet);
    Ok(())
}

/// Prints a run's summary: JSON with `--json`, else a table, unless `--quiet` (warnings
/// then still go to stderr, where a scheduler's log keeps them).
pub fn print_run_summary(s: &RunSummary, json: bool, quiet: bool) {
    for w in &s.warnings {
        eprintln!("leadpipe: warning: {w}");
    }
    if quiet && !json {
        return;
    }
    if json {
        match serde_json::to_string_pretty(s) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("leadpipe: cannot print the summary as JSON: {e}"),
        }
        return;
    }
    println!(
        "run {} ({}) into {}: {} rows read, {} accepted, {} rejected in {:.1}s",
        s.run_id,
        s.stages
            .iter()
            .map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(" → "),
        s.db,
        s.rows_read,
        s.rows_accepted,
        s.rows_rejected,
        s.elapsed_ms as f64 / 1000.0
    );
    print_sources(s);
    if let Some(d) = &s.dedupe {
        let scope = if d.incremental {
            format!(
                "{} records (new, and those of the {} leads they touch)",
                d.records, d.touched_leads
            )
        } else {
            format!("{} records", d.records)
        };
        println!(
            "  dedupe: {scope} → {} leads ({} new); {} candidate pairs, {} vetoed (different people), {} merges refused",
            d.leads, d.new_leads, d.blocking.pairs, d.vetoed_pairs, d.refused_merges
        );
        if let Some(a) = &d.reviewed {
            println!(
                "  reviewed: {}",
                leadpipe::report::agreement_sentence(leadpipe::lang::Lang::En, a)
            );
        }
    }
    if let Some(c) = &s.consent {
        println!(
            "  consent: {} new events; {} leads with consent history, {} with call consent granted; {} status changes (consent_audit)",
            c.events_added, c.refresh.leads_with_events, c.refresh.call_granted, c.refresh.status_changes
        );
    }
}

/// One line per source with its rejects by reason under it.
fn print_sources(s: &RunSummary) {
    // Runs without import or normalise have nothing to say per source.
    let sources: Vec<_> = s.sources.iter().filter(|x| !x.status.is_empty()).collect();
    if !sources.is_empty() {
        println!(
            "  {:<28} {:<13} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "source", "status", "read", "accepted", "rejected", "phones", "emails"
        );
    }
    for src in sources {
        println!(
            "  {:<28} {:<13} {:>9} {:>9} {:>9} {:>9} {:>9}",
            truncate(&src.source, 28),
            src.status,
            src.rows_read,
            src.rows_accepted,
            src.rows_rejected,
            src.phones_valid,
            src.emails_valid
        );
        for (reason, n) in &src.rejects_by_reason {
            println!("  {:<28} {:<13} {:>9}", "", format!("  {reason}"), n);
        }
    }
}
