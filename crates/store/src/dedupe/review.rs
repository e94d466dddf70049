//! What a reviewer should look at next: pairs the matcher left apart just below its
//! threshold (`match_candidates`), merges just above it (`lead_links`), and leads whose
//! records disagree on patronymic, gender or ИНН; the most uncertain and most valuable
//! first. Pairs a decision already covers are left out.

use crate::{db, Store, StoreError};
use duckdb::arrow::array::{ArrayRef, Float64Array, Int64Array};
use leadpipe_core::dedupe::Candidate;
use serde::Serialize;
use std::sync::Arc;

pub(crate) const MATCH_CANDIDATES: &str = r#"-- Pairs left apart whose match probability lies in the review band below the threshold
-- (see `leadpipe review queue`); found again by every clustering of their records.
CREATE TABLE IF NOT EXISTS match_candidates (
    run_id BIGINT NOT NULL,
    record_a BIGINT NOT NULL,
    record_b BIGINT NOT NULL,
    probability DOUBLE NOT NULL
);
"#;

/// One entry of the review queue: two records, why they are worth a look, and their
/// leads' value.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    /// `possible_match` (left apart, close below the threshold), `weak_merge` (merged,
    /// close above it) or `conflict` (one lead, records disagree on an identity fact).
    pub kind: String,
    pub record_a: i64,
    pub record_b: i64,
    pub lead_a: i64,
    pub lead_b: i64,
    /// The pair's match probability (none for a conflict whose records were not compared).
    pub probability: Option<f64>,
    /// What the records disagree on, for conflicts.
    pub detail: Option<String>,
    /// 0–1: 1 at the threshold, 0 at the band's edge.
    pub uncertainty: f64,
    /// The higher of the two leads' warmth scores.
    pub warmth_score: Option<i64>,
    /// Either lead may be called for advertising now.
    pub callable: bool,
    /// Uncertainty × (1 + warmth / 100 + ½ if callable): the queue's order.
    pub priority: f64,
}

