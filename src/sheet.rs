//! Tables written for spreadsheets and CRMs: XLSX with typed cells, and CSV in two
//! flavours. People open call lists and exports in Excel or LibreOffice, which guess a
//! type for every CSV cell: `+79161234567` becomes the number 79161234567 and `+10:00` a
//! time. So a CSV for people writes phones as `+7 916 123-45-67` (text to every
//! spreadsheet, still dialable) and times as `02.12.2026 09:00` in the base's zone; an
//! XLSX has real text and date-time cells, column widths, a frozen header and a filter.
//! A CSV for machines (dialers, CRMs) keeps E.164 and ISO times.

use crate::consent_commands::CommandError;
use crate::export::spreadsheet_safe;
use crate::normalise::phone::international_display;
use chrono::{DateTime, FixedOffset, Utc};
use std::io::Write;
use std::path::Path;

/// One cell, typed so each writer can show it the way its reader expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text from lead files: defused in CSV so a spreadsheet never runs it as a formula.
    Text(String),
    /// Text the program made itself (E.164, codes): written as it is.
    Raw(String),
    Int(i64),
    /// A moment; shown in the table's zone (people) or as UTC ISO 8601 (machines).
    Time(Option<DateTime<Utc>>),
    /// An E.164 number.
    Phone(String),
}

/// A column: its header and its width in characters (XLSX).
#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    pub width: f64,
}

impl Column {
    pub fn new(header: impl Into<String>, width: f64) -> Column {
        Column {
            header: header.into(),
            width,
        }
    }
}

/// A table for people or machines, with the zone its times are shown in.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub zone: FixedOffset,
}

/// How a CSV is written.
#[derive(Debug, Clone, Copy)]
pub struct CsvFormat {
    pub delimiter: u8,
    /// A UTF-8 byte-order mark, so Excel reads Cyrillic right.
    pub bom: bool,
    /// Cells shaped for a spreadsheet (phones and times as text it will not convert).
    pub for_people: bool,
}

impl CsvFormat {
    /// What Russian Excel opens with a double click: `;`, a BOM, phones and times as text.
    pub fn excel() -> CsvFormat {
        CsvFormat {
            delimiter: b';',
            bom: true,
            for_people: true,
        }
    }
}

/// `2026-12-02T06:00:00Z`: how machines get times.
pub fn iso_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn csv_text(cell: &Cell, zone: FixedOffset, format: &CsvFormat) -> String {
    match cell {
        Cell::Text(s) => spreadsheet_safe(s),
        Cell::Raw(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Time(None) => String::new(),
        Cell::Time(Some(t)) if format.for_people => {
            t.with_timezone(&zone).format("%d.%m.%Y %H:%M").to_string()
        }
        Cell::Time(Some(t)) => iso_utc(*t),
        Cell::Phone(p) if format.for_people => international_display(p).unwrap_or(p.clone()),
        Cell::Phone(p) => p.clone(),
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> CommandError {
    CommandError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Writes `table` as CSV.
pub fn write_csv(path: &Path, table: &Table, format: &CsvFormat) -> Result<(), CommandError> {
    let file = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
    let mut buf = std::io::BufWriter::new(file);
    if format.bom {
        buf.write_all("\u{feff}".as_bytes())
            .map_err(|e| io_error(path, e))?;
    }
    let mut w = csv::WriterBuilder::new()
        .delimiter(format.delimiter)
        .from_writer(buf);
    w.write_record(table.columns.iter().map(|c| c.header.as_str()))
        .map_err(|e| io_error(path, e))?;
    for row in &table.rows {
        w.write_record(row.iter().map(|c| csv_text(c, table.zone, format)))
            .map_err(|e| io_error(path, e))?;
    }
    w.flush().map_err(|e| io_error(path, e))?;
    Ok(())
}

/// Writes `table` as one XLSX sheet named `sheet`: bold frozen header with a filter,
/// column widths, numbers as numbers, times as date-time cells in the table's zone, and
/// phones and text as text (never formulas).
pub fn write_xlsx(path: &Path, sheet: &str, table: &Table) -> Result<(), CommandError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| io_error(path, e);
    let mut book = Workbook::new();
    // Rows go to a temporary file as they are written, not into memory: a 500k-lead export
    // would otherwise hold every cell until the save.
    let ws = book.add_worksheet_with_constant_memory();
    ws.set_name(sheet).map_err(err)?;
    let bold = Format::new().set_bold();
    let when = Format::new().set_num_format("dd.mm.yyyy hh:mm");
    for (c, col) in table.columns.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(0, c, &col.header, &bold)
            .map_err(err)?;
        ws.set_column_width(c, col.width).map_err(err)?;
    }
    for (i, cells) in table.rows.iter().enumerate() {
        let r = i as u32 + 1;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) | Cell::Raw(s) => ws.write_string(r, c, s).map(|_| ()),
                Cell::Int(n) => ws.write_number(r, c, *n as f64).map(|_| ()),
                Cell::Time(None) => Ok(()),
                Cell::Time(Some(t)) => {
                    let local = t.with_timezone(&table.zone).naive_local();
                    let cell =
                        ExcelDateTime::from_timestamp(local.and_utc().timestamp()).map_err(err)?;
                    ws.write_datetime_with_format(r, c, &cell, &when)
                        .map(|_| ())
                }
                Cell::Phone(p) => ws
                    .write_string(r, c, international_display(p).unwrap_or(p.clone()))
                    .map(|_| ()),
            }
            .map_err(err)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    let last_col = table.columns.len().saturating_sub(1) as u16;
    ws.autofilter(0, 0, table.rows.len() as u32, last_col)
        .map_err(err)?;
    book.save(path).map_err(err)?;
    Ok(())
}

/// Writes CSV or XLSX by the file's extension.
pub fn write(path: &Path, sheet: &str, table: &Table, csv: &CsvFormat) -> Result<(), CommandError> {
    if is_xlsx(path) {
        write_xlsx(path, sheet, table)
    } else {
        write_csv(path, table, csv)
    }
}

/// Whether `path` names an XLSX file.
pub fn is_xlsx(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
}

/// A zone as people read it in a header: `UTC+03:00`.
pub fn zone_label(zone: FixedOffset) -> String {
    format!("UTC{zone}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn people_get_phones_and_times_a_spreadsheet_keeps_as_text() {
        let moscow = FixedOffset::east_opt(3 * 3600).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 12, 2, 6, 0, 0).unwrap();
        let people = CsvFormat::excel();
        let machine = CsvFormat {
            for_people: false,
            ..people
        };
        let phone = Cell::Phone("+79161234567".into());
        assert_eq!(csv_text(&phone, moscow, &people), "+7 916 123-45-67");
        assert_eq!(csv_text(&phone, moscow, &machine), "+79161234567");
        let time = Cell::Time(Some(t));
        assert_eq!(csv_text(&time, moscow, &people), "02.12.2026 09:00");
        assert_eq!(csv_text(&time, moscow, &machine), "2026-12-02T06:00:00Z");
        assert_eq!(
            csv_text(&Cell::Text("=1+1".into()), moscow, &people),
            "'=1+1"
        );
        assert_eq!(zone_label(moscow), "UTC+03:00");
    }
}
