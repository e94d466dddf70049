//! What comes back after the leads are worked: engagement events (site visits, e-mail
//! opens, replies) and call results. They feed warmth, and a call result can also withdraw
//! consent (asked not to be called) or suppress a number (wrong number).

use crate::consent::contacts::read_contact_list;
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
        return Err(CommandError::BadInput(format!(
            "{}: no usable event in any row (first problem: {}); nothing was recorded",
            path.display(),
            out.rows_rejected
                .first()
                .map(|(row, why)| format!("row {row}: {why}"))
                .unwrap_or_default()
        )));
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
    let mut results: Vec<(String, CallOutcome, DateTime<Utc>, u64)> = Vec::new();
    for r in &list.rows {
        if let Some(p) = &r.problem {
            out.rows_rejected.push((r.row, p.clone()));
            continue;
        }
        if r.phones.is_empty() {
            out.rows_rejected.push((
                r.row,
                "a call result needs the number that was called".into(),
            ));
            continue;
        }
        let Some(outcome) =
            CallOutcome::strongest(r.other.iter().filter_map(|c| CallOutcome::parse(c)))
        else {
            out.rows_rejected.push((
                r.row,
                format!(
                    "no call outcome (reached, no_answer, refused, do_not_call, wrong_number) among {:?}",
                    r.other
                ),
            ));
            continue;
        };
        *out.by_kind.entry(outcome.as_str().to_string()).or_default() += 1;
        out.recorded += 1;
        for p in &r.phones {
            results.push((p.clone(), outcome, r.at.unwrap_or(now), r.row));
        }
    }
    if out.recorded == 0 {
        return Err(CommandError::BadInput(format!(
            "{}: no usable call result in any row (first problem: {}); nothing was recorded",
            path.display(),
            out.rows_rejected
                .first()
                .map(|(row, why)| format!("row {row}: {why}"))
                .unwrap_or_default()
        )));
    }
    in_transaction(store, |store| {
        let rows: Vec<Engagement> = results
            .iter()
            .map(|(p, o, at, row)| engagement(Some(p), None, "call", Some(*o), *at, path, *row))
            .collect();
        store.append_engagements(&rows, actor, Some(&list.content_hash))?;
        let mut withdrawals = Vec::new();
        for (phone, outcome, at, _) in &results {
            match outcome {
                CallOutcome::DoNotCall => {
                    out.withdrawn += 1;
                    for purpose in Purpose::ALL {
                        withdrawals.push(ConsentEvent {
                            phone_e164: Some(phone.clone()),
                            channel: Some(Channel::Call),
                            purpose: Some(purpose),
                            status: Some(Status::Withdrawn),
                            legal_basis: "withdrawal".into(),
                            captured_at: Some(*at),
                            withdrawn_at: Some(*at),
                            withdrawal_channel: Some("call".into()),
                            source: Some(path.display().to_string()),
                            method: Some("call_result".into()),
                            ..ConsentEvent::default()
                        });
                    }
                    store.suppress_one(
                        "call-outcomes",
                        "do_not_call",
                        ContactKind::Phone,
                        phone,
                        Some(Channel::Call),
                        *at,
                    )?;
                    out.suppressed += 1;
                }
                CallOutcome::WrongNumber => {
                    store.suppress_one(
                        "wrong-numbers",
                        "wrong_number",
                        ContactKind::Phone,
                        phone,
                        Some(Channel::Call),
                        *at,
                    )?;
                    out.suppressed += 1;
                }
                _ => {}
            }
        }
        store.append_consents(&mut withdrawals, None, actor)?;
        store.refresh_consent_status(now, actor, None)?;
        out.warmth_changed = store.score_warmth(warmth, now)?.changed;
        Ok(())
    })?;
    Ok(out)
}
