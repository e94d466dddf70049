//! The warmth step: every lead scored as of the run (rules: `leadpipe_core::warmth`).
//! Golden records rebuilt by deduplication in this run landed scored already (scoring does
//! not read consent); otherwise scores decay and engagements count: score again.

use super::context::RunContext;
use super::summary::StageReport;
use super::RunError;

pub(super) fn run(ctx: &mut RunContext) -> Result<StageReport, RunError> {
    let stats = match ctx.scored_by_dedupe.take() {
        Some(stats) => stats,
        None => ctx.store.score_warmth(&ctx.settings.warmth, ctx.now)?,
    };
    Ok(StageReport::Warmth(stats))
}
