//! The report as one self-contained HTML page, one function per section: the summary,
//! coverage by status, blocked reasons, who would be called, who is blocked, the
//! suppression lists, and (when asked for) one lead's trail.

use super::{ComplianceReport, DecisionRow, LeadTrail};
use crate::consent::ConsentEvent;
use crate::lang::{Lang, View};
use crate::report::{esc, html_table};
use crate::store::consent::{AuditRow, ListRow};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Rows of each list shown in the HTML; the CSV has every row.
const HTML_ROWS: usize = 500;

/// A time on the page, empty when there is none.
fn time(v: View, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| v.time(t)).unwrap_or_default()
}

/// A consent status as a reviewer says it (the code stays in the CSV).
fn status(v: View, code: &str) -> &str {
    match (v.lang, code) {
        (Lang::Ru, "granted") => "дано",
        (Lang::Ru, "withdrawn") => "отозвано",
        (Lang::Ru, "expired") => "истекло",
        (Lang::Ru, "claimed") => "заявлено продавцом",
        (Lang::Ru, "none") => "нет",
        (_, other) => other,
    }
}

pub(super) fn html(r: &ComplianceReport, v: View) -> String {
    let mut o = String::new();
    head_and_summary(&mut o, r, v);
    status_counts(&mut o, r, v);
    let callable: Vec<&DecisionRow> = r.decisions.iter().filter(|d| d.callable).collect();
    decision_list(
        &mut o,
        v.pick("Кому можно звонить", "Would be called"),
        &callable,
        v,
    );
    let blocked: Vec<&DecisionRow> = r.decisions.iter().filter(|d| !d.callable).collect();
    decision_list(&mut o, v.pick("Заблокированы", "Blocked"), &blocked, v);
    let _ = write!(o, "<h2>{}</h2>", v.pick("Стоп-листы", "Suppression lists"));
    suppression_lists(&mut o, &r.lists, v);
    let _ = write!(
        o,
        "<p>{}: {}</p>",
        v.pick(
            "Удалённые по требованию (хранятся только солёные хэши контактов)",
            "Erased people (contacts kept as salted hashes only)"
        ),
        r.erased_contacts
    );
    if let Some(t) = &r.lead {
        lead_trail(&mut o, t, v);
    }
    o.push_str("</body></html>\n");
    o
}

/// Leads by status (and by origin and subject type), blocked numbers by reason.
fn status_counts(o: &mut String, r: &ComplianceReport, v: View) {
    let _ = write!(
        o,
        "<h2>{}</h2>",
        v.pick(
            "Лиды по статусу согласия на звонки",
            "Leads by call consent status"
        )
    );
    let totals: BTreeMap<String, u64> = r
        .status_totals
        .iter()
        .map(|(s, n)| (status(v, s).to_string(), *n))
        .collect();
    bar_table(
        o,
        v.pick("статус", "status"),
        v.pick("лидов", "leads"),
        &totals,
    );
    let _ = write!(
        o,
        "<h2>{}</h2>",
        v.pick(
            "По статусу, происхождению и типу",
            "By status, origin and subject type"
        )
    );
    table(
        o,
        &[
            v.pick("статус", "status"),
            v.pick("происхождение", "origins"),
            v.pick("тип", "subject type"),
            v.pick("лидов", "leads"),
        ],
        r.by_status.iter().map(|((s, or, st), n)| {
            vec![
                status(v, s).to_string(),
                or.clone(),
                st.clone(),
                n.to_string(),
            ]
        }),
    );
    let _ = write!(
        o,
        "<h2>{}</h2><div class=\"blocked\">",
        v.pick(
            "Заблокированные номера по причинам",
            "Blocked numbers by reason"
        )
    );
    bar_table(
        o,
        v.pick("причина", "reason"),
        v.pick("номеров", "numbers"),
        &r.blocked_by_reason,
    );
    o.push_str("</div>");
}

fn table(out: &mut String, head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    out.push_str(&html_table(head, rows));
}

