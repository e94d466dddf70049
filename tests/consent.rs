//! Consent, suppression, withdrawal and erasure end to end: the real binary on the real
//! fixtures, checked in the real DuckDB file (and, for erasure, in its bytes on disk).

mod common;

use common::{ok, root, run, s};
use duckdb::Connection;
use std::path::{Path, PathBuf};

fn count(db: &Path, sql: &str) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The demo pipeline, judged at a fixed time so expiry is reproducible.
fn demo(db: &Path, as_of: &str) {
    let pipeline = root().join("pipelines/demo.toml");
    ok(run(&["run", s(&pipeline), "--db", s(db), "--as-of", as_of]));
}

/// The numbers in a call list, in file order.
fn call_list(db: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "call-list",
        "--style",
        "machine",
        "--db",
        s(db),
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    ok(run(&args));
    let text = std::fs::read_to_string(out).unwrap();
    assert!(text.starts_with('\u{feff}'), "BOM for Excel");
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let col = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "phone_e164")
        .unwrap();
    rdr.records()
        .map(|r| r.unwrap().get(col).unwrap().to_string())
        .collect()
}

const NOW: &str = "2026-11-23T10:00:00+03:00";

#[test]
fn forms_grant_lists_claim_and_the_call_list_follows_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.duckdb");
    let calls = dir.path().join("calls.csv");
    demo(&db, NOW);

    // Ticked forms with a time are grants; the unticked one is "none"; nothing from the
    // purchased lists is ever a grant.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM consents WHERE status = 'granted' AND channel = 'call'"
        ),
        3
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM consents c JOIN records r USING (record_id) WHERE r.origin <> 'form'"),
        0
    );
    // Иванов's form consent (with its evidence) is shown on his golden record.
    let conn = Connection::open(&db).unwrap();
    let (status, basis): (String, String) = conn
        .query_row(
            "SELECT call_consent, call_consent_basis FROM leads WHERE phone_e164 = '+79161234567' AND last_name = 'Иванов'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "granted");
    assert!(
        basis.contains("https://example.ru/landing")
            && basis.contains("text v3")
            && basis.contains("203.0.113.5"),
        "{basis}"
    );
    // Дарья consented on 2025-11-21 and the form's consent is valid for 365 days.
    let darya: String = conn
        .query_row(
            "SELECT call_consent FROM leads WHERE last_name = 'Алексеева'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(darya, "expired");
    // Every status change is in the audit trail, with the run as actor.
    assert_eq!(
        count(&db, "SELECT count(*) FROM consent_audit WHERE actor = 'run 1' AND channel = 'call' AND new_status IN ('granted', 'expired')"),
        3
    );
    drop(conn);

    assert_eq!(
        call_list(&db, &calls, &["--as-of", NOW]),
        vec!["+79161234567", "+79161112233"]
    );
    // Judged before Дарья's consent ran out, she is callable too.
    let before = call_list(&db, &calls, &["--as-of", "2026-11-20T12:00:00+03:00"]);
    assert!(before.contains(&"+79035554433".to_string()), "{before:?}");

    // A withdrawal by phone, typed in another format, is honoured by the next list even
    // when that list is made "as of" an earlier time.
    ok(run(&[
        "consent",
        "withdraw",
        "--phone",
        "8 (916) 123-45-67",
        "--via",
        "phone call",
        "--db",
        s(&db),
    ]));
    assert_eq!(
        call_list(&db, &calls, &["--as-of", NOW]),
        vec!["+79161112233"]
    );
    assert_eq!(
        call_list(&db, &calls, &["--as-of", "2026-11-21T10:00:00+03:00"]),
        vec!["+79161112233", "+79035554433"]
    );
    assert!(
        count(&db, "SELECT count(*) FROM consent_audit WHERE actor = 'consent withdraw' AND new_status = 'withdrawn' AND channel = 'call'") >= 1
    );
    // A later run over the same files does not bring the consent back.
    demo(&db, NOW);
    assert_eq!(
        call_list(&db, &calls, &["--as-of", NOW]),
        vec!["+79161112233"]
    );

    // A do-not-call list: a headerless column of numbers, one of them no number.
    let out = ok(run(&[
        "suppress",
        "import",
        s(&root().join("fixtures/do_not_call.txt")),
        "--list",
        "dnc",
        "--db",
        s(&db),
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("row 3"), "the bad row is named: {text}");
    assert!(call_list(&db, &calls, &["--as-of", NOW]).is_empty());
    // Loading the same list again changes nothing.
    ok(run(&[
        "suppress",
        "import",
        s(&root().join("fixtures/do_not_call.txt")),
        "--list",
        "dnc",
        "--db",
        s(&db),
    ]));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM suppressions WHERE list_name = 'dnc'"
        ),
        2
    );
    assert_eq!(count(&db, "SELECT count(*) FROM suppression_lists"), 1);
}

#[test]
fn withdrawals_for_unknown_people_become_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.duckdb");
    demo(&db, NOW);
    let out = ok(run(&[
        "consent",
        "withdraw",
        "--file",
        s(&root().join("fixtures/withdrawals.csv")),
        "--db",
        s(&db),
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["contacts"], 2);
    assert_eq!(v["unknown_contacts"], 1, "nobody@example.org is in no lead");
    assert_eq!(v["rows_rejected"][0][0], 3);
    assert_eq!(
        count(&db, "SELECT count(*) FROM suppressions WHERE list_name = 'withdrawals' AND value = 'nobody@example.org'"),
        1
    );
    // The file's date column is the withdrawal time.
    assert_eq!(
        count(&db, "SELECT count(*) FROM consents WHERE status = 'withdrawn' AND phone_e164 = '+79035554433' AND withdrawn_at = '2026-11-21 09:00:00+00'::TIMESTAMPTZ"),
        6,
        "3 channels × 2 purposes"
    );
    // Bad input: exit 65 with the reason.
    let bad = run(&["consent", "withdraw", "--phone", "12", "--db", s(&db)]);
    assert_eq!(bad.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a valid phone"));
}

fn file_contains(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap().to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase().into_bytes();
    bytes.windows(needle.len()).any(|w| w == needle.as_slice())
}

#[test]
fn erasure_leaves_no_trace_on_disk_and_keeps_the_person_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.duckdb");
    demo(&db, NOW);
    // Force a checkpoint so the data is in the main file, then check the test can see it.
    Connection::open(&db)
        .unwrap()
        .execute_batch("CHECKPOINT")
        .unwrap();
    for needle in ["+79161234567", "9161234567", "ivanov@mail.ru"] {
        assert!(
            file_contains(&db, needle),
            "{needle} should be in the file before erasure"
        );
    }
    let dry = ok(run(&[
        "erase",
        "--email",
        "IVANOV@mail.ru",
        "--db",
        s(&db),
        "--dry-run",
        "--json",
    ]));
    let plan: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert!(plan["plan"]["record_ids"].as_array().unwrap().len() >= 3);
    assert!(
        file_contains(&db, "ivanov@mail.ru"),
        "dry run changes nothing"
    );

    ok(run(&["erase", "--email", "IVANOV@mail.ru", "--db", s(&db)]));
    // The lead's number went with it (it was the same person), in every spelling.
    for needle in [
        "+79161234567",
        "9161234567",
        "916) 123-45-67",
        "ivanov@mail.ru",
        "ivanov@mial.ru",
    ] {
        assert!(!file_contains(&db, needle), "{needle} is still in the file");
    }
    let wal = dir.path().join("e.duckdb.wal");
    assert!(!wal.exists() || !file_contains(&wal, "9161234567"));
    // The leads left were rebuilt, and scored again: a call list ranks them by warmth.
    assert!(count(&db, "SELECT count(*) FROM leads") > 0);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM leads WHERE warmth_score IS NULL OR warmth_tier IS NULL"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM suppressions WHERE list_name = 'erasure' AND value IS NULL"
        ),
        count(
            &db,
            "SELECT count(DISTINCT value_hash) FROM suppressions WHERE list_name = 'erasure'"
        )
    );
    assert!(
        count(
            &db,
            "SELECT count(*) FROM suppressions WHERE list_name = 'erasure'"
        ) >= 2
    );
    // Row conservation still holds for what is left.
    assert_eq!(
        count(&db, "SELECT count(*) FROM raw_records r WHERE NOT EXISTS (SELECT 1 FROM records c WHERE c.raw_id = r.raw_id) AND NOT EXISTS (SELECT 1 FROM rejects j WHERE j.raw_id = r.raw_id)"),
        0
    );

    // A new file brings the person back: the row is refused, and not even kept raw.
    let again = dir.path().join("again.csv");
    std::fs::write(
        &again,
        "ФИО;Телефон;E-mail\nИванов Иван;+7 916 123-45-67;\nДругой Человек;+7 903 000-11-22;drugoy@mail.ru\n",
    )
    .unwrap();
    let out = ok(run(&["import", s(&again), "--db", s(&db), "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sources"][0]["rejects_by_reason"]["erased_person"], 1);
    assert_eq!(v["rows_accepted"], 1);
    Connection::open(&db)
        .unwrap()
        .execute_batch("CHECKPOINT")
        .unwrap();
    assert!(!file_contains(&db, "9161234567"));
    let calls = dir.path().join("calls.csv");
    assert!(!call_list(&db, &calls, &[])
        .iter()
        .any(|p| p == "+79161234567"));
}

#[test]
fn compliance_report_html_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.duckdb");
    demo(&db, NOW);
    let lead: i64 = count(
        &db,
        "SELECT lead_id FROM leads WHERE last_name = 'Иванов' AND call_consent = 'granted'",
    );
    let html = dir.path().join("report.html");
    ok(run(&[
        "compliance",
        "report",
        "--db",
        s(&db),
        "--out",
        s(&html),
        "--lead",
        &lead.to_string(),
        "--as-of",
        NOW,
    ]));
    let page = std::fs::read_to_string(&html).unwrap();
    // Russian by default, times in the base's zone with the offset shown.
    assert!(page.contains("<h1>Отчёт о согласиях</h1>"), "{page}");
    assert!(page.contains("<html lang=\"ru\">"));
    assert!(page.contains("(+03:00)"), "times carry their offset");
    assert!(!page.contains(" UTC</"), "no bare UTC times");
    assert!(
        !page.contains("http://") || !page.contains("<script src"),
        "self-contained"
    );
    assert!(
        page.contains("consent_expired"),
        "Дарья is blocked for expiry"
    );
    assert!(
        page.contains("https://example.ru/landing"),
        "the basis shows the form"
    );
    assert!(page.contains(&format!("Лид {lead}")), "the lead's trail");
    assert!(page.contains("run 1"), "the audit trail names the run");
    ok(run(&[
        "compliance",
        "report",
        "--db",
        s(&db),
        "--out",
        s(&html),
        "--lead",
        &lead.to_string(),
        "--as-of",
        NOW,
        "--lang",
        "en",
    ]));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h1>Compliance report</h1>"));
    assert!(page.contains(&format!("Lead {lead}")), "the lead's trail");

    let csv_path = dir.path().join("report.csv");
    ok(run(&[
        "compliance",
        "report",
        "--db",
        s(&db),
        "--out",
        s(&csv_path),
        "--as-of",
        NOW,
    ]));
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let calls: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[2] == "call").collect();
    assert_eq!(calls.len(), 2);
    // Every lead is in the report, callable or with a reason.
    let leads: std::collections::BTreeSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(leads.len() as i64, count(&db, "SELECT count(*) FROM leads"));
    assert!(rows.iter().all(|r| &r[2] == "call" || !r[3].is_empty()));

    let bad = run(&[
        "compliance",
        "report",
        "--db",
        s(&db),
        "--out",
        s(&dir.path().join("r.pdf")),
    ]);
    assert_eq!(bad.status.code(), Some(65));
}

