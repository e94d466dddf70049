//! Golden records: one row per lead from its member records, by survivorship.
//!
//! Members are ranked best first by preferred origin (form data beats purchased data by
//! default), then most recent `created_at` (undated records last), then latest landed
//! (highest `record_id`). Then, per field:
//!
//! * **name**, whole from one member: the fullest (surname, first name and patronymic,
//!   each written out rather than as an initial), Cyrillic before Latin, then the
//!   best-ranked; among members whose name differs from that one only by ё/е, the one
//!   written with ё (ё is the correct spelling: Семёнов, not Семенов);
//! * **city, region, company, gender, ИНН, subject type**: the value most members give,
//!   compared after canonicalising (a city by the gazetteer's name, so СПб, Питер and
//!   Санкт-Петербург are one vote; a company by its name without the legal form; other
//!   text up to case and ё/е); among values given equally often, the best-ranked member's.
//!   The city is spelt as most of the members naming it wrote it, `city_canonical` is the
//!   gazetteer's name. The region is the one that city's members give (else the one most
//!   members give), `region_name` the gazetteer's name for its code; the time zone and
//!   offset travel together from the best-ranked member in that region. The legal form
//!   comes with the company, from the best-ranked member naming it;
//! * **phone, e-mail**: the best-ranked member's (a person's newest number from the
//!   preferred origin is the one to dial); `phones`, `emails`, `sources`, `origins` list
//!   every value.
//!
//! This used to be one DuckDB query (a `row_number` window and `arg_max` per field): ~4 s
//! of the 1M-row run under DuckDB's 512 MB memory limit. Here the members are read once
//! as Arrow, sorted by (lead, rank) as 24-byte keys, and each lead is one pass over its
//! members (votes tally the few distinct values a lead has); the strings are borrowed from
//! the Arrow batches until the output is built. The rules themselves are in `rules`.

mod rules;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Builder, Int64Builder, ListBuilder, StringArray, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{Field, Int32Type, Int64Type, Schema};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
pub use rules::{best_name, majority, name_quality, same_text, NameParts, NameQuality};
use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;

/// The member columns [`build`] reads, in this order: `lead_id`, then [`MEMBER_FIELDS`]
/// (times as microseconds since the epoch).
pub fn members_sql() -> String {
    format!(
        "SELECT {} FROM records WHERE lead_id IS NOT NULL",
        member_columns()
    )
}

/// The select list of [`members_sql`]: `lead_id`, then [`MEMBER_FIELDS`].
pub fn member_columns() -> String {
    let fields: Vec<String> = MEMBER_FIELDS
        .iter()
        .map(|&f| match f {
            "created_at" => "epoch_us(created_at) AS created_at".to_string(),
            "full_name" => format!("{FULL_NAME_OF_PARTS} AS full_name"),
            f => f.to_string(),
        })
        .collect();
    format!("lead_id, {}", fields.join(", "))
}

/// A record's `full_name` as normalisation writes it: the name parts it has, joined by
/// spaces. Members read it this way rather than from the column: at 10M records the
/// column (long, nearly unique, zstd) cost ~0.3 s of every increment's scan, the three
/// parts (dictionary-coded) almost nothing, and the expression runs on the kept rows only.
/// `tests/golden.rs` holds it to the stored column.
pub const FULL_NAME_OF_PARTS: &str = "CASE WHEN last_name IS NULL AND first_name IS NULL \
     AND middle_name IS NULL THEN NULL \
     ELSE concat_ws(' ', last_name, first_name, middle_name) END";

/// How many columns a member batch has ([`member_columns`]).
pub const MEMBER_COLUMNS: usize = MEMBER_FIELDS.len() + 1;

/// A member batch (first [`MEMBER_COLUMNS`] columns in [`member_columns`]' shape) with
/// each record's lead replaced by `lead_of(record_id)`: members read before a run
/// re-clustered them, given their new leads. Only the members of leads `keep` accepts
/// stay (a re-clustered lead whose members are the same needs no new golden record).
pub fn relabel(
    members: &RecordBatch,
    lead_of: impl Fn(i64) -> Option<i64>,
    keep: impl Fn(i64) -> bool,
) -> Result<RecordBatch, String> {
    use arrow::array::{AsArray, BooleanArray, Int64Array};
    use arrow::datatypes::Int64Type;
    let records = members
        .column(RECORD)
        .as_primitive_opt::<Int64Type>()
        .ok_or("record_id is not BIGINT")?;
    let leads: Int64Array = (0..records.len())
        .map(|i| {
            lead_of(records.value(i))
                .ok_or_else(|| format!("record {} has no lead", records.value(i)))
        })
        .collect::<Result<Vec<i64>, String>>()?
        .into();
    let kept: BooleanArray = leads.values().iter().map(|&l| Some(keep(l))).collect();
    let mut columns = members.columns()[..MEMBER_COLUMNS].to_vec();
    columns[0] = Arc::new(leads);
    let schema = members
        .schema()
        .project(&(0..MEMBER_COLUMNS).collect::<Vec<_>>())
        .map_err(|e| e.to_string())?;
    let relabelled = RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| e.to_string())?;
    arrow::compute::filter_record_batch(&relabelled, &kept).map_err(|e| e.to_string())
}

