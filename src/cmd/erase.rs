//! `leadpipe erase`: remove a person from the base, keeping only salted hashes so they
//! never come back.

use super::base::{open_existing, with_settings};
use super::{print_json, CmdResult};
use clap::Args;
use leadpipe::consent::ContactKind;
use leadpipe::consent_commands as consent_cmd;
use std::path::PathBuf;

/// Erase a person: every record, raw row, reject and consent event holding the number
/// or address (and the rest of that person's lead) is removed and the file rewritten.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe erase --phone '8 (916) 123-45-67' --db leads.duckdb --dry-run
  leadpipe erase --email ivanov@mail.ru --db leads.duckdb

Only salted hashes of the person's numbers and addresses stay (suppressions, list
\"erasure\"): a later file that brings them back has those rows refused as
`erased_person`, and they are never called. The database file is rewritten so no old
page keeps the data; keep no other copies (backups, exported call lists) either.")]
pub struct EraseArgs {
    /// The person's phone, in any format.
    #[arg(long, conflicts_with = "email", required_unless_present = "email")]
    phone: Option<String>,
    /// The person's e-mail address.
    #[arg(long)]
    email: Option<String>,
    /// DuckDB file to change.
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// Show what would be erased (counts), change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: EraseArgs) -> CmdResult {
    let (store, settings) = with_settings(open_existing(&args.db)?)?;
    let parse = |kind, raw: &Option<String>| {
        raw.as_deref()
            .map(|v| consent_cmd::parse_contact(kind, v, &settings.normaliser))
            .transpose()
    };
    let phone = parse(ContactKind::Phone, &args.phone)?;
    let email = parse(ContactKind::Email, &args.email)?;
    let dry_run = args.dry_run;
    let (plan, removed) = consent_cmd::erase(
        store,
        &args.db,
        phone.as_deref(),
        email.as_deref(),
        dry_run,
        "erase",
    )?;
    if args.json {
        print_json(&serde_json::json!({"dry_run": dry_run, "plan": plan, "removed": removed}));
        return Ok(());
    }
    println!(
        "{} {} lead(s), {} record(s), {} raw row(s); {} phone(s) and {} e-mail(s) {} kept as salted hashes only",
        if dry_run { "would erase" } else { "erased" },
        plan.lead_ids.len(),
        plan.record_ids.len(),
        plan.raw_ids.len(),
        plan.phones_hashed,
        plan.emails_hashed,
        if dry_run { "would be" } else { "are" },
    );
    if let Some(removed) = removed {
        println!(
            "rows removed or redacted, by table: {}; the file was rewritten so no free block keeps them",
            removed.summary()
        );
    }
    Ok(())
}
