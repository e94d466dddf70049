//! The consent stage: consent events from records, current status from history, and the
//! gate that decides who may be called. Pure functions here; `store` reads and writes the
//! tables (`consents`, `consent_status`, `consent_audit`, `suppressions`).
//!
//! Rules, in one place (README "Consent" explains them for reviewers):
//! - A form's ticked checkbox with a capture time is `granted`; without any time it is only
//!   `claimed` (the operator could not prove when consent was given), and so it is when the
//!   form's page address is not an http(s) URL (`javascript:…`, `data:…`, free text).
//! - A purchased list's "yes" is the vendor's `claimed`, never `granted`; open sources carry
//!   no consent at all.
//! - Status per lead, channel and purpose: a grant counts once it is due, and only if it is
//!   later than every withdrawal (or expiry) on record, both by the time it states and by
//!   when it reached us; then the latest such grant decides (`expired` past its
//!   `expires_at`). Otherwise the latest withdrawal or expiry decides. Withdrawals count as
//!   soon as they are on record, whatever their date. `claimed` and `none` are not acts of
//!   the person and never override a grant or a withdrawal. (`status` holds this rule in
//!   Rust and in SQL, side by side.)

pub mod contacts;
pub mod gate;
pub mod status;

pub use status::{current_status, decide_status, describe, status_and_grants, Current, Decided};

use crate::record::{CleanRecord, Origin};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// How a lead may be contacted. The advertising law's prior-consent rule is per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Call,
    Sms,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Call, Channel::Sms, Channel::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Call => "call",
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "call" | "calls" | "phone" => Some(Channel::Call),
            "sms" => Some(Channel::Sms),
            "email" | "e-mail" | "mail" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// What the contact is for: advertising needs prior consent; service contact (about an
/// order or contract) rests on the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Advertising,
    Service,
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Purpose::Advertising, Purpose::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Advertising => "advertising",
            Purpose::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        match s.trim().to_ascii_lowercase().as_str() {
            "advertising" | "marketing" | "ads" => Some(Purpose::Advertising),
            "service" => Some(Purpose::Service),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Granted,
    Withdrawn,
    Expired,
    /// Someone else (a list vendor) says the person agreed; not proof.
    Claimed,
    None,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Granted => "granted",
            Status::Withdrawn => "withdrawn",
            Status::Expired => "expired",
            Status::Claimed => "claimed",
            Status::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "granted" => Some(Status::Granted),
            "withdrawn" => Some(Status::Withdrawn),
            "expired" => Some(Status::Expired),
            "claimed" => Some(Status::Claimed),
            "none" => Some(Status::None),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the append-only `consents` history. The fields follow what an operator
/// must be able to show under 152-FZ art. 9 (who, to what, when, how, in which wording)
/// and the advertising law's prior-consent rule (per subscriber number and channel).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConsentEvent {
    pub consent_id: i64,
    /// The record that brought it; `None` for commands and withdrawal files.
    pub record_id: Option<i64>,
    /// The number (call, sms) or address (email) the event is about.
    pub phone_e164: Option<String>,
    pub email: Option<String>,
    pub channel: Option<Channel>,
    pub purpose: Option<Purpose>,
    pub status: Option<Status>,
    /// `consent`, `vendor_claim`, `withdrawal`, `none`.
    pub legal_basis: String,
    pub captured_at: Option<DateTime<Utc>>,
    /// Form URL, list vendor (source name), page URL or the command.
    pub source: Option<String>,
    /// `checkbox`, `double_opt_in`, `call_recording`, `vendor_list`, `request`, …
    pub method: Option<String>,
    pub text_version: Option<String>,
    pub evidence_ip: Option<String>,
    pub evidence_user_agent: Option<String>,
    /// SHA-256 of the raw row as received, so the row can be shown unaltered.
    pub evidence_hash: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawal_channel: Option<String>,
    pub subject_type: Option<String>,
    /// What the source said (`да`, `maybe`), verbatim.
    pub raw_value: Option<String>,
    pub note: Option<String>,
    /// When leadpipe wrote it; orders events that have no time of their own.
    pub recorded_at: Option<DateTime<Utc>>,
}

impl ConsentEvent {
    /// When the event took effect: the withdrawal time for a withdrawal, the capture time
    /// otherwise, and when it was recorded if the source gave no time.
    pub fn effective_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            Some(Status::Withdrawn) => self.withdrawn_at.or(self.captured_at),
            _ => self.captured_at,
        }
        .or(self.recorded_at)
    }
}

/// How a source's consent fields are read (pipeline file `[sources.consent]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentPolicy {
    /// Channels the consent text of this source covers (default: call, sms, email).
    #[serde(default = "all_channels")]
    pub channels: Vec<Channel>,
    /// What the consent is for (default: advertising).
    #[serde(default = "advertising")]
    pub purpose: Purpose,
    /// How long a consent stays valid; none means until withdrawn.
    pub valid_days: Option<u32>,
    /// How the source captures consent (default: checkbox for forms).
    pub method: Option<String>,
}

