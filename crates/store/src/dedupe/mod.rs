//! Deduplication's tables: the pairwise evidence of every merge (`lead_links`), the pairs a
//! constraint kept apart (`match_refusals`), leads absorbed by others (`lead_merges`) and
//! the model's weights per run (`match_weights`); the lead ids it gives `records`. The
//! golden records it builds are `leads` (see `leads`); `held` keeps a run's new records
//! until they have leads; `explain` reads a lead's evidence back for review.

use crate::landing::{batch, repeat_i64};
use crate::{db, Store, StoreError};
use duckdb::arrow::array::{ArrayRef, Float64Builder, Int64Array, Int64Builder, StringBuilder};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::params;
use leadpipe_core::dedupe::{DedupeOutcome, MatchRecord};
use std::sync::Arc;

pub mod decisions;
pub mod explain;
pub mod held;
pub mod index;
pub mod leads;
pub mod review;

pub use explain::LeadExplanation;
pub use leads::{LandedMembers, Scoring};

/// Evidence per merged pair: the probability, the match weight, and per field the
/// agreement level and the weight (log2 odds) it contributed.
/// Records whose lead id one UPDATE writes (see `land_lead_ids`).
const LEAD_ID_SLICE: usize = 1 << 20;

pub(crate) const LEAD_LINKS: &str = r#"CREATE TABLE IF NOT EXISTS lead_links (
    run_id BIGINT NOT NULL,
    lead_id BIGINT,
    record_a BIGINT NOT NULL,
    record_b BIGINT NOT NULL,
    probability DOUBLE,
    match_weight DOUBLE,
    name_level VARCHAR,
    middle_name_level VARCHAR,
    phone_level VARCHAR,
    email_level VARCHAR,
    city_level VARCHAR,
    name_weight DOUBLE,
    middle_name_weight DOUBLE,
    phone_weight DOUBLE,
    email_weight DOUBLE,
    city_weight DOUBLE
);
-- Company and ИНН comparison (added later: bases made before get the columns here).
ALTER TABLE lead_links ADD COLUMN IF NOT EXISTS company_level VARCHAR;
ALTER TABLE lead_links ADD COLUMN IF NOT EXISTS inn_level VARCHAR;
ALTER TABLE lead_links ADD COLUMN IF NOT EXISTS company_weight DOUBLE;
ALTER TABLE lead_links ADD COLUMN IF NOT EXISTS inn_weight DOUBLE;
"#;

pub(crate) const MATCH_REFUSALS: &str = r#"-- Pairs the score would have merged that a constraint kept apart: `constraint` names it
-- (first_names_differ, patronymics_differ, gender_differs, inn_differs,
-- companies_differ); `conflict_a`/`conflict_b` are set when the pair itself was fine but
-- those two records, already in the two groups, are different people.
CREATE TABLE IF NOT EXISTS match_refusals (
    run_id BIGINT NOT NULL,
    record_a BIGINT NOT NULL,
    record_b BIGINT NOT NULL,
    probability DOUBLE,
    "constraint" VARCHAR NOT NULL,
    conflict_a BIGINT,
    conflict_b BIGINT
);
"#;

/// A lead absorbed into another by a run (its id is never used again).
pub(crate) const LEAD_MERGES: &str = r#"CREATE TABLE IF NOT EXISTS lead_merges (
    run_id BIGINT NOT NULL,
    from_lead BIGINT NOT NULL,
    into_lead BIGINT NOT NULL
);
"#;

/// The weights each run fitted or reused.
pub(crate) const MATCH_WEIGHTS: &str = r#"CREATE TABLE IF NOT EXISTS match_weights (
    run_id BIGINT NOT NULL,
    weights JSON NOT NULL
);
"#;

impl Store {
    /// Match keys of every record (but those of run `except_run`), in record_id order,
    /// read in bulk through Arrow.
    pub fn load_match_records(
        &self,
        except_run: Option<i64>,
    ) -> Result<Vec<MatchRecord>, StoreError> {
        self.match_records_where("run_id IS DISTINCT FROM ?", except_run)
    }

