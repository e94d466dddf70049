//! Golden records: one row per lead from its member records, by survivorship.
//!
//! Members are ranked best first by preferred origin (form data beats purchased data by
//! default), then most recent `created_at` (undated records last), then latest landed
//! (highest `record_id`). Each field takes the value of the best member that has one; the
//! name comes whole from the member with the most complete name (Cyrillic preferred over
//! Latin, then by rank), and time zone and offset travel together.
//!
//! This used to be one DuckDB query (a `row_number` window and `arg_max` per field): ~4 s
//! of the 1M-row run under DuckDB's 512 MB memory limit. Here the members are read once
//! as Arrow, sorted by (lead, rank) as 24-byte keys, and each lead is one pass over its
//! members; the strings are borrowed from the Arrow batches until the output is built.

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Builder, Int64Builder, ListBuilder, StringArray, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{Field, Int32Type, Int64Type, Schema};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;

/// The member columns [`build`] reads, in this order: `lead_id`, then [`MEMBER_FIELDS`]
/// (times as microseconds since the epoch).
pub fn members_sql() -> String {
    let fields: Vec<String> = MEMBER_FIELDS
        .iter()
        .map(|&f| match f {
            "created_at" => "epoch_us(created_at)".to_string(),
            f => f.to_string(),
        })
        .collect();
    format!(
        "SELECT lead_id, {} FROM records WHERE lead_id IS NOT NULL",
        fields.join(", ")
    )
}

/// The `records` columns the survivorship rules read (rank, name, time zone, phones).
const RULE_FIELDS: [&str; 11] = [
    "record_id",
    "origin",
    "created_at",
    "utc_offset_minutes",
    "phones_extra",
    "full_name",
    "last_name",
    "first_name",
    "middle_name",
    "timezone",
    "source",
];

/// Fields that each take the best member's value: `leads` columns of the same name.
const PICKED_FIELDS: [&str; 10] = [
    "phone_e164",
    "email",
    "gender",
    "company",
    "city",
    "region",
    "inn",
    "region_code",
    "subject_type",
    "company_legal_form",
];

/// The `records` columns [`members_sql`] reads after `lead_id`, in its order:
/// [`RULE_FIELDS`], then [`PICKED_FIELDS`].
const MEMBER_FIELDS: [&str; RULE_FIELDS.len() + PICKED_FIELDS.len()] = {
    let mut all = [""; RULE_FIELDS.len() + PICKED_FIELDS.len()];
    let mut i = 0;
    while i < RULE_FIELDS.len() {
        all[i] = RULE_FIELDS[i];
        i += 1;
    }
    let mut j = 0;
    while j < PICKED_FIELDS.len() {
        all[RULE_FIELDS.len() + j] = PICKED_FIELDS[j];
        j += 1;
    }
    all
};

/// A member batch, as [`members_sql`] would read it, from a `records` batch that has not
/// landed yet (its rows' leads given apart): deduplication builds golden records for the
/// records it holds without reading them back.
pub fn members_of(records: &RecordBatch, leads: &[i64]) -> Result<RecordBatch, String> {
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    if leads.len() != records.num_rows() {
        return Err("one lead per record is needed".into());
    }
    let mut fields = vec![Field::new("lead_id", DataType::Int64, false)];
    let mut columns: Vec<ArrayRef> = vec![std::sync::Arc::new(Int64Array::from(leads.to_vec()))];
    for (i, name) in MEMBER_FIELDS.iter().enumerate() {
        let column = records
            .column_by_name(name)
            .ok_or_else(|| format!("records batch has no {name}"))?;
        let want = match i + 1 {
            RECORD | CREATED => DataType::Int64,
            OFFSET => DataType::Int32,
            PHONES_EXTRA => column.data_type().clone(),
            _ => DataType::Utf8,
        };
        // Timestamps become their microseconds (`epoch_us`), dictionaries plain text.
        let column = if column.data_type() == &want {
            column.clone()
        } else {
            arrow::compute::cast(column, &want).map_err(|e| format!("{name}: {e}"))?
        };
        fields.push(Field::new(*name, want, true));
        columns.push(column);
    }
    RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)
        .map_err(|e| e.to_string())
}

/// The index of member field `name` in a member batch (after `lead_id`), found in
/// [`MEMBER_FIELDS`] when compiling: a name that is not there fails the build.
const fn member(name: &str) -> usize {
    let name = name.as_bytes();
    let mut i = 0;
    while i < MEMBER_FIELDS.len() {
        let field = MEMBER_FIELDS[i].as_bytes();
        if field.len() == name.len() {
            let mut j = 0;
            while j < name.len() && field[j] == name[j] {
                j += 1;
            }
            if j == name.len() {
                return i + 1;
            }
        }
        i += 1;
    }
    panic!("not a member field")
}

