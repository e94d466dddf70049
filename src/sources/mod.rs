//! Sources: one reader per file kind, each turning a file into [`RawRow`]s. A reader never
//! drops a row: a row it cannot read cleanly still comes out, with a [`RowProblem`].

pub mod csv;
pub mod fetch;
pub mod headers;
pub mod html;
pub mod jsonl;
pub mod text;
pub mod xlsx;

use crate::record::{Origin, RawRow};
use headers::{Mapper, MappingError};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A cell longer than this is refused (the row is landed raw and rejected): no real name,
/// phone or address is this long, and downstream matching should not pay for it.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Csv,
    Xlsx,
    Jsonl,
    /// Saved directory pages (a file or a folder of `.html`), read with CSS selectors.
    Html,
}

impl SourceKind {
    /// Guesses the kind from a file name, for `leadpipe import FILE`.
    pub fn from_path(path: &Path) -> Option<SourceKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(SourceKind::Csv),
            "xlsx" | "xlsm" => Some(SourceKind::Xlsx),
            "jsonl" | "ndjson" | "json" => Some(SourceKind::Jsonl),
            "html" | "htm" => Some(SourceKind::Html),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Csv => "csv",
            SourceKind::Xlsx => "xlsx",
            SourceKind::Jsonl => "jsonl",
            SourceKind::Html => "html",
        }
    }
}

/// One source as the pipeline file (or the `import` command) describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub name: String,
    pub kind: SourceKind,
    pub path: PathBuf,
    pub origin: Origin,
    /// Encoding label (`windows-1251`, `utf-8`…); detected when absent.
    pub encoding: Option<String>,
    /// Field delimiter for CSV; detected when absent.
    pub delimiter: Option<u8>,
    /// XLSX sheet name; the first sheet when absent.
    pub sheet: Option<String>,
    /// Header → field name overrides.
    pub columns: BTreeMap<String, String>,
    /// Extraction rules, for `html` sources.
    pub html: Option<html::HtmlRules>,
    /// Live pages to fetch, for `html` sources (instead of saved files at `path`).
    pub fetch: Option<fetch::FetchSettings>,
}

/// What went wrong with a whole source. Row-level trouble is a [`RowProblem`], not this.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: file not found")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: looks like a binary file, not {kind} (NUL bytes or control characters near byte {offset})")]
    Binary {
        path: PathBuf,
        kind: &'static str,
        offset: usize,
    },
    #[error(
        "{path}: unknown encoding {label:?}; use a WHATWG label such as utf-8 or windows-1251"
    )]
    UnknownEncoding { path: PathBuf, label: String },
    #[error("{path}: {source}")]
    Mapping { path: PathBuf, source: MappingError },
    #[error("{path}: not a readable XLSX workbook: {message}")]
    Xlsx { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Html { path: PathBuf, message: String },
    #[error("{path}: sheet {sheet:?} not found; sheets in the workbook: {available}")]
    SheetNotFound {
        path: PathBuf,
        sheet: String,
        available: String,
    },
}

/// A source opened and ready to stream its rows.
pub struct OpenedSource {
    /// SHA-256 of the file's bytes: re-importing the same content is a no-op.
    pub content_hash: String,
    pub headers: Vec<String>,
    /// The encoding used to decode text files (detected or given).
    pub encoding: Option<&'static str>,
    pub delimiter: Option<u8>,
    /// Rows left out because every cell was blank (not data, not counted as read).
    pub rows: Box<dyn Iterator<Item = RawRow> + Send>,
}

/// Opens a source: reads the file, hashes it, detects what needs detecting, maps headers.
pub fn open(spec: &SourceSpec) -> Result<OpenedSource, SourceError> {
    if spec.kind == SourceKind::Html {
        let rules = spec.html.clone().unwrap_or_default();
        return html::open(spec, &rules);
    }
    let bytes = read_file(&spec.path)?;
    let content_hash = hex::encode(Sha256::digest(&bytes));
    let mapper = Mapper::new(&spec.columns).map_err(|source| SourceError::Mapping {
        path: spec.path.clone(),
        source,
    })?;
    match spec.kind {
        SourceKind::Csv => csv::open(spec, bytes, &mapper, content_hash),
        SourceKind::Xlsx => xlsx::open(spec, bytes, &mapper, content_hash),
        SourceKind::Jsonl => jsonl::open(spec, bytes, &mapper, content_hash),
        SourceKind::Html => html::open(spec, &spec.html.clone().unwrap_or_default()),
    }
}

/// A file's error as a source error: a missing file is told apart from other failures.
pub(crate) fn file_error(path: &Path, e: std::io::Error) -> SourceError {
    match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound {
            path: path.to_path_buf(),
        },
        _ => SourceError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// A whole input file; an empty one is an error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, SourceError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    if bytes.is_empty() {
        return Err(SourceError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// Problems every reader checks per row: cells too long, bytes that did not decode.
pub(crate) fn check_cells(row: &mut RawRow, encoding: Option<&str>) {
    if row.problem.is_some() {
        return;
    }
    for cell in &row.cells {
        if cell.value.len() > MAX_FIELD_BYTES {
            row.problem = Some(crate::record::RowProblem {
                code: "field_too_long",
                field: Some(cell.key.to_string()),
                reason: format!(
                    "field {:?} is {} bytes long (limit {} bytes)",
                    &*cell.key,
                    cell.value.len(),
                    MAX_FIELD_BYTES
                ),
            });
            return;
        }
        if let Some(enc) = encoding {
            if cell.value.contains('\u{FFFD}') {
                row.problem = Some(crate::record::RowProblem {
                    code: "undecodable",
                    field: Some(cell.key.to_string()),
                    reason: format!(
                        "field {:?} has bytes that are not valid {enc}; set `encoding` for this source",
                        &*cell.key
                    ),
                });
                return;
            }
        }
    }
}
