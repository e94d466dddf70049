//! `call-result import`: each row the number called, what came of it in the operator's words
//! (`crates/core/data/call_outcomes.tsv`), optionally when, when to call back, and a note.

use super::{nothing_usable, OutcomeImport, RowReject};
use crate::calls::{call_column, callback_at, callback_from_words, read_outcome, stop_in};
use crate::calls::{CallColumn, EXAMPLES};
use crate::consent::contacts::{parse_grid, read_grid, ContactRow};
use crate::consent::{Channel, ConsentEvent, ContactKind, Purpose, Status};
use crate::consent_commands::{in_transaction, CommandError};
use crate::normalise::Normaliser;
use crate::sources::headers::{Field, Mapper};
use crate::store::consent::Suppression;
use crate::store::warmth::Engagement;
use crate::store::Store;
use crate::warmth::{CallOutcome, WarmthSettings};
use chrono::{DateTime, FixedOffset, Utc};
use std::path::Path;

/// One number called and what came of it.
struct CallResult {
    phone: String,
    outcome: CallOutcome,
    outcome_text: Option<String>,
    at: DateTime<Utc>,
    callback_at: Option<DateTime<Utc>>,
    note: Option<String>,
    row: u64,
}

impl CallResult {
    /// Every call result counts towards warmth, whatever the outcome.
    fn engagement(&self, path: &Path) -> Engagement {
        Engagement {
            phone_e164: Some(self.phone.clone()),
            email: None,
            kind: "call".into(),
            outcome: Some(self.outcome.as_str().to_string()),
            outcome_text: self.outcome_text.clone(),
            callback_at: self.callback_at,
            note: self.note.clone(),
            occurred_at: self.at,
            source: Some(path.display().to_string()),
            source_row: Some(self.row),
        }
    }
}

/// The outcome, callback and note columns of a file with a header, by position, each with
/// its header as written.
#[derive(Default)]
struct Columns {
    outcome: Option<(usize, String)>,
    callback: Option<(usize, String)>,
    notes: Vec<usize>,
    /// Times that are not the call's (a call list's schedule columns): left unread.
    not_the_call_time: Vec<usize>,
}

impl Columns {
    /// The columns a header row names; none for a first row that holds a number or an
    /// address (data, not a header).
    fn of(header: &[String]) -> Columns {
        let mut columns = Columns::default();
        let data =
            |c: &String| c.contains('@') || c.chars().filter(char::is_ascii_digit).count() >= 5;
        if header.iter().any(data) {
            return columns;
        }
        let mapper = Mapper::default();
        for (i, h) in header.iter().enumerate() {
            match call_column(h) {
                Some(CallColumn::Outcome) if columns.outcome.is_none() => {
                    columns.outcome = Some((i, h.trim().to_string()))
                }
                Some(CallColumn::CallbackAt) if columns.callback.is_none() => {
                    columns.callback = Some((i, h.trim().to_string()))
                }
                Some(CallColumn::Note) => columns.notes.push(i),
                Some(CallColumn::NotTheCallTime) => columns.not_the_call_time.push(i),
                None if mapper.field(h) == Some(Field::Comment) => columns.notes.push(i),
                _ => {}
            }
        }
        columns
    }

    fn is_empty(&self) -> bool {
        self.outcome.is_none() && self.callback.is_none() && self.notes.is_empty()
    }
}

/// A data row's cells in the outcome, callback and note columns.
#[derive(Default, Clone)]
struct Aside {
    outcome: Option<String>,
    callback: Option<String>,
    note: Option<String>,
}

/// Takes the outcome, callback and note cells out of the data rows (blanking them, so the
/// contact reader neither reads a callback date as the call's date nor a note as an
/// outcome). Returns the columns and each grid row's cells, by grid index.
fn take_aside(grid: &mut [Vec<String>], header: Option<usize>) -> (Columns, Vec<Aside>) {
    let columns = header.map(|h| Columns::of(&grid[h])).unwrap_or_default();
    let mut aside = vec![Aside::default(); grid.len()];
    let (Some(h), false) = (header, columns.is_empty()) else {
        return (columns, aside);
    };
    // The header names these columns as a header the contact reader knows, so it takes the
    // row as one even when it knows no other (`Номер;Результат`).
    let taken = columns
        .outcome
        .iter()
        .chain(&columns.callback)
        .map(|(i, _)| i);
    for &i in taken.chain(&columns.notes) {
        grid[h][i] = "Comment".into();
    }
    let take = |row: &mut Vec<String>, i: usize| {
        row.get_mut(i)
            .map(std::mem::take)
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
    };
    for (row, cells) in grid.iter_mut().zip(aside.iter_mut()).skip(h + 1) {
        cells.outcome = columns.outcome.as_ref().and_then(|(i, _)| take(row, *i));
        cells.callback = columns.callback.as_ref().and_then(|(i, _)| take(row, *i));
        let notes: Vec<String> = columns.notes.iter().filter_map(|i| take(row, *i)).collect();
        cells.note = (!notes.is_empty()).then(|| notes.join(" · "));
        for &i in &columns.not_the_call_time {
            take(row, i);
        }
    }
    (columns, aside)
}

