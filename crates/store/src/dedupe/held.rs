//! Records a run holds back from `records` until deduplication has given them leads.
//!
//! Updating rows inserted earlier in the same transaction makes DuckDB write the whole
//! table to the WAL at commit (it can no longer point at the blocks it already wrote) and
//! again at the checkpoint: a 1M-row import wrote 519 MB of WAL that way, ~3 s. So a full
//! run keeps its new records as Arrow batches, in a compact form, and lands them once,
//! with their leads.

use crate::import::records::COLUMNS;
use crate::{Store, StoreError};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use duckdb::arrow::array::{make_array, AsArray, Int64Array, MutableArrayData};
use duckdb::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use leadpipe_core::dedupe::MatchRecord;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
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
    /// One vector per prepared batch: appended to one vector, ten million keys (~2.6 GB)
    /// were copied over and over as it doubled, and a quarter of a 10M-row import's CPU
    /// went to those copies and the kernel zeroing the pages they touched.
    match_keys: Vec<Vec<MatchRecord>>,
    batches: HeldBatches,
    /// Bytes of the batches in memory.
    bytes: usize,
}

/// Held batches beyond this many bytes (`LEADPIPE_HOLD_MB`, default 768) move to a file
/// beside the base until they land: memory stays bounded whatever the input's size. A
/// 1M-row import holds ~400 MB.
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
        self.match_keys.push(std::mem::take(match_keys));
        self.batches.memory.append(batches);
        if self.bytes > hold_limit() {
            tracing::info!(
                records = self.batches.memory.iter().map(|b| b.num_rows()).sum::<usize>(),
                mb = self.bytes >> 20,
                "held records outgrew LEADPIPE_HOLD_MB: writing them to a file beside the base until they land"
            );
            self.batches
                .spill(&store.spill_dir(), &store.spill_prefix())?;
            self.bytes = 0;
        }
        Ok(())
    }

    /// The batches alone (the records land without deduplication reading their keys).
    pub fn into_batches(self) -> HeldBatches {
        self.batches
    }

    /// The match keys, after `first`, and the batches.
    pub fn into_parts(self, first: Vec<MatchRecord>) -> (Vec<MatchRecord>, HeldBatches) {
        (concat(first, self.match_keys), self.batches)
    }
}

/// `first`, then the chunks, in one vector. The chunks are moved on all cores: most of
/// the time goes to the kernel handing out the new vector's pages (a 10M-row build's
/// 2.6 GB took 7.4 s on one core).
fn concat(first: Vec<MatchRecord>, chunks: Vec<Vec<MatchRecord>>) -> Vec<MatchRecord> {
    let held: usize = chunks.iter().map(Vec::len).sum();
    let mut all = Vec::with_capacity(first.len() + held);
    all.extend(first);
    let start = all.len();
    let mut rest = &mut all.spare_capacity_mut()[..held];
    let mut parts = Vec::with_capacity(chunks.len());
    for chunk in &chunks {
        let (part, after) = std::mem::take(&mut rest).split_at_mut(chunk.len());
        parts.push(part);
        rest = after;
    }
    parts.into_par_iter().zip(chunks).for_each(|(part, chunk)| {
        for (slot, key) in part.iter_mut().zip(chunk) {
            slot.write(key);
        }
    });
    // SAFETY: the parts cover the `held` slots after `start` exactly, and each was
    // written whole from a chunk of its length (a panic above leaks them instead).
    unsafe { all.set_len(start + held) };
    all
}

/// Held record batches in record order: the first ones in files (written when they
/// outgrew [`hold_limit`]), the rest in memory. Landing them once, with their leads,
/// saves what landing them early costs: DuckDB rewrites every row group an UPDATE of
/// their leads touches, at commit (a 10M-row build spent ~60 s landing and ~15 s
/// committing that way).
#[derive(Default)]
pub struct HeldBatches {
    /// Arrow IPC streams, deleted when dropped; one per spill and schema.
    files: Vec<tempfile::TempPath>,
    memory: Vec<RecordBatch>,
    /// Records in `files`, all before those in `memory`.
    rows_in_files: usize,
}

