//! `leadpipe serve`: a small local web page for compliance reviewers and team leads. Search
//! a lead by phone, e-mail or name; see its golden record, member records with their
//! sources, the merge evidence, consent history and warmth. Read-only, on 127.0.0.1.
//!
//! Only requests addressed to the server by a loopback name and its port are answered (a
//! web page elsewhere that re-points its own host name at 127.0.0.1, "DNS rebinding", must
//! not read the base), and every answer forbids scripts, framing and content sniffing.
//!
//! The base is opened for each request and closed after it, so a page left open never holds
//! the base: a run, an import or an erasure started meanwhile waits at most for one request.

mod lead_page;

use crate::normalise::Normaliser;
use crate::report::esc;
use crate::store::{Store, StoreError};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
struct App {
    db: Arc<PathBuf>,
    normaliser: Normaliser,
}

/// The routes over the base at `db`, for a server listening on 127.0.0.1:`port` (the port
/// actually bound: requests naming another host or port are refused).
pub fn router(db: PathBuf, normaliser: Normaliser, port: u16) -> Router {
    let app = App {
        db: Arc::new(db),
        normaliser,
    };
    Router::new()
        .route("/", get(home))
        .route("/search", get(search))
        .route("/lead/{id}", get(lead))
        .with_state(app)
        .layer(middleware::from_fn_with_state(
            Arc::new(allowed_hosts(port)),
            check_host,
        ))
        // Outermost, so refusals and 404s carry the headers too.
        .layer(middleware::from_fn(security_headers))
}

/// The `Host` values a browser sends for this server: the loopback names with the port
/// (a bare name only on port 80, where browsers leave the port out).
fn allowed_hosts(port: u16) -> Vec<String> {
    let names = ["127.0.0.1", "localhost", "[::1]"];
    let mut out: Vec<String> = names.iter().map(|n| format!("{n}:{port}")).collect();
    if port == 80 {
        out.extend(names.iter().map(|n| n.to_string()));
    }
    out
}

/// Refuses a request whose `Host` (or absolute-form authority) is not one of ours, or that
/// names none: a page on another site that rebinds its name to 127.0.0.1 sends its own.
async fn check_host(State(allowed): State<Arc<Vec<String>>>, req: Request, next: Next) -> Response {
    let ours = |h: &str| allowed.iter().any(|a| a.eq_ignore_ascii_case(h.trim()));
    let host = req.headers().get(header::HOST).map(|h| h.to_str().ok());
    let authority = req.uri().authority().map(|a| a.as_str());
    let ok = match (host, authority) {
        (None, None) => false,
        (Some(h), a) => h.is_some_and(ours) && a.is_none_or(ours),
        (None, Some(a)) => ours(a),
    };
    if ok {
        next.run(req).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "This leadpipe review server answers only requests addressed to 127.0.0.1 or \
             localhost with its port.\n",
        )
            .into_response()
    }
}

/// What a page may load: its own inline style, nothing else; no scripts, no framing; the
/// search form submits only to this server.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// `text` as a LIKE pattern body that matches it literally, for `ESCAPE '\'`: `%`, `_` and
/// the escape character itself are escaped.
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

/// Builds a page over the base, opened read-only for this request alone (on a blocking
/// thread: the open may wait for a run that holds the base, `LEADPIPE_LOCK_WAIT`).
async fn with_base<F>(app: &App, build: F) -> Response
where
    F: FnOnce(&Store) -> Response + Send + 'static,
{
    let db = Arc::clone(&app.db);
    let built = tokio::task::spawn_blocking(move || Store::open_read_only(&db).map(|s| build(&s)));
    match built.await {
        Ok(Ok(page)) => page,
        Ok(Err(e)) => base_unavailable(&e),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            page(
                "error",
                "<p>The page could not be built (a bug in leadpipe).</p>",
            ),
        )
            .into_response(),
    }
}

/// 503 while a run or command holds the base (it lands its data, then the page works again).
fn base_unavailable(e: &StoreError) -> Response {
    let text = match e {
        StoreError::Locked { .. } => {
            "The base is busy: a run or a command is writing to it. Reload in a moment.".to_string()
        }
        other => format!("The base cannot be read: {other}"),
    };
    let body = format!("<h1>Base unavailable</h1><p id=\"busy\">{}</p>", esc(&text));
    (StatusCode::SERVICE_UNAVAILABLE, page("busy", &body)).into_response()
}

async fn home(State(app): State<App>) -> Response {
    with_base(&app, |store| home_page(store).into_response()).await
}

fn home_page(store: &Store) -> Html<String> {
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

async fn search(State(app): State<App>, Query(sq): Query<SearchQuery>) -> Response {
    let q = sq.q.unwrap_or_default();
    if q.trim().is_empty() {
        return page("search", "<p>Type a phone, an e-mail or a name.</p>").into_response();
    }
    let normaliser = app.normaliser;
    with_base(&app, move |store| {
        search_page(store, &normaliser, q.trim()).into_response()
    })
    .await
}

fn search_page(store: &Store, normaliser: &Normaliser, q: &str) -> Html<String> {
    // A phone in any format, an address in any case, or part of a name.
    let phone = normaliser.phone.normalise(q).ok().and_then(|i| i.e164);
    let email = crate::normalise::email::normalise_email(q)
        .ok()
        .map(|i| i.email);
    let mut rows: Vec<(i64, String, String, String, String)> = Vec::new();
    if let Ok(mut stmt) = store.connection().prepare(
        "SELECT lead_id, coalesce(full_name, ''), coalesce(phone_e164, ''), coalesce(email, ''),
                coalesce(call_consent, '')
         FROM leads
         WHERE (?1 IS NOT NULL AND list_contains(phones, ?1))
            OR (?2 IS NOT NULL AND list_contains(emails, ?2))
            OR lower(full_name) LIKE '%' || lower(?3) || '%' ESCAPE '\\'
            OR lower(company) LIKE '%' || lower(?3) || '%' ESCAPE '\\'
         ORDER BY lead_id LIMIT 50",
    ) {
        // The text is matched literally: `%` and `_` typed in the box are not wildcards.
        let pattern = like_literal(q);
        if let Ok(found) = stmt.query_map(duckdb::params![phone, email, pattern], |r| {
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

/// `/lead/{id}`: an id that is not a number is a page that does not exist (404), not a
/// parser error.
async fn lead(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return lead_page::not_found(&id);
    };
    with_base(&app, move |store| lead_page::lead_page(store, id)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards_and_the_escape() {
        assert_eq!(like_literal("100%"), "100\\%");
        assert_eq!(like_literal("a_b"), "a\\_b");
        assert_eq!(like_literal("c:\\x"), "c:\\\\x");
        assert_eq!(like_literal("Петров"), "Петров");
    }

    #[test]
    fn only_loopback_names_with_the_port_are_ours() {
        let ok = allowed_hosts(8080);
        assert!(ok.contains(&"127.0.0.1:8080".to_string()));
        assert!(ok.contains(&"localhost:8080".to_string()));
        assert!(ok.contains(&"[::1]:8080".to_string()));
        assert!(!ok.contains(&"localhost".to_string()));
        assert!(allowed_hosts(80).contains(&"localhost".to_string()));
    }
}