/// The `records` columns [`members_sql`] reads after `lead_id`, in its order: what ranks
/// members, the name, the place and company votes, [`PICKED_FIELDS`], [`VOTED_FIELDS`].
const MEMBER_FIELDS: [&str; 23] = [
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
    "city",
    "city_canonical",
    "region",
    "region_code",
    "company",
    "company_key",
    "company_legal_form",
    "phone_e164",
    "email",
    "gender",
    "inn",
    "subject_type",
];

/// Fields that take the best-ranked member's value: `leads` columns of the same name. A
/// person's newest number and address from the preferred origin are the ones to use;
/// `phones` and `emails` list every one.
const PICKED_FIELDS: [&str; 2] = ["phone_e164", "email"];

/// Fields that take the value most members give: `leads` columns of the same name.
const VOTED_FIELDS: [&str; 3] = ["gender", "inn", "subject_type"];

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
const CITY: usize = member("city");
const CITY_CANONICAL: usize = member("city_canonical");
const REGION: usize = member("region");
const REGION_CODE: usize = member("region_code");
const COMPANY: usize = member("company");
const COMPANY_KEY: usize = member("company_key");
const LEGAL_FORM: usize = member("company_legal_form");
const PHONE: usize = member("phone_e164");
const EMAIL: usize = member("email");
/// `names` by their indices in a member batch and in [`TEXT_OUT`].
const fn indexed<const N: usize>(names: [&'static str; N]) -> [(usize, usize); N] {
    let mut at = [(0, 0); N];
    let mut i = 0;
    while i < N {
        at[i] = (member(names[i]), out(names[i]));
        i += 1;
    }
    at
}
const PICKED: [(usize, usize); PICKED_FIELDS.len()] = indexed(PICKED_FIELDS);
const VOTED: [(usize, usize); VOTED_FIELDS.len()] = indexed(VOTED_FIELDS);

/// The `leads` columns of [`build`]'s batch, in order: those `leads` was created with, then
/// [`PLACE_COLUMNS`].
pub const COLUMNS: [&str; 26] = [
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
    PLACE_COLUMNS[0],
    PLACE_COLUMNS[1],
];

/// The golden columns added to `leads` after it was first created: the gazetteer's name
/// of the lead's city and of its region.
pub const PLACE_COLUMNS: [&str; 2] = ["city_canonical", "region_name"];

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

    #[inline]
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
                out.push(&Lead { cols: &cols, group });
            }
            out.finish()
        })
        .collect()
}

/// One lead's members, best first, and the votes over them.
struct Lead<'c, 'a> {
    cols: &'c [Columns<'a>],
    group: &'c [Member],
}

