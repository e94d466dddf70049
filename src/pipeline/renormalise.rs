//! Records derived again from a source's landed raw rows (`--only normalise`, or rows an
//! `--only import` run left waiting). Records keep their ids and the leads they had.

use super::context::RunContext;
use super::prepare::normalise_rows;
use super::summary::SourceSummary;
use super::{RunError, CHUNK_ROWS};
use crate::record::{Cell, CleanRecord, OrderedObject, RawRow};
use crate::sources::headers::{Field, Mapper};
use crate::sources::SourceSpec;
use crate::store::{BatchOrigin, StoredRaw};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub(super) fn source(
    ctx: &mut RunContext,
    spec: &SourceSpec,
    summary: &mut SourceSummary,
) -> Result<(), RunError> {
    let store = ctx.store;
    let mapper = Mapper::new(&spec.columns).map_err(|error| RunError::Mapping {
        source_name: spec.name.clone(),
        error,
    })?;
    let stored = store.raw_rows_for_source(&spec.name)?;
    let previous_leads = store.lead_ids_for_source(&spec.name)?;
    store.clear_normalised(&spec.name)?;
    if summary.status.is_empty() {
        summary.status = "renormalised".to_string();
    }
    let bar = ctx.opts.progress_bar(&format!("{} (normalise)", spec.name));
    let mut keys = BTreeMap::new();
    // Rows are grouped by file so each batch carries one file hash and origin.
    let mut start = 0;
    while start < stored.len() {
        let group = &stored[start..];
        let len = group
            .iter()
            .take(CHUNK_ROWS)
            .take_while(|s| s.file_hash == group[0].file_hash && s.origin == group[0].origin)
            .count();
        let rows = group[..len]
            .iter()
            .map(|s| Ok((s.raw_id, raw_row(s, &mapper, &mut keys)?)))
            .collect::<Result<Vec<_>, RunError>>()?;
        let at = BatchOrigin {
            run_id: ctx.run_id,
            source: &spec.name,
            file_hash: &group[0].file_hash,
            origin: &group[0].origin,
        };
        let refs: Vec<(i64, &RawRow)> = rows.iter().map(|(id, r)| (*id, r)).collect();
        let mut rejects = Vec::new();
        let (ids, records) = normalise_rows(&ctx.settings.normaliser, &refs, &mut rejects);
        land_records(ctx, &at, &ids, &records, &previous_leads, summary)?;
        summary.count_rejects(&rejects);
        store.append_rejects(&at, &rejects)?;
        bar.inc(len as u64);
        start += len;
    }
    bar.finish_and_clear();
    Ok(())
}

/// A landed raw row as read again: its cells in document order (not serde_json's sorted
/// map: column order picks the main phone), header keys shared across rows.
fn raw_row(
    stored: &StoredRaw,
    mapper: &Mapper,
    keys: &mut BTreeMap<String, (Arc<str>, Option<Field>)>,
) -> Result<RawRow, RunError> {
    let OrderedObject(obj) = serde_json::from_str(&stored.values_json).map_err(|e| {
        RunError::Internal(format!(
            "raw_records row {} holds bad JSON: {e}",
            stored.raw_id
        ))
    })?;
    let cells = obj
        .into_iter()
        .map(|(k, v)| {
            let (key, field) = keys
                .entry(k.clone())
                .or_insert_with(|| (Arc::from(k.as_str()), mapper.field(&k)))
                .clone();
            Cell {
                key,
                field,
                value: match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
            }
        })
        .collect();
    Ok(RawRow {
        source_row: stored.source_row,
        cells,
        problem: None,
    })
}

/// Lands clean records (keeping earlier lead ids) and counts them.
fn land_records(
    ctx: &RunContext,
    at: &BatchOrigin,
    ids: &[i64],
    records: &[CleanRecord],
    previous_leads: &HashMap<i64, i64>,
    summary: &mut SourceSummary,
) -> Result<(), RunError> {
    for rec in records {
        summary.phones_valid += rec.phone_e164.is_some() as u64;
        summary.emails_valid += rec.email.is_some() as u64;
    }
    summary.rows_accepted += records.len() as u64;
    let leads: Vec<Option<i64>> = ids
        .iter()
        .map(|id| previous_leads.get(id).copied())
        .collect();
    ctx.store.append_records(at, ids, &leads, records)?;
    Ok(())
}
