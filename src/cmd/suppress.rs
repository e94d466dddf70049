//! `leadpipe suppress import`: load a do-not-call register, opt-outs or complaints.

use super::base::{open_or_create, with_settings};
use super::{print_json, CmdResult};
use clap::{Args, Subcommand};
use leadpipe::consent::Channel;
use leadpipe::consent_commands as consent_cmd;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum SuppressCommand {
    Import(SuppressImportArgs),
}

/// Load a list of numbers and/or addresses (CSV/TXT in any encoding, or XLSX; with or
/// without a header). The list remembers when it was loaded.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe suppress import dnc.csv --list rkn-dnc --db leads.duckdb
  leadpipe suppress import unsub.xlsx --list unsubscribed --reason opt_out --channel email

A suppressed number or address is never in a call list, whichever source brings it back.
Loading the same file into the same list again changes nothing.")]
pub struct SuppressImportArgs {
    /// The list file.
    file: PathBuf,
    /// Name of the list (e.g. dnc, complaints-2026).
    #[arg(long)]
    list: String,
    /// Why these contacts are suppressed.
    #[arg(long, value_enum, default_value_t = SuppressReason::DoNotCall)]
    reason: SuppressReason,
    /// Only for this channel (default: every channel).
    #[arg(long, value_enum)]
    channel: Option<Channel>,
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SuppressReason {
    DoNotCall,
    OptOut,
    Complaint,
    Withdrawal,
}

impl SuppressReason {
    /// As stored in `suppression_lists.reason`.
    fn as_str(self) -> &'static str {
        match self {
            SuppressReason::DoNotCall => "do_not_call",
            SuppressReason::OptOut => "opt_out",
            SuppressReason::Complaint => "complaint",
            SuppressReason::Withdrawal => "withdrawal",
        }
    }
}

/// A list may be loaded before any run, so the base is created when missing.
pub fn run(command: SuppressCommand) -> CmdResult {
    let SuppressCommand::Import(args) = command;
    let (store, settings) = with_settings(open_or_create(&args.db)?)?;
    let file = &args.file;
    let list = &args.list;
    let load = consent_cmd::suppress_import(
        &store,
        file,
        list,
        args.reason.as_str(),
        args.channel,
        &settings.normaliser,
        &format!("suppress import {}", file.display()),
    )?;
    if args.json {
        print_json(&load);
        return Ok(());
    }
    if load.unchanged {
        println!(
            "{}: already loaded into list {list:?}; nothing changed",
            file.display()
        );
        return Ok(());
    }
    println!(
        "{}: list {list:?} ({}): {} rows read, {} contacts suppressed, {} rows rejected",
        file.display(),
        load.reason,
        load.rows_read,
        load.contacts,
        load.rows_rejected
    );
    for (row, why) in load.rejects.iter().take(20) {
        println!("  {}: row {row}: {why}", file.display());
    }
    if load.rejects.len() > 20 {
        println!(
            "  … {} more (all in suppression_lists.rejects)",
            load.rejects.len() - 20
        );
    }
    Ok(())
}
