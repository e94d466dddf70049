//! CSV of any real-world flavour: UTF-8 with or without BOM, CP1251, `;` `,` tab or `|`
//! (detected), quoted fields with newlines, ragged rows (landed raw and rejected).

use super::headers::{unique_headers, Field, Mapper};
use super::{
    check_cells, text, Input, OpenedSource, SourceError, SourceSpec, MAX_FIELD_BYTES,
    MAX_RECORD_BYTES, MAX_RECORD_FIELDS, TOO_LONG_KEPT_BYTES,
};
use crate::record::{Cell, RawRow, RowProblem};
use std::sync::Arc;

const CANDIDATE_DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];

pub fn open(spec: &SourceSpec, input: Input, mapper: &Mapper) -> Result<OpenedSource, SourceError> {
    open_with(spec, input, mapper, &TextLayout::default())
}

/// What a text table's layout is beyond its delimiter: exports from old systems (and the
/// CDNOW sample) have no header row and columns aligned with runs of spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextLayout {
    /// Column names for a file without a header row: its first line is data.
    pub header: Option<Vec<String>>,
    /// Columns are separated by runs of spaces or tabs (no quoting), not by one delimiter.
    pub whitespace: bool,
}

/// [`open`] for a file laid out as `layout` says.
pub fn open_with(
    spec: &SourceSpec,
    input: Input,
    mapper: &Mapper,
    layout: &TextLayout,
) -> Result<OpenedSource, SourceError> {
    let scan = text::scan(&spec.path, &input)?;
    crate::fault::pause_at("source_scanned");
    text::check_not_binary(&spec.path, &scan.head, "CSV")?;
    let decoded = text::decode_streaming(&spec.path, &input, &scan, spec.encoding.as_deref())?;
    let (delimiter, source): (u8, Box<dyn std::io::BufRead + Send>) = if layout.whitespace {
        let squeezed = SqueezeWhitespace::new(decoded.reader);
        (b'\t', Box::new(std::io::BufReader::new(squeezed)))
    } else {
        let d = spec
            .delimiter
            .unwrap_or_else(|| detect_delimiter(&decoded.head));
        (d, Box::new(decoded.reader))
    };
    let mut reader = RecordReader::new(delimiter, source);
    if layout.whitespace {
        reader.core = csv_core::ReaderBuilder::new()
            .delimiter(b'\t')
            .quoting(false)
            .build();
    }
    let headers: Vec<String> = match &layout.header {
        Some(names) => names.iter().map(|h| h.trim().to_string()).collect(),
        None => {
            let got_header = reader.read().map_err(|e| SourceError::Io {
                path: spec.path.clone(),
                source: e,
            })?;
            if !got_header || reader.values().all(|h| h.trim().is_empty()) {
                return Err(SourceError::Empty {
                    path: spec.path.clone(),
                });
            }
            reader.values().map(|h| h.trim().to_string()).collect()
        }
    };
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
        failed: false,
    };
    Ok(OpenedSource {
        sheet: None,
        content_hash: scan.content_hash,
        headers,
        encoding: Some(decoded.encoding.name()),
        delimiter: Some(delimiter),
        rows: Box::new(rows),
    })
}

/// Turns columns aligned with spaces into tab-separated ones: each run of spaces and tabs
/// inside a line becomes one tab, and runs at the start or end of a line go. Streams (one
/// pending flag of state), so memory stays what the CSV reader's caps allow.
struct SqueezeWhitespace<R> {
    source: R,
    pending_gap: bool,
    at_line_start: bool,
}

impl<R: std::io::BufRead> SqueezeWhitespace<R> {
    fn new(source: R) -> Self {
        SqueezeWhitespace {
            source,
            pending_gap: false,
            at_line_start: true,
        }
    }
}

impl<R: std::io::BufRead> std::io::Read for SqueezeWhitespace<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut written = 0;
        while written == 0 {
            let input = self.source.fill_buf()?;
            if input.is_empty() || out.len() < 2 {
                return Ok(0);
            }
            let mut used = 0;
            // Room for a byte and the gap before it.
            while used < input.len() && written + 2 <= out.len() {
                let b = input[used];
                used += 1;
                match b {
                    b' ' | b'\t' => self.pending_gap = !self.at_line_start,
                    b'\r' | b'\n' => {
                        self.pending_gap = false;
                        self.at_line_start = true;
                        out[written] = b;
                        written += 1;
                    }
                    _ => {
                        if std::mem::take(&mut self.pending_gap) {
                            out[written] = b'\t';
                            written += 1;
                        }
                        self.at_line_start = false;
                        out[written] = b;
                        written += 1;
                    }
                }
            }
            self.source.consume(used);
        }
        Ok(written)
    }
}

