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
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The problem code of the row where reading the file failed part way (a failing disk, a
/// file cut short while read). A run that meets it fails as a whole: landing the rows
/// before it would record the file's hash, and the missing rows could never be loaded.
pub const READ_FAILED: &str = "read_failed";

/// A cell longer than this is refused (the row is landed raw and rejected): no real name,
/// phone or address is this long, and downstream matching should not pay for it.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// What is kept of a cell over [`MAX_FIELD_BYTES`] (its start, for the reviewer to see
/// what it was). Readers never hold more than [`MAX_FIELD_BYTES`] of one CSV or JSONL
/// value, so a 1 GB field costs no more memory than a 64 KiB one.
pub const TOO_LONG_KEPT_BYTES: usize = 1024;

/// Longest CSV row or JSONL line read, in decoded bytes. Past it the rest of the row is
/// skipped (never buffered) and the row is rejected: with fields capped at
/// [`MAX_FIELD_BYTES`], only a row of many fields gets here, and no lead has 1 MiB of
/// data. This is what bounds a reader's memory, whatever the file holds.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Most fields kept of one CSV row: Excel's own column limit. Past it the row is
/// rejected (a line of a billion `;` would otherwise be a billion empty fields).
pub const MAX_RECORD_FIELDS: usize = 16_384;

/// Largest saved HTML page: a page is parsed whole into a DOM (several times its size in
/// memory); real directory pages are well under a few MB.
pub const MAX_HTML_PAGE_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
    /// A device, a named pipe, a socket or a folder where a file was expected: reading
    /// one would never end (`/dev/zero`) or wait forever (a FIFO with no writer).
    #[error("{path}: not a regular file ({what}); give the path of a saved file")]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{path}: {what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        size: u64,
        limit: u64,
    },
    #[error("{path}: XLSX part {part} inflates past {limit_mb} MB (it declares {size_mb} MB; limit {limit_mb} MB): a zip bomb, or a sheet too large to read from XLSX; save it as CSV, which is read as a stream")]
    XlsxTooLarge {
        path: PathBuf,
        part: String,
        size_mb: u64,
        limit_mb: u64,
    },
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
    #[error("{path}: reading stopped at row {row}: {message}; nothing from this file was landed: run again when it can be read whole")]
    ReadFailed {
        path: PathBuf,
        row: u64,
        message: String,
    },
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
    /// The XLSX sheet read when it is not the first one (`None`: the first, or not XLSX),
    /// so naming the first sheet is not a change of read settings.
    pub sheet: Option<String>,
    /// Rows left out because every cell was blank (not data, not counted as read).
    pub rows: Box<dyn Iterator<Item = RawRow> + Send>,
}

/// Opens a source: reads the file, hashes it, detects what needs detecting, maps headers.
pub fn open(spec: &SourceSpec) -> Result<OpenedSource, SourceError> {
    if spec.kind == SourceKind::Html {
        let rules = spec.html.clone().unwrap_or_default();
        return html::open(spec, &rules);
    }
    let input = Input::open(&spec.path)?;
    let mapper = Mapper::new(&spec.columns).map_err(|source| SourceError::Mapping {
        path: spec.path.clone(),
        source,
    })?;
    match spec.kind {
        SourceKind::Csv => csv::open(spec, input, &mapper),
        SourceKind::Xlsx => xlsx::open(spec, input, &mapper),
        SourceKind::Jsonl => jsonl::open(spec, input, &mapper),
        SourceKind::Html => html::open(spec, &spec.html.clone().unwrap_or_default()),
    }
}

