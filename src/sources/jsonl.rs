//! JSONL form exports: one submission per line. Every key is kept in raw; the known ones
//! are mapped to fields. A line that is not a JSON object is landed raw and rejected.

use super::headers::{Field, Mapper};
use super::{check_cells, text, OpenedSource, SourceError, SourceSpec};
use crate::record::{Cell, OrderedObject, RawRow, RowProblem};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// How many lines are looked at up front to check the keys can be mapped.
const PROBE_LINES: usize = 1000;

pub fn open(
    spec: &SourceSpec,
    bytes: Vec<u8>,
    mapper: &Mapper,
    content_hash: String,
) -> Result<OpenedSource, SourceError> {
    text::check_not_binary(&spec.path, &bytes, "JSONL")?;
    let decoded = text::decode(&spec.path, &bytes, spec.encoding.as_deref())?;
    drop(bytes);
    let text = decoded.text;

    // Keys seen in the first lines, in order, to check the file is usable before landing it.
    let mut keys: Vec<String> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(PROBE_LINES)
    {
        if let Ok(OrderedObject(entries)) = serde_json::from_str::<OrderedObject>(line) {
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
        if text.trim().is_empty() {
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
        text,
        pos: 0,
        line: 0,
        mapper: mapper.clone(),
        keys: HashMap::new(),
    };
    Ok(OpenedSource {
        content_hash,
        headers: keys,
        encoding: Some(decoded.encoding.name()),
        delimiter: None,
        rows: Box::new(rows),
    })
}

struct JsonlRows {
    /// The encoding, when decoding hit bytes invalid in it (rows holding U+FFFD are refused).
    undecodable_in: Option<&'static str>,
    text: String,
    pos: usize,
    line: u64,
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
        loop {
            if self.pos >= self.text.len() {
                return None;
            }
            let rest = &self.text[self.pos..];
            let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
            let line = rest[..end].trim_end_matches(['\n', '\r']).to_string();
            self.pos += end;
            self.line += 1;
            if line.trim().is_empty() {
                continue;
            }
            let source_row = self.line;
            // Keys keep the order they have in the line (file order matters downstream).
            let parsed = serde_json::from_str::<OrderedObject>(&line)
                .map(|o| o.0)
                .map_err(|_| serde_json::from_str::<Value>(&line));
            let mut row = match parsed {
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
            };
            check_cells(&mut row, self.undecodable_in);
            return Some(row);
        }
    }
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
            text.as_bytes().to_vec(),
            &Mapper::default(),
            "h".into(),
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
