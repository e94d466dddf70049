//! The dedupe step: records without a lead are linked into leads, and the golden records
//! of the leads that changed are rebuilt (rules: `leadpipe_core::dedupe`). This run's held
//! records land here, with their leads.
//!
//! A run clusters again only what its new records can change: the leads of every record
//! they share a compared block with, looked up in the base's match index, and the leads
//! tied to those by refusals. Those are clustered from scratch with the stored model, so
//! the result is the one clustering the whole base would give (`leadpipe recluster`). The
//! whole base is clustered when the model is fitted: on the first run with enough
//! records, when the base has grown by [`REFIT_GROWTH`] since the fit, and on `leadpipe
//! refit`; and when the match index is missing or records were derived again.

use super::context::{ChangedLeads, Recluster, RunContext};
use super::prepare::drop_in_parallel;
use super::summary::StageReport;
use super::RunError;
use crate::dedupe::decisions::Constraints;
use crate::dedupe::{
    link, model::Weights, name_values, DedupeInput, DedupeOutcome, DedupeSettings, DedupeStats,
    MatchRecord, NameFrequencies, MIN_RECORDS_TO_FIT,
};
use crate::store::dedupe::LandedMembers;
use crate::store::held::{HeldBatches, LeadCursor};
use crate::store::warmth::WarmthStats;
use crate::store::StoreError;
use duckdb::arrow::record_batch::RecordBatch;
use std::time::Instant;

/// The model is fitted again once the base holds this much more than it was fitted on
/// (1.0: twice as many records). Fitting costs a pass over the whole base; name
/// frequencies and weights move little while a base grows by less.
pub const REFIT_GROWTH: f64 = 1.0;

/// This run's new records: their match keys, the held batches still to land, and how
/// many of the match keys belong to records in `records` already.
struct NewRecords {
    keys: Vec<MatchRecord>,
    held: HeldBatches,
    in_table: usize,
}

/// Reviewers' decisions as a run applies them.
struct Decided {
    constraints: Constraints,
    /// The labelled record pairs still in force (they measure the model, and refine it
    /// on `refit --with-labels`).
    labels: Vec<crate::review::Label>,
    /// The leads of records named by decisions made since the last run.
    pending_leads: Vec<i64>,
}

/// The stored model: weights, and how many records it was fitted on.
struct StoredModel {
    weights: Option<Weights>,
    fitted_on: Option<u64>,
}

pub(super) fn run(ctx: &mut RunContext) -> Result<StageReport, RunError> {
    let bar = ctx.opts.progress_bar("dedupe");
    let started = Instant::now();
    keep_decisions_of_files_read_again(ctx)?;
    let new = new_records(ctx)?;
    let model = StoredModel {
        weights: ctx
            .store
            .latest_weights()?
            .and_then(|json| serde_json::from_str::<Weights>(&json).ok())
            .filter(Weights::fits_model),
        fitted_on: ctx.store.model_fitted_on()?,
    };
    let (fit, whole) = what_to_cluster(ctx, &new, &model)?;
    // Reviewers' decisions: constraints for every clustering; those made since the last
    // run bring their leads into this one's scope.
    let all = ctx.store.decisions(None)?;
    let resolved = ctx.store.resolve(&all)?;
    let decided = Decided {
        labels: crate::review::labelled_pairs(&all, &resolved),
        constraints: resolved.constraints,
        pending_leads: ctx.store.leads_of_pending_decisions()?,
    };
    let (stats, scored) = if whole {
        cluster_whole_base(ctx, new, (model, &decided), fit, started)?
    } else if new.keys.is_empty() && decided.pending_leads.is_empty() {
        ctx.changed_leads = ChangedLeads::InScope;
        relink_nothing(ctx, new.held)?
    } else {
        cluster_touched(ctx, new, model, &decided, started)?
    };
    ctx.store.mark_decisions_applied()?;
    let mut stats = stats;
    stats.reviewed =
        crate::review::label_agreement(ctx.store, &decided.labels, ctx.settings.threshold)?;
    bar.finish_and_clear();
    ctx.scored_by_dedupe = scored;
    Ok(StageReport::Dedupe(stats))
}

/// A file read again replaced its records: decisions naming them move to the records
/// of the same rows (landed now, so that the decisions can find them); any that lose a
/// record no new one replaced are named in a warning.
fn keep_decisions_of_files_read_again(ctx: &mut RunContext) -> Result<(), RunError> {
    if !ctx.sources.iter().any(|s| s.status == "reimported") {
        return Ok(());
    }
    ctx.new_records.land_now(ctx.store)?;
    let lost = ctx.store.carry_decisions_over(ctx.run_id)?;
    if !lost.is_empty() {
        let ids: Vec<String> = lost.iter().map(|d| format!("#{d}")).collect();
        ctx.warnings.push(format!(
            "a source read again no longer has some records that reviewers' decisions {} named; those decisions no longer apply to them (`leadpipe decisions` shows them; decide again from `leadpipe review queue`)",
            ids.join(", ")
        ));
    }
    Ok(())
}

