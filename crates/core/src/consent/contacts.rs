//! Contact lists: do-not-call registers, opt-out exports, complaint lists and withdrawal
//! files. Often one column of numbers with no header, sometimes a sheet with Телефон,
//! E-mail and a date. Every row comes back, with what was found in it or why nothing was.

use crate::normalise::email::{normalise_email, split_emails};
use crate::normalise::Normaliser;
use crate::sources::csv::RecordReader;
use crate::sources::headers::{Field, Mapper};
use crate::sources::{
    text, xlsx, Input, SourceError, SourceKind, MAX_FIELD_BYTES, MAX_RECORD_BYTES,
    MAX_RECORD_FIELDS,
};
use chrono::{DateTime, Utc};
use std::path::Path;

/// One data row of a contact list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactRow {
    /// 1-based data row (after the header, when there is one).
    pub row: u64,
    /// Valid numbers, E.164.
    pub phones: Vec<String>,
    /// Valid addresses, normalised.
    pub emails: Vec<String>,
    /// A date column (withdrawal or listing time), when the file has one. A date without a
    /// time is taken as the end of that day (the safe side for a withdrawal).
    pub at: Option<DateTime<Utc>>,
    /// Why the row gave nothing usable (`None` when it gave a contact).
    pub problem: Option<String>,
    /// The row's other non-empty cells (an outcome, a comment), in file order.
    pub other: Vec<String>,
}

/// A contact list read whole.
#[derive(Debug, Clone)]
pub struct ContactList {
    pub content_hash: String,
    pub had_header: bool,
    pub rows: Vec<ContactRow>,
}

/// Reads a CSV/TXT (any encoding and delimiter) or XLSX contact list. The file is read as
/// a stream (a regular file only; a device or FIFO is refused), each row within the
/// readers' caps; what comes back is the parsed rows.
pub fn read_contact_list(path: &Path, normaliser: &Normaliser) -> Result<ContactList, SourceError> {
    let (grid, content_hash) = read_grid(path)?;
    Ok(parse_grid(grid, normaliser, content_hash))
}

/// The cells of a contact list, row by row (a row that cannot be used whole is one cell
/// starting with NUL, naming why), and the file's content hash: what
/// [`read_contact_list`] parses, for readers that take some columns aside first.
pub fn read_grid(path: &Path) -> Result<(Vec<Vec<String>>, String), SourceError> {
    let input = Input::open(path)?;
    let (grid, content_hash) = if SourceKind::from_path(path) == Some(SourceKind::Xlsx) {
        (xlsx::read_grid(path, &input)?, input.hash(path)?)
    } else {
        let scan = text::scan(path, &input)?;
        text::check_not_binary(path, &scan.head, "CSV")?;
        let decoded = text::decode_streaming(path, &input, &scan, None)?;
        let delimiter = crate::sources::csv::detect_delimiter(&decoded.head);
        let mut reader = RecordReader::new(delimiter, decoded.reader);
        let mut grid = Vec::new();
        let mut i = 0;
        loop {
            i += 1;
            // A row that cannot be used whole keeps its place (row numbers stay true) and
            // becomes a problem row.
            match reader.read() {
                Ok(false) => break,
                Ok(true) => {
                    if let Some((bytes, fields)) = reader.overflow {
                        grid.push(vec![format!(
                            "\u{0}line {i} is {bytes} bytes long in {fields} fields (limit {MAX_RECORD_BYTES} bytes, {MAX_RECORD_FIELDS} fields)"
                        )]);
                    } else if let Some((n, len)) = reader
                        .lengths()
                        .enumerate()
                        .find(|&(_, len)| len > MAX_FIELD_BYTES as u64)
                    {
                        grid.push(vec![format!(
                            "\u{0}line {i}: field {} is {len} bytes long (limit {MAX_FIELD_BYTES} bytes)",
                            n + 1
                        )]);
                    } else if reader.values().any(|v| v.contains('\0')) {
                        grid.push(vec![format!(
                            "\u{0}line {i} holds a NUL byte: binary data or a damaged file"
                        )]);
                    } else {
                        grid.push(reader.values().map(|v| v.into_owned()).collect());
                    }
                }
                // A list read only in part must not be recorded as loaded (its hash
                // would make the whole file "already loaded"): the command fails.
                Err(e) => return Err(crate::sources::file_error(path, e)),
            }
        }
        (grid, scan.content_hash)
    };
    Ok((grid, content_hash))
}

