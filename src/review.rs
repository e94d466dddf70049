//! Reviewers correct the matcher: `merge`, `split` and record labels become decisions in
//! `match_decisions`, and each is applied at once by clustering the leads it names again
//! (with consent and warmth derived again for them). Shared by the commands and the
//! review page, as is the review queue: what a reviewer should decide next.

use crate::dedupe::decisions::Resolved;
use crate::dedupe::decisions::{DecisionKind, Standing};
use crate::dedupe::evidence::{score_pair, LabelAgreement};
use crate::dedupe::model::Weights;
use crate::dedupe::{name_values, MatchRecord};
use crate::pipeline::{self, Plan, Recluster, RunError, RunOptions, RunSummary};
use crate::record::Stage;
use crate::settings::Settings;
use crate::sheet::{Cell, Column, Table};
use crate::store::dedupe::decisions::{NewDecision, StoredDecision};
use crate::store::dedupe::review::{QueueItem, ReviewRecord};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::path::Path;

/// Why a decision cannot be recorded.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("lead {0} not found")]
    NoSuchLead(i64),
    #[error("record {0} not found")]
    NoSuchRecord(i64),
    #[error("record {0} has no lead yet: run the pipeline first")]
    NotLinked(i64),
    #[error("record {record} is not in lead {lead}")]
    NotInLead { record: i64, lead: i64 },
    #[error("{0}")]
    Pointless(String),
    #[error("a reason is required (--reason): the decision is kept for compliance review")]
    NoReason,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Run(#[from] RunError),
    /// The decision is kept; the next run (or command) applies it.
    #[error("decision #{id} recorded; applying it failed ({source}); the next run applies it")]
    NotApplied { id: i64, source: RunError },
}

/// Who decides, why, and through what (`command`, `review page`).
#[derive(Debug, Clone)]
pub struct Reviewer {
    pub actor: String,
    pub reason: String,
    pub via: String,
}

/// What a reviewer says.
#[derive(Debug, Clone)]
pub enum Correction {
    /// The two leads are one person.
    Merge(i64, i64),
    /// These records of the lead are another person than the rest.
    Split { lead: i64, records: Vec<i64> },
    /// Two records are (`same`) or are not one person.
    Label {
        same: bool,
        record_a: i64,
        record_b: i64,
    },
}

fn records_of(store: &Store, lead: i64) -> Result<Vec<i64>, DecisionError> {
    let records = store.lead_record_ids(lead)?;
    if records.is_empty() {
        return Err(DecisionError::NoSuchLead(lead));
    }
    Ok(records)
}

fn lead_of(store: &Store, record: i64) -> Result<i64, DecisionError> {
    match store.lead_of_record(record)? {
        None => Err(DecisionError::NoSuchRecord(record)),
        Some(None) => Err(DecisionError::NotLinked(record)),
        Some(Some(lead)) => Ok(lead),
    }
}

/// The decision a correction makes over the base as it is: which records each side holds.
pub fn decision_for(
    store: &Store,
    correction: &Correction,
    who: &Reviewer,
) -> Result<NewDecision, DecisionError> {
    if who.reason.trim().is_empty() {
        return Err(DecisionError::NoReason);
    }
    let (kind, records_a, records_b, lead_a, lead_b) = match *correction {
        Correction::Merge(a, b) => {
            if a == b {
                return Err(DecisionError::Pointless(format!(
                    "lead {a} and lead {b} are the same lead"
                )));
            }
            let (ra, rb) = (records_of(store, a)?, records_of(store, b)?);
            (DecisionKind::Merge, ra, rb, a, b)
        }
        Correction::Split { lead, ref records } => {
            let all = records_of(store, lead)?;
            let mut part: Vec<i64> = records.clone();
            part.sort_unstable();
            part.dedup();
            if let Some(&r) = part.iter().find(|r| !all.contains(r)) {
                return Err(DecisionError::NotInLead { record: r, lead });
            }
            let rest: Vec<i64> = all.into_iter().filter(|r| !part.contains(r)).collect();
            if part.is_empty() || rest.is_empty() {
                return Err(DecisionError::Pointless(format!(
                    "a split needs some of lead {lead}'s records, not none or all of them"
                )));
            }
            (DecisionKind::Split, part, rest, lead, lead)
        }
        Correction::Label {
            same,
            record_a,
            record_b,
        } => {
            if record_a == record_b {
                return Err(DecisionError::Pointless(format!(
                    "record {record_a} is one record"
                )));
            }
            let (la, lb) = (lead_of(store, record_a)?, lead_of(store, record_b)?);
            let kind = if same {
                DecisionKind::Same
            } else {
                DecisionKind::Different
            };
            (kind, vec![record_a], vec![record_b], la, lb)
        }
    };
    Ok(NewDecision {
        kind,
        records_a,
        records_b,
        lead_a: Some(lead_a),
        lead_b: Some(lead_b),
        actor: who.actor.clone(),
        reason: who.reason.trim().to_string(),
        via: who.via.clone(),
    })
}