/// A one-source pipeline over the form fixture with the given consent validity.
fn form_pipeline(dir: &Path, valid_days: u32) -> PathBuf {
    let path = dir.join(format!("form-{valid_days}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"name = "form"
[[sources]]
name = "site-form"
path = "{}"
origin = "form"
[sources.columns]
consent_version = "consent_text_version"
page_url = "form_url"
[sources.consent]
valid_days = {valid_days}
"#,
            root().join("fixtures/web_form.jsonl").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_changed_policy_or_a_rederivation_supersedes_old_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.duckdb");
    let calls = dir.path().join("calls.csv");
    let year = form_pipeline(dir.path(), 365);
    ok(run(&["run", s(&year), "--db", s(&db), "--as-of", NOW]));
    assert_eq!(call_list(&db, &calls, &["--as-of", NOW]).len(), 2);
    // The consent text turns out to be valid for one day only: the same records are
    // derived again under the new policy, and the old events stop counting.
    let day = form_pipeline(dir.path(), 1);
    ok(run(&["run", s(&day), "--db", s(&db), "--as-of", NOW]));
    assert!(call_list(&db, &calls, &["--as-of", NOW]).is_empty());
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM consents WHERE superseded_at IS NOT NULL"
        ),
        12,
        "every event of the first derivation is kept, superseded"
    );
    assert!(
        count(&db, "SELECT count(*) FROM consent_audit WHERE new_status = 'expired' AND old_status = 'granted'") >= 2
    );
    // Re-normalising re-derives records: their events are superseded and derived again.
    ok(run(&[
        "run",
        s(&year),
        "--db",
        s(&db),
        "--from",
        "normalise",
        "--as-of",
        NOW,
    ]));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM consents WHERE superseded_at IS NULL"
        ),
        12
    );
    assert_eq!(call_list(&db, &calls, &["--as-of", NOW]).len(), 2);
}