/// Opens a table that is not a lead list (deals, spend) as [`open`] does, with `layout`
/// for headerless or space-aligned text, mapping headers without requiring a lead field;
/// the caller maps its own columns from the cells' keys.
pub fn open_table(
    spec: &SourceSpec,
    layout: &csv::TextLayout,
) -> Result<OpenedSource, SourceError> {
    let input = Input::open(&spec.path)?;
    let mapper = Mapper::for_any_table();
    match spec.kind {
        SourceKind::Csv => csv::open_with(spec, input, &mapper, layout),
        SourceKind::Xlsx => xlsx::open(spec, input, &mapper),
        SourceKind::Jsonl => jsonl::open(spec, input, &mapper),
        SourceKind::Html => Err(SourceError::Mapping {
            path: spec.path.clone(),
            source: MappingError::NothingMapped {
                found: "a saved web page; give a CSV, XLSX or JSONL file".into(),
            },
        }),
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

/// What a file that is not a regular file is, in words.
fn file_type_name(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Refuses anything but a regular file (symlinks are followed first).
pub(crate) fn check_regular(path: &Path, meta: &std::fs::Metadata) -> Result<(), SourceError> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(SourceError::NotAFile {
            path: path.to_path_buf(),
            what: file_type_name(&meta.file_type()),
        })
    }
}

/// Opens an input file for reading, refusing what is not a regular file before it is
/// opened (`open` on a FIFO with no writer blocks forever), opening without blocking (a
/// path swapped for a FIFO in between does not hang either) and checking again what was
/// opened. An empty file is an error. Returns the file and its length.
pub(crate) fn open_regular(path: &Path) -> Result<(File, u64), SourceError> {
    let (file, len) = open_regular_or_empty(path)?;
    if len == 0 {
        return Err(SourceError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((file, len))
}

/// [`open_regular`], an empty file allowed.
pub(crate) fn open_regular_or_empty(path: &Path) -> Result<(File, u64), SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| file_error(path, e))?;
    check_regular(path, &meta)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // No effect on a regular file's reads.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| file_error(path, e))?;
    let meta = file.metadata().map_err(|e| file_error(path, e))?;
    check_regular(path, &meta)?;
    Ok((file, meta.len()))
}

/// A whole small file (a saved page), refused past `limit` bytes before it is read.
pub fn read_capped(path: &Path, what: &'static str, limit: u64) -> Result<Vec<u8>, SourceError> {
    let (file, len) = open_regular_or_empty(path)?;
    let too_large = |size| SourceError::TooLarge {
        path: path.to_path_buf(),
        what,
        size,
        limit,
    };
    if len > limit {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| file_error(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64)); // it grew while read
    }
    Ok(bytes)
}

/// A source's bytes, read as a stream (more than once: a first pass hashes and checks
/// them, the next ones produce rows). Never held whole, except for tests' in-memory input.
pub enum Input {
    File {
        path: PathBuf,
        file: File,
        /// The length when opened: later passes read no more than this, and a file that
        /// got shorter in between is an error (see [`ExactLen`]).
        len: u64,
    },
    Bytes(std::sync::Arc<Vec<u8>>),
}

/// Readable and seekable, for XLSX (a zip archive).
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

impl Input {
    /// A regular, non-empty file (see [`open_regular`]).
    pub fn open(path: &Path) -> Result<Input, SourceError> {
        let (file, len) = open_regular(path)?;
        Ok(Input::File {
            path: path.to_path_buf(),
            file,
            len,
        })
    }

    /// Bytes in memory (tests, small lists).
    pub fn bytes(bytes: Vec<u8>) -> Input {
        Input::Bytes(std::sync::Arc::new(bytes))
    }

