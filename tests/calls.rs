//! Warmth and call lists end to end: a known set of leads gives a known call list (order,
//! calling windows, exclusions, operators, CSV and XLSX), and call results and engagement
//! events come back into warmth, consent and suppression.

mod common;

use common::{ok, run, s};
use duckdb::Connection;
use std::path::{Path, PathBuf};

/// Noon in Moscow on the day of the test base.
const NOON_MSK: &str = "2026-11-23T12:00:00+03:00";

/// Four leads who ticked the consent box a few days before, in three time zones, and one
/// who did not.
fn base(dir: &Path) -> PathBuf {
    let form = dir.join("form.jsonl");
    std::fs::write(
        &form,
        [
            r#"{"name": "Иванов Иван Иванович", "phone": "+7 916 123-45-67", "email": "ivanov@mail.ru", "city": "Москва", "consent": "да", "consent_at": "2026-11-22 10:00"}"#,
            r#"{"name": "Смирнова Анна", "phone": "+7 903 111-22-33", "city": "Москва", "consent": "да", "consent_at": "2026-10-01 10:00"}"#,
            r#"{"name": "Ким Олег", "phone": "+7 924 555-66-77", "city": "Владивосток", "consent": "да", "consent_at": "2026-11-21 10:00"}"#,
            r#"{"name": "Камчатов Пётр", "phone": "+7 914 222-33-44", "city": "Петропавловск-Камчатский", "consent": "да", "consent_at": "2026-11-21 10:00"}"#,
            r#"{"name": "Отказов Семён", "phone": "+7 926 000-11-22", "city": "Москва", "consent": "нет", "consent_at": ""}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let db = dir.join("calls.duckdb");
    ok(run(&[
        "import",
        s(&form),
        "--origin",
        "form",
        "--db",
        s(&db),
        "--as-of",
        NOON_MSK,
    ]));
    db
}

/// (operator, phone, tier, score, call_after) rows of a CSV call list.
fn read_csv(path: &Path, delimiter: u8) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with('\u{feff}'), "UTF-8 BOM for Excel");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn phones(rows: &[Vec<String>]) -> Vec<&str> {
    rows.iter().map(|r| r[2].as_str()).collect()
}

#[test]
fn a_known_base_gives_a_known_call_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let out = dir.path().join("calls.csv");
    ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--as-of",
        NOON_MSK,
    ]));
    let rows = read_csv(&out, b',');
    // Noon in Moscow is 21:00 in Kamchatka (UTC+12): outside 09:00–21:00, left out.
    // The rest, warmest first: Иванов (consented yesterday, has an e-mail), Ким (two
    // days ago), Смирнова (seven weeks ago). Отказов never consented.
    assert_eq!(
        phones(&rows),
        vec!["+79161234567", "+79245556677", "+79031112233"]
    );
    let scores: Vec<i64> = rows.iter().map(|r| r[9].parse().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // Dialer columns: E.164, local form, local time and offset, why warm, consent basis.
    let ivanov = &rows[0];
    assert_eq!(ivanov[3], "8 (916) 123-45-67");
    assert_eq!(ivanov[11], "12:00");
    assert_eq!(ivanov[12], "+03:00");
    assert!(ivanov[10].contains("source +30"), "{}", ivanov[10]);
    assert!(
        ivanov[15].starts_with("consent by checkbox"),
        "{}",
        ivanov[15]
    );
    assert_eq!(
        ivanov[14], "2026-11-23T18:00:00Z",
        "Moscow's window closes at 21:00"
    );
    let kim = &rows[1];
    assert_eq!(kim[11], "19:00", "Vladivostok is UTC+10");

    // Scheduling instead of excluding: Kamchatka comes last, callable from 09:00 its time
    // tomorrow (21:00 UTC today).
    ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--as-of",
        NOON_MSK,
        "--outside-window",
        "schedule",
    ]));
    let rows = read_csv(&out, b',');
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3][2], "+79142223344");
    assert_eq!(rows[3][13], "2026-11-23T21:00:00Z");
    assert!(rows[..3].iter().all(|r| r[13].is_empty()));

    // Filters.
    ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--as-of",
        NOON_MSK,
        "--city",
        "москва",
    ]));
    assert_eq!(
        phones(&read_csv(&out, b',')),
        vec!["+79161234567", "+79031112233"]
    );
    let ivanov_score: i64 = rows[0][9].parse().unwrap();
    ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--as-of",
        NOON_MSK,
        "--min-score",
        &ivanov_score.to_string(),
    ]));
    assert_eq!(phones(&read_csv(&out, b',')), vec!["+79161234567"]);

    // Two operators, round-robin, `;` for Excel, one file each.
    ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--as-of",
        NOON_MSK,
        "--operators",
        "2",
        "--split",
        "--delimiter",
        ";",
    ]));
    let op1 = read_csv(&dir.path().join("calls.op1.csv"), b';');
    let op2 = read_csv(&dir.path().join("calls.op2.csv"), b';');
    assert_eq!(phones(&op1), vec!["+79161234567", "+79031112233"]);
    assert_eq!(phones(&op2), vec!["+79245556677"]);
    assert!(op1.iter().all(|r| r[0] == "1") && op2.iter().all(|r| r[0] == "2"));
    // Capacity: one number per operator, the third is left out and counted.
    let out_json = ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--as-of",
        NOON_MSK,
        "--operators",
        "2",
        "--capacity",
        "1",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out_json.stdout).unwrap();
    assert_eq!(v["rows"]["rows"], 2);
    assert_eq!(v["rows"]["over_capacity"], 1);
    assert_eq!(v["rows"]["outside_window"], 1);

    // Real XLSX.
    let xlsx = dir.path().join("calls.xlsx");
    ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(&db),
        "--out",
        s(&xlsx),
        "--as-of",
        NOON_MSK,
    ]));
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let range = book.worksheet_range("calls").unwrap();
    assert_eq!(range.get((0, 2)).unwrap().to_string(), "phone_e164");
    assert_eq!(range.get((1, 2)).unwrap().to_string(), "+79161234567");
    assert_eq!(
        range.get((1, 4)).unwrap().to_string(),
        "Иванов Иван Иванович"
    );
    assert_eq!(range.height(), 4);
}

