//! Open-web directory pages saved to disk, read with CSS selectors, through the real binary.

use duckdb::Connection;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn saved_pages_become_open_leads_with_their_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.duckdb");
    let pipeline = root().join("pipelines/open_sources.toml");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_leadpipe"))
            .args([
                "run",
                pipeline.to_str().unwrap(),
                "--db",
                db.to_str().unwrap(),
                "--json",
            ])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Six cards on two pages; one card has no contact at all and is rejected.
    assert_eq!(v["rows_read"], 6);
    assert_eq!(v["rows_accepted"], 5);
    assert_eq!(v["sources"][0]["rejects_by_reason"]["no_contact"], 1);
    let conn = Connection::open(&db).unwrap();
    let q = |sql: &str| -> String { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    // A number written only in the card's text is found; a mailto link is the e-mail.
    assert_eq!(
        q("SELECT phone_e164 FROM records WHERE company LIKE 'ИП Кузнецов%'"),
        "+79165551234"
    );
    assert_eq!(
        q("SELECT email FROM records WHERE company LIKE 'ИП Кузнецов%'"),
        "kuznetsov.av@mail.ru"
    );
    assert_eq!(
        q("SELECT subject_type FROM records WHERE company LIKE 'ИП Кузнецов%'"),
        "sole_trader"
    );
    // Every row points at its page and the page's hash.
    let page = q("SELECT raw_values->>'_page' FROM raw_records WHERE source_row = 6");
    assert!(page.ends_with("catalog-2.html"), "{page}");
    assert_eq!(
        q("SELECT length(raw_values->>'_page_sha256')::VARCHAR FROM raw_records LIMIT 1"),
        "64"
    );
    // Open sources carry no consent, and nobody from them is callable.
    let n: i64 = conn
        .query_row("SELECT count(*) FROM consents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    drop(conn);
    // The same pages again: nothing new.
    let again: serde_json::Value = serde_json::from_slice(&run().stdout).unwrap();
    assert_eq!(again["sources"][0]["status"], "unchanged");
}
