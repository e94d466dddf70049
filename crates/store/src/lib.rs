//! leadpipe's DuckDB base. The generic part lives here and beside it: opening a base
//! (locks in `lock`, the schema registry in `schema`), transactions and checkpoints,
//! `leadpipe_meta`, and Arrow in and out (`landing`, over the table function in `scan`).
//! Each stage owns its tables, their DDL and their queries, in a module of its own: `runs`,
//! `import` (files, raw rows, records, rejects, fetched pages), `enrich` (the provider
//! cache), `dedupe` (links, weights, refusals, golden records), `consent`, `warmth` and
//! `erasure`.

use duckdb::{params, Connection};
use std::path::{Path, PathBuf};

pub mod analysis;
pub mod consent;
pub mod contacts;
pub mod dedupe;
pub mod enrich;
pub mod erasure;
pub mod import;
mod landing;
pub mod lock;
pub mod runs;
mod scan;
mod schema;
pub mod warmth;

// The paths the commands and tests have always used.
pub use dedupe::{held, LeadExplanation, Scoring};
pub use import::{
    raw_batch, records_batch, rejects_batch, BatchOrigin, LandedFile, RawLanding, StoredRaw,
};
pub use runs::RunRow;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: duckdb::Error,
    },
    #[error(
        "database {path} is in use by {holder}; waited {:.0} s for it. What to do: {}",
        waited.as_secs_f64(),
        lock::advice(holder, *read_only)
    )]
    Locked {
        path: PathBuf,
        holder: lock::LockHolder,
        waited: std::time::Duration,
        read_only: bool,
    },
    #[error("database: {context}: {source}")]
    Db {
        context: &'static str,
        source: duckdb::Error,
    },
    #[error("database: building a batch for {table}: {message}")]
    Batch {
        table: &'static str,
        message: String,
    },
    /// A decision written by a newer leadpipe: guessing its meaning could merge people.
    #[error(
        "match_decisions: decision {id} is of kind {kind:?}, unknown to this version of leadpipe; use the version that wrote it"
    )]
    UnknownDecision { id: i64, kind: String },
    /// A run's held records could not be written to or read from their file beside the
    /// base (a full disk, say).
    #[error("held records in {path}: {message}")]
    Spill { path: PathBuf, message: String },
    /// A setting (a user's SQL segment, say) the base cannot use; the message names it.
    #[error("{0}")]
    Invalid(String),
}

/// A DuckDB setting changed for a while (see [`Store::one_thread`]); reset on drop. After
/// a failed statement inside a transaction the reset fails too (logged) until the rollback,
/// so a store is not reused after a failed run (the commands close it).
pub struct Setting<'a> {
    conn: &'a Connection,
    name: &'static str,
}

impl Drop for Setting<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.conn.execute_batch(&format!("RESET {}", self.name)) {
            tracing::warn!(error = %e, setting = self.name, "could not reset a DuckDB setting");
        }
    }
}

fn db(context: &'static str) -> impl FnOnce(duckdb::Error) -> StoreError {
    move |source| StoreError::Db { context, source }
}

/// Settings kept in the base: the schema fingerprint of the last writer, the erasure salt,
/// an erasure's pending file rewrite.
pub(crate) const META: &str = r#"CREATE TABLE IF NOT EXISTS leadpipe_meta (
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);
"#;

pub struct Store {
    conn: Connection,
    /// The database file (a run's held records spill beside it).
    path: PathBuf,
    /// Opened with [`Store::open_read_only`]: DuckDB refuses writes, so nothing tries.
    read_only: bool,
}