impl HeldBatches {
    /// Writes the batches in memory to files in `dir` whose names start with `prefix`.
    fn spill(&mut self, dir: &Path, prefix: &str) -> Result<(), StoreError> {
        let mut batches = std::mem::take(&mut self.memory).into_iter().peekable();
        while let Some(first) = batches.next() {
            let schema = first.schema();
            let (file, path) = tempfile::Builder::new()
                .prefix(prefix)
                .suffix(".arrows")
                .tempfile_in(dir)
                .map_err(|e| spill_error(dir, e))?
                .into_parts();
            let failed = |e: ArrowError| spill_error(&path, e);
            let mut writer = StreamWriter::try_new_buffered(file, &schema).map_err(failed)?;
            writer.write(&first).map_err(failed)?;
            self.rows_in_files += first.num_rows();
            while let Some(batch) = batches.next_if(|b| b.schema() == schema) {
                writer.write(&batch).map_err(failed)?;
                self.rows_in_files += batch.num_rows();
            }
            writer.finish().map_err(failed)?;
            writer.flush().map_err(failed)?;
            self.files.push(path);
        }
        Ok(())
    }

    /// Calls `each` with the batches part by part, each with the place (in record order)
    /// of its first record: those in memory first, so that they are freed before the
    /// files are read back, then each file's, read back whole (a file holds what
    /// outgrew [`hold_limit`] once). Rows land in any order, so landing holds about one
    /// part at a time.
    fn into_each_part(
        self,
        mut each: impl FnMut(Vec<RecordBatch>, usize) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let HeldBatches {
            files,
            memory,
            rows_in_files,
        } = self;
        each(memory, rows_in_files)?;
        let mut first = 0;
        for path in &files {
            let part: Vec<RecordBatch> = read_spill(path)?.collect::<Result<_, _>>()?;
            let rows = part.iter().map(RecordBatch::num_rows).sum::<usize>();
            each(part, first)?;
            first += rows;
        }
        if first == rows_in_files {
            Ok(())
        } else {
            Err(out_of_step())
        }
    }

    /// `map` of every batch, in record order, those in files read back one at a time.
    /// What `map` makes of a batch read back is copied out of the file's buffers: each
    /// of their columns holds the whole batch's buffer, so a narrow result would keep
    /// every column of the batch in memory.
    pub fn map(
        &self,
        mut map: impl FnMut(&RecordBatch) -> Result<RecordBatch, StoreError>,
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let mut out = Vec::new();
        for path in &self.files {
            for batch in read_spill(path)? {
                out.push(detached(&map(&batch?)?)?);
            }
        }
        for batch in &self.memory {
            out.push(map(batch)?);
        }
        Ok(out)
    }
}

/// The batches of a spill file, one at a time.
fn read_spill(
    path: &Path,
) -> Result<impl Iterator<Item = Result<RecordBatch, StoreError>> + '_, StoreError> {
    let file = std::fs::File::open(path).map_err(|e| spill_error(path, e))?;
    let reader = StreamReader::try_new_buffered(file, None).map_err(|e| spill_error(path, e))?;
    Ok(reader.map(move |batch| batch.map_err(|e| spill_error(path, e))))
}

/// `batch` with every column in buffers of its own.
fn detached(batch: &RecordBatch) -> Result<RecordBatch, StoreError> {
    let columns = batch
        .columns()
        .iter()
        .map(|column| {
            let data = column.to_data();
            let mut copy = MutableArrayData::new(vec![&data], false, data.len());
            copy.try_extend(0, 0, data.len()).map_err(arrow_error)?;
            Ok(make_array(copy.freeze()))
        })
        .collect::<Result<_, StoreError>>()?;
    RecordBatch::try_new(batch.schema(), columns).map_err(arrow_error)
}

