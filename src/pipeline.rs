//! Pipeline file → validated plan → stages run in one transaction, with progress.

use crate::consent::{record_decision, ConsentPolicy, ErasedContacts};
use crate::dedupe::{dedupe, model::Weights, DedupeSettings, DedupeStats, MatchRecord};
use crate::enrich::provider::ProviderConfig;
use crate::normalise::{phone::PhoneNormaliser, Normaliser};
use crate::record::{Cell, CleanRecord, OrderedObject, Origin, RawRow, Reject, Stage};
use crate::sources::headers::{Mapper, MappingError};
use crate::sources::{self, SourceError, SourceKind, SourceSpec};
use crate::store::held::HeldRecords;
use crate::store::warmth::WarmthStats;
use crate::store::{BatchOrigin, RawLanding, Store, StoreError};
use chrono::FixedOffset;
use duckdb::arrow::record_batch::RecordBatch;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Rows per batch: large enough that appends are bulk, small enough that memory stays flat.
const CHUNK_ROWS: usize = 32_768;

/// The pipeline file as written (TOML).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    name: Option<String>,
    /// DuckDB file; relative paths are relative to the pipeline file.
    db: Option<PathBuf>,
    #[serde(default)]
    normalise: NormaliseSettings,
    #[serde(default)]
    enrich: EnrichFileSettings,
    #[serde(default)]
    dedupe: DedupeFileSettings,
    warmth: Option<crate::warmth::WarmthSettings>,
    #[serde(alias = "source", default)]
    sources: Vec<SourceEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NormaliseSettings {
    /// Region assumed for phone numbers written without `+` (ISO code, default RU).
    default_region: Option<String>,
    /// Offset for timestamps written without a zone, like "+03:00" (default Moscow).
    naive_time_offset: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrichFileSettings {
    /// External providers, tried in this order per record (waterfall).
    #[serde(default)]
    providers: Vec<ProviderConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DedupeFileSettings {
    /// Match probability at or above which two records are one lead (default 0.95).
    threshold: Option<f64>,
    /// Which origin's data wins in the golden record (default form, purchased, open).
    origin_priority: Option<Vec<Origin>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceEntry {
    name: Option<String>,
    kind: Option<SourceKind>,
    /// The file (or folder of saved pages); web sources with `[sources.fetch]` need none.
    path: Option<PathBuf>,
    origin: Origin,
    encoding: Option<String>,
    delimiter: Option<String>,
    sheet: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    /// How this source's consent fields are read (channels, purpose, validity).
    consent: Option<ConsentPolicy>,
    /// Extraction rules for `kind = "html"` (saved directory pages).
    html: Option<crate::sources::html::HtmlRules>,
    /// Live pages to fetch for `kind = "html"`.
    fetch: Option<crate::sources::fetch::FetchSettings>,
}

/// A validated pipeline, ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub db: PathBuf,
    pub sources: Vec<SourceSpec>,
    pub normaliser: Normaliser,
    /// External enrichment providers with their resolved headers (empty: stage is a no-op).
    pub providers: Vec<(ProviderConfig, BTreeMap<String, String>)>,
    pub dedupe: DedupePlan,
    /// Consent policy per source name (sources not listed use the default policy).
    pub consent: HashMap<String, ConsentPolicy>,
    /// Warmth weights and thresholds from the pipeline file; `None`: the ones the
    /// database was last scored with (or the defaults).
    pub warmth: Option<crate::warmth::WarmthSettings>,
    /// Settings given in the pipeline file that commands run later on the same database
    /// need too (`leadpipe_meta`): the phone region, the naive time zone, origin priority.
    pub settings: BTreeMap<String, String>,
}

/// Deduplication settings of a plan.
#[derive(Debug, Clone)]
pub struct DedupePlan {
    pub threshold: f64,
    pub origin_priority: Vec<String>,
}

impl Default for DedupePlan {
    fn default() -> Self {
        DedupePlan {
            threshold: DedupeSettings::default().threshold,
            origin_priority: vec!["form".into(), "purchased".into(), "open".into()],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("pipeline file {path}: not found")]
    NotFound { path: PathBuf },
    #[error("pipeline file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// What can stop a run. Every variant but `Store` and `Internal` is the input's fault.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("source {source_name:?}: {error}")]
    Mapping {
        source_name: String,
        error: MappingError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stages asked for that make no sense together (`--from warmth --to dedupe`).
    #[error("{0}")]
    Stages(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl RunError {
    /// True when the user can fix it by changing the input or the pipeline file.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            RunError::Pipeline(_)
                | RunError::Source(_)
                | RunError::Mapping { .. }
                | RunError::Stages(_)
        )
    }

    pub fn is_missing_input(&self) -> bool {
        matches!(
            self,
            RunError::Pipeline(PipelineError::NotFound { .. })
                | RunError::Source(SourceError::NotFound { .. })
        )
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> PipelineError {
    PipelineError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads and validates a pipeline file. Relative paths in it are relative to its folder.
pub fn load_pipeline(path: &Path) -> Result<Plan, PipelineError> {
    // A pipeline file is a few KB; `/dev/zero` or a FIFO given by mistake must not hang or
    // fill memory.
    let bytes =
        crate::sources::read_capped(path, "pipeline file", 1 << 20).map_err(|e| match e {
            SourceError::NotFound { .. } => PipelineError::NotFound {
                path: path.to_path_buf(),
            },
            other => invalid(path, other.to_string()),
        })?;
    let text = String::from_utf8(bytes).map_err(|_| invalid(path, "not UTF-8 text"))?;
    let file: PipelineFile = toml::from_str(&text).map_err(|e| invalid(path, e.to_string()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let name = file.name.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pipeline".to_string())
    });
    let normaliser = normaliser_from(&file.normalise).map_err(|m| invalid(path, m))?;
    if let Some(w) = &file.warmth {
        w.validate().map_err(|m| invalid(path, m))?;
    }
    let mut settings = BTreeMap::new();
    if let Some(r) = &file.normalise.default_region {
        settings.insert("normalise.default_region".to_string(), r.clone());
    }
    if let Some(o) = &file.normalise.naive_time_offset {
        settings.insert("normalise.naive_time_offset".to_string(), o.clone());
    }
    if let Some(order) = &file.dedupe.origin_priority {
        let order: Vec<&str> = order.iter().map(|o| o.as_str()).collect();
        settings.insert("dedupe.origin_priority".to_string(), order.join(","));
    }
    if let Some(w) = &file.warmth {
        settings.insert(
            "warmth.settings".to_string(),
            serde_json::to_string(w).unwrap_or_default(),
        );
    }
    let mut dedupe = DedupePlan::default();
    if let Some(t) = file.dedupe.threshold {
        if !(0.5..1.0).contains(&t) {
            return Err(invalid(
                path,
                format!("dedupe.threshold {t} must be at least 0.5 and below 1"),
            ));
        }
        dedupe.threshold = t;
        settings.insert("dedupe.threshold".to_string(), t.to_string());
    }
    let mut providers = Vec::new();
    for p in file.enrich.providers {
        let headers = p.validate().map_err(|e| invalid(path, e.to_string()))?;
        providers.push((p, headers));
    }
    if let Some(order) = &file.dedupe.origin_priority {
        dedupe.origin_priority = order.iter().map(|o| o.as_str().to_string()).collect();
    }
    if file.sources.is_empty() {
        return Err(invalid(
            path,
            "no [[sources]] given: add at least one source",
        ));
    }
    let mut sources = Vec::with_capacity(file.sources.len());
    let mut consent = HashMap::new();
    for (i, s) in file.sources.into_iter().enumerate() {
        if let Some(f) = &s.fetch {
            if f.contact == crate::sources::fetch::FetchSettings::default().contact
                || f.contact.trim().is_empty()
            {
                return Err(invalid(
                    path,
                    format!(
                        "source #{}: [sources.fetch] needs `contact` (a URL or mailto: address): \
                         it goes in the User-Agent so site owners can reach whoever crawls them",
                        i + 1
                    ),
                ));
            }
            if f.urls.is_empty() && f.url_pattern.is_none() {
                return Err(invalid(
                    path,
                    format!(
                        "source #{}: [sources.fetch] needs `urls` or `url_pattern`",
                        i + 1
                    ),
                ));
            }
        }
        let path_given = match (&s.path, &s.fetch) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    path,
                    format!(
                        "source #{}: give either `path` (saved pages) or [sources.fetch] (live pages), not both",
                        i + 1
                    ),
                ))
            }
            (Some(p), _) => p.clone(),
            (None, Some(_)) => PathBuf::from(s.name.clone().unwrap_or_else(|| "web".into())),
            (None, None) => {
                return Err(invalid(
                    path,
                    format!(
                        "source #{}: give its `path` (a file, or a folder of saved pages)",
                        i + 1
                    ),
                ))
            }
        };
        let full = base.join(&path_given);
        let kind = match s
            .kind
            .or_else(|| s.fetch.as_ref().map(|_| SourceKind::Html))
            .or_else(|| SourceKind::from_path(&path_given))
        {
            Some(k) => k,
            None => {
                return Err(invalid(
                    path,
                    format!(
                        "source #{} ({}): cannot tell the kind from the file name; set kind = \"csv\" | \"xlsx\" | \"jsonl\"",
                        i + 1,
                        path_given.display()
                    ),
                ))
            }
        };
        let delimiter = match s.delimiter.as_deref() {
            None => None,
            Some("\\t") | Some("tab") => Some(b'\t'),
            Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
            Some(d) => {
                return Err(invalid(
                    path,
                    format!(
                        "source #{}: delimiter {d:?} must be one ASCII character or \"tab\"",
                        i + 1
                    ),
                ))
            }
        };
        Mapper::new(&s.columns).map_err(|e| invalid(path, format!("source #{}: {e}", i + 1)))?;
        let name = s.name.unwrap_or_else(|| default_source_name(&path_given));
        if sources.iter().any(|x: &SourceSpec| x.name == name) {
            return Err(invalid(
                path,
                format!("two sources are named {name:?}; names must be unique"),
            ));
        }
        if let Some(policy) = s.consent {
            if policy.channels.is_empty() {
                return Err(invalid(
                    path,
                    format!("source {name:?}: consent.channels is empty; list at least one of call, sms, email"),
                ));
            }
            consent.insert(name.clone(), policy);
        }
        sources.push(SourceSpec {
            name,
            kind,
            path: full,
            origin: s.origin,
            encoding: s.encoding,
            delimiter,
            sheet: s.sheet,
            columns: s.columns,
            html: s.html,
            fetch: s.fetch,
        });
    }
    Ok(Plan {
        name,
        db: base.join(file.db.unwrap_or_else(|| PathBuf::from("leadpipe.duckdb"))),
        sources,
        normaliser,
        providers,
        dedupe,
        consent,
        warmth: file.warmth,
        settings,
    })
}

/// Warmth settings on this database (see [`normaliser_for`]).
pub fn warmth_settings_for(store: &Store) -> Result<crate::warmth::WarmthSettings, StoreError> {
    Ok(store
        .meta("warmth.settings")?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// The plan with every setting it leaves unset taken from what the base stored (the last
/// pipeline that set it): `leadpipe import b.csv` into a base whose pipeline said
/// `default_region = "BY"` reads `8 029 …` as Belarusian, and rebuilds golden records with
/// that pipeline's origin priority and threshold. A setting in the pipeline file wins.
pub fn with_stored_settings(plan: &Plan, store: &Store) -> Result<Plan, RunError> {
    let mut plan = plan.clone();
    let given = |key: &str| plan.settings.get(key).cloned();
    let normalise = NormaliseSettings {
        default_region: match given("normalise.default_region") {
            Some(v) => Some(v),
            None => store.meta("normalise.default_region")?,
        },
        naive_time_offset: match given("normalise.naive_time_offset") {
            Some(v) => Some(v),
            None => store.meta("normalise.naive_time_offset")?,
        },
    };
    if given("normalise.default_region").is_none() || given("normalise.naive_time_offset").is_none()
    {
        // Stored values passed validation when their pipeline was loaded.
        plan.normaliser = normaliser_from(&normalise)
            .map_err(|m| RunError::Internal(format!("a setting stored in the base: {m}")))?;
    }
    if given("dedupe.origin_priority").is_none() {
        plan.dedupe.origin_priority = origin_priority_for(store)?;
    }
    if given("dedupe.threshold").is_none() {
        if let Some(t) = store
            .meta("dedupe.threshold")?
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|t| (0.5..1.0).contains(t))
        {
            plan.dedupe.threshold = t;
        }
    }
    Ok(plan)
}

/// The normaliser a command uses on a database: the settings of the last pipeline that
/// set them (a do-not-call list in a Belarusian base is read with region BY), else defaults.
pub fn normaliser_for(store: &Store) -> Result<Normaliser, StoreError> {
    let settings = NormaliseSettings {
        default_region: store.meta("normalise.default_region")?,
        naive_time_offset: store.meta("normalise.naive_time_offset")?,
    };
    Ok(normaliser_from(&settings).unwrap_or_default())
}

/// Origin priority for golden records on this database (see [`normaliser_for`]).
pub fn origin_priority_for(store: &Store) -> Result<Vec<String>, StoreError> {
    Ok(match store.meta("dedupe.origin_priority")? {
        Some(v) => v.split(',').map(str::to_string).collect(),
        None => DedupePlan::default().origin_priority,
    })
}

fn normaliser_from(s: &NormaliseSettings) -> Result<Normaliser, String> {
    let mut n = Normaliser::default();
    if let Some(region) = &s.default_region {
        n.phone = PhoneNormaliser::for_region(region).ok_or_else(|| {
            format!(
                "normalise.default_region {region:?} is not a known region code (e.g. RU, KZ, BY)"
            )
        })?;
    }
    if let Some(off) = &s.naive_time_offset {
        n.naive_offset = off.parse::<FixedOffset>().map_err(|_| {
            format!("normalise.naive_time_offset {off:?} must look like \"+03:00\"")
        })?;
    }
    Ok(n)
}

/// The source name a file gets when none is given: its file name.
pub fn default_source_name(path: &Path) -> String {
    path.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

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
    /// The moment consent expiry is judged at (default: now), for reproducible runs.
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Fetch web pages again instead of using the ones kept from earlier runs.
    pub refresh: bool,
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
    pub fn checked_stages(&self) -> Result<Vec<Stage>, RunError> {
        let stages = self.stages();
        if stages.is_empty() {
            let from = self.only.or(self.from).map_or("import", |s| s.as_str());
            let to = self.to.map_or("warmth", |s| s.as_str());
            return Err(RunError::Stages(format!(
                "no stage runs from {from} to {to}: stages run in the order {}",
                Stage::ALL.map(|s| s.as_str()).join(" → ")
            )));
        }
        Ok(stages)
    }
}

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
    pub warmth: Option<crate::store::warmth::WarmthStats>,
}

/// What the consent stage did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsentStats {
    /// Events added to `consents` from new records.
    pub events_added: u64,
    #[serde(flatten)]
    pub refresh: crate::store::consent::ConsentRefresh,
}

/// Per-source summaries, and what the later stages did (if they ran).
struct StageOutcomes {
    /// The stages that ran: those asked for, and those re-derived records needed.
    stages: Vec<Stage>,
    warnings: Vec<String>,
    sources: Vec<SourceSummary>,
    enrich: Option<EnrichStats>,
    dedupe: Option<DedupeStats>,
    consent: Option<ConsentStats>,
    warmth: Option<crate::store::warmth::WarmthStats>,
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

/// Runs the plan against its database (or `db_override`). All-or-nothing: on any error the
/// transaction is rolled back and a `failed` row is written to `runs` on its own.
pub fn run(
    plan: &Plan,
    opts: &RunOptions,
    db_override: Option<&Path>,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let db_path = db_override.unwrap_or(&plan.db);
    let store = Store::open(db_path)?;
    let resolved = with_stored_settings(plan, &store)?;
    let plan = &resolved;
    // Until the run's checkpoint is done (the guard drops when `run` returns).
    let _no_vacuum = store.without_vacuum()?;
    let stages = opts.checked_stages()?;
    let stages_text = stages
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    // The run's row is written first, on its own, as `running`: if the process dies (a
    // kill, out of memory, a full disk that also stops the `failed` row below) the next
    // command that opens the base finds it and marks it failed.
    let run_id = store.next_run_id()?;
    store.insert_run(
        run_id,
        &plan.name,
        &opts.command,
        &stages_text,
        "running",
        started_at,
        (0, 0, 0),
        "{}",
        None,
    )?;
    store.begin()?;
    // Rolls back, then marks the row `failed` on its own; best effort, since the failure
    // itself is what the caller reports (and the next command marks a row left `running`).
    let record_failure = |e: &RunError| {
        store.rollback();
        let _ = store.finish_run(
            run_id,
            &stages_text,
            "failed",
            (0, 0, 0),
            "{}",
            Some(&e.to_string()),
        );
    };
    let mut timings = BTreeMap::new();
    let result = run_stages(&store, plan, opts, &stages, run_id, &mut timings);
    match result {
        Ok(StageOutcomes {
            stages,
            warnings,
            sources,
            enrich,
            dedupe,
            consent,
            warmth,
        }) => {
            let stages_text = stages
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let mut summary = RunSummary {
                run_id,
                pipeline: plan.name.clone(),
                db: db_path.display().to_string(),
                stages,
                status: "ok".to_string(),
                rows_read: sources.iter().map(|s| s.rows_read).sum(),
                rows_accepted: sources.iter().map(|s| s.rows_accepted).sum(),
                rows_rejected: sources.iter().map(|s| s.rows_rejected).sum(),
                warnings,
                elapsed_ms: 0,
                timings_ms: timings,
                sources,
                enrich,
                dedupe,
                consent,
                warmth,
            };
            summary.elapsed_ms = started.elapsed().as_millis() as u64;
            let json =
                serde_json::to_string(&summary).map_err(|e| RunError::Internal(e.to_string()))?;
            crate::fault::pause_at("run_before_commit");
            let commit_started = Instant::now();
            let finish = plan
                .settings
                .iter()
                .try_for_each(|(k, v)| store.set_meta(k, v))
                .and_then(|_| {
                    store.finish_run(
                        run_id,
                        &stages_text,
                        "ok",
                        (
                            summary.rows_read,
                            summary.rows_accepted,
                            summary.rows_rejected,
                        ),
                        &json,
                        None,
                    )
                })
                .and_then(|_| store.commit());
            if let Err(e) = finish {
                let e = RunError::from(e);
                record_failure(&e);
                return Err(e);
            }
            summary
                .timings_ms
                .insert("commit", commit_started.elapsed().as_millis() as u64);
            // Write what the commit left in the WAL into the file now (else closing the
            // database does it, and that time shows in no figure).
            let checkpoint_started = Instant::now();
            store.checkpoint()?;
            summary.timings_ms.insert(
                "checkpoint",
                checkpoint_started.elapsed().as_millis() as u64,
            );
            summary.elapsed_ms = started.elapsed().as_millis() as u64;
            Ok(summary)
        }
        Err(e) => {
            record_failure(&e);
            Err(e)
        }
    }
}

fn run_stages(
    store: &Store,
    plan: &Plan,
    opts: &RunOptions,
    stages: &[Stage],
    run_id: i64,
    timings: &mut BTreeMap<&'static str, u64>,
) -> Result<StageOutcomes, RunError> {
    let mut clock = Instant::now();
    // One time for the run: golden records rebuilt by deduplication land scored as of it.
    let now = opts.as_of.unwrap_or_else(chrono::Utc::now);
    let warmth_settings = match &plan.warmth {
        Some(w) => w.clone(),
        None => warmth_settings_for(store)?,
    };
    let import = stages.contains(&Stage::Import);
    let normalise = stages.contains(&Stage::Normalise);
    let mut next_raw_id = store.next_raw_id()?;
    let mut summaries = Vec::new();
    // An erased person's rows are refused at import; hashing only happens if anyone was.
    let erased = ErasedContacts::new(store.contact_hasher()?, store.erased_hashes()?);
    // This run's records with their match keys, made while normalising, so deduplication
    // reads back only older records and lands these once, with their leads. Not when a
    // provider may still change records.
    let mut fresh = (stages.contains(&Stage::Dedupe) && normalise && plan.providers.is_empty())
        .then(HeldRecords::default);
    for spec in &plan.sources {
        let mut summary = SourceSummary {
            source: spec.name.clone(),
            path: spec.path.display().to_string(),
            kind: spec.kind.as_str().to_string(),
            origin: spec.origin.as_str().to_string(),
            ..SourceSummary::default()
        };
        if import {
            import_source(
                store,
                plan,
                spec,
                run_id,
                normalise,
                &mut next_raw_id,
                opts,
                &erased,
                fresh.as_mut(),
                &mut summary,
            )?;
        }
        // Re-derive from landed raw rows when asked (`--only/--from normalise`), or when an
        // earlier `--only import` run left rows waiting.
        if normalise && (!import || store.count_unnormalised(&spec.name, run_id)? > 0) {
            // Re-normalising covers the whole source, including rows just imported:
            // count them once, there.
            summary.rows_accepted = 0;
            summary.rows_rejected = 0;
            summary.rejects_by_reason.clear();
            summary.phones_valid = 0;
            summary.emails_valid = 0;
            // Records re-derived here are read back from the database instead, and so
            // are those held so far.
            if let Some(held) = fresh.take() {
                store.land_held(held.batches)?;
            }
            renormalise_source(store, plan, spec, run_id, opts, &mut summary)?;
        }
        summaries.push(summary);
    }
    timings.insert("import_normalise_land", clock.elapsed().as_millis() as u64);
    clock = Instant::now();
    // Held records land with deduplication; conservation is checked once they have.
    let conservation = |clock: &mut Instant, timings: &mut BTreeMap<&'static str, u64>| {
        let names: Vec<&str> = plan.sources.iter().map(|s| s.name.as_str()).collect();
        check_conservation(store, &names)?;
        timings.insert("conservation_check", clock.elapsed().as_millis() as u64);
        *clock = Instant::now();
        Ok::<(), RunError>(())
    };
    let records_held = fresh.is_some();
    if normalise && !records_held {
        conservation(&mut clock, timings)?;
    }
    let renormalised = summaries.iter().any(|s| s.status == "renormalised");
    let mut warnings: Vec<String> = summaries
        .iter()
        .filter(|s| s.rows_read == 0 && matches!(s.status.as_str(), "imported" | "reimported"))
        .map(|s| format!("{}: {} has a header and no data rows", s.source, s.path))
        .collect();
    // Re-derived records were cut loose from their consent events (superseded with the
    // old derivation) and their golden records: stopping here would leave nobody
    // callable while `leads` still said "granted". The stages that depend on them run too.
    let mut stages = stages.to_vec();
    let rederived =
        renormalised || (normalise && summaries.iter().any(|s| s.status == "reimported"));
    if rederived {
        let missing: Vec<Stage> = [Stage::Dedupe, Stage::Consent, Stage::Warmth]
            .into_iter()
            .filter(|s| !stages.contains(s))
            .collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "records were re-derived, so {} ran too: their consent events and golden records are derived from them",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
            stages.extend(missing);
            stages.sort();
        }
    }
    let stages = stages.as_slice();
    let enrich = if stages.contains(&Stage::Enrich) && !plan.providers.is_empty() {
        // A full run asks about new records; `--only/--from enrich` about all of them.
        let only_new = stages.contains(&Stage::Import);
        let stats = run_external_enrichment(store, plan, only_new)?;
        timings.insert("enrich_external", clock.elapsed().as_millis() as u64);
        clock = Instant::now();
        Some(stats)
    } else {
        None
    };
    let mut scored_leads = None;
    let dedupe = if stages.contains(&Stage::Dedupe) {
        let (stats, scored) = run_dedupe(
            store,
            plan,
            run_id,
            opts,
            renormalised,
            fresh,
            (&warmth_settings, now),
        )?;
        scored_leads = scored;
        timings.insert("dedupe", clock.elapsed().as_millis() as u64);
        clock = Instant::now();
        if records_held {
            conservation(&mut clock, timings)?;
        }
        Some(stats)
    } else {
        None
    };
    // Golden records were rebuilt, or consent asked for: statuses are derived again, so
    // `leads` never shows a status its history no longer supports.
    let consent = if stages.contains(&Stage::Consent) || stages.contains(&Stage::Dedupe) {
        let events_added = if stages.contains(&Stage::Consent) {
            record_consent_events(store, plan, run_id)?
        } else {
            0
        };
        tracing::debug!(
            ms = clock.elapsed().as_millis() as u64,
            events_added,
            "consent: events written"
        );
        // Consent is judged as of this stage (not the run's start): one that expires
        // while the run works is expired here.
        let consent_now = opts.as_of.unwrap_or_else(chrono::Utc::now);
        let refresh =
            store.refresh_consent_status(consent_now, &format!("run {run_id}"), Some(run_id))?;
        timings.insert("consent", clock.elapsed().as_millis() as u64);
        clock = Instant::now();
        Some(ConsentStats {
            events_added,
            refresh,
        })
    } else {
        None
    };
    // Scores decay with time: every run that touches leads scores them again.
    let warmth = if [Stage::Dedupe, Stage::Consent, Stage::Warmth]
        .iter()
        .any(|s| stages.contains(s))
    {
        // Golden records rebuilt in this run landed scored as of `now` (scoring does not
        // read consent); otherwise scores decay and engagements count: score again.
        let stats = match scored_leads {
            Some(stats) => stats,
            None => store.score_warmth(&warmth_settings, now)?,
        };
        timings.insert("warmth", clock.elapsed().as_millis() as u64);
        Some(stats)
    } else {
        None
    };
    Ok(StageOutcomes {
        stages: stages.to_vec(),
        warnings,
        sources: summaries,
        enrich,
        dedupe,
        consent,
        warmth,
    })
}

/// Turns the consent fields of records that have no event yet into `consents` rows.
/// Records of the plan's sources whose consent was derived under another policy (the
/// pipeline file changed) or re-derived (re-normalised) get their events again; the old
/// ones are superseded, not deleted.
fn record_consent_events(store: &Store, plan: &Plan, run_id: i64) -> Result<u64, RunError> {
    let default = ConsentPolicy::default();
    let mut added = 0;
    for spec in &plan.sources {
        let policy = plan.consent.get(&spec.name).unwrap_or(&default);
        let derivation = policy.fingerprint();
        let decisions: Vec<_> = store
            .records_needing_consent(&spec.name, &derivation)?
            .par_iter()
            .filter_map(|rec| record_decision(rec, policy))
            .collect();
        added += store.append_consent_decisions(
            &decisions,
            &policy.channels,
            policy.purpose,
            &derivation,
            Some(run_id),
            &format!("run {run_id}"),
        )?;
    }
    Ok(added)
}

/// Asks each provider, in order, about records that lack what it fills; a record that got a
/// usable answer is not asked again further down the list.
fn run_external_enrichment(
    store: &Store,
    plan: &Plan,
    only_new: bool,
) -> Result<EnrichStats, RunError> {
    let mut stats = EnrichStats::default();
    let mut answered: std::collections::HashSet<i64> = std::collections::HashSet::new();
    for (provider, headers) in &plan.providers {
        let fill: Vec<&str> = provider.fill.keys().map(String::as_str).collect();
        let wanted: Vec<(i64, String)> = store
            .records_to_enrich(&provider.key, &fill, only_new)?
            .into_iter()
            .filter(|(id, _)| !answered.contains(id))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let mut answers = store.cached_answers(&provider.name)?;
        let mut to_fetch: Vec<String> = wanted
            .iter()
            .map(|(_, k)| k.clone())
            .filter(|k| !answers.contains_key(k))
            .collect();
        to_fetch.sort();
        to_fetch.dedup();
        let fetched_now: std::collections::HashSet<String> = to_fetch.iter().cloned().collect();
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
    }
    Ok(stats)
}

/// Links every record without a lead to new or existing leads, and rebuilds golden records.
/// Records held back by the import (`fresh`) land here, with their leads.
fn run_dedupe(
    store: &Store,
    plan: &Plan,
    run_id: i64,
    opts: &RunOptions,
    renormalised: bool,
    fresh: Option<HeldRecords>,
    scoring: crate::store::Scoring,
) -> Result<(DedupeStats, Option<WarmthStats>), RunError> {
    let bar = progress_bar(opts, "dedupe");
    let started = Instant::now();
    // In record_id order either way: this run's records have the highest ids.
    let (records, held, landed) = match fresh {
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
    };
    let load_ms = started.elapsed().as_millis() as u64;
    let new = records.iter().filter(|r| r.lead_id.is_none()).count();
    if new == 0 {
        // Nothing to link; golden records only change if their members were re-derived.
        // (Held records are new, so there are none here; should that change, they land.)
        store.land_held(held)?;
        let scored = if renormalised {
            store.rebuild_leads(run_id, &plan.dedupe.origin_priority, Some(scoring))?
        } else {
            None
        };
        bar.finish_and_clear();
        let stats = DedupeStats {
            records: records.len(),
            ..DedupeStats::default()
        };
        return Ok((stats, scored));
    }
    // Fit weights on this data when there is enough of it; otherwise reuse the last fit.
    let stored = store
        .latest_weights()?
        .and_then(|json| serde_json::from_str::<Weights>(&json).ok())
        .filter(Weights::fits_model);
    let settings = DedupeSettings {
        threshold: plan.dedupe.threshold,
        estimate: new >= crate::dedupe::MIN_RECORDS_TO_FIT || stored.is_none(),
    };
    let outcome = dedupe(&records, &settings, stored, store.next_lead_id()?);
    let landing = store.land_dedupe(run_id, &records, landed, &outcome)?;
    tracing::info!(
        records = records.len(),
        new,
        leads = outcome.stats.leads,
        "deduplicated"
    );
    let mut stats = outcome.stats;
    stats.phase_ms.insert(0, ("load_records", load_ms));
    stats.phase_ms.extend(landing);
    // The match keys, pairs and links are let go before the held records land and DuckDB
    // builds the golden records, its most memory-hungry query.
    let held_ids: Vec<i64> = records[landed..].iter().map(|r| r.record_id).collect();
    let held_leads = outcome.lead_of[landed..].to_vec();
    drop_in_parallel(records);
    drop((outcome.links, outcome.lead_of));
    // Golden records from the landed members and the held ones (not read back).
    let clock = Instant::now();
    let lead_slices = crate::store::held::leads_by_batch(&held, &held_ids, &held_leads)?;
    let held_members = held
        .iter()
        .zip(&lead_slices)
        .map(|(batch, leads)| crate::dedupe::golden::members_of(batch, leads))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunError::Internal(format!("held records as members: {e}")))?;
    let golden = store.golden_records(&plan.dedupe.origin_priority, held_members)?;
    stats
        .phase_ms
        .push(("build_golden_records", clock.elapsed().as_millis() as u64));
    let clock = Instant::now();
    store.land_held_with_leads(held, &lead_slices)?;
    drop(lead_slices);
    drop((held_ids, held_leads));
    stats
        .phase_ms
        .push(("land_new_records", clock.elapsed().as_millis() as u64));
    let clock = Instant::now();
    let scored = store.replace_leads(run_id, golden, Some(scoring))?;
    stats
        .phase_ms
        .push(("land_golden_records", clock.elapsed().as_millis() as u64));
    bar.finish_and_clear();
    Ok((stats, scored))
}

