//! The `records` table: one clean record per raw row that normalising accepted (its
//! record_id is its raw_id). One list of its columns, [`COLUMNS`], gives the table's DDL,
//! the Arrow batches records land from (column order and types), and which text held
//! records keep dictionary-encoded.

use crate::landing::{batch, repeat_i64, same_text, text_column};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Array, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use duckdb::arrow::record_batch::RecordBatch;
use leadpipe_core::record::CleanRecord;
use std::sync::Arc;

use super::BatchOrigin;

/// One column of `records`: how it is declared and how the import fills it.
pub(crate) struct Column {
    pub(crate) name: &'static str,
    /// Its type and constraints as declared.
    sql: &'static str,
    /// Comment lines the DDL shows above it (why its compression, say).
    note: &'static [&'static str],
    fill: Fill,
    /// Text with a handful of distinct values (codes, kinds) that records held for
    /// deduplication keep dictionary-encoded (see `held`).
    pub(crate) repetitive: bool,
}

/// Where a column's values come from when records land.
#[derive(Clone, Copy)]
enum Fill {
    /// The raw row's id (a record's id is its raw row's).
    RawId,
    /// The record's earlier lead (NULL for new records).
    LeadId,
    RunId,
    /// The same text on every row of a batch.
    Batch(for<'a> fn(&BatchOrigin<'a>) -> &'a str),
    SourceRow,
    Text(fn(&CleanRecord) -> Option<&str>),
    Flag(fn(&CleanRecord) -> Option<bool>),
    Time(fn(&CleanRecord) -> Option<DateTime<Utc>>),
    Minutes(fn(&CleanRecord) -> Option<i32>),
    /// The numbers besides the first.
    MoreNumbers,
    /// Where inferred values came from, as JSON (see [`enrichment_sources`]).
    Provenance,
    /// Not landed by the import: NULL.
    NotLanded,
}

const fn col(name: &'static str, sql: &'static str, fill: Fill) -> Column {
    Column {
        name,
        sql,
        note: &[],
        fill,
        repetitive: false,
    }
}

impl Column {
    const fn noted(self, note: &'static [&'static str]) -> Column {
        Column { note, ..self }
    }

    const fn repetitive(self) -> Column {
        Column {
            repetitive: true,
            ..self
        }
    }
}

const TEXT: &str = "VARCHAR";
const LONG_TEXT: &str = "VARCHAR USING COMPRESSION zstd";
const LONG_TEXT_NOTE: &[&str] = &[
    "zstd for the long, nearly unique text (as typed, e-mails, names): dictionary +",
    "FSST spent 10% more CPU on the 1M-row table for 8% less file (5.5 vs 5.0 s on one",
    "thread, 80 vs 87 MB); short or repetitive columns keep DuckDB's choice.",
];