    /// Match keys of every record with a lead, in record_id order.
    pub fn load_linked_match_records(&self) -> Result<Vec<MatchRecord>, StoreError> {
        self.match_records_where("lead_id IS NOT NULL AND ? IS NULL", None)
    }

    /// Match keys of the records with these ids, in record_id order.
    pub fn match_records_of(&self, ids: &[i64]) -> Result<Vec<MatchRecord>, StoreError> {
        let filter = format!("record_id IN ({}) AND ? IS NULL", crate::ids_sql(ids));
        self.match_records_where(&filter, None)
    }

    /// How many records have a lead.
    pub fn count_linked_records(&self) -> Result<u64, StoreError> {
        let n = self.next_id("SELECT count(*) FROM records WHERE lead_id IS NOT NULL")?;
        Ok(n.max(0) as u64)
    }

    /// The temp table `scope_records`: the records a run clusters again.
    pub fn scope_records(&self, records: &[MatchRecord]) -> Result<(), StoreError> {
        self.temp_ids(
            "scope_records",
            "record_id",
            records.iter().map(|r| r.record_id),
        )
    }

    /// The temp table `scope_leads`: the leads a run changed, whose golden records and
    /// consent are derived again (those a record joined or left, including leads merged
    /// away).
    pub fn scope_leads(&self, leads: &[i64]) -> Result<(), StoreError> {
        let mut ids = leads.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.temp_ids("scope_leads", "lead_id", ids.into_iter())
    }

    /// Forgets the links and refusals a run is about to find again: every one (`whole`),
    /// or those among the records in `scope_records`.
    pub fn forget_clustering(&self, whole: bool) -> Result<(), StoreError> {
        let sql = if whole {
            "DELETE FROM lead_links; DELETE FROM match_refusals; DELETE FROM match_candidates;"
        } else {
            "DELETE FROM lead_links WHERE record_a IN (SELECT record_id FROM scope_records)
                                       OR record_b IN (SELECT record_id FROM scope_records);
             DELETE FROM match_refusals WHERE record_a IN (SELECT record_id FROM scope_records)
                                          AND record_b IN (SELECT record_id FROM scope_records);
             DELETE FROM match_candidates WHERE record_a IN (SELECT record_id FROM scope_records)
                                            AND record_b IN (SELECT record_id FROM scope_records);"
        };
        self.conn
            .execute_batch(sql)
            .map_err(db("clearing links found again"))
    }

    /// Match keys of the records no run has linked yet (but those of run `except_run`).
    pub fn load_unlinked_match_records(
        &self,
        except_run: Option<i64>,
    ) -> Result<Vec<MatchRecord>, StoreError> {
        self.match_records_where("lead_id IS NULL AND run_id IS DISTINCT FROM ?", except_run)
    }

    fn match_records_where(
        &self,
        filter: &str,
        param: Option<i64>,
    ) -> Result<Vec<MatchRecord>, StoreError> {
        let batches = self.read_arrow(
            &format!("SELECT {MATCH_COLUMNS} FROM records WHERE {filter} ORDER BY record_id"),
            [param],
            "reading records for deduplication",
        )?;
        Ok(parse_match_records(&batches))
    }

    /// The records of the leads in `touched_leads` ([`Store::leads_touched_by`]) in one
    /// scan of `records`: their match keys (in record_id order: without the ORDER BY the
    /// scan took 2.5 times as long on a 10M-row base), and their fields as
    /// golden-record members ([`leadpipe_core::dedupe::golden::member_columns`], under
    /// their old leads), so the golden records of the leads a run changes need no second
    /// scan.
    pub fn load_touched_records(&self) -> Result<(Vec<MatchRecord>, Vec<RecordBatch>), StoreError> {
        use leadpipe_core::dedupe::golden::{member_columns, MEMBER_COLUMNS};
        let batches = self.read_arrow(
            &format!(
                "SELECT {}, {MATCH_COLUMNS} FROM records
                 WHERE lead_id IN (SELECT lead_id FROM touched_leads) ORDER BY record_id",
                member_columns()
            ),
            [],
            "reading the records of touched leads",
        )?;
        let width = batches.first().map_or(0, |b| b.num_columns());
        let project = |range: std::ops::Range<usize>| {
            let columns: Vec<usize> = range.collect();
            batches
                .iter()
                .map(|b| b.project(&columns))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Batch {
                    table: "records",
                    message: e.to_string(),
                })
        };
        let matched = parse_match_records(&project(MEMBER_COLUMNS..width)?);
        Ok((matched, project(0..MEMBER_COLUMNS)?))
    }
}

