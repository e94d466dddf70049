//! Call results in the words operators use, end to end through the binary: Russian and
//! English outcomes in UTF-8 and CP1251 files, rows nobody can read rejected one by one,
//! callbacks that hold a lead back and then put it first, and «не звонить» for good.

mod common;

use common::{ok, run, s};
use duckdb::Connection;
use serde_json::Value;
use std::path::{Path, PathBuf};

const IVANOV: &str = "+79161234567";
const SMIRNOVA: &str = "+79031112233";
const PETROV: &str = "+79057778899";
const SIDOROV: &str = "+79261112233";

/// Four Moscow leads who ticked the consent box, Иванов most recently, Смирнова seven
/// weeks ago; Иванов and Сидоров came back through a second form with an address (warmer).
fn base(dir: &Path) -> PathBuf {
    let form = dir.join("form.jsonl");
    std::fs::write(
        &form,
        [
            r#"{"name": "Иванов Иван", "phone": "+7 916 123-45-67", "city": "Москва", "consent": "да", "consent_at": "2026-11-22 10:00"}"#,
            r#"{"name": "Смирнова Анна", "phone": "+7 903 111-22-33", "city": "Москва", "consent": "да", "consent_at": "2026-10-01 10:00"}"#,
            r#"{"name": "Петров Пётр", "phone": "+7 905 777-88-99", "city": "Москва", "consent": "да", "consent_at": "2026-11-15 10:00"}"#,
            r#"{"name": "Сидоров Сидор", "phone": "+7 926 111-22-33", "city": "Москва", "consent": "да", "consent_at": "2026-11-20 10:00"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let again = dir.join("form2.jsonl");
    std::fs::write(
        &again,
        [
            r#"{"name": "Иванов Иван", "phone": "8 916 123 45 67", "email": "ivanov@mail.ru", "city": "Москва", "consent": "да", "consent_at": "2026-11-22 11:00"}"#,
            r#"{"name": "Сидоров Сидор", "phone": "8 926 111 22 33", "email": "sidorov@mail.ru", "city": "Москва", "consent": "да", "consent_at": "2026-11-20 11:00"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let db = dir.join("calls.duckdb");
    for file in [&form, &again] {
        ok(run(&[
            "import",
            s(file),
            "--origin",
            "form",
            "--db",
            s(&db),
            "--as-of",
            "2026-11-23T12:00:00+03:00",
        ]));
    }
    db
}

/// Imports a call-result file as of `as_of`; the JSON summary and stderr.
fn import(db: &Path, file: &Path, as_of: &str) -> (Value, String) {
    let o = ok(run(&[
        "call-result",
        "import",
        s(file),
        "--db",
        s(db),
        "--as-of",
        as_of,
        "--json",
    ]));
    (
        serde_json::from_slice(&o.stdout).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// (outcome, outcome_text, callback_at as UTC text, note) of the number's latest call.
fn last_call(db: &Path, phone: &str) -> (String, Option<String>, Option<String>, Option<String>) {
    let conn = Connection::open(db).unwrap();
    let utc = |us: Option<i64>| {
        us.and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    conn.query_row(
        "SELECT outcome, outcome_text, epoch_us(callback_at), note
         FROM engagements WHERE phone_e164 = ? ORDER BY occurred_at DESC, engagement_id DESC LIMIT 1",
        [phone],
        |r| Ok((r.get(0)?, r.get(1)?, utc(r.get(2)?), r.get(3)?)),
    )
    .unwrap()
}

/// The phones of a call list made as of `as_of`, in order, and its counts.
fn call_list(db: &Path, dir: &Path, as_of: &str) -> (Vec<String>, Value) {
    let (rows, stats) = scored_call_list(db, dir, as_of);
    (rows.into_iter().map(|(p, _)| p).collect(), stats)
}

/// (phone, score) rows of a call list made as of `as_of`, and its counts.
fn scored_call_list(db: &Path, dir: &Path, as_of: &str) -> (Vec<(String, i64)>, Value) {
    let out = dir.join("calls.csv");
    let o = ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(db),
        "--out",
        s(&out),
        "--as-of",
        as_of,
        "--json",
    ]));
    let stats: Value = serde_json::from_slice(&o.stdout).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[2].to_string(), x[9].parse().unwrap())
        })
        .collect();
    (rows, stats["rows"].clone())
}

#[test]
fn russian_outcomes_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());

    // UTF-8, commas, the words operators type.
    let utf8 = dir.path().join("results.csv");
    std::fs::write(
        &utf8,
        "Телефон,Результат,Дата звонка,Перезвонить в,Комментарий\n\
         8 916 123-45-67,Не взял трубку,23.11.2026 12:10,,\n\
         +7 903 111 22 33,перезвонить завтра,23.11.2026 12:20,,просила после обеда\n\
         +7 905 777 88 99,ЗАНЯТО,23.11.2026 12:30,,\n\
         +7 926 111 22 33,Сделка,23.11.2026 12:40,,оплатит счёт до пятницы\n",
    )
    .unwrap();
    let (v, stderr) = import(&db, &utf8, "2026-11-23T13:00:00+03:00");
    assert_eq!(v["recorded"], 4, "{v}");
    assert_eq!(v["rows_rejected"].as_array().unwrap().len(), 0, "{v}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(v["by_kind"]["no_answer"], 2);
    assert_eq!(v["by_kind"]["callback"], 1);
    assert_eq!(v["by_kind"]["reached"], 1);
    assert_eq!(v["callbacks"], 1);
    // «Перезвонить завтра»: from the start of the next day in the base's zone (Moscow).
    assert_eq!(
        last_call(&db, SMIRNOVA),
        (
            "callback".into(),
            Some("перезвонить завтра".into()),
            Some("2026-11-23T21:00:00Z".into()),
            Some("просила после обеда".into())
        )
    );
    assert_eq!(last_call(&db, IVANOV).1.as_deref(), Some("Не взял трубку"));
    assert_eq!(
        last_call(&db, SIDOROV).3.as_deref(),
        Some("оплатит счёт до пятницы")
    );

    // CP1251, semicolons, other headers, an explicit callback time.
    let cp1251 = dir.path().join("results-1251.csv");
    let text = "Номер телефона;Итог звонка;Дата;Дата перезвона;Примечание\r\n\
                89161234567;Автоответчик;23.11.2026 14:00;;\r\n\
                89031112233;Перезвонить;23.11.2026 14:05;24.11.2026 15:30;просила в 15:30\r\n\
                89057778899;НЕ ИНТЕРЕСНО;23.11.2026 14:10;;\r\n\
                89261112233;Неверный номер;23.11.2026 14:15;;\r\n";
    let (bytes, _, lossy) = encoding_rs::WINDOWS_1251.encode(text);
    assert!(!lossy);
    std::fs::write(&cp1251, &bytes).unwrap();
    let (v, _) = import(&db, &cp1251, "2026-11-23T15:00:00+03:00");
    assert_eq!(v["recorded"], 4, "{v}");
    assert_eq!(v["by_kind"]["no_answer"], 1);
    assert_eq!(v["by_kind"]["callback"], 1);
    assert_eq!(v["by_kind"]["refused"], 1);
    assert_eq!(v["by_kind"]["wrong_number"], 1);
    assert_eq!(v["suppressed"], 1);
    assert_eq!(
        last_call(&db, SMIRNOVA),
        (
            "callback".into(),
            Some("Перезвонить".into()),
            Some("2026-11-24T12:30:00Z".into()),
            Some("просила в 15:30".into())
        )
    );
    assert_eq!(last_call(&db, PETROV).1.as_deref(), Some("НЕ ИНТЕРЕСНО"));

    // `explain` shows the lead's calls with the operator's words and notes.
    let lead: i64 = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT lead_id FROM leads WHERE phone_e164 = ?",
            [SMIRNOVA],
            |r| r.get(0),
        )
        .unwrap();
    let out = ok(run(&["explain", &lead.to_string(), "--db", s(&db)]));
    let text = String::from_utf8_lossy(&out.stdout);
    let calls: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("calls (2):"))
        .take(3)
        .collect();
    assert_eq!(calls.len(), 3, "{text}");
    assert!(
        calls[1].contains(r#"callback ("перезвонить завтра")"#),
        "{text}"
    );
    assert!(calls[1].contains("note: просила после обеда"), "{text}");
    assert!(calls[2].contains("note: просила в 15:30"), "{text}");
}

