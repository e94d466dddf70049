//! XLSX via calamine: the first sheet or a named one; the first non-blank row is the header.

use super::headers::{unique_headers, Field, Mapper};
use super::{check_cells, Input, OpenedSource, ReadSeek, SourceError, SourceSpec};
use crate::record::{Cell, RawRow};
use calamine::{Data, DataRef, Reader, Xlsx};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// How many non-blank rows are searched for the header row.
const HEADER_SEARCH_ROWS: usize = 10;

/// Largest inflated XML part (a sheet, the shared strings) read from a workbook. calamine
/// holds a sheet's cells and all shared strings in memory (about twice the XML), so this
/// is what bounds the memory an XLSX costs: 256 MiB of sheet XML is some 600,000 rows of
/// a ten-column list. Past it the file is a zip bomb (a few MB that inflate to
/// gigabytes) or a list to be saved as CSV, which is read as a stream. zip checks every
/// part against the size its directory declares, so a part cannot inflate past this
/// after passing the check.
pub const MAX_XLSX_PART_BYTES: u64 = 256 << 20;

/// Refuses a workbook with an XML part that inflates past [`MAX_XLSX_PART_BYTES`], or
/// whose shared strings declare more strings than they could hold (calamine reserves
/// room for the declared count up front: a tiny file could ask for terabytes).
fn check_parts(path: &Path, input: &Input) -> Result<(), SourceError> {
    let xlsx_err = |e: &dyn std::fmt::Display| SourceError::Xlsx {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let reader = input.seekable().map_err(|e| super::file_error(path, e))?;
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| xlsx_err(&e))?;
    let mut shared_strings = None;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(|e| xlsx_err(&e))?;
        let name = part.name().map_err(|e| xlsx_err(&e))?.to_string();
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with(".xml") || lower.ends_with(".rels")) {
            continue; // pictures and the like: never inflated
        }
        if part.size() > MAX_XLSX_PART_BYTES {
            let sheet = lower.starts_with("xl/worksheets/");
            return Err(SourceError::XlsxTooLarge {
                path: path.to_path_buf(),
                part: if sheet { format!("sheet {name}") } else { name },
                size_mb: part.size() >> 20,
                limit_mb: MAX_XLSX_PART_BYTES >> 20,
            });
        }
        if lower.ends_with("sharedstrings.xml") {
            shared_strings = Some((i, part.size()));
        }
    }
    if let Some((i, size)) = shared_strings {
        let mut head = Vec::new();
        zip.by_index(i)
            .map_err(|e| xlsx_err(&e))?
            .take(4096)
            .read_to_end(&mut head)
            .map_err(|e| xlsx_err(&e))?;
        let head = String::from_utf8_lossy(&head);
        let declared = head
            .split("uniqueCount=")
            .nth(1)
            .and_then(|rest| {
                rest.trim_start_matches(['"', '\''])
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .map(str::to_string)
            })
            .map(|digits| digits.parse::<u64>().unwrap_or(u64::MAX));
        // Each string takes at least `<si/>`, 5 bytes.
        if let Some(n) = declared.filter(|&n| n > size / 5 + 1) {
            return Err(SourceError::Xlsx {
                path: path.to_path_buf(),
                message: format!(
                    "its shared strings declare {n} strings in {size} bytes, more than they can hold: a damaged or hostile file"
                ),
            });
        }
    }
    Ok(())
}

