//! `leadpipe serve`: a small local web page for compliance reviewers and team leads. Search
//! a lead by part of its name, phone, e-mail, company or city; see its golden record,
//! member records with their sources, the merge evidence, consent history and warmth.
//! Read-only, on 127.0.0.1, in the base's language (`[output] lang`, or `--lang`) with
//! times in the base's zone.
//!
//! Only requests addressed to the server by a loopback name and its port are answered (a
//! web page elsewhere that re-points its own host name at 127.0.0.1, "DNS rebinding", must
//! not read the base), and every answer forbids scripts, framing and content sniffing.
//!
//! The base is opened for each request and closed after it, so a page left open never holds
//! the base: a run, an import or an erasure started meanwhile waits at most for one request.

mod lead_page;
mod review_page;
mod search;
mod view;

pub use review_page::Edits;

use crate::normalise::Normaliser;
use crate::report::esc;
use crate::settings::Settings;
use crate::store::{Store, StoreError};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use view::View;

#[derive(Clone)]
struct App {
    db: Arc<PathBuf>,
    normaliser: Normaliser,
    view: View,
    /// Set with `serve --allow-edits`: reviewers may record decisions.
    edits: Option<Arc<Edits>>,
    /// `http://` + each name this server answers to: the origins a form may post from.
    origins: Arc<Vec<String>>,
}

