//! Polite fetching against a real HTTP server on 127.0.0.1 (axum): pagination, robots.txt,
//! a 429 with Retry-After, a 500 then success, a redirect loop, a huge page, malformed
//! HTML, a non-HTML content type. Checks what was fetched, in which order, at what pace,
//! and what landed.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use leadpipe::sources::fetch::{crawl, FetchSettings};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
struct Seen {
    /// (path with query, when, user agent)
    requests: Arc<Mutex<Vec<(String, Instant, String)>>>,
}

fn card(name: &str, phone: &str) -> String {
    format!(r#"<div class="company"><h2 class="name">{name}</h2><p>Тел.: {phone}</p></div>"#)
}

async fn serve(State(seen): State<Seen>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let count = {
        let mut r = seen.requests.lock().unwrap();
        r.push((path.clone(), Instant::now(), ua));
        r.iter().filter(|(p, _, _)| *p == path).count()
    };
    let html = |body: String| {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!("<html><body>{body}</body></html>"),
        )
            .into_response()
    };
    match path.as_str() {
        "/robots.txt" => "User-agent: *\nDisallow: /private\n".into_response(),
        "/list/1" => html(format!(
            "{}{}<a class=\"next\" href=\"/list/2\">дальше</a>",
            card("ООО «Альфа»", "+7 495 100-00-01"),
            card("ООО «Бета»", "+7 495 100-00-02")
        )),
        "/list/2" => html(format!(
            "{}<a class=\"next\" href=\"/list/3\">дальше</a>",
            card("ООО «Гамма»", "+7 495 100-00-03")
        )),
        "/list/3" => html(format!(
            "{}<a class=\"next\" href=\"/private/secret\">дальше</a>",
            card("ООО «Дельта»", "+7 495 100-00-04")
        )),
        "/flaky429" if count == 1 => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "slow down",
        )
            .into_response(),
        "/flaky429" => html(card("ООО «Терпение»", "+7 495 100-00-05")),
        "/flaky500" if count == 1 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "/flaky500" => html(card("ООО «Упорство»", "+7 495 100-00-06")),
        "/loop" => (StatusCode::FOUND, [(header::LOCATION, "/loop#again")]).into_response(),
        "/moved" => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, "/private/moved")],
        )
            .into_response(),
        "/huge" => html("x".repeat(1_000_000)),
        "/pdf" => ([(header::CONTENT_TYPE, "application/pdf")], "%PDF-1.4").into_response(),
        "/busy" | "/busy-too" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "120")],
            "come back in two minutes",
        )
            .into_response(),
        "/busy5" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "come back in five seconds",
        )
            .into_response(),
        p if p.starts_with("/slow/") => {
            tokio::time::sleep(Duration::from_millis(700)).await;
            html(card("ООО «Неспешная»", "+7 495 100-00-08"))
        }
        "/hop1" => (StatusCode::FOUND, [(header::LOCATION, "/hop2")]).into_response(),
        "/hop2" => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, "/list/1")],
        )
            .into_response(),
        p if p.starts_with("/chain/") => {
            let n: u32 = p["/chain/".len()..].parse().unwrap_or(0);
            (
                StatusCode::FOUND,
                [(header::LOCATION, format!("/chain/{}", n + 1))],
            )
                .into_response()
        }
        "/broken" => (
            [(header::CONTENT_TYPE, "text/html")],
            "<div class=company><h2 class=name>ООО «Сломанная» <p>Тел. +7 495 100-00-07",
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Starts the server on a runtime that lives as long as the returned handle.
fn start() -> (tokio::runtime::Runtime, String, Seen) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let seen = Seen::default();
    let app = Router::new().fallback(serve).with_state(seen.clone());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (runtime, base, seen)
}

fn settings(base: &str, urls: &[&str]) -> FetchSettings {
    FetchSettings {
        urls: urls.iter().map(|u| format!("{base}{u}")).collect(),
        next: Some("a.next".into()),
        delay_ms: 150,
        retries: 2,
        max_bytes: 100_000,
        max_redirects: 3,
        timeout_seconds: 5,
        contact: "mailto:data@example.org".into(),
        ..FetchSettings::default()
    }
}