/// The run's new records: held ones, and records an earlier run left without a lead (an
/// `--only import` run, or records a provider changed before this step).
fn new_records(ctx: &mut RunContext) -> Result<NewRecords, RunError> {
    let run_id = ctx.run_id;
    Ok(match ctx.new_records.take_held() {
        Some(held) => {
            let unlinked = ctx.store.load_unlinked_match_records(Some(run_id))?;
            let in_table = unlinked.len();
            let (keys, batches) = held.into_parts(unlinked);
            NewRecords {
                keys,
                held: batches,
                in_table,
            }
        }
        None => {
            let keys = ctx.store.load_unlinked_match_records(None)?;
            NewRecords {
                in_table: keys.len(),
                keys,
                held: HeldBatches::default(),
            }
        }
    })
}

/// Whether to fit the model, and whether to cluster the whole base.
fn what_to_cluster(
    ctx: &RunContext,
    new: &NewRecords,
    model: &StoredModel,
) -> Result<(bool, bool), RunError> {
    let linked = ctx.store.count_linked_records()?;
    let total = linked + new.keys.len() as u64;
    let grown = match model.fitted_on {
        Some(at) => total as f64 >= at as f64 * (1.0 + REFIT_GROWTH),
        None => total >= MIN_RECORDS_TO_FIT as u64,
    };
    let fit = ctx.opts.recluster == Recluster::AllRefit
        || (grown && !new.keys.is_empty())
        || (model.weights.is_none() && total >= MIN_RECORDS_TO_FIT as u64);
    // Records changed or removed behind deduplication's back (a file read again replaces
    // its records; a provider fills fields of linked records), or a setting that decides
    // merges or golden records changed: what an increment can touch no longer covers it.
    let reimported = ctx.sources.iter().any(|s| s.status == "reimported");
    let enriched_linked = ctx.runs(crate::record::Stage::Enrich)
        && !ctx.plan.providers.is_empty()
        && !ctx.runs(crate::record::Stage::Import);
    let before = ctx.previous_settings;
    let settings_changed = before.threshold != ctx.settings.threshold
        || before.origin_priority != ctx.settings.origin_priority;
    let whole = fit
        || ctx.opts.recluster != Recluster::Touched
        || ctx.renormalised
        || reimported
        || enriched_linked
        || settings_changed
        || (linked > 0 && !ctx.store.match_index_ready()?)
        || linked == 0;
    Ok((fit, whole))
}

/// Nothing to link and nothing re-derived: no lead changes.
fn relink_nothing(
    ctx: &RunContext,
    held: HeldBatches,
) -> Result<(DedupeStats, Option<WarmthStats>), RunError> {
    ctx.store.land_held(held)?;
    ctx.store.scope_leads(&[])?;
    Ok((DedupeStats::default(), None))
}

/// Clusters every record from scratch (fitting the model first when `fit`), rebuilds the
/// match index and every golden record.
fn cluster_whole_base(
    ctx: &mut RunContext,
    new: NewRecords,
    (model, decided): (StoredModel, &Decided),
    fit: bool,
    started: Instant,
) -> Result<(DedupeStats, Option<WarmthStats>), RunError> {
    let store = ctx.store;
    let mut records = store.load_linked_match_records()?;
    let linked = records.len();
    let NewRecords {
        keys,
        held,
        in_table,
    } = new;
    append(&mut records, keys);
    sort_by_record_id(&mut records[..linked + in_table]);
    let load_ms = started.elapsed().as_millis() as u64;
    // A base too small to fit on keeps the stored model, names included.
    let fit = fit && records.len() >= MIN_RECORDS_TO_FIT;
    let names = match (&model.weights, fit) {
        (Some(_), false) => store.model_names(&name_values(&records))?,
        _ => NameFrequencies::default(),
    };
    let settings = DedupeSettings {
        threshold: ctx.settings.threshold,
        estimate: fit,
    };
    let labelled_same: Vec<(i64, i64)> = if fit && ctx.opts.labels_feed_m {
        let same = decided.labels.iter().filter(|p| p.2);
        same.map(|p| (p.0, p.1)).collect()
    } else {
        Vec::new()
    };
    let outcome = link(
        DedupeInput {
            records: &records,
            sizes: None,
            constraints: Some(&decided.constraints),
            labelled_same: &labelled_same,
        },
        &settings,
        model.weights.map(|w| (w, names)),
        store.next_lead_id()?,
    );
    if let Some(names) = &outcome.fitted_names {
        store.store_model_names(names, records.len())?;
    }
    store.forget_clustering(true)?;
    store.rebuild_match_index(&records, &outcome.oversized_blocks)?;
    ctx.changed_leads = ChangedLeads::All;
    let landed = linked + in_table;
    land_outcome(
        ctx,
        records,
        held,
        landed,
        outcome,
        load_ms,
        (LandedMembers::All, Vec::new()),
    )
}