/// Records a correction and applies it: the leads it names are clustered again, their
/// golden records, consent and warmth derived again. Returns the decision's id and the
/// run's summary. The decision is kept even if applying it fails: the next run applies it.
pub fn decide(
    db: &Path,
    correction: &Correction,
    who: &Reviewer,
    progress: bool,
) -> Result<(i64, RunSummary), DecisionError> {
    let id = {
        let store = Store::open(db)?;
        let decision = decision_for(&store, correction, who)?;
        store.record_decision(&decision)?
    };
    let verb = match correction {
        Correction::Merge(..) => "merge",
        Correction::Split { .. } => "split",
        Correction::Label { .. } => "label",
    };
    let plan = Plan::without_sources(verb, db.to_path_buf());
    let opts = RunOptions {
        from: Some(Stage::Dedupe),
        progress,
        command: format!("{verb} (decision {id})"),
        recluster: Recluster::Touched,
        ..RunOptions::default()
    };
    let summary = pipeline::run(&plan, &opts, None)
        .map_err(|source| DecisionError::NotApplied { id, source })?;
    Ok((id, summary))
}

/// One entry of the review queue with both records.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueueEntry {
    #[serde(flatten)]
    pub item: QueueItem,
    pub a: ReviewRecord,
    pub b: ReviewRecord,
}

/// The review queue of the base, best first (see [`Store::review_queue`]), with the two
/// records of each entry.
pub fn queue(
    store: &Store,
    settings: &Settings,
    limit: usize,
) -> Result<Vec<QueueEntry>, StoreError> {
    let (_, high) = crate::dedupe::review_band(settings.threshold);
    let items = store.review_queue(settings.threshold, high, limit)?;
    let ids: Vec<i64> = items
        .iter()
        .flat_map(|i| [i.record_a, i.record_b])
        .collect();
    let records = store.review_records(&ids)?;
    Ok(items
        .into_iter()
        .map(|item| QueueEntry {
            a: records.get(&item.record_a).cloned().unwrap_or_default(),
            b: records.get(&item.record_b).cloned().unwrap_or_default(),
            item,
        })
        .collect())
}

