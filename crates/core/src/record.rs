//! The data model every stage shares: where a row came from, what it held, what we made of it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The fields leadpipe understands. Anything else in a file is kept in `raw_records` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    FullName,
    LastName,
    FirstName,
    MiddleName,
    Phone,
    Email,
    Company,
    Position,
    City,
    Region,
    Address,
    Inn,
    Ogrn,
    Website,
    Comment,
    CreatedAt,
    Consent,
    ConsentAt,
    ConsentTextVersion,
    FormUrl,
    Ip,
    UserAgent,
}

impl Field {
    pub const ALL: [Field; 22] = [
        Field::FullName,
        Field::LastName,
        Field::FirstName,
        Field::MiddleName,
        Field::Phone,
        Field::Email,
        Field::Company,
        Field::Position,
        Field::City,
        Field::Region,
        Field::Address,
        Field::Inn,
        Field::Ogrn,
        Field::Website,
        Field::Comment,
        Field::CreatedAt,
        Field::Consent,
        Field::ConsentAt,
        Field::ConsentTextVersion,
        Field::FormUrl,
        Field::Ip,
        Field::UserAgent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::FullName => "full_name",
            Field::LastName => "last_name",
            Field::FirstName => "first_name",
            Field::MiddleName => "middle_name",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::Company => "company",
            Field::Position => "position",
            Field::City => "city",
            Field::Region => "region",
            Field::Address => "address",
            Field::Inn => "inn",
            Field::Ogrn => "ogrn",
            Field::Website => "website",
            Field::Comment => "comment",
            Field::CreatedAt => "created_at",
            Field::Consent => "consent",
            Field::ConsentAt => "consent_at",
            Field::ConsentTextVersion => "consent_text_version",
            Field::FormUrl => "form_url",
            Field::Ip => "ip",
            Field::UserAgent => "user_agent",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Fields a row can be identified by; a file with none of them cannot be used.
    pub fn is_identifying(self) -> bool {
        matches!(
            self,
            Field::FullName
                | Field::LastName
                | Field::FirstName
                | Field::Phone
                | Field::Email
                | Field::Company
        )
    }
}

/// How a lead reached us. It decides what consent a row can carry: forms bring proof,
/// purchased lists bring at most a vendor's claim, open sources bring none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Form,
    Purchased,
    Open,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Form => "form",
            Origin::Purchased => "purchased",
            Origin::Open => "open",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stages of a run, in order. `--only` and `--from` name these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Read source files into `raw_records` (rows that cannot be read become rejects).
    Import,
    /// Turn raw rows into clean `records` (rows with no usable contact become rejects).
    /// Local enrichment (time zones, legal forms, …) happens in the same pass.
    Normalise,
    /// Ask external providers listed in the pipeline file to fill empty fields (cached).
    Enrich,
    /// Link records into leads (`records.lead_id`, `leads`, `lead_links`), incrementally.
    Dedupe,
    /// Record consent events from new records (`consents`) and derive each lead's current
    /// status (`consent_status`, `leads.call_consent`), auditing every change.
    Consent,
    /// Score every lead's warmth as of the run date (`leads.warmth_*`).
    Warmth,
    /// Link deals to leads and place every lead and customer in segments: life cycle,
    /// RFM, geography, gender, engagement, warmth tier and the user's own
    /// (`customers`, `customer_rfm`, the `lead_segments` view).
    Segment,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Import,
        Stage::Normalise,
        Stage::Enrich,
        Stage::Dedupe,
        Stage::Consent,
        Stage::Warmth,
        Stage::Segment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Import => "import",
            Stage::Normalise => "normalise",
            Stage::Enrich => "enrich",
            Stage::Dedupe => "dedupe",
            Stage::Consent => "consent",
            Stage::Warmth => "warmth",
            Stage::Segment => "segment",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cell as read, with the field its header maps to (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Header (or JSON key). Shared between rows, hence `Arc`.
    pub key: Arc<str>,
    pub field: Option<Field>,
    pub value: String,
}

/// One input row exactly as read, cells in file order. Values that had no header (a ragged
/// row's extra cells) are kept under `_extra_N` so nothing is lost.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// 1-based data row in the source (row after the header for CSV/XLSX, line for JSONL).
    pub source_row: u64,
    pub cells: Vec<Cell>,
    /// Set when the row could not be read cleanly; the row is landed raw and rejected.
    pub problem: Option<RowProblem>,
}

/// Why a row was refused at import, with the field at fault where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// Stable short code for grouping (`ragged_row`, `bad_json`, …); `reason` has the detail.
    pub code: &'static str,
    pub field: Option<String>,
    pub reason: String,
}

impl RawRow {
    /// The raw values as a JSON object in file order, for `raw_records.raw_values` and
    /// reject rows. Keys are unique per source (readers suffix repeated headers).
    pub fn values_json(&self) -> String {
        let mut out = String::with_capacity(16 + self.cells.len() * 24);
        out.push('{');
        for (i, cell) in self.cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(&mut out, &cell.key);
            out.push(':');
            push_json_string(&mut out, &cell.value);
        }
        out.push('}');
        out
    }

    /// The value of the first cell mapped to `field`, if non-empty.
    pub fn first(&self, field: Field) -> Option<&str> {
        self.all(field).next()
    }

    /// Every non-empty value mapped to `field` (several phone columns, say).
    pub fn all(&self, field: Field) -> impl Iterator<Item = &str> {
        self.cells
            .iter()
            .filter(move |c| c.field == Some(field))
            .map(|c| c.value.trim())
            .filter(|v| !v.is_empty())
    }
}

