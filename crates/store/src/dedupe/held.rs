//! Records a run holds back from `records` until deduplication has given them leads.
//!
//! Updating rows inserted earlier in the same transaction makes DuckDB write the whole
//! table to the WAL at commit (it can no longer point at the blocks it already wrote) and
//! again at the checkpoint: a 1M-row import wrote 519 MB of WAL that way, ~3 s. So a full
//! run keeps its new records as Arrow batches, in a compact form, and lands them once,
//! with their leads.

use crate::import::records::COLUMNS;
use crate::{Store, StoreError};
use duckdb::arrow::array::{AsArray, Int64Array};
use duckdb::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use leadpipe_core::dedupe::MatchRecord;
use std::sync::Arc;

/// Text columns with a handful of distinct values (codes, kinds; `repetitive` in
/// [`COLUMNS`]) that held records keep dictionary-encoded, and land as such (DuckDB
/// converts a vector's dictionary each time, so only small ones pay). `enrichment_source`
/// (the provenance JSON) and the batch's source columns are built dictionary-encoded in the
/// first place (`records_batch_with`). A 1M-row import held 814 MB of record batches as
/// plain text, 247 MB of it in `enrichment_source` (27 distinct values); the held form is
/// about 400 MB.
fn as_dictionary(column: &str) -> bool {
    COLUMNS.iter().any(|c| c.repetitive && c.name == column)
}

/// This run's new records: match keys for deduplication and `records` batches (lead_id
/// NULL, in the form of [`held_batch`]), both in record order.
#[derive(Default)]
pub struct HeldRecords {
    pub match_keys: Vec<MatchRecord>,
    /// The records of `match_keys[spilled..]`.
    pub batches: Vec<RecordBatch>,
    /// How many of the first match keys belong to records that already landed, without
    /// leads, because the held batches outgrew [`hold_limit`].
    pub spilled: usize,
    bytes: usize,
}

/// Held batches beyond this many bytes (`LEADPIPE_HOLD_MB`, default 768) land at once
/// without leads, which deduplication then writes by UPDATE (the slow path above): memory
/// stays bounded whatever the input's size. A 1M-row import holds ~400 MB.
fn hold_limit() -> usize {
    let mb = std::env::var("LEADPIPE_HOLD_MB")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(768);
    mb << 20
}

impl HeldRecords {
    /// Holds a prepared batch's records (taking them out of the vectors given).
    pub fn hold(
        &mut self,
        store: &Store,
        match_keys: &mut Vec<MatchRecord>,
        batches: &mut Vec<RecordBatch>,
    ) -> Result<(), StoreError> {
        self.bytes += batches
            .iter()
            .map(|b| b.get_array_memory_size())
            .sum::<usize>();
        self.match_keys.append(match_keys);
        self.batches.append(batches);
        if self.bytes > hold_limit() {
            tracing::info!(
                records = self.match_keys.len() - self.spilled,
                mb = self.bytes >> 20,
                "held records outgrew LEADPIPE_HOLD_MB: landing them now, leads follow by update"
            );
            store.land_held(std::mem::take(&mut self.batches))?;
            self.spilled = self.match_keys.len();
            self.bytes = 0;
        }
        Ok(())
    }
}

/// New records as a `records` batch in the held form (lead_id NULL, repetitive text
/// dictionary-encoded). Pure CPU work, for the normalising threads.
pub fn held_batch(
    at: &crate::BatchOrigin,
    ids: &[i64],
    records: &[leadpipe_core::record::CleanRecord],
) -> Result<RecordBatch, StoreError> {
    let batch =
        crate::import::records::records_batch_with(at, ids, &vec![None; ids.len()], records, true)?;
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    recast(&batch, |field| {
        as_dictionary(field.name()).then(|| dictionary.clone())
    })
}

impl Store {
    /// Lands held record batches as they are (no leads yet), when deduplication will
    /// read them back, or update their leads, after all.
    pub fn land_held(&self, batches: Vec<RecordBatch>) -> Result<(), StoreError> {
        let batches = batches.iter().map(landing_form).collect::<Result<_, _>>()?;
        self.land("records", batches)
    }