impl Store {
    /// Where a run's held records wait when they outgrow memory: beside the base.
    pub(crate) fn spill_dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// Spill files are named after the base (`.base.duckdb.held-XXXXXX.arrows`), so that
    /// the next writer of the base can delete those a killed run left.
    fn spill_prefix(&self) -> String {
        let name = self.path.file_name().unwrap_or_default();
        format!(".{}.held-", name.to_string_lossy())
    }

    /// Deletes spill files a killed run left (the caller holds the base's write lock, so
    /// no run is using them).
    pub(crate) fn remove_leftover_spills(&self) {
        let Ok(entries) = std::fs::read_dir(self.spill_dir()) else {
            return;
        };
        let prefix = self.spill_prefix();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Only `PREFIX` + the random letters and digits + `.arrows`: the files of a
            // base named `base.duckdb.held-x` start with this base's prefix too.
            let random = name
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_suffix(".arrows"));
            if random.is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn spill_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Spill {
        path: path.to_path_buf(),
        message: e.to_string(),
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
    pub fn land_held(&self, batches: HeldBatches) -> Result<(), StoreError> {
        batches.into_each_part(|part, _| {
            let part = part.iter().map(landing_form).collect::<Result<_, _>>()?;
            self.land("records", part)
        })
    }

    /// Lands held record batches, each record with the lead deduplication gave it
    /// (`leads`, the held records' ids and leads in the batches' order), one INSERT per
    /// part on all cores (the order of rows in the table does not matter; in order on
    /// one thread the 1M-row run took 4.7 s, in parallel 2.6 s; a 1M-row INSERT in
    /// parts of 120k rows took 5.8 s).
    pub fn land_held_with_leads(
        &self,
        batches: HeldBatches,
        (ids, leads): (&[i64], &[i64]),
    ) -> Result<(), StoreError> {
        if ids.len() != leads.len() {
            return Err(out_of_step());
        }
        let mut landed = 0;
        batches.into_each_part(|part, first| {
            let (ids, leads) = (ids.get(first..), leads.get(first..));
            let mut cursor = LeadCursor::new(ids.unwrap_or(&[]), leads.unwrap_or(&[]))?;
            let mut landing = Vec::with_capacity(part.len());
            for batch in &part {
                let leads = cursor.next(batch)?;
                let (schema, mut columns, _) = landing_form(batch)?.into_parts();
                let lead = schema.index_of("lead_id").map_err(|_| out_of_step())?;
                columns[lead] = Arc::new(Int64Array::from(leads.to_vec()));
                landing.push(RecordBatch::try_new(schema, columns).map_err(arrow_error)?);
                landed += batch.num_rows();
            }
            drop(part);
            self.land_in_parallel("records", landing)
        })?;
        // Each part matched the ids from its own place on, and the parts do not overlap:
        // all of them are covered once when the counts agree.
        if landed == ids.len() {
            Ok(())
        } else {
            Err(out_of_step())
        }
    }
}

/// Each held batch's slice of the leads, in turn, where `ids` and `leads` are the held
/// records' ids and leads in the batches' order. Batches and match keys were made
/// together; a mismatch would be our bug, and records landed under the wrong lead are
/// worse than a failed run, so each batch must hold exactly the records `ids` names next
/// (else the run fails and its transaction rolls back what landed).
pub struct LeadCursor<'a> {
    ids: &'a [i64],
    leads: &'a [i64],
    at: usize,
}

impl<'a> LeadCursor<'a> {
    pub fn new(ids: &'a [i64], leads: &'a [i64]) -> Result<Self, StoreError> {
        if ids.len() != leads.len() {
            return Err(out_of_step());
        }
        Ok(LeadCursor { ids, leads, at: 0 })
    }

