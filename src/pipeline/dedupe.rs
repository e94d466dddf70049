//! The dedupe step: every record without a lead is linked to a new or existing lead, and
//! golden records are rebuilt (rules: `leadpipe_core::dedupe`). This run's held records
//! land here, with their leads.

use super::context::RunContext;
use super::prepare::drop_in_parallel;
use super::summary::StageReport;
use super::RunError;
use crate::dedupe::{
    dedupe, model::Weights, DedupeOutcome, DedupeSettings, DedupeStats, MatchRecord,
};
use crate::store::held::HeldRecords;
use crate::store::Store;
use duckdb::arrow::record_batch::RecordBatch;
use std::time::Instant;

pub(super) fn run(ctx: &mut RunContext) -> Result<StageReport, RunError> {
    let bar = ctx.opts.progress_bar("dedupe");
    let started = Instant::now();
    let held = ctx.new_records.take_held();
    let (records, held, landed) = match_records(ctx.store, ctx.run_id, held)?;
    let load_ms = started.elapsed().as_millis() as u64;
    let new = records.iter().filter(|r| r.lead_id.is_none()).count();
    let (mut stats, scored) = if new == 0 {
        relink_nothing(ctx, records.len(), held)?
    } else {
        link_new(ctx, records, held, landed, new)?
    };
    stats.phase_ms.insert(0, ("load_records", load_ms));
    bar.finish_and_clear();
    ctx.scored_by_dedupe = scored;
    Ok(StageReport::Dedupe(stats))
}

/// The records to match, in record_id order either way (this run's have the highest ids),
/// the held batches still to land, and how many of the records are in `records` already.
fn match_records(
    store: &Store,
    run_id: i64,
    held: Option<HeldRecords>,
) -> Result<(Vec<MatchRecord>, Vec<RecordBatch>, usize), RunError> {
    Ok(match held {
        Some(HeldRecords {
            match_keys,
            batches,
            spilled,
            ..
        }) => {
            let mut records = store.load_match_records(Some(run_id))?;
            // Spilled records are in the table already: their leads go by update.
            let landed = records.len() + spilled;
            records.extend(match_keys);
            (records, batches, landed)
        }
        None => {
            let records = store.load_match_records(None)?;
            let landed = records.len();
            (records, Vec::new(), landed)
        }
    })
}

/// Nothing to link; golden records only change if their members were re-derived. (Held
/// records are new, so there are none here; should that change, they land.)
fn relink_nothing(
    ctx: &RunContext,
    records: usize,
    held: Vec<RecordBatch>,
) -> Result<(DedupeStats, Option<crate::store::warmth::WarmthStats>), RunError> {
    ctx.store.land_held(held)?;
    let scored = if ctx.renormalised {
        ctx.store.rebuild_leads(
            ctx.run_id,
            &ctx.settings.origin_priority,
            Some((&ctx.settings.warmth, ctx.now)),
        )?
    } else {
        None
    };
    let stats = DedupeStats {
        records,
        ..DedupeStats::default()
    };
    Ok((stats, scored))
}

/// Links new records (weights fitted on this data when there is enough of it, else the last
/// fit), lands links and held records, and rebuilds the golden records.
fn link_new(
    ctx: &RunContext,
    records: Vec<MatchRecord>,
    held: Vec<RecordBatch>,
    landed: usize,
    new: usize,
) -> Result<(DedupeStats, Option<crate::store::warmth::WarmthStats>), RunError> {
    let store = ctx.store;
    let stored = store
        .latest_weights()?
        .and_then(|json| serde_json::from_str::<Weights>(&json).ok())
        .filter(Weights::fits_model);
    let settings = DedupeSettings {
        threshold: ctx.settings.threshold,
        estimate: new >= crate::dedupe::MIN_RECORDS_TO_FIT || stored.is_none(),
    };
    let outcome = dedupe(&records, &settings, stored, store.next_lead_id()?);
    let landing = store.land_dedupe(ctx.run_id, &records, landed, &outcome)?;
    tracing::info!(
        records = records.len(),
        new,
        leads = outcome.stats.leads,
        "deduplicated"
    );
    let DedupeOutcome {
        mut stats,
        links,
        lead_of,
        ..
    } = outcome;
    stats.phase_ms.extend(landing);
    // The match keys, pairs and links are let go before the held records land and DuckDB
    // builds the golden records, its most memory-hungry query.
    let held_ids: Vec<i64> = records[landed..].iter().map(|r| r.record_id).collect();
    let held_leads = lead_of[landed..].to_vec();
    drop_in_parallel(records);
    drop((links, lead_of));
    let scored = land_golden_records(ctx, held, &held_ids, &held_leads, &mut stats)?;
    Ok((stats, scored))
}

/// Golden records from the landed members and the held ones (not read back); then the held
/// records land with their leads and the golden records replace the old ones.
fn land_golden_records(
    ctx: &RunContext,
    held: Vec<RecordBatch>,
    held_ids: &[i64],
    held_leads: &[i64],
    stats: &mut DedupeStats,
) -> Result<Option<crate::store::warmth::WarmthStats>, RunError> {
    let store = ctx.store;
    let clock = Instant::now();
    let lead_slices = crate::store::held::leads_by_batch(&held, held_ids, held_leads)?;
    let held_members = held
        .iter()
        .zip(&lead_slices)
        .map(|(batch, leads)| crate::dedupe::golden::members_of(batch, leads))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunError::Internal(format!("held records as members: {e}")))?;
    let golden = store.golden_records(&ctx.settings.origin_priority, held_members)?;
    stats
        .phase_ms
        .push(("build_golden_records", clock.elapsed().as_millis() as u64));
    let clock = Instant::now();
    store.land_held_with_leads(held, &lead_slices)?;
    drop(lead_slices);
    stats
        .phase_ms
        .push(("land_new_records", clock.elapsed().as_millis() as u64));
    let clock = Instant::now();
    let scored = store.replace_leads(ctx.run_id, golden, Some((&ctx.settings.warmth, ctx.now)))?;
    stats
        .phase_ms
        .push(("land_golden_records", clock.elapsed().as_millis() as u64));
    Ok(scored)
}
