//! `leadpipe export` end to end: one row per golden record, the CRMs' own column names,
//! only callable leads with only their callable numbers by default, the call list's
//! filters, and a withdrawal honoured at once.

mod common;

use common::{ok, run, s};
use std::path::{Path, PathBuf};

const NOON_MSK: &str = "2026-11-23T12:00:00+03:00";

/// Иванов twice (two spellings, one person), Ким, and Отказов who did not consent.
fn base(dir: &Path) -> PathBuf {
    let form = dir.join("form.jsonl");
    std::fs::write(
        &form,
        [
            r#"{"name": "Иванов Иван Иванович", "phone": "+7 916 123-45-67", "email": "ivanov@mail.ru", "city": "Москва", "consent": "да", "consent_at": "2026-11-22 10:00"}"#,
            r#"{"name": "Иванов Иван", "phone": "8 (916) 123-45-67", "email": "IVANOV@mail.ru", "city": "Москва", "consent": "да", "consent_at": "2026-11-22 11:00"}"#,
            r#"{"name": "Ким Олег", "phone": "+7 924 555-66-77", "city": "Владивосток", "consent": "да", "consent_at": "2026-11-21 10:00"}"#,
            r#"{"name": "Отказов Семён", "phone": "+7 926 000-11-22", "city": "Москва", "consent": "нет"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let db = dir.join("crm.duckdb");
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

fn export(db: &Path, out: &Path, extra: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec![
        "export",
        "--db",
        s(db),
        "--out",
        s(out),
        "--as-of",
        NOON_MSK,
    ];
    args.extend_from_slice(extra);
    ok(run(&args));
    let text = std::fs::read_to_string(out).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .from_reader(text.as_bytes());
    r.records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn bitrix24_gets_callable_golden_records_under_its_own_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let out = dir.path().join("b24.csv");
    let rows = export(&db, &out, &["--format", "bitrix24"]);
    let raw = std::fs::read(&out).unwrap();
    assert!(
        !raw.starts_with(b"\xef\xbb\xbf"),
        "no BOM before the first header"
    );
    assert_eq!(
        rows[0][..8],
        [
            "Название лида",
            "Фамилия",
            "Имя",
            "Отчество",
            "Мобильный телефон",
            "Другой телефон",
            "Частный e-mail",
            "Другой e-mail"
        ]
    );
    // Иванов's two rows are one lead; Отказов may not be called.
    assert_eq!(rows.len(), 3, "{rows:?}");
    let ivanov = rows.iter().find(|r| r[1] == "Иванов").unwrap();
    assert_eq!(ivanov[0], "Иванов Иван Иванович");
    assert_eq!(ivanov[3], "Иванович");
    assert_eq!(ivanov[4], "+79161234567");
    assert!(!rows.iter().flatten().any(|c| c.contains("79260001122")));

    // Every lead, with who may be called.
    let xlsx_free = dir.path().join("all.csv");
    let all = export(&db, &xlsx_free, &["--format", "csv", "--consent", "any"]);
    assert_eq!(all.len(), 4, "{all:?}");
    let last = all[0].len() - 1;
    assert_eq!(all[0][last], "Можно звонить");
    let otkazov = all.iter().find(|r| r[1] == "Отказов Семён").unwrap();
    assert_eq!(otkazov[last], "нет");
    assert_eq!(otkazov[2], "+7 926 000-11-22");

    // The call list's filters.
    let moscow = export(&db, &out, &["--format", "bitrix24", "--city", "Москва"]);
    assert_eq!(moscow.len(), 2, "{moscow:?}");
}

#[test]
fn a_withdrawn_number_leaves_the_export_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    ok(run(&[
        "consent",
        "withdraw",
        "--phone",
        "+79245556677",
        "--at",
        "2026-11-23T10:00:00+03:00",
        "--db",
        s(&db),
    ]));
    let out = dir.path().join("amo.csv");
    let rows = export(&db, &out, &["--format", "amocrm"]);
    assert_eq!(rows[0][1], "Полное имя контакта");
    assert_eq!(rows[0][5], "Мобильный телефон");
    assert_eq!(rows.len(), 2, "only Иванов is left: {rows:?}");
    assert!(!rows.iter().flatten().any(|c| c.contains("79245556677")));
}

#[test]
fn amocrm_takes_an_xlsx_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path());
    let out = dir.path().join("amo.xlsx");
    ok(run(&[
        "export",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--format",
        "amocrm",
        "--as-of",
        NOON_MSK,
    ]));
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let range = book.worksheet_range("Лиды").unwrap();
    assert_eq!(
        range.get((0, 1)),
        Some(&Data::String("Полное имя контакта".into()))
    );
    let phones: Vec<String> = (1..range.height())
        .map(|r| range.get((r, 5)).unwrap().to_string())
        .collect();
    assert!(phones.contains(&"+79161234567".to_string()), "{phones:?}");
    assert_eq!(range.height(), 3);
}