/// A JSON object's entries in document order. serde_json's own map sorts keys (its
/// `preserve_order` feature is off), and file order decides which of two phone columns is
/// the main one, so raw values are read back through this instead.
pub struct OrderedObject(pub Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedObject, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    entries.push((k, v));
                }
                Ok(OrderedObject(entries))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn push_json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    // Copy runs of plain bytes in one go; only quotes, backslashes and control bytes are
    // escaped (all ASCII, so slicing at them is always on a char boundary).
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A refused row: data, never a log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    pub raw_id: i64,
    pub source_row: u64,
    pub stage: Stage,
    pub code: &'static str,
    pub field: Option<String>,
    pub reason: String,
}

/// One accepted row after normalisation. Invalid or absent contacts are `None`; what was
/// typed stays in the `*_raw` fields so a reviewer can see why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CleanRecord {
    pub source_row: u64,

    pub phone_raw: Option<String>,
    pub phone_e164: Option<String>,
    pub phone_type: Option<String>,
    pub phone_ext: Option<String>,
    pub phone_region: Option<String>,
    /// Further valid numbers found in the same row (several in one cell, or a second column).
    pub phones_extra: Vec<String>,
    /// Why the phone was not accepted, when one was given.
    pub phone_problem: Option<String>,

    pub email_raw: Option<String>,
    pub email: Option<String>,
    pub email_is_role: bool,
    pub email_is_disposable: bool,
    /// Suggested address for a typo domain; recorded, never applied.
    pub email_suggestion: Option<String>,
    pub email_problem: Option<String>,

    pub full_name: Option<String>,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub gender: Option<String>,
    pub name_key: Option<String>,

    pub company: Option<String>,
    pub position: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub inn: Option<String>,
    pub ogrn: Option<String>,
    pub website: Option<String>,
    pub comment: Option<String>,
    /// When the lead was created at the source (form submission time), UTC.
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,

    pub consent_raw: Option<String>,
    pub consent_given: Option<bool>,
    pub consent_at: Option<chrono::DateTime<chrono::Utc>>,
    pub consent_text_version: Option<String>,
    pub form_url: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,

    /// What enrichment inferred (see `enrich`); `enrichment_source` says from what.
    pub enriched: Enrichment,
}

/// Values inferred from a record's own data, never typed by the person.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Enrichment {
    /// Full form of an everyday first name (Ваня → Иван).
    pub first_name_canonical: Option<String>,
    pub city_canonical: Option<String>,
    pub region_code: Option<String>,
    pub timezone: Option<String>,
    pub utc_offset_minutes: Option<i32>,
    pub phone_geo: Option<String>,
    /// Operator the mobile number's range was allocated to.
    pub phone_operator_range: Option<String>,
    pub company_legal_form: Option<String>,
    pub company_key: Option<String>,
    pub inn_valid: Option<bool>,
    /// ОГРН (13 digits) or ОГРНИП (15) passes its check digit.
    pub ogrn_valid: Option<bool>,
    /// `company`, `sole_trader` (a private person for consent) or `person`.
    pub subject_type: Option<String>,
    /// `free`, `corporate`, `disposable` or `role`.
    pub email_kind: Option<String>,
    pub website_hint: Option<String>,
    /// Field → where its value came from (`phone_prefix`, `city`, `region`, `company_name`,
    /// `inn`, `email_domain`, …), as a JSON object.
    pub sources: Vec<(&'static str, &'static str)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(cells: &[(&str, &str)]) -> RawRow {
        RawRow {
            source_row: 1,
            cells: cells
                .iter()
                .map(|(k, v)| Cell {
                    key: Arc::from(*k),
                    field: None,
                    value: v.to_string(),
                })
                .collect(),
            problem: None,
        }
    }

    proptest! {
        /// The hand-rolled JSON writer must produce what serde_json parses back, in order.
        #[test]
        fn values_json_round_trips(kvs in proptest::collection::vec(("\\PC{0,8}", "\\PC{0,20}|[\\x00-\\x1f\"\\\\]{0,4}"), 0..6)) {
            let mut seen = std::collections::HashSet::new();
            let kvs: Vec<_> = kvs.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
            let cells: Vec<(&str, &str)> = kvs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let json = row(&cells).values_json();
            let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
            let obj = parsed.as_object().unwrap();
            prop_assert_eq!(obj.len(), kvs.len());
            for (k, v) in &kvs {
                prop_assert_eq!(obj[k].as_str(), Some(v.as_str()));
            }
        }
    }
}

/// Which source filled which enriched field, as a JSON object sorted by field, the last
/// source winning for a field named twice (what a JSON map would keep).
pub fn sources_json(sources: &[(&str, &str)]) -> String {
    let mut sorted: Vec<(&str, &str)> = Vec::with_capacity(sources.len());
    for &(field, source) in sources {
        match sorted.binary_search_by(|(f, _)| f.cmp(&field)) {
            Ok(i) => sorted[i].1 = source,
            Err(i) => sorted.insert(i, (field, source)),
        }
    }
    let mut out = String::with_capacity(16 + 32 * sorted.len());
    out.push('{');
    for (i, (field, source)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, field);
        out.push(':');
        push_json_string(&mut out, source);
    }
    out.push('}');
    out
}

#[cfg(test)]
mod sources_json_tests {
    use super::sources_json;

    #[test]
    fn matches_a_json_map_of_the_same_pairs() {
        let pairs = [
            ("timezone", "phone_prefix"),
            ("city_canonical", "gazetteer"),
            ("timezone", "city"),
            ("q\"uote", "back\\slash"),
        ];
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(f, s)| (f.to_string(), serde_json::Value::from(*s)))
            .collect();
        assert_eq!(
            sources_json(&pairs),
            serde_json::Value::Object(map).to_string()
        );
        assert_eq!(sources_json(&[]), "{}");
    }
}
