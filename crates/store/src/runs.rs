//! The run history: `runs`, one row per command or pipeline run, written `running` when it
//! starts and completed when it ends (a run left `running` was interrupted).

use crate::{db, Store, StoreError};
use duckdb::params;

/// One row per run: what ran, how it ended, rows read, accepted and rejected, and the
/// summary the run printed.
pub(crate) const RUNS: &str = r#"CREATE TABLE IF NOT EXISTS runs (
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
"#;

impl Store {
    pub fn next_run_id(&self) -> Result<i64, StoreError> {
        self.next_id("SELECT coalesce(max(run_id), 0) + 1 FROM runs")
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
    pub(crate) fn interrupted_runs(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM runs WHERE status = 'running'",
                [],
                |r| r.get(0),
            )
            .map_err(db("looking for interrupted runs"))
    }

    pub(crate) fn mark_interrupted_runs(&self) -> Result<(), StoreError> {
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
