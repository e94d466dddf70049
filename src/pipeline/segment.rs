//! The segment step: deals linked to the leads as they now stand, customers' RFM scores
//! and life-cycle stages as of the run's day, and the `lead_segments` view with the
//! pipeline file's own segments (`[segments]`; rules in `leadpipe_core::analysis`).

use super::context::RunContext;
use super::summary::StageReport;
use super::RunError;

pub(super) fn run(ctx: &mut RunContext) -> Result<StageReport, RunError> {
    let day = ctx.now.with_timezone(&ctx.settings.zone()).date_naive();
    let stats = ctx
        .store
        .segment(&ctx.settings.segments, &ctx.settings.warmth, day)?;
    Ok(StageReport::Segment(stats))
}