/// The page head with its style, and the one-paragraph answer: how many may be called.
fn head_and_summary(o: &mut String, r: &ComplianceReport, v: View) {
    let purpose = match (v.lang, r.purpose.as_str()) {
        (Lang::Ru, "advertising") => "рекламные",
        (Lang::Ru, _) => "сервисные",
        (Lang::En, p) => p,
    };
    let summary = match v.lang {
        Lang::Ru => format!(
            "Согласие на <b>{purpose}</b> звонки на момент <b>{}</b>. Лидов: {}; звонить можно на <b>{}</b> номеров, заблокировано {}.",
            esc(&v.time(r.as_of)),
            r.total_leads,
            r.callable_numbers,
            r.blocked_numbers
        ),
        Lang::En => format!(
            "Call consent for <b>{purpose}</b> calls, judged at <b>{}</b>. {} leads; <b>{}</b> numbers may be called, {} are blocked.",
            esc(&v.time(r.as_of)),
            r.total_leads,
            r.callable_numbers,
            r.blocked_numbers
        ),
    };
    let _ = write!(
        o,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>\
         body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:.5em 0 1.5em}}\
         th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}}\
         th{{background:#f3f3f3}} .bar{{background:#4a7;height:12px;display:inline-block}}\
         .blocked .bar{{background:#c55}} small{{color:#666}}</style></head><body>\
         <h1>{}</h1><p>{summary}</p>",
        v.lang.as_str(),
        v.pick("leadpipe: отчёт о согласиях", "leadpipe compliance report"),
        v.pick("Отчёт о согласиях", "Compliance report"),
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
fn decision_list(o: &mut String, title: &str, rows: &[&DecisionRow], v: View) {
    let _ = write!(
        o,
        "<h2>{title} ({})</h2><small>{} {HTML_ROWS}; {}</small>",
        rows.len(),
        v.pick("первые", "first"),
        v.pick("в CSV-отчёте все", "the CSV report lists all")
    );
    table(
        o,
        &[
            v.pick("лид", "lead"),
            v.pick("номер", "number"),
            v.pick("ФИО", "name"),
            v.pick("происхождение", "origins"),
            v.pick("тип", "subject"),
            v.pick("почему заблокирован", "why blocked"),
            v.pick("основание", "basis"),
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

fn suppression_lists(o: &mut String, lists: &[ListRow], v: View) {
    table(
        o,
        &[
            v.pick("список", "list"),
            v.pick("причина", "reason"),
            v.pick("канал", "channel"),
            v.pick("загружен", "loaded at"),
            v.pick("контактов", "contacts"),
            v.pick("строк отклонено", "rows rejected"),
            v.pick("файл", "file"),
        ],
        lists.iter().map(|l| {
            vec![
                l.list.clone(),
                l.reason.clone(),
                l.channel
                    .clone()
                    .unwrap_or_else(|| v.pick("все", "all").into()),
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
fn lead_trail(o: &mut String, t: &LeadTrail, v: View) {
    let _ = write!(
        o,
        "<h2>{} {}: {}</h2><p>{}: {}<br>{}: {}<br>{}: {}; {}: {}</p>",
        v.pick("Лид", "Lead"),
        t.lead_id,
        esc(&t.card.full_name.clone().unwrap_or_default()),
        v.pick("Номера", "Numbers"),
        esc(&t.phones.join(", ")),
        v.pick("Адреса", "Addresses"),
        esc(&t.emails.join(", ")),
        v.pick("Происхождение", "Origins"),
        esc(&t.card.origins.clone().unwrap_or_default()),
        v.pick("тип", "subject"),
        esc(&t.card.subject_type.clone().unwrap_or_default()),
    );
    let _ = write!(o, "<h3>{}</h3>", v.pick("Текущий статус", "Current status"));
    table(
        o,
        &[
            v.pick("канал", "channel"),
            v.pick("цель", "purpose"),
            v.pick("статус", "status"),
            v.pick("основание", "basis"),
        ],
        t.statuses
            .iter()
            .map(|(a, b, c, d)| vec![a.clone(), b.clone(), status(v, c).to_string(), d.clone()]),
    );
    let _ = write!(
        o,
        "<h3>{}</h3>",
        v.pick("История согласий", "Consent history")
    );
    table(
        o,
        &[
            "#",
            v.pick("канал", "channel"),
            v.pick("цель", "purpose"),
            v.pick("статус", "status"),
            v.pick("правовое основание", "basis"),
            v.pick("получено", "captured"),
            v.pick("источник", "source"),
            v.pick("способ", "method"),
            v.pick("текст", "text"),
            v.pick("номер / адрес", "number / address"),
            v.pick("доказательства", "evidence"),
            v.pick("действует до", "expires"),
            v.pick("примечание", "note"),
            v.pick("записано", "recorded"),
        ],
        t.events.iter().map(|e| consent_event_cells(e, v)),
    );
    let _ = write!(o, "<h3>{}</h3>", v.pick("Журнал изменений", "Audit trail"));
    table(
        o,
        &[
            v.pick("когда", "at"),
            v.pick("кто", "actor"),
            v.pick("канал", "channel"),
            v.pick("цель", "purpose"),
            v.pick("было", "from"),
            v.pick("стало", "to"),
            v.pick("подробности", "detail"),
        ],
        t.audit.iter().map(audit_cells),
    );
}

fn consent_event_cells(e: &ConsentEvent, v: View) -> Vec<String> {
    vec![
        e.consent_id.to_string(),
        e.channel.map(|c| c.as_str()).unwrap_or("").to_string(),
        e.purpose.map(|c| c.as_str()).unwrap_or("").to_string(),
        status(v, e.status.map(|c| c.as_str()).unwrap_or("")).to_string(),
        e.legal_basis.clone(),
        time(v, e.effective_at()),
        e.source.clone().unwrap_or_default(),
        e.method.clone().unwrap_or_default(),
        e.text_version.clone().unwrap_or_default(),
        e.phone_e164.clone().or(e.email.clone()).unwrap_or_default(),
        evidence(e),
        time(v, e.expires_at),
        e.note.clone().unwrap_or_default(),
        time(v, e.recorded_at),
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