/// The queue as a sheet: one row per pair, the two records side by side, and the
/// commands that decide it.
pub fn queue_table(entries: &[QueueEntry], settings: &Settings) -> Table {
    let mut columns: Vec<Column> = [
        ("rank", 6.0),
        ("kind", 15.0),
        ("priority", 9.0),
        ("probability", 11.0),
        ("detail", 30.0),
        ("warmth_score", 8.0),
        ("callable", 8.0),
    ]
    .iter()
    .map(|&(h, w)| Column::new(h, w))
    .collect();
    for side in ["a", "b"] {
        for (h, w) in [
            ("lead", 8.0),
            ("record", 8.0),
            ("name", 30.0),
            ("phone", 16.0),
            ("email", 26.0),
            ("city", 14.0),
            ("source", 20.0),
        ] {
            columns.push(Column::new(format!("{h}_{side}"), w));
        }
    }
    columns.push(Column::new("decide", 60.0));
    let text = |v: &Option<String>| Cell::Text(v.clone().unwrap_or_default());
    let rows = entries
        .iter()
        .enumerate()
        .map(|(rank, e)| {
            let i = &e.item;
            let mut row = vec![
                Cell::Int(rank as i64 + 1),
                Cell::Raw(i.kind.clone()),
                Cell::Raw(format!("{:.3}", i.priority)),
                Cell::Raw(i.probability.map_or(String::new(), |p| format!("{p:.4}"))),
                text(&i.detail),
                Cell::Raw(i.warmth_score.map_or(String::new(), |w| w.to_string())),
                Cell::Raw(if i.callable { "yes" } else { "no" }.into()),
            ];
            for r in [&e.a, &e.b] {
                row.extend([
                    Cell::Raw(r.lead_id.map_or(String::new(), |l| l.to_string())),
                    Cell::Int(r.record_id),
                    text(&r.full_name),
                    r.phone_e164
                        .clone()
                        .map_or(Cell::Raw(String::new()), Cell::Phone),
                    text(&r.email),
                    text(&r.city),
                    Cell::Text(r.source.clone()),
                ]);
            }
            row.push(Cell::Raw(format!(
                "leadpipe label same|different {} {} --reason …",
                i.record_a, i.record_b
            )));
            row
        })
        .collect();
    Table {
        columns,
        rows,
        zone: settings.zone(),
    }
}

/// A labelled record pair: (record, record, one person?).
pub type Label = (i64, i64, bool);

/// The matcher's verdicts on `labels` (see [`labelled_pairs`]), scored with the stored
/// model; `None` without labels.
pub fn label_agreement(
    store: &Store,
    labels: &[Label],
    threshold: f64,
) -> Result<Option<LabelAgreement>, StoreError> {
    if labels.is_empty() {
        return Ok(None);
    }
    let Some(weights) = store
        .latest_weights()?
        .and_then(|json| serde_json::from_str::<Weights>(&json).ok())
    else {
        return Ok(None);
    };
    let ids: Vec<i64> = labels.iter().flat_map(|&(a, b, _)| [a, b]).collect();
    let records: HashMap<i64, MatchRecord> = store
        .match_records_of(&ids)?
        .into_iter()
        .map(|r| (r.record_id, r))
        .collect();
    let names = store.model_names(&name_values(&records.values().cloned().collect::<Vec<_>>()))?;
    let mut agreement = LabelAgreement::default();
    for &(a, b, same) in labels {
        if let (Some(x), Some(y)) = (records.get(&a), records.get(&b)) {
            agreement.add(
                same,
                score_pair(x, y, &weights, &names).says_same(threshold),
            );
        }
    }
    Ok((agreement.pairs > 0).then_some(agreement))
}

/// The record pairs reviewers labelled (`label`, the review page) whose labels are still
/// in force, from the decisions `all` and their resolution.
pub fn labelled_pairs(all: &[StoredDecision], resolved: &Resolved) -> Vec<Label> {
    all.iter()
        .filter(|d| d.kind.is_label())
        .filter(|d| {
            matches!(
                resolved.standing.get(&d.decision_id),
                Some(Standing::InForce | Standing::PartlySuperseded { .. })
            )
        })
        .filter_map(|d| {
            let same = d.kind == DecisionKind::Same;
            Some((*d.records_a.first()?, *d.records_b.first()?, same))
        })
        .collect()
}

/// [`label_agreement`] over the base's labels as they stand now.
pub fn label_agreement_now(
    store: &Store,
    threshold: f64,
) -> Result<Option<LabelAgreement>, StoreError> {
    let all = store.decisions(None)?;
    let resolved = store.resolve(&all)?;
    label_agreement(store, &labelled_pairs(&all, &resolved), threshold)
}