#[test]
fn a_polite_crawl_of_a_difficult_site() {
    let (_rt, base, seen) = start();
    let s = settings(
        &base,
        &[
            "/list/1",
            "/flaky429",
            "/flaky500",
            "/loop",
            "/huge",
            "/pdf",
            "/broken",
            "/moved",
        ],
    );
    let started = Instant::now();
    let (pages, log) = crawl(&s, &HashMap::new(), false).unwrap();
    let requests = seen.requests.lock().unwrap().clone();
    let paths: Vec<&str> = requests.iter().map(|(p, _, _)| p.as_str()).collect();
    // robots.txt first; the seeds in order (retries right after the failure); then the
    // pages reached by next links. /private/secret is disallowed and never requested.
    assert_eq!(paths[0], "/robots.txt");
    assert_eq!(
        paths[1..],
        [
            "/list/1",
            "/flaky429",
            "/flaky429",
            "/flaky500",
            "/flaky500",
            "/loop",
            "/huge",
            "/pdf",
            "/broken",
            "/moved",
            "/list/2",
            "/list/3"
        ]
    );
    assert!(!paths.contains(&"/private/secret"));
    // A redirect is a request of its own: its target is checked against robots.txt too.
    assert_eq!(
        log.disallowed,
        vec![
            format!("{base}/private/moved"),
            format!("{base}/private/secret")
        ]
    );
    // One request at a time per host, at least the delay apart (redirect hops included);
    // the 429 was retried no sooner than its Retry-After.
    let ours: Vec<Instant> = log.requests.iter().map(|(_, t, _)| *t).collect();
    for w in ours.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(145),
            "requests {:?} apart",
            w[1] - w[0]
        );
    }
    let t429: Vec<Instant> = requests
        .iter()
        .filter(|(p, _, _)| p == "/flaky429")
        .map(|(_, t, _)| *t)
        .collect();
    assert!(t429[1] - t429[0] >= Duration::from_millis(990));
    assert!(started.elapsed() < Duration::from_secs(30));
    // An honest User-Agent with a contact.
    assert!(requests
        .iter()
        .all(|(_, _, ua)| ua.starts_with("leadpipe/") && ua.contains("data@example.org")));

    let by_url: HashMap<String, &leadpipe::sources::fetch::Page> = pages
        .iter()
        .map(|p| (p.url.trim_start_matches(&base).to_string(), p))
        .collect();
    assert!(by_url["/flaky429"].is_html());
    assert!(by_url["/flaky500"].is_html());
    assert!(by_url["/loop"]
        .error
        .as_deref()
        .unwrap()
        .contains("redirect loop"));
    assert!(by_url["/huge"]
        .error
        .as_deref()
        .unwrap()
        .contains("larger than"));
    assert!(!by_url["/pdf"].is_html());
    assert!(by_url["/broken"].is_html());
    assert!(by_url["/private/secret"]
        .error
        .as_deref()
        .unwrap()
        .contains("robots"));
}

#[test]
fn robots_errors_follow_rfc_9309() {
    // A server whose robots.txt answers 503: nothing may be fetched.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let hits = Arc::new(Mutex::new(Vec::<String>::new()));
    let h = hits.clone();
    let app = Router::new().fallback(move |uri: Uri| {
        let h = h.clone();
        async move {
            h.lock().unwrap().push(uri.path().to_string());
            if uri.path() == "/robots.txt" {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            } else {
                "<html><body>page</body></html>".into_response()
            }
        }
    });
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut s = settings(&base, &["/a", "/b"]);
    s.retries = 0;
    let (pages, log) = crawl(&s, &HashMap::new(), false).unwrap();
    assert_eq!(log.disallowed.len(), 2);
    assert!(pages.iter().all(|p| !p.is_html()));
    assert!(hits.lock().unwrap().iter().all(|p| p == "/robots.txt"));
}