const LEAD: usize = 0;
const RECORD: usize = member("record_id");
const ORIGIN: usize = member("origin");
const CREATED: usize = member("created_at");
const OFFSET: usize = member("utc_offset_minutes");
const PHONES_EXTRA: usize = member("phones_extra");
const FULL_NAME: usize = member("full_name");
const LAST_NAME: usize = member("last_name");
const FIRST_NAME: usize = member("first_name");
const MIDDLE_NAME: usize = member("middle_name");
const TIMEZONE: usize = member("timezone");
const SOURCE: usize = member("source");
/// [`PICKED_FIELDS`] with their indices in a member batch.
const PICKED: [(usize, &str); PICKED_FIELDS.len()] = {
    let mut picked = [(0, ""); PICKED_FIELDS.len()];
    let mut i = 0;
    while i < PICKED_FIELDS.len() {
        picked[i] = (member(PICKED_FIELDS[i]), PICKED_FIELDS[i]);
        i += 1;
    }
    picked
};
const PHONE: usize = member("phone_e164");
const EMAIL: usize = member("email");

/// The `leads` columns of [`build`]'s batch, in order.
pub const COLUMNS: [&str; 24] = [
    "lead_id",
    "phone_e164",
    "phones",
    "email",
    "emails",
    "full_name",
    "last_name",
    "first_name",
    "middle_name",
    "gender",
    "company",
    "city",
    "region",
    "inn",
    "region_code",
    "timezone",
    "utc_offset_minutes",
    "subject_type",
    "company_legal_form",
    "record_count",
    "sources",
    "origins",
    "first_seen_at",
    "last_seen_at",
];

/// A member batch with its columns typed once.
struct Columns<'a> {
    lead: &'a arrow::array::PrimitiveArray<Int64Type>,
    record: &'a arrow::array::PrimitiveArray<Int64Type>,
    created: &'a arrow::array::PrimitiveArray<Int64Type>,
    offset: &'a arrow::array::PrimitiveArray<Int32Type>,
    phones_extra: &'a arrow::array::ListArray,
    /// Every VARCHAR column by its index in [`members_sql`] (None for the others).
    text: Vec<Option<&'a StringArray>>,
}

impl<'a> Columns<'a> {
    fn new(b: &'a RecordBatch) -> Result<Self, String> {
        let wrong = |i: usize| format!("member column {i} has type {}", b.column(i).data_type());
        let int64 = |i: usize| {
            b.column(i)
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| wrong(i))
        };
        let text = (0..b.num_columns())
            .map(|i| match i {
                LEAD | RECORD | CREATED | OFFSET | PHONES_EXTRA => Ok(None),
                _ => b
                    .column(i)
                    .as_string_opt::<i32>()
                    .map(Some)
                    .ok_or_else(|| wrong(i)),
            })
            .collect::<Result<_, _>>()?;
        Ok(Columns {
            lead: int64(LEAD)?,
            record: int64(RECORD)?,
            created: int64(CREATED)?,
            offset: b
                .column(OFFSET)
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(|| wrong(OFFSET))?,
            phones_extra: b
                .column(PHONES_EXTRA)
                .as_list_opt::<i32>()
                .ok_or_else(|| wrong(PHONES_EXTRA))?,
            text,
        })
    }

    fn text(&self, col: usize, row: usize) -> Option<&'a str> {
        let a = self.text[col]?;
        (!a.is_null(row)).then(|| a.value(row))
    }
}

/// One member's place in the survivorship order; greater is better.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    origin: u8,
    /// Microseconds since the epoch; undated members sort below dated ones.
    created: Option<i64>,
    record_id: i64,
}

struct Member {
    lead_id: i64,
    rank: Rank,
    batch: u32,
    row: u32,
}

/// Origin preference: the first origin in `origin_priority` ranks highest, unlisted ones 0.
fn origin_rank(origin: &str, origin_priority: &[String]) -> u8 {
    origin_priority
        .iter()
        .position(|o| o == origin)
        .map_or(0, |i| (origin_priority.len() - i).min(255) as u8)
}

/// Parts present, then Cyrillic script: greater is a better name.
type NameQuality = (u8, bool);

/// How complete a name is (surname, a first name longer than an initial, patronymic),
/// then whether it is written in Cyrillic.
fn name_quality(
    last: Option<&str>,
    first: Option<&str>,
    middle: Option<&str>,
    full: &str,
) -> NameQuality {
    let complete = last.is_some() as u8
        + first.is_some_and(|f| f.chars().count() > 2) as u8
        + middle.is_some() as u8;
    let cyrillic = full.chars().any(|c| matches!(c, 'А'..='я' | 'Ё' | 'ё'));
    (complete, cyrillic)
}

