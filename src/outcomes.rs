//! What comes back after the leads are worked: engagement events (site visits, e-mail
//! opens, replies) and call results (`calls`). They feed warmth, and a call result can also
//! withdraw consent (asked not to be called), suppress a number (wrong number) or ask for a
//! callback.

mod calls;

pub use calls::import_call_results;

use crate::consent::contacts::read_contact_list;
use crate::consent_commands::{in_transaction, CommandError};
use crate::normalise::Normaliser;
use crate::store::warmth::Engagement;
use crate::store::Store;
use crate::warmth::WarmthSettings;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What an import of events or call results did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OutcomeImport {
    pub rows_read: u64,
    pub recorded: u64,
    /// Recorded rows by kind or outcome.
    pub by_kind: BTreeMap<String, u64>,
    /// Call consent withdrawn for these many numbers (asked not to be called).
    pub withdrawn: u64,
    /// Numbers suppressed for calls (asked not to be called, wrong number).
    pub suppressed: u64,
    /// Call results asking for a callback (at a time, or as soon as may be).
    pub callbacks: u64,
    /// Rows of a filled-in call list where nothing was written about a call (no outcome,
    /// callback or note): not called yet, so nothing to record.
    pub not_called: u64,
    /// Rows that gave nothing usable, and why; the other rows were recorded.
    pub rows_rejected: Vec<RowReject>,
    /// Leads whose warmth changed.
    pub warmth_changed: u64,
    /// The same file was loaded before: nothing was recorded again.
    pub unchanged: bool,
}

/// A row of an events or call-result file that was not recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowReject {
    /// 1-based data row (after the header).
    pub row: u64,
    /// The column whose cell was refused, as the file's header names it.
    pub field: Option<String>,
    /// The refused cell.
    pub value: Option<String>,
    pub reason: String,
}

impl RowReject {
    fn row(row: u64, reason: impl Into<String>) -> RowReject {
        RowReject {
            row,
            field: None,
            value: None,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for RowReject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}", self.row)?;
        if let Some(field) = &self.field {
            write!(f, ", column {field:?}")?;
        }
        if let Some(value) = &self.value {
            write!(f, ", value {value:?}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Engagement kinds as files spell them.
fn engagement_kind(raw: &str) -> Option<&'static str> {
    let v = raw.trim().to_lowercase().replace(['_', '-'], " ");
    Some(match v.as_str() {
        "visit" | "site visit" | "page view" | "визит" | "посещение" | "заход на сайт" => {
            "visit"
        }
        "open" | "email open" | "opened" | "открытие" | "открыл письмо" => {
            "email_open"
        }
        "reply" | "replied" | "ответ" | "ответил на письмо" => "reply",
        _ => return None,
    })
}

/// Imports engagement events: each row a phone and/or e-mail, a date, and the kind (a cell
/// such as `visit`, `email_open`, `reply`, or `kind` for the whole file).
pub fn import_events(
    store: &Store,
    path: &Path,
    kind: Option<&str>,
    normaliser: &Normaliser,
    warmth: &WarmthSettings,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<OutcomeImport, CommandError> {
    let fixed = match kind {
        Some(k) => Some(engagement_kind(k).ok_or_else(|| {
            CommandError::BadInput(format!(
                "--kind {k:?}: use visit, email_open or reply (call results go through `call-result import`)"
            ))
        })?),
        None => None,
    };
    let list = read_contact_list(path, normaliser)?;
    let mut out = OutcomeImport {
        rows_read: list.rows.len() as u64,
        ..OutcomeImport::default()
    };
    if store.engagement_file_seen(&list.content_hash)? {
        out.unchanged = true;
        return Ok(out);
    }
    let mut rows = Vec::new();
    for r in &list.rows {
        if let Some(p) = &r.problem {
            out.rows_rejected.push(RowReject::row(r.row, p));
            continue;
        }
        let Some(kind) = fixed.or_else(|| r.other.iter().find_map(|c| engagement_kind(c))) else {
            out.rows_rejected.push(RowReject::row(
                r.row,
                format!(
                    "no event kind (visit, email_open, reply) among {:?}",
                    r.other
                ),
            ));
            continue;
        };
        let at = r.at.unwrap_or(now);
        *out.by_kind.entry(kind.to_string()).or_default() += 1;
        out.recorded += 1;
        // One event per contact of the row, so it reaches the lead by either.
        for p in &r.phones {
            rows.push(event(Some(p), None, kind, at, path, r.row));
        }
        for m in &r.emails {
            rows.push(event(None, Some(m), kind, at, path, r.row));
        }
    }
    if out.recorded == 0 {
        return Err(nothing_usable(path, "event", &out.rows_rejected));
    }
    in_transaction(store, |store| {
        store.append_engagements(&rows, actor, Some(&list.content_hash))?;
        out.warmth_changed = store.score_warmth(warmth, now)?.changed;
        Ok(())
    })?;
    Ok(out)
}

fn event(
    phone: Option<&String>,
    email: Option<&String>,
    kind: &str,
    at: DateTime<Utc>,
    path: &Path,
    row: u64,
) -> Engagement {
    Engagement {
        phone_e164: phone.cloned(),
        email: email.cloned(),
        kind: kind.to_string(),
        outcome: None,
        outcome_text: None,
        callback_at: None,
        note: None,
        occurred_at: at,
        source: Some(path.display().to_string()),
        source_row: Some(row),
    }
}

/// The error for a file none of whose rows could be used, naming the first problem.
pub(crate) fn nothing_usable(path: &Path, what: &str, rows_rejected: &[RowReject]) -> CommandError {
    CommandError::BadInput(format!(
        "{}: no usable {what} in any row (first problem: {}); nothing was recorded",
        path.display(),
        rows_rejected
            .first()
            .map_or_else(|| "the file has no data rows".into(), RowReject::to_string)
    ))
}