/// The routes over the base at `db`, for a server listening on 127.0.0.1:`port` (the port
/// actually bound: requests naming another host or port are refused). Numbers are read with
/// `settings`' normaliser; pages are written in its language, times shown in its zone.
/// With `edits`, reviewers' verdicts are accepted on `/review/decide`; without, that route
/// does not exist.
pub fn router(db: PathBuf, settings: &Settings, port: u16, edits: Option<Edits>) -> Router {
    let allowed = allowed_hosts(port);
    let app = App {
        db: Arc::new(db),
        normaliser: settings.normaliser,
        view: View {
            lang: settings.lang,
            zone: settings.zone(),
        },
        edits: edits.map(Arc::new),
        origins: Arc::new(allowed.iter().map(|h| format!("http://{h}")).collect()),
    };
    let mut routes = Router::new()
        .route("/", get(home))
        .route("/search", get(search))
        .route("/lead/{id}", get(lead))
        .route("/review", get(review_queue))
        .route("/review/pair", get(review_pair));
    if app.edits.is_some() {
        routes = routes.route("/review/decide", post(review_decide));
    }
    routes
        .fallback(no_such_page)
        .with_state(app)
        .layer(middleware::from_fn_with_state(
            Arc::new(allowed),
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
    // Addresses (with searched names and numbers) never go to another site, but this
    // server's own forms keep their Origin: under `no-referrer` browsers send
    // `Origin: null`, and /review/decide refuses a verdict that does not name this server.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// Builds a page over the base, opened read-only for this request alone (on a blocking
/// thread: the open may wait for a run that holds the base, `LEADPIPE_LOCK_WAIT`).
async fn with_base<F>(app: &App, build: F) -> Response
where
    F: FnOnce(&Store) -> Response + Send + 'static,
{
    let db = Arc::clone(&app.db);
    let view = app.view;
    let built = tokio::task::spawn_blocking(move || Store::open_read_only(&db).map(|s| build(&s)));
    match built.await {
        Ok(Ok(page)) => page,
        Ok(Err(e)) => base_unavailable(view, &e),
        Err(_) => {
            let body = format!(
                "<h1>{}</h1><p>{}</p>",
                view.pick("Ошибка", "Error"),
                view.pick(
                    "Страницу не удалось построить (ошибка в leadpipe).",
                    "The page could not be built (a bug in leadpipe)."
                )
            );
            let title = view.pick("ошибка", "error");
            (StatusCode::INTERNAL_SERVER_ERROR, view.page(title, &body)).into_response()
        }
    }
}

/// 503 while a run or command holds the base (it lands its data, then the page works again).
fn base_unavailable(view: View, e: &StoreError) -> Response {
    let text = match e {
        StoreError::Locked { .. } => view
            .pick(
                "База занята: в неё пишет запуск или команда. Обновите страницу через минуту.",
                "The base is busy: a run or a command is writing to it. Reload in a moment.",
            )
            .to_string(),
        other => format!(
            "{} {other}",
            view.pick("Базу не удаётся прочитать:", "The base cannot be read:")
        ),
    };
    let body = format!(
        "<h1>{}</h1><p id=\"busy\">{}</p>",
        view.pick("База недоступна", "Base unavailable"),
        esc(&text)
    );
    let title = view.pick("база занята", "busy");
    (StatusCode::SERVICE_UNAVAILABLE, view.page(title, &body)).into_response()
}

async fn home(State(app): State<App>) -> Response {
    let view = app.view;
    with_base(&app, move |store| home_page(store, view).into_response()).await
}

fn home_page(store: &Store, view: View) -> Html<String> {
    let count = |sql: &str| -> u64 {
        store
            .connection()
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map_or(0, |n| n.max(0) as u64)
    };
    let figures = [
        (
            view.pick("лидов", "leads"),
            count("SELECT count(*) FROM leads"),
            "leads",
        ),
        (
            view.pick("записей из источников", "records from the sources"),
            count("SELECT count(*) FROM records"),
            "records",
        ),
        (
            view.pick("с согласием на звонки", "with call consent granted"),
            count("SELECT count(*) FROM leads WHERE call_consent = 'granted'"),
            "granted",
        ),
    ];
    let mut body = format!(
        "<h1>{}</h1><ul class=\"figures\">",
        view.pick("Проверка лидов", "Lead review")
    );
    for (label, n, id) in figures {
        let _ = write!(
            body,
            "<li id=\"{id}\" data-n=\"{n}\"><b>{}</b>{}</li>",
            view::number(view.lang, n),
            esc(label)
        );
    }
    let _ = write!(
        body,
        "</ul><p><a id=\"to-review\" href=\"/review\">{}</a></p>",
        view.pick("Очередь проверки сопоставления", "Matching review queue")
    );
    let _ = write!(
        body,
        "<p class=\"hint\">{}</p>",
        view.pick(
            "Ищите по части ФИО (слова в любом порядке, ё и е не различаются), по части телефона в любой записи (916 123, 8 (916) 123-45-67, последние цифры), по части e-mail (bk.ru, ivanov@), по компании или городу.",
            "Search by part of a name (words in any order), part of a phone written any way (916 123, 8 (916) 123-45-67, the last digits), part of an e-mail (bk.ru, ivanov@), a company or a city."
        )
    );
    view.page(view.pick("Проверка лидов", "Lead review"), &body)
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(State(app): State<App>, Query(sq): Query<SearchQuery>) -> Response {
    let q = sq.q.unwrap_or_default().trim().to_string();
    let view = app.view;
    if q.is_empty() {
        let body = format!(
            "<p class=\"hint\">{}</p>",
            view.pick(
                "Введите часть ФИО, телефона, e-mail, название компании или город.",
                "Type part of a name, a phone, an e-mail, a company or a city."
            )
        );
        return view
            .page(view.pick("Поиск", "Search"), &body)
            .into_response();
    }
    let normaliser = app.normaliser;
    with_base(&app, move |store| {
        search::page(store, &normaliser, view, &q)
    })
    .await
}

/// `/lead/{id}`: an id that is not a number is a page that does not exist (404), not a
/// parser error.
async fn lead(State(app): State<App>, Path(id): Path<String>) -> Response {
    let view = app.view;
    let Ok(id) = id.parse::<i64>() else {
        return lead_page::not_found(view, &id);
    };
    with_base(&app, move |store| lead_page::lead_page(store, view, id)).await
}

async fn review_queue(State(app): State<App>) -> Response {
    let (view, edits) = (app.view, app.edits.is_some());
    with_base(&app, move |store| {
        review_page::queue_page(store, view, edits)
    })
    .await
}

#[derive(serde::Deserialize)]
struct PairQuery {
    a: Option<String>,
    b: Option<String>,
    done: Option<i64>,
}

async fn review_pair(State(app): State<App>, Query(q): Query<PairQuery>) -> Response {
    let view = app.view;
    let ids = (
        q.a.as_deref().and_then(|a| a.parse::<i64>().ok()),
        q.b.as_deref().and_then(|b| b.parse::<i64>().ok()),
    );
    let (Some(a), Some(b)) = ids else {
        return lead_page::not_found(view, "?");
    };
    let edits = app.edits.clone();
    with_base(&app, move |store| {
        review_page::pair_page(store, view, (a, b), edits.as_deref(), q.done)
    })
    .await
}

/// Equal without revealing where two tokens first differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// A verdict from the pair page: refused without the server's token, or from a page of
/// another origin; recorded and applied otherwise, then back to the pair page.
async fn review_decide(
    State(app): State<App>,
    headers: axum::http::HeaderMap,
    Form(v): Form<review_page::Verdict>,
) -> Response {
    let view = app.view;
    let Some(edits) = app.edits.clone() else {
        return no_such_page(State(app)).await;
    };
    let foreign = headers.get(header::ORIGIN).is_some_and(|o| {
        !app.origins
            .iter()
            .any(|ours| o.as_bytes() == ours.as_bytes())
    });
    if foreign || !same_token(&v.csrf, &edits.token) {
        let body = format!(
            "<h1>{}</h1><p id=\"refused\">{}</p>",
            view.pick("Отказано", "Refused"),
            view.pick(
                "Решение принимается только со страницы этого сервера (нет или неверный токен формы).",
                "Decisions are accepted only from this server's own page (the form's token is missing or wrong)."
            )
        );
        return (
            StatusCode::FORBIDDEN,
            view.page(view.pick("отказано", "refused"), &body),
        )
            .into_response();
    }
    let db = Arc::clone(&app.db);
    let (a, b) = (v.a, v.b);
    let done =
        tokio::task::spawn_blocking(move || review_page::decide(&db, &v, &edits.actor)).await;
    match done {
        Ok(Ok(id)) => (
            StatusCode::SEE_OTHER,
            [(
                header::LOCATION,
                format!("/review/pair?a={a}&b={b}&done={id}"),
            )],
        )
            .into_response(),
        Ok(Err(e)) => {
            let body = format!(
                "<h1>{}</h1><p id=\"not-decided\">{}</p><p><a href=\"/review/pair?a={a}&amp;b={b}\">{}</a></p>",
                match &e {
                    crate::review::DecisionError::NotApplied { .. } => {
                        view.pick("Решение записано, но не применено", "Decision recorded, not yet applied")
                    }
                    _ => view.pick("Решение не записано", "Decision not recorded"),
                },
                esc(&e.to_string()),
                view.pick("Назад", "Back")
            );
            use crate::review::DecisionError;
            let status = match e {
                DecisionError::Store(_)
                | DecisionError::Run(_)
                | DecisionError::NotApplied { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            (
                status,
                view.page(view.pick("не записано", "not recorded"), &body),
            )
                .into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "a bug in leadpipe").into_response(),
    }
}

/// Any other address.
async fn no_such_page(State(app): State<App>) -> Response {
    let view = app.view;
    let body = format!(
        "<h1>{}</h1><p id=\"not-found\">{} <a href=\"/\">{}</a></p>",
        view.pick("Страница не найдена", "Page not found"),
        view.pick("Такой страницы нет.", "There is no such page."),
        view.pick("На главную", "Home")
    );
    let title = view.pick("не найдено", "not found");
    (StatusCode::NOT_FOUND, view.page(title, &body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

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
