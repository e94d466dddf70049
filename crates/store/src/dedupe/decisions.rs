//! Reviewers' decisions (`match_decisions`): append-only, one row per `merge`, `split`
//! or record label, with who, when and why. Every run reads them back as constraints
//! ([`leadpipe_core::dedupe::decisions`]); a run applies the decisions made since the last
//! one by clustering their leads again.

use crate::{db, Store, StoreError};
use chrono::{DateTime, Utc};
use duckdb::params;
use leadpipe_core::dedupe::decisions::{self, Decision, DecisionKind, Resolved};
use serde::Serialize;

pub(crate) const MATCH_DECISIONS: &str = r#"-- Reviewers' decisions, never updated or deleted: `kind` merge (two leads are one person),
-- split (records_a are another person than records_b), same / different (two records).
-- The records are those the leads held when the decision was made; lead_a / lead_b are
-- kept to read it by. A newer decision that contradicts one supersedes it (`explain`).
CREATE TABLE IF NOT EXISTS match_decisions (
    decision_id BIGINT NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    records_a BIGINT[] NOT NULL,
    records_b BIGINT[] NOT NULL,
    lead_a BIGINT,
    lead_b BIGINT,
    reason VARCHAR NOT NULL,
    via VARCHAR NOT NULL
);
-- The reviewer's decision behind a link it forced (added later).
ALTER TABLE lead_links ADD COLUMN IF NOT EXISTS decision_id BIGINT;
"#;

/// `leadpipe_meta` key: the newest decision a run has applied.
const APPLIED_THROUGH: &str = "decisions_applied_through";

/// A decision to record.
#[derive(Debug, Clone)]
pub struct NewDecision {
    pub kind: DecisionKind,
    pub records_a: Vec<i64>,
    pub records_b: Vec<i64>,
    pub lead_a: Option<i64>,
    pub lead_b: Option<i64>,
    pub actor: String,
    pub reason: String,
    /// `command`, `review page`.
    pub via: String,
}

/// A decision as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredDecision {
    pub decision_id: i64,
    pub decided_at: DateTime<Utc>,
    pub actor: String,
    pub kind: DecisionKind,
    pub records_a: Vec<i64>,
    pub records_b: Vec<i64>,
    pub lead_a: Option<i64>,
    pub lead_b: Option<i64>,
    pub reason: String,
    pub via: String,
}

impl StoredDecision {
    pub fn as_decision(&self) -> Decision {
        Decision {
            id: self.decision_id,
            kind: self.kind,
            records_a: self.records_a.clone(),
            records_b: self.records_b.clone(),
        }
    }
}

fn id_list(ids: &[i64]) -> String {
    format!(
        "[{}]",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    )
}

impl Store {
    /// Appends a decision; returns its id.
    pub fn record_decision(&self, d: &NewDecision) -> Result<i64, StoreError> {
        let id = self.next_id("SELECT coalesce(max(decision_id), 0) + 1 FROM match_decisions")?;
        self.conn
            .execute(
                &format!(
                    "INSERT INTO match_decisions VALUES (?, ?, ?, ?, {}::BIGINT[], {}::BIGINT[], ?, ?, ?, ?)",
                    id_list(&d.records_a),
                    id_list(&d.records_b)
                ),
                params![
                    id,
                    Utc::now(),
                    d.actor,
                    d.kind.as_str(),
                    d.lead_a,
                    d.lead_b,
                    d.reason,
                    d.via
                ],
            )
            .map_err(db("recording a decision"))?;
        Ok(id)
    }