fn progress_bar(opts: &RunOptions, label: &str) -> ProgressBar {
    if !opts.progress || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix}: {human_pos} rows ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(label.to_string());
    bar
}

#[allow(clippy::too_many_arguments)]
fn import_source(
    store: &Store,
    plan: &Plan,
    spec: &SourceSpec,
    run_id: i64,
    normalise: bool,
    next_raw_id: &mut i64,
    opts: &RunOptions,
    erased: &ErasedContacts,
    mut fresh: Option<&mut HeldRecords>,
    summary: &mut SourceSummary,
) -> Result<(), RunError> {
    let mut opened = match &spec.fetch {
        Some(fetch) => {
            let cached = store.cached_pages(&spec.name)?;
            let (pages, log) =
                sources::fetch::crawl(fetch, &cached, opts.refresh).map_err(|message| {
                    RunError::Source(SourceError::Html {
                        path: spec.path.clone(),
                        message,
                    })
                })?;
            tracing::info!(
                source = %spec.name,
                requests = log.requests.len(),
                disallowed = log.disallowed.len(),
                pages = pages.len(),
                "crawled"
            );
            store.keep_pages(&spec.name, run_id, &pages)?;
            sources::html::open_fetched(spec, &spec.html.clone().unwrap_or_default(), &pages)?
        }
        None => sources::open(spec)?,
    };
    summary.encoding = opened.encoding.map(str::to_string);
    // Settings change how the same bytes read: a file landed with a wrong encoding is read
    // again (its old rows removed) when the pipeline file corrects it. What is compared is
    // how the file was actually read (detected or given), so writing down a setting that
    // detection already chose (`delimiter = ";"`) is not a change.
    let describe = |encoding: Option<&str>, delimiter: Option<u8>, sheet: Option<&str>| {
        let mut text = format!(
            "kind={};encoding={:?};delimiter={:?};sheet={:?}",
            spec.kind.as_str(),
            encoding,
            delimiter.map(char::from),
            sheet
        );
        if let Some(rules) = &spec.html {
            // Edited selectors read the same pages differently: read them again.
            text.push_str(&format!(";html={rules:?}"));
        }
        text
    };
    let settings = describe(opened.encoding, opened.delimiter, opened.sheet.as_deref());
    // Bases written before stored the settings as given, unset ones as `None`.
    let as_given = describe(
        spec.encoding.as_deref(),
        spec.delimiter,
        spec.sheet.as_deref(),
    );
    summary.status = "imported".to_string();
    if let Some((first_run, first_source, old)) = store.find_file(&opened.content_hash)? {
        if old.as_deref() == Some(settings.as_str()) || old.as_deref() == Some(as_given.as_str()) {
            tracing::info!(source = %spec.name, first_run, %first_source, "same content already imported; skipping");
            summary.status = "unchanged".to_string();
            summary.unchanged_since_run = Some(first_run);
            return Ok(());
        }
        tracing::info!(source = %spec.name, first_run, "same content, new read settings; reading it again");
        store.forget_file(&opened.content_hash)?;
        summary.status = "reimported".to_string();
    } else if spec.kind == SourceKind::Html {
        // Pages are a snapshot of a site: when any page changed, the source's earlier
        // snapshot is replaced rather than landed again beside the new one.
        for old in store.source_file_hashes(&spec.name)? {
            store.forget_file(&old)?;
            summary.status = "reimported".to_string();
        }
    }
    let at = BatchOrigin {
        run_id,
        source: &spec.name,
        file_hash: &opened.content_hash,
        origin: spec.origin.as_str(),
    };
    let bar = progress_bar(opts, &spec.name);
    // Three-stage pipeline: a reader thread reads chunks of rows, a worker writes raw JSON,
    // normalises and builds Arrow batches (on all cores), batches waiting in the channel
    // while it prepares the next, and this thread lands them in DuckDB. Landing order and
    // ids are the same as doing it in sequence.
    let mut landing = Landing::default();
    let work = BatchWork {
        normaliser: normalise.then_some(&plan.normaliser),
        erased,
        phones: &plan.normaliser.phone,
        at: &at,
        hold: fresh.is_some(),
    };
    let first_id = *next_raw_id;
    let rows = &mut opened.rows;
    let source_path = spec.path.clone();
    // Busy time of each half, to see which one the other waits for (debug log).
    let mut land_ms = 0u128;
    let one_thread = store.one_thread()?;
    let (landed_rows, prepare_ms) = std::thread::scope(|scope| {
        // Room for a whole landing's worth of batches: the worker keeps normalising while
        // one 128k-row INSERT runs (with room for one, it idled half of each INSERT).
        let (send, receive) = std::sync::mpsc::sync_channel::<Result<PreparedBatch, RunError>>(
            LAND_ROWS / CHUNK_ROWS,
        );
        // Reading (parsing, decoding) is serial: a reader thread does it a chunk ahead, so
        // the normalising worker's parallel part is not held up by it.
        let (send_chunk, chunks) = std::sync::mpsc::sync_channel::<Vec<RawRow>>(0);
        // Used chunks go back to the reader to be freed: the rows' header keys are shared
        // `Arc`s it cloned, and their counts bouncing between cores cost ~0.3 s of CPU per
        // 1M rows when the normalising threads dropped them.
        let (give_back, used_chunks) = std::sync::mpsc::channel::<Vec<RawRow>>();
        let reader = scope.spawn(move || {
            loop {
                used_chunks.try_iter().for_each(drop);
                let chunk: Vec<RawRow> = rows.take(CHUNK_ROWS).collect();
                // An empty chunk is the end; a closed channel means the worker stopped.
                if chunk.is_empty() || send_chunk.send(chunk).is_err() {
                    break;
                }
            }
            drop(send_chunk);
            // Until the worker is done with the last chunks.
            used_chunks.into_iter().for_each(drop);
        });
        let worker = scope.spawn(move || {
            let (mut next_id, mut busy) = (first_id, 0u128);
            for chunk in chunks {
                if let Some(failed) = chunk.iter().find(|r| {
                    r.problem
                        .as_ref()
                        .is_some_and(|p| p.code == sources::READ_FAILED)
                }) {
                    let reason = failed.problem.as_ref().map(|p| p.reason.clone());
                    let _ = send.send(Err(RunError::Source(SourceError::ReadFailed {
                        path: source_path.clone(),
                        row: failed.source_row,
                        message: reason.unwrap_or_default(),
                    })));
                    break;
                }
                let clock = Instant::now();
                let batch = prepare_batch(&chunk, next_id, &work);
                // Should the reader be gone, the chunk is freed here.
                let _ = give_back.send(chunk);
                busy += clock.elapsed().as_millis();
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(e) => {
                        let _ = send.send(Err(e));
                        break;
                    }
                };
                next_id += batch.rows as i64;
                // The landing side stopped (it failed): stop reading.
                if send.send(Ok(batch)).is_err() {
                    break;
                }
            }
            busy
        });
        let mut landed_rows = 0usize;
        let mut outcome = Ok(());
        for batch in &receive {
            let clock = Instant::now();
            let step = batch.and_then(|mut batch| {
                landed_rows += batch.rows;
                bar.inc(batch.rows as u64);
                if let (Some(fresh), Some(records)) = (fresh.as_mut(), batch.records.as_mut()) {
                    fresh.hold(store, &mut records.match_keys, &mut records.batches)?;
                }
                land_batch(store, batch, summary, &mut landing)
            });
            land_ms += clock.elapsed().as_millis();
            if step.is_err() {
                outcome = step;
                break;
            }
        }
        drop(receive);
        let prepare_ms = worker
            .join()
            .map_err(|_| RunError::Internal("a normalising thread panicked".into()))?;
        // A reader that panicked ended its chunks early: the run fails, it does not land
        // a source cut short.
        reader
            .join()
            .map_err(|_| RunError::Internal("the thread reading the source panicked".into()))?;
        outcome.map(|()| (landed_rows, prepare_ms))
    })?;
    *next_raw_id += landed_rows as i64;
    let clock = Instant::now();
    landing.flush(store)?;
    drop(one_thread);
    land_ms += clock.elapsed().as_millis();
    bar.finish_and_clear();
    tracing::debug!(source = %spec.name, prepare_ms, land_ms, "import: busy time of reading+normalising and of landing");
    store.insert_source_file(
        &opened.content_hash,
        &spec.name,
        &spec.path.display().to_string(),
        spec.kind.as_str(),
        spec.origin.as_str(),
        opened.encoding,
        opened.delimiter,
        run_id,
        summary.rows_read,
        &settings,
    )?;
    tracing::info!(source = %spec.name, rows = summary.rows_read, accepted = summary.rows_accepted, rejected = summary.rows_rejected, "imported");
    Ok(())
}