/// The columns of `records`, in table order: the row's origin, the fields as typed and as
/// cleaned, the consent fields, then what local enrichment inferred and from what.
pub(crate) const COLUMNS: [Column; 59] = [
    col("record_id", "BIGINT NOT NULL", Fill::RawId),
    col("raw_id", "BIGINT NOT NULL", Fill::RawId),
    col("run_id", "BIGINT NOT NULL", Fill::RunId),
    col("source", "VARCHAR NOT NULL", Fill::Batch(|at| at.source)),
    col(
        "file_hash",
        "VARCHAR NOT NULL",
        Fill::Batch(|at| at.file_hash),
    ),
    col("source_row", "BIGINT NOT NULL", Fill::SourceRow),
    col("origin", "VARCHAR NOT NULL", Fill::Batch(|at| at.origin)),
    col("lead_id", "BIGINT", Fill::LeadId),
    col(
        "phone_raw",
        LONG_TEXT,
        Fill::Text(|r| r.phone_raw.as_deref()),
    )
    .noted(LONG_TEXT_NOTE),
    col("phone_e164", TEXT, Fill::Text(|r| r.phone_e164.as_deref())),
    col("phone_type", TEXT, Fill::Text(|r| r.phone_type.as_deref())).repetitive(),
    col("phone_ext", TEXT, Fill::Text(|r| r.phone_ext.as_deref())),
    col(
        "phone_region",
        TEXT,
        Fill::Text(|r| r.phone_region.as_deref()),
    )
    .repetitive(),
    col("phones_extra", "VARCHAR[]", Fill::MoreNumbers),
    col(
        "phone_problem",
        TEXT,
        Fill::Text(|r| r.phone_problem.as_deref()),
    )
    .repetitive(),
    col(
        "email_raw",
        LONG_TEXT,
        Fill::Text(|r| r.email_raw.as_deref()),
    ),
    col("email", LONG_TEXT, Fill::Text(|r| r.email.as_deref())),
    col(
        "email_is_role",
        "BOOLEAN",
        Fill::Flag(|r| Some(r.email_is_role)),
    ),
    col(
        "email_is_disposable",
        "BOOLEAN",
        Fill::Flag(|r| Some(r.email_is_disposable)),
    ),
    col(
        "email_suggestion",
        TEXT,
        Fill::Text(|r| r.email_suggestion.as_deref()),
    ),
    col(
        "email_problem",
        TEXT,
        Fill::Text(|r| r.email_problem.as_deref()),
    )
    .repetitive(),
    col(
        "full_name",
        LONG_TEXT,
        Fill::Text(|r| r.full_name.as_deref()),
    ),
    col("last_name", TEXT, Fill::Text(|r| r.last_name.as_deref())),
    col("first_name", TEXT, Fill::Text(|r| r.first_name.as_deref())),
    col(
        "middle_name",
        TEXT,
        Fill::Text(|r| r.middle_name.as_deref()),
    ),
    col("gender", TEXT, Fill::Text(|r| r.gender.as_deref())).repetitive(),
    col("name_key", LONG_TEXT, Fill::Text(|r| r.name_key.as_deref())),
    col("company", TEXT, Fill::Text(|r| r.company.as_deref())),
    col("position", TEXT, Fill::Text(|r| r.position.as_deref())),
    col("city", TEXT, Fill::Text(|r| r.city.as_deref())),
    col("region", TEXT, Fill::Text(|r| r.region.as_deref())),
    col("address", TEXT, Fill::Text(|r| r.address.as_deref())),
    col("inn", TEXT, Fill::Text(|r| r.inn.as_deref())),
    col("ogrn", TEXT, Fill::Text(|r| r.ogrn.as_deref())),
    col("website", TEXT, Fill::Text(|r| r.website.as_deref())),
    col("comment", TEXT, Fill::Text(|r| r.comment.as_deref())),
    col("created_at", "TIMESTAMPTZ", Fill::Time(|r| r.created_at)),
    col(
        "consent_raw",
        TEXT,
        Fill::Text(|r| r.consent_raw.as_deref()),
    ),
    col("consent_given", "BOOLEAN", Fill::Flag(|r| r.consent_given)),
    col("consent_at", "TIMESTAMPTZ", Fill::Time(|r| r.consent_at)),
    col(
        "consent_text_version",
        TEXT,
        Fill::Text(|r| r.consent_text_version.as_deref()),
    ),
    col("form_url", TEXT, Fill::Text(|r| r.form_url.as_deref())),
    col("ip", TEXT, Fill::Text(|r| r.ip.as_deref())),
    col("user_agent", TEXT, Fill::Text(|r| r.user_agent.as_deref())),
    // Declared since enrichment first inferred it, never landed: the import leaves it NULL
    // (landing it would change what a run writes, so it waits for a change of its own).
    col("first_name_canonical", TEXT, Fill::NotLanded),
    col(
        "city_canonical",
        TEXT,
        Fill::Text(|r| r.enriched.city_canonical.as_deref()),
    ),
    col(
        "region_code",
        TEXT,
        Fill::Text(|r| r.enriched.region_code.as_deref()),
    )
    .repetitive(),
    col(
        "timezone",
        TEXT,
        Fill::Text(|r| r.enriched.timezone.as_deref()),
    )
    .repetitive(),
    col(
        "utc_offset_minutes",
        "INTEGER",
        Fill::Minutes(|r| r.enriched.utc_offset_minutes),
    ),
    col(
        "phone_geo",
        TEXT,
        Fill::Text(|r| r.enriched.phone_geo.as_deref()),
    ),
    col(
        "phone_operator_range",
        TEXT,
        Fill::Text(|r| r.enriched.phone_operator_range.as_deref()),
    ),
    col(
        "company_legal_form",
        TEXT,
        Fill::Text(|r| r.enriched.company_legal_form.as_deref()),
    )
    .repetitive(),
    col(
        "company_key",
        TEXT,
        Fill::Text(|r| r.enriched.company_key.as_deref()),
    ),
    col("inn_valid", "BOOLEAN", Fill::Flag(|r| r.enriched.inn_valid)),
    col(
        "ogrn_valid",
        "BOOLEAN",
        Fill::Flag(|r| r.enriched.ogrn_valid),
    ),
    col(
        "subject_type",
        TEXT,
        Fill::Text(|r| r.enriched.subject_type.as_deref()),
    )
    .repetitive(),
    col(
        "email_kind",
        TEXT,
        Fill::Text(|r| r.enriched.email_kind.as_deref()),
    )
    .repetitive(),
    col(
        "website_hint",
        TEXT,
        Fill::Text(|r| r.enriched.website_hint.as_deref()),
    ),
    col("enrichment_source", "JSON", Fill::Provenance),
];

