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
-- A file read again (same content, other settings) replaces its records: the record that
-- took the place of one a decision names (same file, same row), so the decision holds.
CREATE TABLE IF NOT EXISTS record_successors (
    old_record_id BIGINT NOT NULL,
    new_record_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL
);
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
        // A base from before decisions, opened read-only beside a run (not brought up to
        // date): it has none.
        if !self.table_exists("record_successors")? {
            return Ok(Vec::new());
        }
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
        let successors = self.record_successors()?;
        let follow = |ids: &mut Vec<i64>| {
            for id in ids.iter_mut() {
                if let Some(&new) = successors.get(id) {
                    *id = new;
                }
            }
        };
        rows.into_iter()
            .map(|(mut d, kind)| match DecisionKind::parse(&kind) {
                Some(_) => {
                    follow(&mut d.records_a);
                    follow(&mut d.records_b);
                    Ok(d)
                }
                None => Err(StoreError::UnknownDecision {
                    id: d.decision_id,
                    kind,
                }),
            })
            .collect()
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

    /// Old record id → the record that replaced it (chains followed when stored).
    fn record_successors(&self) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT old_record_id, new_record_id FROM record_successors")
            .map_err(db("reading decisions"))?;
        let pairs = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(db("reading decisions"))?
            .collect::<Result<_, _>>()
            .map_err(db("reading decisions"))?;
        Ok(pairs)
    }

    /// Before the landed file `content_hash` is read again (its records replaced): keeps,
    /// in the temp table `replaced_records`, where each of its records that a decision
    /// names came from (file and row), so [`Store::carry_decisions_over`] can find its
    /// successor.
    pub fn remember_replaced_records(&self, content_hash: &str) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS replaced_records
                     (record_id BIGINT, file_hash VARCHAR, source_row BIGINT)",
            )
            .map_err(db("keeping decisions across a file read again"))?;
        self.conn
            .execute(
                "INSERT INTO replaced_records
                 SELECT record_id, file_hash, source_row FROM records
                 WHERE file_hash = ? AND record_id IN (
                     SELECT unnest(records_a || records_b) FROM match_decisions)",
                params![content_hash],
            )
            .map_err(db("keeping decisions across a file read again"))?;
        Ok(())
    }

    /// After the records of files read again have landed: each replaced record a
    /// decision names gets its successor (the new record of the same file and row) in
    /// `record_successors`. Returns the decisions that lost a record no new one replaced
    /// (a directory snapshot whose pages changed).
    pub fn carry_decisions_over(&self, run_id: i64) -> Result<Vec<i64>, StoreError> {
        if !self.table_exists("replaced_records")? {
            return Ok(Vec::new());
        }
        self.conn
            .execute_batch(&format!(
                "CREATE TEMP TABLE carried AS
                 SELECT r.record_id AS old_id, n.record_id AS new_id
                 FROM replaced_records r
                 JOIN records n ON n.file_hash = r.file_hash AND n.source_row = r.source_row
                                AND n.record_id <> r.record_id;
                 -- Chains stay one step long: what pointed at a replaced record points at
                 -- its successor.
                 UPDATE record_successors s SET new_record_id = c.new_id
                 FROM carried c WHERE s.new_record_id = c.old_id;
                 INSERT INTO record_successors SELECT old_id, new_id, {run_id} FROM carried;"
            ))
            .map_err(db("keeping decisions across a file read again"))?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT d.decision_id FROM match_decisions d,
                     (SELECT record_id FROM replaced_records
                      WHERE record_id NOT IN (SELECT old_id FROM carried)) lost
                 WHERE list_contains(d.records_a || d.records_b, lost.record_id)
                 ORDER BY 1",
            )
            .map_err(db("keeping decisions across a file read again"))?;
        let lost = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(db("keeping decisions across a file read again"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db("keeping decisions across a file read again"))?;
        self.conn
            .execute_batch("DROP TABLE carried; DROP TABLE replaced_records;")
            .map_err(db("keeping decisions across a file read again"))?;
        Ok(lost)
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
