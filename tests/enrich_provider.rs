//! External enrichment against a real HTTP server on 127.0.0.1 started by the test: two
//! providers in waterfall order, a token header from the environment, answers cached in
//! DuckDB so a re-run asks nothing again, and person-given values never overwritten.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use duckdb::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn providers_fill_empty_fields_in_turn_and_cache_answers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let hits_a = Arc::new(AtomicUsize::new(0));
    let hits_b = Arc::new(AtomicUsize::new(0));
    let (a, b) = (hits_a.clone(), hits_b.clone());
    let app = Router::new()
        .route(
            "/a/{inn}",
            get(move |Path(inn): Path<String>, headers: HeaderMap| {
                let a = a.clone();
                async move {
                    a.fetch_add(1, Ordering::SeqCst);
                    if headers.get("x-token").and_then(|v| v.to_str().ok()) != Some("s3cret") {
                        return (StatusCode::UNAUTHORIZED, String::new());
                    }
                    match inn.as_str() {
                        "7707083893" => (
                            StatusCode::OK,
                            r#"{"data": {"name": "ПАО Сбербанк", "city": "Москва"}}"#.to_string(),
                        ),
                        _ => (StatusCode::NOT_FOUND, "{}".to_string()),
                    }
                }
            }),
        )
        .route(
            "/b/{inn}",
            get(move |Path(inn): Path<String>| {
                let b = b.clone();
                async move {
                    b.fetch_add(1, Ordering::SeqCst);
                    match inn.as_str() {
                        "7736050003" => (StatusCode::OK, r#"{"org": "ООО Вторая"}"#.to_string()),
                        _ => (StatusCode::NOT_FOUND, "{}".to_string()),
                    }
                }
            }),
        );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("list.csv"),
        "ФИО;Телефон;ИНН;Компания\n\
         Иванов Иван;+79161234567;7707083893;\n\
         Петров Пётр;+79031234567;7736050003;\n\
         Сидоров Сидор;+79051234567;500100732259;\n\
         Кузнецов Кузьма;+79261234567;7707083893;Своя фирма\n",
    )
    .unwrap();
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"db = "x.duckdb"
[[sources]]
path = "list.csv"
origin = "purchased"

[[enrich.providers]]
name = "a"
url = "http://{addr}/a/{{key}}"
key = "inn"
headers = {{ "X-Token" = "${{LEADPIPE_TEST_TOKEN}}" }}
fill = {{ company = "/data/name", city = "/data/city" }}
requests_per_second = 50

[[enrich.providers]]
name = "b"
url = "http://{addr}/b/{{key}}"
key = "inn"
fill = {{ company = "/org" }}
requests_per_second = 50
"#
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", pipeline.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadpipe"))
            .args(&args)
            .env("LEADPIPE_TEST_TOKEN", "s3cret")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };

    let summary = run(&[]);
    assert_eq!(summary["enrich"]["errors"], 0, "{summary}");
    // Provider a is asked about the three distinct ИНН of records without a company;
    // b only about the two that a did not answer.
    assert_eq!(
        hits_a.load(Ordering::SeqCst),
        2 + 1,
        "a: 7707083893, 7736050003, 500100732259"
    );
    assert_eq!(hits_b.load(Ordering::SeqCst), 2);

    let conn = Connection::open(dir.path().join("x.duckdb")).unwrap();
    let row = |n: i64| -> (Option<String>, Option<String>, Option<String>) {
        conn.query_row(
            "SELECT company, city, enrichment_source->>'company' FROM records WHERE source_row = ?",
            [n],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    assert_eq!(
        row(1),
        (
            Some("ПАО Сбербанк".into()),
            Some("Москва".into()),
            Some("provider:a".into())
        )
    );
    assert_eq!(
        row(2),
        (Some("ООО Вторая".into()), None, Some("provider:b".into()))
    );
    assert_eq!(row(3).0, None, "nobody knows this ИНН");
    assert_eq!(
        row(4).0.as_deref(),
        Some("Своя фирма"),
        "typed values are never overwritten"
    );
    drop(conn);

    // Asking again about everything uses the cache: no new requests.
    let summary = run(&["--only", "enrich"]);
    assert_eq!(hits_a.load(Ordering::SeqCst), 3);
    assert_eq!(hits_b.load(Ordering::SeqCst), 2);
    assert_eq!(summary["enrich"]["fetched"], 0, "{summary}");
}