/// A city as a member gives it: the gazetteer's name when it knows the town, else as
/// written. Two members name the same city when the gazetteer's names are equal, or
/// (neither known) the written ones are, case and ё/е aside.
#[derive(Clone, Copy)]
enum CityKey<'a> {
    Known(&'a str),
    Written(&'a str),
}

fn same_city(a: CityKey, b: CityKey) -> bool {
    match (a, b) {
        (CityKey::Known(a), CityKey::Known(b)) => a == b,
        (CityKey::Written(a), CityKey::Written(b)) => same_text(a, b),
        _ => false,
    }
}

impl<'a> Lead<'_, 'a> {
    #[inline]
    fn text(&self, col: usize, i: usize) -> Option<&'a str> {
        let m = &self.group[i];
        self.cols[m.batch as usize].text(col, m.row as usize)
    }

    /// The best-ranked member's value of `col`.
    fn best(&self, col: usize) -> Option<&'a str> {
        (0..self.group.len()).find_map(|i| self.text(col, i))
    }

    /// The member whose value of `col` wins the vote among the members `voting`.
    fn vote(&self, col: usize, voting: impl Fn(usize) -> bool) -> Option<usize> {
        if self.group.len() == 1 {
            return (voting(0) && self.text(col, 0).is_some()).then_some(0);
        }
        let ballots = (0..self.group.len()).map(|i| voting(i).then(|| self.text(col, i)).flatten());
        majority(ballots, same_text)
    }

    fn voted(&self, col: usize) -> Option<&'a str> {
        self.vote(col, |_| true).and_then(|i| self.text(col, i))
    }

    fn city_key(&self, i: usize) -> Option<CityKey<'a>> {
        self.text(CITY_CANONICAL, i)
            .map(CityKey::Known)
            .or_else(|| self.text(CITY, i).map(CityKey::Written))
    }

    /// The member naming the city most members name (see [`CityKey`]).
    fn city(&self) -> Option<usize> {
        if self.group.len() == 1 {
            return self.city_key(0).map(|_| 0);
        }
        majority((0..self.group.len()).map(|i| self.city_key(i)), same_city)
    }

    /// The member with the golden name: the fullest, correctly spelt (see [`best_name`]).
    fn name(&self) -> Option<usize> {
        best_name(self.group.len(), |i| {
            Some(NameParts {
                full: self.text(FULL_NAME, i)?,
                last: self.text(LAST_NAME, i),
                first: self.text(FIRST_NAME, i),
                middle: self.text(MIDDLE_NAME, i),
            })
        })
    }
}

/// What [`Output::push_place`] finds for a lead.
#[derive(Default)]
struct Place<'a> {
    city: Option<&'a str>,
    city_canonical: Option<&'a str>,
    region: Option<&'a str>,
    region_code: Option<&'a str>,
    region_name: Option<&'a str>,
    timezone: Option<(&'a str, Option<i32>)>,
}

impl<'a> Lead<'_, 'a> {
    /// The lead's place: the city most members name, spelt as most of them wrote it; the
    /// region that city's members give (else the one most members give), with the
    /// gazetteer's name for it; the time zone of the best-ranked member in that region.
    fn place(&self) -> Place<'a> {
        let mut place = Place::default();
        let all = |_: usize| true;
        let city = self.city();
        let city_key = city.and_then(|w| self.city_key(w));
        let in_city = |i: usize| match (city_key, self.city_key(i)) {
            (Some(w), Some(k)) => same_city(w, k),
            _ => false,
        };
        if let Some(w) = city {
            place.city_canonical = self.text(CITY_CANONICAL, w);
            place.city = self.vote(CITY, in_city).and_then(|i| self.text(CITY, i));
        }
        let code = self
            .vote(REGION_CODE, in_city)
            .or_else(|| self.vote(REGION_CODE, all))
            .and_then(|i| self.text(REGION_CODE, i));
        let in_region = |i: usize| code.is_none() || self.text(REGION_CODE, i) == code;
        place.region_code = code;
        place.region = self
            .vote(REGION, in_region)
            .and_then(|i| self.text(REGION, i));
        place.region_name = code
            .and_then(crate::enrich::gazetteer::region_by_code)
            .map(|r| r.name.as_str());
        let zone = |i: usize| {
            let tz = self.text(TIMEZONE, i)?;
            let m = &self.group[i];
            let offsets = self.cols[m.batch as usize].offset;
            let row = m.row as usize;
            Some((tz, (!offsets.is_null(row)).then(|| offsets.value(row))))
        };
        let n = self.group.len();
        place.timezone = (0..n)
            .filter(|&i| in_region(i))
            .find_map(zone)
            .or_else(|| (0..n).find_map(zone));
        place
    }

    /// The company most members name (by its name without the legal form), spelt as most
    /// of them wrote it, with the legal form of the best-ranked of them that has one.
    fn company(&self) -> (Option<&'a str>, Option<&'a str>) {
        let key = |i: usize| {
            self.text(COMPANY, i)
                .map(|c| self.text(COMPANY_KEY, i).unwrap_or(c))
        };
        let n = self.group.len();
        if n == 1 {
            return (self.text(COMPANY, 0), self.text(LEGAL_FORM, 0));
        }
        let Some(w) = majority((0..n).map(key), same_text) else {
            return (None, self.best(LEGAL_FORM));
        };
        let in_company = |i: usize| key(i).zip(key(w)).is_some_and(|(k, w)| same_text(k, w));
        let company = self
            .vote(COMPANY, in_company)
            .and_then(|i| self.text(COMPANY, i));
        let legal_form = (0..n)
            .filter(|&i| in_company(i))
            .find_map(|i| self.text(LEGAL_FORM, i));
        (company, legal_form)
    }
}

