//! DuckDB: the schema (the contract in DESIGN.md), bulk loading of Arrow batches (see `scan`),
//! and the few queries the stages need. No other module talks to DuckDB.

use duckdb::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use duckdb::arrow::datatypes::{Field as ArrowField, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{params, Connection};
use leadpipe_core::dedupe::{DedupeOutcome, MatchRecord};
use leadpipe_core::record::{CleanRecord, Reject};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub mod consent;
pub mod erasure;
pub mod held;
pub mod lock;
mod scan;
pub mod warmth;

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

/// Tables in DESIGN.md's contract, plus `source_files` (content hashes for idempotent
/// re-imports). Columns are only ever added, never renamed.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS runs (
    run_id BIGINT NOT NULL,
    pipeline VARCHAR,
    command VARCHAR,
    stages VARCHAR,
    status VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    rows_read BIGINT,
    rows_accepted BIGINT,
    rows_rejected BIGINT,
    summary JSON,
    error VARCHAR,
    leadpipe_version VARCHAR
);
CREATE TABLE IF NOT EXISTS source_files (
    content_hash VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    path VARCHAR,
    kind VARCHAR,
    origin VARCHAR,
    encoding VARCHAR,
    delimiter VARCHAR,
    run_id BIGINT,
    rows_read BIGINT,
    imported_at TIMESTAMPTZ,
    read_settings VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_records (
    raw_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file_hash VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    origin VARCHAR NOT NULL,
    -- Long, unique text: zstd lands it in half the CPU of DuckDB's default
    -- (dictionary + FSST) and 2.6x smaller (1M rows: 1.1 s vs 2.0 s, 35 vs 93 MB).
    raw_values JSON USING COMPRESSION zstd
);
CREATE TABLE IF NOT EXISTS records (
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
CREATE TABLE IF NOT EXISTS leads (
    lead_id BIGINT NOT NULL,
    -- zstd as in records: 500k golden records land in 1.65 s instead of 1.97 s on one
    -- thread, in a smaller file (36 vs 37 MB).
    phone_e164 VARCHAR USING COMPRESSION zstd,
    phones VARCHAR[],
    email VARCHAR USING COMPRESSION zstd,
    emails VARCHAR[],
    full_name VARCHAR USING COMPRESSION zstd,
    last_name VARCHAR,
    first_name VARCHAR,
    middle_name VARCHAR,
    gender VARCHAR,
    company VARCHAR,
    city VARCHAR,
    region VARCHAR,
    inn VARCHAR,
    region_code VARCHAR,
    timezone VARCHAR,
    utc_offset_minutes INTEGER,
    subject_type VARCHAR,
    company_legal_form VARCHAR,
    record_count BIGINT,
    sources VARCHAR[],
    origins VARCHAR[],
    first_seen_at TIMESTAMPTZ,
    last_seen_at TIMESTAMPTZ,
    warmth_score INTEGER,
    warmth_tier VARCHAR,
    call_consent VARCHAR,
    updated_run_id BIGINT
);
CREATE TABLE IF NOT EXISTS lead_links (
    run_id BIGINT NOT NULL,
    lead_id BIGINT,
    record_a BIGINT NOT NULL,
    record_b BIGINT NOT NULL,
    probability DOUBLE,
    match_weight DOUBLE,
    name_level VARCHAR,
    middle_name_level VARCHAR,
    phone_level VARCHAR,
    email_level VARCHAR,
    city_level VARCHAR,
    name_weight DOUBLE,
    middle_name_weight DOUBLE,
    phone_weight DOUBLE,
    email_weight DOUBLE,
    city_weight DOUBLE
);
-- Company and ИНН comparison (added later: bases made before get the columns here).
ALTER TABLE lead_links ADD COLUMN IF NOT EXISTS company_level VARCHAR;
ALTER TABLE lead_links ADD COLUMN IF NOT EXISTS inn_level VARCHAR;
ALTER TABLE lead_links ADD COLUMN IF NOT EXISTS company_weight DOUBLE;
ALTER TABLE lead_links ADD COLUMN IF NOT EXISTS inn_weight DOUBLE;
-- Pairs the score would have merged that a constraint kept apart: `constraint` names it
-- (first_names_differ, patronymics_differ, gender_differs, inn_differs,
-- companies_differ); `conflict_a`/`conflict_b` are set when the pair itself was fine but
-- those two records, already in the two groups, are different people.
CREATE TABLE IF NOT EXISTS match_refusals (
    run_id BIGINT NOT NULL,
    record_a BIGINT NOT NULL,
    record_b BIGINT NOT NULL,
    probability DOUBLE,
    "constraint" VARCHAR NOT NULL,
    conflict_a BIGINT,
    conflict_b BIGINT
);
CREATE TABLE IF NOT EXISTS lead_merges (
    run_id BIGINT NOT NULL,
    from_lead BIGINT NOT NULL,
    into_lead BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS match_weights (
    run_id BIGINT NOT NULL,
    weights JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS enrichment_cache (
    provider VARCHAR NOT NULL,
    lookup_key VARCHAR NOT NULL,
    status INTEGER NOT NULL,
    body VARCHAR,
    fetched_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
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
CREATE TABLE IF NOT EXISTS rejects (
    raw_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file_hash VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    stage VARCHAR NOT NULL,
    reason_code VARCHAR NOT NULL,
    field VARCHAR,
    reason VARCHAR NOT NULL
);
"#;

/// The `leadpipe_meta` key holding [`schema_fingerprint`] of the last writer.
const SCHEMA_META_KEY: &str = "schema_fingerprint";

/// A hash of every table definition this build creates: it changes whenever a table or
/// column is added, without anyone having to remember to bump a version number.
fn schema_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [SCHEMA, consent::SCHEMA, warmth::SCHEMA] {
        h.update(part.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// Where a batch of rows came from; shared by every row in it.
#[derive(Debug, Clone)]
pub struct BatchOrigin<'a> {
    pub run_id: i64,
    pub source: &'a str,
    pub file_hash: &'a str,
    pub origin: &'a str,
}

/// A raw row ready to land.
pub struct RawLanding {
    pub raw_id: i64,
    pub source_row: u64,
    pub values_json: String,
}

pub struct Store {
    conn: Connection,
    /// Opened with [`Store::open_read_only`]: DuckDB refuses writes, so nothing tries.
    read_only: bool,
}

/// Warmth settings and the time to score golden records as of, when they land scored.
pub type Scoring<'a> = (
    &'a leadpipe_core::warmth::WarmthSettings,
    chrono::DateTime<chrono::Utc>,
);

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
        conn.execute_batch(SCHEMA).map_err(db("creating schema"))?;
        conn.execute_batch(consent::SCHEMA)
            .map_err(db("creating the consent tables"))?;
        conn.execute_batch(warmth::SCHEMA)
            .map_err(db("creating the warmth tables"))?;
        let store = Store {
            conn,
            read_only: false,
        };
        if !store.schema_current()? {
            store.set_meta(SCHEMA_META_KEY, &schema_fingerprint())?;
        }
        Ok(store)
    }

    /// True when the base was last opened for writing by a build with this schema, so a
    /// reader finds every table and column it asks for.
    fn schema_current(&self) -> Result<bool, StoreError> {
        Ok(self.has_meta_table()?
            && self.meta(SCHEMA_META_KEY)?.as_deref() == Some(&schema_fingerprint()))
    }

    /// True when `leadpipe_meta` exists: a reader may open a base older than that table.
    pub(crate) fn has_meta_table(&self) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'leadpipe_meta'",
                [],
                |r| r.get(0),
            )
            .map_err(db("looking for leadpipe_meta"))?;
        Ok(n > 0)
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
            read_only: true,
        })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs a query and collects its result as Arrow batches. Streamed: DuckDB's
    /// materialised result copied every string once more before converting it (reading
    /// 950k lead members took 0.95 s that way, 0.55 s streamed).
    pub(crate) fn read_arrow(
        &self,
        sql: &str,
        params: impl duckdb::Params,
        context: &'static str,
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(db(context))?;
        let batches = stmt
            .stream_arrow(params)
            .map_err(db(context))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db(context));
        batches
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
    fn set_until_dropped(
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

    fn next_id(&self, sql: &'static str) -> Result<i64, StoreError> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map_err(db("reading the next id"))
    }

    pub fn next_run_id(&self) -> Result<i64, StoreError> {
        self.next_id("SELECT coalesce(max(run_id), 0) + 1 FROM runs")
    }

    pub fn next_raw_id(&self) -> Result<i64, StoreError> {
        self.next_id("SELECT coalesce(max(raw_id), 0) + 1 FROM raw_records")
    }

    /// The run, source and read settings that first imported this exact content, if any.
    pub fn find_file(
        &self,
        content_hash: &str,
    ) -> Result<Option<(i64, String, Option<String>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT run_id, source, read_settings FROM source_files WHERE content_hash = ? LIMIT 1")
            .map_err(db("looking up a file hash"))?;
        let mut rows = stmt
            .query_map(params![content_hash], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(db("looking up a file hash"))?;
        match rows.next() {
            Some(r) => Ok(Some(r.map_err(db("looking up a file hash"))?)),
            None => Ok(None),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_source_file(
        &self,
        content_hash: &str,
        source: &str,
        path: &str,
        kind: &str,
        origin: &str,
        encoding: Option<&str>,
        delimiter: Option<u8>,
        run_id: i64,
        rows_read: u64,
        read_settings: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO source_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
                params![
                    content_hash,
                    source,
                    path,
                    kind,
                    origin,
                    encoding,
                    delimiter.map(|d| (d as char).to_string()),
                    run_id,
                    rows_read as i64,
                    read_settings
                ],
            )
            .map_err(db("recording the imported file"))?;
        Ok(())
    }

    /// Removes every row landed from one file's content, so it can be read again with
    /// different settings (encoding, delimiter, sheet).
    pub fn forget_file(&self, content_hash: &str) -> Result<(), StoreError> {
        self.supersede_record_consents("file_hash = ?", content_hash)?;
        for table in ["records", "rejects", "raw_records"] {
            self.conn
                .execute(
                    &format!("DELETE FROM {table} WHERE file_hash = ?"),
                    params![content_hash],
                )
                .map_err(db("removing a file's rows to read it again"))?;
        }
        self.conn
            .execute(
                "DELETE FROM source_files WHERE content_hash = ?",
                params![content_hash],
            )
            .map_err(db("removing a file's rows to read it again"))?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_run(
        &self,
        run_id: i64,
        pipeline: &str,
        command: &str,
        stages: &str,
        status: &str,
        started_at: chrono::DateTime<chrono::Utc>,
        totals: (u64, u64, u64),
        summary_json: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?::TIMESTAMPTZ, now(), ?, ?, ?, ?, ?, ?)",
                params![
                    run_id,
                    pipeline,
                    command,
                    stages,
                    status,
                    started_at.to_rfc3339(),
                    totals.0 as i64,
                    totals.1 as i64,
                    totals.2 as i64,
                    summary_json,
                    error,
                    env!("CARGO_PKG_VERSION")
                ],
            )
            .map_err(db("recording the run"))?;
        Ok(())
    }

    /// Completes a run's row (written as `running` when it started).
    pub fn finish_run(
        &self,
        run_id: i64,
        stages: &str,
        status: &str,
        totals: (u64, u64, u64),
        summary_json: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?, stages = ?, finished_at = now(), rows_read = ?,
                     rows_accepted = ?, rows_rejected = ?, summary = ?, error = ?
                 WHERE run_id = ?",
                params![
                    status,
                    stages,
                    totals.0 as i64,
                    totals.1 as i64,
                    totals.2 as i64,
                    summary_json,
                    error,
                    run_id
                ],
            )
            .map_err(db("recording the run"))?;
        Ok(())
    }

    /// Runs left `running` by a process that died. Only one process can write the base,
    /// so whoever opens it finds no run of someone else's in progress.
    fn interrupted_runs(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM runs WHERE status = 'running'",
                [],
                |r| r.get(0),
            )
            .map_err(db("looking for interrupted runs"))
    }

    fn mark_interrupted_runs(&self) -> Result<(), StoreError> {
        if self.interrupted_runs()? > 0 {
            tracing::warn!("a run did not finish; marking it failed in `runs`");
            self.conn
                .execute(
                    "UPDATE runs SET status = 'failed', finished_at = now(),
                         error = 'did not finish: the process ended or could not record its result (killed, out of memory, disk full, power lost); nothing from this run landed'
                     WHERE status = 'running'",
                    [],
                )
                .map_err(db("marking an interrupted run"))?;
        }
        Ok(())
    }

    fn append(&self, table: &'static str, batch: RecordBatch) -> Result<(), StoreError> {
        self.land(table, vec![batch])
    }

    /// Runs DuckDB on this thread alone until the guard drops. For the import's INSERTs:
    /// they run on one thread anyway (insertion order is kept), and with a second DuckDB
    /// thread the calling thread spins on the executor's mutex while the worker inserts
    /// (~11% of the import's CPU samples; README, Benchmarks).
    pub fn one_thread(&self) -> Result<Setting<'_>, StoreError> {
        self.set_until_dropped("threads", "1", "limiting DuckDB to one thread")
    }

    /// Lands batches of one schema in `table` with one INSERT on all of DuckDB's threads,
    /// rows in any order. For one big INSERT: each thread leaves one row group partly
    /// filled (many small INSERTs would leave many; see [`Store::without_vacuum`]).
    pub fn land_in_parallel(
        &self,
        table: &'static str,
        batches: Vec<RecordBatch>,
    ) -> Result<(), StoreError> {
        let _in_any_order = self.in_any_order()?;
        self.land(table, batches)
    }

    /// Lets DuckDB run INSERTs on all its threads, rows in any order, until the guard
    /// drops.
    fn in_any_order(&self) -> Result<Setting<'_>, StoreError> {
        self.set_until_dropped("preserve_insertion_order", "false", "landing in parallel")
    }

    /// Lands batches of one schema in `table` with one INSERT (see `scan`).
    pub fn land(&self, table: &'static str, batches: Vec<RecordBatch>) -> Result<(), StoreError> {
        let batches: Vec<RecordBatch> = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
        let Some(first) = batches.first() else {
            return Ok(());
        };
        // Columns that are NULL throughout (consent fields in a purchased list, say) are
        // left out: DuckDB fills them with NULL itself, without a per-cell conversion.
        let schema = first.schema();
        let mut keep: Vec<usize> = Vec::new();
        // Text the same on every row (source, file hash, origin) goes in as one SQL
        // parameter instead of a string per cell through the scan.
        let mut constants: Vec<(usize, String)> = Vec::new();
        for i in 0..first.num_columns() {
            if batches
                .iter()
                .all(|b| b.column(i).null_count() == b.num_rows())
            {
                continue;
            }
            match constant_text(&batches, i) {
                Some(v) => constants.push((i, v)),
                None => keep.push(i),
            }
        }
        if keep.is_empty() {
            // A table function needs a column: keep them all (a one-row batch of text).
            keep.extend(constants.drain(..).map(|(i, _)| i));
        }
        let names: Vec<String> = keep
            .iter()
            .chain(constants.iter().map(|(i, _)| i))
            .map(|&i| format!("\"{}\"", schema.field(i).name()))
            .collect();
        let dense = batches
            .iter()
            .map(|b| b.project(&keep))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Batch {
                table,
                message: e.to_string(),
            })?;
        let registered = scan::Registered::new(dense);
        let mut select = vec!["*"];
        select.extend(constants.iter().map(|_| "?::VARCHAR"));
        let mut values: Vec<duckdb::types::Value> = constants
            .into_iter()
            .map(|(_, v)| duckdb::types::Value::Text(v))
            .collect();
        values.push(duckdb::types::Value::BigInt(registered.0 as i64));
        // Insertion order is kept unless the caller says otherwise (`land_in_parallel`):
        // many 128k-row INSERTs out of order on both threads each left partly filled row
        // groups, which moved work to the checkpoint and left the file 50% larger.
        self.conn
            .execute(
                &format!(
                    "INSERT INTO {table} ({}) SELECT {} FROM {}(?)",
                    names.join(", "),
                    select.join(", "),
                    scan::FUNCTION
                ),
                duckdb::params_from_iter(values),
            )
            .map_err(db("landing a batch"))?;
        Ok(())
    }

    pub fn append_raw(&self, at: &BatchOrigin, rows: &[RawLanding]) -> Result<(), StoreError> {
        self.land("raw_records", vec![raw_batch(at, rows)?])
    }

    pub fn append_rejects(&self, at: &BatchOrigin, rejects: &[Reject]) -> Result<(), StoreError> {
        self.land("rejects", vec![rejects_batch(at, rejects)?])
    }

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

    /// Raw rows of the given sources that passed import, for re-normalising what an
    /// earlier run landed: (raw_id, file_hash, source_row, origin, raw_values).
    pub fn raw_rows_for_source(&self, source: &str) -> Result<Vec<StoredRaw>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT raw_id, file_hash, source_row, origin, raw_values::VARCHAR FROM raw_records r
                 WHERE source = ? AND NOT EXISTS (
                    SELECT 1 FROM rejects j WHERE j.raw_id = r.raw_id AND j.stage = 'import')
                 ORDER BY raw_id",
            )
            .map_err(db("reading raw rows"))?;
        let rows = stmt
            .query_map(params![source], |r| {
                Ok(StoredRaw {
                    raw_id: r.get(0)?,
                    file_hash: r.get(1)?,
                    source_row: r.get::<_, i64>(2)? as u64,
                    origin: r.get(3)?,
                    values_json: r.get(4)?,
                })
            })
            .map_err(db("reading raw rows"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(db("reading raw rows"))
    }

    /// Lead ids of a source's records, to carry over when they are derived again.
    pub fn lead_ids_for_source(
        &self,
        source: &str,
    ) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT record_id, lead_id FROM records WHERE source = ? AND lead_id IS NOT NULL",
            )
            .map_err(db("reading lead ids"))?;
        let rows = stmt
            .query_map(params![source], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db("reading lead ids"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("reading lead ids"))
    }

    /// Removes what the normalise stage derived for a source, before deriving it again.
    pub fn clear_normalised(&self, source: &str) -> Result<(), StoreError> {
        // Consent fields may read differently now: the consent stage derives them again.
        self.supersede_record_consents("source = ?", source)?;
        self.conn
            .execute("DELETE FROM records WHERE source = ?", params![source])
            .map_err(db("clearing records"))?;
        self.conn
            .execute(
                "DELETE FROM rejects WHERE source = ? AND stage <> 'import'",
                params![source],
            )
            .map_err(db("clearing rejects"))?;
        Ok(())
    }

    /// Raw rows that passed import but have neither a record nor a normalise reject yet
    /// (landed by an earlier `--only import` run; run `this_run` normalises what it
    /// imports, though its records may not have landed yet).
    pub fn count_unnormalised(&self, source: &str, this_run: i64) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM raw_records r WHERE source = ? AND run_id <> ?
                   AND NOT EXISTS (SELECT 1 FROM rejects j WHERE j.raw_id = r.raw_id)
                   AND NOT EXISTS (SELECT 1 FROM records c WHERE c.raw_id = r.raw_id)",
                params![source, this_run],
                |r| r.get(0),
            )
            .map_err(db("counting rows to normalise"))
    }

    /// Match keys of every record (but those of run `except_run`), in record_id order,
    /// read in bulk through Arrow.
    pub fn load_match_records(
        &self,
        except_run: Option<i64>,
    ) -> Result<Vec<MatchRecord>, StoreError> {
        use duckdb::arrow::array::{Array, AsArray};
        use duckdb::arrow::datatypes::Int64Type;
        let batches = self.read_arrow(
            "SELECT record_id, lead_id,
                    list_prepend(phone_e164, coalesce(phones_extra, [])) AS phones,
                    email, email_suggestion, last_name, first_name, middle_name, gender, city,
                    company_key,
                    -- as dedupe::own_inn
                    CASE WHEN inn_valid AND (length(inn) <> 12 OR company_key IS NULL
                                             OR subject_type = 'sole_trader')
                         THEN inn END AS inn
             FROM records WHERE run_id IS DISTINCT FROM ? ORDER BY record_id",
            [except_run],
            "reading records for deduplication",
        )?;
        // Match keys straight from the Arrow columns, batch by batch on all cores (a
        // vector of owned fields in between cost ~0.4 s of copying per 1M records); the
        // order of the rows is kept.
        use rayon::prelude::*;
        fn at(col: &duckdb::arrow::array::StringArray, i: usize) -> Option<&str> {
            (!col.is_null(i)).then(|| col.value(i))
        }
        let out: Vec<MatchRecord> = batches
            .par_iter()
            .flat_map_iter(|b| {
                let ids = b.column(0).as_primitive::<Int64Type>();
                let leads = b.column(1).as_primitive::<Int64Type>();
                let phones = b.column(2).as_list::<i32>();
                let text = |c: usize| b.column(c).as_string::<i32>();
                let [email, alt, last, first, middle, gender, city, company, inn] =
                    std::array::from_fn(|k| text(3 + k));
                (0..b.num_rows()).map(move |i| {
                    let list = phones.value(i);
                    let list = list.as_string::<i32>();
                    let phones: Vec<String> = (0..list.len())
                        .filter(|&j| !list.is_null(j))
                        .map(|j| list.value(j).to_string())
                        .collect();
                    MatchRecord::from_fields(
                        ids.value(i),
                        (!leads.is_null(i)).then(|| leads.value(i)),
                        phones,
                        at(email, i).map(str::to_string),
                        at(alt, i).map(str::to_string),
                        at(last, i),
                        at(first, i),
                        at(middle, i),
                        at(gender, i),
                        at(city, i),
                        at(company, i),
                        at(inn, i),
                    )
                })
            })
            .collect();
        Ok(out)
    }

    /// The id the next new lead gets: never one used before, even by a lead since erased
    /// (its audit rows keep the id, and a newcomer must not inherit them).
    pub fn next_lead_id(&self) -> Result<i64, StoreError> {
        self.next_id(
            "SELECT greatest((SELECT coalesce(max(lead_id), 0) FROM records),
                             (SELECT coalesce(max(from_lead), 0) FROM lead_merges),
                             (SELECT coalesce(max(lead_id), 0) FROM consent_audit)) + 1",
        )
    }

    /// Weights fitted by the latest run, to reuse when a run brings too few records to fit.
    pub fn latest_weights(&self) -> Result<Option<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT weights::VARCHAR FROM match_weights ORDER BY run_id DESC LIMIT 1")
            .map_err(db("reading match weights"))?;
        let mut rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db("reading match weights"))?;
        rows.next().transpose().map_err(db("reading match weights"))
    }

    /// Writes deduplication's results: changed lead ids of landed records, merge
    /// evidence, absorbed leads and the weights used. `records[..landed]` are in `records`
    /// already (their changed leads are updated here); the rest are the run's held records,
    /// which the caller lands with their leads afterwards, then the golden records
    /// ([`Store::golden_records`], [`Store::replace_leads`]).
    pub fn land_dedupe(
        &self,
        run_id: i64,
        records: &[MatchRecord],
        landed: usize,
        outcome: &DedupeOutcome,
    ) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut timings = Vec::new();
        let mut clock = std::time::Instant::now();
        let mut lap = |timings: &mut Vec<(&'static str, u64)>, what: &'static str| {
            timings.push((what, clock.elapsed().as_millis() as u64));
            clock = std::time::Instant::now();
        };
        self.conn
            .execute_batch(
                "CREATE OR REPLACE TEMP TABLE lead_map (record_id BIGINT, lead_id BIGINT)",
            )
            .map_err(db("preparing lead ids"))?;
        let changed: Vec<(i64, i64)> = records[..landed]
            .iter()
            .zip(&outcome.lead_of)
            .filter(|(r, &l)| r.lead_id != Some(l))
            .map(|(r, &l)| (r.record_id, l))
            .collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "record_id",
                Arc::new(duckdb::arrow::array::Int64Array::from_iter_values(
                    changed.iter().map(|c| c.0),
                )),
            ),
            (
                "lead_id",
                Arc::new(duckdb::arrow::array::Int64Array::from_iter_values(
                    changed.iter().map(|c| c.1),
                )),
            ),
        ];
        self.append("lead_map", batch("lead_map", cols)?)?;
        self.conn
            .execute_batch(
                "UPDATE records SET lead_id = m.lead_id FROM lead_map m
                 WHERE records.record_id = m.record_id;
                 DROP TABLE lead_map;",
            )
            .map_err(db("writing lead ids"))?;
        lap(&mut timings, "land_lead_ids");

        let mut lead_of_record: rustc_hash::FxHashMap<i64, i64> =
            rustc_hash::FxHashMap::with_capacity_and_hasher(records.len(), Default::default());
        lead_of_record.extend(
            records
                .iter()
                .zip(&outcome.lead_of)
                .map(|(r, &l)| (r.record_id, l)),
        );
        let n = outcome.links.len();
        let mut lead = Int64Builder::with_capacity(n);
        let mut a = Int64Builder::with_capacity(n);
        let mut b = Int64Builder::with_capacity(n);
        let mut p = duckdb::arrow::array::Float64Builder::with_capacity(n);
        let mut w = duckdb::arrow::array::Float64Builder::with_capacity(n);
        // Per field: the agreement level and the weight (log2 odds) it contributed.
        use leadpipe_core::dedupe::model::{FIELDS, FIELD_NAMES};
        let mut levels: Vec<StringBuilder> = (0..FIELDS).map(|_| StringBuilder::new()).collect();
        let mut field_weights: Vec<duckdb::arrow::array::Float64Builder> = (0..FIELDS)
            .map(|_| duckdb::arrow::array::Float64Builder::with_capacity(n))
            .collect();
        for link in &outcome.links {
            lead.append_option(lead_of_record.get(&link.record_a).copied());
            a.append_value(link.record_a);
            b.append_value(link.record_b);
            p.append_value(link.probability);
            w.append_value(link.match_weight);
            for ((level, weight), f) in levels.iter_mut().zip(&mut field_weights).zip(&link.fields)
            {
                level.append_option(f.level);
                weight.append_option(f.level.map(|_| f.weight));
            }
        }
        let mut cols: Vec<(String, ArrayRef)> = vec![
            ("run_id".into(), repeat_i64(run_id, n)),
            ("lead_id".into(), Arc::new(lead.finish())),
            ("record_a".into(), Arc::new(a.finish())),
            ("record_b".into(), Arc::new(b.finish())),
            ("probability".into(), Arc::new(p.finish())),
            ("match_weight".into(), Arc::new(w.finish())),
        ];
        for (field, mut builder) in FIELD_NAMES.into_iter().zip(levels) {
            cols.push((format!("{field}_level"), Arc::new(builder.finish())));
        }
        for (field, mut builder) in FIELD_NAMES.into_iter().zip(field_weights) {
            cols.push((format!("{field}_weight"), Arc::new(builder.finish())));
        }
        let cols: Vec<(&str, ArrayRef)> =
            cols.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        // In any order: evidence is looked up by lead and record, not read in order.
        self.land_in_parallel("lead_links", vec![batch("lead_links", cols)?])?;
        self.land_refusals(run_id, &outcome.refusals)?;
        lap(&mut timings, "land_links");

        for (from, into) in &outcome.merged_leads {
            self.conn
                .execute(
                    "INSERT INTO lead_merges VALUES (?, ?, ?)",
                    params![run_id, from, into],
                )
                .map_err(db("recording merged leads"))?;
            self.conn
                .execute(
                    "UPDATE lead_links SET lead_id = ? WHERE lead_id = ?",
                    params![into, from],
                )
                .map_err(db("recording merged leads"))?;
        }
        let weights = serde_json::to_string(&outcome.weights).unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO match_weights VALUES (?, ?)",
                params![run_id, weights],
            )
            .map_err(db("saving match weights"))?;
        lap(&mut timings, "land_weights");
        Ok(timings)
    }

    /// Golden records, one per lead, by survivorship: for each field the value from the best
    /// member that has one, where best means the preferred origin (form data beats purchased
    /// data by default), then the most recent, then the latest landed. The name comes whole
    /// from the member with the most complete name (Cyrillic preferred over Latin). The rules
    /// live in [`leadpipe_core::dedupe::golden`]; consent columns come from `consent_status`.
    ///
    /// With `scored`, they land scored for warmth as of that time, and the stats come back.
    pub fn rebuild_leads(
        &self,
        run_id: i64,
        origin_priority: &[String],
        scored: Option<Scoring>,
    ) -> Result<Option<warmth::WarmthStats>, StoreError> {
        let golden = self.golden_records(origin_priority, Vec::new())?;
        self.replace_leads(run_id, golden, scored)
    }

    /// Golden records of every lead, built from the members in `records` and
    /// `more_members`: records not landed yet, in [`leadpipe_core::dedupe::golden::members_sql`]'s
    /// shape ([`leadpipe_core::dedupe::golden::members_of`]).
    pub fn golden_records(
        &self,
        origin_priority: &[String],
        more_members: Vec<RecordBatch>,
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let clock = std::time::Instant::now();
        let mut members = self.read_arrow(
            &leadpipe_core::dedupe::golden::members_sql(),
            [],
            "reading lead members",
        )?;
        members.extend(more_members);
        let read_ms = clock.elapsed().as_millis();
        let golden =
            leadpipe_core::dedupe::golden::build(&members, origin_priority).map_err(|message| {
                StoreError::Batch {
                    table: "leads",
                    message,
                }
            })?;
        tracing::debug!(
            read_ms,
            built_ms = clock.elapsed().as_millis() - read_ms,
            "golden records: members read, records built"
        );
        Ok(golden)
    }

    /// Replaces `leads` with `golden` (from [`Store::golden_records`]); with `scored`,
    /// scored for warmth as of that time (the stats come back), else unscored.
    pub fn replace_leads(
        &self,
        run_id: i64,
        golden: Vec<RecordBatch>,
        scored: Option<Scoring>,
    ) -> Result<Option<warmth::WarmthStats>, StoreError> {
        let clock = std::time::Instant::now();
        self.conn
            .execute_batch("DELETE FROM leads")
            .map_err(db("rebuilding golden records"))?;
        if golden.is_empty() {
            return Ok(scored.map(|_| warmth::WarmthStats::default()));
        }
        let mut columns: Vec<&str> = leadpipe_core::dedupe::golden::COLUMNS.to_vec();
        let (golden, stats, scored_at) = match scored {
            Some((settings, now)) => {
                let (golden, stats) = self.score_golden(golden, settings, now)?;
                columns.extend(warmth::golden_warmth_columns());
                (
                    golden,
                    Some(stats),
                    format!("'{}'::TIMESTAMPTZ", now.to_rfc3339()),
                )
            }
            None => (golden, None, "NULL".to_string()),
        };
        let from_batch = columns
            .iter()
            .map(|c| format!("g.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let columns = columns.join(", ");
        let registered = scan::Registered::new(golden);
        // In any order, on both cores (1.5 s on one thread at 1M rows, 0.8 s on two).
        let in_any_order = self.in_any_order()?;
        // Consent as last derived (the consent stage refreshes it after this).
        self.conn
            .execute(
                &format!(
                    "INSERT INTO leads ({columns}, call_consent, call_consent_basis,
                         call_consent_since, call_consent_expires_at, sms_consent,
                         email_consent, updated_run_id, warmth_scored_at)
                     SELECT {from_batch},
                         coalesce(cs.status, 'none'), cs.basis, cs.since, cs.expires_at,
                         coalesce(ss.status, 'none'), coalesce(es.status, 'none'), {run_id},
                         {scored_at}
                     FROM {scan}(?) g
                     LEFT JOIN consent_status cs ON cs.lead_id = g.lead_id AND cs.channel = 'call' AND cs.purpose = 'advertising'
                     LEFT JOIN consent_status ss ON ss.lead_id = g.lead_id AND ss.channel = 'sms' AND ss.purpose = 'advertising'
                     LEFT JOIN consent_status es ON es.lead_id = g.lead_id AND es.channel = 'email' AND es.purpose = 'advertising'",
                    scan = scan::FUNCTION
                ),
                [registered.0 as i64],
            )
            .map_err(db("rebuilding golden records"))?;
        drop(in_any_order);
        tracing::debug!(
            ms = clock.elapsed().as_millis() as u64,
            "golden records: landed"
        );
        Ok(stats)
    }

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
    ) -> Result<std::collections::HashMap<String, (u16, String)>, StoreError> {
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

    /// Run history, newest first.
    pub fn list_runs(&self, limit: usize) -> Result<Vec<RunRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_id, started_at::VARCHAR, coalesce(pipeline, ''), coalesce(command, ''),
                        coalesce(stages, ''), status, coalesce(rows_read, 0),
                        coalesce(rows_accepted, 0), coalesce(rows_rejected, 0),
                        coalesce(TRY_CAST(summary->>'elapsed_ms' AS BIGINT), 0),
                        error
                 FROM runs ORDER BY run_id DESC LIMIT ?",
            )
            .map_err(db("listing runs"))?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok(RunRow {
                    run_id: r.get(0)?,
                    started_at: r.get(1)?,
                    pipeline: r.get(2)?,
                    command: r.get(3)?,
                    stages: r.get(4)?,
                    status: r.get(5)?,
                    rows_read: r.get(6)?,
                    rows_accepted: r.get(7)?,
                    rows_rejected: r.get(8)?,
                    elapsed_ms: r.get(9)?,
                    error: r.get(10)?,
                })
            })
            .map_err(db("listing runs"))?;
        rows.collect::<Result<_, _>>().map_err(db("listing runs"))
    }

    /// Confident pairs that a constraint refused to merge (see `match_refusals`).
    fn land_refusals(
        &self,
        run_id: i64,
        refusals: &[leadpipe_core::dedupe::Refusal],
    ) -> Result<(), StoreError> {
        use duckdb::arrow::array::{Float64Array, Int64Array, StringArray};
        let n = refusals.len();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("run_id", repeat_i64(run_id, n)),
            (
                "record_a",
                Arc::new(Int64Array::from_iter_values(
                    refusals.iter().map(|r| r.record_a),
                )),
            ),
            (
                "record_b",
                Arc::new(Int64Array::from_iter_values(
                    refusals.iter().map(|r| r.record_b),
                )),
            ),
            (
                "probability",
                Arc::new(Float64Array::from_iter_values(
                    refusals.iter().map(|r| r.probability),
                )),
            ),
            (
                "constraint",
                Arc::new(StringArray::from_iter_values(
                    refusals.iter().map(|r| r.veto.as_str()),
                )),
            ),
            (
                "conflict_a",
                Arc::new(Int64Array::from_iter(
                    refusals.iter().map(|r| r.conflict.map(|c| c.0)),
                )),
            ),
            (
                "conflict_b",
                Arc::new(Int64Array::from_iter(
                    refusals.iter().map(|r| r.conflict.map(|c| c.1)),
                )),
            ),
        ];
        self.land_in_parallel("match_refusals", vec![batch("match_refusals", cols)?])
    }

    /// Everything a reviewer needs to see why a lead is what it is: the golden record, its
    /// member records with their sources, and the pairwise evidence of every merge.
    pub fn explain_lead(&self, lead_id: i64) -> Result<Option<LeadExplanation>, StoreError> {
        let json_rows = |sql: &str| -> Result<Vec<serde_json::Value>, StoreError> {
            let mut stmt = self.conn.prepare(sql).map_err(db("explaining a lead"))?;
            let rows = stmt
                .query_map(params![lead_id], |r| r.get::<_, String>(0))
                .map_err(db("explaining a lead"))?;
            rows.map(|r| {
                r.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
                    .map_err(db("explaining a lead"))
            })
            .collect()
        };
        let lead = json_rows("SELECT to_json(l)::VARCHAR FROM leads l WHERE lead_id = ?")?;
        let Some(lead) = lead.into_iter().next() else {
            return Ok(None);
        };
        let members = json_rows(
            "SELECT to_json({'record_id': record_id, 'source': source, 'source_row': source_row,
                             'origin': origin, 'full_name': full_name, 'phone_e164': phone_e164,
                             'email': email, 'city': city, 'company': company})::VARCHAR
             FROM records WHERE lead_id = ? ORDER BY record_id",
        )?;
        // A base last written by an older version and opened read-only (the review page)
        // has neither the company / ИНН evidence nor the refusals table.
        let current: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'match_refusals'",
                [],
                |r| r.get(0),
            )
            .map_err(db("explaining a lead"))?;
        let new_fields = if current > 0 {
            ",\n{'field': 'company', 'level': company_level, 'weight': company_weight},
              {'field': 'inn', 'level': inn_level, 'weight': inn_weight}"
        } else {
            ""
        };
        let links = json_rows(
            &"SELECT to_json({'run_id': run_id, 'record_a': record_a, 'record_b': record_b,
                             'probability': probability, 'match_weight': match_weight,
                             'fields': [
                                {'field': 'name', 'level': name_level, 'weight': name_weight},
                                {'field': 'middle_name', 'level': middle_name_level, 'weight': middle_name_weight},
                                {'field': 'phone', 'level': phone_level, 'weight': phone_weight},
                                {'field': 'email', 'level': email_level, 'weight': email_weight},
                                {'field': 'city', 'level': city_level, 'weight': city_weight}NEW_FIELDS]})::VARCHAR
             FROM lead_links WHERE lead_id = ? ORDER BY run_id, probability DESC, record_a, record_b"
                .replace("NEW_FIELDS", new_fields),
        )?;
        // Merges refused for this lead's records: what kept another record out.
        // Each refusal once, from this lead's side, unless both records are in it now.
        let refusals = if current == 0 {
            Vec::new()
        } else {
            json_rows(
            "SELECT DISTINCT to_json({'run_id': f.run_id, 'record_a': f.record_a, 'record_b': f.record_b,
                             'probability': f.probability, 'constraint': f.\"constraint\",
                             'conflict_a': f.conflict_a, 'conflict_b': f.conflict_b,
                             'other_lead': (SELECT o.lead_id FROM records o
                                            WHERE o.record_id = CASE WHEN m.record_id = f.record_a
                                                                     THEN f.record_b ELSE f.record_a END)})::VARCHAR
             FROM match_refusals f JOIN records m
               ON m.record_id IN (f.record_a, f.record_b) AND m.lead_id = ?
             WHERE NOT EXISTS (SELECT 1 FROM records o
                               WHERE o.record_id IN (f.record_a, f.record_b)
                                 AND o.record_id <> m.record_id AND o.lead_id = m.lead_id)
             ORDER BY 1",
            )?
        };
        let consent = json_rows(
            "SELECT to_json({'channel': channel, 'purpose': purpose, 'status': status,
                             'since': since, 'expires_at': expires_at, 'basis': basis})::VARCHAR
             FROM consent_status WHERE lead_id = ? ORDER BY channel, purpose",
        )?;
        Ok(Some(LeadExplanation {
            lead,
            members,
            links,
            refusals,
            consent,
        }))
    }
}