/// What deduplication reads of a record, in [`parse_match_records`]' order.
const MATCH_COLUMNS: &str = "record_id, lead_id,
    list_prepend(phone_e164, coalesce(phones_extra, [])) AS match_phones,
    email, email_suggestion, last_name, first_name, middle_name, gender, city, company_key,
    -- as dedupe::own_inn
    CASE WHEN inn_valid AND (length(inn) <> 12 OR company_key IS NULL
                             OR subject_type = 'sole_trader')
         THEN inn END AS match_inn";

/// Match keys straight from Arrow columns in [`MATCH_COLUMNS`]' order, batch by batch on
/// all cores (a vector of owned fields in between cost ~0.4 s of copying per 1M records);
/// the order of the rows is kept.
fn parse_match_records(batches: &[RecordBatch]) -> Vec<MatchRecord> {
    use duckdb::arrow::array::{Array, AsArray};
    use duckdb::arrow::datatypes::Int64Type;
    {
        use rayon::prelude::*;
        fn at(col: &duckdb::arrow::array::StringArray, i: usize) -> Option<&str> {
            (!col.is_null(i)).then(|| col.value(i))
        }
        let out: Vec<MatchRecord> = batches
            .par_iter()
            .flat_map_iter(|b| {
                let ids = b.column(0).as_primitive::<Int64Type>();
                let leads = b.column(1).as_primitive::<Int64Type>();
                let phones = b.column(2).as_list::<i32>();
                let text = |c: usize| b.column(c).as_string::<i32>();
                let [email, alt, last, first, middle, gender, city, company, inn] =
                    std::array::from_fn(|k| text(3 + k));
                (0..b.num_rows()).map(move |i| {
                    let list = phones.value(i);
                    let list = list.as_string::<i32>();
                    let phones: Vec<String> = (0..list.len())
                        .filter(|&j| !list.is_null(j))
                        .map(|j| list.value(j).to_string())
                        .collect();
                    MatchRecord::from_fields(
                        ids.value(i),
                        (!leads.is_null(i)).then(|| leads.value(i)),
                        phones,
                        at(email, i).map(str::to_string),
                        at(alt, i).map(str::to_string),
                        at(last, i),
                        at(first, i),
                        at(middle, i),
                        at(gender, i),
                        at(city, i),
                        at(company, i),
                        at(inn, i),
                    )
                })
            })
            .collect();
        out
    }
}

