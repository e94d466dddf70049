//! `leadpipe explain`: why a lead is what it is — golden record, member records, warmth,
//! consent, and the evidence for each merge (and each merge refused).

use super::base::{open_for_reading, with_settings};
use super::{print_json, CliError, CmdResult};
use clap::Args;
use leadpipe::store::LeadExplanation;
use serde_json::Value;
use std::path::PathBuf;

/// Show why a lead is what it is: golden record, member records, merge evidence.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe explain 42 --db demo.duckdb
  leadpipe explain 42 --db demo.duckdb --json

Each merge shows the match probability and, field by field, the weight (log2 odds) that
the agreement level contributed: positive pulls together, negative pushes apart.")]
pub struct ExplainArgs {
    /// The lead id (records.lead_id / leads.lead_id).
    lead_id: i64,
    /// DuckDB file to read.
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ExplainArgs) -> CmdResult {
    let (store, settings) = with_settings(open_for_reading(&args.db)?)?;
    let now = chrono::Utc::now();
    let Some(e) = store.explain_lead(args.lead_id, Some((&settings.warmth, now)))? else {
        return Err(CliError::LeadNotFound {
            lead_id: args.lead_id,
            db: args.db,
        });
    };
    if args.json {
        print_json(&e);
        return Ok(());
    }
    print_golden_record(args.lead_id, &e);
    print_warmth(&e.lead);
    print_consent(&e.consent);
    print_calls(&e.calls);
    print_merges(&e.links);
    print_refusals(&e.refusals);
    print_decisions(&e.decisions);
    Ok(())
}

/// `v[k]` as printed in the tables: JSON text (strings quoted), empty when absent.
fn text(v: &Value, k: &str) -> String {
    v.get(k).map(|v| v.to_string()).unwrap_or_default()
}

fn print_golden_record(lead_id: i64, e: &LeadExplanation) {
    println!("lead {lead_id}: {}", text(&e.lead, "full_name"));
    for k in [
        "phone_e164",
        "phones",
        "email",
        "emails",
        "city",
        "city_canonical",
        "region",
        "region_name",
        "company",
        "sources",
        "origins",
        "record_count",
    ] {
        println!("  {k:<14} {}", text(&e.lead, k));
    }
    println!("members ({}):", e.members.len());
    for m in &e.members {
        println!(
            "  record {:>6}  {}:{}  {}  {}  {}",
            text(m, "record_id"),
            text(m, "source"),
            text(m, "source_row"),
            text(m, "full_name"),
            text(m, "phone_e164"),
            text(m, "email")
        );
    }
}

/// The score, tier and the points behind them; nothing for a lead never scored.
fn print_warmth(lead: &Value) {
    let Some(score) = lead.get("warmth_score").and_then(|v| v.as_i64()) else {
        return;
    };
    let num = |k: &str| lead.get(k).and_then(|v| v.as_i64()).unwrap_or(0) as i32;
    let points = leadpipe::warmth::WarmthPoints {
        origin: num("warmth_origin"),
        recency: num("warmth_recency"),
        frequency: num("warmth_frequency"),
        engagement: num("warmth_engagement"),
        completeness: num("warmth_completeness"),
    };
    println!(
        "warmth: {score} {} ({})",
        lead.get("warmth_tier")
            .and_then(|v| v.as_str())
            .unwrap_or(""),
        points.summary()
    );
}

fn print_consent(consent: &[Value]) {
    if consent.is_empty() {
        println!("consent: none on record (may not be called for advertising)");
        return;
    }
    println!("consent:");
    for c in consent {
        let g = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        println!(
            "  {:<6} {:<12} {:<10} {}",
            g("channel"),
            g("purpose"),
            g("status"),
            g("basis")
        );
    }
}

/// Call results, oldest first: when, the number, the outcome in the operator's words, the
/// callback asked for and the note; nothing for a lead never called.
fn print_calls(calls: &[Value]) {
    if calls.is_empty() {
        return;
    }
    println!("calls ({}):", calls.len());
    for c in calls {
        let g = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let mut line = format!(
            "  {}  {}  {}",
            g("occurred_at"),
            g("phone_e164"),
            g("outcome")
        );
        if !g("words").is_empty() {
            line.push_str(&format!(" ({:?})", g("words")));
        }
        if !g("callback_at").is_empty() {
            line.push_str(&format!("; call back {}", g("callback_at")));
        }
        if !g("note").is_empty() {
            line.push_str(&format!("; note: {}", g("note")));
        }
        println!("{line}");
    }
}

/// Each merge with its probability and, per field, the agreement level and its weight.
fn print_merges(links: &[Value]) {
    println!("merges ({}):", links.len());
    for l in links {
        let p = l.get("probability").and_then(|v| v.as_f64()).unwrap_or(0.0);
        let decided = match l.get("decision_id").and_then(Value::as_i64) {
            Some(d) => format!("  joined by reviewer's decision #{d}"),
            None => String::new(),
        };
        println!(
            "  {} + {}  p = {p:.4}{decided}",
            text(l, "record_a"),
            text(l, "record_b")
        );
        if let Some(fields) = l.get("fields").and_then(|f| f.as_array()) {
            for f in fields {
                let name = f.get("field").and_then(|v| v.as_str()).unwrap_or("?");
                let w = f.get("weight").and_then(|v| v.as_f64()).unwrap_or(0.0);
                let level = text(f, "level");
                println!("      {name:<12} level {level:<5} {w:+.1}");
            }
        }
    }
}

/// Confident pairs a constraint kept apart; nothing when there were none.
fn print_refusals(refusals: &[Value]) {
    if refusals.is_empty() {
        return;
    }
    println!("kept apart ({}):", refusals.len());
    for r in refusals {
        let p = r.get("probability").and_then(|v| v.as_f64()).unwrap_or(0.0);
        let constraint = r.get("constraint").and_then(|v| v.as_str()).unwrap_or("?");
        let via = match (r.get("conflict_a"), r.get("conflict_b")) {
            (Some(a), Some(b)) if !a.is_null() && !b.is_null() => {
                format!(" (records {a} and {b} would have been in one lead)")
            }
            _ => String::new(),
        };
        println!(
            "  {} + {}  p = {p:.4}  refused: {constraint}{via}; other lead {}",
            text(r, "record_a"),
            text(r, "record_b"),
            text(r, "other_lead")
        );
    }
}

/// Reviewers' decisions that shaped the lead; nothing when there were none.
fn print_decisions(decisions: &[Value]) {
    if decisions.is_empty() {
        return;
    }
    println!("reviewers' decisions ({}):", decisions.len());
    for d in decisions {
        let standing: Option<leadpipe::dedupe::decisions::Standing> =
            serde_json::from_value(d["standing"].clone()).ok();
        let standing =
            standing.map_or_else(|| "moot".to_string(), |s| super::decide::standing_text(&s));
        let ids = |k: &str| {
            d[k].as_array()
                .map(|v| {
                    v.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        };
        println!(
            "  #{} {} {} by {}: [{}] / [{}] ({standing}) — {}",
            text(d, "decision_id"),
            d["decided_at"].as_str().unwrap_or(""),
            d["kind"].as_str().unwrap_or(""),
            d["actor"].as_str().unwrap_or(""),
            ids("records_a"),
            ids("records_b"),
            d["reason"].as_str().unwrap_or("")
        );
    }
}
