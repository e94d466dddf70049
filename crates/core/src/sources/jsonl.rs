//! JSONL form exports: one submission per line. Every key is kept in raw; the known ones
//! are mapped to fields. A line that is not a JSON object is landed raw and rejected.

use super::headers::{Field, Mapper};
use super::{
    check_cells, text, Input, OpenedSource, SourceError, SourceSpec, MAX_FIELD_BYTES,
    MAX_RECORD_BYTES, TOO_LONG_KEPT_BYTES,
};
use crate::record::{Cell, OrderedObject, RawRow, RowProblem};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// How many lines are looked at up front to check the keys can be mapped.
const PROBE_LINES: usize = 1000;

pub fn open(spec: &SourceSpec, input: Input, mapper: &Mapper) -> Result<OpenedSource, SourceError> {
    let scan = text::scan(&spec.path, &input)?;
    text::check_not_binary(&spec.path, &scan.head, "JSONL")?;
    let decoded = text::decode_streaming(&spec.path, &input, &scan, spec.encoding.as_deref())?;

    // Keys seen in the first lines, in order, to check the file is usable before landing it
    // (a look ahead of its own: nothing of it is kept).
    let mut keys: Vec<String> = Vec::new();
    let mut probe = LineReader::new(decoded.again(&spec.path, &input)?);
    let mut any_line = false;
    let mut probed = 0;
    while probed < PROBE_LINES
        && probe.read().map_err(|e| SourceError::Io {
            path: spec.path.clone(),
            source: e,
        })?
    {
        let line = probe.text();
        if line.trim().is_empty() {
            continue;
        }
        any_line = true;
        probed += 1;
        if probe.cut {
            continue;
        }
        if let Ok(OrderedObject(entries)) = serde_json::from_str::<OrderedObject>(&line) {
            for (k, _) in entries {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    if keys.is_empty() {
        // No object in the probe: either garbage or all-broken lines. Land them as rejects
        // only if there is at least one line; an empty file was refused already.
        if !any_line {
            return Err(SourceError::Empty {
                path: spec.path.clone(),
            });
        }
    } else {
        mapper
            .map_headers(&keys)
            .map_err(|source| SourceError::Mapping {
                path: spec.path.clone(),
                source,
            })?;
    }
    let rows = JsonlRows {
        undecodable_in: decoded.had_errors.then_some(decoded.encoding.name()),
        lines: LineReader::new(decoded.reader),
        line: 0,
        failed: false,
        mapper: mapper.clone(),
        keys: HashMap::new(),
    };
    Ok(OpenedSource {
        sheet: None,
        content_hash: scan.content_hash,
        headers: keys,
        encoding: Some(decoded.encoding.name()),
        delimiter: None,
        rows: Box::new(rows),
    })
}

/// Lines of a stream, each kept up to [`MAX_RECORD_BYTES`]: the rest of a longer line is
/// read past and counted, never buffered.
struct LineReader<R> {
    source: R,
    line: Vec<u8>,
    /// Full length of the line in bytes (its end of line included).
    len: u64,
    /// The line was longer than [`MAX_RECORD_BYTES`]: only its start is in `line`.
    cut: bool,
}

impl<R: std::io::BufRead> LineReader<R> {
    fn new(source: R) -> Self {
        LineReader {
            source,
            line: Vec::new(),
            len: 0,
            cut: false,
        }
    }

    /// Reads the next line; false at the end.
    fn read(&mut self) -> std::io::Result<bool> {
        self.line.clear();
        self.len = 0;
        self.cut = false;
        let mut any = false;
        loop {
            let buf = match self.source.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(any);
            }
            any = true;
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let room = MAX_RECORD_BYTES.saturating_sub(self.line.len());
            if take > room {
                self.cut = true;
            }
            self.line.extend_from_slice(&buf[..take.min(room)]);
            self.len += take as u64;
            self.source.consume(take);
            if done {
                return Ok(true);
            }
        }
    }

    /// The line without its end of line (lossy only where a cut split a character).
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.line)
            .trim_end_matches(['\n', '\r'])
            .to_string()
    }
}

