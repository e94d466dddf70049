//! External enrichment: `enrichment_cache` keeps every provider answer by lookup key (so
//! a re-run asks again only for what it never asked), and the fields a provider fills are
//! written into `records` with the provider named in `enrichment_source`.

use crate::{db, Store, StoreError};
use duckdb::params;
use std::collections::HashMap;

/// Provider answers as received (HTTP status and body), by provider and lookup key.
pub(crate) const ENRICHMENT_CACHE: &str = r#"CREATE TABLE IF NOT EXISTS enrichment_cache (
    provider VARCHAR NOT NULL,
    lookup_key VARCHAR NOT NULL,
    status INTEGER NOT NULL,
    body VARCHAR,
    fetched_at TIMESTAMPTZ NOT NULL
);
"#;

impl Store {
    /// Records an external provider could help: they have the lookup key and lack at
    /// least one field it fills. `only_new` limits this to records without a lead yet.
    /// Returns (record_id, key value).
    pub fn records_to_enrich(
        &self,
        key: &str,
        fill: &[&str],
        only_new: bool,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        // Column names come from fixed allow-lists (enrich::provider::KEYS / FILLABLE).
        let missing = fill
            .iter()
            .map(|f| format!("{f} IS NULL"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let new = if only_new { "AND lead_id IS NULL" } else { "" };
        let sql = format!(
            "SELECT record_id, {key}::VARCHAR FROM records
             WHERE {key} IS NOT NULL {new} AND ({missing}) ORDER BY record_id"
        );
        let mut stmt = self
            .conn
            .prepare(&sql)
            .map_err(db("finding records to enrich"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db("finding records to enrich"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("finding records to enrich"))
    }

    /// Cached provider answers by key: (HTTP status, body).
    pub fn cached_answers(
        &self,
        provider: &str,
    ) -> Result<HashMap<String, (u16, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT lookup_key, status, coalesce(body, '') FROM enrichment_cache WHERE provider = ?")
            .map_err(db("reading the enrichment cache"))?;
        let rows = stmt
            .query_map(params![provider], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (r.get::<_, i32>(1)? as u16, r.get::<_, String>(2)?),
                ))
            })
            .map_err(db("reading the enrichment cache"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("reading the enrichment cache"))
    }

    pub fn cache_answer(
        &self,
        provider: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO enrichment_cache VALUES (?, ?, ?, ?, now())",
                params![provider, key, status as i32, body],
            )
            .map_err(db("writing the enrichment cache"))?;
        Ok(())
    }

    /// Sets `field` on a record if it is still empty, and notes the provider as its source.
    pub fn fill_from_provider(
        &self,
        record_id: i64,
        field: &str,
        value: &str,
        provider: &str,
    ) -> Result<bool, StoreError> {
        let source = serde_json::json!({ field: format!("provider:{provider}") }).to_string();
        let n = self
            .conn
            .execute(
                &format!(
                    "UPDATE records SET {field} = ?,
                        enrichment_source = json_merge_patch(coalesce(enrichment_source, '{{}}'::JSON), ?::JSON)
                     WHERE record_id = ? AND {field} IS NULL"
                ),
                params![value, source, record_id],
            )
            .map_err(db("filling a field from a provider"))?;
        Ok(n > 0)
    }
}