impl ConsentPolicy {
    /// Identifies the policy (and the rules' version) events were derived under: when it
    /// changes, a source's consent is derived again. v2: a form's page address must be an
    /// http(s) URL for a tick to be a grant.
    pub fn fingerprint(&self) -> String {
        format!(
            "v2:{}",
            serde_json::to_string(self).unwrap_or_else(|_| format!("{self:?}"))
        )
    }
}

fn all_channels() -> Vec<Channel> {
    Channel::ALL.to_vec()
}

fn advertising() -> Purpose {
    Purpose::Advertising
}

impl Default for ConsentPolicy {
    fn default() -> Self {
        ConsentPolicy {
            channels: all_channels(),
            purpose: Purpose::Advertising,
            valid_days: None,
            method: None,
        }
    }
}

/// A record's consent fields. `Store::records_needing_consent` fills what
/// [`record_decision`] needs (id, source, origin, the consent fields and times, the form's
/// page); the other evidence fields are copied in SQL when events are written.
#[derive(Debug, Clone, Default)]
pub struct RecordConsent {
    pub record_id: i64,
    pub source: String,
    pub origin: Option<Origin>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub consent_raw: Option<String>,
    pub consent_given: Option<bool>,
    pub consent_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub text_version: Option<String>,
    pub form_url: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub subject_type: Option<String>,
    /// SHA-256 of the raw row.
    pub raw_hash: Option<String>,
}

impl RecordConsent {
    /// For tests and callers that hold a `CleanRecord`.
    pub fn from_clean(record_id: i64, source: &str, origin: Origin, r: &CleanRecord) -> Self {
        RecordConsent {
            record_id,
            source: source.to_string(),
            origin: Some(origin),
            phones: r
                .phone_e164
                .iter()
                .chain(r.phones_extra.iter())
                .cloned()
                .collect(),
            email: r.email.clone(),
            consent_raw: r.consent_raw.clone(),
            consent_given: r.consent_given,
            consent_at: r.consent_at,
            created_at: r.created_at,
            text_version: r.consent_text_version.clone(),
            form_url: r.form_url.clone(),
            ip: r.ip.clone(),
            user_agent: r.user_agent.clone(),
            subject_type: r.enriched.subject_type.clone(),
            raw_hash: None,
        }
    }
}

/// What a record's consent field amounts to, before it is spread over channels and numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDecision {
    pub record_id: i64,
    pub status: Status,
    /// `consent`, `vendor_claim` or `none`.
    pub legal_basis: &'static str,
    pub method: String,
    pub note: Option<String>,
    pub captured_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Decides what a record's consent field means (the table in README "Consent"). `None`
