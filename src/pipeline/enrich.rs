//! The enrich step: external providers listed in the pipeline file fill empty fields
//! (answers cached in the base). Local enrichment happens while normalising.

use super::context::RunContext;
use super::summary::{EnrichStats, StageReport};
use super::RunError;
use crate::enrich::provider::ProviderConfig;
use crate::record::Stage;
use crate::store::Store;
use std::collections::{BTreeMap, HashSet};

/// Asks each provider, in order, about records that lack what it fills; a record that got a
/// usable answer is not asked again further down the list. A full run asks about new
/// records; `--only/--from enrich` about all of them.
pub(super) fn run(ctx: &mut RunContext) -> Result<StageReport, RunError> {
    if ctx.plan.providers.is_empty() {
        return Ok(StageReport::Skipped);
    }
    let only_new = ctx.runs(Stage::Import);
    let mut stats = EnrichStats::default();
    let mut answered = HashSet::new();
    for (provider, headers) in &ctx.plan.providers {
        ask(
            ctx.store,
            provider,
            headers,
            only_new,
            &mut answered,
            &mut stats,
        )?;
    }
    Ok(StageReport::Enrich(stats))
}

/// One provider's turn: fetch what the cache lacks, then fill the records it answered.
fn ask(
    store: &Store,
    provider: &ProviderConfig,
    headers: &BTreeMap<String, String>,
    only_new: bool,
    answered: &mut HashSet<i64>,
    stats: &mut EnrichStats,
) -> Result<(), RunError> {
    let fill: Vec<&str> = provider.fill.keys().map(String::as_str).collect();
    let wanted: Vec<(i64, String)> = store
        .records_to_enrich(&provider.key, &fill, only_new)?
        .into_iter()
        .filter(|(id, _)| !answered.contains(id))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let mut answers = store.cached_answers(&provider.name)?;
    let mut to_fetch: Vec<String> = wanted
        .iter()
        .map(|(_, k)| k.clone())
        .filter(|k| !answers.contains_key(k))
        .collect();
    to_fetch.sort();
    to_fetch.dedup();
    let fetched_now: HashSet<String> = to_fetch.iter().cloned().collect();
    for (key, result) in crate::enrich::provider::fetch_all(provider, headers, &to_fetch) {
        match result {
            Ok(answer) => {
                stats.fetched += 1;
                store.cache_answer(&provider.name, &key, answer.status, &answer.body)?;
                answers.insert(key, (answer.status, answer.body));
            }
            Err(e) => {
                stats.errors += 1;
                tracing::warn!("{e}");
            }
        }
    }
    for (record_id, key) in &wanted {
        let Some((status, body)) = answers.get(key) else {
            continue;
        };
        stats.looked_up += 1;
        if !fetched_now.contains(key) {
            stats.from_cache += 1;
        }
        if *status != 200 {
            continue;
        }
        let values = provider.extract(body);
        if values.is_empty() {
            continue;
        }
        answered.insert(*record_id);
        for (field, value) in values {
            if store.fill_from_provider(*record_id, &field, &value, &provider.name)? {
                stats.fields_filled += 1;
            }
        }
    }
    Ok(())
}
