//! What a run reports: per source, per stage, and for the whole run (`--json`, `runs`).

use crate::dedupe::DedupeStats;
use crate::record::Stage;
use crate::store::analysis::segments::SegmentStats;
use crate::store::warmth::WarmthStats;
use serde::Serialize;
use std::collections::BTreeMap;

/// Per-source outcome of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceSummary {
    pub source: String,
    pub path: String,
    pub kind: String,
    pub origin: String,
    /// `imported`, `unchanged` (same content already landed), `reimported` (same content,
    /// new encoding/delimiter/sheet settings: old rows replaced) or `renormalised`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchanged_since_run: Option<i64>,
    pub encoding: Option<String>,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    pub rejects_by_reason: BTreeMap<String, u64>,
    pub phones_valid: u64,
    pub emails_valid: u64,
}

impl SourceSummary {
    /// A source's line before anything was read (and after a run that reads nothing).
    pub(super) fn blank(spec: &crate::sources::SourceSpec) -> SourceSummary {
        SourceSummary {
            source: spec.name.clone(),
            path: spec.path.display().to_string(),
            kind: spec.kind.as_str().to_string(),
            origin: spec.origin.as_str().to_string(),
            ..SourceSummary::default()
        }
    }

    /// Counts rejects by their reason code.
    pub(super) fn count_rejects(&mut self, rejects: &[crate::record::Reject]) {
        self.rows_rejected += rejects.len() as u64;
        for r in rejects {
            *self
                .rejects_by_reason
                .entry(r.code.to_string())
                .or_default() += 1;
        }
    }

    /// Forgets the counts of records and rejects (the source is counted again).
    pub(super) fn clear_outcomes(&mut self) {
        self.rows_accepted = 0;
        self.rows_rejected = 0;
        self.rejects_by_reason.clear();
        self.phones_valid = 0;
        self.emails_valid = 0;
    }
}

/// What a run did, for `--json` and the `runs` table.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    pub pipeline: String,
    pub db: String,
    pub stages: Vec<Stage>,
    pub status: String,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    /// What the user should know although nothing failed (a file with no rows, stages
    /// added because re-derived records needed them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub elapsed_ms: u64,
    /// Wall time per part of the run, milliseconds.
    pub timings_ms: BTreeMap<&'static str, u64>,
    pub sources: Vec<SourceSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrich: Option<EnrichStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedupe: Option<DedupeStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmth: Option<WarmthStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentStats>,
}

/// What the consent stage did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsentStats {
    /// Events added to `consents` from new records.
    pub events_added: u64,
    #[serde(flatten)]
    pub refresh: crate::store::consent::ConsentRefresh,
}

/// What external enrichment did in a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EnrichStats {
    /// Records a provider was asked about (from cache or over HTTP).
    pub looked_up: u64,
    pub fetched: u64,
    pub from_cache: u64,
    pub fields_filled: u64,
    /// Requests that failed (logged; tried again next run).
    pub errors: u64,
}

/// What one stage reports to the run summary.
pub enum StageReport {
    /// The stage had nothing to do (no providers, say): it reports nothing, not even a time.
    Skipped,
    /// Sources read (their summaries are in the run context).
    Read,
    Enrich(EnrichStats),
    Dedupe(DedupeStats),
    Consent(ConsentStats),
    Warmth(WarmthStats),
    Segment(SegmentStats),
}
