//! The read step: import and normalise, one pass over each source. A reader thread parses
//! rows, a worker normalises them on all cores ([`super::prepare`]), and this thread lands
//! them; rows already landed are derived again from the base ([`super::renormalise`]).

use super::context::RunContext;
use super::prepare::{prepare_batch, BatchWork, PreparedBatch};
use super::summary::{SourceSummary, StageReport};
use super::{renormalise, RunError, CHUNK_ROWS};
use crate::consent::ErasedContacts;
use crate::record::{RawRow, Stage};
use crate::sources::{self, OpenedSource, SourceError, SourceKind, SourceSpec};
use crate::store::held::HeldRecords;
use crate::store::{BatchOrigin, Store};
use duckdb::arrow::record_batch::RecordBatch;
use std::time::Instant;

pub(super) fn run(ctx: &mut RunContext) -> Result<StageReport, RunError> {
    let import = ctx.runs(Stage::Import);
    let normalise = ctx.runs(Stage::Normalise);
    let mut next_raw_id = ctx.store.next_raw_id()?;
    // An erased person's rows are refused at import; hashing only happens if anyone was.
    let erased = ErasedContacts::new(ctx.store.contact_hasher()?, ctx.store.erased_hashes()?);
    for (i, spec) in ctx.plan.sources.iter().enumerate() {
        let mut summary = std::mem::take(&mut ctx.sources[i]);
        if import {
            let mut source = SourceImport {
                ctx,
                spec,
                normalise,
                erased: &erased,
                summary: &mut summary,
            };
            source.run(&mut next_raw_id)?;
        }
        // Re-derive from landed raw rows when asked (`--only/--from normalise`), or when an
        // earlier `--only import` run left rows waiting.
        if normalise && (!import || ctx.store.count_unnormalised(&spec.name, ctx.run_id)? > 0) {
            // Re-normalising covers the whole source, including rows just imported:
            // count them once, there.
            summary.clear_outcomes();
            ctx.new_records.land_now(ctx.store)?;
            renormalise::source(ctx, spec, &mut summary)?;
        }
        ctx.sources[i] = summary;
    }
    ctx.renormalised = ctx.sources.iter().any(|s| s.status == "renormalised");
    warn_about_empty_files(ctx);
    add_stages_rederived_records_need(ctx, normalise);
    Ok(StageReport::Read)
}

fn warn_about_empty_files(ctx: &mut RunContext) {
    let empty = ctx
        .sources
        .iter()
        .filter(|s| s.rows_read == 0 && matches!(s.status.as_str(), "imported" | "reimported"))
        .map(|s| format!("{}: {} has a header and no data rows", s.source, s.path));
    ctx.warnings.extend(empty);
}

