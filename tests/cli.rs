//! End-to-end tests through the real binary on the real fixtures, checked in a real DuckDB file.

use duckdb::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leadpipe"));
    c.env("LEADPIPE_LOG", "warn");
    c
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn demo(db: &Path, extra: &[&str]) -> Output {
    let pipeline = root().join("pipelines/demo.toml");
    let mut args = vec![
        "run",
        pipeline.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn demo_pipeline_lands_everything_and_conserves_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.duckdb");
    let out = demo(&db, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let read = summary["rows_read"].as_i64().unwrap();
    assert_eq!(
        read,
        15 + 6 + 7,
        "CSV 15 data rows (blank skipped), XLSX 6, JSONL 7 lines"
    );

    // Row conservation, overall and per source.
    assert_eq!(count(&db, "SELECT count(*) FROM raw_records"), read);
    assert_eq!(
        count(
            &db,
            "SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM rejects)"
        ),
        read
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM raw_records r WHERE NOT EXISTS (SELECT 1 FROM records c WHERE c.raw_id = r.raw_id) AND NOT EXISTS (SELECT 1 FROM rejects j WHERE j.raw_id = r.raw_id)"),
        0
    );

    let conn = Connection::open(&db).unwrap();
    // The CP1251 list decoded, the phone normalised, the email lowercased.
    let (phone, email, last, gender): (String, String, String, String) = conn
        .query_row(
            "SELECT phone_e164, email, last_name, gender FROM records WHERE source = 'vendor-list-cp1251' AND source_row = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (
            phone.as_str(),
            email.as_str(),
            last.as_str(),
            gender.as_str()
        ),
        ("+79161234567", "ivanov@mail.ru", "Иванов", "male")
    );
    // 8-800 stays whole and is typed toll-free.
    let (p, t): (String, String) = conn
        .query_row("SELECT phone_e164, phone_type FROM records WHERE source = 'vendor-list-cp1251' AND source_row = 3", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((p.as_str(), t.as_str()), ("+78005553535", "toll_free"));
    // Extension and second number kept.
    let (ext, extra): (String, String) = conn
        .query_row("SELECT phone_ext, phones_extra::VARCHAR FROM records WHERE source = 'vendor-list-cp1251' AND source_row = 2", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(ext, "123");
    assert_eq!(extra, "[+79261112233]");
    // Typo domain suggested, not applied.
    let (email, suggestion): (String, String) = conn
        .query_row("SELECT email, email_suggestion FROM records WHERE source = 'vendor-list-cp1251' AND source_row = 4", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(
        (email.as_str(), suggestion.as_str()),
        ("kuznetsova@gmial.com", "kuznetsova@gmail.com")
    );

    // Rejects name source, row, stage and reason.
    let rejects: Vec<(String, i64, String, String)> = conn
        .prepare("SELECT source, source_row, stage, reason_code FROM rejects ORDER BY source, source_row")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expect = |s: &str, row: i64, stage: &str| {
        assert!(
            rejects
                .iter()
                .any(|(a, b, c, _)| a == s && *b == row && c == stage),
            "expected reject {s} row {row} at {stage}; got {rejects:?}"
        )
    };
    expect("vendor-list-cp1251", 6, "normalise"); // "не звонить"
    expect("vendor-list-cp1251", 9, "import"); // ragged
    expect("vendor-list-cp1251", 16, "import"); // short row (blank row 13 counted in numbering)
    expect("crm-export-xlsx", 4, "normalise"); // phone 123, no email
    expect("site-form", 4, "import"); // truncated JSON
    expect("site-form", 5, "normalise"); // no usable contact
    expect("site-form", 7, "import"); // not an object

    // XLSX: title rows skipped, numeric phone read as digits, separate name columns.
    let (phone, name): (String, String) = conn
        .query_row("SELECT phone_e164, full_name FROM records WHERE source = 'crm-export-xlsx' AND source_row = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(
        (phone.as_str(), name.as_str()),
        ("+79161234567", "Иванов Иван Иванович")
    );

    // Form consent fields mapped (explicit map in demo.toml) and parsed.
    let (given, at, version, url): (bool, String, String, String) = conn
        .query_row("SELECT consent_given, consent_at::VARCHAR, consent_text_version, form_url FROM records WHERE source = 'site-form' AND source_row = 1", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap();
    assert!(given);
    assert!(
        at.starts_with("2026-11-20 07:15:00"),
        "10:15+03:00 is 07:15 UTC, got {at}"
    );
    assert_eq!(
        (version.as_str(), url.as_str()),
        ("v3", "https://example.ru/landing")
    );
    // JSON columns land without DuckDB re-parsing them (store::JSON_COLUMNS), so check here
    // that every value our serialiser wrote is valid JSON.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM raw_records WHERE NOT json_valid(raw_values)"
        ) + count(
            &db,
            "SELECT count(*) FROM records WHERE NOT json_valid(enrichment_source)"
        ),
        0
    );
    // Unknown keys survive in raw.
    assert_eq!(
        count(&db, "SELECT count(*) FROM raw_records WHERE source = 'site-form' AND raw_values->>'utm_source' = 'yandex'"),
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE status = 'ok'"),
        1
    );

    // Enrichment: inferred values with where they came from.
    let (subject, tz, src): (String, String, String) = conn
        .query_row(
            "SELECT s.subject_type, k.timezone, k.enrichment_source->>'timezone'
             FROM records s, records k
             WHERE s.source = 'vendor-list-cp1251' AND s.source_row = 3
               AND k.source = 'vendor-list-cp1251' AND k.source_row = 11",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(subject, "sole_trader", "ИП is a private person for consent");
    assert_eq!(
        (tz.as_str(), src.as_str()),
        ("Europe/Kaliningrad", "phone_prefix")
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM records WHERE source = 'vendor-list-cp1251' AND source_row = 1 AND inn_valid AND company_legal_form = 'ООО'"),
        1
    );
}

#[test]
fn rerunning_the_same_input_adds_only_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.duckdb");
    assert!(demo(&db, &[]).status.success());
    let tables = [
        "raw_records",
        "records",
        "rejects",
        "source_files",
        "leads",
        "lead_links",
        "match_weights",
    ];
    let before: Vec<i64> = tables
        .iter()
        .map(|t| count(&db, &format!("SELECT count(*) FROM {t}")))
        .collect();
    let out = demo(&db, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["sources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "unchanged"));
    let after: Vec<i64> = tables
        .iter()
        .map(|t| count(&db, &format!("SELECT count(*) FROM {t}")))
        .collect();
    assert_eq!(before, after);
    assert_eq!(count(&db, "SELECT count(*) FROM runs"), 2);
    let out = run(&["runs", "--db", db.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run_id"], 2, "newest first");
    assert_eq!(runs[0]["rows_read"], 0, "the re-run read nothing new");
    assert_eq!(runs[1]["status"], "ok");
}

#[test]
fn import_single_file_with_auto_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leads.duckdb");
    let file = root().join("fixtures/purchased_cp1251.csv");
    let out = run(&[
        "import",
        file.to_str().unwrap(),
        "--origin",
        "purchased",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("purchased_cp1251.csv"), "{text}");
    assert_eq!(count(&db, "SELECT count(*) FROM raw_records"), 15);
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT origin) FROM records WHERE origin = 'purchased'"
        ),
        1
    );
}

#[test]
fn only_import_then_only_normalise() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("staged.duckdb");
    let out = demo(&db, &["--only", "import"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(count(&db, "SELECT count(*) FROM records"), 0);
    let raw = count(&db, "SELECT count(*) FROM raw_records");
    assert!(raw > 0);
    let out = demo(&db, &["--only", "normalise"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let accepted = count(&db, "SELECT count(*) FROM records");
    assert_eq!(accepted + count(&db, "SELECT count(*) FROM rejects"), raw);
    // Re-read raw values keep file order: the first phone column stays the main number.
    let conn = Connection::open(&db).unwrap();
    let (phone, ext): (String, String) = conn
        .query_row("SELECT phone_e164, phone_ext FROM records WHERE source = 'vendor-list-cp1251' AND source_row = 2", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((phone.as_str(), ext.as_str()), ("+74957654321", "123"));
    drop(conn);
    // Re-normalising again replaces, never duplicates, and keeps record ids.
    let ids = count(&db, "SELECT sum(record_id) FROM records");
    assert!(demo(&db, &["--from", "normalise"]).status.success());
    assert_eq!(count(&db, "SELECT count(*) FROM records"), accepted);
    assert_eq!(count(&db, "SELECT sum(record_id) FROM records"), ids);
}

#[test]
fn to_normalise_lands_records_and_dedupe_follows_later() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("to.duckdb");
    let out = demo(&db, &["--to", "normalise", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["stages"],
        serde_json::json!(["import", "normalise"])
    );
    assert!(count(&db, "SELECT count(*) FROM records") > 0);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records WHERE lead_id IS NOT NULL"
        ),
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM leads"), 0);
    let out = demo(&db, &["--from", "dedupe"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        count(&db, "SELECT count(*) FROM records WHERE lead_id IS NULL"),
        0
    );
    assert!(count(&db, "SELECT count(*) FROM leads") > 0);
}

#[test]
fn a_failing_run_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("atomic.duckdb");
    let good = root().join("fixtures/purchased_cp1251.csv");
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        format!(
            "db = \"atomic.duckdb\"\n[[sources]]\npath = {:?}\norigin = \"purchased\"\n[[sources]]\npath = \"missing.csv\"\norigin = \"purchased\"\n",
            good.to_str().unwrap()
        ),
    )
    .unwrap();
    let out = run(&["run", pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(66), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing.csv"), "{}", stderr(&out));
    for t in ["raw_records", "records", "rejects", "source_files"] {
        assert_eq!(
            count(&db, &format!("SELECT count(*) FROM {t}")),
            0,
            "{t} must be empty"
        );
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE status = 'failed'"),
        1
    );
}

#[test]
fn bad_input_gets_clear_errors_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bad.duckdb");
    let dbs = db.to_str().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };

    let missing = run(&["import", "/nonexistent/leads.csv", "--db", dbs]);
    assert_eq!(missing.status.code(), Some(66));
    assert!(stderr(&missing).contains("/nonexistent/leads.csv"));

    let empty = write("empty.csv", b"");
    let out = run(&["import", empty.to_str().unwrap(), "--db", dbs]);
    assert_eq!(out.status.code(), Some(65));
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));

    let unmappable = write("odd.csv", b"foo;bar\n1;2\n");
    let out = run(&["import", unmappable.to_str().unwrap(), "--db", dbs]);
    assert_eq!(out.status.code(), Some(65));
    let msg = stderr(&out);
    assert!(
        msg.contains("odd.csv") && msg.contains("\"foo\", \"bar\"") && msg.contains("Телефон"),
        "{msg}"
    );

    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let bin_file = write("garbage.csv", &garbage);
    let out = run(&["import", bin_file.to_str().unwrap(), "--db", dbs]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(stderr(&out).contains("binary"), "{}", stderr(&out));

    let not_xlsx = write("fake.xlsx", "ФИО;Телефон\n".as_bytes());
    let out = run(&["import", not_xlsx.to_str().unwrap(), "--db", dbs]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(stderr(&out).contains("XLSX"), "{}", stderr(&out));

    let header_only = write("header.csv", "ФИО;Телефон\n".as_bytes());
    let out = run(&[
        "import",
        header_only.to_str().unwrap(),
        "--db",
        dbs,
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["rows_read"], 0);

    // A 10 MB field: the row is landed raw and rejected, the next row is fine.
    let mut big = "ФИО;Телефон\n".as_bytes().to_vec();
    big.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    big.extend_from_slice(";89161234567\nИванов Иван;89161234567\n".as_bytes());
    let big_file = write("big.csv", &big);
    let out = run(&["import", big_file.to_str().unwrap(), "--db", dbs, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            s["rows_read"].as_i64(),
            s["rows_accepted"].as_i64(),
            s["rows_rejected"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(count(&db, "SELECT count(*) FROM rejects WHERE reason_code = 'field_too_long' AND source = 'big.csv' AND source_row = 1"), 1);

    let bad_toml = write("bad.toml", b"[[sources]]\npath = 3\n");
    let out = run(&["run", bad_toml.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    assert!(stderr(&out).contains("bad.toml"), "{}", stderr(&out));
}

#[test]
fn help_teaches() {
    let out = run(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples") && text.contains("leadpipe run pipelines/demo.toml"),
        "{text}"
    );
    let out = run(&["import", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--origin") && text.contains("ФИО"), "{text}");
}

#[test]
fn dedupe_links_one_person_across_sources_and_keeps_family_apart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leads.duckdb");
    let out = demo(&db, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(&db).unwrap();
    let lead_of = |source: &str, row: i64| -> i64 {
        conn.query_row(
            "SELECT lead_id FROM records WHERE source = ? AND source_row = ?",
            duckdb::params![source, row],
            |r| r.get(0),
        )
        .unwrap()
    };
    // Иванов Иван: CP1251 list rows 1 and 15 (typo domain), the XLSX row 1, the form line 1.
    let ivanov = lead_of("vendor-list-cp1251", 1);
    assert_eq!(lead_of("vendor-list-cp1251", 15), ivanov);
    assert_eq!(lead_of("crm-export-xlsx", 1), ivanov);
    assert_eq!(lead_of("site-form", 1), ivanov);
    // Морозова Ольга shares his landline-style number but is someone else.
    assert_ne!(lead_of("vendor-list-cp1251", 8), ivanov);
    assert_eq!(
        count(&db, "SELECT count(*) FROM records WHERE lead_id IS NULL"),
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM leads"),
        count(&db, "SELECT count(DISTINCT lead_id) FROM records")
    );
    // Golden record: the fullest name, the form's e-mail (form beats purchased), all phones.
    let (name, email, n, origins): (String, String, i64, String) = conn
        .query_row(
            "SELECT full_name, email, record_count, origins::VARCHAR FROM leads WHERE lead_id = ?",
            [ivanov],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(name, "Иванов Иван Иванович");
    assert_eq!(email, "ivanov@mail.ru");
    assert_eq!(n, 4);
    assert_eq!(origins, "[form, purchased]");

    // explain shows the merges field by field.
    let out = run(&["explain", &ivanov.to_string(), "--db", db.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("members (4)") && text.contains("merges (3)"),
        "{text}"
    );
    assert!(text.contains("phone") && text.contains("equal"), "{text}");
    let missing = run(&["explain", "999999", "--db", db.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(65));
}

#[test]
fn dedupe_is_incremental_and_ids_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inc.duckdb");
    assert!(demo(&db, &[]).status.success());
    let before: Vec<(i64, i64)> = {
        let conn = Connection::open(&db).unwrap();
        let mut stmt = conn
            .prepare("SELECT record_id, lead_id FROM records ORDER BY record_id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let file = dir.path().join("new.csv");
    std::fs::write(&file, "ФИО,Телефон,Город\nIvan Ivanov,+7 916 123-45-67,Москва\nНовиков Пётр,+7 903 765 43 21,Тула\n").unwrap();
    let out = run(&[
        "import",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(&db).unwrap();
    for (record, lead) in &before {
        let now: i64 = conn
            .query_row(
                "SELECT lead_id FROM records WHERE record_id = ?",
                [record],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(now, *lead, "record {record} changed lead");
    }
    let ivanov: i64 = conn
        .query_row(
            "SELECT lead_id FROM records WHERE source = 'vendor-list-cp1251' AND source_row = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let new_ivan: i64 = conn
        .query_row(
            "SELECT lead_id FROM records WHERE source = 'new.csv' AND source_row = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        new_ivan, ivanov,
        "the new Latin-spelled record joins the existing lead"
    );
    let max_before = before.iter().map(|b| b.1).max().unwrap();
    let novikov: i64 = conn
        .query_row(
            "SELECT lead_id FROM records WHERE source = 'new.csv' AND source_row = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(novikov > max_before, "a new person gets a new id");
}

#[test]
fn correcting_the_encoding_reads_the_file_again() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("list.csv");
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("name;phone\nПетров Пётр;89161234567\n");
    std::fs::write(&csv, &bytes).unwrap();
    let write_pipeline = |encoding: &str| {
        let p = dir.path().join("p.toml");
        std::fs::write(
            &p,
            format!("db = \"x.duckdb\"\n[[sources]]\npath = \"list.csv\"\norigin = \"purchased\"\nencoding = \"{encoding}\"\n"),
        )
        .unwrap();
        p
    };
    // Wrong encoding: the name lands garbled.
    let p = write_pipeline("koi8-r");
    assert!(run(&["run", p.to_str().unwrap()]).status.success());
    let db = dir.path().join("x.duckdb");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records WHERE last_name = 'Петров'"
        ),
        0
    );
    // Corrected: the same bytes are read again, replacing the old rows.
    let p = write_pipeline("windows-1251");
    let out = run(&["run", p.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["sources"][0]["status"], "reimported");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records WHERE last_name = 'Петров'"
        ),
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM raw_records"), 1);
}