#[test]
fn erasing_a_second_address_takes_the_whole_person() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.duckdb");
    let list = dir.path().join("list.csv");
    // Records keep the first valid address; the second lives only in the raw row.
    std::fs::write(
        &list,
        "ФИО;Телефон;E-mail;Почта\nПетров Пётр;+7 903 111 22 33;petr@mail.ru;Petr.Second@Yandex.ru\nСидорова Анна;+7 903 999 88 77;anna@mail.ru;\n",
    )
    .unwrap();
    ok(run(&["import", s(&list), "--db", s(&db)]));
    ok(run(&[
        "erase",
        "--email",
        "petr.second@yandex.ru",
        "--db",
        s(&db),
    ]));
    for needle in ["9031112233", "petr@mail.ru", "petr.second@yandex.ru"] {
        assert!(!file_contains(&db, needle), "{needle} is still in the file");
    }
    assert!(file_contains(&db, "anna@mail.ru"), "nobody else was erased");
    assert_eq!(count(&db, "SELECT count(*) FROM records"), 1);
    // All three contacts are kept as hashes.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM suppressions WHERE list_name = 'erasure'"
        ),
        3
    );
}

#[test]
fn commands_read_numbers_with_the_pipelines_region() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("by.duckdb");
    let pipeline = dir.path().join("by.toml");
    let list = dir.path().join("by.csv");
    std::fs::write(&list, "ФИО;Телефон\nЛукашевич Ян;8 029 123-45-67\n").unwrap();
    std::fs::write(
        &pipeline,
        format!(
            "[normalise]\ndefault_region = \"BY\"\n[[sources]]\npath = \"{}\"\norigin = \"purchased\"\n",
            list.display()
        ),
    )
    .unwrap();
    ok(run(&["run", s(&pipeline), "--db", s(&db)]));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records WHERE phone_e164 = '+375291234567'"
        ),
        1
    );
    // A local Belarusian number typed on the command line means the same subscriber.
    let out = ok(run(&[
        "consent",
        "withdraw",
        "--phone",
        "8 029 123-45-67",
        "--db",
        s(&db),
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["unknown_contacts"], 0, "{v}");
}

/// `consent_status.basis` and `leads.call_consent_basis` are composed in SQL (for speed);
/// the call list and the report compose the same line in Rust. They must agree.
#[test]
fn stored_bases_match_the_ones_rust_writes() {
    use leadpipe::consent::{current_status, Channel, ConsentEvent, Purpose};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.duckdb");
    demo(&db, NOW);
    ok(run(&[
        "consent",
        "withdraw",
        "--phone",
        "+79161112233",
        "--channel",
        "sms",
        "--db",
        s(&db),
    ]));
    let store = leadpipe::store::Store::open(&db).unwrap();
    let now = chrono::Utc::now();
    let mut compared = 0;
    for lead in store.gate_leads(None).unwrap() {
        for ch in Channel::ALL {
            for pu in Purpose::ALL {
                let evs: Vec<&ConsentEvent> = lead
                    .events
                    .iter()
                    .filter(|e| e.channel == Some(ch) && e.purpose == Some(pu))
                    .collect();
                if evs.is_empty() {
                    continue;
                }
                let rust = current_status(&evs, now).basis;
                let stored: String = store
                    .connection()
                    .query_row(
                        "SELECT basis FROM consent_status WHERE lead_id = ? AND channel = ? AND purpose = ?",
                        duckdb::params![lead.lead_id, ch.as_str(), pu.as_str()],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(stored, rust);
                compared += 1;
            }
        }
    }
    // Granted, expired and withdrawn statuses were all compared.
    assert!(compared >= 10, "{compared}");
    let kinds: i64 = store
        .connection()
        .query_row(
            "SELECT count(DISTINCT status) FROM consent_status",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(kinds >= 3);
}

#[test]
fn a_consent_whose_page_is_not_a_web_address_is_not_granted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("url.duckdb");
    let calls = dir.path().join("calls.csv");
    let export = dir.path().join("form.jsonl");
    let row = |name: &str, phone: &str, page: &str| {
        serde_json::json!({
            "name": name,
            "phone": phone,
            "consent": true,
            "consent_at": "2026-11-20T10:15:00+03:00",
            "consent_version": "v3",
            "page_url": page,
            "ip": "203.0.113.5"
        })
        .to_string()
    };
    std::fs::write(
        &export,
        [
            row(
                "Иванов Иван",
                "+7 916 123-45-67",
                "https://example.ru/landing",
            ),
            row("Петров Пётр", "+7 903 111 22 33", "javascript:alert(1)"),
            row(
                "Сидорова Анна",
                "+7 903 999 88 77",
                "data:text/html,<b>да</b>",
            ),
            row("Кузнецов Олег", "+7 903 555 44 33", "лендинг"),
            row("Орлова Ольга", "+7 903 777 66 55", "ftp://example.ru/form"),
            row("Зайцев Игорь", "+7 903 222 11 00", "JavaScript:alert(1)"),
        ]
        .join("\n"),
    )
    .unwrap();
    let pipeline = dir.path().join("form.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"name = "form"
[[sources]]
name = "site-form"
path = "{}"
origin = "form"
[sources.columns]
consent_version = "consent_text_version"
[sources.consent]
valid_days = 365
"#,
            export.display()
        ),
    )
    .unwrap();
    ok(run(&["run", s(&pipeline), "--db", s(&db), "--as-of", NOW]));
    // Only the consent given on a web page can be called.
    assert_eq!(
        call_list(&db, &calls, &["--as-of", NOW]),
        vec!["+79161234567"]
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM consents WHERE status = 'granted' AND channel = 'call'"
        ),
        1
    );
    // The others are on record as not proven, with the reason.
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT record_id) FROM consents
             WHERE status = 'claimed' AND legal_basis = 'none'
               AND note LIKE '%not an http(s) address%'"
        ),
        5
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM leads WHERE call_consent = 'granted'"
        ),
        1
    );
}

