//! What the stages of one run share: the plan, the settings, the base, and what each stage
//! leaves for the next.

use super::summary::SourceSummary;
use super::Plan;
use crate::record::Stage;
use crate::settings::Settings;
use crate::store::held::HeldRecords;
use crate::store::warmth::WarmthStats;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;

/// Which stages to run and how to show progress.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub only: Option<Stage>,
    pub from: Option<Stage>,
    /// Stop after this stage (with `from`: a range of stages).
    pub to: Option<Stage>,
    pub progress: bool,
    /// How the run was started, for the `runs` table (`run demo.toml`, `import x.csv`).
    pub command: String,
    /// The moment consent expiry is judged at (default: now), for reproducible runs; read
    /// in the base's zone when it has none.
    pub as_of: Option<crate::settings::TypedTime>,
    /// Fetch web pages again instead of using the ones kept from earlier runs.
    pub refresh: bool,
    /// Cluster the whole base again rather than what the new records touch (`leadpipe
    /// recluster`), and fit the match model again first (`leadpipe refit`).
    pub recluster: Recluster,
    /// When the model is fitted: refine its `m` with the pairs reviewers labelled one
    /// person (`leadpipe refit --with-labels`).
    pub labels_feed_m: bool,
}

impl RunOptions {
    pub fn stages(&self) -> Vec<Stage> {
        Stage::ALL
            .into_iter()
            .filter(|s| match (self.only, self.from) {
                (Some(only), _) => *s == only,
                (None, Some(from)) => *s >= from,
                (None, None) => true,
            })
            .filter(|s| self.to.is_none_or(|to| *s <= to))
            .collect()
    }

    /// The stages to run, or why the selection selects nothing.
    pub fn checked_stages(&self) -> Result<Vec<Stage>, super::RunError> {
        let stages = self.stages();
        if stages.is_empty() {
            let from = self.only.or(self.from).map_or("import", |s| s.as_str());
            let to = self.to.map_or("segment", |s| s.as_str());
            return Err(super::RunError::Stages(format!(
                "no stage runs from {from} to {to}: stages run in the order {}",
                Stage::ALL.map(|s| s.as_str()).join(" → ")
            )));
        }
        Ok(stages)
    }

    /// A spinner on a terminal, nothing otherwise.
    pub(super) fn progress_bar(&self, label: &str) -> ProgressBar {
        if !self.progress || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix}: {human_pos} rows ({per_sec}) {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(label.to_string());
        bar
    }
}

/// Where this run's new records are. Held, they wait in memory (spilling to files beside
/// the base when large) for deduplication, which lands them once, with their leads; that saves
/// writing every new record twice. Not held when deduplication does not follow, or when a
/// provider may still change records.
pub enum NewRecords {
    Held(HeldRecords),
    /// In `records` already.
    Landed,
}

impl NewRecords {
    pub(super) fn for_run(stages: &[Stage], plan: &Plan) -> NewRecords {
        let hold = stages.contains(&Stage::Dedupe)
            && stages.contains(&Stage::Normalise)
            && plan.providers.is_empty();
        if hold {
            NewRecords::Held(HeldRecords::default())
        } else {
            NewRecords::Landed
        }
    }

    pub(super) fn held_mut(&mut self) -> Option<&mut HeldRecords> {
        match self {
            NewRecords::Held(held) => Some(held),
            NewRecords::Landed => None,
        }
    }

    /// The held records, to be landed by the caller; from now on new records land at once.
    pub(super) fn take_held(&mut self) -> Option<HeldRecords> {
        match std::mem::replace(self, NewRecords::Landed) {
            NewRecords::Held(held) => Some(held),
            NewRecords::Landed => None,
        }
    }

    /// Lands the held records now (records re-derived from the base are read back instead).
    pub(super) fn land_now(&mut self, store: &Store) -> Result<(), StoreError> {
        match self.take_held() {
            Some(held) => store.land_held(held.into_batches()),
            None => Ok(()),
        }
    }

    pub(super) fn all_landed(&self) -> bool {
        matches!(self, NewRecords::Landed)
    }
}

/// How much of the base deduplication clusters again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recluster {
    /// What the new records can change (everything when the model must be fitted).
    #[default]
    Touched,
    /// Every record, with the stored model.
    All,
    /// Every record, with the model fitted again on them.
    AllRefit,
}

/// Which leads a run's deduplication changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChangedLeads {
    /// Any of them (the whole base was clustered, or nothing says otherwise).
    #[default]
    All,
    /// Only those in the temp table `scope_leads` (an incremental run).
    InScope,
}

/// One run's shared state, passed to each stage in turn.
pub struct RunContext<'a> {
    pub store: &'a Store,
    pub plan: &'a Plan,
    pub settings: &'a Settings,
    /// The settings the base held before this run (what the last run used, where the
    /// pipeline file now gives another value).
    pub previous_settings: &'a Settings,
    pub opts: &'a RunOptions,
    pub run_id: i64,
    /// The stages that run: those asked for, and those re-derived records need.
    pub stages: Vec<Stage>,
    /// One time for the run: golden records rebuilt by deduplication land scored as of it.
    pub now: DateTime<Utc>,
    pub new_records: NewRecords,
    /// Records of some source were derived again from its raw rows.
    pub renormalised: bool,
    /// Leads deduplication landed already scored (warmth need not score them again).
    pub scored_by_dedupe: Option<WarmthStats>,
    /// Which leads deduplication may have changed: consent is derived again for those.
    pub changed_leads: ChangedLeads,
    pub sources: Vec<SourceSummary>,
    pub warnings: Vec<String>,
    pub timings: BTreeMap<&'static str, u64>,
}

impl RunContext<'_> {
    pub fn runs(&self, stage: Stage) -> bool {
        self.stages.contains(&stage)
    }
}