/// Engagement points of the lead with this number.
fn engagement(db: &Path, phone: &str) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.query_row(
        "SELECT warmth_engagement FROM leads WHERE phone_e164 = ?",
        [phone],
        |r| r.get(0),
    )
    .unwrap()
}

/// Imports a site visit and a reply by Смирнова (+79031112233) as of `as_of`; returns the
/// events file.
fn smirnova_visits_and_replies(dir: &Path, db: &Path, as_of: &str) -> PathBuf {
    let events = dir.join("events.csv");
    std::fs::write(
        &events,
        "phone,event,date\n+79031112233,visit,2026-11-22\n+79031112233,reply,2026-11-22\n",
    )
    .unwrap();
    ok(run(&[
        "events",
        "import",
        s(&events),
        "--db",
        s(db),
        "--as-of",
        as_of,
    ]));
    events
}

/// Imports web-form rows (JSON lines) into the base as of `as_of`; returns the run's
/// summary.
fn import_forms(dir: &Path, db: &Path, rows: &[&str], as_of: &str) -> serde_json::Value {
    let more = dir.join("more.jsonl");
    std::fs::write(&more, rows.join("\n")).unwrap();
    let out = ok(run(&[
        "import",
        s(&more),
        "--origin",
        "form",
        "--db",
        s(db),
        "--as-of",
        as_of,
        "--json",
    ]));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn call_results_and_events_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let out = dir.path().join("calls.csv");
    assert_eq!(engagement(&db, "+79161234567"), 0);

    let results = dir.path().join("results.csv");
    std::fs::write(
        &results,
        "Телефон;Результат;Дата звонка\n\
         8 916 123-45-67;Дозвон;23.11.2026 12:10\n\
         +7 924 555 66 77;просил не звонить;23.11.2026 12:20\n\
         +7 903 111 22 33;не тот номер;23.11.2026 12:30\n\
         +7 926 000 11 22;трубку взяла бабушка;23.11.2026 12:40\n",
    )
    .unwrap();
    // One row is unreadable: it is named, with a warning; the rest are recorded.
    let o = ok(run(&[
        "call-result",
        "import",
        s(&results),
        "--db",
        s(&db),
        "--as-of",
        "2026-11-23T13:00:00+03:00",
        "--json",
    ]));
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 call-result rows were not recorded"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["recorded"], 3);
    assert_eq!(
        v["rows_rejected"][0]["row"], 4,
        "an outcome nobody knows is named"
    );
    assert_eq!(v["withdrawn"], 1);
    assert_eq!(v["suppressed"], 2);
    // Loading the same file again changes nothing.
    let again = ok(run(&[
        "call-result",
        "import",
        s(&results),
        "--db",
        s(&db),
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["unchanged"], true);

    // Reached: warmer. Asked not to call: withdrawn and never listed again. Wrong number:
    // that number is out.
    assert_eq!(engagement(&db, "+79161234567"), 6);
    ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--as-of",
        "2026-11-23T13:00:00+03:00",
    ]));
    assert_eq!(phones(&read_csv(&out, b',')), vec!["+79161234567"]);
    let conn = Connection::open(&db).unwrap();
    let kim: String = conn
        .query_row(
            "SELECT call_consent FROM leads WHERE phone_e164 = '+79245556677'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kim, "withdrawn");
    drop(conn);

    // Engagement events: a site visit and a reply make Смирнова warmer.
    let events = smirnova_visits_and_replies(dir.path(), &db, "2026-11-23T13:00:00+03:00");
    assert_eq!(engagement(&db, "+79031112233"), 2 + 8);
    let bad = run(&[
        "events",
        "import",
        s(&events),
        "--db",
        s(&db),
        "--kind",
        "purchase",
    ]);
    assert_eq!(bad.status.code(), Some(65));
}