fn count_rejects(summary: &mut SourceSummary, rejects: &[Reject]) {
    summary.rows_rejected += rejects.len() as u64;
    for r in rejects {
        *summary
            .rejects_by_reason
            .entry(r.code.to_string())
            .or_default() += 1;
    }
}

/// One batch, read and normalised, in landing form (Arrow batches built on the
/// normalising threads, so the landing thread only lands).
struct PreparedBatch {
    rows: usize,
    raw: RecordBatch,
    /// Import rejects, then (when normalising) normalise rejects.
    rejects: Vec<Reject>,
    rejects_batch: RecordBatch,
    /// `None` when the run does not normalise.
    records: Option<PreparedRecords>,
}

/// Clean records of a batch, already in landing form.
struct PreparedRecords {
    count: u64,
    phones_valid: u64,
    emails_valid: u64,
    /// Arrow batches for `records`, built in parallel slices.
    batches: Vec<RecordBatch>,
    /// Match keys, in record order, when deduplication follows in this run.
    match_keys: Vec<MatchRecord>,
}

/// Prepared batches waiting to land. Each table is landed with one INSERT per this many
/// rows: one per 64k-row batch was slower than the appender, and one per source would
/// hold the whole file in memory.
const LAND_ROWS: usize = 131_072;

#[derive(Default)]
struct Landing {
    rows: usize,
    raw: Vec<RecordBatch>,
    rejects: Vec<RecordBatch>,
    records: Vec<RecordBatch>,
}