/// Builds one golden record per lead from member batches read with [`members_sql`].
/// The batches have the [`COLUMNS`] of `leads` and come in lead id order.
pub fn build(
    batches: &[RecordBatch],
    origin_priority: &[String],
) -> Result<Vec<RecordBatch>, String> {
    let cols: Vec<Columns> = batches.iter().map(Columns::new).collect::<Result<_, _>>()?;
    let mut members: Vec<Member> = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
    for (bi, c) in cols.iter().enumerate() {
        let origins = c.text[ORIGIN].ok_or("origin is not text")?;
        for row in 0..c.lead.len() {
            members.push(Member {
                lead_id: c.lead.value(row),
                rank: Rank {
                    origin: origin_rank(origins.value(row), origin_priority),
                    created: (!c.created.is_null(row)).then(|| c.created.value(row)),
                    record_id: c.record.value(row),
                },
                batch: bi as u32,
                row: row as u32,
            });
        }
    }
    // Each lead's members together, best first.
    members.par_sort_unstable_by_key(|m| (m.lead_id, Reverse(m.rank)));

    let groups: Vec<&[Member]> = members.chunk_by(|a, b| a.lead_id == b.lead_id).collect();
    // A batch per slice of leads, built on all cores.
    let per_batch = groups
        .len()
        .div_ceil(rayon::current_num_threads() * 4)
        .max(1024);
    groups
        .par_chunks(per_batch)
        .map(|chunk| {
            let mut out = Output::new(chunk.len());
            for group in chunk {
                out.push(&cols, group);
            }
            out.finish()
        })
        .collect()
}

/// Column builders for `leads`.
struct Output {
    lead_id: Int64Builder,
    picked: Vec<StringBuilder>,
    phones: ListBuilder<StringBuilder>,
    emails: ListBuilder<StringBuilder>,
    name: [StringBuilder; 4],
    timezone: StringBuilder,
    offset: Int32Builder,
    record_count: Int64Builder,
    sources: ListBuilder<StringBuilder>,
    origins: ListBuilder<StringBuilder>,
    first_seen: TimestampMicrosecondBuilder,
    last_seen: TimestampMicrosecondBuilder,
}

impl Output {
    fn new(n: usize) -> Self {
        let text = || StringBuilder::with_capacity(n, n * 16);
        let list = || ListBuilder::with_capacity(StringBuilder::new(), n);
        let ts = || TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        Output {
            lead_id: Int64Builder::with_capacity(n),
            picked: PICKED.iter().map(|_| text()).collect(),
            phones: list(),
            emails: list(),
            name: std::array::from_fn(|_| text()),
            timezone: text(),
            offset: Int32Builder::with_capacity(n),
            record_count: Int64Builder::with_capacity(n),
            sources: list(),
            origins: list(),
            first_seen: ts(),
            last_seen: ts(),
        }
    }

    /// Appends the golden record of one lead; `group` holds its members, best first.
    fn push(&mut self, cols: &[Columns], group: &[Member]) {
        let at = |m: &Member| (&cols[m.batch as usize], m.row as usize);
        self.lead_id.append_value(group[0].lead_id);
        for (builder, &(col, _)) in self.picked.iter_mut().zip(&PICKED) {
            let best = group.iter().find_map(|m| {
                let (c, row) = at(m);
                c.text(col, row)
            });
            builder.append_option(best);
        }

        // The most complete name; among equals the best-ranked member (the first seen).
        let mut name: Option<(NameQuality, [Option<&str>; 4])> = None;
        for m in group {
            let (c, row) = at(m);
            let Some(full) = c.text(FULL_NAME, row) else {
                continue;
            };
            let parts = [LAST_NAME, FIRST_NAME, MIDDLE_NAME].map(|i| c.text(i, row));
            let quality = name_quality(parts[0], parts[1], parts[2], full);
            if name.as_ref().is_none_or(|(q, _)| quality > *q) {
                name = Some((quality, [Some(full), parts[0], parts[1], parts[2]]));
            }
        }
        let name = name.map(|(_, n)| n).unwrap_or_default();
        for (builder, value) in self.name.iter_mut().zip(name) {
            builder.append_option(value);
        }

        let tz = group.iter().find_map(|m| {
            let (c, row) = at(m);
            let tz = c.text(TIMEZONE, row)?;
            Some((tz, (!c.offset.is_null(row)).then(|| c.offset.value(row))))
        });
        self.timezone.append_option(tz.map(|t| t.0));
        self.offset.append_option(tz.and_then(|t| t.1));

        let mut phones: Vec<&str> = Vec::new();
        let mut emails: Vec<&str> = Vec::new();
        let mut sources: Vec<&str> = Vec::new();
        let mut origins: Vec<&str> = Vec::new();
        let (mut first_seen, mut last_seen) = (None::<i64>, None::<i64>);
        for m in group {
            let (c, row) = at(m);
            phones.extend(c.text(PHONE, row));
            if !c.phones_extra.is_null(row) {
                // Borrowed from the list's child array, which lives as long as the batch.
                let child = c.phones_extra.values().as_string::<i32>();
                let offsets = c.phones_extra.value_offsets();
                for j in offsets[row] as usize..offsets[row + 1] as usize {
                    if !child.is_null(j) {
                        phones.push(child.value(j));
                    }
                }
            }
            emails.extend(c.text(EMAIL, row));
            sources.extend(c.text(SOURCE, row));
            origins.extend(c.text(ORIGIN, row));
            if let Some(t) = m.rank.created {
                first_seen = Some(first_seen.map_or(t, |f| f.min(t)));
                last_seen = Some(last_seen.map_or(t, |l| l.max(t)));
            }
        }
        for (builder, mut values) in [
            (&mut self.phones, phones),
            (&mut self.emails, emails),
            (&mut self.sources, sources),
            (&mut self.origins, origins),
        ] {
            values.sort_unstable();
            values.dedup();
            for v in values {
                builder.values().append_value(v);
            }
            builder.append(true);
        }
        self.record_count.append_value(group.len() as i64);
        self.first_seen.append_option(first_seen);
        self.last_seen.append_option(last_seen);
    }