/// One row of `runs`, for `leadpipe runs`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRow {
    pub run_id: i64,
    pub started_at: String,
    pub pipeline: String,
    pub command: String,
    pub stages: String,
    pub status: String,
    pub rows_read: i64,
    pub rows_accepted: i64,
    pub rows_rejected: i64,
    pub elapsed_ms: i64,
    pub error: Option<String>,
}

/// See [`Store::explain_lead`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct LeadExplanation {
    pub lead: serde_json::Value,
    pub members: Vec<serde_json::Value>,
    pub links: Vec<serde_json::Value>,
    /// Confident pairs involving the lead's records that a constraint refused to merge.
    pub refusals: Vec<serde_json::Value>,
    /// Current consent per channel and purpose (none listed: no consent history).
    pub consent: Vec<serde_json::Value>,
}

impl Store {
    /// Content hashes of every file a source landed (a web source's earlier snapshots).
    pub fn source_file_hashes(&self, source: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT content_hash FROM source_files WHERE source = ?")
            .map_err(db("listing a source's files"))?;
        let rows = stmt
            .query_map(params![source], |r| r.get::<_, String>(0))
            .map_err(db("listing a source's files"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("listing a source's files"))
    }

    /// The latest good (2xx) copy of every page of a source, for re-runs without
    /// `--refresh`; pages that failed are fetched again.
    pub fn cached_pages(
        &self,
        source: &str,
    ) -> Result<std::collections::HashMap<String, leadpipe_core::sources::fetch::Page>, StoreError>
    {
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
                Ok(leadpipe_core::sources::fetch::Page {
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
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let p = row.map_err(db("reading kept pages"))?;
            out.insert(p.url.clone(), p);
        }
        Ok(out)
    }

    /// Keeps every page fetched in this run (URL, time, status, hash, body, or why not),
    /// so a reviewer can see where a contact came from.
    pub fn keep_pages(
        &self,
        source: &str,
        run_id: i64,
        pages: &[leadpipe_core::sources::fetch::Page],
    ) -> Result<(), StoreError> {
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

/// A raw row read back from the database.
pub struct StoredRaw {
    pub raw_id: i64,
    pub file_hash: String,
    pub source_row: u64,
    pub origin: String,
    pub values_json: String,
}

/// Raw rows as an Arrow batch for `raw_records`.
pub fn raw_batch(at: &BatchOrigin, rows: &[RawLanding]) -> Result<RecordBatch, StoreError> {
    let n = rows.len();
    let mut raw_id = Int64Builder::with_capacity(n);
    let mut source_row = Int64Builder::with_capacity(n);
    let mut values =
        StringBuilder::with_capacity(n, rows.iter().map(|r| r.values_json.len()).sum());
    for r in rows {
        raw_id.append_value(r.raw_id);
        source_row.append_value(r.source_row as i64);
        values.append_value(&r.values_json);
    }
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("raw_id", Arc::new(raw_id.finish())),
        ("run_id", repeat_i64(at.run_id, n)),
        ("source", repeat_str(at.source, n)),
        ("file_hash", repeat_str(at.file_hash, n)),
        ("source_row", Arc::new(source_row.finish())),
        ("origin", repeat_str(at.origin, n)),
        ("raw_values", Arc::new(values.finish())),
    ];
    batch("raw_records", cols)
}

/// Rejects as an Arrow batch for `rejects`.
pub fn rejects_batch(at: &BatchOrigin, rejects: &[Reject]) -> Result<RecordBatch, StoreError> {
    let n = rejects.len();
    let mut raw_id = Int64Builder::with_capacity(n);
    let mut source_row = Int64Builder::with_capacity(n);
    let mut stage = StringBuilder::new();
    let mut code = StringBuilder::new();
    let mut field = StringBuilder::new();
    let mut reason = StringBuilder::new();
    for r in rejects {
        raw_id.append_value(r.raw_id);
        source_row.append_value(r.source_row as i64);
        stage.append_value(r.stage.as_str());
        code.append_value(r.code);
        field.append_option(r.field.as_deref());
        reason.append_value(&r.reason);
    }
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("raw_id", Arc::new(raw_id.finish())),
        ("run_id", repeat_i64(at.run_id, n)),
        ("source", repeat_str(at.source, n)),
        ("file_hash", repeat_str(at.file_hash, n)),
        ("source_row", Arc::new(source_row.finish())),
        ("stage", Arc::new(stage.finish())),
        ("reason_code", Arc::new(code.finish())),
        ("field", Arc::new(field.finish())),
        ("reason", Arc::new(reason.finish())),
    ];
    batch("rejects", cols)
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
fn records_batch_with(
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

/// The value of text column `i` when it is the same, and not NULL, on every row.
fn constant_text(batches: &[RecordBatch], i: usize) -> Option<String> {
    let first = batches[0].column(i).as_string_opt::<i32>()?;
    if first.null_count() > 0 {
        return None;
    }
    let value = first.value(0);
    batches
        .iter()
        .all(|b| {
            b.column(i)
                .as_string_opt::<i32>()
                .is_some_and(|a| a.null_count() == 0 && a.iter().all(|v| v == Some(value)))
        })
        .then(|| value.to_string())
}

/// A text column with its value buffer sized exactly: a batch in flight holds ~45 text
/// columns, mostly short or empty, and a fixed guess per row over-reserved ~20 MB per
/// 32k-row batch (import's peak memory counts every batch waiting to land).
fn text_column<'a, T>(items: &'a [T], f: impl Fn(&'a T) -> Option<&'a str>) -> ArrayRef {
    let bytes = items.iter().map(|r| f(r).map_or(0, str::len)).sum();
    let mut b = StringBuilder::with_capacity(items.len(), bytes);
    for r in items {
        b.append_option(f(r));
    }
    Arc::new(b.finish())
}

/// `v` on each of `n` rows, as one dictionary entry when `dictionary`.
fn same_text(v: &str, n: usize, dictionary: bool) -> ArrayRef {
    if !dictionary {
        return repeat_str(v, n);
    }
    let keys = duckdb::arrow::array::Int32Array::from(vec![0; n]);
    let values: ArrayRef = Arc::new(duckdb::arrow::array::StringArray::from(vec![v]));
    Arc::new(duckdb::arrow::array::DictionaryArray::new(keys, values))
}

fn repeat_str(v: &str, n: usize) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(n, v.len() * n);
    for _ in 0..n {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn repeat_i64(v: i64, n: usize) -> ArrayRef {
    Arc::new(duckdb::arrow::array::Int64Array::from(vec![v; n]))
}

/// Columns the schema declares JSON. Their text comes from our own serialiser, so it is
/// marked as Arrow JSON and lands as DuckDB JSON without a cast that re-parses every value
/// (~0.3 s of a 1M-row import).
const JSON_COLUMNS: [&str; 2] = ["raw_values", "enrichment_source"];

fn batch(table: &'static str, cols: Vec<(&str, ArrayRef)>) -> Result<RecordBatch, StoreError> {
    let fields: Vec<ArrowField> = cols
        .iter()
        .map(|(name, a)| {
            let field = ArrowField::new(*name, a.data_type().clone(), true);
            if JSON_COLUMNS.contains(name) {
                scan::json_field(field)
            } else {
                field
            }
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, cols.into_iter().map(|(_, a)| a).collect()).map_err(|e| {
        StoreError::Batch {
            table,
            message: e.to_string(),
        }
    })
}