/// A back-dated withdrawal typed in after a form was imported must survive the form's
/// events being derived again (re-normalising here; a re-read or a rule change alike).
#[test]
fn a_rederivation_does_not_undo_a_backdated_withdrawal() {
    let dir = tempfile::tempdir().unwrap();
    let form = dir.path().join("form.jsonl");
    std::fs::write(
        &form,
        r#"{"name": "Иванов Иван", "phone": "+7 916 123-45-67", "consent": true, "consent_at": "2026-11-20T10:15:00+03:00", "page_url": "https://example.ru/landing"}
{"name": "Пётр Сидоров", "phone": "+7 916 555-44-33", "consent": true, "consent_at": "2026-11-20T10:15:00+03:00", "page_url": "https://example.ru/landing"}
"#,
    )
    .unwrap();
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        "name = \"f\"\ndb = \"f.duckdb\"\n[[sources]]\nname = \"site-form\"\nkind = \"jsonl\"\npath = \"form.jsonl\"\norigin = \"form\"\n[sources.columns]\npage_url = \"form_url\"\n",
    )
    .unwrap();
    let db = dir.path().join("f.duckdb");
    ok(run(&["run", s(&pipeline)]));
    ok(run(&[
        "consent",
        "withdraw",
        "--phone",
        "+79161234567",
        "--at",
        "2026-11-19",
        "--db",
        s(&db),
    ]));
    let calls = dir.path().join("calls.csv");
    let listed = |extra: &[&str]| {
        let mut args = vec!["--outside-window", "schedule"];
        args.extend_from_slice(extra);
        call_list(&db, &calls, &args)
    };
    assert_eq!(listed(&[]), vec!["+79165554433".to_string()]);
    ok(run(&["run", s(&pipeline), "--only", "normalise"]));
    assert_eq!(
        listed(&[]),
        vec!["+79165554433".to_string()],
        "the withdrawn number is callable again after its events were derived again"
    );
}