/// Reads CSV records (RFC 4180 quoting, any line ending, blank lines skipped, a leading
/// UTF-8 BOM dropped: what the `csv` crate does, with its parser) without ever holding more
/// than the caps of one row: a value is kept up to [`MAX_FIELD_BYTES`] and a row up to
/// [`MAX_RECORD_BYTES`] and [`MAX_RECORD_FIELDS`]; past them the bytes are parsed (to find
/// where the value and the row end) and counted, not kept. The `csv` crate buffers a
/// whole record, so one 1 GB field cost gigabytes.
pub(crate) struct RecordReader<R> {
    core: csv_core::Reader,
    source: R,
    scratch: Vec<u8>,
    ends: Vec<usize>,
    /// Where `scratch[0]` is in the record's output as the parser counts it.
    scratch_at: usize,
    /// The row's kept bytes, values one after another.
    data: Vec<u8>,
    /// Per kept value: its end in `data` and its full length in bytes.
    fields: Vec<(usize, u64)>,
    /// Where the value being read starts in `data`, and its length so far.
    field_start: usize,
    field_len: u64,
    /// Newlines inside the row's values (whole values, not just what is kept).
    pub newlines: u64,
    /// The row went past [`MAX_RECORD_BYTES`] or [`MAX_RECORD_FIELDS`]: its length in
    /// bytes and fields (the rest of it was read past, not kept).
    pub overflow: Option<(u64, u64)>,
    total_len: u64,
    total_fields: u64,
    /// The record ended only because the input did, and the input's last byte was not a
    /// closing quote: with many line breaks inside, a quote that never closed.
    pub ended_open: bool,
    last_byte: Option<u8>,
    /// Line breaks read so far (`\n`, `\r\n` or a lone `\r`: csv_core counts only
    /// `\n`, so a file with old Mac line endings lost its blank lines from row numbers).
    breaks: u64,
    cr_before: bool,
    value_cr_before: bool,
}

/// Counts line breaks in `bytes`: `\n`, `\r\n` and a lone `\r` each once; `cr_before`
/// carries a `\r` that ended the previous slice.
fn count_breaks(bytes: &[u8], cr_before: &mut bool) -> u64 {
    let mut n = 0;
    for &b in bytes {
        let after_cr = std::mem::replace(cr_before, b == b'\r');
        match b {
            b'\r' => n += 1,
            b'\n' if !after_cr => n += 1,
            _ => {}
        }
    }
    n
}

impl<R: std::io::BufRead> RecordReader<R> {
    pub(crate) fn new(delimiter: u8, source: R) -> Self {
        RecordReader {
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            source,
            scratch: vec![0u8; 1 << 16],
            ends: vec![0usize; 1024],
            scratch_at: 0,
            data: Vec::new(),
            fields: Vec::new(),
            field_start: 0,
            field_len: 0,
            newlines: 0,
            overflow: None,
            total_len: 0,
            total_fields: 0,
            ended_open: false,
            last_byte: None,
            breaks: 0,
            cr_before: false,
            value_cr_before: false,
        }
    }

    /// The current line (1-based, counting every line break read so far).
    pub(crate) fn line(&self) -> u64 {
        1 + self.breaks
    }

