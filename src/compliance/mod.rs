//! The compliance reviewer's report: consent coverage by status, origin and subject type;
//! who would be called and on what basis; who is blocked and why; suppression lists; and
//! one lead's full trail. Self-contained HTML (no network needed to open it) or CSV.

mod html;

pub use crate::lang::View;

use crate::consent::gate::{decide, GateLead, PhoneDecision};
use crate::consent::{current_status, Channel, ConsentEvent, Current, Purpose};
use crate::consent_commands::{blocked_text, CommandError};
use crate::normalise::Normaliser;
use crate::store::consent::{AuditRow, LeadCard, ListRow};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct DecisionRow {
    pub lead_id: i64,
    pub phone: Option<String>,
    pub call_consent: String,
    pub callable: bool,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub basis: String,
    pub since: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub card: LeadCard,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeadTrail {
    pub lead_id: i64,
    pub card: LeadCard,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    /// (channel, purpose, status, basis)
    pub statuses: Vec<(String, String, String, String)>,
    pub events: Vec<ConsentEvent>,
    pub audit: Vec<AuditRow>,
    pub decisions: Vec<DecisionRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComplianceReport {
    pub as_of: DateTime<Utc>,
    pub purpose: Purpose,
    pub total_leads: u64,
    /// (status, origins, subject type) → leads
    pub by_status: BTreeMap<(String, String, String), u64>,
    pub status_totals: BTreeMap<String, u64>,
    pub callable_numbers: u64,
    pub blocked_numbers: u64,
    pub blocked_by_reason: BTreeMap<String, u64>,
    pub decisions: Vec<DecisionRow>,
    pub lists: Vec<ListRow>,
    pub erased_contacts: u64,
    pub lead: Option<LeadTrail>,
}

/// Runs the call gate over every lead (read-only) and gathers what the report shows.
pub fn build(
    store: &Store,
    purpose: Purpose,
    now: DateTime<Utc>,
    lead: Option<i64>,
    normaliser: &Normaliser,
) -> Result<ComplianceReport, CommandError> {
    let suppressions = store.suppressions()?;
    let leads = store.all_call_gate_leads(purpose)?;
    let ids: Vec<i64> = leads.iter().map(|l| l.lead_id).collect();
    let cards = store.lead_cards(&ids, None)?;
    let mut report = ComplianceReport {
        as_of: now,
        purpose,
        total_leads: leads.len() as u64,
        by_status: BTreeMap::new(),
        status_totals: BTreeMap::new(),
        callable_numbers: 0,
        blocked_numbers: 0,
        blocked_by_reason: BTreeMap::new(),
        decisions: Vec::new(),
        lists: store.suppression_lists()?,
        erased_contacts: store.erased_hashes()?.len() as u64,
        lead: None,
    };
    for l in &leads {
        let card = cards.get(&l.lead_id).cloned().unwrap_or_default();
        let decisions = decide(l, purpose, &suppressions, &normaliser.phone, now);
        report.add_lead(l, &card, decisions, now);
    }
    // Callable first, then blocked; by lead within each.
    report
        .decisions
        .sort_by_key(|d| (!d.callable, d.lead_id, d.phone.clone()));
    if let Some(id) = lead {
        if !leads.iter().any(|l| l.lead_id == id) {
            return Err(lead_not_found(id));
        }
        let card = cards.get(&id).cloned().unwrap_or_default();
        report.lead = Some(lead_trail(store, id, card, &report.decisions, now)?);
    }
    Ok(report)
}

impl ComplianceReport {
    /// Counts one lead into the coverage tables and adds the gate's decision for each of its
    /// numbers; a lead without a number gets one `no_phone` row, so it shows as blocked too.
    fn add_lead(
        &mut self,
        lead: &GateLead,
        card: &LeadCard,
        decisions: Vec<PhoneDecision>,
        now: DateTime<Utc>,
    ) {
        let consent = consent_on(&lead.events, Channel::Call, self.purpose, now);
        let status = consent.status.as_str().to_string();
        self.count_status(&status, card);
        if decisions.is_empty() {
            *self.blocked_by_reason.entry("no_phone".into()).or_default() += 1;
            self.decisions
                .push(DecisionRow::no_phone(lead.lead_id, &status, &consent, card));
        }
        for d in decisions {
            match &d.blocked {
                None => self.callable_numbers += 1,
                Some(b) => {
                    self.blocked_numbers += 1;
                    *self.blocked_by_reason.entry(b.code()).or_default() += 1;
                }
            }
            self.decisions
                .push(DecisionRow::for_number(&d, &status, &consent, card));
        }
    }

    fn count_status(&mut self, status: &str, card: &LeadCard) {
        *self.status_totals.entry(status.to_string()).or_default() += 1;
        let origins = card.origins.clone().unwrap_or_default();
        let subject_type = card
            .subject_type
            .clone()
            .unwrap_or_else(|| "unknown".into());
        *self
            .by_status
            .entry((status.to_string(), origins, subject_type))
            .or_default() += 1;
    }
}

impl DecisionRow {
    fn no_phone(lead_id: i64, status: &str, consent: &Current, card: &LeadCard) -> Self {
        DecisionRow {
            lead_id,
            phone: None,
            call_consent: status.to_string(),
            callable: false,
            reason_code: Some("no_phone".into()),
            reason: Some("the lead has no phone number".into()),
            basis: consent.basis.clone(),
            since: consent.since,
            expires_at: consent.expires_at,
            card: card.clone(),
        }
    }

    /// The gate's answer for one number; the basis is the grant's when the number has one,
    /// else the lead's current status's.
    fn for_number(d: &PhoneDecision, status: &str, consent: &Current, card: &LeadCard) -> Self {
        DecisionRow {
            lead_id: d.lead_id,
            phone: Some(d.phone.clone()),
            call_consent: status.to_string(),
            callable: d.blocked.is_none(),
            reason_code: d.blocked.as_ref().map(|b| b.code()),
            reason: d.blocked.as_ref().map(blocked_text),
            basis: d.basis.clone().unwrap_or_else(|| consent.basis.clone()),
            since: consent.since,
            expires_at: consent.expires_at,
            card: card.clone(),
        }
    }
}

fn lead_not_found(id: i64) -> CommandError {
    CommandError::BadInput(format!("lead {id} not found"))
}

/// The current status judged from the events on one channel and purpose only.
fn consent_on(
    events: &[ConsentEvent],
    channel: Channel,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Current {
    let on: Vec<&ConsentEvent> = events
        .iter()
        .filter(|e| e.channel == Some(channel) && e.purpose == Some(purpose))
        .collect();
    current_status(&on, now)
}

/// The whole history of one lead, every channel and purpose (not only the report's), with
/// the report's decisions for its numbers.
fn lead_trail(
    store: &Store,
    id: i64,
    card: LeadCard,
    decisions: &[DecisionRow],
    now: DateTime<Utc>,
) -> Result<LeadTrail, CommandError> {
    let full = store.gate_leads(Some(id))?;
    let Some(l) = full.first() else {
        return Err(lead_not_found(id));
    };
    Ok(LeadTrail {
        lead_id: id,
        card,
        phones: l.phones.clone(),
        emails: l.emails.clone(),
        statuses: every_status(&l.events, now),
        events: l.events.clone(),
        audit: store.audit_for_lead(id)?,
        decisions: decisions
            .iter()
            .filter(|d| d.lead_id == id)
            .cloned()
            .collect(),
    })
}

/// (channel, purpose, status, basis) for every channel and purpose, those with no events
/// included (as `none`): a reviewer sees what is missing too.
fn every_status(
    events: &[ConsentEvent],
    now: DateTime<Utc>,
) -> Vec<(String, String, String, String)> {
    let mut statuses = Vec::new();
    for ch in Channel::ALL {
        for pu in Purpose::ALL {
            let c = consent_on(events, ch, pu, now);
            statuses.push((
                ch.as_str().to_string(),
                pu.as_str().to_string(),
                c.status.as_str().to_string(),
                c.basis,
            ));
        }
    }
    statuses
}

/// Writes HTML or CSV, chosen by the file extension.
pub fn write(report: &ComplianceReport, out: &Path, view: View) -> Result<(), CommandError> {
    let io = |source| CommandError::Io {
        path: out.to_path_buf(),
        source,
    };
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => std::fs::write(out, decisions_csv(report, out)?).map_err(io),
        Some("html") | Some("htm") => std::fs::write(out, html::html(report, view)).map_err(io),
        _ => Err(CommandError::BadInput(format!(
            "{}: write the report as .html or .csv",
            out.display()
        ))),
    }
}

const CSV_HEADER: [&str; 11] = [
    "lead_id",
    "phone_e164",
    "decision",
    "reason_code",
    "reason",
    "call_consent",
    "since",
    "expires_at",
    "basis",
    "origins",
    "subject_type",
];

/// Every decision as CSV text with a BOM (Excel reads UTF-8 then); errors name `out`.
fn decisions_csv(report: &ComplianceReport, out: &Path) -> Result<String, CommandError> {
    let failed = |e: String| CommandError::Io {
        path: out.to_path_buf(),
        source: std::io::Error::other(e),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)
        .map_err(|e| failed(e.to_string()))?;
    for d in &report.decisions {
        w.write_record(csv_cells(d))
            .map_err(|e| failed(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| failed(e.to_string()))?;
    let mut text = String::from("\u{feff}");
    text.push_str(&String::from_utf8_lossy(&bytes));
    Ok(text)
}

fn csv_cells(d: &DecisionRow) -> [String; 11] {
    [
        d.lead_id.to_string(),
        d.phone.clone().unwrap_or_default(),
        if d.callable { "call" } else { "blocked" }.to_string(),
        d.reason_code.clone().unwrap_or_default(),
        d.reason.clone().unwrap_or_default(),
        d.call_consent.clone(),
        fmt_time(d.since),
        fmt_time(d.expires_at),
        crate::export::spreadsheet_safe(&d.basis),
        d.card.origins.clone().unwrap_or_default(),
        d.card.subject_type.clone().unwrap_or_default(),
    ]
}

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}
