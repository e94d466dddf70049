//! The report as one self-contained HTML page, one function per section: the summary,
//! coverage by status, blocked reasons, who would be called, who is blocked, the
//! suppression lists, and (when asked for) one lead's trail.

use super::{fmt_time, ComplianceReport, DecisionRow, LeadTrail};
use crate::consent::ConsentEvent;
use crate::report::{esc, html_table};
use crate::store::consent::{AuditRow, ListRow};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Rows of each list shown in the HTML; the CSV has every row.
const HTML_ROWS: usize = 500;

pub(super) fn html(r: &ComplianceReport) -> String {
    let mut o = String::new();
    head_and_summary(&mut o, r);
    o.push_str("<h2>Leads by call consent status</h2>");
    bar_table(&mut o, "status", "leads", &r.status_totals);
    o.push_str("<h2>By status, origin and subject type</h2>");
    table(
        &mut o,
        &["status", "origins", "subject type", "leads"],
        r.by_status
            .iter()
            .map(|((s, or, st), n)| vec![s.clone(), or.clone(), st.clone(), n.to_string()]),
    );
    o.push_str("<h2>Blocked numbers by reason</h2><div class=\"blocked\">");
    bar_table(&mut o, "reason", "numbers", &r.blocked_by_reason);
    o.push_str("</div>");
    let callable: Vec<&DecisionRow> = r.decisions.iter().filter(|d| d.callable).collect();
    decision_list(&mut o, "Would be called", &callable);
    let blocked: Vec<&DecisionRow> = r.decisions.iter().filter(|d| !d.callable).collect();
    decision_list(&mut o, "Blocked", &blocked);
    o.push_str("<h2>Suppression lists</h2>");
    suppression_lists(&mut o, &r.lists);
    let _ = write!(
        o,
        "<p>Erased people: {} contacts kept as salted hashes only.</p>",
        r.erased_contacts
    );
    if let Some(t) = &r.lead {
        lead_trail(&mut o, t);
    }
    o.push_str("</body></html>\n");
    o
}

fn table(out: &mut String, head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    out.push_str(&html_table(head, rows));
}

/// The page head with its style, and the one-paragraph answer: how many may be called.
fn head_and_summary(o: &mut String, r: &ComplianceReport) {
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
}

/// Counts with a CSS bar beside each, scaled to the largest (at most 300px, at least 1px).
fn bar_table(o: &mut String, label: &str, unit: &str, counts: &BTreeMap<String, u64>) {
    let max = counts.values().copied().max().unwrap_or(1).max(1);
    let _ = write!(
        o,
        "<table><tr><th>{label}</th><th>{unit}</th><th></th></tr>"
    );
    for (s, n) in counts {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{n}</td><td><span class=\"bar\" style=\"width:{}px\"></span></td></tr>",
            esc(s),
            (n * 300 / max).max(1)
        );
    }
    o.push_str("</table>");
}

/// A titled list of decisions with its full count, only the first [`HTML_ROWS`] shown.
fn decision_list(o: &mut String, title: &str, rows: &[&DecisionRow]) {
    let _ = write!(
        o,
        "<h2>{title} ({})</h2><small>first {HTML_ROWS}; the CSV report lists all</small>",
        rows.len()
    );
    table(
        o,
        &[
            "lead",
            "number",
            "name",
            "origins",
            "subject",
            "why blocked",
            "basis",
        ],
        rows.iter().take(HTML_ROWS).map(|d| decision_cells(d)),
    );
}

fn decision_cells(d: &DecisionRow) -> Vec<String> {
    vec![
        d.lead_id.to_string(),
        d.phone.clone().unwrap_or_default(),
        d.card.full_name.clone().unwrap_or_default(),
        d.card.origins.clone().unwrap_or_default(),
        d.card.subject_type.clone().unwrap_or_default(),
        d.reason.clone().unwrap_or_default(),
        d.basis.clone(),
    ]
}

fn suppression_lists(o: &mut String, lists: &[ListRow]) {
    table(
        o,
        &[
            "list",
            "reason",
            "channel",
            "loaded at",
            "contacts",
            "rows rejected",
            "file",
        ],
        lists.iter().map(|l| {
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
}

/// One lead: who it is, its status on every channel and purpose, every consent event with
/// its evidence, and the audit trail of status changes.
fn lead_trail(o: &mut String, t: &LeadTrail) {
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
        o,
        &["channel", "purpose", "status", "basis"],
        t.statuses
            .iter()
            .map(|(a, b, c, d)| vec![a.clone(), b.clone(), c.clone(), d.clone()]),
    );
    o.push_str("<h3>Consent history</h3>");
    table(
        o,
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
        t.events.iter().map(consent_event_cells),
    );
    o.push_str("<h3>Audit trail</h3>");
    table(
        o,
        &["at", "actor", "channel", "purpose", "from", "to", "detail"],
        t.audit.iter().map(audit_cells),
    );
}

fn consent_event_cells(e: &ConsentEvent) -> Vec<String> {
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
        evidence(e),
        fmt_time(e.expires_at),
        e.note.clone().unwrap_or_default(),
        fmt_time(e.recorded_at),
    ]
}

/// What proves the event: the IP and browser it came from, and the hash of the source row
/// (shortened; the full hash is in the base).
fn evidence(e: &ConsentEvent) -> String {
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
    .join("; ")
}

fn audit_cells(a: &AuditRow) -> Vec<String> {
    vec![
        a.at.clone(),
        a.actor.clone(),
        a.channel.clone().unwrap_or_default(),
        a.purpose.clone().unwrap_or_default(),
        a.old_status.clone().unwrap_or_default(),
        a.new_status.clone().unwrap_or_default(),
        a.detail.clone().unwrap_or_default(),
    ]
}