/// Re-derived records were cut loose from their consent events (superseded with the old
/// derivation) and their golden records: stopping here would leave nobody callable while
/// `leads` still said "granted". The stages that depend on them run too.
fn add_stages_rederived_records_need(ctx: &mut RunContext, normalise: bool) {
    let rederived =
        ctx.renormalised || (normalise && ctx.sources.iter().any(|s| s.status == "reimported"));
    if !rederived {
        return;
    }
    let missing: Vec<Stage> = [Stage::Dedupe, Stage::Consent, Stage::Warmth]
        .into_iter()
        .filter(|s| !ctx.stages.contains(s))
        .collect();
    if !missing.is_empty() {
        ctx.warnings.push(format!(
            "records were re-derived, so {} ran too: their consent events and golden records are derived from them",
            missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
        ctx.stages.extend(missing);
        ctx.stages.sort();
    }
}

/// One source being imported.
struct SourceImport<'c, 'a> {
    ctx: &'c mut RunContext<'a>,
    spec: &'c SourceSpec,
    normalise: bool,
    erased: &'c ErasedContacts,
    summary: &'c mut SourceSummary,
}

impl SourceImport<'_, '_> {
    fn run(&mut self, next_raw_id: &mut i64) -> Result<(), RunError> {
        let mut opened = self.open()?;
        self.summary.encoding = opened.encoding.map(str::to_string);
        let Some(settings) = self.check_landed_before(&opened)? else {
            return Ok(());
        };
        let (store, spec, run_id) = (self.ctx.store, self.spec, self.ctx.run_id);
        let settings_in_use: &crate::settings::Settings = self.ctx.settings;
        let at = BatchOrigin {
            run_id,
            source: &spec.name,
            file_hash: &opened.content_hash,
            origin: spec.origin.as_str(),
        };
        let work = BatchWork {
            normaliser: self.normalise.then_some(&settings_in_use.normaliser),
            erased: self.erased,
            phones: &settings_in_use.normaliser.phone,
            at: &at,
            hold: self.ctx.new_records.held_mut().is_some(),
        };
        let bar = self.ctx.opts.progress_bar(&spec.name);
        let engine = Engine {
            store,
            held: self.ctx.new_records.held_mut(),
            summary: self.summary,
            bar: &bar,
        };
        *next_raw_id += engine.run(&mut *opened.rows, *next_raw_id, &work, &spec.path)? as i64;
        bar.finish_and_clear();
        store.insert_source_file(
            &opened.content_hash,
            &spec.name,
            &spec.path.display().to_string(),
            spec.kind.as_str(),
            spec.origin.as_str(),
            opened.encoding,
            opened.delimiter,
            run_id,
            self.summary.rows_read,
            &settings,
        )?;
        tracing::info!(source = %spec.name, rows = self.summary.rows_read, accepted = self.summary.rows_accepted, rejected = self.summary.rows_rejected, "imported");
        Ok(())
    }

    /// The source's rows: a file, saved pages, or pages crawled now (kept for later runs).
    fn open(&self) -> Result<OpenedSource, RunError> {
        let (store, spec) = (self.ctx.store, self.spec);
        let Some(fetch) = &spec.fetch else {
            return Ok(sources::open(spec)?);
        };
        let cached = store.cached_pages(&spec.name)?;
        let (pages, log) =
            sources::fetch::crawl(fetch, &cached, self.ctx.opts.refresh).map_err(|message| {
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
        store.keep_pages(&spec.name, self.ctx.run_id, &pages)?;
        Ok(sources::html::open_fetched(
            spec,
            &spec.html.clone().unwrap_or_default(),
            &pages,
        )?)
    }

    /// The read settings to store with the file, or `None` when the same content was
    /// landed before with the same settings (nothing to do). Settings change how the same
    /// bytes read: a file landed with a wrong encoding is read again (its old rows
    /// removed) when the pipeline file corrects it. What is compared is how the file was
    /// actually read (detected or given), so writing down a setting that detection already
    /// chose (`delimiter = ";"`) is not a change.
    fn check_landed_before(&mut self, opened: &OpenedSource) -> Result<Option<String>, RunError> {
        let (store, spec) = (self.ctx.store, self.spec);
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
            if !spec.columns.is_empty() {
                // A column mapped to another field reads the same bytes differently. (Only
                // when given, so files landed before mappings were compared still match.)
                text.push_str(&format!(";columns={:?}", spec.columns));
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
        self.summary.status = "imported".to_string();
        if let Some(landed) = store.find_file(&opened.content_hash)? {
            let old = landed.read_settings.as_deref();
            let same_reading = old == Some(settings.as_str()) || old == Some(as_given.as_str());
            // The origin decides what consent a row can carry: a file landed as a purchased
            // list and now declared a form export is read again, not silently kept. (The
            // same bytes under another source name stay skipped, as before: two sources
            // sharing a file must not take turns re-reading it.)
            let same_origin = landed.origin == spec.origin.as_str() || landed.source != spec.name;
            let first_run = landed.run_id;
            if same_reading && same_origin {
                tracing::info!(source = %spec.name, first_run, first_source = %landed.source, "same content already imported; skipping");
                self.summary.status = "unchanged".to_string();
                self.summary.unchanged_since_run = Some(first_run);
                return Ok(None);
            }
            if !same_origin {
                self.ctx.warnings.push(format!(
                    "{}: landed in run {first_run} as {}, now given as {}: read again as {}, its records and consent derived again",
                    spec.path.display(),
                    landed.origin,
                    spec.origin.as_str(),
                    spec.origin.as_str()
                ));
            } else {
                tracing::info!(source = %spec.name, first_run, "same content, new read settings; reading it again");
            }
            store.remember_replaced_records(&opened.content_hash)?;
            store.forget_file(&opened.content_hash)?;
            self.summary.status = "reimported".to_string();
        } else if spec.kind == SourceKind::Html {
            // Pages are a snapshot of a site: when any page changed, the source's earlier
            // snapshot is replaced rather than landed again beside the new one.
            for old in store.source_file_hashes(&spec.name)? {
                store.remember_replaced_records(&old)?;
                store.forget_file(&old)?;
                self.summary.status = "reimported".to_string();
            }
        }
        Ok(Some(settings))
    }
}

/// Reads, prepares and lands one source's rows on three threads: a reader thread reads
/// chunks of rows, a worker writes raw JSON, normalises and builds Arrow batches (on all
/// cores), batches waiting in the channel while it prepares the next, and this thread lands
/// them in DuckDB. Landing order and ids are the same as doing it in sequence.
struct Engine<'a> {
    store: &'a Store,
    held: Option<&'a mut HeldRecords>,
    summary: &'a mut SourceSummary,
    bar: &'a indicatif::ProgressBar,
}

impl Engine<'_> {
    /// Returns the number of rows landed.
    fn run(
        mut self,
        rows: &mut (dyn Iterator<Item = RawRow> + Send),
        first_id: i64,
        work: &BatchWork,
        source_path: &std::path::Path,
    ) -> Result<usize, RunError> {
        let store = self.store;
        let mut landing = Landing::default();
        // Busy time of each half, to see which one the other waits for (debug log).
        let mut land_ms = 0u128;
        let one_thread = store.one_thread()?;
        let (landed_rows, prepare_ms) = std::thread::scope(|scope| {
            // Room for a whole landing's worth of batches: the worker keeps normalising
            // while one 128k-row INSERT runs (with room for one, it idled half of each).
            let (send, receive) = std::sync::mpsc::sync_channel::<Result<PreparedBatch, RunError>>(
                LAND_ROWS / CHUNK_ROWS,
            );
            // Reading (parsing, decoding) is serial: a reader thread does it a chunk
            // ahead, so the normalising worker's parallel part is not held up by it.
            let (send_chunk, chunks) = std::sync::mpsc::sync_channel::<Vec<RawRow>>(0);
            // Used chunks go back to the reader to be freed: the rows' header keys are
            // shared `Arc`s it cloned, and their counts bouncing between cores cost ~0.3 s
            // of CPU per 1M rows when the normalising threads dropped them.
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
                prepare_chunks(chunks, give_back, send, first_id, work, source_path)
            });
            let mut landed_rows = 0usize;
            let mut outcome = Ok(());
            for batch in &receive {
                let clock = Instant::now();
                let step = batch.and_then(|batch| {
                    landed_rows += batch.rows;
                    self.land(batch, &mut landing)
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
            // A reader that panicked ended its chunks early: the run fails, it does not
            // land a source cut short.
            reader
                .join()
                .map_err(|_| RunError::Internal("the thread reading the source panicked".into()))?;
            outcome.map(|()| (landed_rows, prepare_ms))
        })?;
        let clock = Instant::now();
        landing.flush(store)?;
        drop(one_thread);
        land_ms += clock.elapsed().as_millis();
        tracing::debug!(
            prepare_ms,
            land_ms,
            "import: busy time of reading+normalising and of landing"
        );
        Ok(landed_rows)
    }

    /// Counts a prepared batch in the summary, holds its records for deduplication (when
    /// they are held) and queues it for landing.
    fn land(&mut self, mut batch: PreparedBatch, landing: &mut Landing) -> Result<(), RunError> {
        self.bar.inc(batch.rows as u64);
        if let (Some(held), Some(records)) = (self.held.as_mut(), batch.records.as_mut()) {
            held.hold(self.store, &mut records.match_keys, &mut records.batches)?;
        }
        let summary = &mut *self.summary;
        summary.rows_read += batch.rows as u64;
        if let Some(records) = &batch.records {
            summary.phones_valid += records.phones_valid;
            summary.emails_valid += records.emails_valid;
            summary.rows_accepted += records.count;
        }
        summary.count_rejects(&batch.rejects);
        landing.push(self.store, batch)
    }
}

/// The worker thread: prepares each chunk the reader sends, until the rows end, a read
/// fails (the run fails, naming the row) or the landing side stops. Returns its busy time.
fn prepare_chunks(
    chunks: std::sync::mpsc::Receiver<Vec<RawRow>>,
    give_back: std::sync::mpsc::Sender<Vec<RawRow>>,
    send: std::sync::mpsc::SyncSender<Result<PreparedBatch, RunError>>,
    first_id: i64,
    work: &BatchWork,
    source_path: &std::path::Path,
) -> u128 {
    let (mut next_id, mut busy) = (first_id, 0u128);
    for chunk in chunks {
        if let Some(failed) = chunk.iter().find(|r| {
            r.problem
                .as_ref()
                .is_some_and(|p| p.code == sources::READ_FAILED)
        }) {
            let reason = failed.problem.as_ref().map(|p| p.reason.clone());
            let _ = send.send(Err(RunError::Source(SourceError::ReadFailed {
                path: source_path.to_path_buf(),
                row: failed.source_row,
                message: reason.unwrap_or_default(),
            })));
            break;
        }
        let clock = Instant::now();
        let batch = prepare_batch(&chunk, next_id, work);
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

/// Every raw row must have become exactly one record or reject. A breach is our bug, and
/// failing the run (which rolls back) is better than landing a base that lost rows.
pub(super) fn check_conservation(store: &Store, sources: &[&str]) -> Result<(), RunError> {
    let (lost, doubled) = store.conservation_breaches(sources)?;
    if lost > 0 || doubled > 0 {
        return Err(RunError::Internal(format!(
            "row conservation broken: {lost} raw rows have neither a record nor a reject, \
             {doubled} have more than one"
        )));
    }
    Ok(())
}