/// The DDL of `records`, from [`COLUMNS`].
pub(crate) fn ddl() -> String {
    crate::schema::create_table("records", COLUMNS.iter().map(|c| (c.name, c.sql, c.note)))
}

impl Store {
    /// Lands clean records; `ids[i]` is the raw_id of `records[i]`, which is also its
    /// record_id (a record is a function of its raw row, so ids survive re-normalising).
    /// `lead_ids` is NULL for new records (deduplication assigns them) and the earlier
    /// lead for re-normalised ones, so lead ids stay stable.
    pub fn append_records(
        &self,
        at: &BatchOrigin,
        ids: &[i64],
        lead_ids: &[Option<i64>],
        records: &[CleanRecord],
    ) -> Result<(), StoreError> {
        self.land("records", vec![records_batch(at, ids, lead_ids, records)?])
    }
}

/// Clean records as an Arrow batch for `records`; `ids[i]` is the raw_id (= record_id) of
/// `records[i]`, `lead_ids[i]` its earlier lead (NULL for new records). Pure CPU work, so
/// import builds it on the normalising threads while the previous batch lands.
pub fn records_batch(
    at: &BatchOrigin,
    ids: &[i64],
    lead_ids: &[Option<i64>],
    records: &[CleanRecord],
) -> Result<RecordBatch, StoreError> {
    records_batch_with(at, ids, lead_ids, records, false)
}

/// [`records_batch`]; when `compact` (records held for deduplication, see `held`), the
/// repetitive text built here (`enrichment_source`, the batch's source columns) is made
/// dictionary-encoded directly instead of being written out per row and encoded after.
pub(crate) fn records_batch_with(
    at: &BatchOrigin,
    ids: &[i64],
    lead_ids: &[Option<i64>],
    records: &[CleanRecord],
    compact: bool,
) -> Result<RecordBatch, StoreError> {
    let landing = Landing {
        at,
        ids: Arc::new(Int64Array::from(ids.to_vec())),
        lead_ids,
        records,
        compact,
    };
    let mut cols: Vec<(&str, ArrayRef)> = Vec::with_capacity(COLUMNS.len());
    for c in &COLUMNS {
        if let Some(values) = landing.column(c.fill)? {
            cols.push((c.name, values));
        }
    }
    batch("records", cols)
}

/// One batch of records being made into columns.
struct Landing<'a> {
    at: &'a BatchOrigin<'a>,
    /// Shared by `record_id` and `raw_id`.
    ids: ArrayRef,
    lead_ids: &'a [Option<i64>],
    records: &'a [CleanRecord],
    compact: bool,
}

impl Landing<'_> {
    /// The values of a column filled by `fill`; `None` for a column not landed.
    fn column(&self, fill: Fill) -> Result<Option<ArrayRef>, StoreError> {
        let (records, n) = (self.records, self.records.len());
        Ok(Some(match fill {
            Fill::RawId => self.ids.clone(),
            Fill::LeadId => Arc::new(Int64Array::from(self.lead_ids.to_vec())),
            Fill::RunId => repeat_i64(self.at.run_id, n),
            Fill::Batch(f) => same_text(f(self.at), n, self.compact),
            Fill::SourceRow => {
                let mut b = Int64Builder::with_capacity(n);
                for r in records {
                    b.append_value(r.source_row as i64);
                }
                Arc::new(b.finish())
            }
            Fill::Text(f) => text_column(records, f),
            Fill::Flag(f) => {
                let mut b = BooleanBuilder::with_capacity(n);
                for r in records {
                    b.append_option(f(r));
                }
                Arc::new(b.finish())
            }
            Fill::Time(f) => {
                let mut b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
                for r in records {
                    b.append_option(f(r).map(|d| d.timestamp_micros()));
                }
                Arc::new(b.finish())
            }
            Fill::Minutes(f) => {
                let mut b = Int32Builder::with_capacity(n);
                for r in records {
                    b.append_option(f(r));
                }
                Arc::new(b.finish())
            }
            Fill::MoreNumbers => {
                let mut b = ListBuilder::new(StringBuilder::new());
                for r in records {
                    for p in &r.phones_extra {
                        b.values().append_value(p);
                    }
                    b.append(true);
                }
                Arc::new(b.finish())
            }
            Fill::Provenance => enrichment_sources(records, self.compact)?,
            Fill::NotLanded => return Ok(None),
        }))
    }
}

