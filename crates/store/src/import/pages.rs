//! The `pages` table: every page the crawler fetched for an open-web source (URL, time,
//! status, hash, body, or why not), so a reviewer can see where a contact came from and a
//! re-run can reuse good copies.

use crate::{db, Store, StoreError};
use duckdb::params;
use leadpipe_core::sources::fetch::Page;
use std::collections::HashMap;

/// Pages fetched, kept whole (bodies as fetched).
pub(crate) const PAGES: &str = r#"CREATE TABLE IF NOT EXISTS pages (
    source VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    run_id BIGINT,
    fetched_at TIMESTAMPTZ NOT NULL,
    status INTEGER,
    content_type VARCHAR,
    content_hash VARCHAR,
    body BLOB,
    error VARCHAR
);
"#;

impl Store {
    /// The latest good (2xx) copy of every page of a source, for re-runs without
    /// `--refresh`; pages that failed are fetched again.
    pub fn cached_pages(&self, source: &str) -> Result<HashMap<String, Page>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT url, status, content_type, body, error, fetched_at FROM pages
                 WHERE source = ? AND body IS NOT NULL AND status BETWEEN 200 AND 299
                 QUALIFY row_number() OVER (PARTITION BY url ORDER BY fetched_at DESC) = 1",
            )
            .map_err(db("reading kept pages"))?;
        let rows = stmt
            .query_map(params![source], |r| {
                Ok(Page {
                    url: r.get(0)?,
                    status: r.get::<_, Option<i32>>(1)?.map(|s| s as u16),
                    content_type: r.get(2)?,
                    body: r.get(3)?,
                    error: r.get(4)?,
                    fetched_at: r.get(5)?,
                    from_cache: true,
                    redirect_to: None,
                })
            })
            .map_err(db("reading kept pages"))?;
        let mut out = HashMap::new();
        for row in rows {
            let p = row.map_err(db("reading kept pages"))?;
            out.insert(p.url.clone(), p);
        }
        Ok(out)
    }

    /// Keeps every page fetched in this run (URL, time, status, hash, body, or why not),
    /// so a reviewer can see where a contact came from.
    pub fn keep_pages(&self, source: &str, run_id: i64, pages: &[Page]) -> Result<(), StoreError> {
        use sha2::{Digest, Sha256};
        for p in pages.iter().filter(|p| !p.from_cache) {
            let hash = p.body.as_deref().map(|b| hex::encode(Sha256::digest(b)));
            self.conn
                .execute(
                    "INSERT INTO pages VALUES (?, ?, ?, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?)",
                    params![
                        source,
                        p.url,
                        run_id,
                        p.fetched_at.to_rfc3339(),
                        p.status.map(i32::from),
                        p.content_type,
                        hash,
                        p.body,
                        p.error
                    ],
                )
                .map_err(db("keeping a fetched page"))?;
        }
        Ok(())
    }
}