/// Clusters again the leads the new records and new decisions touch, with the stored
/// model.
fn cluster_touched(
    ctx: &mut RunContext,
    new: NewRecords,
    model: StoredModel,
    decided: &Decided,
    started: Instant,
) -> Result<(DedupeStats, Option<WarmthStats>), RunError> {
    let store = ctx.store;
    let lap =
        |what: &str| tracing::debug!(ms = started.elapsed().as_millis() as u64, "dedupe: {what}");
    store.index_match_keys(&new.keys)?;
    lap("new keys indexed");
    let touched = store.leads_touched_by(&new.keys, &decided.pending_leads)?;
    lap("touched leads found");
    let (mut records, members) = store.load_touched_records()?;
    lap("touched records loaded");
    let old = records.len();
    let NewRecords {
        keys,
        held,
        in_table,
    } = new;
    // New records already in the table (left by an earlier run) were not read as
    // members: then the golden records read theirs from the table.
    let members = if in_table == 0 {
        (LandedMembers::Given, members)
    } else {
        (LandedMembers::OfScopeLeads, Vec::new())
    };
    append(&mut records, keys);
    sort_by_record_id(&mut records[..old + in_table]);
    let sizes = store.block_sizes(&records)?;
    lap("block sizes read");
    let names = store.model_names(&name_values(&records))?;
    lap("name frequencies read");
    let load_ms = started.elapsed().as_millis() as u64;
    tracing::debug!(
        touched = touched.len(),
        records = records.len(),
        "dedupe scope"
    );
    let settings = DedupeSettings {
        threshold: ctx.settings.threshold,
        estimate: false,
    };
    let outcome = link(
        DedupeInput {
            records: &records,
            sizes: Some(&sizes),
            constraints: Some(&decided.constraints),
            labelled_same: &[],
        },
        &settings,
        model.weights.map(|w| (w, names)),
        store.next_lead_id()?,
    );
    lap("linked");
    store.scope_records(&records)?;
    store.forget_clustering(false)?;
    lap("links of the scope forgotten");
    ctx.changed_leads = ChangedLeads::InScope;
    let landed = old + in_table;
    let (mut stats, scored) = land_outcome(ctx, records, held, landed, outcome, load_ms, members)?;
    stats.incremental = true;
    stats.touched_leads = touched.len();
    Ok((stats, scored))
}

/// `more` after `records`, moved whole when `records` is empty: a first build's ten
/// million match keys are ~2.6 GB, and copying them cost ~3 s.
fn append(records: &mut Vec<MatchRecord>, mut more: Vec<MatchRecord>) {
    if records.is_empty() {
        *records = more;
    } else {
        records.append(&mut more);
    }
}

fn sort_by_record_id(records: &mut [MatchRecord]) {
    records.sort_unstable_by_key(|r| r.record_id);
}