    pub fn len(&self) -> u64 {
        match self {
            Input::File { len, .. } => *len,
            Input::Bytes(b) => b.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A reader from the start of the input. Readers of one file are independent (each
    /// keeps its own position), so a look ahead can run beside the reader of the rows.
    pub fn reader(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Input::File { file, len, .. } => {
                Box::new(BufReader::with_capacity(1 << 16, FileAt::new(file, *len)?))
            }
            Input::Bytes(b) => Box::new(std::io::Cursor::new(SharedBytes(b.clone()))),
        })
    }

    /// A seekable reader from the start of the input.
    pub fn seekable(&self) -> std::io::Result<Box<dyn ReadSeek>> {
        Ok(match self {
            Input::File { file, len, .. } => {
                Box::new(BufReader::with_capacity(1 << 16, FileAt::new(file, *len)?))
            }
            Input::Bytes(b) => Box::new(std::io::Cursor::new(SharedBytes(b.clone()))),
        })
    }

    /// SHA-256 of the bytes, read as a stream.
    pub fn hash(&self, path: &Path) -> Result<String, SourceError> {
        let mut reader = self.reader().map_err(|e| file_error(path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(file_error(path, e)),
            };
            hasher.update(&buf[..n]);
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

struct SharedBytes(std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A reader of a file at a position of its own (`pread`), up to the length the file had
/// when opened: readers of the same file never move each other, a file that grew is read
/// as it was, and one that got shorter is an error, not a quiet early end (it changed
/// while it was being read).
struct FileAt {
    file: File,
    pos: u64,
    len: u64,
}

impl FileAt {
    fn new(file: &File, len: u64) -> std::io::Result<Self> {
        Ok(FileAt {
            file: file.try_clone()?,
            pos: 0,
            len,
        })
    }
}

impl Read for FileAt {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let want = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the file got shorter while it was read (it ended after {} of its {} bytes); it changed during the import",
                    self.pos, self.len
                ),
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for FileAt {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.pos)
    }
}

/// Cuts `value` to its first [`TOO_LONG_KEPT_BYTES`] (on a character boundary).
pub(crate) fn keep_start(value: &mut String) {
    let mut end = TOO_LONG_KEPT_BYTES.min(value.len());
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value.truncate(end);
    value.shrink_to_fit();
}

/// The problem of a row with a value of `len` bytes, over [`MAX_FIELD_BYTES`].
pub(crate) fn too_long(key: &str, len: u64) -> crate::record::RowProblem {
    crate::record::RowProblem {
        code: "field_too_long",
        field: Some(key.to_string()),
        reason: format!(
            "field {key:?} is {len} bytes long (limit {MAX_FIELD_BYTES} bytes); only its first {TOO_LONG_KEPT_BYTES} bytes are kept"
        ),
    }
}

/// Problems every reader checks per row: cells too long (cut to their start, whatever the
/// row's problem), NUL bytes, bytes that did not decode.
///
/// A NUL byte is never text. Whether a whole file is binary is judged from its start
/// (`text::check_not_binary`); a NUL further on (a damaged row, a file padded with
/// zeros after a crash) refuses only the rows that hold one, wherever it is, so a million
/// good rows are not lost to one bad byte and no NUL lands in the base.
pub(crate) fn check_cells(row: &mut RawRow, encoding: Option<&str>) {
    for cell in &mut row.cells {
        if cell.value.len() > MAX_FIELD_BYTES {
            let len = cell.value.len() as u64;
            keep_start(&mut cell.value);
            if row.problem.is_none() {
                row.problem = Some(too_long(&cell.key, len));
            }
        }
    }
    if row.problem.is_some() {
        return;
    }
    for cell in &row.cells {
        if let Some(at) = cell.value.find('\0') {
            row.problem = Some(crate::record::RowProblem {
                code: "nul_byte",
                field: Some(cell.key.to_string()),
                reason: format!(
                    "field {:?} holds a NUL byte (at byte {at} of the value): binary data or a damaged file",
                    &*cell.key
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f.csv");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, what) in [
            (Path::new("/dev/zero"), "a character device"),
            (fifo.as_path(), "a named pipe (FIFO)"),
            (dir.path(), "a directory"),
        ] {
            match Input::open(path) {
                Err(e @ SourceError::NotAFile { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains(&path.display().to_string()) && msg.contains(what));
                }
                Err(e) => panic!("{path:?}: {e}"),
                Ok(_) => panic!("{path:?} opened"),
            }
        }
        let empty = dir.path().join("e.csv");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            Input::open(&empty),
            Err(SourceError::Empty { .. })
        ));
    }

    #[test]
    fn file_readers_are_independent_and_see_the_length_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, b"0123456789").unwrap();
        let input = Input::open(&path).unwrap();
        let (mut a, mut b) = (input.reader().unwrap(), input.reader().unwrap());
        let mut buf = [0u8; 4];
        a.read_exact(&mut buf).unwrap();
        let mut all = Vec::new();
        b.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"0123456789");
        a.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"4567");
        // Grown: read as it was; shrunk: an error, not a quiet end.
        std::fs::write(&path, b"0123456789abc").unwrap();
        let mut all = Vec::new();
        input.reader().unwrap().read_to_end(&mut all).unwrap();
        assert_eq!(all, b"0123456789");
        std::fs::write(&path, b"0123").unwrap();
        let err = input
            .reader()
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(
            err.to_string().contains("changed during the import"),
            "{err}"
        );
    }
}