#[test]
fn fetched_pages_land_with_provenance_and_are_cached() {
    let (_rt, base, seen) = start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("web.duckdb");
    let pipeline = dir.path().join("web.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"name = "web"
[[sources]]
name = "directory"
kind = "html"
origin = "open"
[sources.fetch]
urls = ["{base}/list/1"]
next = "a.next"
delay_ms = 100
contact = "mailto:data@example.org"
[sources.html]
item = ".company"
[sources.html.fields]
company = ".name"
"#
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run".to_string(),
            pipeline.display().to_string(),
            "--db".into(),
            db.display().to_string(),
            "--json".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadpipe"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = run(&[]);
    // Four companies on three pages, and the robots-disallowed fourth page as a reject.
    assert_eq!(v["rows_accepted"], 4);
    assert_eq!(v["sources"][0]["rejects_by_reason"]["robots_disallowed"], 1);
    let conn = duckdb::Connection::open(&db).unwrap();
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM pages WHERE body IS NOT NULL AND content_hash IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 3);
    let page: String = conn
        .query_row(
            "SELECT raw_values->>'_page' FROM raw_records r JOIN records c USING (raw_id)
             WHERE c.company = 'ООО «Гамма»'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(page, format!("{base}/list/2"));
    let origin: String = conn
        .query_row("SELECT DISTINCT origin FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(origin, "open");
    drop(conn);
    // Again: the kept pages are used and no page is fetched (robots.txt is read afresh
    // each run, to re-check the page it disallowed); nothing new lands.
    let before = seen.requests.lock().unwrap().len();
    let again = run(&[]);
    let new: Vec<String> = seen.requests.lock().unwrap()[before..]
        .iter()
        .map(|(p, _, _)| p.clone())
        .collect();
    assert_eq!(new, vec!["/robots.txt"]);
    let before = seen.requests.lock().unwrap().len();
    assert_eq!(again["sources"][0]["status"], "unchanged");
    // --refresh fetches again.
    run(&["--refresh"]);
    assert!(seen.requests.lock().unwrap().len() > before);
    // Erasing a company's number also drops the kept pages that show it.
    duckdb::Connection::open(&db)
        .unwrap()
        .execute_batch("CHECKPOINT")
        .unwrap();
    let bytes = std::fs::read(&db).unwrap();
    assert!(
        bytes.windows(13).any(|w| w == b"495 100-00-03"),
        "the page text is in the file before the erasure"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .args([
            "erase",
            "--phone",
            "+7 495 100-00-03",
            "--db",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&db).unwrap();
    assert!(!bytes.windows(10).any(|w| w == b"4951000003"));
    assert!(!bytes.windows(13).any(|w| w == b"495 100-00-03"));
}

#[test]
fn a_long_retry_after_gives_up_on_the_host_at_once() {
    let (_rt, base, seen) = start();
    // The default `max_retry_after_seconds`: a host asking for two minutes is not waited for.
    let s = settings(&base, &["/busy", "/busy-too", "/list/1"]);
    let started = Instant::now();
    let (pages, log) = crawl(&s, &HashMap::new(), false).unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(10),
        "{elapsed:?} for a host that asked to wait 120 s"
    );
    let paths: Vec<String> = seen
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(p, _, _)| p.clone())
        .collect();
    assert_eq!(paths, vec!["/robots.txt", "/busy"]);
    // Every page is accounted for: the one that asked, and the ones left alone after it.
    assert_eq!(pages.len(), 3, "{pages:?}");
    let busy = pages[0].error.as_deref().unwrap();
    assert!(
        busy.contains("120 s") && busy.contains("max_retry_after_seconds"),
        "{busy}"
    );
    for p in &pages[1..] {
        let e = p.error.as_deref().unwrap();
        assert!(e.starts_with("not fetched"), "{e}");
        assert!(e.contains("asked to wait 120 s"), "{e}");
    }
    assert_eq!(log.skipped, 2);
}

#[test]
fn a_host_still_asking_to_wait_when_the_retries_run_out_is_left_alone() {
    let (_rt, base, seen) = start();
    let s = FetchSettings {
        retries: 0,
        ..settings(&base, &["/busy5", "/list/1"])
    };
    let (pages, log) = crawl(&s, &HashMap::new(), false).unwrap();
    let paths: Vec<String> = seen
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(p, _, _)| p.clone())
        .collect();
    assert_eq!(
        paths,
        vec!["/robots.txt", "/busy5"],
        "the other page was not sent"
    );
    assert_eq!(pages.len(), 2, "{pages:?}");
    let left = pages[1].error.as_deref().unwrap();
    assert!(
        left.starts_with("not fetched") && left.contains("5 s"),
        "{left}"
    );
    assert_eq!(log.skipped, 1);
}

#[test]
fn a_run_keeps_to_its_time_budget() {
    let (_rt, base, _seen) = start();
    let slow: Vec<String> = (1..=8).map(|n| format!("/slow/{n}")).collect();
    let mut urls: Vec<&str> = slow.iter().map(String::as_str).collect();
    urls.insert(0, "/busy5");
    let s = FetchSettings {
        max_total_seconds: 2,
        ..settings(&base, &urls)
    };
    let started = Instant::now();
    let (pages, log) = crawl(&s, &HashMap::new(), false).unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    // The 503 asked for 5 s, within max_retry_after_seconds but past the budget: not waited.
    let busy = pages[0].error.as_deref().unwrap();
    assert!(busy.contains("max_total_seconds"), "{busy}");
    // Nothing is dropped: what was fetched in time, and the rest with the reason.
    assert_eq!(pages.len(), 9, "{pages:?}");
    let fetched = pages.iter().filter(|p| p.is_html()).count();
    assert!(fetched >= 1, "{pages:?}");
    let cut: Vec<&str> = pages.iter().filter_map(|p| p.error.as_deref()).collect();
    assert_eq!(cut.len(), 9 - fetched, "{cut:?}");
    assert!(
        cut[1..]
            .iter()
            .all(|e| e.contains("time budget") && e.contains("max_total_seconds = 2")),
        "{cut:?}"
    );
    assert!(log.skipped >= 1);
}

/// A server on a raw socket, for answers axum would not send. `answer` gets the request
/// path and writes whatever it likes; `/robots.txt` is a 404 (everything allowed).
fn raw_server(answer: fn(&str, &mut std::net::TcpStream)) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                if path == "/robots.txt" {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                } else {
                    answer(&path, &mut stream);
                }
            });
        }
    });
    base
}