/// Imports a call-result file: each row a number, an outcome in the words operators use
/// (Russian or English, `data/call_outcomes.tsv`), and optionally when, when to call back
/// and a note. Every result is an engagement (warmth); "asked not to call" also withdraws
/// call consent and suppresses the number; "wrong number" suppresses that number only; a
/// callback holds the lead back until its time. Rows that cannot be read are rejected one
/// by one; the rest are recorded.
pub fn import_call_results(
    store: &Store,
    path: &Path,
    normaliser: &Normaliser,
    warmth: &WarmthSettings,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<OutcomeImport, CommandError> {
    let (mut grid, content_hash) = read_grid(path)?;
    let header = grid
        .iter()
        .position(|r| !r.iter().all(|c| c.trim().is_empty()));
    let (columns, aside) = take_aside(&mut grid, header);
    let list = parse_grid(grid, normaliser, content_hash);
    let mut out = OutcomeImport {
        rows_read: list.rows.len() as u64,
        ..OutcomeImport::default()
    };
    if store.engagement_file_seen(&list.content_hash)? {
        out.unchanged = true;
        return Ok(out);
    }
    // Data row 1 is the grid row after the header (when the contact reader saw one).
    let first = header.unwrap_or(0) + usize::from(list.had_header);
    let reading = Reading {
        columns: &columns,
        now,
        offset: normaliser.naive_offset,
    };
    let mut results = Vec::new();
    for r in &list.rows {
        let cells = aside
            .get(first + r.row as usize - 1)
            .cloned()
            .unwrap_or_default();
        if reading.not_called(r, &cells) {
            out.not_called += 1;
            continue;
        }
        match reading.row(r, &cells) {
            Ok(mut row) => {
                if let Some(c) = row.first() {
                    *out.by_kind
                        .entry(c.outcome.as_str().to_string())
                        .or_default() += 1;
                    out.recorded += 1;
                    let callback = c.outcome == CallOutcome::Callback || c.callback_at.is_some();
                    out.callbacks += u64::from(callback);
                }
                results.append(&mut row);
            }
            Err(reject) => out.rows_rejected.push(reject),
        }
    }
    if out.recorded == 0 {
        return Err(nothing_usable(path, "call result", &out.rows_rejected));
    }
    in_transaction(store, |store| {
        let rows: Vec<Engagement> = results.iter().map(|c| c.engagement(path)).collect();
        store.append_engagements(&rows, actor, Some(&list.content_hash))?;
        let mut withdrawals = honour_refusals(store, &results, path, &mut out)?;
        store.append_consents(&mut withdrawals, None, actor)?;
        store.refresh_consent_status(now, actor, None)?;
        out.warmth_changed = store.score_warmth(warmth, now)?.changed;
        Ok(())
    })?;
    Ok(out)
}

/// How a file's rows are read.
struct Reading<'a> {
    columns: &'a Columns,
    now: DateTime<Utc>,
    offset: FixedOffset,
}

