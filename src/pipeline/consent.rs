//! The consent step: new records' consent fields become events in `consents`, then every
//! lead's status is derived again from its history (rules: `leadpipe_core::consent`).

use super::context::{ChangedLeads, RunContext};
use super::summary::{ConsentStats, StageReport};
use super::RunError;
use crate::consent::{record_decision, ConsentPolicy};
use crate::record::Stage;
use rayon::prelude::*;

pub(super) fn run(ctx: &mut RunContext) -> Result<StageReport, RunError> {
    let events_added = if ctx.runs(Stage::Consent) {
        record_events(ctx)?
    } else {
        0
    };
    tracing::debug!(events_added, "consent: events written");
    // Consent is judged as of this stage (not the run's start): one that expires while the
    // run works is expired here.
    let now = ctx.settings.moment(ctx.opts.as_of.as_ref());
    let run_id = ctx.run_id;
    let actor = format!("run {run_id}");
    // An incremental run derives status again for the leads it changed, unless it
    // recorded events for records of other leads (the consent policy changed).
    // A run judged at another time (`--as-of`) derives every status: grants due or expired
    // between then and now would otherwise be left as they were.
    let scoped = ctx.changed_leads == ChangedLeads::InScope
        && ctx.opts.as_of.is_none()
        && !ctx.store.run_added_consents_outside_scope(run_id)?;
    let refresh = if scoped {
        ctx.store
            .refresh_scoped_consent_status(now, &actor, Some(run_id))?
    } else {
        ctx.store
            .refresh_consent_status(now, &actor, Some(run_id))?
    };
    Ok(StageReport::Consent(ConsentStats {
        events_added,
        refresh,
    }))
}

/// Turns the consent fields of records that have no event yet into `consents` rows.
/// Records of the plan's sources whose consent was derived under another policy (the
/// pipeline file changed) or re-derived (re-normalised) get their events again; the old
/// ones are superseded, not deleted.
fn record_events(ctx: &RunContext) -> Result<u64, RunError> {
    let default = ConsentPolicy::default();
    let mut added = 0;
    for spec in &ctx.plan.sources {
        let policy = ctx.plan.consent.get(&spec.name).unwrap_or(&default);
        let derivation = policy.fingerprint();
        let decisions: Vec<_> = ctx
            .store
            .records_needing_consent(&spec.name, &derivation)?
            .par_iter()
            .filter_map(|rec| record_decision(rec, policy))
            .collect();
        added += ctx.store.append_consent_decisions(
            &decisions,
            &policy.channels,
            policy.purpose,
            &derivation,
            Some(ctx.run_id),
            &format!("run {}", ctx.run_id),
        )?;
    }
    Ok(added)
}