/// Turns rows of cells into contacts. The first non-blank row is a header when nothing in
/// it is a phone or an address and it names a known column (Телефон, E-mail, Дата …); its
/// phone, e-mail and date columns are then used.
pub fn parse_grid(
    grid: Vec<Vec<String>>,
    normaliser: &Normaliser,
    content_hash: String,
) -> ContactList {
    let mut iter = grid
        .into_iter()
        .skip_while(|r| r.iter().all(|c| c.trim().is_empty()))
        .peekable();
    let header = iter
        .peek()
        .and_then(|first| header_fields(first, normaliser));
    let had_header = header.is_some();
    if had_header {
        iter.next();
    }
    // The header's columns are used when it has a phone or e-mail column; else every cell
    // is searched for contacts.
    let columns = header.filter(|mapped| {
        mapped
            .iter()
            .any(|f| matches!(f, Some(Field::Phone | Field::Email)))
    });
    let rows = iter
        .enumerate()
        .map(|(i, cells)| parse_row(i as u64 + 1, &cells, columns.as_deref(), normaliser))
        .collect();
    ContactList {
        content_hash,
        had_header,
        rows,
    }
}

/// The field of each column when the first row is a header, `None` when it is data.
fn header_fields(first: &[String], normaliser: &Normaliser) -> Option<Vec<Option<Field>>> {
    let mapper = Mapper::default();
    let any_contact = first.iter().any(|c| {
        let (p, e, _) = contacts_in(c, normaliser);
        !p.is_empty() || !e.is_empty()
    });
    // A header names at least one known column; anything else is a data row (and, with
    // no contact in it, a rejected one: never dropped silently).
    let mapped: Vec<Option<Field>> = first.iter().map(|h| mapper.field(h)).collect();
    (!any_contact && mapped.iter().any(Option::is_some)).then_some(mapped)
}

/// One data row: its contacts, its date, its other cells, or why it gave nothing.
/// `columns` are the header's fields; without them every cell is searched for contacts.
fn parse_row(
    row: u64,
    cells: &[String],
    columns: Option<&[Option<Field>]>,
    normaliser: &Normaliser,
) -> ContactRow {
    let mut row = ContactRow {
        row,
        ..ContactRow::default()
    };
    if cells.iter().all(|c| c.trim().is_empty()) {
        row.problem = Some("empty row".into());
        return row;
    }
    if let Some(msg) = cells.first().and_then(|c| c.strip_prefix('\u{0}')) {
        row.problem = Some(msg.to_string());
        return row;
    }
    let mut why = Vec::new();
    for (c, cell) in cells.iter().enumerate() {
        let field = columns.and_then(|m| m.get(c).copied().flatten());
        let use_for_contacts = match columns {
            Some(_) => matches!(field, Some(Field::Phone | Field::Email)),
            None => true,
        };
        if matches!(field, Some(Field::ConsentAt | Field::CreatedAt)) || date_like(cell) {
            if let Some(at) =
                crate::normalise::datetime::parse_timestamp_late(cell, normaliser.naive_offset)
            {
                row.at.get_or_insert(at);
                continue;
            }
        }
        if cell.trim().is_empty() {
            continue;
        }
        if !use_for_contacts {
            row.other.push(cell.trim().to_string());
            continue;
        }
        let (phones, emails, problems) = contacts_in(cell, normaliser);
        if phones.is_empty() && emails.is_empty() {
            row.other.push(cell.trim().to_string());
        }
        row.phones.extend(phones);
        row.emails.extend(emails);
        why.extend(problems);
    }
    row.phones.dedup();
    row.emails.dedup();
    if row.phones.is_empty() && row.emails.is_empty() {
        row.problem = Some(if why.is_empty() {
            "no phone number or e-mail address in this row".into()
        } else {
            format!("no valid phone or e-mail: {}", why.join("; "))
        });
    }
    row
}

