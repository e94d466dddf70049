//! `leadpipe consent withdraw`: record that people withdrew consent.

use super::base::{open_or_create, with_settings};
use super::time_arg::parse_time_late;
use super::{print_json, CmdResult};
use clap::{Args, Subcommand};
use leadpipe::consent::{Channel, ContactKind, Purpose};
use leadpipe::consent_commands::{self as consent_cmd, Withdrawal};
use leadpipe::settings::TypedTime;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ConsentCommand {
    Withdraw(WithdrawArgs),
}

/// Record that a person withdrew consent. Honoured by the next call list, always.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe consent withdraw --phone '+7 916 123-45-67' --db leads.duckdb
  leadpipe consent withdraw --email a@b.ru --channel email --via 'reply to mailing'
  leadpipe consent withdraw --file withdrawals.csv --source 'call-centre 2026-11'

Applies to every lead holding the number or address, now or when it turns up later.
Default: every channel and purpose. A contact no lead holds is also added to the
`withdrawals` suppression list. A file may carry a date column (when they withdrew).")]
pub struct WithdrawArgs {
    /// The person's phone, in any format (repeatable).
    #[arg(long)]
    phone: Vec<String>,
    /// The person's e-mail (repeatable).
    #[arg(long)]
    email: Vec<String>,
    /// A file of withdrawals: phones and/or e-mails, optional date column.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Channels withdrawn (default: all).
    #[arg(long, value_enum)]
    channel: Vec<Channel>,
    /// Purposes withdrawn (default: all).
    #[arg(long, value_enum)]
    purpose: Vec<Purpose>,
    /// When they withdrew (default: now). A date alone means the end of that day.
    #[arg(long, value_parser = parse_time_late)]
    at: Option<TypedTime>,
    /// Who passed the withdrawal on (ticket, team, file).
    #[arg(long, default_value = "command line")]
    source: String,
    /// How the person withdrew (phone call, e-mail, letter …).
    #[arg(long)]
    via: Option<String>,
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    #[arg(long)]
    json: bool,
}

/// A withdrawal may arrive before any run, so the base is created when missing.
pub fn run(command: ConsentCommand) -> CmdResult {
    let ConsentCommand::Withdraw(args) = command;
    let (store, settings) = with_settings(open_or_create(&args.db)?)?;
    let typed = args
        .phone
        .iter()
        .map(|p| (ContactKind::Phone, p))
        .chain(args.email.iter().map(|m| (ContactKind::Email, m)));
    let mut contacts = Vec::new();
    for (kind, raw) in typed {
        contacts.push((
            kind,
            consent_cmd::parse_contact(kind, raw, &settings.normaliser)?,
        ));
    }
    let withdrawal = Withdrawal {
        channels: or_all(args.channel, &Channel::ALL),
        purposes: or_all(args.purpose, &Purpose::ALL),
        at: args.at.as_ref().map(|t| t.resolve(&settings)),
        source: args.source,
        via: args.via,
    };
    let file = args.file.as_deref();
    let outcome = consent_cmd::withdraw(
        &store,
        &contacts,
        file,
        &withdrawal,
        &settings.normaliser,
        "consent withdraw",
    )?;
    if args.json {
        print_json(&outcome);
        return Ok(());
    }
    println!(
        "withdrawal recorded for {} contact(s) ({} held by no lead, added to list \"withdrawals\"); {} consent status change(s)",
        outcome.contacts, outcome.unknown_contacts, outcome.refresh.status_changes
    );
    let name = file.map(|f| f.display().to_string()).unwrap_or_default();
    for (row, why) in &outcome.rows_rejected {
        println!("  {name}: row {row}: {why}");
    }
    Ok(())
}

/// None named on the command line means every one.
fn or_all<T: Clone>(named: Vec<T>, all: &[T]) -> Vec<T> {
    if named.is_empty() {
        all.to_vec()
    } else {
        named
    }
}
