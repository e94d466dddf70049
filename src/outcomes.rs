//! What comes back after the leads are worked: engagement events (site visits, e-mail
//! opens, replies) and call results. They feed warmth, and a call result can also withdraw
//! consent (asked not to be called) or suppress a number (wrong number).

use crate::consent::contacts::{read_contact_list, ContactRow};
use crate::consent::{Channel, ConsentEvent, ContactKind, Purpose, Status};
use crate::consent_commands::{in_transaction, CommandError};
use crate::normalise::Normaliser;
use crate::store::warmth::Engagement;
use crate::store::Store;
use crate::warmth::{CallOutcome, WarmthSettings};
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
    /// (row, why) for rows that gave nothing usable.
    pub rows_rejected: Vec<(u64, String)>,
    /// Leads whose warmth changed.
    pub warmth_changed: u64,
    /// The same file was loaded before: nothing was recorded again.
    pub unchanged: bool,
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
            out.rows_rejected.push((r.row, p.clone()));
            continue;
        }
        let Some(kind) = fixed.or_else(|| r.other.iter().find_map(|c| engagement_kind(c))) else {
            out.rows_rejected.push((
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
            rows.push(engagement(Some(p), None, kind, None, at, path, r.row));
        }
        for m in &r.emails {
            rows.push(engagement(None, Some(m), kind, None, at, path, r.row));
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

fn engagement(
    phone: Option<&String>,
    email: Option<&String>,
    kind: &str,
    outcome: Option<CallOutcome>,
    at: DateTime<Utc>,
    path: &Path,
    row: u64,
) -> Engagement {
    Engagement {
        phone_e164: phone.cloned(),
        email: email.cloned(),
        kind: kind.to_string(),
        outcome: outcome.map(|o| o.as_str().to_string()),
        occurred_at: at,
        source: Some(path.display().to_string()),
        source_row: Some(row),
    }
}

/// The error for a file none of whose rows could be used, naming the first problem.
fn nothing_usable(path: &Path, what: &str, rows_rejected: &[(u64, String)]) -> CommandError {
    CommandError::BadInput(format!(
        "{}: no usable {what} in any row (first problem: {}); nothing was recorded",
        path.display(),
        rows_rejected
            .first()
            .map(|(row, why)| format!("row {row}: {why}"))
            .unwrap_or_default()
    ))
}

/// One number called and what came of it.
struct CallResult {
    phone: String,
    outcome: CallOutcome,
    at: DateTime<Utc>,
    row: u64,
}

impl CallResult {
    /// Every call result counts towards warmth, whatever the outcome.
    fn engagement(&self, path: &Path) -> Engagement {
        engagement(
            Some(&self.phone),
            None,
            "call",
            Some(self.outcome),
            self.at,
            path,
            self.row,
        )
    }
}

/// Imports a call-result file: each row a number, an outcome (reached, no answer, refused,
/// asked not to call, wrong number, in Russian or English) and optionally when. Every
/// result is an engagement (warmth); "asked not to call" also withdraws call consent and
/// suppresses the number; "wrong number" suppresses that number only.
pub fn import_call_results(
    store: &Store,
    path: &Path,
    normaliser: &Normaliser,
    warmth: &WarmthSettings,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<OutcomeImport, CommandError> {
    let list = read_contact_list(path, normaliser)?;
    let mut out = OutcomeImport {
        rows_read: list.rows.len() as u64,
        ..OutcomeImport::default()
    };
    if store.engagement_file_seen(&list.content_hash)? {
        out.unchanged = true;
        return Ok(out);
    }
    let mut results = Vec::new();
    for r in &list.rows {
        let outcome = match call_outcome(r) {
            Ok(outcome) => outcome,
            Err(why) => {
                out.rows_rejected.push((r.row, why));
                continue;
            }
        };
        *out.by_kind.entry(outcome.as_str().to_string()).or_default() += 1;
        out.recorded += 1;
        for p in &r.phones {
            results.push(CallResult {
                phone: p.clone(),
                outcome,
                at: r.at.unwrap_or(now),
                row: r.row,
            });
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

/// The outcome a row reports, or why the row cannot be used.
fn call_outcome(r: &ContactRow) -> Result<CallOutcome, String> {
    if let Some(p) = &r.problem {
        return Err(p.clone());
    }
    if r.phones.is_empty() {
        return Err("a call result needs the number that was called".into());
    }
    CallOutcome::strongest(r.other.iter().filter_map(|c| CallOutcome::parse(c))).ok_or_else(|| {
        format!(
            "no call outcome (reached, no_answer, refused, do_not_call, wrong_number) among {:?}",
            r.other
        )
    })
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
        store.suppress_one(
            list,
            reason,
            ContactKind::Phone,
            &c.phone,
            Some(Channel::Call),
            c.at,
        )?;
        out.suppressed += 1;
    }
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