#[test]
fn an_unknown_outcome_is_rejected_by_row_and_the_file_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let file = dir.path().join("results.csv");
    std::fs::write(
        &file,
        // "Номер" alone is no header the contact reader knows: the others make it one.
        "Номер;Результат;Перезвонить в;Комментарий\n\
         +79161234567;дозвон;;\n\
         +79031112233;трубку взяла бабушка;;\n\
         +79057778899;;;просто так\n\
         +79261112233;перезвонить;когда-нибудь;\n\
         +79261112233;no answer;;\n",
    )
    .unwrap();
    let o = ok(run(&[
        "call-result",
        "import",
        s(&file),
        "--db",
        s(&db),
        "--as-of",
        "2026-11-23T13:00:00+03:00",
    ]));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stdout.contains("5 rows read, 2 recorded, 3 rejected"),
        "{stdout}"
    );
    // File, row, column and value, and the words that would have been understood.
    let line = stdout
        .lines()
        .find(|l| l.contains("row 2"))
        .expect("row 2 listed");
    assert!(line.contains(s(&file)), "{line}");
    assert!(
        line.contains(r#"column "Результат", value "трубку взяла бабушка""#),
        "{line}"
    );
    assert!(
        line.contains("не взял трубку") && line.contains("no answer"),
        "{line}"
    );
    assert!(
        stdout.contains("row 3, column \"Результат\": no call outcome"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"row 4, column "Перезвонить в", value "когда-нибудь""#),
        "{stdout}"
    );
    assert!(
        stderr.contains("warning: 3 call-result rows were not recorded"),
        "{stderr}"
    );
    let conn = Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM engagements", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2, "the readable rows were recorded");
}

#[test]
fn a_callback_keeps_a_lead_off_the_list_until_its_time_then_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let (before, _) = call_list(&db, dir.path(), "2026-11-23T12:30:00+03:00");
    assert_eq!(
        before.last().map(String::as_str),
        Some(SMIRNOVA),
        "the coolest"
    );

    let file = dir.path().join("results.csv");
    std::fs::write(
        &file,
        "Phone,Outcome,Call date,Callback at\n\
         +79031112233,Call back,2026-11-23 12:20,2026-11-24 10:00\n\
         +79057778899,перезвонить через 2 часа,2026-11-23 12:20,\n",
    )
    .unwrap();
    import(&db, &file, "2026-11-23T12:30:00+03:00");

    // Before either time: both left out, and counted.
    let (phones, stats) = call_list(&db, dir.path(), "2026-11-23T13:00:00+03:00");
    assert_eq!(phones, [IVANOV, SIDOROV]);
    assert_eq!(stats["callback_later"], 2);
    // 14:20 has come for Петров: first, ahead of warmer leads. Смирнова still waits.
    let (rows, stats) = scored_call_list(&db, dir.path(), "2026-11-23T15:00:00+03:00");
    let phones: Vec<&str> = rows.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(phones, [PETROV, IVANOV, SIDOROV]);
    assert!(
        rows[0].1 < rows[1].1,
        "listed first for the callback, not warmth: {rows:?}"
    );
    assert_eq!(stats["callback_later"], 1);
    // The next morning both are due: the earlier promise first.
    let (rows, _) = scored_call_list(&db, dir.path(), "2026-11-24T11:00:00+03:00");
    let phones: Vec<&str> = rows.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(phones, [PETROV, SMIRNOVA, IVANOV, SIDOROV]);
    assert!(rows[1].1 < rows[2].1, "{rows:?}");

    // A later result for Петров's number closes his callback: back in warmth order.
    let later = dir.path().join("later.csv");
    std::fs::write(
        &later,
        "Телефон;Результат;Дата\n+79057778899;не берёт;24.11.2026 11:30\n",
    )
    .unwrap();
    import(&db, &later, "2026-11-24T11:40:00+03:00");
    let (rows, stats) = scored_call_list(&db, dir.path(), "2026-11-24T12:00:00+03:00");
    assert_eq!(rows[0].0, SMIRNOVA);
    assert_eq!(rows.len(), 4);
    assert_eq!(stats["callback_later"], 0);
    assert_ne!(rows[1].0, PETROV, "{rows:?}");
    assert!(rows[1..].windows(2).all(|w| w[0].1 >= w[1].1), "{rows:?}");
}