    /// Reads the next record; false at the end of the input.
    pub(crate) fn read(&mut self) -> std::io::Result<bool> {
        use csv_core::ReadRecordResult::*;
        self.data.clear();
        self.fields.clear();
        self.field_start = 0;
        self.field_len = 0;
        self.newlines = 0;
        self.overflow = None;
        self.total_len = 0;
        self.total_fields = 0;
        self.scratch_at = 0;
        self.ended_open = false;
        self.value_cr_before = false;
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut ends = std::mem::take(&mut self.ends);
        let result = loop {
            let input = match self.source.fill_buf() {
                Ok(input) => input,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            };
            let at_end = input.is_empty();
            let (res, nin, nout, nend) = self.core.read_record(input, &mut scratch, &mut ends);
            if nin > 0 {
                self.last_byte = Some(input[nin - 1]);
                self.breaks += count_breaks(&input[..nin], &mut self.cr_before);
            }
            self.source.consume(nin);
            let mut pos = 0;
            for &end in &ends[..nend] {
                let end = end - self.scratch_at;
                self.push(&scratch[pos..end]);
                pos = end;
                self.close_field();
            }
            self.push(&scratch[pos..nout]);
            self.scratch_at += nout;
            match res {
                InputEmpty | OutputFull | OutputEndsFull => continue,
                Record => {
                    self.ended_open = at_end && self.last_byte != Some(b'"');
                    break Ok(true);
                }
                End => break Ok(false),
            }
        };
        self.scratch = scratch;
        self.ends = ends;
        result
    }

    fn push(&mut self, bytes: &[u8]) {
        self.newlines += count_breaks(bytes, &mut self.value_cr_before);
        self.field_len += bytes.len() as u64;
        self.total_len += bytes.len() as u64;
        if self.overflow.is_some() {
            return;
        }
        let kept = self.data.len() - self.field_start;
        let room = MAX_FIELD_BYTES.saturating_sub(kept).min(bytes.len());
        self.data.extend_from_slice(&bytes[..room]);
        if self.data.len() > MAX_RECORD_BYTES {
            self.overflow = Some((0, 0));
        }
    }

    fn close_field(&mut self) {
        self.total_fields += 1;
        if self.overflow.is_none() {
            if self.field_len > MAX_FIELD_BYTES as u64 {
                // Keep the value's start, cut on a character boundary.
                let mut cut = (self.field_start + TOO_LONG_KEPT_BYTES).min(self.data.len());
                while cut > self.field_start
                    && cut < self.data.len()
                    && self.data[cut] & 0xC0 == 0x80
                {
                    cut -= 1;
                }
                self.data.truncate(cut);
            }
            self.fields.push((self.data.len(), self.field_len));
            if self.fields.len() > MAX_RECORD_FIELDS {
                self.fields.pop();
                self.overflow = Some((0, 0));
            }
        }
        if let Some(o) = &mut self.overflow {
            *o = (self.total_len, self.total_fields);
        }
        self.field_start = self.data.len();
        self.field_len = 0;
    }

    /// The kept values of the record, in order.
    pub(crate) fn values(&self) -> impl Iterator<Item = std::borrow::Cow<'_, str>> + '_ {
        let mut start = 0;
        self.fields.iter().map(move |&(end, _)| {
            let v = String::from_utf8_lossy(&self.data[start..end]);
            start = end;
            v
        })
    }

    /// Full length in bytes of each kept value.
    pub(crate) fn lengths(&self) -> impl Iterator<Item = u64> + '_ {
        self.fields.iter().map(|&(_, len)| len)
    }

    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }
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
    reader: RecordReader<Box<dyn std::io::BufRead + Send>>,
    keys: Vec<Arc<str>>,
    fields: Vec<Option<Field>>,
    row: u64,
    /// The encoding, when decoding hit bytes invalid in it (rows holding U+FFFD are refused).
    undecodable_in: Option<&'static str>,
    /// Reading failed: the row saying so was given, nothing more comes.
    failed: bool,
}

impl Iterator for CsvRows {
    type Item = RawRow;