impl Store {
    /// Opens (or creates) the database file for writing and makes sure the schema
    /// exists. Waits up to [`lock::lock_wait`] for another process to let go of it. An
    /// erasure whose file rewrite was interrupted is finished first.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_waiting(path, lock::lock_wait())
    }

    fn open_waiting(path: &Path, wait: std::time::Duration) -> Result<Store, StoreError> {
        let store = Self::open_writable(path, wait)?;
        store.mark_interrupted_runs()?;
        if store.compaction_pending()? {
            tracing::warn!(
                db = %path.display(),
                "an erasure was interrupted before the file was rewritten; rewriting it now"
            );
            // A rewrite that fails (a full disk) must not stop the next withdrawal or
            // suppression list from landing: the rows are already gone from every table,
            // and the mark stays for the next command to try again.
            if let Err(e) = store.compact(path) {
                tracing::warn!(
                    db = %path.display(),
                    error = %e,
                    "could not rewrite the file after an erasure: the erased rows are gone from every table, but their bytes may stay in unused blocks until a rewrite succeeds (free some disk space; the next command tries again)"
                );
            }
            return Self::open_writable(path, wait);
        }
        // A copy left by a rewrite that never got its mark (or already replaced the file).
        let leftover = erasure::compacting_path(path);
        if leftover.exists() {
            let _ = std::fs::remove_file(&leftover);
        }
        Ok(store)
    }

    fn open_writable(path: &Path, wait: std::time::Duration) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(parent);
            }
        }
        let conn = lock::connect(path, false, wait)?;
        let store_path = path.to_path_buf();
        conn.register_table_function::<scan::BatchScan>(scan::FUNCTION)
            .map_err(db("registering the bulk loader"))?;
        // DuckDB's default (80% of RAM) let a 1M-row run keep ~1 GB of blocks it had
        // already written; 512 MB cost no time there (README, Benchmarks). Bigger bases or
        // heavier reports can raise it.
        let memory = std::env::var("LEADPIPE_DUCKDB_MEMORY").unwrap_or_else(|_| "512MB".into());
        conn.execute_batch(&format!(
            "SET memory_limit = '{}'",
            memory.replace('\'', "")
        ))
        .map_err(db("setting DuckDB's memory limit (LEADPIPE_DUCKDB_MEMORY)"))?;
        schema::create(&conn)?;
        let store = Store {
            conn,
            path: store_path,
            read_only: false,
        };
        store.remove_leftover_spills();
        store.mark_schema_current()?;
        store.fill_deal_superseded()?;
        Ok(store)
    }

    /// Opens an existing database for reading only (reports, call lists, the review
    /// page): no schema changes, DuckDB refuses any write, and other readers can open it
    /// at the same time. An interrupted erasure is finished first (that needs a moment of
    /// write access), so nothing reads a file that still holds erased bytes.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let store = Self::connect_read_only(path)?;
        // A base last written by an older build lacks newer columns: one short writable
        // open adds them (and finishes an interrupted erasure) before reading.
        if store.compaction_pending()? || !store.schema_current()? || store.interrupted_runs()? > 0
        {
            drop(store);
            // Briefly: beside another reader (a running `serve`) the write lock is not to
            // be had, and the base is read as it is.
            match Self::open_waiting(path, std::time::Duration::from_secs(1)) {
                Ok(writable) => drop(writable),
                Err(e) => tracing::warn!(
                    db = %path.display(),
                    error = %e,
                    "could not bring the base up to date before reading it; reading it as it is"
                ),
            }
            return Self::connect_read_only(path);
        }
        Ok(store)
    }

    fn connect_read_only(path: &Path) -> Result<Store, StoreError> {
        let conn = lock::connect(path, true, lock::lock_wait())?;
        // Readers land id lists in temporary tables (DuckDB allows those read-only).
        conn.register_table_function::<scan::BatchScan>(scan::FUNCTION)
            .map_err(db("registering the bulk loader"))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            read_only: true,
        })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn begin(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("BEGIN TRANSACTION")
            .map_err(db("starting the run's transaction"))
    }

    pub fn commit(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(db("committing the run"))
    }

    /// Moves committed changes from the write-ahead log into the database file.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("CHECKPOINT")
            .map_err(db("writing the run into the database file"))
    }

    /// Checkpoints skip DuckDB's vacuum (merging partly filled row groups) until the guard
    /// drops. For runs: their parallel INSERTs leave up to one partly filled row group per
    /// thread and table, and merging them rewrote ~260k rows at the 1M-row run's checkpoint
    /// (1.1 s, mostly `leads`, which the next run replaces anyway) and again at the next
    /// run's commit (1.1 s). Other commands' checkpoints still vacuum.
    pub fn without_vacuum(&self) -> Result<Setting<'_>, StoreError> {
        self.set_until_dropped(
            "max_vacuum_tasks",
            "0",
            "turning DuckDB's vacuum off for the run",
        )
    }

    /// Sets a DuckDB setting until the guard drops (then it is reset).
    pub(crate) fn set_until_dropped(
        &self,
        name: &'static str,
        value: &str,
        context: &'static str,
    ) -> Result<Setting<'_>, StoreError> {
        self.conn
            .execute_batch(&format!("SET {name} = {value}"))
            .map_err(db(context))?;
        Ok(Setting {
            conn: &self.conn,
            name,
        })
    }

    /// Undoes everything since `begin`; errors are ignored because the caller is already
    /// reporting the error that made it roll back.
    pub fn rollback(&self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    pub(crate) fn next_id(&self, sql: &'static str) -> Result<i64, StoreError> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map_err(db("reading the next id"))
    }

    /// True when `leadpipe_meta` exists: a reader may open a base older than that table.
    pub(crate) fn has_meta_table(&self) -> Result<bool, StoreError> {
        self.table_exists("leadpipe_meta")
    }

    /// Does the base have this view (`lead_segments`, made by the segment stage)?
    pub(crate) fn view_exists(&self, view: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM duckdb_views() WHERE view_name = ?",
                params![view],
                |r| r.get(0),
            )
            .map_err(db("looking for a view"))?;
        Ok(n > 0)
    }

    /// Does the base (or this connection's temp schema) have this table? A base written by
    /// an older version and opened read-only lacks the newer ones.
    pub(crate) fn table_exists(&self, table: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                params![table],
                |r| r.get(0),
            )
            .map_err(db("looking for a table"))?;
        Ok(n > 0)
    }

    /// A setting kept in the database (`leadpipe_meta`).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.conn.query_row(
            "SELECT value FROM leadpipe_meta WHERE key = ? LIMIT 1",
            params![key],
            |r| r.get::<_, String>(0),
        ) {
            Ok(v) => Ok(Some(v)),
            Err(duckdb::Error::QueryReturnedNoRows) => Ok(None),
            Err(source) => Err(StoreError::Db {
                context: "reading a setting",
                source,
            }),
        }
    }

    /// Removes a setting kept in the database.
    pub fn forget_meta(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM leadpipe_meta WHERE key = ?", params![key])
            .map(|_| ())
            .map_err(db("writing a setting"))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.forget_meta(key)?;
        self.conn
            .execute(
                "INSERT INTO leadpipe_meta VALUES (?, ?)",
                params![key, value],
            )
            .map_err(db("writing a setting"))?;
        Ok(())
    }
}

/// A list column read as `array_to_string(list, chr(31))`, back into its values.
pub(crate) fn split_list(s: Option<&str>) -> Vec<String> {
    s.unwrap_or_default()
        .split('\u{1f}')
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// `ids` as the inside of an SQL `IN (…)` (`NULL` when empty: matches nothing).
pub(crate) fn ids_sql(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".into();
    }
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// `vals` as quoted SQL text for an `IN (…)` (`NULL` when empty: matches nothing).
pub(crate) fn strs_sql(vals: &[String]) -> String {
    if vals.is_empty() {
        return "NULL".into();
    }
    vals.iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}