#[test]
fn do_not_call_in_russian_stops_the_number_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let file = dir.path().join("results.csv");
    // Said in the outcome, or only in the operator's note.
    std::fs::write(
        &file,
        "Телефон;Результат;Дата звонка;Комментарий\n\
         +79161234567;Больше не звонить!;23.11.2026 12:10;\n\
         +79031112233;дозвон;23.11.2026 12:20;клиентка просила её не беспокоить\n",
    )
    .unwrap();
    let (v, _) = import(&db, &file, "2026-11-23T13:00:00+03:00");
    assert_eq!(v["by_kind"]["do_not_call"], 2, "{v}");
    assert_eq!(v["withdrawn"], 2);
    assert_eq!(v["suppressed"], 2);
    let (phones, _) = call_list(&db, dir.path(), "2026-11-23T13:00:00+03:00");
    assert_eq!(phones, [SIDOROV, PETROV]);

    // A later "call back" on the same number does not make it callable again.
    let later = dir.path().join("later.csv");
    std::fs::write(
        &later,
        "Телефон;Результат;Дата звонка;Перезвонить в\n+79161234567;перезвонить;24.11.2026 10:00;24.11.2026 11:00\n",
    )
    .unwrap();
    import(&db, &later, "2026-11-24T10:30:00+03:00");
    let (phones, _) = call_list(&db, dir.path(), "2026-11-25T12:00:00+03:00");
    assert!(
        !phones.iter().any(|p| p == IVANOV || p == SMIRNOVA),
        "{phones:?}"
    );
    let conn = Connection::open(&db).unwrap();
    let consent: String = conn
        .query_row(
            "SELECT call_consent FROM leads WHERE phone_e164 = ?",
            [IVANOV],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(consent, "withdrawn");
}