impl Store {
    /// Lands a clustering's candidate pairs.
    pub(crate) fn land_candidates(
        &self,
        run_id: i64,
        candidates: &[Candidate],
    ) -> Result<(), StoreError> {
        let n = candidates.len();
        let ids = |f: fn(&Candidate) -> i64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(candidates.iter().map(f)))
        };
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("run_id", crate::landing::repeat_i64(run_id, n)),
            ("record_a", ids(|c| c.record_a)),
            ("record_b", ids(|c| c.record_b)),
            (
                "probability",
                Arc::new(Float64Array::from_iter_values(
                    candidates.iter().map(|c| c.probability),
                )),
            ),
        ];
        self.land_in_parallel(
            "match_candidates",
            vec![crate::landing::batch("match_candidates", cols)?],
        )
    }

    /// The review queue, best first, at most `limit` entries. `threshold` is the base's
    /// match threshold, `high` the top of the review band.
    pub fn review_queue(
        &self,
        threshold: f64,
        high: f64,
        limit: usize,
    ) -> Result<Vec<QueueItem>, StoreError> {
        if !self.table_exists("match_candidates")? {
            return Ok(Vec::new());
        }
        let sql = queue_sql(threshold, high, limit);
        let mut stmt = self
            .conn
            .prepare(&sql)
            .map_err(db("building the review queue"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(QueueItem {
                    kind: r.get(0)?,
                    record_a: r.get(1)?,
                    record_b: r.get(2)?,
                    lead_a: r.get(3)?,
                    lead_b: r.get(4)?,
                    probability: r.get(5)?,
                    detail: r.get(6)?,
                    uncertainty: r.get(7)?,
                    warmth_score: r.get(8)?,
                    callable: r.get(9)?,
                    priority: r.get(10)?,
                })
            })
            .map_err(db("building the review queue"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(db("building the review queue"))
    }
}

/// The queue in one query. Uncertainty is 1 − |w − w_t| / 4 bits (w the pair's match
/// weight, w_t the threshold's), so it reaches 0 at the band's edges; a conflict counts
/// as 0.75 (the matcher was sure, the facts disagree).
fn queue_sql(threshold: f64, high: f64, limit: usize) -> String {
    let bits = leadpipe_core::dedupe::REVIEW_BAND_BITS;
    let wt = (threshold / (1.0 - threshold)).log2();
    format!(
        "WITH pairs AS (
             SELECT 'possible_match' AS kind, c.record_a, c.record_b, c.probability,
                    NULL::VARCHAR AS detail
             FROM match_candidates c
             JOIN records ra ON ra.record_id = c.record_a
             JOIN records rb ON rb.record_id = c.record_b
             WHERE ra.lead_id <> rb.lead_id
             UNION ALL
             SELECT 'weak_merge', record_a, record_b, probability, NULL
             FROM lead_links
             WHERE probability >= {threshold} AND probability < {high} AND decision_id IS NULL
             UNION ALL
             SELECT 'conflict', a.record_id, b.record_id, NULL,
                    CASE WHEN a.gender <> b.gender THEN 'gender: ' || a.gender || ' / ' || b.gender
                         WHEN a.inn_valid AND b.inn_valid AND a.inn <> b.inn
                              THEN 'ИНН: ' || a.inn || ' / ' || b.inn
                         ELSE 'patronymic: ' || a.middle_name || ' / ' || b.middle_name END
             FROM (SELECT lead_id FROM records
                   WHERE lead_id IS NOT NULL GROUP BY lead_id
                   HAVING count(DISTINCT gender) > 1
                       OR count(DISTINCT CASE WHEN inn_valid THEN inn END) > 1
                       OR count(DISTINCT CASE WHEN length(middle_name) > 2
                                              THEN lower(middle_name) END) > 1) l
             JOIN records a ON a.lead_id = l.lead_id
             JOIN records b ON b.lead_id = l.lead_id AND b.record_id > a.record_id
             WHERE (a.gender <> b.gender)
                OR (a.inn_valid AND b.inn_valid AND a.inn <> b.inn)
                OR (length(a.middle_name) > 2 AND length(b.middle_name) > 2
                    AND lower(a.middle_name) <> lower(b.middle_name))),
         -- Each decision's records with their side, for the records in a pair above.
         sides AS (
             SELECT decision_id, kind, coalesce(s.new_record_id, named) AS rec, side FROM (
                 SELECT decision_id, kind, unnest(records_a) AS named, 'a' AS side FROM match_decisions
                 UNION ALL
                 SELECT decision_id, kind, unnest(records_b), 'b' FROM match_decisions) d
             -- A record replaced when its file was read again: its successor.
             LEFT JOIN record_successors s ON s.old_record_id = d.named
             WHERE coalesce(s.new_record_id, named)
                   IN (SELECT record_a FROM pairs UNION SELECT record_b FROM pairs)),
         -- The pairs a decision speaks about: across its two sides, and within what it
         -- joins (both sides of a merge or same, the split-off side of a split).
         decided AS (
             SELECT DISTINCT x.rec AS record_a, y.rec AS record_b
             FROM sides x JOIN sides y USING (decision_id)
             WHERE x.rec <> y.rec
               AND (x.side <> y.side OR x.kind IN ('merge', 'same')
                    OR (x.kind = 'split' AND x.side = 'a' AND y.side = 'a'))),
         open AS (
             SELECT p.* FROM pairs p ANTI JOIN decided d USING (record_a, record_b)),
         valued AS (
             SELECT o.*, ra.lead_id AS lead_a, rb.lead_id AS lead_b,
                    CASE WHEN o.probability IS NULL THEN 0.75
                         ELSE greatest(0.0, 1 - abs(log2(o.probability / (1 - least(o.probability, 1 - 1e-12))) - {wt}) / {bits})
                    END AS uncertainty,
                    greatest(la.warmth_score, lb.warmth_score) AS warmth_score,
                    coalesce(la.call_consent = 'granted' OR lb.call_consent = 'granted', false) AS callable
             FROM open o
             JOIN records ra ON ra.record_id = o.record_a
             JOIN records rb ON rb.record_id = o.record_b
             LEFT JOIN leads la ON la.lead_id = ra.lead_id
             LEFT JOIN leads lb ON lb.lead_id = rb.lead_id)
         SELECT kind, record_a, record_b, lead_a, lead_b, probability, detail, uncertainty,
                warmth_score, callable,
                uncertainty * (1 + coalesce(warmth_score, 0) / 100.0
                               + CASE WHEN callable THEN 0.5 ELSE 0 END) AS priority
         FROM valued
         -- One undecided conflicting pair per lead: deciding it brings the next.
         QUALIFY kind <> 'conflict'
              OR row_number() OVER (PARTITION BY kind, lead_a ORDER BY record_a, record_b) = 1
         ORDER BY priority DESC, record_a, record_b
         LIMIT {limit}"
    )
}

/// What a reviewer sees of one record beside another.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewRecord {
    pub record_id: i64,
    pub lead_id: Option<i64>,
    pub full_name: Option<String>,
    pub middle_name: Option<String>,
    pub gender: Option<String>,
    pub phone_e164: Option<String>,
    pub email: Option<String>,
    pub city: Option<String>,
    pub company: Option<String>,
    pub inn: Option<String>,
    pub source: String,
    pub source_row: Option<i64>,
    pub origin: String,
}

impl Store {
    /// The records with these ids (those still in the base), by id.
    pub fn review_records(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, ReviewRecord>, StoreError> {
        self.temp_ids("review_ids", "record_id", ids.iter().copied())?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT record_id, lead_id, full_name, middle_name, gender, phone_e164, email,
                        city, company, inn, source, source_row, origin
                 FROM records WHERE record_id IN (SELECT record_id FROM review_ids)",
            )
            .map_err(db("reading records to review"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ReviewRecord {
                    record_id: r.get(0)?,
                    lead_id: r.get(1)?,
                    full_name: r.get(2)?,
                    middle_name: r.get(3)?,
                    gender: r.get(4)?,
                    phone_e164: r.get(5)?,
                    email: r.get(6)?,
                    city: r.get(7)?,
                    company: r.get(8)?,
                    inn: r.get(9)?,
                    source: r.get(10)?,
                    source_row: r.get(11)?,
                    origin: r.get(12)?,
                })
            })
            .map_err(db("reading records to review"))?;
        let out = rows
            .map(|r| r.map(|r| (r.record_id, r)))
            .collect::<Result<_, _>>()
            .map_err(db("reading records to review"))?;
        self.conn
            .execute_batch("DROP TABLE review_ids")
            .map_err(db("reading records to review"))?;
        Ok(out)
    }
}