/// Text columns of `leads` [`Output::push`] fills, by name.
const TEXT_OUT: [&str; 17] = [
    "phone_e164",
    "email",
    "gender",
    "inn",
    "subject_type",
    "full_name",
    "last_name",
    "first_name",
    "middle_name",
    "company",
    "company_legal_form",
    "city",
    "city_canonical",
    "region",
    "region_code",
    "region_name",
    "timezone",
];

/// The position of `name` in [`TEXT_OUT`], found when compiling.
const fn out(name: &str) -> usize {
    let name = name.as_bytes();
    let mut i = 0;
    while i < TEXT_OUT.len() {
        let field = TEXT_OUT[i].as_bytes();
        if field.len() == name.len() {
            let mut j = 0;
            while j < name.len() && field[j] == name[j] {
                j += 1;
            }
            if j == name.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a text column of leads")
}

/// Column builders for `leads`.
struct Output {
    lead_id: Int64Builder,
    text: Vec<StringBuilder>,
    phones: ListBuilder<StringBuilder>,
    emails: ListBuilder<StringBuilder>,
    offset: Int32Builder,
    record_count: Int64Builder,
    sources: ListBuilder<StringBuilder>,
    origins: ListBuilder<StringBuilder>,
    first_seen: TimestampMicrosecondBuilder,
    last_seen: TimestampMicrosecondBuilder,
}

impl Output {
    fn new(n: usize) -> Self {
        let list = || ListBuilder::with_capacity(StringBuilder::new(), n);
        let ts = || TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        Output {
            lead_id: Int64Builder::with_capacity(n),
            text: TEXT_OUT
                .iter()
                .map(|_| StringBuilder::with_capacity(n, n * 16))
                .collect(),
            phones: list(),
            emails: list(),
            offset: Int32Builder::with_capacity(n),
            record_count: Int64Builder::with_capacity(n),
            sources: list(),
            origins: list(),
            first_seen: ts(),
            last_seen: ts(),
        }
    }

    #[inline]
    fn set(&mut self, column: usize, value: Option<&str>) {
        self.text[column].append_option(value);
    }

    /// Appends the golden record of one lead.
    fn push(&mut self, lead: &Lead) {
        self.lead_id.append_value(lead.group[0].lead_id);
        for &(col, at) in PICKED.iter() {
            self.set(at, lead.best(col));
        }
        for &(col, at) in VOTED.iter() {
            self.set(at, lead.voted(col));
        }
        let name = lead.name();
        for (col, column) in [
            (FULL_NAME, const { out("full_name") }),
            (LAST_NAME, const { out("last_name") }),
            (FIRST_NAME, const { out("first_name") }),
            (MIDDLE_NAME, const { out("middle_name") }),
        ] {
            self.set(column, name.and_then(|i| lead.text(col, i)));
        }
        let (company, legal_form) = lead.company();
        self.set(const { out("company") }, company);
        self.set(const { out("company_legal_form") }, legal_form);
        let place = lead.place();
        self.set(const { out("city") }, place.city);
        self.set(const { out("city_canonical") }, place.city_canonical);
        self.set(const { out("region") }, place.region);
        self.set(const { out("region_code") }, place.region_code);
        self.set(const { out("region_name") }, place.region_name);
        self.set(const { out("timezone") }, place.timezone.map(|t| t.0));
        self.offset.append_option(place.timezone.and_then(|t| t.1));
        self.push_lists(lead.cols, lead.group);
    }

    /// Every phone, e-mail, source and origin of the lead; its member count and dates.
    fn push_lists(&mut self, cols: &[Columns], group: &[Member]) {
        let at = |m: &Member| (&cols[m.batch as usize], m.row as usize);
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
        // By column name, then put in the order of COLUMNS.
        let mut by_name: HashMap<&str, ArrayRef> = TEXT_OUT
            .into_iter()
            .zip(self.text.iter_mut())
            .map(|(name, b)| (name, Arc::new(b.finish()) as ArrayRef))
            .collect();
        by_name.extend([
            ("lead_id", Arc::new(self.lead_id.finish()) as ArrayRef),
            ("phones", Arc::new(self.phones.finish())),
            ("emails", Arc::new(self.emails.finish())),
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
}