#[test]
fn a_stalled_body_is_reported_as_a_timeout() {
    let base = raw_server(|_, stream| {
        use std::io::Write;
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html><body>",
        );
        let _ = stream.flush();
        std::thread::sleep(Duration::from_secs(4));
    });
    let s = FetchSettings {
        timeout_seconds: 1,
        retries: 0,
        ..settings(&base, &["/stall"])
    };
    let started = Instant::now();
    let (pages, _) = crawl(&s, &HashMap::new(), false).unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    let e = pages[0].error.as_deref().unwrap();
    assert!(
        e.contains("timed out reading the response body after 1 s"),
        "{e}"
    );
}

#[test]
fn a_header_flood_is_named() {
    let base = raw_server(|_, stream| {
        use std::io::Write;
        let mut head = String::from("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n");
        for i in 0..5000 {
            head.push_str(&format!("X-Flood-{i}: {}\r\n", "y".repeat(20)));
        }
        head.push_str("Content-Length: 2\r\n\r\nok");
        let _ = stream.write_all(head.as_bytes());
    });
    let s = FetchSettings {
        retries: 0,
        ..settings(&base, &["/flood"])
    };
    let (pages, _) = crawl(&s, &HashMap::new(), false).unwrap();
    let e = pages[0].error.as_deref().unwrap();
    assert!(e.contains("invalid or oversized response head"), "{e}");
    assert!(!e.starts_with("error sending request"), "{e}");
}

#[test]
fn redirect_hops_are_not_rejected_rows() {
    let (_rt, base, _seen) = start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hops.duckdb");
    let pipeline = dir.path().join("hops.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"name = "hops"
[[sources]]
name = "directory"
kind = "html"
origin = "open"
[sources.fetch]
urls = ["{base}/hop1", "{base}/chain/1"]
next = "a.next"
delay_ms = 50
max_redirects = 3
contact = "mailto:data@example.org"
[sources.html]
item = ".company"
[sources.html.fields]
company = ".name"
"#
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .args([
            "run",
            pipeline.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // /hop1 → /hop2 → /list/1: the four companies of the three pages, no row for a hop.
    assert_eq!(v["rows_accepted"], 4);
    let rejects = &v["sources"][0]["rejects_by_reason"];
    assert_eq!(rejects["robots_disallowed"], 1, "{rejects}");
    // The endless chain is one reject, its reason naming every hop.
    assert_eq!(rejects["fetch_failed"], 1, "{rejects}");
    let conn = duckdb::Connection::open(&db).unwrap();
    let reason: String = conn
        .query_row(
            "SELECT reason FROM rejects WHERE reason_code = 'fetch_failed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(reason.contains("too many redirects"), "{reason}");
    for n in 1..=5 {
        assert!(reason.contains(&format!("/chain/{n}")), "{reason}");
    }
    // The hops are still kept in `pages`, for the record.
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM pages WHERE url LIKE '%/hop_'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 2);
}