    /// Lands held record batches, each record with the lead deduplication gave it
    /// (`leads`, one slice per batch from [`leads_by_batch`]), in one INSERT on all cores
    /// (the order of rows in the table does not matter; in order on one thread the 1M-row
    /// run took 4.7 s, in parallel 2.6 s).
    pub fn land_held_with_leads(
        &self,
        batches: Vec<RecordBatch>,
        leads: &[&[i64]],
    ) -> Result<(), StoreError> {
        if batches.len() != leads.len() {
            return Err(out_of_step());
        }
        let mut landing = Vec::with_capacity(batches.len());
        for (batch, leads) in batches.iter().zip(leads) {
            let (schema, mut columns, _) = landing_form(batch)?.into_parts();
            let lead = schema.index_of("lead_id").map_err(|_| out_of_step())?;
            columns[lead] = Arc::new(Int64Array::from(leads.to_vec()));
            landing.push(RecordBatch::try_new(schema, columns).map_err(arrow_error)?);
        }
        self.land_in_parallel("records", landing)
    }
}

/// Each held batch's slice of `leads`, where `ids` and `leads` are the held records' ids
/// and leads in the batches' order. Batches and match keys were made together; a
/// mismatch would be our bug, and records landed under the wrong lead are worse than a
/// failed run, so the batches must hold exactly the records `ids` names.
pub fn leads_by_batch<'a>(
    batches: &[RecordBatch],
    ids: &[i64],
    leads: &'a [i64],
) -> Result<Vec<&'a [i64]>, StoreError> {
    if ids.len() != leads.len() {
        return Err(out_of_step());
    }
    let mut at = 0;
    let mut slices = Vec::with_capacity(batches.len());
    for batch in batches {
        let n = batch.num_rows();
        let record_ids = batch
            .column_by_name("record_id")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(out_of_step)?;
        if ids.get(at..at + n) != Some(record_ids.values()) {
            return Err(out_of_step());
        }
        slices.push(&leads[at..at + n]);
        at += n;
    }
    if at != ids.len() {
        return Err(out_of_step());
    }
    Ok(slices)
}

fn out_of_step() -> StoreError {
    StoreError::Batch {
        table: "records",
        message: "held records and their leads are out of step".into(),
    }
}

/// A held batch in landing form: JSON text back to plain text (DuckDB reads JSON only
/// from plain text; the other dictionaries land as they are).
fn landing_form(batch: &RecordBatch) -> Result<RecordBatch, StoreError> {
    recast(batch, |field| {
        (crate::scan::is_json(field) && matches!(field.data_type(), DataType::Dictionary(..)))
            .then_some(DataType::Utf8)
    })
}

/// `batch` with each column `to` names a type for cast to it (field metadata kept).
fn recast(
    batch: &RecordBatch,
    to: impl Fn(&Field) -> Option<DataType>,
) -> Result<RecordBatch, StoreError> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match to(field) {
            Some(t) => {
                columns.push(duckdb::arrow::compute::cast(column, &t).map_err(arrow_error)?);
                fields.push(field.as_ref().clone().with_data_type(t));
            }
            None => {
                columns.push(column.clone());
                fields.push(field.as_ref().clone());
            }
        }
    }
    let schema = Schema::new_with_metadata(fields, batch.schema().metadata().clone());
    RecordBatch::try_new(Arc::new(schema), columns).map_err(arrow_error)
}

