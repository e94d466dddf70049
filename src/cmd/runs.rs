//! `leadpipe runs`: the run history, newest first.

use super::base::open_for_reading;
use super::{print_json, truncate, CmdResult};
use clap::Args;
use std::path::PathBuf;

/// List run history from the `runs` table, newest first.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe runs --db demo.duckdb
  leadpipe runs --db demo.duckdb --limit 5 --json")]
pub struct RunsArgs {
    /// DuckDB file to read.
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// How many runs to show.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RunsArgs) -> CmdResult {
    let rows = open_for_reading(&args.db)?.list_runs(args.limit)?;
    if args.json {
        print_json(&rows);
        return Ok(());
    }
    println!(
        "{:>5}  {:<26} {:<7} {:<28} {:>9} {:>9} {:>9} {:>8}",
        "run", "started", "status", "stages", "read", "accepted", "rejected", "seconds"
    );
    for r in rows {
        println!(
            "{:>5}  {:<26} {:<7} {:<28} {:>9} {:>9} {:>9} {:>8.1}",
            r.run_id,
            truncate(&r.started_at, 26),
            r.status,
            truncate(&r.stages, 28),
            r.rows_read,
            r.rows_accepted,
            r.rows_rejected,
            r.elapsed_ms as f64 / 1000.0
        );
        if let Some(e) = r.error {
            println!("       error: {e}");
        }
    }
    Ok(())
}
