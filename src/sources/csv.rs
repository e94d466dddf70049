//! CSV of any real-world flavour: UTF-8 with or without BOM, CP1251, `;` `,` tab or `|`
//! (detected), quoted fields with newlines, ragged rows (landed raw and rejected).

use super::headers::{unique_headers, Field, Mapper};
use super::{check_cells, text, OpenedSource, SourceError, SourceSpec};
use crate::record::{Cell, RawRow, RowProblem};
use std::sync::Arc;

const CANDIDATE_DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];

pub fn open(
    spec: &SourceSpec,
    bytes: Vec<u8>,
    mapper: &Mapper,
    content_hash: String,
) -> Result<OpenedSource, SourceError> {
    text::check_not_binary(&spec.path, &bytes, "CSV")?;
    let decoded = text::decode_streaming(&spec.path, bytes, spec.encoding.as_deref())?;
    let delimiter = spec
        .delimiter
        .unwrap_or_else(|| detect_delimiter(&decoded.head));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(decoded.reader);

    let mut header_record = csv::StringRecord::new();
    let got_header = reader
        .read_record(&mut header_record)
        .map_err(|e| SourceError::Io {
            path: spec.path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
    if !got_header || header_record.iter().all(|h| h.trim().is_empty()) {
        return Err(SourceError::Empty {
            path: spec.path.clone(),
        });
    }
    let headers: Vec<String> = header_record.iter().map(|h| h.trim().to_string()).collect();
    let map = mapper
        .map_headers(&headers)
        .map_err(|source| SourceError::Mapping {
            path: spec.path.clone(),
            source,
        })?;
    let rows = CsvRows {
        reader,
        keys: unique_headers(&headers),
        fields: map.columns,
        row: 0,
        undecodable_in: decoded.had_errors.then_some(decoded.encoding.name()),
        record: csv::StringRecord::new(),
    };
    Ok(OpenedSource {
        content_hash,
        headers,
        encoding: Some(decoded.encoding.name()),
        delimiter: Some(delimiter),
        rows: Box::new(rows),
    })
}

/// Picks the candidate that splits the first lines into the same, largest number of
/// fields. Quotes are respected so a `,` inside `"Иванов, Иван"` does not vote.
pub fn detect_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(50)
        .collect();
    // When no candidate appears in the header, the file has one column: split on a byte
    // that never occurs in text, so a cell like "8 916…, 8 495…" stays whole.
    let mut best = (0x1F, 0usize, 0usize); // (delimiter, lines agreeing, fields)
    for &d in &CANDIDATE_DELIMITERS {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, d)).collect();
        let Some(&header_count) = counts.first() else {
            continue;
        };
        if header_count == 0 {
            continue;
        }
        let agreeing = counts.iter().filter(|&&c| c == header_count).count();
        if (agreeing, header_count) > (best.1, best.2) {
            best = (d, agreeing, header_count);
        }
    }
    best.0
}

fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut in_quotes = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == d && !in_quotes {
            n += 1;
        }
    }
    n
}

struct CsvRows {
    reader: csv::Reader<text::DecodingReader>,
    keys: Vec<Arc<str>>,
    fields: Vec<Option<Field>>,
    row: u64,
    /// The encoding, when decoding hit bytes invalid in it (rows holding U+FFFD are refused).
    undecodable_in: Option<&'static str>,
    record: csv::StringRecord,
}

impl Iterator for CsvRows {
    type Item = RawRow;

    fn next(&mut self) -> Option<RawRow> {
        loop {
            let before = self.reader.position().line();
            let read = self.reader.read_record(&mut self.record);
            // The csv parser skips empty lines; count them so row numbers match what a
            // person sees in a spreadsheet (multi-line cells still count as one row).
            // Lines consumed = the record's own lines (1 + newlines inside quoted cells) +
            // the empty lines skipped before it.
            let skipped_empty_lines = match &read {
                Ok(true) => {
                    let consumed = self.reader.position().line().saturating_sub(before);
                    let own = 1 + self
                        .record
                        .iter()
                        .map(|f| f.matches('\n').count() as u64)
                        .sum::<u64>();
                    consumed.saturating_sub(own)
                }
                _ => 0,
            };
            self.row += 1 + skipped_empty_lines;
            let source_row = self.row;
            match read {
                Ok(false) => return None,
                Ok(true) => {
                    if self.record.iter().all(|v| v.trim().is_empty()) {
                        continue; // blank row: nothing to land, nothing lost
                    }
                    return Some(self.build_row(source_row));
                }
                Err(e) => {
                    return Some(RawRow {
                        source_row,
                        cells: Vec::new(),
                        problem: Some(RowProblem {
                            code: "unreadable_row",
                            field: None,
                            reason: format!("unreadable CSV row: {e}"),
                        }),
                    });
                }
            }
        }
    }
}