    /// Every decision, oldest first (only those naming a record in `about`, if given).
    pub fn decisions(&self, about: Option<&[i64]>) -> Result<Vec<StoredDecision>, StoreError> {
        let filter = match about {
            Some(ids) => format!(
                "WHERE list_has_any(records_a || records_b, {}::BIGINT[])",
                id_list(ids)
            ),
            None => String::new(),
        };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT decision_id, decided_at, actor, kind, array_to_string(records_a, ','),
                        array_to_string(records_b, ','), lead_a, lead_b, reason, via
                 FROM match_decisions {filter} ORDER BY decision_id"
            ))
            .map_err(db("reading decisions"))?;
        let ids = |s: Option<String>| -> Vec<i64> {
            s.unwrap_or_default()
                .split(',')
                .filter_map(|v| v.trim().parse().ok())
                .collect()
        };
        type Row = (StoredDecision, String);
        let rows = stmt
            .query_map([], |r| {
                let kind: String = r.get(3)?;
                Ok((
                    StoredDecision {
                        decision_id: r.get(0)?,
                        decided_at: r.get(1)?,
                        actor: r.get(2)?,
                        kind: DecisionKind::parse(&kind).unwrap_or(DecisionKind::Different),
                        records_a: ids(r.get(4)?),
                        records_b: ids(r.get(5)?),
                        lead_a: r.get(6)?,
                        lead_b: r.get(7)?,
                        reason: r.get(8)?,
                        via: r.get(9)?,
                    },
                    kind,
                ))
            })
            .map_err(db("reading decisions"))?;
        let rows: Vec<Row> = rows
            .collect::<Result<_, _>>()
            .map_err(db("reading decisions"))?;
        rows.into_iter()
            .map(|(d, kind)| match DecisionKind::parse(&kind) {
                Some(_) => Ok(d),
                None => Err(StoreError::UnknownDecision {
                    id: d.decision_id,
                    kind,
                }),
            })
            .collect()
    }

    /// The constraints every decision adds up to, over the records still in the base.
    pub fn resolved_decisions(&self) -> Result<Resolved, StoreError> {
        let all = self.decisions(None)?;
        self.resolve(&all)
    }

    /// [`decisions::resolve`] over `all`, with the records still in the base.
    pub fn resolve(&self, all: &[StoredDecision]) -> Result<Resolved, StoreError> {
        if all.is_empty() {
            return Ok(Resolved::default());
        }
        let named: Vec<i64> = all
            .iter()
            .flat_map(|d| d.records_a.iter().chain(&d.records_b).copied())
            .collect();
        self.temp_ids("decision_records", "record_id", named.into_iter())?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT record_id FROM records
                 WHERE record_id IN (SELECT record_id FROM decision_records)",
            )
            .map_err(db("reading decisions"))?;
        let present: std::collections::HashSet<i64> = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(db("reading decisions"))?
            .collect::<Result<_, _>>()
            .map_err(db("reading decisions"))?;
        self.conn
            .execute_batch("DROP TABLE decision_records")
            .map_err(db("reading decisions"))?;
        let decisions: Vec<Decision> = all.iter().map(StoredDecision::as_decision).collect();
        Ok(decisions::resolve(&decisions, |id| present.contains(&id)))
    }

    /// The leads of the records named by decisions no run has applied yet.
    pub fn leads_of_pending_decisions(&self) -> Result<Vec<i64>, StoreError> {
        let through: i64 = self
            .meta(APPLIED_THROUGH)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT r.lead_id FROM records r
                 JOIN (SELECT unnest(records_a || records_b) AS record_id
                       FROM match_decisions WHERE decision_id > ?) d USING (record_id)
                 WHERE r.lead_id IS NOT NULL ORDER BY 1",
            )
            .map_err(db("reading decisions"))?;
        let leads = stmt
            .query_map(params![through], |r| r.get::<_, i64>(0))
            .map_err(db("reading decisions"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db("reading decisions"))?;
        Ok(leads)
    }

    /// The decisions naming a record of the landed file `content_hash` (before it is read
    /// again: its records are replaced by new ones, and these decisions lose them).
    pub fn decisions_naming_file(&self, content_hash: &str) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT decision_id FROM match_decisions
                 WHERE list_has_any(records_a || records_b,
                                    (SELECT coalesce(list(record_id), []::BIGINT[])
                                     FROM records WHERE file_hash = ?))
                 ORDER BY decision_id",
            )
            .map_err(db("reading decisions"))?;
        let ids = stmt
            .query_map(params![content_hash], |r| r.get::<_, i64>(0))
            .map_err(db("reading decisions"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db("reading decisions"))?;
        Ok(ids)
    }

    /// Marks every decision so far applied (the run clustered their leads again).
    pub fn mark_decisions_applied(&self) -> Result<(), StoreError> {
        let newest = self.next_id("SELECT coalesce(max(decision_id), 0) FROM match_decisions")?;
        self.set_meta(APPLIED_THROUGH, &newest.to_string())
    }

    /// The records of a lead, in id order (empty when there is no such lead).
    pub fn lead_record_ids(&self, lead: i64) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT record_id FROM records WHERE lead_id = ? ORDER BY record_id")
            .map_err(db("reading a lead's records"))?;
        let ids = stmt
            .query_map(params![lead], |r| r.get::<_, i64>(0))
            .map_err(db("reading a lead's records"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db("reading a lead's records"))?;
        Ok(ids)
    }

    /// The lead of a record (`None`: no such record; `Some(None)`: not linked yet).
    pub fn lead_of_record(&self, record: i64) -> Result<Option<Option<i64>>, StoreError> {
        match self.conn.query_row(
            "SELECT lead_id FROM records WHERE record_id = ?",
            params![record],
            |r| r.get::<_, Option<i64>>(0),
        ) {
            Ok(v) => Ok(Some(v)),
            Err(duckdb::Error::QueryReturnedNoRows) => Ok(None),
            Err(source) => Err(StoreError::Db {
                context: "reading a record's lead",
                source,
            }),
        }
    }
}
