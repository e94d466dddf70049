//! The compliance reviewer's report: consent coverage by status, origin and subject type;
//! who would be called and on what basis; who is blocked and why; suppression lists; and
//! one lead's full trail. Self-contained HTML (no network needed to open it) or CSV.

use crate::consent::gate::decide;
use crate::consent::{current_status, Channel, ConsentEvent, Purpose};
use crate::consent_commands::{blocked_text, CommandError};
use crate::normalise::Normaliser;
use crate::report::{esc, html_table};
use crate::store::consent::{AuditRow, LeadCard, ListRow};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Rows of each list shown in the HTML; the CSV has every row.
const HTML_ROWS: usize = 500;

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
    let cards = store.lead_cards(&ids)?;
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
        let events: Vec<&ConsentEvent> = l
            .events
            .iter()
            .filter(|e| e.channel == Some(Channel::Call) && e.purpose == Some(purpose))
            .collect();
        let cur = current_status(&events, now);
        let status = cur.status.as_str().to_string();
        *report.status_totals.entry(status.clone()).or_default() += 1;
        *report
            .by_status
            .entry((
                status.clone(),
                card.origins.clone().unwrap_or_default(),
                card.subject_type
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
            ))
            .or_default() += 1;
        let decisions = decide(l, purpose, &suppressions, &normaliser.phone, now);
        if decisions.is_empty() {
            *report
                .blocked_by_reason
                .entry("no_phone".into())
                .or_default() += 1;
            report.decisions.push(DecisionRow {
                lead_id: l.lead_id,
                phone: None,
                call_consent: status.clone(),
                callable: false,
                reason_code: Some("no_phone".into()),
                reason: Some("the lead has no phone number".into()),
                basis: cur.basis.clone(),
                since: cur.since,
                expires_at: cur.expires_at,
                card: card.clone(),
            });
        }
        for d in decisions {
            match &d.blocked {
                None => report.callable_numbers += 1,
                Some(b) => {
                    report.blocked_numbers += 1;
                    *report.blocked_by_reason.entry(b.code()).or_default() += 1;
                }
            }
            report.decisions.push(DecisionRow {
                lead_id: l.lead_id,
                phone: Some(d.phone.clone()),
                call_consent: status.clone(),
                callable: d.blocked.is_none(),
                reason_code: d.blocked.as_ref().map(|b| b.code()),
                reason: d.blocked.as_ref().map(blocked_text),
                basis: d.basis.clone().unwrap_or_else(|| cur.basis.clone()),
                since: cur.since,
                expires_at: cur.expires_at,
                card: card.clone(),
            });
        }
    }
    // Callable first, then blocked; by lead within each.
    report
        .decisions
        .sort_by_key(|d| (!d.callable, d.lead_id, d.phone.clone()));
    if let Some(id) = lead {
        if !leads.iter().any(|l| l.lead_id == id) {
            return Err(CommandError::BadInput(format!("lead {id} not found")));
        }
        // The whole history of this one lead, every channel and purpose.
        let full = store.gate_leads(Some(id))?;
        let Some(l) = full.first() else {
            return Err(CommandError::BadInput(format!("lead {id} not found")));
        };
        let mut statuses = Vec::new();
        for ch in Channel::ALL {
            for pu in Purpose::ALL {
                let ev: Vec<&ConsentEvent> = l
                    .events
                    .iter()
                    .filter(|e| e.channel == Some(ch) && e.purpose == Some(pu))
                    .collect();
                let c = current_status(&ev, now);
                statuses.push((
                    ch.as_str().to_string(),
                    pu.as_str().to_string(),
                    c.status.as_str().to_string(),
                    c.basis,
                ));
            }
        }
        report.lead = Some(LeadTrail {
            lead_id: id,
            card: cards.get(&id).cloned().unwrap_or_default(),
            phones: l.phones.clone(),
            emails: l.emails.clone(),
            statuses,
            events: l.events.clone(),
            audit: store.audit_for_lead(id)?,
            decisions: report
                .decisions
                .iter()
                .filter(|d| d.lead_id == id)
                .cloned()
                .collect(),
        });
    }
    Ok(report)
}