impl Landing {
    fn push(&mut self, store: &Store, batch: PreparedBatch) -> Result<(), RunError> {
        self.rows += batch.rows;
        self.raw.push(batch.raw);
        self.rejects.push(batch.rejects_batch);
        if let Some(records) = batch.records {
            self.records.extend(records.batches);
        }
        if self.rows >= LAND_ROWS {
            self.flush(store)?;
        }
        Ok(())
    }

    fn flush(&mut self, store: &Store) -> Result<(), RunError> {
        let Landing {
            raw,
            rejects,
            records,
            ..
        } = std::mem::take(self);
        store.land("raw_records", raw)?;
        store.land("records", records)?;
        store.land("rejects", rejects)?;
        Ok(())
    }
}

/// Rows per Arrow slice of records, so both cores build a batch's slices.
const RECORD_SLICE: usize = CHUNK_ROWS / 2;

fn prepare_records(
    at: &BatchOrigin,
    ids: &[i64],
    records: &[CleanRecord],
    hold: bool,
) -> Result<PreparedRecords, RunError> {
    // Held records (deduplication follows in this run) come with their match keys.
    let match_keys = if hold {
        ids.par_iter()
            .zip(records.par_iter())
            .map(|(&id, r)| MatchRecord::from_clean(id, r))
            .collect()
    } else {
        Vec::new()
    };
    let batches = ids
        .par_chunks(RECORD_SLICE)
        .zip(records.par_chunks(RECORD_SLICE))
        .map(|(ids, recs)| {
            // Records held for deduplication wait in the compact form.
            if hold {
                crate::store::held::held_batch(at, ids, recs)
            } else {
                crate::store::records_batch(at, ids, &vec![None; ids.len()], recs)
            }
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(PreparedRecords {
        count: records.len() as u64,
        phones_valid: records.iter().filter(|r| r.phone_e164.is_some()).count() as u64,
        emails_valid: records.iter().filter(|r| r.email.is_some()).count() as u64,
        batches,
        match_keys,
    })
}

/// What preparing a batch needs besides the rows.
#[derive(Clone, Copy)]
struct BatchWork<'a> {
    /// `None` when the run does not normalise.
    normaliser: Option<&'a Normaliser>,
    erased: &'a ErasedContacts,
    phones: &'a PhoneNormaliser,
    at: &'a BatchOrigin<'a>,
    /// Hold the records for this run's deduplication (with their match keys) instead of
    /// landing them now.
    hold: bool,
}

/// Does all the CPU work on a chunk of rows read (no database): raw JSON, import rejects,
/// normalisation, Arrow batches.
fn prepare_batch(
    chunk: &[RawRow],
    first_id: i64,
    work: &BatchWork,
) -> Result<PreparedBatch, RunError> {
    let BatchWork {
        normaliser,
        erased,
        phones,
        at,
        hold,
    } = *work;
    let erased_rows: Vec<bool> = if erased.is_empty() {
        Vec::new()
    } else {
        chunk
            .par_iter()
            .map(|row| erased.matches(row, phones))
            .collect()
    };
    let is_erased = |i: usize| erased_rows.get(i).copied().unwrap_or(false);
    let landings: Vec<RawLanding> = chunk
        .par_iter()
        .enumerate()
        .map(|(i, row)| RawLanding {
            raw_id: first_id + i as i64,
            source_row: row.source_row,
            // An erased person's data must not come back, not even raw.
            values_json: if is_erased(i) {
                r#"{"_redacted":"erased person"}"#.to_string()
            } else {
                row.values_json()
            },
        })
        .collect();
    let mut rejects = Vec::new();
    let mut ok_rows = Vec::with_capacity(chunk.len());
    for (i, row) in chunk.iter().enumerate() {
        let raw_id = first_id + i as i64;
        if is_erased(i) {
            rejects.push(Reject {
                raw_id,
                source_row: row.source_row,
                stage: Stage::Import,
                code: "erased_person",
                field: None,
                reason: "a phone or e-mail in this row belongs to a person who was erased; \
                         the row was not imported (its values were not kept)"
                    .to_string(),
            });
            continue;
        }
        match &row.problem {
            Some(p) => rejects.push(Reject {
                raw_id,
                source_row: row.source_row,
                stage: Stage::Import,
                code: p.code,
                field: p.field.clone(),
                reason: p.reason.clone(),
            }),
            None => ok_rows.push((raw_id, row)),
        }
    }
    let records = match normaliser {
        Some(n) => {
            let (ids, records) = normalise_rows(n, &ok_rows, &mut rejects);
            let prepared = prepare_records(at, &ids, &records, hold)?;
            drop_in_parallel(records);
            Some(prepared)
        }
        None => None,
    };
    let batch = PreparedBatch {
        rows: chunk.len(),
        raw: crate::store::raw_batch(at, &landings)?,
        rejects_batch: crate::store::rejects_batch(at, &rejects)?,
        rejects,
        records,
    };
    drop_in_parallel(landings);
    Ok(batch)
}

/// Frees a big vector of many-string items on all cores: dropped on one thread, a 32k-row
/// chunk's records kept the other core idle for ~0.1 s per 100k rows.
fn drop_in_parallel<T: Send>(items: Vec<T>) {
    items.into_par_iter().with_min_len(1024).for_each(drop);
}

/// Normalises and enriches rows on all cores; refused rows are added to `rejects`.
fn normalise_rows(
    normaliser: &Normaliser,
    rows: &[(i64, &RawRow)],
    rejects: &mut Vec<Reject>,
) -> (Vec<i64>, Vec<CleanRecord>) {
    let results: Vec<_> = rows
        .par_iter()
        .map(|(id, row)| {
            let result = normaliser.normalise(row).map(|mut rec| {
                crate::enrich::enrich(&mut rec);
                rec
            });
            (*id, row.source_row, result)
        })
        .collect();
    let mut ids = Vec::with_capacity(results.len());
    let mut records: Vec<CleanRecord> = Vec::with_capacity(results.len());
    for (raw_id, source_row, result) in results {
        match result {
            Ok(rec) => {
                ids.push(raw_id);
                records.push(rec);
            }
            Err(refusal) => rejects.push(Reject {
                raw_id,
                source_row,
                stage: Stage::Normalise,
                code: refusal.code,
                field: refusal.field.map(str::to_string),
                reason: refusal.reason,
            }),
        }
    }
    (ids, records)
}

/// Lands a prepared batch and counts it in the summary.
fn land_batch(
    store: &Store,
    batch: PreparedBatch,
    summary: &mut SourceSummary,
    landing: &mut Landing,
) -> Result<(), RunError> {
    summary.rows_read += batch.rows as u64;
    if let Some(records) = &batch.records {
        summary.phones_valid += records.phones_valid;
        summary.emails_valid += records.emails_valid;
        summary.rows_accepted += records.count;
    }
    count_rejects(summary, &batch.rejects);
    landing.push(store, batch)
}

/// Lands clean records (keeping earlier lead ids) and counts them.
fn land_records(
    store: &Store,
    at: &BatchOrigin,
    ids: &[i64],
    records: &[CleanRecord],
    previous_leads: &HashMap<i64, i64>,
    summary: &mut SourceSummary,
) -> Result<(), RunError> {
    for rec in records {
        summary.phones_valid += rec.phone_e164.is_some() as u64;
        summary.emails_valid += rec.email.is_some() as u64;
    }
    summary.rows_accepted += records.len() as u64;
    let leads: Vec<Option<i64>> = ids
        .iter()
        .map(|id| previous_leads.get(id).copied())
        .collect();
    store.append_records(at, ids, &leads, records)?;
    Ok(())
}

/// Re-derives records for one source from its landed raw rows.
fn renormalise_source(
    store: &Store,
    plan: &Plan,
    spec: &SourceSpec,
    run_id: i64,
    opts: &RunOptions,
    summary: &mut SourceSummary,
) -> Result<(), RunError> {
    let mapper = Mapper::new(&spec.columns).map_err(|error| RunError::Mapping {
        source_name: spec.name.clone(),
        error,
    })?;
    let stored = store.raw_rows_for_source(&spec.name)?;
    // Records are re-derived with the same ids; they keep the leads they had.
    let previous_leads = store.lead_ids_for_source(&spec.name)?;
    store.clear_normalised(&spec.name)?;
    if summary.status.is_empty() {
        summary.status = "renormalised".to_string();
    }
    let bar = progress_bar(opts, &format!("{} (normalise)", spec.name));
    let mut keys: BTreeMap<String, (Arc<str>, Option<crate::sources::headers::Field>)> =
        BTreeMap::new();
    // Rows are grouped by file so each batch carries one file hash and origin.
    let mut start = 0;
    while start < stored.len() {
        let file_hash = stored[start].file_hash.clone();
        let origin = stored[start].origin.clone();
        let mut end = start;
        while end < stored.len()
            && end - start < CHUNK_ROWS
            && stored[end].file_hash == file_hash
            && stored[end].origin == origin
        {
            end += 1;
        }
        let mut rows = Vec::with_capacity(end - start);
        for s in &stored[start..end] {
            // Document order, not serde_json's sorted map: column order picks the main phone.
            let OrderedObject(obj) = serde_json::from_str(&s.values_json).map_err(|e| {
                RunError::Internal(format!("raw_records row {} holds bad JSON: {e}", s.raw_id))
            })?;
            let cells = obj
                .into_iter()
                .map(|(k, v)| {
                    let (key, field) = keys
                        .entry(k.clone())
                        .or_insert_with(|| (Arc::from(k.as_str()), mapper.field(&k)))
                        .clone();
                    Cell {
                        key,
                        field,
                        value: match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        },
                    }
                })
                .collect();
            rows.push((
                s.raw_id,
                RawRow {
                    source_row: s.source_row,
                    cells,
                    problem: None,
                },
            ));
        }
        let at = BatchOrigin {
            run_id,
            source: &spec.name,
            file_hash: &file_hash,
            origin: &origin,
        };
        let refs: Vec<(i64, &RawRow)> = rows.iter().map(|(id, r)| (*id, r)).collect();
        let mut rejects = Vec::new();
        let (ids, records) = normalise_rows(&plan.normaliser, &refs, &mut rejects);
        land_records(store, &at, &ids, &records, &previous_leads, summary)?;
        count_rejects(summary, &rejects);
        store.append_rejects(&at, &rejects)?;
        bar.inc((end - start) as u64);
        start = end;
    }
    bar.finish_and_clear();
    Ok(())
}