/// The top-level key whose value a cut JSON line was in when it was cut, if any.
fn key_at_cut(prefix: &str) -> Option<String> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut string_start, mut last_string, mut key) = (0usize, None, None);
    for (i, c) in prefix.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                if depth == 1 {
                    last_string = Some(&prefix[string_start..=i]);
                }
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                string_start = i;
            }
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            ':' if depth == 1 => key = last_string.take(),
            ',' if depth == 1 => key = None,
            _ => {}
        }
    }
    key.and_then(|k| serde_json::from_str::<String>(k).ok())
}

struct JsonlRows {
    /// The encoding, when decoding hit bytes invalid in it (rows holding U+FFFD are refused).
    undecodable_in: Option<&'static str>,
    lines: LineReader<text::DecodingReader>,
    line: u64,
    /// Reading failed: the row saying so was given, nothing more comes.
    failed: bool,
    mapper: Mapper,
    /// Interned keys with their field, so rows share one `Arc<str>` per key.
    keys: HashMap<String, (Arc<str>, Option<Field>)>,
}

impl JsonlRows {
    fn key(&mut self, k: &str) -> (Arc<str>, Option<Field>) {
        if let Some(hit) = self.keys.get(k) {
            return hit.clone();
        }
        let entry = (Arc::from(k), self.mapper.field(k));
        self.keys.insert(k.to_string(), entry.clone());
        entry
    }

    /// One line's object, its keys in the order they have in the line (file order matters
    /// downstream); a line that is not a JSON object is a `bad_json` row.
    fn parse_line(&mut self, source_row: u64, line: String) -> RawRow {
        let parsed = serde_json::from_str::<OrderedObject>(&line)
            .map(|o| o.0)
            .map_err(|_| serde_json::from_str::<Value>(&line));
        match parsed {
            Ok(entries) => {
                let mut cells = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let (key, field) = self.key(&k);
                    cells.push(Cell {
                        key,
                        field,
                        value: value_text(v),
                    });
                }
                RawRow {
                    source_row,
                    cells,
                    problem: None,
                }
            }
            Err(Ok(other)) => raw_line(
                source_row,
                line,
                "bad_json",
                format!("line is JSON but not an object (found {})", kind(&other)),
            ),
            Err(Err(e)) => raw_line(
                source_row,
                line,
                "bad_json",
                format!("line is not valid JSON: {e}"),
            ),
        }
    }
}

fn value_text(v: Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s,
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

impl Iterator for JsonlRows {
    type Item = RawRow;

    fn next(&mut self) -> Option<RawRow> {
        if self.failed {
            return None;
        }
        loop {
            let read = self.lines.read();
            self.line += 1;
            let source_row = self.line;
            match read {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    // A read error ends the source, and fails the run (see
                    // [`super::READ_FAILED`]).
                    self.failed = true;
                    return Some(raw_line(
                        source_row,
                        String::new(),
                        super::READ_FAILED,
                        format!(
                            "cannot read the file from this line on: {e}; the lines after it were not read"
                        ),
                    ));
                }
            }
            let line = self.lines.text();
            if line.trim().is_empty() {
                continue;
            }
            if self.lines.cut {
                return Some(too_long(source_row, line, self.lines.len));
            }
            let mut row = self.parse_line(source_row, line);
            check_cells(&mut row, self.undecodable_in);
            return Some(row);
        }
    }
}