    fn next(&mut self) -> Option<RawRow> {
        if self.failed {
            return None;
        }
        loop {
            let before = self.reader.line();
            let read = self.reader.read();
            // The parser skips empty lines; count them so row numbers match what a person
            // sees in a spreadsheet (multi-line cells still count as one row). Lines
            // consumed = the record's own lines (1 + newlines inside quoted cells) + the
            // empty lines skipped before it.
            let skipped_empty_lines = match &read {
                Ok(true) => {
                    let consumed = self.reader.line().saturating_sub(before);
                    consumed.saturating_sub(1 + self.reader.newlines)
                }
                _ => 0,
            };
            self.row += 1 + skipped_empty_lines;
            let source_row = self.row;
            match read {
                Ok(false) => return None,
                Ok(true) => {
                    let cut = self.reader.overflow.is_some()
                        || self.reader.lengths().any(|l| l > MAX_FIELD_BYTES as u64);
                    if !cut && self.reader.values().all(|v| v.trim().is_empty()) {
                        continue; // blank row: nothing to land, nothing lost
                    }
                    return Some(self.build_row(source_row));
                }
                Err(e) => {
                    // A read error (a failing disk, a file cut short while read) ends the
                    // source: the run fails on this row (see [`READ_FAILED`]), so the file
                    // is never recorded as imported with rows missing.
                    self.failed = true;
                    return Some(RawRow {
                        source_row,
                        cells: Vec::new(),
                        problem: Some(RowProblem {
                            code: super::READ_FAILED,
                            field: None,
                            reason: format!(
                                "cannot read the file from this row on: {e}; the rows after it were not read"
                            ),
                        }),
                    });
                }
            }
        }
    }
}

/// Line breaks inside one row's quoted values past which the row is taken for a quote
/// that never closes (`unclosed_quote`) rather than a long multi-line cell.
const UNCLOSED_QUOTE_LINES: u64 = 100;

impl CsvRows {
    fn build_row(&self, source_row: u64) -> RawRow {
        let n = self.reader.len();
        let expected = self.keys.len();
        let key_of = |i: usize| match self.keys.get(i) {
            Some(k) => (k.clone(), self.fields[i]),
            None => (
                Arc::from(format!("_extra_{}", i + 1 - expected).as_str()),
                None,
            ),
        };
        let mut cells = Vec::with_capacity(n.max(expected));
        let mut extra_non_empty = false;
        for (i, value) in self.reader.values().enumerate() {
            // Trailing empty cells (`a;b;c;`) are a common export quirk, not a broken row.
            extra_non_empty |= i >= expected && !value.trim().is_empty();
            let (key, field) = key_of(i);
            cells.push(Cell {
                key,
                field,
                value: value.into_owned(),
            });
        }
        let problem = if self.reader.ended_open && self.reader.newlines >= UNCLOSED_QUOTE_LINES {
            // The file ended inside a quoted value a hundred lines long: a quote opened in
            // this row and never closed, and the lines after it were read as one value.
            Some(RowProblem {
                code: "unclosed_quote",
                field: None,
                reason: format!(
                    "a quote opened in this row runs on over {} lines: probably a quote that never closes; the lines after it were read as one value, not as rows (fix the quote and import the file again)",
                    self.reader.newlines
                ),
            })
        } else if let Some((bytes, fields)) = self.reader.overflow {
            Some(RowProblem {
                code: "row_too_long",
                field: None,
                reason: format!(
                    "row is {bytes} bytes long in {fields} fields (limit {MAX_RECORD_BYTES} bytes, {MAX_RECORD_FIELDS} fields); only its first {n} fields are kept"
                ),
            })
        } else if n < expected || extra_non_empty {
            Some(RowProblem {
                code: "ragged_row",
                field: None,
                reason: format!("row has {n} fields, the header has {expected}"),
            })
        } else {
            self.reader
                .lengths()
                .enumerate()
                .find(|&(_, len)| len > MAX_FIELD_BYTES as u64)
                .map(|(i, len)| super::too_long(&key_of(i).0, len))
        };
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

    #[test]
    fn blank_lines_count_in_row_numbers_whatever_the_line_ending() {
        for eol in ["\n", "\r\n", "\r"] {
            let text = [
                "ФИО;Телефон",
                "А;89161234501",
                "",
                "",
                "\"Б\rБ\";89161234502",
                "В;89161234503",
                "",
            ]
            .join(eol);
            let (_, rows) = read(text.as_bytes()).unwrap();
            let numbers: Vec<u64> = rows.iter().map(|r| r.source_row).collect();
            assert_eq!(numbers, vec![1, 4, 5], "line ending {eol:?}");
        }
    }

    #[test]
    fn a_quote_that_never_closes_is_named_at_its_row() {
        let mut text = String::from("ФИО;Телефон\nА;89161234501\n\"Б;89161234502\n");
        for i in 0..5000 {
            text.push_str(&format!("В{i};8916{i:07}\n"));
        }
        let (_, rows) = read(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2, "the rest of the file is one value");
        let p = rows[1].problem.as_ref().unwrap();
        assert_eq!((rows[1].source_row, p.code), (2, "unclosed_quote"), "{p:?}");
        assert!(p.reason.contains("never closes"), "{}", p.reason);
    }

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
        let mut src = open(&spec(), Input::bytes(bytes.to_vec()), &Mapper::default())?;
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
        // Its start is kept (on a character boundary), not the 10 MB.
        assert_eq!(rows[0].cells[0].value, "я".repeat(512));
        assert!(rows[0]
            .problem
            .as_ref()
            .unwrap()
            .reason
            .contains("10000000 bytes long"));
        assert_eq!(rows[0].cells[1].value, "89161234567");
        assert!(rows[1].problem.is_none());
    }