    fn finish(mut self) -> Result<RecordBatch, String> {
        fn done(mut b: StringBuilder) -> ArrayRef {
            Arc::new(b.finish())
        }
        // By column name, then put in the order of COLUMNS.
        let mut by_name: HashMap<&str, ArrayRef> = PICKED
            .iter()
            .map(|&(_, name)| name)
            .zip(self.picked.into_iter().map(done))
            .chain(
                ["full_name", "last_name", "first_name", "middle_name"]
                    .into_iter()
                    .zip(self.name.map(done)),
            )
            .collect();
        by_name.extend([
            ("lead_id", Arc::new(self.lead_id.finish()) as ArrayRef),
            ("phones", Arc::new(self.phones.finish())),
            ("emails", Arc::new(self.emails.finish())),
            ("timezone", Arc::new(self.timezone.finish())),
            ("utc_offset_minutes", Arc::new(self.offset.finish())),
            ("record_count", Arc::new(self.record_count.finish())),
            ("sources", Arc::new(self.sources.finish())),
            ("origins", Arc::new(self.origins.finish())),
            ("first_seen_at", Arc::new(self.first_seen.finish())),
            ("last_seen_at", Arc::new(self.last_seen.finish())),
        ]);
        let arrays: Vec<ArrayRef> = COLUMNS
            .iter()
            .map(|c| {
                by_name
                    .remove(c)
                    .ok_or_else(|| format!("no golden column {c}"))
            })
            .collect::<Result<_, _>>()?;
        let fields: Vec<Field> = COLUMNS
            .iter()
            .zip(&arrays)
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_rank_prefers_the_first_listed_origin() {
        let p: Vec<String> = ["form", "purchased", "open"].map(String::from).into();
        assert!(origin_rank("form", &p) > origin_rank("purchased", &p));
        assert!(origin_rank("purchased", &p) > origin_rank("open", &p));
        assert_eq!(origin_rank("elsewhere", &p), 0);
    }

    #[test]
    fn undated_members_rank_below_dated_ones() {
        let r = |created, record_id| Rank {
            origin: 1,
            created,
            record_id,
        };
        assert!(r(None, 9) < r(Some(0), 1));
        assert!(r(Some(5), 1) > r(Some(4), 9));
        assert!(r(Some(5), 2) > r(Some(5), 1));
    }

    #[test]
    fn name_quality_counts_parts_then_script() {
        let q = name_quality(
            Some("Иванов"),
            Some("Иван"),
            Some("Иванович"),
            "Иванов Иван Иванович",
        );
        assert_eq!(q, (3, true));
        let latin = name_quality(
            Some("Ivanov"),
            Some("Ivan"),
            Some("Ivanovich"),
            "Ivanov Ivan Ivanovich",
        );
        assert_eq!(latin, (3, false));
        assert!(q > latin);
        // An initial is not a first name.
        assert_eq!(
            name_quality(Some("Иванов"), Some("И"), None, "Иванов И.").0,
            1
        );
        assert!(name_quality(None, None, None, "Ёж").1);
    }
}