/// for rows with no consent field.
pub fn record_decision(rec: &RecordConsent, policy: &ConsentPolicy) -> Option<RecordDecision> {
    let raw = rec.consent_raw.as_deref()?;
    let captured_at = rec.consent_at.or(rec.created_at);
    let (status, basis, note): (Status, &'static str, Option<String>) =
        match (rec.origin, rec.consent_given) {
            (Some(Origin::Open), _) => (
                Status::None,
                "none",
                Some("open sources cannot carry consent".into()),
            ),
            // The page the form was on is part of the evidence: an address that is not a web
            // page (`javascript:…`, `data:…`, free text) proves nothing about where the
            // person agreed, so the tick is only a claim.
            (Some(Origin::Form), Some(true))
                if captured_at.is_some() && !evidence_page_ok(rec.form_url.as_deref()) =>
            {
                let url: String = rec
                    .form_url
                    .as_deref()
                    .unwrap_or_default()
                    .chars()
                    .take(100)
                    .collect();
                (
                    Status::Claimed,
                    "none",
                    Some(format!(
                        "consent ticked on {url:?}, which is not an http(s) address: \
                         cannot prove where it was given"
                    )),
                )
            }
            (Some(Origin::Form), Some(true)) if captured_at.is_some() => {
                (Status::Granted, "consent", None)
            }
            (Some(Origin::Form), Some(true)) => (
                Status::Claimed,
                "none",
                Some("consent ticked but no time given: cannot prove when it was given".into()),
            ),
            (Some(Origin::Purchased), Some(true)) => (
                Status::Claimed,
                "vendor_claim",
                Some("a list vendor's claim is not the person's consent".into()),
            ),
            (_, Some(false)) => (
                Status::None,
                "none",
                Some("consent not given at the source".into()),
            ),
            (_, None) => (
                Status::None,
                "none",
                Some(format!("unrecognised consent value {raw:?}")),
            ),
            (None, Some(true)) => (Status::Claimed, "none", Some("unknown origin".into())),
        };
    let method = match rec.origin {
        Some(Origin::Form) => policy.method.clone().unwrap_or_else(|| "checkbox".into()),
        Some(Origin::Purchased) => "vendor_list".into(),
        _ => "none".into(),
    };
    let expires_at = match (status, policy.valid_days, captured_at) {
        // `checked_add`: a huge `valid_days` ("forever") must not overflow the calendar.
        (Status::Granted, Some(days), Some(at)) => {
            Duration::try_days(i64::from(days)).and_then(|d| at.checked_add_signed(d))
        }
        _ => None,
    };
    Some(RecordDecision {
        record_id: rec.record_id,
        status,
        legal_basis: basis,
        method,
        note,
        captured_at,
        expires_at,
    })
}

/// Whether a form's page address can stand as evidence: none given (the source is then
/// named instead), or an absolute http(s) URL with a host. Anything else (`javascript:`,
/// `data:`, `file:`, free text) is not a page a person could have filled a form on.
pub fn evidence_page_ok(form_url: Option<&str>) -> bool {
    let Some(u) = form_url.map(str::trim).filter(|u| !u.is_empty()) else {
        return true;
    };
    reqwest::Url::parse(u).is_ok_and(|p| {
        matches!(p.scheme(), "http" | "https") && p.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// The consent events one record brings: one per channel the source's consent covers, and
/// per number for calls and SMS (consent is the subscriber's, number by number). Rows with
/// no consent field bring none; open sources never bring consent, whatever a column says.
/// The stage does the same spreading in SQL (`Store::append_consent_decisions`); a test
/// checks the two agree.
pub fn events_for_record(rec: &RecordConsent, policy: &ConsentPolicy) -> Vec<ConsentEvent> {
    let Some(d) = record_decision(rec, policy) else {
        return Vec::new();
    };
    let raw = rec.consent_raw.clone();
    let (status, basis, note, method, captured_at, expires_at) = (
        d.status,
        d.legal_basis,
        d.note,
        d.method,
        d.captured_at,
        d.expires_at,
    );
    let base = ConsentEvent {
        record_id: Some(rec.record_id),
        purpose: Some(policy.purpose),
        status: Some(status),
        legal_basis: basis.to_string(),
        captured_at,
        source: rec.form_url.clone().or_else(|| Some(rec.source.clone())),
        method: Some(method),
        text_version: rec.text_version.clone(),
        evidence_ip: rec.ip.clone(),
        evidence_user_agent: rec.user_agent.clone(),
        evidence_hash: rec.raw_hash.clone(),
        expires_at,
        subject_type: rec.subject_type.clone(),
        raw_value: raw,
        note,
        ..ConsentEvent::default()
    };
    let mut out = Vec::new();
    for &channel in &policy.channels {
        match channel {
            Channel::Call | Channel::Sms => {
                if rec.phones.is_empty() {
                    out.push(ConsentEvent {
                        channel: Some(channel),
                        ..base.clone()
                    });
                }
                for phone in &rec.phones {
                    out.push(ConsentEvent {
                        channel: Some(channel),
                        phone_e164: Some(phone.clone()),
                        ..base.clone()
                    });
                }
            }
            Channel::Email => out.push(ConsentEvent {
                channel: Some(channel),
                email: rec.email.clone(),
                ..base.clone()
            }),
        }
    }
    out
}

/// Salted hashes of contacts, for erased people: the salt lives in the database
/// (`leadpipe_meta`), so the same contact always hashes the same way in one base.
#[derive(Debug, Clone)]
pub struct ContactHasher {
    salt: Vec<u8>,
}

/// What a contact is; part of the hashed text so a phone never collides with an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    Phone,
    Email,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Phone => "phone",
            ContactKind::Email => "email",
        }
    }
}

impl ContactHasher {
    pub fn new(salt: Vec<u8>) -> Self {
        ContactHasher { salt }
    }

    /// Hex SHA-256 of salt, kind and the normalised value (E.164 or lowercased address).
    pub fn hash(&self, kind: ContactKind, value: &str) -> String {
        let mut h = Sha256::new();
        h.update(&self.salt);
        h.update(kind.as_str().as_bytes());
        h.update(b":");
        h.update(value.as_bytes());
        hex::encode(h.finalize())
    }
}

/// Erased people's contacts, as hashes: an import checks every row against them so a
/// person who was erased is not brought back silently by a later file.
#[derive(Debug, Clone)]
pub struct ErasedContacts {
    hasher: ContactHasher,
    hashes: std::collections::HashSet<String>,
}

impl ErasedContacts {
    pub fn new(hasher: ContactHasher, hashes: std::collections::HashSet<String>) -> Self {
        ErasedContacts { hasher, hashes }
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// True when a phone or e-mail column of the row holds an erased contact.
    pub fn matches(
        &self,
        row: &crate::record::RawRow,
        phones: &crate::normalise::phone::PhoneNormaliser,
    ) -> bool {
        use crate::record::Field;
        if self.hashes.is_empty() {
            return false;
        }
        let phone_hit = row.all(Field::Phone).any(|cell| {
            phones.normalise_cell(cell).into_iter().any(|(_, r)| {
                r.ok().and_then(|i| i.e164).is_some_and(|e| {
                    self.hashes
                        .contains(&self.hasher.hash(ContactKind::Phone, &e))
                })
            })
        });
        phone_hit
            || row.all(Field::Email).any(|cell| {
                crate::normalise::email::split_emails(cell)
                    .into_iter()
                    .filter_map(|m| crate::normalise::email::normalise_email(m).ok())
                    .any(|m| {
                        self.hashes
                            .contains(&self.hasher.hash(ContactKind::Email, &m.email))
                    })
            })
    }
}

#[cfg(test)]
mod tests;
