//! The warmth step: leads scored as of the run (rules: `leadpipe_core::warmth`). Golden
//! records rebuilt by deduplication in this run landed scored already (scoring does not
//! read consent). After an incremental run, the leads with engagement points are scored
//! (and the leads it changed, unless they landed scored); the others keep their points,
//! and readers decay recency to their own time. Otherwise every lead is scored.

use super::context::{ChangedLeads, RunContext};
use super::summary::StageReport;
use super::RunError;

pub(super) fn run(ctx: &mut RunContext) -> Result<StageReport, RunError> {
    let (settings, now) = (&ctx.settings.warmth, ctx.now);
    // New weights or tiers change every lead's points.
    let same_settings = ctx.previous_settings.warmth == *settings;
    let stats = match (ctx.scored_by_dedupe.take(), ctx.changed_leads) {
        (landed, ChangedLeads::InScope) if same_settings => {
            ctx.store.score_changed_warmth(settings, now, landed)?
        }
        (Some(stats), ChangedLeads::All) => stats,
        _ => ctx.store.score_warmth(settings, now)?,
    };
    Ok(StageReport::Warmth(stats))
}