fn date_like(cell: &str) -> bool {
    let s = cell.trim();
    // 2026-11-20, 20.11.2026: a date, not a number. Ten digits alone are a phone.
    s.len() >= 8
        && s.chars()
            .filter(|c| matches!(c, '-' | '.' | '/' | ':'))
            .count()
            >= 2
        && !s.starts_with('+')
        && !s.contains('@')
        && s.chars().filter(char::is_ascii_digit).count() <= 14
        && s.split(['-', '.', '/', ' ', 'T', ':'])
            .next()
            .is_some_and(|p| p.len() == 4 || p.len() <= 2)
}

/// Valid phones and e-mails in one cell, and what was wrong with the rest.
fn contacts_in(cell: &str, normaliser: &Normaliser) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut phones = Vec::new();
    let mut emails = Vec::new();
    let mut problems = Vec::new();
    if cell.contains('@') {
        for part in split_emails(cell) {
            match normalise_email(part) {
                Ok(info) => emails.push(info.email),
                Err(e) => problems.push(e.to_string()),
            }
        }
        return (phones, emails, problems);
    }
    if cell.chars().filter(char::is_ascii_digit).count() < 5 {
        if !cell.trim().is_empty() {
            problems.push(format!(
                "{:?} is neither a phone nor an e-mail",
                cell.trim()
            ));
        }
        return (phones, emails, problems);
    }
    for (part, result) in normaliser.phone.normalise_cell(cell) {
        match result {
            Ok(info) => match info.e164 {
                Some(e) => phones.push(e),
                None => problems.push(format!("{part:?} is not a valid number")),
            },
            Err(e) => problems.push(e.to_string()),
        }
    }
    (phones, emails, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn headerless_single_column_of_numbers() {
        let list = parse_grid(
            grid(&[&["8 (916) 123-45-67"], &["+7 903 111 22 33"], &["12"]]),
            &Normaliser::default(),
            String::new(),
        );
        assert!(!list.had_header);
        assert_eq!(list.rows[0].phones, vec!["+79161234567"]);
        assert_eq!(list.rows[1].phones, vec!["+79031112233"]);
        assert_eq!(list.rows[2].row, 3);
        assert!(list.rows[2].problem.as_deref().unwrap().contains("\"12\""));
    }

    #[test]
    fn a_first_line_that_is_no_header_is_a_rejected_row() {
        let list = parse_grid(
            grid(&[&["12345"], &["89161234567"]]),
            &Normaliser::default(),
            String::new(),
        );
        assert!(!list.had_header);
        assert_eq!(list.rows.len(), 2);
        assert!(list.rows[0].problem.is_some());
    }

    #[test]
    fn header_picks_columns_and_dates() {
        let list = parse_grid(
            grid(&[
                &["Телефон", "E-mail", "Дата отказа", "Комментарий"],
                &[
                    "89161234567",
                    "IVANOV@MAIL.RU",
                    "20.11.2026 10:00",
                    "звонить 89031112233",
                ],
                &["", "", "", "пусто"],
            ]),
            &Normaliser::default(),
            String::new(),
        );
        assert!(list.had_header);
        let r = &list.rows[0];
        assert_eq!(r.phones, vec!["+79161234567"]);
        assert_eq!(r.emails, vec!["ivanov@mail.ru"]);
        assert_eq!(
            r.at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-11-20T07:00:00+00:00")
        );
        assert_eq!(list.rows[1].row, 2);
        assert!(list.rows[1].problem.is_some());
    }

    proptest! {
        /// Whatever the cells, every row comes back exactly once, in order, with either a
        /// contact or a reason.
        #[test]
        fn every_row_accounted_for(cells in proptest::collection::vec(proptest::collection::vec("\\PC{0,16}|\\+7 9[0-9]{2} [0-9]{7}", 1..3), 1..12)) {
            let n_nonblank_lead = cells.iter().position(|r| !r.iter().all(|c| c.trim().is_empty()));
            let list = parse_grid(cells.clone(), &Normaliser::default(), String::new());
            let Some(start) = n_nonblank_lead else { prop_assert!(list.rows.is_empty()); return Ok(()); };
            let expected = cells.len() - start - usize::from(list.had_header);
            prop_assert_eq!(list.rows.len(), expected);
            for (i, r) in list.rows.iter().enumerate() {
                prop_assert_eq!(r.row, i as u64 + 1);
                prop_assert!(r.problem.is_some() != (!r.phones.is_empty() || !r.emails.is_empty()));
            }
        }
    }
}
