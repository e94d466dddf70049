//! The CPU half of the read step: a chunk of rows read → raw JSON, import rejects, clean
//! records and Arrow batches, all on the normalising threads (no database), so the landing
//! thread only lands.

use super::{RunError, CHUNK_ROWS};
use crate::consent::ErasedContacts;
use crate::dedupe::MatchRecord;
use crate::normalise::{phone::PhoneNormaliser, Normaliser};
use crate::record::{CleanRecord, RawRow, Reject, Stage};
use crate::store::{BatchOrigin, RawLanding, StoreError};
use duckdb::arrow::record_batch::RecordBatch;
use rayon::prelude::*;

/// One batch, read and normalised, in landing form.
pub(super) struct PreparedBatch {
    pub rows: usize,
    pub raw: RecordBatch,
    /// Import rejects, then (when normalising) normalise rejects.
    pub rejects: Vec<Reject>,
    pub rejects_batch: RecordBatch,
    /// `None` when the run does not normalise.
    pub records: Option<PreparedRecords>,
}

/// Clean records of a batch, already in landing form.
pub(super) struct PreparedRecords {
    pub count: u64,
    pub phones_valid: u64,
    pub emails_valid: u64,
    /// Arrow batches for `records`, built in parallel slices.
    pub batches: Vec<RecordBatch>,
    /// Match keys, in record order, when deduplication follows in this run.
    pub match_keys: Vec<MatchRecord>,
}

/// What preparing a batch needs besides the rows.
#[derive(Clone, Copy)]
pub(super) struct BatchWork<'a> {
    /// `None` when the run does not normalise.
    pub normaliser: Option<&'a Normaliser>,
    pub erased: &'a ErasedContacts,
    pub phones: &'a PhoneNormaliser,
    pub at: &'a BatchOrigin<'a>,
    /// Hold the records for this run's deduplication (with their match keys) instead of
    /// landing them now.
    pub hold: bool,
}

/// Rows per Arrow slice of records, so both cores build a batch's slices.
const RECORD_SLICE: usize = CHUNK_ROWS / 2;

/// Does all the CPU work on a chunk of rows read: raw JSON, import rejects, normalisation,
/// Arrow batches.
pub(super) fn prepare_batch(
    chunk: &[RawRow],
    first_id: i64,
    work: &BatchWork,
) -> Result<PreparedBatch, RunError> {
    let erased_rows: Vec<bool> = if work.erased.is_empty() {
        Vec::new()
    } else {
        chunk
            .par_iter()
            .map(|row| work.erased.matches(row, work.phones))
            .collect()
    };
    let is_erased = |i: usize| erased_rows.get(i).copied().unwrap_or(false);
    let landings: Vec<RawLanding> = chunk
        .par_iter()
        .enumerate()
        .map(|(i, row)| RawLanding {
            raw_id: first_id + i as i64,
            source_row: row.source_row,
            // An erased person's data must not come back, not even raw.
            values_json: if is_erased(i) {
                r#"{"_redacted":"erased person"}"#.to_string()
            } else {
                row.values_json()
            },
        })
        .collect();
    let (ok_rows, mut rejects) = import_rejects(chunk, first_id, is_erased);
    let records = match work.normaliser {
        Some(n) => {
            let (ids, records) = normalise_rows(n, &ok_rows, &mut rejects);
            let prepared = prepare_records(work.at, &ids, &records, work.hold)?;
            drop_in_parallel(records);
            Some(prepared)
        }
        None => None,
    };
    let batch = PreparedBatch {
        rows: chunk.len(),
        raw: crate::store::raw_batch(work.at, &landings)?,
        rejects_batch: crate::store::rejects_batch(work.at, &rejects)?,
        rejects,
        records,
    };
    drop_in_parallel(landings);
    Ok(batch)
}

/// Splits a chunk into rows to normalise (with their raw ids) and import rejects: rows
/// that could not be read, and rows of an erased person.
fn import_rejects(
    chunk: &[RawRow],
    first_id: i64,
    is_erased: impl Fn(usize) -> bool,
) -> (Vec<(i64, &RawRow)>, Vec<Reject>) {
    let mut rejects = Vec::new();
    let mut ok_rows = Vec::with_capacity(chunk.len());
    for (i, row) in chunk.iter().enumerate() {
        let raw_id = first_id + i as i64;
        if is_erased(i) {
            rejects.push(Reject {
                raw_id,
                source_row: row.source_row,
                stage: Stage::Import,
                code: "erased_person",
                field: None,
                reason: "a phone or e-mail in this row belongs to a person who was erased; \
                         the row was not imported (its values were not kept)"
                    .to_string(),
            });
            continue;
        }
        match &row.problem {
            Some(p) => rejects.push(Reject {
                raw_id,
                source_row: row.source_row,
                stage: Stage::Import,
                code: p.code,
                field: p.field.clone(),
                reason: p.reason.clone(),
            }),
            None => ok_rows.push((raw_id, row)),
        }
    }
    (ok_rows, rejects)
}

fn prepare_records(
    at: &BatchOrigin,
    ids: &[i64],
    records: &[CleanRecord],
    hold: bool,
) -> Result<PreparedRecords, RunError> {
    // Held records (deduplication follows in this run) come with their match keys.
    let match_keys = if hold {
        ids.par_iter()
            .zip(records.par_iter())
            .map(|(&id, r)| MatchRecord::from_clean(id, r))
            .collect()
    } else {
        Vec::new()
    };
    let batches = ids
        .par_chunks(RECORD_SLICE)
        .zip(records.par_chunks(RECORD_SLICE))
        .map(|(ids, recs)| {
            // Records held for deduplication wait in the compact form.
            if hold {
                crate::store::held::held_batch(at, ids, recs)
            } else {
                crate::store::records_batch(at, ids, &vec![None; ids.len()], recs)
            }
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(PreparedRecords {
        count: records.len() as u64,
        phones_valid: records.iter().filter(|r| r.phone_e164.is_some()).count() as u64,
        emails_valid: records.iter().filter(|r| r.email.is_some()).count() as u64,
        batches,
        match_keys,
    })
}

/// Frees a big vector of many-string items on all cores: dropped on one thread, a 32k-row
/// chunk's records kept the other core idle for ~0.1 s per 100k rows.
pub(super) fn drop_in_parallel<T: Send>(items: Vec<T>) {
    items.into_par_iter().with_min_len(1024).for_each(drop);
}

/// Normalises and enriches rows on all cores; refused rows are added to `rejects`.
pub(super) fn normalise_rows(
    normaliser: &Normaliser,
    rows: &[(i64, &RawRow)],
    rejects: &mut Vec<Reject>,
) -> (Vec<i64>, Vec<CleanRecord>) {
    let results: Vec<_> = rows
        .par_iter()
        .map(|(id, row)| {
            let result = normaliser.normalise(row).map(|mut rec| {
                crate::enrich::enrich(&mut rec);
                rec
            });
            (*id, row.source_row, result)
        })
        .collect();
    let mut ids = Vec::with_capacity(results.len());
    let mut records: Vec<CleanRecord> = Vec::with_capacity(results.len());
    for (raw_id, source_row, result) in results {
        match result {
            Ok(rec) => {
                ids.push(raw_id);
                records.push(rec);
            }
            Err(refusal) => rejects.push(Reject {
                raw_id,
                source_row,
                stage: Stage::Normalise,
                code: refusal.code,
                field: refusal.field.map(str::to_string),
                reason: refusal.reason,
            }),
        }
    }
    (ids, records)
}
