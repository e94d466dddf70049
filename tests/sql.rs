//! `leadpipe sql`: the base can be queried without a DuckDB client, and never changed.

mod common;

use common::{ok, root, run, s};

#[test]
fn queries_read_and_never_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.duckdb");
    ok(run(&[
        "run",
        s(&root().join("pipelines/demo.toml")),
        "--db",
        s(&db),
        "-q",
    ]));
    let leads: i64 = duckdb::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM leads", [], |r| r.get(0))
        .unwrap();

    let csv = ok(run(&[
        "sql",
        "SELECT count(*) AS n, min(lead_id) AS first FROM leads;",
        "--db",
        s(&db),
        "--format",
        "csv",
    ]));
    assert_eq!(
        String::from_utf8_lossy(&csv.stdout),
        format!("n,first\n{leads},1\n")
    );

    // Lists and NULLs print as text; jsonl keeps NULL as null.
    let jsonl = ok(run(&[
        "sql",
        "SELECT lead_id, phones, NULL AS nothing FROM leads ORDER BY lead_id LIMIT 2",
        "--db",
        s(&db),
        "--format",
        "jsonl",
    ]));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&jsonl.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["lead_id"], "1");
    assert!(lines[0]["phones"].as_str().unwrap().starts_with('['));
    assert!(lines[0]["nothing"].is_null());

    let table = ok(run(&["sql", "DESCRIBE leads", "--db", s(&db)]));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.lines().next().unwrap().starts_with("column_name"),
        "{text}"
    );
    assert!(text.contains("phone_e164"), "{text}");

    let o = run(&["sql", "DELETE FROM leads", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&o.stderr).contains("read-only"));
    let after: i64 = duckdb::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM leads", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, leads, "sql changed the base");
}
