//! The `records` table: one clean record per raw row that normalising accepted (its
//! record_id is its raw_id), the Arrow batches it lands from, and the records' lead ids.

use crate::landing::{batch, repeat_i64, same_text, text_column};
use crate::{Store, StoreError};
use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use duckdb::arrow::record_batch::RecordBatch;
use leadpipe_core::record::CleanRecord;
use std::sync::Arc;

use super::BatchOrigin;

/// One row per accepted raw row: the fields as typed and as cleaned, what local
/// enrichment inferred (and from what), the consent fields, and the lead it belongs to.
const RECORDS: &str = r#"CREATE TABLE IF NOT EXISTS records (
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

/// The DDL of `records`.
pub(crate) fn ddl() -> String {
    RECORDS.to_string()
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
    let n = records.len();
    let ids_array: ArrayRef = Arc::new(duckdb::arrow::array::Int64Array::from(ids.to_vec()));
    let lead_array: ArrayRef = Arc::new(duckdb::arrow::array::Int64Array::from(lead_ids.to_vec()));
    let mut source_row = Int64Builder::with_capacity(n);
    let mut extra = ListBuilder::new(StringBuilder::new());
    for r in records {
        source_row.append_value(r.source_row as i64);
        for p in &r.phones_extra {
            extra.values().append_value(p);
        }
        extra.append(true);
    }
    let s = |f: fn(&CleanRecord) -> Option<&str>| text_column(records, f);
    let b = |f: fn(&CleanRecord) -> Option<bool>| -> ArrayRef {
        let mut b = BooleanBuilder::with_capacity(n);
        for r in records {
            b.append_option(f(r));
        }
        Arc::new(b.finish())
    };
    let ts = |f: fn(&CleanRecord) -> Option<chrono::DateTime<chrono::Utc>>| -> ArrayRef {
        let mut b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        for r in records {
            b.append_option(f(r).map(|d| d.timestamp_micros()));
        }
        Arc::new(b.finish())
    };
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("record_id", ids_array.clone()),
        ("raw_id", ids_array.clone()),
        ("run_id", repeat_i64(at.run_id, n)),
        ("source", same_text(at.source, n, compact)),
        ("file_hash", same_text(at.file_hash, n, compact)),
        ("source_row", Arc::new(source_row.finish())),
        ("origin", same_text(at.origin, n, compact)),
        ("lead_id", lead_array),
        ("phone_raw", s(|r| r.phone_raw.as_deref())),
        ("phone_e164", s(|r| r.phone_e164.as_deref())),
        ("phone_type", s(|r| r.phone_type.as_deref())),
        ("phone_ext", s(|r| r.phone_ext.as_deref())),
        ("phone_region", s(|r| r.phone_region.as_deref())),
        ("phones_extra", Arc::new(extra.finish())),
        ("phone_problem", s(|r| r.phone_problem.as_deref())),
        ("email_raw", s(|r| r.email_raw.as_deref())),
        ("email", s(|r| r.email.as_deref())),
        ("email_is_role", b(|r| Some(r.email_is_role))),
        ("email_is_disposable", b(|r| Some(r.email_is_disposable))),
        ("email_suggestion", s(|r| r.email_suggestion.as_deref())),
        ("email_problem", s(|r| r.email_problem.as_deref())),
        ("full_name", s(|r| r.full_name.as_deref())),
        ("last_name", s(|r| r.last_name.as_deref())),
        ("first_name", s(|r| r.first_name.as_deref())),
        ("middle_name", s(|r| r.middle_name.as_deref())),
        ("gender", s(|r| r.gender.as_deref())),
        ("name_key", s(|r| r.name_key.as_deref())),
        ("company", s(|r| r.company.as_deref())),
        ("position", s(|r| r.position.as_deref())),
        ("city", s(|r| r.city.as_deref())),
        ("region", s(|r| r.region.as_deref())),
        ("address", s(|r| r.address.as_deref())),
        ("inn", s(|r| r.inn.as_deref())),
        ("ogrn", s(|r| r.ogrn.as_deref())),
        ("website", s(|r| r.website.as_deref())),
        ("comment", s(|r| r.comment.as_deref())),
        ("created_at", ts(|r| r.created_at)),
        ("consent_raw", s(|r| r.consent_raw.as_deref())),
        ("consent_given", b(|r| r.consent_given)),
        ("consent_at", ts(|r| r.consent_at)),
        (
            "consent_text_version",
            s(|r| r.consent_text_version.as_deref()),
        ),
        ("form_url", s(|r| r.form_url.as_deref())),
        ("ip", s(|r| r.ip.as_deref())),
        ("user_agent", s(|r| r.user_agent.as_deref())),
        (
            "city_canonical",
            s(|r| r.enriched.city_canonical.as_deref()),
        ),
        ("region_code", s(|r| r.enriched.region_code.as_deref())),
        ("timezone", s(|r| r.enriched.timezone.as_deref())),
        ("utc_offset_minutes", {
            let mut b = duckdb::arrow::array::Int32Builder::with_capacity(n);
            for r in records {
                b.append_option(r.enriched.utc_offset_minutes);
            }
            Arc::new(b.finish())
        }),
        ("phone_geo", s(|r| r.enriched.phone_geo.as_deref())),
        (
            "phone_operator_range",
            s(|r| r.enriched.phone_operator_range.as_deref()),
        ),
        (
            "company_legal_form",
            s(|r| r.enriched.company_legal_form.as_deref()),
        ),
        ("company_key", s(|r| r.enriched.company_key.as_deref())),
        ("inn_valid", b(|r| r.enriched.inn_valid)),
        ("ogrn_valid", b(|r| r.enriched.ogrn_valid)),
        ("subject_type", s(|r| r.enriched.subject_type.as_deref())),
        ("email_kind", s(|r| r.enriched.email_kind.as_deref())),
        ("website_hint", s(|r| r.enriched.website_hint.as_deref())),
        ("enrichment_source", enrichment_sources(records, compact)?),
    ];
    batch("records", cols)
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
