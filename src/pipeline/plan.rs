//! The pipeline file: TOML as written → a validated [`Plan`]. Every problem in the file is
//! reported at once, each naming the source or setting it is about.

use super::error::PipelineError;
use crate::consent::ConsentPolicy;
use crate::enrich::provider::ProviderConfig;
use crate::record::Origin;
use crate::settings::{DedupeSection, GivenSettings, NormaliseSection, OutputSection};
use crate::sources::fetch::FetchSettings;
use crate::sources::headers::Mapper;
use crate::sources::{SourceError, SourceKind, SourceSpec};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The pipeline file as written (TOML).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    name: Option<String>,
    /// DuckDB file; relative paths are relative to the pipeline file.
    db: Option<PathBuf>,
    #[serde(default)]
    normalise: NormaliseSection,
    #[serde(default)]
    enrich: EnrichSection,
    #[serde(default)]
    dedupe: DedupeSection,
    warmth: Option<crate::warmth::WarmthSettings>,
    segments: Option<crate::analysis::segments::SegmentSettings>,
    #[serde(default)]
    output: OutputSection,
    #[serde(alias = "source", default)]
    sources: Vec<SourceEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrichSection {
    /// External providers, tried in this order per record (waterfall).
    #[serde(default)]
    providers: Vec<ProviderConfig>,
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
    fetch: Option<FetchSettings>,
}