/// Every raw row must have become exactly one record or reject. A breach is our bug, and
/// failing the run (which rolls back) is better than landing a base that lost rows.
fn check_conservation(store: &Store, sources: &[&str]) -> Result<(), RunError> {
    let list = sources
        .iter()
        .map(|s| format!("'{}'", s.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    let query = |sql: String| -> Result<i64, RunError> {
        Ok(store
            .connection()
            .query_row(&sql, [], |r| r.get(0))
            .map_err(|source| StoreError::Db {
                context: "checking row conservation",
                source,
            })?)
    };
    let lost = query(format!(
        "SELECT count(*) FROM raw_records r WHERE r.source IN ({list})
           AND NOT EXISTS (SELECT 1 FROM records c WHERE c.raw_id = r.raw_id)
           AND NOT EXISTS (SELECT 1 FROM rejects j WHERE j.raw_id = r.raw_id)"
    ))?;
    let doubled = query(format!(
        "SELECT count(*) FROM (
            SELECT raw_id FROM (SELECT raw_id FROM records WHERE source IN ({list})
                                UNION ALL SELECT raw_id FROM rejects WHERE source IN ({list}))
            GROUP BY raw_id HAVING count(*) > 1)"
    ))?;
    if lost > 0 || doubled > 0 {
        return Err(RunError::Internal(format!(
            "row conservation broken: {lost} raw rows have neither a record nor a reject, \
             {doubled} have more than one"
        )));
    }
    Ok(())
}

/// A one-source plan for `leadpipe import FILE`.
pub fn plan_for_file(
    path: &Path,
    origin: Origin,
    source_name: Option<String>,
    kind: Option<SourceKind>,
    db: PathBuf,
) -> Result<Plan, PipelineError> {
    let kind = kind
        .or_else(|| SourceKind::from_path(path))
        .ok_or_else(|| {
            invalid(
                path,
                "cannot tell the kind from the file name; pass --kind csv|xlsx|jsonl",
            )
        })?;
    Ok(Plan {
        name: "import".to_string(),
        db,
        sources: vec![SourceSpec {
            name: source_name.unwrap_or_else(|| default_source_name(path)),
            kind,
            path: path.to_path_buf(),
            origin,
            encoding: None,
            delimiter: None,
            sheet: None,
            columns: BTreeMap::new(),
            html: None,
            fetch: None,
        }],
        normaliser: Normaliser::default(),
        providers: Vec::new(),
        dedupe: DedupePlan::default(),
        consent: HashMap::new(),
        warmth: None,
        settings: BTreeMap::new(),
    })
}
