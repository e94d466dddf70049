//! `leadpipe serve`: a small local web page for compliance reviewers and team leads. Search
//! a lead by phone, e-mail or name; see its golden record, member records with their
//! sources, the merge evidence, consent history and warmth. Read-only, on 127.0.0.1.

use crate::consent::{current_status, Channel, ConsentEvent, Purpose};
use crate::normalise::Normaliser;
use crate::report::{esc, html_table as table};
use crate::store::Store;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct App {
    store: Arc<Mutex<Store>>,
    normaliser: Normaliser,
}

/// The routes, over an open database.
pub fn router(store: Store, normaliser: Normaliser) -> Router {
    let app = App {
        store: Arc::new(Mutex::new(store)),
        normaliser,
    };
    Router::new()
        .route("/", get(home))
        .route("/search", get(search))
        .route("/lead/{id}", get(lead))
        .with_state(app)
}

const STYLE: &str = "<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}\
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}input{font-size:16px;padding:4px;width:24em}</style>";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>{STYLE}</head>\
         <body><form action=\"/search\"><input name=\"q\" id=\"q\" placeholder=\"phone, e-mail or name\" autofocus> \
         <button>Search</button> <a href=\"/\">home</a></form>{body}</body></html>",
        esc(title)
    ))
}

async fn home(State(app): State<App>) -> Html<String> {
    let store = app.store.lock().unwrap_or_else(|e| e.into_inner());
    let count = |sql: &str| -> i64 {
        store
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or(0)
    };
    page(
        "leadpipe",
        &format!(
            "<h1>leadpipe</h1><p>{} leads from {} records; {} with call consent granted.</p>",
            count("SELECT count(*) FROM leads"),
            count("SELECT count(*) FROM records"),
            count("SELECT count(*) FROM leads WHERE call_consent = 'granted'")
        ),
    )
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(State(app): State<App>, Query(sq): Query<SearchQuery>) -> Html<String> {
    let q = sq.q.unwrap_or_default();
    let q = q.trim();
    if q.is_empty() {
        return page("search", "<p>Type a phone, an e-mail or a name.</p>");
    }
    // A phone in any format, an address in any case, or part of a name.
    let phone = app.normaliser.phone.normalise(q).ok().and_then(|i| i.e164);
    let email = crate::normalise::email::normalise_email(q)
        .ok()
        .map(|i| i.email);
    let store = app.store.lock().unwrap_or_else(|e| e.into_inner());
    let mut rows: Vec<(i64, String, String, String, String)> = Vec::new();
    if let Ok(mut stmt) = store.connection().prepare(
        "SELECT lead_id, coalesce(full_name, ''), coalesce(phone_e164, ''), coalesce(email, ''),
                coalesce(call_consent, '')
         FROM leads
         WHERE (?1 IS NOT NULL AND list_contains(phones, ?1))
            OR (?2 IS NOT NULL AND list_contains(emails, ?2))
            OR lower(full_name) LIKE '%' || lower(?3) || '%'
            OR lower(company) LIKE '%' || lower(?3) || '%'
         ORDER BY lead_id LIMIT 50",
    ) {
        if let Ok(found) = stmt.query_map(duckdb::params![phone, email, q], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        }) {
            rows.extend(found.flatten());
        }
    }
    let mut body = format!("<h1>Leads matching “{}”</h1>", esc(q));
    if rows.is_empty() {
        body.push_str("<p id=\"none\">No lead matches.</p>");
    } else {
        body.push_str("<table id=\"results\"><tr><th>lead</th><th>name</th><th>phone</th><th>e-mail</th><th>call consent</th></tr>");
        for (id, name, phone, email, consent) in rows {
            let _ = write!(
                body,
                "<tr><td><a class=\"lead\" href=\"/lead/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&name),
                esc(&phone),
                esc(&email),
                esc(&consent)
            );
        }
        body.push_str("</table>");
    }
    page("search", &body)
}

async fn lead(State(app): State<App>, Path(id): Path<i64>) -> Html<String> {
    let store = app.store.lock().unwrap_or_else(|e| e.into_inner());
    let explained = match store.explain_lead(id) {
        Ok(Some(e)) => e,
        _ => return page("not found", &format!("<p>Lead {id} not found.</p>")),
    };
    let field = |k: &str| -> String {
        match explained.lead.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    };
    let mut body = format!(
        "<h1 id=\"lead\">Lead {id}: {}</h1>",
        esc(&field("full_name"))
    );
    body.push_str("<h2>Golden record</h2>");
    body.push_str(&table(
        &["field", "value"],
        [
            "phone_e164",
            "phones",
            "email",
            "emails",
            "company",
            "city",
            "region",
            "timezone",
            "subject_type",
            "sources",
            "origins",
            "record_count",
            "first_seen_at",
            "last_seen_at",
        ]
        .iter()
        .map(|k| vec![k.to_string(), field(k)]),
    ));
    let n = |k: &str| explained.lead.get(k).and_then(|v| v.as_i64()).unwrap_or(0) as i32;
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
        esc(&field("warmth_score")),
        esc(&field("warmth_tier")),
        esc(&points.summary())
    );
    body.push_str("<h2>Member records</h2>");
    let g = |m: &serde_json::Value, k: &str| match m.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    };
    body.push_str(&table(
        &[
            "record", "source", "row", "origin", "name", "phone", "e-mail", "city",
        ],
        explained.members.iter().map(|m| {
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
            .map(|k| g(m, k))
            .collect()
        }),
    ));
    body.push_str("<h2>Why these records were merged</h2>");
    body.push_str(&table(
        &["records", "probability", "field weights (log2 odds)"],
        explained.links.iter().map(|l| {
            let fields = l
                .get("fields")
                .and_then(|f| f.as_array())
                .map(|fs| {
                    fs.iter()
                        .map(|f| {
                            format!(
                                "{} {} {:+.1}",
                                g(f, "field"),
                                g(f, "level"),
                                f.get("weight").and_then(|w| w.as_f64()).unwrap_or(0.0)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            vec![
                format!("{} + {}", g(l, "record_a"), g(l, "record_b")),
                format!(
                    "{:.4}",
                    l.get("probability").and_then(|p| p.as_f64()).unwrap_or(0.0)
                ),
                fields,
            ]
        }),
    ));
    // Consent: current status per channel and purpose, then the whole history.
    let history: Vec<ConsentEvent> = store
        .gate_leads(Some(id))
        .ok()
        .and_then(|v| v.into_iter().next())
        .map(|l| l.events)
        .unwrap_or_default();
    let now = chrono::Utc::now();
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
        history.iter().map(|e| {
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
        }),
    ));
    page(&format!("lead {id}"), &body)
}
