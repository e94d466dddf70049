//! `leadpipe deals import` and `leadpipe spend import`: what customers bought and what
//! acquiring them cost, loaded beside the leads. A file streams through in slices (memory
//! stays bounded however many rows it has); every row is a deal or a reject naming its
//! column; a file whose bytes were loaded before changes nothing.

use crate::consent_commands::{in_transaction, CommandError};
use crate::normalise::Normaliser;
use crate::outcomes::{nothing_usable, RowReject};
use crate::sources::csv::TextLayout;
use crate::sources::{open_table, SourceKind, SourceSpec};
use crate::store::analysis::deals::DealFileKind;
use crate::store::Store;
use leadpipe_core::deals::spend::{read_spend, SpendColumns};
use leadpipe_core::deals::{Deal, DealColumns, DealReader, DealReject};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Deals landed per INSERT: bounds the memory an import holds (a few hundred bytes a deal).
const SLICE: usize = 200_000;

/// How a deals or spend file is read.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Column names for a file without a header row.
    pub header: Option<Vec<String>>,
    /// `;`, `,`, `tab`, `|`, or `whitespace` (columns aligned with spaces).
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
    pub sheet: Option<String>,
    /// `HEADER=FIELD` overrides of the header mapping.
    pub columns: Vec<String>,
    /// Currency of amounts that name none.
    pub currency: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableImport {
    pub file: String,
    pub rows_read: u64,
    pub loaded: u64,
    /// Loaded deals by status (deals files) or spend by source (spend files).
    pub by_kind: BTreeMap<String, u64>,
    pub rows_rejected: u64,
    /// Rows of earlier files this one re-exported (same deal number): they no longer
    /// count (`deals_current`).
    pub earlier_rows_replaced: u64,
    /// The first rejects (all are in `deal_rejects`).
    pub rejects: Vec<RowReject>,
    /// The same bytes were loaded before (from this path): nothing changed.
    pub already_loaded_from: Option<String>,
    pub header: Vec<String>,
    /// What each header was read as.
    pub mapping: Vec<(String, Option<String>)>,
}

/// Rejects listed in the summary; the rest are in the base.
const REJECTS_SHOWN: usize = 50;

fn spec(path: &Path, options: &TableOptions) -> Result<(SourceSpec, TextLayout), CommandError> {
    let kind = SourceKind::from_path(path).unwrap_or(SourceKind::Csv);
    let (delimiter, whitespace) = match options.delimiter.as_deref() {
        None => (None, false),
        Some("whitespace" | "space" | "spaces") => (None, true),
        Some("tab" | "\\t") => (Some(b'\t'), false),
        Some(d) if d.len() == 1 => (Some(d.as_bytes()[0]), false),
        Some(d) => {
            return Err(CommandError::BadInput(format!(
                "--delimiter {d:?}: give one character (; , |), tab or whitespace"
            )))
        }
    };
    let spec = SourceSpec {
        name: path.display().to_string(),
        kind,
        path: PathBuf::from(path),
        origin: crate::record::Origin::Purchased,
        encoding: options.encoding.clone(),
        delimiter,
        sheet: options.sheet.clone(),
        columns: BTreeMap::new(),
        html: None,
        fetch: None,
    };
    let layout = TextLayout {
        header: options.header.clone(),
        whitespace,
    };
    Ok((spec, layout))
}

fn reject_row(r: &DealReject) -> RowReject {
    RowReject {
        row: r.source_row,
        field: r.field.clone(),
        value: r.value.clone(),
        reason: r.reason.clone(),
    }
}

/// Loads a deals file (see the module doc).
pub fn import_deals(
    store: &Store,
    path: &Path,
    options: &TableOptions,
    normaliser: &Normaliser,
    actor: &str,
) -> Result<TableImport, CommandError> {
    let (spec, layout) = spec(path, options)?;
    let opened = open_table(&spec, &layout)?;
    let columns = DealColumns::map(&opened.headers, &options.columns)
        .map_err(|e| CommandError::BadInput(format!("{}: {e}", path.display())))?;
    let mut out = TableImport {
        file: path.display().to_string(),
        header: opened.headers.clone(),
        mapping: opened
            .headers
            .iter()
            .zip(&columns.fields)
            .map(|(h, f)| (h.clone(), f.map(|f| format!("{f:?}"))))
            .collect(),
        ..TableImport::default()
    };
    if let Some(before) = store.deal_file_loaded(DealFileKind::Deals, &opened.content_hash)? {
        out.already_loaded_from = Some(before);
        return Ok(out);
    }
    let reader = DealReader {
        columns: &columns,
        normaliser,
        currency: &options.currency,
    };
    in_transaction(store, |store| {
        let file_id = store.begin_deal_file(
            DealFileKind::Deals,
            &path.display().to_string(),
            &opened.content_hash,
            actor,
        )?;
        load_deals(store, file_id, opened.rows, &reader, path, &mut out)?;
        if out.loaded == 0 {
            return Err(nothing_usable(path, "deal", &out.rejects));
        }
        out.earlier_rows_replaced = store.supersede_earlier_deals(file_id)?;
        store.finish_deal_file(file_id, out.rows_read, out.loaded, out.rows_rejected)?;
        Ok(())
    })?;
    Ok(out)
}

/// Rows read before they are parsed together, on every core.
const CHUNK: usize = 32_768;