/// Lands lead ids, links, refusals and merges, then the held records and the golden
/// records of the leads in scope (every lead when the whole base was clustered).
/// `members` says which landed members the golden records read from `records`; with
/// [`LandedMembers::Given`], the batches are all of them, read before clustering under
/// their old leads.
fn land_outcome(
    ctx: &RunContext,
    records: Vec<MatchRecord>,
    held: HeldBatches,
    landed: usize,
    outcome: DedupeOutcome,
    load_ms: u64,
    (landed_members, loaded): (LandedMembers, Vec<RecordBatch>),
) -> Result<(DedupeStats, Option<WarmthStats>), RunError> {
    let whole = landed_members == LandedMembers::All;
    let store = ctx.store;
    let landing = store.land_dedupe(ctx.run_id, &records, landed, &outcome)?;
    tracing::info!(
        records = records.len(),
        leads = outcome.stats.leads,
        "deduplicated"
    );
    let DedupeOutcome {
        mut stats,
        links,
        lead_of,
        ..
    } = outcome;
    stats.phase_ms.insert(0, ("load_records", load_ms));
    stats.phase_ms.extend(landing);
    // Only leads whose members changed get new golden records and consent: a touched
    // lead that came out of clustering with the same records is the same lead.
    let changed = if whole {
        Default::default()
    } else {
        let changed = changed_leads(&records[..landed], &lead_of);
        store.scope_leads(&changed.iter().copied().collect::<Vec<_>>())?;
        changed
    };
    // The match keys, pairs and links are let go before the held records land and DuckDB
    // builds the golden records, its most memory-hungry query.
    let held_ids: Vec<i64> = records[landed..].iter().map(|r| r.record_id).collect();
    let held_leads = lead_of[landed..].to_vec();
    // Members read before clustering get their new leads.
    let lead_of_record: std::collections::HashMap<i64, i64> = match landed_members {
        LandedMembers::Given => records[..landed]
            .iter()
            .zip(&lead_of)
            .map(|(r, &l)| (r.record_id, l))
            .collect(),
        _ => Default::default(),
    };
    let more = loaded
        .iter()
        .map(|b| {
            crate::dedupe::golden::relabel(
                b,
                |id| lead_of_record.get(&id).copied(),
                |lead| changed.contains(&lead),
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunError::Internal(format!("touched records as members: {e}")))?;
    drop_in_parallel(records);
    drop((links, lead_of));
    let scored = land_golden_records(
        ctx,
        held,
        (&held_ids, &held_leads),
        (landed_members, more),
        &mut stats,
    )?;
    Ok((stats, scored))
}

/// The leads a re-clustering changed: every lead a record joined or left (`landed` are
/// the records that had leads before, in `lead_of`'s order; the rest are new and join
/// theirs), including old leads now merged away.
fn changed_leads(landed: &[MatchRecord], lead_of: &[i64]) -> std::collections::HashSet<i64> {
    let mut changed = std::collections::HashSet::new();
    for (i, &lead) in lead_of.iter().enumerate() {
        let before = landed.get(i).and_then(|r| r.lead_id);
        if before != Some(lead) {
            changed.insert(lead);
            changed.extend(before);
        }
    }
    changed
}

/// Golden records from the landed members and the held ones (those in memory as they are,
/// those in files read back a batch at a time); then the held records land with their
/// leads and the golden records replace the old ones.
fn land_golden_records(
    ctx: &RunContext,
    held: HeldBatches,
    (held_ids, held_leads): (&[i64], &[i64]),
    (landed, mut members): (LandedMembers, Vec<RecordBatch>),
    stats: &mut DedupeStats,
) -> Result<Option<WarmthStats>, RunError> {
    let whole = landed == LandedMembers::All;
    let store = ctx.store;
    let clock = Instant::now();
    // Those in files are read back one batch at a time; their members are much smaller.
    let mut cursor = LeadCursor::new(held_ids, held_leads)?;
    members.extend(held.map(|batch| {
        let leads = cursor.next(batch)?;
        crate::dedupe::golden::members_of(batch, leads).map_err(|message| StoreError::Batch {
            table: "records",
            message: format!("held records as members: {message}"),
        })
    })?);
    cursor.finish()?;
    let golden = store.golden_records(&ctx.settings.origin_priority, members, landed)?;
    stats
        .phase_ms
        .push(("build_golden_records", clock.elapsed().as_millis() as u64));
    let clock = Instant::now();
    store.land_held_with_leads(held, (held_ids, held_leads))?;
    stats
        .phase_ms
        .push(("land_new_records", clock.elapsed().as_millis() as u64));
    let clock = Instant::now();
    let scored = store.replace_leads(
        ctx.run_id,
        golden,
        Some((&ctx.settings.warmth, ctx.now)),
        !whole,
    )?;
    stats
        .phase_ms
        .push(("land_golden_records", clock.elapsed().as_millis() as u64));
    Ok(scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn had(lead_id: Option<i64>) -> MatchRecord {
        MatchRecord {
            lead_id,
            ..MatchRecord::default()
        }
    }

    /// Lead 1 keeps its records and gains lead 2's (merged away), lead 3 keeps its own,
    /// lead 5 loses one to the new lead 6, and a new record starts lead 7: leads 1, 2, 5,
    /// 6 and 7 changed; lead 3 came out the same.
    #[test]
    fn changed_leads_are_those_a_record_joined_or_left() {
        let landed = [
            had(Some(1)),
            had(Some(2)),
            had(Some(3)),
            had(Some(3)),
            had(Some(5)),
            had(Some(5)),
        ];
        let lead_of = [1, 1, 3, 3, 5, 6, 7];
        let mut changed: Vec<i64> = changed_leads(&landed, &lead_of).into_iter().collect();
        changed.sort_unstable();
        assert_eq!(changed, vec![1, 2, 5, 6, 7]);
    }
}