impl CsvRows {
    fn build_row(&self, source_row: u64) -> RawRow {
        let n = self.record.len();
        let expected = self.keys.len();
        let mut cells = Vec::with_capacity(n.max(expected));
        for (i, value) in self.record.iter().enumerate() {
            let (key, field) = match self.keys.get(i) {
                Some(k) => (k.clone(), self.fields[i]),
                None => (
                    Arc::from(format!("_extra_{}", i + 1 - expected).as_str()),
                    None,
                ),
            };
            cells.push(Cell {
                key,
                field,
                value: value.to_string(),
            });
        }
        // Trailing empty cells (`a;b;c;`) are a common export quirk, not a broken row.
        let extra_non_empty = self
            .record
            .iter()
            .skip(expected)
            .any(|v| !v.trim().is_empty());
        let problem = (n < expected || extra_non_empty).then(|| RowProblem {
            code: "ragged_row",
            field: None,
            reason: format!("row has {n} fields, the header has {expected}"),
        });
        let mut row = RawRow {
            source_row,
            cells,
            problem,
        };
        check_cells(&mut row, self.undecodable_in);
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Origin;
    use proptest::prelude::*;

    fn spec() -> SourceSpec {
        SourceSpec {
            name: "t".into(),
            kind: super::super::SourceKind::Csv,
            path: "t.csv".into(),
            origin: Origin::Purchased,
            encoding: None,
            delimiter: None,
            sheet: None,
            columns: Default::default(),
            html: None,
            fetch: None,
        }
    }

    fn read(bytes: &[u8]) -> Result<(OpenedSource, Vec<RawRow>), SourceError> {
        let mut src = open(&spec(), bytes.to_vec(), &Mapper::default(), "h".into())?;
        let rows: Vec<RawRow> = src.rows.by_ref().collect();
        Ok((src, rows))
    }

    #[test]
    fn detects_delimiters() {
        assert_eq!(detect_delimiter("a;b;c\n1;2;3\n"), b';');
        assert_eq!(detect_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(detect_delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(
            detect_delimiter("ФИО;Город\n\"Иванов, Иван\";Москва\n"),
            b';'
        );
    }

    #[test]
    fn cp1251_semicolon_with_quoted_newline_and_ragged_rows() {
        let text = "ФИО;Телефон;Город\n\"Иванов\nИван\";89161234567;Москва\nПетров;8916;Тула;лишнее\nСидоров;89161112233\n;;\nКузнецов;89160000000;Омск;\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let (src, rows) = read(&bytes).unwrap();
        assert_eq!(src.encoding, Some("windows-1251"));
        assert_eq!(src.delimiter, Some(b';'));
        assert_eq!(rows.len(), 4, "blank row skipped, others kept");
        assert_eq!(rows[0].cells[0].value, "Иванов\nИван");
        assert_eq!(rows[0].first(Field::Phone), Some("89161234567"));
        assert!(rows[0].problem.is_none());
        assert!(rows[1]
            .problem
            .as_ref()
            .unwrap()
            .reason
            .contains("4 fields"));
        assert_eq!(rows[1].cells[3].key.as_ref(), "_extra_1");
        assert!(rows[2]
            .problem
            .as_ref()
            .unwrap()
            .reason
            .contains("2 fields"));
        assert_eq!(rows[3].source_row, 5, "row numbers count the blank row too");
        assert!(
            rows[3].problem.is_none(),
            "trailing empty cell is tolerated"
        );
    }

    #[test]
    fn empty_lines_count_in_row_numbers_and_single_column_stays_whole() {
        let (_, rows) =
            read("Телефон\n89161234567\n\n\n8 916 123-45-67, 8 495 123 45 67\n".as_bytes())
                .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].source_row, 4);
        assert!(rows[1].problem.is_none());
        assert_eq!(rows[1].cells.len(), 1);
    }

    #[test]
    fn header_only_empty_and_unmappable() {
        let (_, rows) = read("ФИО,Телефон\n".as_bytes()).unwrap();
        assert!(rows.is_empty());
        assert!(matches!(read(b"\n\n"), Err(SourceError::Empty { .. })));
        let err = read("foo,bar\n1,2\n".as_bytes()).err().unwrap().to_string();
        assert!(err.contains("\"foo\", \"bar\""), "{err}");
    }

    #[test]
    fn huge_field_is_rejected_not_lost() {
        let mut text = String::from("ФИО,Телефон\n");
        text.push_str(&"я".repeat(5_000_000));
        text.push_str(",89161234567\nИванов,89161234567\n");
        let (_, rows) = read(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0]
            .problem
            .as_ref()
            .unwrap()
            .reason
            .contains("bytes long"));
        assert_eq!(rows[0].cells[0].value.len(), 10_000_000);
        assert!(rows[1].problem.is_none());
    }

    #[test]
    fn invalid_bytes_in_declared_utf8_are_row_rejects() {
        let mut s = spec();
        s.encoding = Some("utf-8".into());
        let mut bytes = "ФИО,Телефон\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xff\xfe\xfa,89161234567\n");
        let mut src = open(&s, bytes, &Mapper::default(), "h".into()).unwrap();
        let rows: Vec<_> = src.rows.by_ref().collect();
        assert!(rows[0]
            .problem
            .as_ref()
            .unwrap()
            .reason
            .contains("not valid UTF-8"));
    }

    proptest! {
        /// Whatever the bytes, reading never panics, and every non-blank record comes out
        /// once, with increasing row numbers.
        #[test]
        fn never_panics_never_drops(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut bytes = b"name;phone\n".to_vec();
            bytes.extend_from_slice(&body);
            if let Ok((_, rows)) = read(&bytes) {
                let mut last = 0;
                for r in &rows {
                    prop_assert!(r.source_row > last);
                    last = r.source_row;
                }
            }
        }
    }
}