    #[test]
    fn invalid_bytes_in_declared_utf8_are_row_rejects() {
        let mut s = spec();
        s.encoding = Some("utf-8".into());
        let mut bytes = "ФИО,Телефон\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xff\xfe\xfa,89161234567\n");
        let mut src = open(&s, Input::bytes(bytes), &Mapper::default()).unwrap();
        let rows: Vec<_> = src.rows.by_ref().collect();
        assert!(rows[0]
            .problem
            .as_ref()
            .unwrap()
            .reason
            .contains("not valid UTF-8"));
    }

    #[test]
    fn nul_byte_refuses_its_row_wherever_it_is() {
        // One rule at row 2 (inside the first 64 KiB) and at row 150,000.
        let mut text = String::from("ФИО;Телефон\nПетров\0;89161234560\n");
        for i in 0..150_000 {
            text.push_str(&format!("Иванов {i};8916{i:07}\n"));
        }
        text.push_str("Сидоров;8916\x001234567\n");
        let (_, rows) = read(text.as_bytes()).unwrap();
        let nul: Vec<_> = rows
            .iter()
            .filter_map(|r| r.problem.as_ref().map(|p| (r.source_row, p)))
            .collect();
        assert_eq!(nul.len(), 2);
        assert_eq!(nul[0].0, 1);
        assert_eq!(nul[0].1.code, "nul_byte");
        assert_eq!(nul[0].1.field.as_deref(), Some("ФИО"));
        assert_eq!(nul[1].0, 150_002);
        assert_eq!(nul[1].1.field.as_deref(), Some("Телефон"));
        assert!(nul[1].1.reason.contains("NUL"), "{}", nul[1].1.reason);
        // A file whose start is binary is still refused whole.
        let mut binary = b"a;b\n".to_vec();
        binary.extend((0..4096u32).map(|i| (i % 7) as u8));
        assert!(matches!(read(&binary), Err(SourceError::Binary { .. })));
    }

    #[test]
    fn overlong_values_and_rows_are_cut_not_buffered() {
        // A quoted value of 200,000 two-byte characters with newlines inside, then a row
        // of 20,000 fields: both rejected, each naming what and how long; row numbers stay
        // true after them.
        let mut text = String::from("ФИО;Телефон\n\"");
        text.push_str(&"ж\n".repeat(100_000));
        text.push_str("\";89161234567\n");
        text.push_str(&";x".repeat(20_000));
        text.push_str("\nИванов;89161234567\n");
        let (_, rows) = read(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        let p = rows[0].problem.as_ref().unwrap();
        assert_eq!(
            (p.code, p.field.as_deref()),
            ("field_too_long", Some("ФИО"))
        );
        assert!(p.reason.contains("300000 bytes long"), "{}", p.reason);
        assert!(rows[0].cells[0].value.len() <= TOO_LONG_KEPT_BYTES);
        assert!(rows[0].cells[0].value.starts_with("ж\nж"));
        assert_eq!(rows[0].cells[1].value, "89161234567");
        let p = rows[1].problem.as_ref().unwrap();
        assert_eq!(p.code, "row_too_long");
        assert!(p.reason.contains("20001 fields"), "{}", p.reason);
        assert!(rows[1].cells.len() <= MAX_RECORD_FIELDS);
        // The 100,000 newlines inside the quoted value are not rows (nor skipped lines).
        assert_eq!(rows[1].source_row, 2);
        assert_eq!(rows[2].source_row, 3);
        assert!(rows[2].problem.is_none());
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