/// Opens a workbook after [`check_parts`].
fn workbook(path: &Path, input: &Input) -> Result<Xlsx<Box<dyn ReadSeek>>, SourceError> {
    check_parts(path, input)?;
    let reader = input.seekable().map_err(|e| super::file_error(path, e))?;
    Xlsx::new(reader).map_err(|e| SourceError::Xlsx {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// A row number and the row's non-empty cells by column.
type GridRow = (usize, Vec<(usize, Data)>);

/// A sheet's non-empty cells, by row. Unlike calamine's `Range` (every cell of the box
/// from the first used cell to the last, allocated up front: two cells at A1 and
/// XFD1048576 made it 17 billion), only cells that exist take memory.
struct Grid {
    /// Rows in order; positions relative to the first used row and column.
    rows: Vec<GridRow>,
    width: usize,
}

impl Grid {
    fn read(
        path: &Path,
        book: &mut Xlsx<Box<dyn ReadSeek>>,
        sheet: &str,
    ) -> Result<Grid, SourceError> {
        let xlsx_err = |e: &dyn std::fmt::Display| SourceError::Xlsx {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut cells: Vec<((u32, u32), Data)> = Vec::new();
        match book.worksheet_cells_reader(sheet) {
            Ok(mut reader) => {
                while let Some(cell) = reader.next_cell().map_err(|e| xlsx_err(&e))? {
                    if *cell.get_value() != DataRef::Empty {
                        cells.push((cell.get_position(), cell.get_value().clone().into()));
                    }
                }
            }
            // A chart sheet or the like: no cells (as calamine's `worksheet_range`).
            Err(calamine::XlsxError::NotAWorksheet(_)) => {}
            Err(e) => return Err(xlsx_err(&e)),
        }
        // Later cells win at the same place, as in calamine's `Range`.
        cells.sort_by_key(|(pos, _)| *pos);
        cells.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        let row_start = cells.iter().map(|c| c.0 .0).min().unwrap_or(0);
        // Only columns that hold a cell somewhere: one stray cell in column XFD must not
        // make every row 16,384 cells wide (3,000 rows took 4.3 GB that way). A column
        // with nothing in it, not even a header, carries nothing to keep.
        let mut used: Vec<u32> = cells.iter().map(|c| c.0 .1).collect();
        used.sort_unstable();
        used.dedup();
        let width = used.len();
        let mut rows: Vec<GridRow> = Vec::new();
        for ((r, c), v) in cells {
            let c = used.binary_search(&c).unwrap_or_default();
            let r = (r - row_start) as usize;
            match rows.last_mut() {
                Some((last, row)) if *last == r => row.push((c, v)),
                _ => rows.push((r, vec![(c, v)])),
            }
        }
        Ok(Grid { rows, width })
    }

    /// Text of each column of the row at `index` (in `rows`).
    fn texts(&self, index: usize) -> Vec<String> {
        let mut out = vec![String::new(); self.width];
        for (c, v) in &self.rows[index].1 {
            out[*c] = cell_text(Some(v));
        }
        out
    }
}

pub fn open(spec: &SourceSpec, input: Input, mapper: &Mapper) -> Result<OpenedSource, SourceError> {
    let content_hash = input.hash(&spec.path)?;
    let mut book = workbook(&spec.path, &input)?;
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
    let grid = Grid::read(&spec.path, &mut book, &sheet)?;
    let not_first = (names.first() != Some(&sheet)).then(|| sheet.clone());
    drop(book);
    // The header is the first row (within the first few) that names a known field:
    // exports often carry a title line or two above it.
    let row_texts = |i: usize| -> Vec<String> {
        grid.texts(i)
            .into_iter()
            .map(|t| t.trim().to_string())
            .collect()
    };
    let candidates: Vec<usize> = (0..grid.rows.len())
        .filter(|&i| !row_is_blank(&grid, i))
        .take(HEADER_SEARCH_ROWS)
        .collect();
    let Some(&first_non_blank) = candidates.first() else {
        return Err(SourceError::Empty {
            path: spec.path.clone(),
        });
    };
    // Title lines have one filled cell; the header is the first row with more, or the
    // first that maps (a one-column sheet). Only one-cell rows are ever passed over.
    let filled = |i: usize| row_texts(i).iter().filter(|c| !c.is_empty()).count();
    let header_at = candidates
        .iter()
        .copied()
        .find(|&i| filled(i) >= 2 || mapper.map_headers(&row_texts(i)).is_ok())
        .unwrap_or(first_non_blank);
    let headers = row_texts(header_at);
    let map = mapper
        .map_headers(&headers)
        .map_err(|source| SourceError::Mapping {
            path: spec.path.clone(),
            source,
        })?;
    let header_index = grid.rows[header_at].0;
    let rows = XlsxRows {
        keys: unique_headers(&headers),
        fields: map.columns,
        rows: grid.rows.into_iter().skip(header_at + 1),
        header_index,
    };
    Ok(OpenedSource {
        sheet: not_first,
        content_hash,
        headers,
        encoding: None,
        delimiter: None,
        rows: Box::new(rows),
    })
}

fn row_is_blank(grid: &Grid, index: usize) -> bool {
    cells_blank(&grid.rows[index].1)
}

fn cells_blank(cells: &[(usize, Data)]) -> bool {
    cells
        .iter()
        .all(|(_, v)| cell_text(Some(v)).trim().is_empty())
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
    rows: std::iter::Skip<std::vec::IntoIter<GridRow>>,
    keys: Vec<Arc<str>>,
    fields: Vec<Option<Field>>,
    header_index: usize,
}

impl Iterator for XlsxRows {
    type Item = RawRow;

    fn next(&mut self) -> Option<RawRow> {
        for (r, row_cells) in self.rows.by_ref() {
            if cells_blank(&row_cells) {
                continue;
            }
            let mut values = vec![String::new(); self.keys.len()];
            for (c, v) in &row_cells {
                if let Some(slot) = values.get_mut(*c) {
                    *slot = cell_text(Some(v));
                }
            }
            let cells = self
                .keys
                .iter()
                .zip(&self.fields)
                .zip(values)
                .map(|((key, field), value)| Cell {
                    key: key.clone(),
                    field: *field,
                    value,
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
pub fn read_grid(path: &Path, input: &Input) -> Result<Vec<Vec<String>>, SourceError> {
    let mut book = workbook(path, input)?;
    let Some(sheet) = book.sheet_names().first().cloned() else {
        return Err(SourceError::Empty {
            path: path.to_path_buf(),
        });
    };
    let grid = Grid::read(path, &mut book, &sheet)?;
    // Each row as long as its own last cell: a stray cell far to the right does not make
    // every row that wide.
    let height = grid.rows.last().map_or(0, |(r, _)| r + 1);
    let mut out = vec![Vec::new(); height];
    for (r, cells) in &grid.rows {
        let width = cells.last().map_or(0, |(c, _)| c + 1);
        out[*r] = vec![String::new(); width];
        for (c, v) in cells {
            let mut text = cell_text(Some(v));
            if text.len() > super::MAX_FIELD_BYTES {
                super::keep_start(&mut text);
            }
            out[*r][*c] = text;
        }
    }
    Ok(out)
}