impl Store {
    /// The id the next new lead gets: never one used before, even by a lead since erased
    /// (its audit rows keep the id, and a newcomer must not inherit them).
    pub fn next_lead_id(&self) -> Result<i64, StoreError> {
        self.next_id(
            "SELECT greatest((SELECT coalesce(max(lead_id), 0) FROM records),
                             (SELECT coalesce(max(from_lead), 0) FROM lead_merges),
                             (SELECT coalesce(max(lead_id), 0) FROM consent_audit)) + 1",
        )
    }

    /// Weights fitted by the latest run, to reuse when a run brings too few records to fit.
    pub fn latest_weights(&self) -> Result<Option<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT weights::VARCHAR FROM match_weights ORDER BY run_id DESC LIMIT 1")
            .map_err(db("reading match weights"))?;
        let mut rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db("reading match weights"))?;
        rows.next().transpose().map_err(db("reading match weights"))
    }

    /// Writes deduplication's results: changed lead ids of landed records, merge
    /// evidence, absorbed leads and the weights used. `records[..landed]` are in `records`
    /// already (their changed leads are updated here); the rest are the run's held records,
    /// which the caller lands with their leads afterwards, then the golden records
    /// ([`Store::golden_records`], [`Store::replace_leads`]). Returns how long each step
    /// took (ms).
    pub fn land_dedupe(
        &self,
        run_id: i64,
        records: &[MatchRecord],
        landed: usize,
        outcome: &DedupeOutcome,
    ) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut timings = Vec::new();
        let mut clock = std::time::Instant::now();
        let mut lap = |timings: &mut Vec<(&'static str, u64)>, what: &'static str| {
            timings.push((what, clock.elapsed().as_millis() as u64));
            clock = std::time::Instant::now();
        };
        self.land_lead_ids(&records[..landed], &outcome.lead_of)?;
        lap(&mut timings, "land_lead_ids");
        // In any order: evidence is looked up by lead and record, not read in order.
        let links = links_batch(run_id, records, outcome)?;
        self.land_in_parallel("lead_links", vec![links])?;
        self.land_refusals(run_id, &outcome.refusals)?;
        self.land_candidates(run_id, &outcome.candidates)?;
        lap(&mut timings, "land_links");
        self.land_merges(run_id, &outcome.merged_leads)?;
        let weights = serde_json::to_string(&outcome.weights).unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO match_weights VALUES (?, ?)",
                params![run_id, weights],
            )
            .map_err(db("saving match weights"))?;
        lap(&mut timings, "land_weights");
        Ok(timings)
    }

    /// Updates the lead of each landed record whose lead changed (`lead_of[i]` is the lead
    /// of `landed[i]`), through a temporary table and UPDATEs of at most
    /// [`LEAD_ID_SLICE`] records each: one UPDATE joining ten million records needed more
    /// than DuckDB's memory limit for its hash table and ran out.
    fn land_lead_ids(&self, landed: &[MatchRecord], lead_of: &[i64]) -> Result<(), StoreError> {
        self.land_lead_ids_in_slices(landed, lead_of, LEAD_ID_SLICE)
    }

    fn land_lead_ids_in_slices(
        &self,
        landed: &[MatchRecord],
        lead_of: &[i64],
        slice_len: usize,
    ) -> Result<(), StoreError> {
        let mut changed: Vec<(i64, i64)> = landed
            .iter()
            .zip(lead_of)
            .filter(|(r, &l)| r.lead_id != Some(l))
            .map(|(r, &l)| (r.record_id, l))
            .collect();
        changed.sort_unstable();
        for slice in changed.chunks(slice_len.max(1)) {
            self.conn
                .execute_batch(
                    "CREATE OR REPLACE TEMP TABLE lead_map (record_id BIGINT, lead_id BIGINT)",
                )
                .map_err(db("preparing lead ids"))?;
            let cols: Vec<(&str, ArrayRef)> = vec![
                (
                    "record_id",
                    Arc::new(Int64Array::from_iter_values(slice.iter().map(|c| c.0))),
                ),
                (
                    "lead_id",
                    Arc::new(Int64Array::from_iter_values(slice.iter().map(|c| c.1))),
                ),
            ];
            self.append("lead_map", batch("lead_map", cols)?)?;
            // The slice's record ids are a range (sorted), so the scan of `records` can
            // skip the row groups outside it.
            let (first, last) = (slice[0].0, slice[slice.len() - 1].0);
            self.conn
                .execute(
                    "UPDATE records SET lead_id = m.lead_id FROM lead_map m
                     WHERE records.record_id = m.record_id
                       AND records.record_id BETWEEN ? AND ?",
                    params![first, last],
                )
                .map_err(db("writing lead ids"))?;
        }
        self.conn
            .execute_batch("DROP TABLE IF EXISTS lead_map")
            .map_err(db("writing lead ids"))
    }

    /// Records leads absorbed into others, and moves their evidence to the lead that took
    /// them in.
    fn land_merges(&self, run_id: i64, merged: &[(i64, i64)]) -> Result<(), StoreError> {
        for (from, into) in merged {
            self.conn
                .execute(
                    "INSERT INTO lead_merges VALUES (?, ?, ?)",
                    params![run_id, from, into],
                )
                .map_err(db("recording merged leads"))?;
            self.conn
                .execute(
                    "UPDATE lead_links SET lead_id = ? WHERE lead_id = ?",
                    params![into, from],
                )
                .map_err(db("recording merged leads"))?;
        }
        Ok(())
    }

    /// Confident pairs that a constraint refused to merge (see `match_refusals`).
    fn land_refusals(
        &self,
        run_id: i64,
        refusals: &[leadpipe_core::dedupe::Refusal],
    ) -> Result<(), StoreError> {
        use duckdb::arrow::array::{Float64Array, Int64Array, StringArray};
        let n = refusals.len();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("run_id", repeat_i64(run_id, n)),
            (
                "record_a",
                Arc::new(Int64Array::from_iter_values(
                    refusals.iter().map(|r| r.record_a),
                )),
            ),
            (
                "record_b",
                Arc::new(Int64Array::from_iter_values(
                    refusals.iter().map(|r| r.record_b),
                )),
            ),
            (
                "probability",
                Arc::new(Float64Array::from_iter_values(
                    refusals.iter().map(|r| r.probability),
                )),
            ),
            (
                "constraint",
                Arc::new(StringArray::from_iter_values(
                    refusals.iter().map(|r| r.veto.as_str()),
                )),
            ),
            (
                "conflict_a",
                Arc::new(Int64Array::from_iter(
                    refusals.iter().map(|r| r.conflict.map(|c| c.0)),
                )),
            ),
            (
                "conflict_b",
                Arc::new(Int64Array::from_iter(
                    refusals.iter().map(|r| r.conflict.map(|c| c.1)),
                )),
            ),
        ];
        self.land_in_parallel("match_refusals", vec![batch("match_refusals", cols)?])
    }
}