/// Reads every row into deals or rejects and lands them a slice at a time. Rows are
/// parsed a chunk at a time on every core (phones and amounts are most of the cost),
/// in file order.
fn load_deals(
    store: &Store,
    file_id: i64,
    rows: impl Iterator<Item = crate::record::RawRow> + Send,
    reader: &DealReader,
    path: &Path,
    out: &mut TableImport,
) -> Result<(), CommandError> {
    let (mut deals, mut rejects) = (Vec::with_capacity(SLICE), Vec::new());
    // Three stages at once: the file is read (and decoded) on a thread of its own, chunks
    // are parsed on every core by another, and this thread lands what was parsed (DuckDB
    // compressing the columns is a fifth of the work; it no longer holds the parsing up).
    let (send, chunks) = std::sync::mpsc::sync_channel::<Vec<crate::record::RawRow>>(2);
    let (send_parsed, parsed) =
        std::sync::mpsc::sync_channel::<Result<ParsedChunk, CommandError>>(2);
    std::thread::scope(|scope| -> Result<(), CommandError> {
        scope.spawn(move || {
            let mut rows = rows;
            loop {
                let chunk: Vec<crate::record::RawRow> = rows.by_ref().take(CHUNK).collect();
                if chunk.is_empty() || send.send(chunk).is_err() {
                    break;
                }
            }
        });
        scope.spawn(move || {
            for chunk in chunks {
                let result = parse_chunk(&chunk, reader, path);
                let failed = result.is_err();
                if send_parsed.send(result).is_err() || failed {
                    break;
                }
            }
        });
        for chunk in parsed {
            let (rows, results) = chunk?;
            out.rows_read += rows;
            for result in results {
                match result {
                    Ok(deal) => {
                        *out.by_kind.entry(deal.status.as_str().into()).or_default() += 1;
                        deals.push(deal);
                    }
                    Err(reject) => rejects.push(reject),
                }
            }
            if deals.len() >= SLICE {
                out.loaded += deals.len() as u64;
                store.land_deals(file_id, &deals)?;
                deals.clear();
            }
            if rejects.len() >= SLICE {
                flush_rejects(store, file_id, &mut rejects, out)?;
            }
        }
        Ok(())
    })?;
    out.loaded += deals.len() as u64;
    store.land_deals(file_id, &deals)?;
    flush_rejects(store, file_id, &mut rejects, out)?;
    Ok(())
}

/// A chunk's row count and what each row gave.
type ParsedChunk = (u64, Vec<Result<Deal, DealReject>>);

/// Parses a chunk of rows on every core; a row the reader could not read at all (not a
/// bad value: a broken file) stops the import.
fn parse_chunk(
    chunk: &[crate::record::RawRow],
    reader: &DealReader,
    path: &Path,
) -> Result<ParsedChunk, CommandError> {
    use rayon::prelude::*;
    if let Some(row) = chunk.iter().find(|r| {
        r.problem
            .as_ref()
            .is_some_and(|p| p.code == crate::sources::READ_FAILED)
    }) {
        return Err(CommandError::BadInput(format!(
            "{}: row {}: {}; nothing was loaded",
            path.display(),
            row.source_row,
            row.problem
                .as_ref()
                .map(|p| p.reason.as_str())
                .unwrap_or_default()
        )));
    }
    Ok((
        chunk.len() as u64,
        chunk.par_iter().map(|row| reader.read(row)).collect(),
    ))
}

fn flush_rejects(
    store: &Store,
    file_id: i64,
    rejects: &mut Vec<DealReject>,
    out: &mut TableImport,
) -> Result<(), CommandError> {
    out.rows_rejected += rejects.len() as u64;
    let room = REJECTS_SHOWN.saturating_sub(out.rejects.len());
    out.rejects
        .extend(rejects.iter().take(room).map(reject_row));
    store.land_deal_rejects(file_id, rejects)?;
    rejects.clear();
    Ok(())
}

/// Loads a spend file: per row a source, a period and an amount.
pub fn import_spend(
    store: &Store,
    path: &Path,
    options: &TableOptions,
    normaliser: &Normaliser,
    actor: &str,
) -> Result<TableImport, CommandError> {
    let (spec, layout) = spec(path, options)?;
    let opened = open_table(&spec, &layout)?;
    let columns = SpendColumns::map(&opened.headers)
        .map_err(|e| CommandError::BadInput(format!("{}: {e}", path.display())))?;
    let mut out = TableImport {
        file: path.display().to_string(),
        header: opened.headers.clone(),
        ..TableImport::default()
    };
    if let Some(before) = store.deal_file_loaded(DealFileKind::Spend, &opened.content_hash)? {
        out.already_loaded_from = Some(before);
        return Ok(out);
    }
    let (mut rows, mut rejects) = (Vec::new(), Vec::new());
    for row in opened.rows {
        out.rows_read += 1;
        match read_spend(&columns, &row, normaliser.naive_offset, &options.currency) {
            Ok(s) => {
                *out.by_kind.entry(s.source.clone()).or_default() += 1;
                rows.push(s);
            }
            Err((field, reason)) => rejects.push(DealReject {
                source_row: row.source_row,
                field,
                value: None,
                reason,
            }),
        }
        if rows.len() + rejects.len() > 1_000_000 {
            return Err(CommandError::BadInput(format!(
                "{}: over a million spend rows; spend is one row per source and period",
                path.display()
            )));
        }
    }
    out.loaded = rows.len() as u64;
    if rows.is_empty() {
        let first: Vec<RowReject> = rejects.first().map(reject_row).into_iter().collect();
        return Err(nothing_usable(path, "spend", &first));
    }
    in_transaction(store, |store| {
        let file_id = store.begin_deal_file(
            DealFileKind::Spend,
            &path.display().to_string(),
            &opened.content_hash,
            actor,
        )?;
        store.land_spend(file_id, &rows)?;
        flush_rejects(store, file_id, &mut rejects, &mut out)?;
        store.finish_deal_file(file_id, out.rows_read, out.loaded, out.rows_rejected)?;
        Ok(())
    })?;
    Ok(out)
}