/// Writes HTML or CSV, chosen by the file extension.
pub fn write(report: &ComplianceReport, out: &Path) -> Result<(), CommandError> {
    let io = |source| CommandError::Io {
        path: out.to_path_buf(),
        source,
    };
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => {
            let mut text = String::from("\u{feff}");
            let mut w = csv::Writer::from_writer(Vec::new());
            let csv_err = |e: csv::Error| CommandError::Io {
                path: out.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            };
            w.write_record([
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
            ])
            .map_err(csv_err)?;
            for d in &report.decisions {
                w.write_record([
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
                ])
                .map_err(csv_err)?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| io(std::io::Error::other(e.to_string())))?;
            text.push_str(&String::from_utf8_lossy(&bytes));
            std::fs::write(out, text).map_err(io)
        }
        Some("html") | Some("htm") => std::fs::write(out, html(report)).map_err(io),
        _ => Err(CommandError::BadInput(format!(
            "{}: write the report as .html or .csv",
            out.display()
        ))),
    }
}

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn table(out: &mut String, head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    out.push_str(&html_table(head, rows));
}

fn html(r: &ComplianceReport) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>leadpipe compliance report</title><style>\
         body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:.5em 0 1.5em}}\
         th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}}\
         th{{background:#f3f3f3}} .bar{{background:#4a7;height:12px;display:inline-block}}\
         .blocked .bar{{background:#c55}} small{{color:#666}}</style></head><body>\
         <h1>Compliance report</h1><p>Call consent for <b>{}</b> calls, judged at <b>{}</b>. \
         {} leads; <b>{}</b> numbers may be called, {} are blocked.</p>",
        r.purpose.as_str(),
        esc(&fmt_time(Some(r.as_of))),
        r.total_leads,
        r.callable_numbers,
        r.blocked_numbers
    );
    o.push_str("<h2>Leads by call consent status</h2>");
    let max = r.status_totals.values().copied().max().unwrap_or(1).max(1);
    o.push_str("<table><tr><th>status</th><th>leads</th><th></th></tr>");
    for (s, n) in &r.status_totals {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{n}</td><td><span class=\"bar\" style=\"width:{}px\"></span></td></tr>",
            esc(s),
            (n * 300 / max).max(1)
        );
    }
    o.push_str("</table>");
    o.push_str("<h2>By status, origin and subject type</h2>");
    table(
        &mut o,
        &["status", "origins", "subject type", "leads"],
        r.by_status
            .iter()
            .map(|((s, or, st), n)| vec![s.clone(), or.clone(), st.clone(), n.to_string()]),
    );
    o.push_str("<h2>Blocked numbers by reason</h2><div class=\"blocked\">");
    let max = r
        .blocked_by_reason
        .values()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    o.push_str("<table><tr><th>reason</th><th>numbers</th><th></th></tr>");
    for (s, n) in &r.blocked_by_reason {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{n}</td><td><span class=\"bar\" style=\"width:{}px\"></span></td></tr>",
            esc(s),
            (n * 300 / max).max(1)
        );
    }
    o.push_str("</table></div>");
    let row = |d: &DecisionRow| {
        vec![
            d.lead_id.to_string(),
            d.phone.clone().unwrap_or_default(),
            d.card.full_name.clone().unwrap_or_default(),
            d.card.origins.clone().unwrap_or_default(),
            d.card.subject_type.clone().unwrap_or_default(),
            d.reason.clone().unwrap_or_default(),
            d.basis.clone(),
        ]
    };
    let head = [
        "lead",
        "number",
        "name",
        "origins",
        "subject",
        "why blocked",
        "basis",
    ];
    let callable: Vec<&DecisionRow> = r.decisions.iter().filter(|d| d.callable).collect();
    let _ = write!(
        o,
        "<h2>Would be called ({})</h2><small>first {HTML_ROWS}; the CSV report lists all</small>",
        callable.len()
    );
    table(
        &mut o,
        &head,
        callable.iter().take(HTML_ROWS).map(|d| row(d)),
    );
    let blocked: Vec<&DecisionRow> = r.decisions.iter().filter(|d| !d.callable).collect();
    let _ = write!(
        o,
        "<h2>Blocked ({})</h2><small>first {HTML_ROWS}; the CSV report lists all</small>",
        blocked.len()
    );
    table(
        &mut o,
        &head,
        blocked.iter().take(HTML_ROWS).map(|d| row(d)),
    );
    o.push_str("<h2>Suppression lists</h2>");
    table(
        &mut o,
        &[
            "list",
            "reason",
            "channel",
            "loaded at",
            "contacts",
            "rows rejected",
            "file",
        ],
        r.lists.iter().map(|l| {
            vec![
                l.list.clone(),
                l.reason.clone(),
                l.channel.clone().unwrap_or_else(|| "all".into()),
                l.loaded_at.clone(),
                l.contacts.to_string(),
                l.rows_rejected.to_string(),
                l.path.clone().unwrap_or_default(),
            ]
        }),
    );
    let _ = write!(
        o,
        "<p>Erased people: {} contacts kept as salted hashes only.</p>",
        r.erased_contacts
    );
    if let Some(t) = &r.lead {
        let _ = write!(
            o,
            "<h2>Lead {}: {}</h2><p>Numbers: {}<br>Addresses: {}<br>Origins: {}; subject: {}</p>",
            t.lead_id,
            esc(&t.card.full_name.clone().unwrap_or_default()),
            esc(&t.phones.join(", ")),
            esc(&t.emails.join(", ")),
            esc(&t.card.origins.clone().unwrap_or_default()),
            esc(&t.card.subject_type.clone().unwrap_or_default()),
        );
        o.push_str("<h3>Current status</h3>");
        table(
            &mut o,
            &["channel", "purpose", "status", "basis"],
            t.statuses
                .iter()
                .map(|(a, b, c, d)| vec![a.clone(), b.clone(), c.clone(), d.clone()]),
        );
        o.push_str("<h3>Consent history</h3>");
        table(
            &mut o,
            &[
                "#",
                "channel",
                "purpose",
                "status",
                "basis",
                "captured",
                "source",
                "method",
                "text",
                "number / address",
                "evidence",
                "expires",
                "note",
                "recorded",
            ],
            t.events.iter().map(|e| {
                vec![
                    e.consent_id.to_string(),
                    e.channel.map(|c| c.as_str()).unwrap_or("").to_string(),
                    e.purpose.map(|c| c.as_str()).unwrap_or("").to_string(),
                    e.status.map(|c| c.as_str()).unwrap_or("").to_string(),
                    e.legal_basis.clone(),
                    fmt_time(e.effective_at()),
                    e.source.clone().unwrap_or_default(),
                    e.method.clone().unwrap_or_default(),
                    e.text_version.clone().unwrap_or_default(),
                    e.phone_e164.clone().or(e.email.clone()).unwrap_or_default(),
                    [
                        e.evidence_ip.clone().map(|v| format!("IP {v}")),
                        e.evidence_user_agent.clone(),
                        e.evidence_hash
                            .clone()
                            .map(|h| format!("row sha256 {}", &h[..h.len().min(16)])),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("; "),
                    fmt_time(e.expires_at),
                    e.note.clone().unwrap_or_default(),
                    fmt_time(e.recorded_at),
                ]
            }),
        );
        o.push_str("<h3>Audit trail</h3>");
        table(
            &mut o,
            &["at", "actor", "channel", "purpose", "from", "to", "detail"],
            t.audit.iter().map(|a| {
                vec![
                    a.at.clone(),
                    a.actor.clone(),
                    a.channel.clone().unwrap_or_default(),
                    a.purpose.clone().unwrap_or_default(),
                    a.old_status.clone().unwrap_or_default(),
                    a.new_status.clone().unwrap_or_default(),
                    a.detail.clone().unwrap_or_default(),
                ]
            }),
        );
    }
    o.push_str("</body></html>\n");
    o
}