    /// The leads of `batch`'s records.
    pub fn next(&mut self, batch: &RecordBatch) -> Result<&'a [i64], StoreError> {
        let n = batch.num_rows();
        let record_ids = batch
            .column_by_name("record_id")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(out_of_step)?;
        if self.ids.get(self.at..self.at + n) != Some(record_ids.values()) {
            return Err(out_of_step());
        }
        self.at += n;
        Ok(&self.leads[self.at - n..self.at])
    }

    /// Checks every id was met.
    pub fn finish(self) -> Result<(), StoreError> {
        if self.at == self.ids.len() {
            Ok(())
        } else {
            Err(out_of_step())
        }
    }
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
        // The first batch waits in a file, the second in memory.
        let make_held = || {
            let mut batches: Vec<RecordBatch> = [(1i64..4), (4..6)]
                .into_iter()
                .map(|ids| {
                    let ids: Vec<i64> = ids.collect();
                    let recs: Vec<CleanRecord> =
                        ids.iter().map(|&i| record(i as u64, "Тверь")).collect();
                    held_batch(&at, &ids, &recs).unwrap()
                })
                .collect();
            assert!(matches!(
                batches[0]
                    .schema()
                    .field_with_name("enrichment_source")
                    .unwrap()
                    .data_type(),
                DataType::Dictionary(..)
            ));
            let second = batches.pop().unwrap();
            let mut held = HeldBatches {
                files: Vec::new(),
                memory: batches,
                rows_in_files: 0,
            };
            held.spill(&store.spill_dir(), &store.spill_prefix())
                .unwrap();
            held.memory.push(second);
            held
        };
        // Leads for the wrong records: refused (each part is checked as it lands; the
        // run's transaction rolls back any part that landed before).
        let held = make_held();
        let spilled = held.files[0].to_path_buf();
        assert!(spilled.exists());
        let wrong: [i64; 5] = [1, 2, 3, 5, 4];
        store.begin().unwrap();
        assert!(store.land_held_with_leads(held, (&wrong, &[9; 5])).is_err());
        store.rollback();
        assert!(!spilled.exists(), "a spill file outlives its batches");
        let count: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
        let leads = [10, 10, 11, 12, 12];
        store
            .land_held_with_leads(make_held(), (&[1, 2, 3, 4, 5], &leads))
            .unwrap();
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
        let held = HeldBatches {
            files: Vec::new(),
            memory: vec![held_batch(&at, &ids, &recs).unwrap()],
            rows_in_files: 0,
        };
        store.land_held_with_leads(held, (&ids, &[1; 7])).unwrap();
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

    #[test]
    fn a_killed_runs_spill_files_go_when_the_base_opens_again_and_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.duckdb");
        drop(Store::open(&path).unwrap());
        let ours = dir.path().join(".a.duckdb.held-x1Yz.arrows");
        let theirs = dir.path().join(".b.duckdb.held-x1Yz.arrows");
        let similar = dir.path().join(".a.duckdb.held-x.held-x1Yz.arrows");
        std::fs::write(&similar, b"a base named a.duckdb.held-x").unwrap();
        std::fs::write(&ours, b"left by a killed run").unwrap();
        std::fs::write(&theirs, b"another base's run").unwrap();
        drop(Store::open(&path).unwrap());
        assert!(!ours.exists());
        assert!(theirs.exists());
        assert!(similar.exists());
    }

    #[test]
    fn held_match_keys_come_back_in_order_after_the_unlinked_ones() {
        let key = |record_id| MatchRecord {
            record_id,
            email: Some(format!("{record_id}@mail.ru")),
            ..MatchRecord::default()
        };
        let chunks: Vec<Vec<MatchRecord>> = vec![
            (10..13).map(key).collect(),
            Vec::new(),
            (13..20).map(key).collect(),
            vec![key(20)],
        ];
        let all = concat(vec![key(1), key(2)], chunks);
        let ids: Vec<i64> = all.iter().map(|k| k.record_id).collect();
        let want: Vec<i64> = [1, 2].into_iter().chain(10..=20).collect();
        assert_eq!(ids, want);
        for k in &all {
            assert_eq!(k.email, Some(format!("{}@mail.ru", k.record_id)));
        }
        assert_eq!(concat(Vec::new(), Vec::new()).len(), 0);
    }
}
