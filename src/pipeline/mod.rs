//! Runs a pipeline: a validated [`Plan`] and the base's settings, then the stages in order
//! ([`stages`]) in one transaction, recorded in `runs`.
//!
//! Each stage is a module with a `run(&mut RunContext) -> StageReport`: [`read`] (import
//! and normalise, one pass per source), [`enrich`] (external providers), [`dedupe`],
//! [`consent`], [`warmth`]. Their rules live in `leadpipe-core`, their tables and queries in
//! `leadpipe-store`; this module only sequences them.

mod consent;
mod context;
mod dedupe;
mod enrich;
mod error;
mod plan;
mod prepare;
mod read;
mod renormalise;
mod segment;
mod stages;
mod summary;
mod warmth;

pub use context::{NewRecords, Recluster, RunContext, RunOptions};
pub use error::{PipelineError, RunError};
pub use plan::{default_source_name, load_pipeline, plan_for_file, Plan};
pub use summary::{ConsentStats, EnrichStats, RunSummary, SourceSummary, StageReport};

use crate::settings::Settings;
use crate::store::Store;
use std::path::Path;
use std::time::Instant;

/// Rows per batch: large enough that appends are bulk, small enough that memory stays flat.
const CHUNK_ROWS: usize = 32_768;

/// Runs the plan against its database (or `db_override`). All-or-nothing: on any error the
/// transaction is rolled back and a `failed` row is written to `runs` on its own.
pub fn run(
    plan: &Plan,
    opts: &RunOptions,
    db_override: Option<&Path>,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let db_path = db_override.unwrap_or(&plan.db);
    let store = Store::open(db_path)?;
    let (settings, previous_settings) = Settings::resolve(&plan.settings, &store)?;
    // Until the run's checkpoint is done (the guard drops when `run` returns).
    let _no_vacuum = store.without_vacuum()?;
    let stages = opts.checked_stages()?;
    let asked = stages_text(&stages);
    let run_id = begin_run(&store, plan, opts, &asked, started_at)?;
    let mut ctx = RunContext {
        store: &store,
        plan,
        settings: &settings,
        previous_settings: &previous_settings,
        opts,
        run_id,
        new_records: NewRecords::for_run(&stages, plan),
        stages,
        now: settings.moment(opts.as_of.as_ref()),
        renormalised: false,
        scored_by_dedupe: None,
        changed_leads: Default::default(),
        sources: plan.sources.iter().map(SourceSummary::blank).collect(),
        warnings: Vec::new(),
        timings: Default::default(),
    };
    let finished = stages::run_stages(&mut ctx).and_then(|reports| {
        let summary = summarise(&mut ctx, reports, db_path, started);
        commit(&store, plan, summary)
    });
    match finished {
        Ok(mut summary) => {
            // Write what the commit left in the WAL into the file now (else closing the
            // database does it, and that time shows in no figure).
            let clock = Instant::now();
            store.checkpoint()?;
            summary
                .timings_ms
                .insert("checkpoint", clock.elapsed().as_millis() as u64);
            summary.elapsed_ms = started.elapsed().as_millis() as u64;
            Ok(summary)
        }
        Err(e) => {
            // Rolls back, then marks the row `failed` on its own; best effort, since the
            // failure itself is what the caller reports (and the next command marks a row
            // left `running`).
            store.rollback();
            let _ = store.finish_run(
                run_id,
                &asked,
                "failed",
                (0, 0, 0),
                "{}",
                Some(&e.to_string()),
            );
            Err(e)
        }
    }
}

/// Writes the run's row, on its own, as `running`, then opens the run's transaction: if
/// the process dies (a kill, out of memory, a full disk that also stops the `failed` row)
/// the next command that opens the base finds the row and marks it failed.
fn begin_run(
    store: &Store,
    plan: &Plan,
    opts: &RunOptions,
    stages: &str,
    started_at: chrono::DateTime<chrono::Utc>,
) -> Result<i64, RunError> {
    let run_id = store.next_run_id()?;
    store.insert_run(
        run_id,
        &plan.name,
        &opts.command,
        stages,
        "running",
        started_at,
        (0, 0, 0),
        "{}",
        None,
    )?;
    store.begin()?;
    Ok(run_id)
}

/// The run's summary from what its stages left in the context and reported.
fn summarise(
    ctx: &mut RunContext,
    reports: stages::Reports,
    db_path: &Path,
    started: Instant,
) -> RunSummary {
    RunSummary {
        run_id: ctx.run_id,
        pipeline: ctx.plan.name.clone(),
        db: db_path.display().to_string(),
        stages: ctx.stages.clone(),
        status: "ok".to_string(),
        rows_read: ctx.sources.iter().map(|s| s.rows_read).sum(),
        rows_accepted: ctx.sources.iter().map(|s| s.rows_accepted).sum(),
        rows_rejected: ctx.sources.iter().map(|s| s.rows_rejected).sum(),
        warnings: std::mem::take(&mut ctx.warnings),
        elapsed_ms: started.elapsed().as_millis() as u64,
        timings_ms: std::mem::take(&mut ctx.timings),
        sources: std::mem::take(&mut ctx.sources),
        enrich: reports.enrich,
        dedupe: reports.dedupe,
        consent: reports.consent,
        warmth: reports.warmth,
        segment: reports.segment,
    }
}

/// Stores the settings the plan gave, finishes the run's row and commits.
fn commit(store: &Store, plan: &Plan, mut summary: RunSummary) -> Result<RunSummary, RunError> {
    let json = serde_json::to_string(&summary).map_err(|e| RunError::Internal(e.to_string()))?;
    crate::fault::pause_at("run_before_commit");
    let clock = Instant::now();
    for (key, value) in plan.settings.to_meta() {
        store.set_meta(key, &value)?;
    }
    store.finish_run(
        summary.run_id,
        &stages_text(&summary.stages),
        "ok",
        (
            summary.rows_read,
            summary.rows_accepted,
            summary.rows_rejected,
        ),
        &json,
        None,
    )?;
    store.commit()?;
    summary
        .timings_ms
        .insert("commit", clock.elapsed().as_millis() as u64);
    Ok(summary)
}

fn stages_text(stages: &[crate::record::Stage]) -> String {
    stages
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
