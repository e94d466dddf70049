//! The stages in the order they run, and the loop that runs them.

use super::context::RunContext;
use super::summary::StageReport;
use super::{consent, dedupe, enrich, read, segment, warmth, RunError};
use crate::dedupe::DedupeStats;
use crate::record::Stage;
use crate::store::analysis::segments::SegmentStats;
use crate::store::warmth::WarmthStats;
use std::time::Instant;

/// One step of a run: when it runs and what it does.
struct Step {
    /// Its entry in the summary's `timings_ms`.
    timing: &'static str,
    /// It runs when any of these stages runs.
    runs_for: &'static [Stage],
    run: fn(&mut RunContext) -> Result<StageReport, RunError>,
}

/// Import and normalise are one pass over each source (rows are normalised as they are
/// read). Consent is derived again whenever golden records were rebuilt, so `leads` never
/// shows a status its history no longer supports; warmth scores decay with time, so every
/// run that touches leads scores them again; segments follow the leads and the warmth.
const STEPS: [Step; 6] = [
    Step {
        timing: "import_normalise_land",
        runs_for: &[Stage::Import, Stage::Normalise],
        run: read::run,
    },
    Step {
        timing: "enrich_external",
        runs_for: &[Stage::Enrich],
        run: enrich::run,
    },
    Step {
        timing: "dedupe",
        runs_for: &[Stage::Dedupe],
        run: dedupe::run,
    },
    Step {
        timing: "consent",
        runs_for: &[Stage::Consent, Stage::Dedupe],
        run: consent::run,
    },
    Step {
        timing: "warmth",
        runs_for: &[Stage::Dedupe, Stage::Consent, Stage::Warmth],
        run: warmth::run,
    },
    Step {
        timing: "segment",
        runs_for: &[Stage::Dedupe, Stage::Consent, Stage::Warmth, Stage::Segment],
        run: segment::run,
    },
];

/// What the stages reported, for the run summary.
#[derive(Default)]
pub(super) struct Reports {
    pub enrich: Option<super::EnrichStats>,
    pub dedupe: Option<DedupeStats>,
    pub consent: Option<super::ConsentStats>,
    pub warmth: Option<WarmthStats>,
    pub segment: Option<SegmentStats>,
}

/// Runs each step whose stages are asked for (the read step may add stages: re-derived
/// records need their consent and golden records derived again). Row conservation is
/// checked as soon as every record of the run has landed.
pub(super) fn run_stages(ctx: &mut RunContext) -> Result<Reports, RunError> {
    let mut reports = Reports::default();
    let mut conservation_checked = !ctx.runs(Stage::Normalise);
    for step in &STEPS {
        if !step.runs_for.iter().any(|s| ctx.runs(*s)) {
            continue;
        }
        let clock = Instant::now();
        let report = (step.run)(ctx)?;
        if !matches!(report, StageReport::Skipped) {
            ctx.timings
                .insert(step.timing, clock.elapsed().as_millis() as u64);
        }
        match report {
            StageReport::Skipped | StageReport::Read => {}
            StageReport::Enrich(s) => reports.enrich = Some(s),
            StageReport::Dedupe(s) => reports.dedupe = Some(s),
            StageReport::Consent(s) => reports.consent = Some(s),
            StageReport::Warmth(s) => reports.warmth = Some(s),
            StageReport::Segment(s) => reports.segment = Some(s),
        }
        if !conservation_checked && ctx.new_records.all_landed() {
            let clock = Instant::now();
            let names: Vec<&str> = ctx.plan.sources.iter().map(|s| s.name.as_str()).collect();
            read::check_conservation(ctx.store, &names)?;
            ctx.timings
                .insert("conservation_check", clock.elapsed().as_millis() as u64);
            conservation_checked = true;
        }
    }
    Ok(reports)
}