/// The team's loop: make today's list, operators fill in «Результат» and «Комментарий» in
/// the file itself (CSV for Excel, or the XLSX), and it goes back in as call results. The
/// list's own schedule columns (`Звонить до (UTC+03:00)` …) are not read as the call's time.
#[test]
fn a_call_list_filled_in_by_operators_goes_back_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let list = dir.path().join("today.csv");
    ok(run(&[
        "call-list",
        "--db",
        s(&db),
        "--out",
        s(&list),
        "--as-of",
        "2026-11-23T12:00:00+03:00",
    ]));
    let text = std::fs::read_to_string(&list).unwrap();
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut rows: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    let phone_of = |row: &Vec<String>| row[col("Телефон")].replace([' ', '-'], "");
    for row in rows.iter_mut() {
        let phone = phone_of(row);
        if phone == IVANOV {
            row[col("Результат")] = "перезвонить завтра".into();
            row[col("Комментарий")] = "просил рассказать про тарифы".into();
        } else if phone == SMIRNOVA {
            row[col("Результат")] = "не звонить".into();
        }
    }
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_path(&list)
        .unwrap();
    w.write_record(&header).unwrap();
    for row in &rows {
        w.write_record(row).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let (summary, _) = import(&db, &list, "2026-11-23T15:00:00+03:00");
    assert_eq!(
        summary["rows_rejected"].as_array().map(Vec::len),
        Some(0),
        "{summary}"
    );
    assert_eq!(summary["recorded"], 2, "{summary}");
    assert_eq!(
        summary["not_called"],
        rows.len() - 2,
        "the rest were not rung yet"
    );
    let conn = Connection::open(&db).unwrap();
    let (outcome, occurred, note): (String, String, String) = conn
        .query_row(
            "SELECT outcome, strftime(occurred_at::TIMESTAMP, '%Y-%m-%d %H:%M'), note
             FROM engagements WHERE phone_e164 = ?",
            [IVANOV],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(outcome, "callback");
    // The import's time (15:00 MSK), not the list's «Звонить до» (21:00 MSK).
    assert_eq!(occurred, "2026-11-23 12:00");
    assert_eq!(note, "просил рассказать про тарифы");
    let stopped: String = conn
        .query_row(
            "SELECT outcome FROM engagements WHERE phone_e164 = ?",
            [SMIRNOVA],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stopped, "do_not_call");
}