fn arrow_error(e: duckdb::arrow::error::ArrowError) -> StoreError {
    StoreError::Batch {
        table: "records",
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{records_batch, BatchOrigin};
    use leadpipe_core::record::CleanRecord;

    fn record(row: u64, city: &str) -> CleanRecord {
        let mut r = CleanRecord {
            source_row: row,
            ..CleanRecord::default()
        };
        r.city = Some(city.into());
        r.enriched.timezone = Some("Europe/Moscow".into());
        r.enriched.sources.push(("timezone", "city"));
        r
    }

    #[test]
    fn the_compact_form_holds_what_the_plain_form_holds() {
        let at = BatchOrigin {
            run_id: 1,
            source: "s.csv",
            file_hash: "abc",
            origin: "purchased",
        };
        let mut recs: Vec<CleanRecord> = (1..=6)
            .map(|i| record(i, if i % 2 == 0 { "Тверь" } else { "Омск" }))
            .collect();
        recs[2].enriched.sources.clear();
        recs[3].enriched.sources.push(("region_code", "city"));
        recs[4].enriched.sources = recs[3].enriched.sources.clone();
        let ids: Vec<i64> = (1..=6).collect();
        let plain = records_batch(&at, &ids, &vec![None; ids.len()], &recs).unwrap();
        let compact = held_batch(&at, &ids, &recs).unwrap();
        assert_eq!(
            plain.schema().fields().len(),
            compact.schema().fields().len()
        );
        for name in [
            "enrichment_source",
            "source",
            "file_hash",
            "origin",
            "timezone",
        ] {
            let field = compact.schema().field_with_name(name).unwrap().clone();
            assert!(
                matches!(field.data_type(), DataType::Dictionary(..)),
                "{name}"
            );
        }
        for (i, field) in plain.schema().fields().iter().enumerate() {
            let expanded =
                duckdb::arrow::compute::cast(compact.column(i), field.data_type()).unwrap();
            assert_eq!(
                expanded.to_data(),
                plain.column(i).to_data(),
                "{}",
                field.name()
            );
        }
    }

    #[test]
    fn held_records_land_whole_with_their_leads_and_refuse_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.duckdb")).unwrap();
        let at = BatchOrigin {
            run_id: 1,
            source: "s.csv",
            file_hash: "abc",
            origin: "purchased",
        };
        let held: Vec<RecordBatch> = [(1i64..4), (4..6)]
            .into_iter()
            .map(|ids| {
                let ids: Vec<i64> = ids.collect();
                let recs: Vec<CleanRecord> =
                    ids.iter().map(|&i| record(i as u64, "Тверь")).collect();
                held_batch(&at, &ids, &recs).unwrap()
            })
            .collect();
        assert!(matches!(
            held[0]
                .schema()
                .field_with_name("enrichment_source")
                .unwrap()
                .data_type(),
            DataType::Dictionary(..)
        ));
        // Leads for the wrong records: refused, nothing lands.
        assert!(leads_by_batch(&held, &[1, 2, 3, 5, 4], &[9; 5]).is_err());
        let leads = [10, 10, 11, 12, 12];
        let slices = leads_by_batch(&held, &[1, 2, 3, 4, 5], &leads).unwrap();
        store.land_held_with_leads(held, &slices).unwrap();
        let mut stmt = store
            .connection()
            .prepare(
                "SELECT record_id, lead_id, source, timezone, city,
                        enrichment_source->>'timezone', json_valid(enrichment_source)
                 FROM records ORDER BY record_id",
            )
            .unwrap();
        type Row = (i64, i64, String, String, String, String, bool);
        let rows: Vec<Row> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let leads: Vec<(i64, i64)> = rows.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(leads, [(1, 10), (2, 10), (3, 11), (4, 12), (5, 12)]);
        for r in &rows {
            assert_eq!(
                (&r.2[..], &r.3[..], &r.4[..], &r.5[..], r.6),
                ("s.csv", "Europe/Moscow", "Тверь", "city", true)
            );
        }
    }

    #[test]
    fn lead_ids_written_in_slices_reach_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.duckdb")).unwrap();
        let at = BatchOrigin {
            run_id: 1,
            source: "s.csv",
            file_hash: "abc",
            origin: "purchased",
        };
        let ids: Vec<i64> = (1..=7).collect();
        let recs: Vec<CleanRecord> = ids.iter().map(|&i| record(i as u64, "Тверь")).collect();
        let held = vec![held_batch(&at, &ids, &recs).unwrap()];
        let slices = leads_by_batch(&held, &ids, &[1; 7]).unwrap();
        store.land_held_with_leads(held, &slices).unwrap();
        // Record 3 keeps its lead; the others move, three records per UPDATE.
        let landed: Vec<MatchRecord> = ids
            .iter()
            .map(|&record_id| MatchRecord {
                record_id,
                lead_id: Some(1),
                ..MatchRecord::default()
            })
            .collect();
        let lead_of = [20, 20, 1, 40, 40, 60, 70];
        store.land_lead_ids_in_slices(&landed, &lead_of, 3).unwrap();
        let mut stmt = store
            .connection()
            .prepare("SELECT lead_id FROM records ORDER BY record_id")
            .unwrap();
        let got: Vec<i64> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, lead_of);
    }
}
