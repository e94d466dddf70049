//! `leadpipe merge`, `split`, `label` and `decisions`: reviewers' corrections to the
//! matcher, kept in `match_decisions` and honoured by every later run; `review queue`:
//! what to decide next.

use super::base::{open_for_reading, with_settings};
use super::{print_json, CliError, CmdResult};
use clap::{Args, Subcommand, ValueEnum};
use leadpipe::dedupe::decisions::{Resolved, Standing};
use leadpipe::review::{self, Correction, DecisionError, Reviewer};
use leadpipe::store::dedupe::decisions::StoredDecision;
use leadpipe::store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Who and why, for every correction.
#[derive(Args)]
pub struct Why {
    /// Why (kept with the decision for compliance review).
    #[arg(long)]
    reason: String,
    /// Who decides (default: $USER).
    #[arg(long)]
    by: Option<String>,
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// Two leads are one person: they stay merged in every later run.
#[derive(Args)]
#[command(after_help = "Example:
  leadpipe merge 120 348 --reason 'same person: changed surname after marriage (ticket 88)'")]
pub struct MergeArgs {
    lead_a: i64,
    lead_b: i64,
    #[command(flatten)]
    why: Why,
}

/// Some records of a lead are another person: they stay apart in every later run.
#[derive(Args)]
#[command(after_help = "Example:
  leadpipe split 120 --records 7,19 --reason 'father and son on one landline'

`leadpipe explain LEAD` lists a lead's records with their ids.")]
pub struct SplitArgs {
    lead: i64,
    /// The records that are another person (comma-separated record ids).
    #[arg(long, value_delimiter = ',', required = true)]
    records: Vec<i64>,
    #[command(flatten)]
    why: Why,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Verdict {
    Same,
    Different,
}

/// Two records are, or are not, one person (a labelled pair).
#[derive(Args)]
#[command(after_help = "Example:
  leadpipe label different 7 19 --reason 'patronymics differ, checked by phone'")]
pub struct LabelArgs {
    #[arg(value_enum)]
    verdict: Verdict,
    record_a: i64,
    record_b: i64,
    #[command(flatten)]
    why: Why,
}

/// Reviewers' decisions, with whether each is still in force.
#[derive(Args)]
pub struct DecisionsArgs {
    /// Only decisions naming a record of this lead.
    #[arg(long)]
    lead: Option<i64>,
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    #[arg(long)]
    json: bool,
}

fn reviewer(why: &Why) -> Reviewer {
    Reviewer {
        actor: why
            .by
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "command line".into()),
        reason: why.reason.clone(),
        via: "command".into(),
    }
}

pub fn merge(args: MergeArgs, quiet: bool) -> CmdResult {
    apply(
        Correction::Merge(args.lead_a, args.lead_b),
        &args.why,
        quiet,
    )
}

pub fn split(args: SplitArgs, quiet: bool) -> CmdResult {
    let correction = Correction::Split {
        lead: args.lead,
        records: args.records,
    };
    apply(correction, &args.why, quiet)
}

pub fn label(args: LabelArgs, quiet: bool) -> CmdResult {
    let correction = Correction::Label {
        same: matches!(args.verdict, Verdict::Same),
        record_a: args.record_a,
        record_b: args.record_b,
    };
    apply(correction, &args.why, quiet)
}

fn decision_error(e: DecisionError) -> CliError {
    match e {
        DecisionError::Store(e) => CliError::Store(e),
        DecisionError::Run(e) => CliError::Run(e),
        DecisionError::NotApplied { id, source } => {
            eprintln!("leadpipe: decision #{id} is recorded; the next run applies it");
            CliError::Run(source)
        }
        other => CliError::BadArgument(other.to_string()),
    }
}

/// Records and applies the correction, then shows where its records are now.
fn apply(correction: Correction, why: &Why, quiet: bool) -> CmdResult {
    if !why.db.exists() {
        return Err(CliError::DatabaseNotFound(why.db.clone()));
    }
    let (id, summary) =
        review::decide(&why.db, &correction, &reviewer(why), !quiet).map_err(decision_error)?;
    for w in &summary.warnings {
        eprintln!("leadpipe: warning: {w}");
    }
    let store = Store::open_read_only(&why.db)?;
    let decided = store.decisions(None)?;
    let Some(d) = decided.iter().find(|d| d.decision_id == id) else {
        return Ok(());
    };
    let mut now: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for &r in d.records_a.iter().chain(&d.records_b) {
        if let Some(Some(lead)) = store.lead_of_record(r)? {
            now.entry(lead).or_default().push(r);
        }
    }
    if why.json {
        print_json(&serde_json::json!({
            "decision_id": id,
            "kind": d.kind,
            "leads": now,
            "run_id": summary.run_id,
        }));
    } else if !quiet {
        println!("decision {id} ({}) recorded and applied", d.kind.as_str());
        for (lead, records) in &now {
            let list: Vec<String> = records.iter().map(i64::to_string).collect();
            println!("  lead {lead}: records {}", list.join(", "));
        }
    }
    Ok(())
}

pub fn list(args: DecisionsArgs) -> CmdResult {
    let (store, settings) = with_settings(open_for_reading(&args.db)?)?;
    let all = store.decisions(None)?;
    let resolved = store.resolve(&all)?;
    if !args.json {
        let labels = review::labelled_pairs(&all, &resolved);
        if let Some(a) = review::label_agreement(&store, &labels, settings.threshold)? {
            println!(
                "{}",
                leadpipe::report::agreement_sentence(settings.lang, &a)
            );
        }
    }
    print_decisions(&store, (all, &resolved), args.lead, args.json, &args.db)
}

fn print_decisions(
    store: &Store,
    (all, resolved): (Vec<StoredDecision>, &Resolved),
    lead: Option<i64>,
    json: bool,
    db: &Path,
) -> CmdResult {
    let shown: Vec<_> = match lead {
        Some(l) => {
            let records = store.lead_record_ids(l)?;
            if records.is_empty() {
                return Err(CliError::LeadNotFound {
                    lead_id: l,
                    db: db.to_path_buf(),
                });
            }
            all.into_iter()
                .filter(|d| {
                    d.records_a
                        .iter()
                        .chain(&d.records_b)
                        .any(|r| records.contains(r))
                })
                .collect()
        }
        None => all,
    };
    let standing = |id: i64| {
        resolved
            .standing
            .get(&id)
            .cloned()
            .unwrap_or(Standing::Moot)
    };
    if json {
        let rows: Vec<_> = shown
            .iter()
            .map(|d| serde_json::json!({"decision": d, "standing": standing(d.decision_id)}))
            .collect();
        print_json(&rows);
        return Ok(());
    }
    if shown.is_empty() {
        println!("no decisions");
    }
    for d in &shown {
        let ids = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        println!(
            "#{} {} {} by {} via {}: [{}] / [{}] ({}) — {}",
            d.decision_id,
            d.decided_at.format("%Y-%m-%d %H:%M"),
            d.kind.as_str(),
            d.actor,
            d.via,
            ids(&d.records_a),
            ids(&d.records_b),
            standing_text(&standing(d.decision_id)),
            d.reason
        );
    }
    Ok(())
}

/// A decision's standing in words.
pub fn standing_text(s: &Standing) -> String {
    let list = |by: &[i64]| {
        by.iter()
            .map(|i| format!("#{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match s {
        Standing::InForce => "in force".into(),
        Standing::PartlySuperseded { by } => format!("partly superseded by {}", list(by)),
        Standing::Superseded { by } => format!("superseded by {}", list(by)),
        Standing::Moot => "moot: its records are gone".into(),
    }
}

#[derive(Subcommand)]
pub enum ReviewCommand {
    Queue(QueueArgs),
}

/// What a reviewer should decide next: pairs the matcher left apart just below its
/// threshold, merges just above it, and leads whose records disagree on patronymic,
/// gender or ИНН; most uncertain and most valuable (warm, callable) first.
#[derive(Args)]
#[command(after_help = "Example:
  leadpipe review queue --out queue.xlsx --db leads.duckdb
  leadpipe review queue --out queue.csv --limit 50

Each row shows both records and the command that records the verdict
(`leadpipe label same|different A B --reason …`); `leadpipe serve --allow-edits` shows
the same queue with buttons.")]
pub struct QueueArgs {
    /// File to write: .csv (for Excel: `;`, BOM) or .xlsx.
    #[arg(long)]
    out: Option<PathBuf>,
    /// At most this many pairs.
    #[arg(long, default_value_t = 200)]
    limit: usize,
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// Print the queue as JSON.
    #[arg(long)]
    json: bool,
}

pub fn review(command: ReviewCommand) -> CmdResult {
    let ReviewCommand::Queue(args) = command;
    let (store, settings) = with_settings(open_for_reading(&args.db)?)?;
    let entries = review::queue(&store, &settings, args.limit)?;
    if let Some(out) = &args.out {
        let table = review::queue_table(&entries, &settings);
        leadpipe::sheet::write(out, "review", &table, &leadpipe::sheet::CsvFormat::excel())?;
    }
    if args.json {
        print_json(&entries);
    } else {
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &entries {
            *by_kind.entry(e.item.kind.as_str()).or_default() += 1;
        }
        let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!(
            "{} pairs to review ({}){}",
            entries.len(),
            if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            },
            args.out
                .as_ref()
                .map_or(String::new(), |p| format!(" → {}", p.display()))
        );
    }
    Ok(())
}
