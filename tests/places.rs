//! Golden records people recognise, and place filters that find them, end to end: a
//! CP1251 list where one person appears three times under three spellings, and call lists
//! filtered by a city or region as people write it.

mod common;

use common::{ok, run, s};
use duckdb::Connection;
use std::path::{Path, PathBuf};

/// Noon in Moscow, a day after the consents.
const NOON_MSK: &str = "2026-11-23T12:00:00+03:00";

/// A purchased-looking list (CP1251, `;`) with consent given on a web form: Семёнов three
/// times (the full name with ё, initials only, then a patronymic's initial without ё: the
/// last row ranks best, as the latest landed), in Москва twice and Moscow once; Петрова in
/// «СПб», Уралов in Екатеринбург.
fn base(dir: &Path) -> PathBuf {
    let rows = [
        "ФИО;Телефон;Email;Город;Согласие;Дата согласия",
        "Семёнов Дмитрий Олегович;8 (916) 555-44-33;semenov@mail.ru;Москва;да;2026-11-22 10:00",
        "Семёнов Д.О.;89165554433;semenov@mail.ru;Москва;да;2026-11-22 10:00",
        "Семенов Дмитрий О.;+7 916 555-44-33;semenov@mail.ru;Moscow;да;2026-11-22 10:00",
        "Петрова Анна Сергеевна;+7 921 111-22-33;petrova@mail.ru;СПб;да;2026-11-22 10:00",
        "Уралов Игорь Петрович;+7 912 777-88-99;uralov@mail.ru;Екатеринбург;да;2026-11-22 10:00",
    ];
    let text = rows.join("\r\n") + "\r\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!unmappable);
    let csv = dir.join("leads.csv");
    std::fs::write(&csv, &bytes).unwrap();
    let db = dir.join("places.duckdb");
    ok(run(&[
        "import",
        s(&csv),
        "--origin",
        "form",
        "--db",
        s(&db),
        "--as-of",
        NOON_MSK,
    ]));
    db
}

/// The phone column of a call list written with `args`, and what the command said on
/// stderr.
fn call_list(db: &Path, out: &Path, args: &[&str]) -> (Vec<String>, Vec<String>, String) {
    let mut all = vec![
        "call-list",
        "--style",
        "machine",
        "--db",
        s(db),
        "--out",
        s(out),
        "--as-of",
        NOON_MSK,
    ];
    all.extend(args);
    let o = ok(run(&all));
    let text = std::fs::read_to_string(out).unwrap();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = r.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (phone, city) = (col("phone_e164"), col("city"));
    let mut phones = Vec::new();
    let mut cities = Vec::new();
    for row in r.records() {
        let row = row.unwrap();
        phones.push(row[phone].to_string());
        cities.push(row[city].to_string());
    }
    (
        phones,
        cities,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_golden_record_has_the_fullest_name_and_the_city_most_rows_give() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let conn = Connection::open(&db).unwrap();
    let lead: (String, String, String, String, String, i64) = conn
        .query_row(
            "SELECT full_name, city, city_canonical, region_code, region_name, record_count
             FROM leads WHERE phone_e164 = '+79165554433'",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        lead,
        (
            "Семёнов Дмитрий Олегович".to_string(),
            "Москва".to_string(),
            "Москва".to_string(),
            "RU-MOW".to_string(),
            "Москва".to_string(),
            3
        )
    );
    // The lead whose row said «СПб» keeps it as written, with the name people know.
    let spb: (String, String, String) = conn
        .query_row(
            "SELECT city, city_canonical, region_name FROM leads WHERE phone_e164 = '+79211112233'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        spb,
        (
            "СПб".to_string(),
            "Санкт-Петербург".to_string(),
            "Санкт-Петербург".to_string()
        )
    );
}

#[test]
fn city_and_region_filters_find_leads_by_any_name_or_code() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let out = dir.path().join("calls.csv");

    let (all, _, _) = call_list(&db, &out, &[]);
    assert_eq!(all.len(), 3, "{all:?}");

    for city in [
        "Санкт-Петербург",
        "санкт-петербург",
        "Питер",
        "Saint Petersburg",
    ] {
        let (phones, cities, err) = call_list(&db, &out, &["--city", city]);
        assert_eq!(phones, ["+79211112233"], "--city {city}");
        // The list shows the name people know, not the row's «СПб».
        assert_eq!(cities, ["Санкт-Петербург"], "--city {city}");
        assert!(!err.contains("warning"), "--city {city}: {err}");
    }
    for region in ["Москва", "moscow", "RU-MOW", "mow"] {
        let (phones, _, err) = call_list(&db, &out, &["--region", region]);
        assert_eq!(phones, ["+79165554433"], "--region {region}");
        assert!(!err.contains("warning"), "--region {region}: {err}");
    }
    let (phones, _, _) = call_list(&db, &out, &["--region", "Свердловская обл."]);
    assert_eq!(phones, ["+79127778899"]);
    let (both, _, _) = call_list(&db, &out, &["--city", "Мск", "--city", "Екб"]);
    assert_eq!(both.len(), 2, "{both:?}");
}

#[test]
fn a_place_the_gazetteer_does_not_know_warns_and_is_matched_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let out = dir.path().join("calls.csv");

    let (phones, _, err) = call_list(&db, &out, &["--city", "Санкт-Питербург"]);
    assert!(phones.is_empty(), "{phones:?}");
    assert!(
        err.contains(
            "warning: --city \"Санкт-Питербург\": no such city in the gazetteer \
             (matched as written); did you mean \"Санкт-Петербург\"?"
        ),
        "{err}"
    );
    let (_, _, err) = call_list(&db, &out, &["--region", "Екатеринбург"]);
    assert!(
        err.contains("--region \"Екатеринбург\": no such region") && err.contains("--city"),
        "{err}"
    );

    // --json carries the warnings too.
    let o = ok(run(&[
        "call-list",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--as-of",
        NOON_MSK,
        "--city",
        "Атлантида",
        "--city",
        "СПб",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("--city \"Атлантида\""),
        "{warnings:?}"
    );
    assert_eq!(v["rows"]["rows"], 1, "{v}");
}

#[test]
fn a_base_made_before_the_place_names_still_filters_by_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    // As an older build left it: no place-name columns, its own schema fingerprint.
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "ALTER TABLE leads DROP COLUMN city_canonical;
             ALTER TABLE leads DROP COLUMN region_name;
             UPDATE leadpipe_meta SET value = 'older' WHERE key = 'schema_fingerprint';",
        )
        .unwrap();
    }
    let out = dir.path().join("calls.csv");
    let (phones, cities, err) = call_list(&db, &out, &["--city", "Питер"]);
    assert_eq!(phones, ["+79211112233"], "{err}");
    // Until the next rebuild the list shows the city as written.
    assert_eq!(cities, ["СПб"]);
    let (phones, _, _) = call_list(&db, &out, &["--region", "moscow"]);
    assert_eq!(phones, ["+79165554433"]);
    let conn = Connection::open(&db).unwrap();
    let empty: i64 = conn
        .query_row(
            "SELECT count(*) FROM leads WHERE city_canonical IS NULL AND region_name IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(empty, 3, "the columns are back, empty");
}