/// A validated pipeline, ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub db: PathBuf,
    pub sources: Vec<SourceSpec>,
    /// External enrichment providers with their resolved headers (empty: stage is a no-op).
    pub providers: Vec<(ProviderConfig, BTreeMap<String, String>)>,
    /// Consent policy per source name (sources not listed use the default policy).
    pub consent: HashMap<String, ConsentPolicy>,
    /// The settings the pipeline file gives; those it leaves out come from the base
    /// ([`crate::settings::Settings::resolve`]) when the plan runs.
    pub settings: GivenSettings,
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
    let folder = path.parent().unwrap_or(Path::new("."));
    let name = file.name.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pipeline".to_string())
    });
    let settings = GivenSettings {
        default_region: file.normalise.default_region,
        naive_time_offset: file.normalise.naive_time_offset,
        threshold: file.dedupe.threshold,
        origin_priority: file.dedupe.origin_priority,
        warmth: file.warmth,
        segments: file.segments,
        lang: file.output.lang,
    };
    let mut problems = settings.problems();
    let mut providers = Vec::new();
    for p in file.enrich.providers {
        match p.validate() {
            Ok(headers) => providers.push((p, headers)),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if file.sources.is_empty() {
        problems.push("no [[sources]] given: add at least one source".to_string());
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, entry) in file.sources.iter().enumerate() {
        let name = entry_name(i + 1, entry);
        if !seen.insert(name.clone()) {
            problems.push(format!(
                "two sources are named {name:?}; names must be unique"
            ));
        }
    }
    let mut sources: Vec<SourceSpec> = Vec::with_capacity(file.sources.len());
    let mut consent = HashMap::new();
    for (i, entry) in file.sources.into_iter().enumerate() {
        match source_spec(i + 1, entry, folder) {
            Ok((spec, policy)) => {
                if let Some(policy) = policy {
                    consent.insert(spec.name.clone(), policy);
                }
                sources.push(spec);
            }
            Err(mut found) => problems.append(&mut found),
        }
    }
    if !problems.is_empty() {
        return Err(invalid(path, problems.join("\n  ")));
    }
    Ok(Plan {
        name,
        db: folder.join(file.db.unwrap_or_else(|| PathBuf::from("leadpipe.duckdb"))),
        sources,
        providers,
        consent,
        settings,
    })
}

/// One `[[sources]]` entry checked: its spec and consent policy, or every problem with it.
fn source_spec(
    number: usize,
    s: SourceEntry,
    folder: &Path,
) -> Result<(SourceSpec, Option<ConsentPolicy>), Vec<String>> {
    let mut problems = fetch_problems(number, s.fetch.as_ref());
    let path_given = match (&s.path, &s.fetch) {
        (Some(_), Some(_)) => {
            problems.push(format!(
                "source #{number}: give either `path` (saved pages) or [sources.fetch] (live pages), not both"
            ));
            None
        }
        (Some(p), _) => Some(p.clone()),
        (None, Some(_)) => Some(PathBuf::from(
            s.name.clone().unwrap_or_else(|| "web".into()),
        )),
        (None, None) => {
            problems.push(format!(
                "source #{number}: give its `path` (a file, or a folder of saved pages)"
            ));
            None
        }
    };
    let kind = path_given.as_ref().and_then(|p| {
        let kind = s
            .kind
            .or_else(|| s.fetch.as_ref().map(|_| SourceKind::Html))
            .or_else(|| SourceKind::from_path(p));
        if kind.is_none() {
            problems.push(format!(
                "source #{number} ({}): cannot tell the kind from the file name; set kind = \"csv\" | \"xlsx\" | \"jsonl\"",
                p.display()
            ));
        }
        kind
    });
    let delimiter = match s.delimiter.as_deref() {
        None => None,
        Some("\\t") | Some("tab") => Some(b'\t'),
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some(d) => {
            problems.push(format!(
                "source #{number}: delimiter {d:?} must be one ASCII character or \"tab\""
            ));
            None
        }
    };
    if let Err(e) = Mapper::new(&s.columns) {
        problems.push(format!("source #{number}: {e}"));
    }
    let name = entry_name(number, &s);
    if let Some(policy) = &s.consent {
        if policy.channels.is_empty() {
            problems.push(format!(
                "source {name:?}: consent.channels is empty; list at least one of call, sms, email"
            ));
        }
    }
    let (Some(path_given), Some(kind), true) = (path_given, kind, problems.is_empty()) else {
        return Err(problems);
    };
    let spec = SourceSpec {
        name,
        kind,
        path: folder.join(&path_given),
        origin: s.origin,
        encoding: s.encoding,
        delimiter,
        sheet: s.sheet,
        columns: s.columns,
        html: s.html,
        fetch: s.fetch,
    };
    Ok((spec, s.consent))
}

/// A source's name: as given, else its file's name (a web source without a path: "web").
fn entry_name(number: usize, s: &SourceEntry) -> String {
    match (&s.name, &s.path, &s.fetch) {
        (Some(n), _, _) => n.clone(),
        (None, Some(p), _) => default_source_name(p),
        (None, None, Some(_)) => "web".to_string(),
        (None, None, None) => format!("#{number}"),
    }
}

/// What a `[sources.fetch]` table lacks: a contact for the User-Agent, and pages to fetch.
fn fetch_problems(number: usize, fetch: Option<&FetchSettings>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(f) = fetch else {
        return problems;
    };
    if f.contact == FetchSettings::default().contact || f.contact.trim().is_empty() {
        problems.push(format!(
            "source #{number}: [sources.fetch] needs `contact` (a URL or mailto: address): \
             it goes in the User-Agent so site owners can reach whoever crawls them"
        ));
    }
    if f.urls.is_empty() && f.url_pattern.is_none() {
        problems.push(format!(
            "source #{number}: [sources.fetch] needs `urls` or `url_pattern`"
        ));
    }
    problems
}

/// The source name a file gets when none is given: its file name.
pub fn default_source_name(path: &Path) -> String {
    path.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A one-source plan for `leadpipe import FILE`: every setting comes from the base.
impl Plan {
    /// A plan that reads nothing: for the steps after import over a base
    /// (`leadpipe recluster`, `leadpipe refit`).
    pub fn without_sources(name: &str, db: PathBuf) -> Plan {
        Plan {
            name: name.to_string(),
            db,
            sources: Vec::new(),
            providers: Vec::new(),
            consent: HashMap::new(),
            settings: GivenSettings::default(),
        }
    }
}

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
        providers: Vec::new(),
        consent: HashMap::new(),
        settings: GivenSettings::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_in_a_pipeline_file_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(
            &path,
            r#"
[normalise]
default_region = "XX"
[dedupe]
threshold = 2.0
[[sources]]
path = "a.pdf"
origin = "form"
[[sources]]
path = "b.csv"
origin = "purchased"
delimiter = ";;"
[[sources]]
path = "c.csv"
origin = "purchased"
delimiter = ";;"
[[sources]]
path = "c.csv"
origin = "open"
[[sources]]
path = "b.csv"
origin = "purchased"
[[sources]]
path = "b.csv"
origin = "form"
"#,
        )
        .unwrap();
        let Err(PipelineError::Invalid { message, .. }) = load_pipeline(&path) else {
            panic!("accepted");
        };
        for expected in [
            "default_region \"XX\"",
            "dedupe.threshold 2",
            "source #1 (a.pdf): cannot tell the kind",
            "source #2: delimiter \";;\"",
            "two sources are named \"b.csv\"",
            "two sources are named \"c.csv\"",
        ] {
            assert!(
                message.contains(expected),
                "{expected:?} missing in:\n{message}"
            );
        }
    }
}
