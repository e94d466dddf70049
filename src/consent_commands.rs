//! What the consent commands do (`consent withdraw`, `suppress import`, `erase`,
//! `call-list`), as library calls the binary wraps. Each runs in one transaction.

use crate::consent::contacts::read_contact_list;
use crate::consent::gate::{decide, Blocked, PhoneDecision};
use crate::consent::{Channel, ConsentEvent, ContactKind, Purpose, Status};
use crate::normalise::email::normalise_email;
use crate::normalise::Normaliser;
use crate::sources::SourceError;
use crate::store::consent::{ConsentRefresh, Suppression, SuppressionListLoad};
use crate::store::erasure::{ErasurePlan, ErasureReport};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The user gave something unusable (a phone that is no number, an empty file).
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the erasure is committed, but rewriting the database file failed: {0}. The erased \
         values may remain in free pages of the file until it is rewritten: run the same \
         erase command again"
    )]
    Compaction(StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A contact typed on the command line, normalised the way records are.
pub fn parse_contact(
    kind: ContactKind,
    raw: &str,
    normaliser: &Normaliser,
) -> Result<String, CommandError> {
    match kind {
        ContactKind::Phone => normaliser
            .phone
            .normalise(raw)
            .ok()
            .and_then(|i| i.e164)
            .ok_or_else(|| {
                CommandError::BadInput(format!(
                    "--phone {raw:?} is not a valid phone number (try +7XXXXXXXXXX)"
                ))
            }),
        ContactKind::Email => normalise_email(raw)
            .map(|i| i.email)
            .map_err(|e| CommandError::BadInput(format!("--email: {e}"))),
    }
}

/// Runs `f` in a transaction: committed when it returns Ok, rolled back otherwise.
pub fn in_transaction<T>(
    store: &Store,
    f: impl FnOnce(&Store) -> Result<T, CommandError>,
) -> Result<T, CommandError> {
    store.begin()?;
    match f(store) {
        Ok(v) => {
            store.commit()?;
            Ok(v)
        }
        Err(e) => {
            store.rollback();
            Err(e)
        }
    }
}

/// What a withdrawal did.
#[derive(Debug, Clone, Serialize)]
pub struct WithdrawOutcome {
    /// Contacts the withdrawal was recorded for.
    pub contacts: usize,
    /// Of those, held by no lead: also put on the `withdrawals` suppression list.
    pub unknown_contacts: usize,
    pub events_added: usize,
    /// Rows of a withdrawal file with no usable contact: (row, why).
    pub rows_rejected: Vec<(u64, String)>,
    pub refresh: ConsentRefresh,
}

/// How to record a withdrawal.
#[derive(Debug, Clone)]
pub struct Withdrawal {
    pub channels: Vec<Channel>,
    pub purposes: Vec<Purpose>,
    /// When the person withdrew (default: now); a file's date column wins per row.
    pub at: Option<DateTime<Utc>>,
    /// Who passed it on (a ticket, a call-centre, a file name).
    pub source: String,
    /// How the person withdrew (phone call, e-mail, form …).
    pub via: Option<String>,
}

/// Records withdrawals for contacts (typed, or read from a file). A withdrawal applies to
/// every lead that holds the number or address, now or later. One for a contact nobody
/// holds is also put on the `withdrawals` suppression list: with no person to attach it
/// to, only a list entry keeps the number from being called when it turns up.
pub fn withdraw(
    store: &Store,
    contacts: &[(ContactKind, String)],
    file: Option<&Path>,
    w: &Withdrawal,
    normaliser: &Normaliser,
    actor: &str,
) -> Result<WithdrawOutcome, CommandError> {
    let now = Utc::now();
    let mut list: Vec<(ContactKind, String, Option<DateTime<Utc>>)> = contacts
        .iter()
        .map(|(k, v)| (*k, v.clone(), None))
        .collect();
    let mut rows_rejected = Vec::new();
    if let Some(path) = file {
        let read = read_contact_list(path, normaliser)?;
        for row in read.rows {
            if let Some(p) = row.problem {
                rows_rejected.push((row.row, p));
                continue;
            }
            for p in row.phones {
                list.push((ContactKind::Phone, p, row.at));
            }
            for e in row.emails {
                list.push((ContactKind::Email, e, row.at));
            }
        }
    }
    if list.is_empty() {
        return Err(CommandError::BadInput(
            "nothing to withdraw: give --phone, --email or a --file with at least one valid contact"
                .into(),
        ));
    }
    in_transaction(store, |store| {
        let mut events = Vec::new();
        let mut unknown = Vec::new();
        for (kind, value, at) in &list {
            let at = at.or(w.at).unwrap_or(now);
            if !store.contact_known(*kind, value)? {
                unknown.push(Suppression {
                    list: "withdrawals",
                    reason: "withdrawal",
                    kind: *kind,
                    value: value.clone(),
                    channel: None,
                    at,
                });
            }
            events.extend(withdrawal_events(*kind, value, at, w));
        }
        store.suppress_many(&unknown)?;
        store.append_consents(&mut events, None, actor)?;
        let refresh = store.refresh_consent_status(now, actor, None)?;
        Ok(WithdrawOutcome {
            contacts: list.len(),
            unknown_contacts: unknown.len(),
            events_added: events.len(),
            rows_rejected: rows_rejected.clone(),
            refresh,
        })
    })
}

/// The withdrawal events for one contact: one per channel and purpose withdrawn.
fn withdrawal_events(
    kind: ContactKind,
    value: &str,
    at: DateTime<Utc>,
    w: &Withdrawal,
) -> Vec<ConsentEvent> {
    let mut events = Vec::new();
    for &channel in &w.channels {
        for &purpose in &w.purposes {
            events.push(ConsentEvent {
                phone_e164: (kind == ContactKind::Phone).then(|| value.to_string()),
                email: (kind == ContactKind::Email).then(|| value.to_string()),
                channel: Some(channel),
                purpose: Some(purpose),
                status: Some(Status::Withdrawn),
                legal_basis: "withdrawal".into(),
                captured_at: Some(at),
                withdrawn_at: Some(at),
                withdrawal_channel: w.via.clone(),
                source: Some(w.source.clone()),
                method: Some("request".into()),
                ..ConsentEvent::default()
            });
        }
    }
    events
}

/// Loads a do-not-call / opt-out / complaint list.
pub fn suppress_import(
    store: &Store,
    path: &Path,
    list: &str,
    reason: &str,
    channel: Option<Channel>,
    normaliser: &Normaliser,
    actor: &str,
) -> Result<SuppressionListLoad, CommandError> {
    if list.trim().is_empty() {
        return Err(CommandError::BadInput("--list must name the list".into()));
    }
    let contacts = read_contact_list(path, normaliser)?;
    if contacts
        .rows
        .iter()
        .all(|r| r.phones.is_empty() && r.emails.is_empty())
    {
        let first = contacts
            .rows
            .iter()
            .find_map(|r| r.problem.as_ref().map(|p| format!(" (row {}: {p})", r.row)))
            .unwrap_or_default();
        return Err(CommandError::BadInput(format!(
            "{}: no valid phone number or e-mail address in any row{first}; nothing was loaded",
            path.display()
        )));
    }
    in_transaction(store, |store| {
        let load = store.load_suppression_list(list, reason, channel, path, &contacts, actor)?;
        if !load.unchanged {
            store.audit_action(
                actor,
                None,
                &format!(
                    "suppression list {list:?} loaded from {}: {} contacts, {} rows rejected",
                    path.display(),
                    load.contacts,
                    load.rows_rejected
                ),
            )?;
        }
        Ok(load)
    })
}

/// Plans an erasure, and unless `dry_run`, carries it out and rewrites the file. Returns
/// the plan and, when it ran, what was removed from each table.
pub fn erase(
    store: Store,
    db_path: &Path,
    phone: Option<&str>,
    email: Option<&str>,
    dry_run: bool,
    actor: &str,
) -> Result<(ErasurePlan, Option<ErasureReport>), CommandError> {
    let plan = store.plan_erasure(phone, email)?;
    if dry_run {
        return Ok((plan, None));
    }
    let report = in_transaction(&store, |store| {
        let report = store.erase(&plan, actor)?;
        // Records that linked others are gone: the next run clusters the whole base.
        store.forget_match_index()?;
        // Other leads may have lost a record that mentioned the contact (a shared number):
        // their golden records are rebuilt from what is left, and scored again.
        let run_id = store.next_run_id()? - 1;
        let settings = crate::settings::Settings::of_base(store)?;
        store.rebuild_leads(
            run_id,
            &settings.origin_priority,
            Some((&settings.warmth, Utc::now())),
        )?;
        store.refresh_consent_status(Utc::now(), actor, None)?;
        Ok(report)
    })?;
    crate::fault::pause_at("erase_committed");
    store.compact(db_path).map_err(CommandError::Compaction)?;
    Ok((plan, Some(report)))
}

/// Who may be called now, and why the rest may not.
#[derive(Debug, Clone, Serialize)]
pub struct CallList {
    pub as_of: DateTime<Utc>,
    pub purpose: Purpose,
    /// Numbers that pass the gate, by lead id then number.
    pub callable: Vec<PhoneDecision>,
    /// Numbers of leads with consent history that did not pass, and why.
    pub blocked: Vec<PhoneDecision>,
    /// Blocked numbers by reason code.
    pub blocked_by_reason: BTreeMap<String, u64>,
}

/// Runs the gate over every lead with consent history (a lead without any cannot pass).
pub fn call_list(
    store: &Store,
    purpose: Purpose,
    now: DateTime<Utc>,
    normaliser: &Normaliser,
) -> Result<CallList, CommandError> {
    let suppressions = store.suppressions()?;
    let leads = store.call_gate_leads(purpose)?;
    use rayon::prelude::*;
    let decisions: Vec<PhoneDecision> = leads
        .par_iter()
        .flat_map_iter(|lead| decide(lead, purpose, &suppressions, &normaliser.phone, now))
        .collect();
    let mut callable = Vec::new();
    let mut blocked = Vec::new();
    let mut by_reason = BTreeMap::new();
    for d in decisions {
        match &d.blocked {
            None => callable.push(d),
            Some(b) => {
                *by_reason.entry(b.code()).or_default() += 1;
                blocked.push(d);
            }
        }
    }
    Ok(CallList {
        as_of: now,
        purpose,
        callable,
        blocked,
        blocked_by_reason: by_reason,
    })
}

/// A short human reason for a blocked number.
pub fn blocked_text(b: &Blocked) -> String {
    match b {
        Blocked::InvalidPhone => "not a valid phone number".into(),
        Blocked::NoConsent { status } => format!("call consent is {status}"),
        Blocked::NumberNotCovered => "consent was given for another number".into(),
        Blocked::Suppressed {
            list,
            reason,
            contact,
        } => format!(
            "{} on suppression list {list:?} ({reason})",
            contact.as_str()
        ),
    }
}