/// The run's merge evidence as a `lead_links` batch, each link under the lead of its first
/// record.
fn links_batch(
    run_id: i64,
    records: &[MatchRecord],
    outcome: &DedupeOutcome,
) -> Result<RecordBatch, StoreError> {
    let mut lead_of_record: rustc_hash::FxHashMap<i64, i64> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(records.len(), Default::default());
    lead_of_record.extend(
        records
            .iter()
            .zip(&outcome.lead_of)
            .map(|(r, &l)| (r.record_id, l)),
    );
    let n = outcome.links.len();
    let mut lead = Int64Builder::with_capacity(n);
    let mut a = Int64Builder::with_capacity(n);
    let mut b = Int64Builder::with_capacity(n);
    let mut p = Float64Builder::with_capacity(n);
    let mut w = Float64Builder::with_capacity(n);
    let mut decision = Int64Builder::with_capacity(n);
    // Per field: the agreement level and the weight (log2 odds) it contributed.
    use leadpipe_core::dedupe::model::{FIELDS, FIELD_NAMES};
    let mut levels: Vec<StringBuilder> = (0..FIELDS).map(|_| StringBuilder::new()).collect();
    let mut field_weights: Vec<Float64Builder> = (0..FIELDS)
        .map(|_| Float64Builder::with_capacity(n))
        .collect();
    for link in &outcome.links {
        lead.append_option(lead_of_record.get(&link.record_a).copied());
        a.append_value(link.record_a);
        b.append_value(link.record_b);
        p.append_value(link.probability);
        w.append_value(link.match_weight);
        decision.append_option(link.decision);
        for ((level, weight), f) in levels.iter_mut().zip(&mut field_weights).zip(&link.fields) {
            level.append_option(f.level);
            weight.append_option(f.level.map(|_| f.weight));
        }
    }
    let mut cols: Vec<(String, ArrayRef)> = vec![
        ("run_id".into(), repeat_i64(run_id, n)),
        ("lead_id".into(), Arc::new(lead.finish())),
        ("record_a".into(), Arc::new(a.finish())),
        ("record_b".into(), Arc::new(b.finish())),
        ("probability".into(), Arc::new(p.finish())),
        ("match_weight".into(), Arc::new(w.finish())),
    ];
    for (field, mut builder) in FIELD_NAMES.into_iter().zip(levels) {
        cols.push((format!("{field}_level"), Arc::new(builder.finish())));
    }
    for (field, mut builder) in FIELD_NAMES.into_iter().zip(field_weights) {
        cols.push((format!("{field}_weight"), Arc::new(builder.finish())));
    }
    cols.push(("decision_id".into(), Arc::new(decision.finish())));
    let cols: Vec<(&str, ArrayRef)> = cols.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    batch("lead_links", cols)
}