impl Reading<'_> {
    /// A row of a file with an outcome column where that column, the callback and the
    /// note are all blank and no other cell says "do not call": a number on a call list
    /// nobody has rung yet (lists go back in with their unrung rows).
    fn not_called(&self, r: &ContactRow, cells: &Aside) -> bool {
        self.columns.outcome.is_some()
            && r.problem.is_none()
            && !r.phones.is_empty()
            && cells.outcome.is_none()
            && cells.callback.is_none()
            && cells.note.is_none()
            && r.other.iter().all(|c| stop_in(c).is_none())
    }

    /// One result per number of the row, or why the row cannot be used.
    fn row(&self, r: &ContactRow, cells: &Aside) -> Result<Vec<CallResult>, RowReject> {
        if let Some(p) = &r.problem {
            return Err(RowReject::row(r.row, p));
        }
        if r.phones.is_empty() {
            return Err(RowReject::row(
                r.row,
                "a call result needs the number that was called",
            ));
        }
        let (outcome, text) = self.outcome(r, cells)?;
        let at = r.at.unwrap_or(self.now);
        let callback_at = match outcome {
            CallOutcome::DoNotCall | CallOutcome::WrongNumber => None,
            _ => self.callback(r.row, cells, text.as_deref(), outcome, at)?,
        };
        Ok(r.phones
            .iter()
            .map(|phone| CallResult {
                phone: phone.clone(),
                outcome,
                outcome_text: text.clone(),
                at,
                callback_at,
                note: cells.note.clone(),
                row: r.row,
            })
            .collect())
    }

    /// The row's outcome and its text. A "do not call" or "wrong number" anywhere in the
    /// row (a note, another column) wins; else the outcome column's words, or for a file
    /// without one, the strongest outcome among the row's other cells.
    fn outcome(
        &self,
        r: &ContactRow,
        cells: &Aside,
    ) -> Result<(CallOutcome, Option<String>), RowReject> {
        let text = match &self.columns.outcome {
            Some(_) => cells.outcome.clone(),
            None => (!r.other.is_empty()).then(|| r.other.join(" · ")),
        };
        let everything = cells.outcome.iter().chain(&cells.note).chain(&r.other);
        let stop = CallOutcome::strongest(everything.filter_map(|c| stop_in(c)));
        let read = match &self.columns.outcome {
            Some(_) => cells.outcome.as_deref().and_then(read_outcome),
            None => CallOutcome::strongest(r.other.iter().filter_map(|c| read_outcome(c))),
        };
        match stop.or(read) {
            Some(outcome) => Ok((outcome, text)),
            None => Err(self.unknown_outcome(r.row, text)),
        }
    }

    fn unknown_outcome(&self, row: u64, text: Option<String>) -> RowReject {
        let field = Some(
            self.columns
                .outcome
                .as_ref()
                .map_or("outcome".to_string(), |(_, h)| h.clone()),
        );
        let reason = match &text {
            Some(_) => format!("not a call outcome leadpipe knows; write one such as {EXAMPLES}"),
            None => format!("no call outcome in this row; write one such as {EXAMPLES}"),
        };
        RowReject {
            row,
            field,
            value: text,
            reason,
        }
    }

    /// When to call back: the callback column (a date and time, or words), else for a
    /// callback outcome, the time its words give (`перезвонить завтра в 10`); `None` for
    /// "as soon as may be" or no callback.
    fn callback(
        &self,
        row: u64,
        cells: &Aside,
        text: Option<&str>,
        outcome: CallOutcome,
        at: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, RowReject> {
        if let Some(cell) = &cells.callback {
            return callback_at(cell, at, self.offset)
                .map(Some)
                .ok_or_else(|| RowReject {
                    row,
                    field: self.columns.callback.as_ref().map(|(_, h)| h.clone()),
                    value: Some(cell.clone()),
                    reason: "not a date and time to call back (such as 24.11.2026 10:00, \
                         2026-11-24 10:00, завтра в 10, через 2 часа)"
                        .into(),
                });
        }
        Ok(match (outcome, text) {
            (CallOutcome::Callback, Some(words)) => callback_from_words(words, at, self.offset),
            _ => None,
        })
    }
}

/// Suppresses the numbers that asked not to be called (`call-outcomes`) or were wrong
/// (`wrong-numbers`), and returns the call-consent withdrawals of the former, to be
/// recorded together.
fn honour_refusals(
    store: &Store,
    results: &[CallResult],
    path: &Path,
    out: &mut OutcomeImport,
) -> Result<Vec<ConsentEvent>, CommandError> {
    let mut withdrawals = Vec::new();
    let mut stops = Vec::new();
    for c in results {
        let (list, reason) = match c.outcome {
            CallOutcome::DoNotCall => {
                out.withdrawn += 1;
                withdrawals.extend(call_withdrawals(&c.phone, c.at, path));
                ("call-outcomes", "do_not_call")
            }
            CallOutcome::WrongNumber => ("wrong-numbers", "wrong_number"),
            _ => continue,
        };
        stops.push(Suppression {
            list,
            reason,
            kind: ContactKind::Phone,
            value: c.phone.clone(),
            channel: Some(Channel::Call),
            at: c.at,
        });
        out.suppressed += 1;
    }
    store.suppress_many(&stops)?;
    Ok(withdrawals)
}

/// "Asked not to call" withdraws call consent for every purpose, on that number only.
fn call_withdrawals(phone: &str, at: DateTime<Utc>, path: &Path) -> Vec<ConsentEvent> {
    Purpose::ALL
        .into_iter()
        .map(|purpose| ConsentEvent {
            phone_e164: Some(phone.to_string()),
            channel: Some(Channel::Call),
            purpose: Some(purpose),
            status: Some(Status::Withdrawn),
            legal_basis: "withdrawal".into(),
            captured_at: Some(at),
            withdrawn_at: Some(at),
            withdrawal_channel: Some("call".into()),
            source: Some(path.display().to_string()),
            method: Some("call_result".into()),
            ..ConsentEvent::default()
        })
        .collect()
}