/// A run that rebuilds golden records lands them already scored (so `leads` is not
/// updated in the transaction that inserted it); the scores must be exactly what the
/// warmth stage gives, engagements included.
#[test]
fn golden_records_land_scored_as_the_warmth_stage_scores_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    smirnova_visits_and_replies(dir.path(), &db, NOON_MSK);
    // New rows: one more submission by Смирнова, and a new person. Golden records are
    // rebuilt and scored as of the run's time.
    let as_of = "2026-11-23T15:00:00+03:00";
    let summary = import_forms(
        dir.path(),
        &db,
        &[
            r#"{"name": "Смирнова Анна Петровна", "phone": "8 903 111 22 33", "email": "smirnova@mail.ru", "city": "Москва", "consent": "да", "consent_at": "2026-11-20 10:00"}"#,
            r#"{"name": "Новиков Илья", "phone": "+7 915 777-88-99", "city": "Тверь", "consent": "да", "consent_at": "2026-11-23 09:00"}"#,
        ],
        as_of,
    );
    // The run scored the leads it changed and those with engagement points (Смирнова's);
    // the others keep their points and decay at read time.
    let scored = summary["warmth"]["leads"].as_u64().unwrap();
    assert!((2..6).contains(&scored), "{scored} leads scored");
    assert!(engagement(&db, "+79031112233") > 0, "engagements counted");

    let store = leadpipe::store::Store::open(&db).unwrap();
    let settings = leadpipe::settings::Settings::of_base(&store)
        .unwrap()
        .warmth;
    let as_of = chrono::DateTime::parse_from_rfc3339(as_of)
        .unwrap()
        .to_utc();
    let scored_now = |store: &leadpipe::store::Store| -> Vec<String> {
        let mut stmt = store
            .connection()
            .prepare(
                "SELECT to_json(t)::VARCHAR FROM (
                     SELECT lead_id, warmth_score, warmth_tier, warmth_origin, warmth_recency,
                            warmth_frequency, warmth_engagement, warmth_completeness,
                            warmth_last_touch_at
                     FROM leads WHERE warmth_scored_at = ?::TIMESTAMPTZ ORDER BY lead_id) t",
            )
            .unwrap();
        let rows = stmt
            .query_map([as_of.to_rfc3339()], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows
    };
    let landed = scored_now(&store);
    assert_eq!(landed.len() as u64, scored);
    store.begin().unwrap();
    store.score_warmth(&settings, as_of).unwrap();
    let again = scored_now(&store);
    store.rollback();
    // Scoring every lead again as of the run's time leaves those rows as they landed.
    let missing: Vec<_> = landed.iter().filter(|r| !again.contains(r)).collect();
    assert!(
        missing.is_empty(),
        "the warmth stage scores these otherwise: {missing:?}"
    );
}

/// An increment that does not touch a lead with engagement points still scores that lead
/// again (its points lapse as events leave the window), while the leads it changed land
/// scored: Смирнова's visit and reply count in November and are gone 100 days later,
/// when a list with only someone else comes in.
#[test]
fn an_increment_elsewhere_lets_engagement_points_lapse() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    smirnova_visits_and_replies(dir.path(), &db, NOON_MSK);
    assert_eq!(engagement(&db, "+79031112233"), 2 + 8);
    let summary = import_forms(
        dir.path(),
        &db,
        &[
            r#"{"name": "Новиков Илья", "phone": "+7 915 777-88-99", "city": "Тверь", "consent": "да", "consent_at": "2027-03-01 09:00"}"#,
        ],
        "2027-03-03T12:00:00+03:00",
    );
    assert_eq!(summary["dedupe"]["incremental"], true, "{summary}");
    assert_eq!(engagement(&db, "+79031112233"), 0, "lapsed");
    assert!(
        summary["warmth"]["leads"].as_u64().unwrap() >= 2,
        "{summary}"
    );
    let conn = Connection::open(&db).unwrap();
    let novikov: Option<i64> = conn
        .query_row(
            "SELECT warmth_score FROM leads WHERE phone_e164 = '+79157778899'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(novikov.is_some(), "the new lead landed scored");
}
