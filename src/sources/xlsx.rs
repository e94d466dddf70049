//! XLSX via calamine: the first sheet or a named one; the first non-blank row is the header.

use super::headers::{unique_headers, Field, Mapper};
use super::{check_cells, OpenedSource, SourceError, SourceSpec};
use crate::record::{Cell, RawRow};
use calamine::{Data, Range, Reader, Xlsx};
use std::io::Cursor;
use std::sync::Arc;

/// How many non-blank rows are searched for the header row.
const HEADER_SEARCH_ROWS: usize = 10;

pub fn open(
    spec: &SourceSpec,
    bytes: Vec<u8>,
    mapper: &Mapper,
    content_hash: String,
) -> Result<OpenedSource, SourceError> {
    let xlsx_err = |e: &dyn std::fmt::Display| SourceError::Xlsx {
        path: spec.path.clone(),
        message: e.to_string(),
    };
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| xlsx_err(&e))?;
    let names = book.sheet_names();
    let sheet = match &spec.sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.trim() == wanted.trim())
            .cloned()
            .ok_or_else(|| SourceError::SheetNotFound {
                path: spec.path.clone(),
                sheet: wanted.clone(),
                available: names.join(", "),
            })?,
        None => names.first().cloned().ok_or_else(|| SourceError::Empty {
            path: spec.path.clone(),
        })?,
    };
    let range = book.worksheet_range(&sheet).map_err(|e| xlsx_err(&e))?;
    // The header is the first row (within the first few) that names a known field:
    // exports often carry a title line or two above it.
    let row_texts = |r: usize| -> Vec<String> {
        (0..range.width())
            .map(|c| cell_text(range.get((r, c))).trim().to_string())
            .collect()
    };
    let candidates: Vec<usize> = (0..range.height())
        .filter(|&r| !row_is_blank(&range, r))
        .take(HEADER_SEARCH_ROWS)
        .collect();
    let Some(&first_non_blank) = candidates.first() else {
        return Err(SourceError::Empty {
            path: spec.path.clone(),
        });
    };
    // Title lines have one filled cell; the header is the first row with more, or the
    // first that maps (a one-column sheet). Only one-cell rows are ever passed over.
    let filled = |r: usize| row_texts(r).iter().filter(|c| !c.is_empty()).count();
    let header_index = candidates
        .iter()
        .copied()
        .find(|&r| filled(r) >= 2 || mapper.map_headers(&row_texts(r)).is_ok())
        .unwrap_or(first_non_blank);
    let headers = row_texts(header_index);
    let map = mapper
        .map_headers(&headers)
        .map_err(|source| SourceError::Mapping {
            path: spec.path.clone(),
            source,
        })?;
    let rows = XlsxRows {
        keys: unique_headers(&headers),
        fields: map.columns,
        range,
        header_index,
        next: header_index + 1,
    };
    Ok(OpenedSource {
        content_hash,
        headers,
        encoding: None,
        delimiter: None,
        rows: Box::new(rows),
    })
}

fn row_is_blank(range: &Range<Data>, r: usize) -> bool {
    (0..range.width()).all(|c| cell_text(range.get((r, c))).trim().is_empty())
}

/// Cell → text as a person would read it. Whole numbers lose the `.0` Excel gives them
/// (phones are often stored as numbers: 79161234567), dates become ISO 8601.
pub fn cell_text(cell: Option<&Data>) -> String {
    match cell {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.clone(),
        Some(Data::Int(i)) => i.to_string(),
        Some(Data::Float(f)) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        Some(Data::Bool(b)) => b.to_string(),
        Some(Data::DateTime(d)) => match d.as_datetime() {
            Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.date().to_string(),
            Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
            None => d.as_f64().to_string(),
        },
        Some(Data::DateTimeIso(s)) | Some(Data::DurationIso(s)) => s.clone(),
        Some(Data::Error(e)) => format!("#{e:?}"),
    }
}

struct XlsxRows {
    range: Range<Data>,
    keys: Vec<Arc<str>>,
    fields: Vec<Option<Field>>,
    header_index: usize,
    next: usize,
}

impl Iterator for XlsxRows {
    type Item = RawRow;

    fn next(&mut self) -> Option<RawRow> {
        while self.next < self.range.height() {
            let r = self.next;
            self.next += 1;
            if row_is_blank(&self.range, r) {
                continue;
            }
            let cells = self
                .keys
                .iter()
                .zip(&self.fields)
                .enumerate()
                .map(|(c, (key, field))| Cell {
                    key: key.clone(),
                    field: *field,
                    value: cell_text(self.range.get((r, c))),
                })
                .collect();
            let mut row = RawRow {
                source_row: (r - self.header_index) as u64,
                cells,
                problem: None,
            };
            check_cells(&mut row, None);
            return Some(row);
        }
        None
    }
}

/// Every row of the first sheet as text, blank rows included (row numbers stay true).
/// For simple lists (suppression and withdrawal files) that need no header mapping.
pub fn read_grid(path: &std::path::Path, bytes: Vec<u8>) -> Result<Vec<Vec<String>>, SourceError> {
    let xlsx_err = |e: &dyn std::fmt::Display| SourceError::Xlsx {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| xlsx_err(&e))?;
    let Some(sheet) = book.sheet_names().first().cloned() else {
        return Err(SourceError::Empty {
            path: path.to_path_buf(),
        });
    };
    let range = book.worksheet_range(&sheet).map_err(|e| xlsx_err(&e))?;
    Ok((0..range.height())
        .map(|r| {
            (0..range.width())
                .map(|c| cell_text(range.get((r, c))))
                .collect()
        })
        .collect())
}
