//! `leadpipe events import` and `leadpipe call-result import`: what happened to leads
//! after the base was built, which re-scores their warmth (and, for "asked not to call",
//! withdraws consent).

use super::base::{open_existing, with_settings};
use super::time_arg::parse_time;
use super::{print_json, CmdResult};
use clap::{Args, Subcommand};
use leadpipe::outcomes::OutcomeImport;
use leadpipe::settings::TypedTime;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum EventsCommand {
    Import(EventsImportArgs),
}

/// Load events: each row a phone and/or e-mail, a date, and the kind (visit,
/// email_open, reply) in a column, or --kind for the whole file. Warmth is re-scored.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe events import visits.csv --kind visit --db leads.duckdb
  leadpipe events import mailing-stats.xlsx --db leads.duckdb")]
pub struct EventsImportArgs {
    file: PathBuf,
    #[arg(long)]
    kind: Option<String>,
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// Score as of this time (default now).
    #[arg(long, value_parser = parse_time)]
    as_of: Option<TypedTime>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum CallResultCommand {
    Import(CallResultImportArgs),
}

/// Load call results: each row the number called, the outcome in the operator's words
/// (не взял трубку, занято, перезвонить, отказ, не звонить, неверный номер, no answer,
/// call back …), and optionally when, when to call back and a note.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe call-result import results-2026-11-23.csv --db leads.duckdb

Every result updates warmth. \"Asked not to call\" withdraws call consent for the number
and puts it on the `call-outcomes` list; \"wrong number\" puts the number (only) on the
`wrong-numbers` list; a callback (a «Перезвонить в» / callback_at column, or words such as
\"перезвонить завтра в 10\") keeps the lead off call lists until its time, then lists it
first. Rows that cannot be read are listed and left out; the rest are recorded.")]
pub struct CallResultImportArgs {
    file: PathBuf,
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    #[arg(long, value_parser = parse_time)]
    as_of: Option<TypedTime>,
    #[arg(long)]
    json: bool,
}

pub fn events(command: EventsCommand) -> CmdResult {
    let EventsCommand::Import(args) = command;
    let (store, settings) = with_settings(open_existing(&args.db)?)?;
    let loaded = leadpipe::outcomes::import_events(
        &store,
        &args.file,
        args.kind.as_deref(),
        &settings.normaliser,
        &settings.warmth,
        settings.moment(args.as_of.as_ref()),
        &format!("events import {}", args.file.display()),
    )?;
    print_outcome(&loaded, &args.file, args.json);
    Ok(())
}

pub fn call_results(command: CallResultCommand) -> CmdResult {
    let CallResultCommand::Import(args) = command;
    let (store, settings) = with_settings(open_existing(&args.db)?)?;
    let loaded = leadpipe::outcomes::import_call_results(
        &store,
        &args.file,
        &settings.normaliser,
        &settings.warmth,
        settings.moment(args.as_of.as_ref()),
        &format!("call-result import {}", args.file.display()),
    )?;
    print_outcome(&loaded, &args.file, args.json);
    // A row that could not be read may hide "asked not to call": say so where it is seen.
    let rows = loaded.rows_rejected.len();
    if rows > 0 {
        eprintln!(
            "leadpipe: warning: {rows} call-result rows were not recorded ({}); fix them and \
             load them in a new file: a lost \"do not call\" is the costliest mistake",
            if args.json {
                "rows_rejected"
            } else {
                "listed above"
            }
        );
    }
    Ok(())
}

/// Counts by kind, what was withdrawn or suppressed, and the first 20 rows rejected.
fn print_outcome(r: &OutcomeImport, file: &Path, json: bool) {
    if json {
        print_json(r);
        return;
    }
    if r.unchanged {
        println!("{}: already loaded; nothing changed", file.display());
        return;
    }
    println!(
        "{}: {} rows read, {} recorded, {} rejected; warmth changed for {} leads",
        file.display(),
        r.rows_read,
        r.recorded,
        r.rows_rejected.len(),
        r.warmth_changed
    );
    for (k, n) in &r.by_kind {
        println!("  {k:<14} {n:>8}");
    }
    if r.callbacks > 0 {
        println!("  callbacks asked for: {}", r.callbacks);
    }
    if r.not_called > 0 {
        println!(
            "  rows with nothing written (not called yet): {}",
            r.not_called
        );
    }
    if r.withdrawn > 0 || r.suppressed > 0 {
        println!(
            "  call consent withdrawn for {} numbers; {} numbers suppressed for calls",
            r.withdrawn, r.suppressed
        );
    }
    for reject in r.rows_rejected.iter().take(20) {
        println!("  {}: {reject}", file.display());
    }
    if r.rows_rejected.len() > 20 {
        println!(
            "  … and {} more (--json lists all)",
            r.rows_rejected.len() - 20
        );
    }
}