/// The `enrichment_source` column. A list has a few dozen distinct patterns of where
/// inferred values came from, so each pattern is written as JSON once per batch, not once
/// per record (~0.4 s of CPU per 1M rows), as a dictionary, or expanded to plain text.
fn enrichment_sources(records: &[CleanRecord], dictionary: bool) -> Result<ArrayRef, StoreError> {
    use duckdb::arrow::array::{DictionaryArray, Int32Builder};
    use duckdb::arrow::datatypes::{DataType, Int32Type};
    let failed = |e: duckdb::arrow::error::ArrowError| StoreError::Batch {
        table: "records",
        message: format!("enrichment_source: {e}"),
    };
    let mut index: rustc_hash::FxHashMap<&[(&str, &str)], i32> = Default::default();
    let mut patterns = StringBuilder::new();
    let mut keys = Int32Builder::with_capacity(records.len());
    for r in records {
        let sources = r.enriched.sources.as_slice();
        if sources.is_empty() {
            keys.append_null();
            continue;
        }
        let next = index.len() as i32;
        keys.append_value(*index.entry(sources).or_insert_with(|| {
            patterns.append_value(leadpipe_core::record::sources_json(sources));
            next
        }));
    }
    let column: ArrayRef = Arc::new(
        DictionaryArray::<Int32Type>::try_new(keys.finish(), Arc::new(patterns.finish()))
            .map_err(failed)?,
    );
    if dictionary {
        Ok(column)
    } else {
        duckdb::arrow::compute::cast(&column, &DataType::Utf8).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `records` DDL as bases were created with before it was generated: a change
    /// here is a schema change (a new fingerprint; see `schema`), to be made on purpose.
    const DECLARED: &str = r#"CREATE TABLE IF NOT EXISTS records (
    record_id BIGINT NOT NULL,
    raw_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file_hash VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    origin VARCHAR NOT NULL,
    lead_id BIGINT,
    -- zstd for the long, nearly unique text (as typed, e-mails, names): dictionary +
    -- FSST spent 10% more CPU on the 1M-row table for 8% less file (5.5 vs 5.0 s on one
    -- thread, 80 vs 87 MB); short or repetitive columns keep DuckDB's choice.
    phone_raw VARCHAR USING COMPRESSION zstd,
    phone_e164 VARCHAR,
    phone_type VARCHAR,
    phone_ext VARCHAR,
    phone_region VARCHAR,
    phones_extra VARCHAR[],
    phone_problem VARCHAR,
    email_raw VARCHAR USING COMPRESSION zstd,
    email VARCHAR USING COMPRESSION zstd,
    email_is_role BOOLEAN,
    email_is_disposable BOOLEAN,
    email_suggestion VARCHAR,
    email_problem VARCHAR,
    full_name VARCHAR USING COMPRESSION zstd,
    last_name VARCHAR,
    first_name VARCHAR,
    middle_name VARCHAR,
    gender VARCHAR,
    name_key VARCHAR USING COMPRESSION zstd,
    company VARCHAR,
    position VARCHAR,
    city VARCHAR,
    region VARCHAR,
    address VARCHAR,
    inn VARCHAR,
    ogrn VARCHAR,
    website VARCHAR,
    comment VARCHAR,
    created_at TIMESTAMPTZ,
    consent_raw VARCHAR,
    consent_given BOOLEAN,
    consent_at TIMESTAMPTZ,
    consent_text_version VARCHAR,
    form_url VARCHAR,
    ip VARCHAR,
    user_agent VARCHAR,
    first_name_canonical VARCHAR,
    city_canonical VARCHAR,
    region_code VARCHAR,
    timezone VARCHAR,
    utc_offset_minutes INTEGER,
    phone_geo VARCHAR,
    phone_operator_range VARCHAR,
    company_legal_form VARCHAR,
    company_key VARCHAR,
    inn_valid BOOLEAN,
    ogrn_valid BOOLEAN,
    subject_type VARCHAR,
    email_kind VARCHAR,
    website_hint VARCHAR,
    enrichment_source JSON
);
"#;

    #[test]
    fn the_ddl_is_the_one_bases_were_created_with() {
        assert_eq!(ddl(), DECLARED);
    }

    #[test]
    fn a_batch_holds_every_landed_column_in_table_order() {
        let at = BatchOrigin {
            run_id: 1,
            source: "s.csv",
            file_hash: "abc",
            origin: "form",
        };
        let records = vec![CleanRecord::default(); 2];
        let batch = records_batch(&at, &[1, 2], &[None, Some(7)], &records).unwrap();
        let landed: Vec<&str> = COLUMNS
            .iter()
            .filter(|c| !matches!(c.fill, Fill::NotLanded))
            .map(|c| c.name)
            .collect();
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, landed);
    }
}
