//! The page of one lead, a section each: its golden record, its warmth and why, the member
//! records it was merged from, why they were merged, and its consent (current status per
//! channel and purpose, then the whole history).

use super::page;
use crate::consent::{current_status, Channel, ConsentEvent, Purpose};
use crate::report::{esc, html_table as table};
use crate::store::Store;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt::Write as _;

/// The page of lead `id`: 404 when there is no such lead, 500 when it cannot be read.
pub(super) fn lead_page(store: &Store, id: i64) -> Response {
    let explained = match store.explain_lead(id) {
        Ok(Some(e)) => e,
        Ok(None) => return not_found(&id.to_string()),
        Err(e) => {
            let body = format!("<p>Lead {id} cannot be read: {}</p>", esc(&e.to_string()));
            return (StatusCode::INTERNAL_SERVER_ERROR, page("error", &body)).into_response();
        }
    };
    let lead = &explained.lead;
    let mut body = format!(
        "<h1 id=\"lead\">Lead {id}: {}</h1>",
        esc(&text(lead, "full_name"))
    );
    golden_record(&mut body, lead);
    warmth(&mut body, lead);
    member_records(&mut body, &explained.members);
    merge_evidence(&mut body, &explained.links);
    consent(&mut body, &consent_history(store, id), Utc::now());
    page(&format!("lead {id}"), &body).into_response()
}

/// 404 for a lead that does not exist, or an address that names no lead (`/lead/abc`).
pub(super) fn not_found(asked: &str) -> Response {
    let body = format!(
        "<h1>Not found</h1><p id=\"not-found\">There is no lead {}. <a href=\"/\">Search again</a>.</p>",
        esc(asked)
    );
    (StatusCode::NOT_FOUND, page("not found", &body)).into_response()
}

/// A field of a JSON row as page text: a string as it is, null or missing as empty, a list
/// as its items separated by commas (`+79161234567, +74951234567`, not JSON), anything else
/// (numbers) as written.
fn text(row: &Value, key: &str) -> String {
    fn plain(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        }
    }
    row.get(key).map(plain).unwrap_or_default()
}

const GOLDEN_FIELDS: [&str; 16] = [
    "phone_e164",
    "phones",
    "email",
    "emails",
    "company",
    "city",
    "city_canonical",
    "region",
    "region_name",
    "timezone",
    "subject_type",
    "sources",
    "origins",
    "record_count",
    "first_seen_at",
    "last_seen_at",
];

fn golden_record(body: &mut String, lead: &Value) {
    body.push_str("<h2>Golden record</h2>");
    body.push_str(&table(
        &["field", "value"],
        GOLDEN_FIELDS
            .iter()
            .map(|k| vec![k.to_string(), text(lead, k)]),
    ));
}

/// The score and tier, and the points behind them in the words the call list uses.
fn warmth(body: &mut String, lead: &Value) {
    let n = |k: &str| lead.get(k).and_then(|v| v.as_i64()).unwrap_or(0) as i32;
    let points = crate::warmth::WarmthPoints {
        origin: n("warmth_origin"),
        recency: n("warmth_recency"),
        frequency: n("warmth_frequency"),
        engagement: n("warmth_engagement"),
        completeness: n("warmth_completeness"),
    };
    let _ = write!(
        body,
        "<h2>Warmth</h2><p id=\"warmth\">{} {} — {}</p>",
        esc(&text(lead, "warmth_score")),
        esc(&text(lead, "warmth_tier")),
        esc(&points.summary())
    );
}

fn member_records(body: &mut String, members: &[Value]) {
    body.push_str("<h2>Member records</h2>");
    body.push_str(&table(
        &[
            "record", "source", "row", "origin", "name", "phone", "e-mail", "city",
        ],
        members.iter().map(|m| {
            [
                "record_id",
                "source",
                "source_row",
                "origin",
                "full_name",
                "phone_e164",
                "email",
                "city",
            ]
            .iter()
            .map(|k| text(m, k))
            .collect()
        }),
    ));
}

/// Each link between two member records: the match probability and what each field
/// contributed to it.
fn merge_evidence(body: &mut String, links: &[Value]) {
    body.push_str("<h2>Why these records were merged</h2>");
    body.push_str(&table(
        &["records", "probability", "field weights (log2 odds)"],
        links.iter().map(|l| {
            vec![
                format!("{} + {}", text(l, "record_a"), text(l, "record_b")),
                format!(
                    "{:.4}",
                    l.get("probability").and_then(|p| p.as_f64()).unwrap_or(0.0)
                ),
                field_weights(l),
            ]
        }),
    ));
}

/// `field level ±weight` for each compared field of a link, `; `-separated.
fn field_weights(link: &Value) -> String {
    link.get("fields")
        .and_then(|f| f.as_array())
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    format!(
                        "{} {} {:+.1}",
                        text(f, "field"),
                        text(f, "level"),
                        f.get("weight").and_then(|w| w.as_f64()).unwrap_or(0.0)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// Every consent event of the lead, any channel or purpose (none when it cannot be read:
/// the page then says there is no consent, the safe side).
fn consent_history(store: &Store, id: i64) -> Vec<ConsentEvent> {
    store
        .gate_leads(Some(id))
        .ok()
        .and_then(|v| v.into_iter().next())
        .map(|l| l.events)
        .unwrap_or_default()
}

/// The current status on each channel and purpose that has events, then the history.
fn consent(body: &mut String, history: &[ConsentEvent], now: DateTime<Utc>) {
    let statuses = current_statuses(history, now);
    body.push_str("<h2>Consent</h2>");
    if statuses.is_empty() {
        body.push_str(
            "<p id=\"consent\">No consent on record: may not be called for advertising.</p>",
        );
    } else {
        body.push_str(&table(&["channel", "purpose", "status", "basis"], statuses));
    }
    body.push_str(&table(
        &[
            "#",
            "channel",
            "purpose",
            "status",
            "when",
            "source",
            "method",
            "number / address",
            "note",
        ],
        history.iter().map(history_cells),
    ));
}

/// (channel, purpose, status, basis) rows, only for channel and purpose pairs with events.
fn current_statuses(history: &[ConsentEvent], now: DateTime<Utc>) -> Vec<Vec<String>> {
    let mut statuses = Vec::new();
    for ch in Channel::ALL {
        for pu in Purpose::ALL {
            let ev: Vec<&ConsentEvent> = history
                .iter()
                .filter(|e| e.channel == Some(ch) && e.purpose == Some(pu))
                .collect();
            if ev.is_empty() {
                continue;
            }
            let c = current_status(&ev, now);
            statuses.push(vec![
                ch.as_str().into(),
                pu.as_str().into(),
                c.status.as_str().into(),
                c.basis,
            ]);
        }
    }
    statuses
}

fn history_cells(e: &ConsentEvent) -> Vec<String> {
    vec![
        e.consent_id.to_string(),
        e.channel.map(|c| c.as_str()).unwrap_or("").into(),
        e.purpose.map(|c| c.as_str()).unwrap_or("").into(),
        e.status.map(|c| c.as_str()).unwrap_or("").into(),
        e.effective_at()
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        e.source.clone().unwrap_or_default(),
        e.method.clone().unwrap_or_default(),
        e.phone_e164.clone().or(e.email.clone()).unwrap_or_default(),
        e.note.clone().unwrap_or_default(),
    ]
}