/// A line too long to parse (`len` bytes; `line` is what was kept of it): the value it was
/// cut in is named when it can be told.
fn too_long(source_row: u64, mut line: String, len: u64) -> RawRow {
    let key = key_at_cut(&line);
    super::keep_start(&mut line);
    let mut row = raw_line(
        source_row,
        line,
        "row_too_long",
        format!(
            "line is {len} bytes long (limit {MAX_RECORD_BYTES} bytes); not parsed, only its first {TOO_LONG_KEPT_BYTES} bytes are kept"
        ),
    );
    if let (Some(key), Some(p)) = (key, row.problem.as_mut()) {
        p.code = "field_too_long";
        p.reason = format!(
            "field {key:?} makes the line {len} bytes long (limit {MAX_FIELD_BYTES} bytes a field, {MAX_RECORD_BYTES} a line); not parsed, only its first {TOO_LONG_KEPT_BYTES} bytes are kept"
        );
        p.field = Some(key);
    }
    row
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn raw_line(source_row: u64, line: String, code: &'static str, reason: String) -> RawRow {
    RawRow {
        source_row,
        cells: vec![Cell {
            key: Arc::from("_line"),
            field: None,
            value: line,
        }],
        problem: Some(RowProblem {
            code,
            field: None,
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Origin;
    use proptest::prelude::*;

    fn read(text: &str) -> Result<Vec<RawRow>, SourceError> {
        let spec = SourceSpec {
            name: "f".into(),
            kind: super::super::SourceKind::Jsonl,
            path: "f.jsonl".into(),
            origin: Origin::Form,
            encoding: None,
            delimiter: None,
            sheet: None,
            columns: Default::default(),
            html: None,
            fetch: None,
        };
        let src = open(
            &spec,
            Input::bytes(text.as_bytes().to_vec()),
            &Mapper::default(),
        )?;
        Ok(src.rows.collect())
    }

    #[test]
    fn maps_known_keys_keeps_unknown_and_rejects_bad_lines() {
        let rows = read(concat!(
            "{\"name\":\"Иванов Иван\",\"phone\":\"+79161234567\",\"consent\":true,\"utm_source\":\"ya\"}\n",
            "\n",
            "{\"name\": \"broken\"\n",
            "[1,2]\n",
            "{\"email\":\"a@b.ru\",\"extra\":{\"a\":1}}\r\n",
        ))
        .unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].source_row, 1);
        assert_eq!(rows[0].first(Field::Phone), Some("+79161234567"));
        assert_eq!(rows[0].first(Field::Consent), Some("true"));
        assert!(rows[0].cells.iter().any(|c| &*c.key == "utm_source"));
        assert_eq!(rows[1].source_row, 3);
        assert!(rows[1]
            .problem
            .as_ref()
            .unwrap()
            .reason
            .contains("not valid JSON"));
        assert!(rows[2]
            .problem
            .as_ref()
            .unwrap()
            .reason
            .contains("an array"));
        assert_eq!(rows[3].source_row, 5);
        assert_eq!(
            rows[3]
                .cells
                .iter()
                .find(|c| &*c.key == "extra")
                .unwrap()
                .value,
            "{\"a\":1}"
        );
    }

    #[test]
    fn unmappable_keys_are_an_error() {
        let err = read("{\"foo\":1}\n").err().unwrap().to_string();
        assert!(err.contains("\"foo\""), "{err}");
    }

    #[test]
    fn overlong_line_is_rejected_naming_its_field() {
        let mut text = String::from("{\"phone\":\"+79161234567\",\"comment\":\"");
        text.push_str(&"ы".repeat(MAX_RECORD_BYTES));
        text.push_str("\"}\n{\"phone\":\"+79161234568\",\"big\":\"");
        text.push_str(&"x".repeat(100_000));
        text.push_str("\"}\n{\"phone\":\"+79161234569\"}\n");
        let rows = read(&text).unwrap();
        assert_eq!(rows.len(), 3);
        let p = rows[0].problem.as_ref().unwrap();
        assert_eq!(
            (p.code, p.field.as_deref()),
            ("field_too_long", Some("comment"))
        );
        assert!(rows[0].cells[0].value.len() <= TOO_LONG_KEPT_BYTES);
        // Under the line limit, a value over the field limit is rejected after parsing.
        let p = rows[1].problem.as_ref().unwrap();
        assert_eq!(
            (p.code, p.field.as_deref()),
            ("field_too_long", Some("big"))
        );
        assert!(rows[2].problem.is_none());
        assert_eq!(rows[2].source_row, 3);
        assert_eq!(
            key_at_cut(r#"{"a":{"b":"c"},"d\"e":"xx"#).as_deref(),
            Some("d\"e")
        );
        assert_eq!(key_at_cut(r#"{"a":1,"#), None);
    }

    proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec("\\PC{0,30}", 0..10)) {
            let mut text = String::from("{\"phone\":\"1\"}\n");
            text.push_str(&lines.join("\n"));
            if let Ok(rows) = read(&text) {
                prop_assert!(!rows.is_empty());
            }
        }
    }
}
