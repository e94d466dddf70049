//! Call lists as people open them: the default CSV suits Russian Excel (`;`, BOM, phones
//! and times that stay text), the XLSX has typed cells, widths, a frozen header and a
//! filter, and LibreOffice (where installed; required in CI) reads the phones back intact.
//! And an empty list says why, in words.

mod common;

use common::{ok, run, s};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Noon in Moscow.
const NOON_MSK: &str = "2026-11-23T12:00:00+03:00";

/// Two leads who ticked the consent box (Moscow and Vladivostok), one who did not.
fn form_base(dir: &Path) -> PathBuf {
    let form = dir.join("form.jsonl");
    std::fs::write(
        &form,
        [
            r#"{"name": "Иванов Иван Иванович", "phone": "+7 916 123-45-67", "city": "Москва", "consent": "да", "consent_at": "2026-11-22 10:00"}"#,
            r#"{"name": "Ким Олег", "phone": "8 924 555 66 77", "city": "Владивосток", "consent": "да", "consent_at": "2026-11-21 10:00"}"#,
            r#"{"name": "Отказов Семён", "phone": "+7 926 000-11-22", "city": "Москва", "consent": "нет"}"#,
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

fn call_list(db: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["call-list", "--db", s(db), "--out", s(out)];
    if !extra.contains(&"--as-of") {
        args.extend_from_slice(&["--as-of", NOON_MSK]);
    }
    args.extend_from_slice(extra);
    String::from_utf8(ok(run(&args)).stdout).unwrap()
}

#[test]
fn the_default_csv_opens_right_in_russian_excel() {
    let dir = tempfile::tempdir().unwrap();
    let db = form_base(dir.path());
    let out = dir.path().join("calls.csv");
    call_list(&db, &out, &[]);
    let text = std::fs::read_to_string(&out).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a BOM for Excel");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[2], "Телефон");
    assert_eq!(header[4], "ФИО");
    assert!(
        header.contains(&"Звонить до (UTC+03:00)".to_string()),
        "{header:?}"
    );
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // Phones as text a spreadsheet keeps: spaces, no bare `+7…` digits.
    assert_eq!(rows[0][col("Телефон")], "+7 916 123-45-67");
    assert_eq!(rows[1][col("Телефон")], "+7 924 555-66-77");
    // Moscow's window closes at 21:00 Moscow time; Vladivostok's at 21:00 there = 14:00 MSK.
    assert_eq!(rows[0][col("Звонить до (UTC+03:00)")], "23.11.2026 21:00");
    assert_eq!(rows[1][col("Звонить до (UTC+03:00)")], "23.11.2026 14:00");
    assert_eq!(rows[1][col("Пояс клиента")], "UTC+10:00");
    assert_eq!(rows[0][col("Теплота")], "горячий");

    // English on request; the machine style keeps the columns dialers read.
    call_list(&db, &out, &["--lang", "en"]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("\u{feff}Operator;Lead ID;Phone;"),
        "{text}"
    );
    call_list(&db, &out, &["--style", "machine"]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("\u{feff}operator,lead_id,phone_e164,"),
        "{text}"
    );
    assert!(text.contains(",+79161234567,"), "{text}");
}

#[test]
fn the_xlsx_has_typed_cells_widths_a_frozen_header_and_a_filter() {
    let dir = tempfile::tempdir().unwrap();
    let db = form_base(dir.path());
    let xlsx = dir.path().join("calls.xlsx");
    call_list(&db, &xlsx, &[]);
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let range = book.worksheet_range("Звонки").unwrap();
    assert_eq!(range.get((0, 2)), Some(&Data::String("Телефон".into())));
    assert_eq!(
        range.get((1, 2)),
        Some(&Data::String("+7 916 123-45-67".into())),
        "phones are text cells"
    );
    assert!(
        matches!(range.get((1, 1)), Some(Data::Float(_))),
        "lead id is a number"
    );
    let close = range.get((1, 14)).unwrap();
    let Data::DateTime(t) = close else {
        panic!("call-before is a date-time cell, got {close:?}")
    };
    let t = t.as_datetime().unwrap();
    assert_eq!(t.to_string(), "2026-11-23 21:00:00", "in the base's zone");

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&xlsx).unwrap()).unwrap();
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet)
        .unwrap();
    assert!(sheet.contains("<autoFilter ref=\"A1:S3\""), "{sheet}");
    assert!(sheet.contains("state=\"frozen\""), "{sheet}");
    assert!(sheet.contains("customWidth=\"1\""), "{sheet}");
}

/// LibreOffice's own reading of our files, converted back to CSV.
fn libreoffice_reads(file: &Path, infilter: Option<&str>, out_dir: &Path) -> Option<String> {
    let soffice = ["soffice", "libreoffice"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok());
    let Some(soffice) = soffice else {
        assert!(
            std::env::var_os("LEADPIPE_REQUIRE_LIBREOFFICE").is_none(),
            "LibreOffice is required here but not installed"
        );
        eprintln!("LibreOffice not installed: skipped");
        return None;
    };
    let mut cmd = Command::new(soffice);
    cmd.arg("--headless").arg(format!(
        "-env:UserInstallation=file://{}/lo-profile",
        out_dir.display()
    ));
    if let Some(f) = infilter {
        cmd.arg(format!("--infilter={f}"));
    }
    // Output: UTF-8 (76), `,` (44), quotes (34).
    let o = cmd
        .args([
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
        ])
        .arg(out_dir)
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let name = file.file_stem().unwrap().to_str().unwrap();
    Some(std::fs::read_to_string(out_dir.join(format!("{name}.csv"))).unwrap())
}

#[test]
fn libreoffice_opens_both_files_with_the_phones_intact() {
    let dir = tempfile::tempdir().unwrap();
    let db = form_base(dir.path());
    let csv_in = dir.path().join("list.csv");
    let xlsx_in = dir.path().join("book.xlsx");
    call_list(&db, &csv_in, &[]);
    call_list(&db, &xlsx_in, &[]);
    let out = dir.path().join("lo");
    std::fs::create_dir_all(&out).unwrap();
    // The CSV as a user opens it: `;` separated (59), UTF-8 (76), types detected.
    let Some(from_csv) = libreoffice_reads(&csv_in, Some("CSV:59,34,76,1"), &out) else {
        return;
    };
    let from_xlsx = libreoffice_reads(&xlsx_in, None, &out).unwrap();
    for (what, text) in [("csv", &from_csv), ("xlsx", &from_xlsx)] {
        assert!(text.contains("+7 916 123-45-67"), "{what}: {text}");
        assert!(text.contains("+7 924 555-66-77"), "{what}: {text}");
        assert!(text.contains("UTC+10:00"), "{what}: {text}");
        assert!(!text.contains(",79161234567"), "{what}: {text}");
        assert!(text.contains("Иванов Иван Иванович"), "{what}: {text}");
    }
}

#[test]
fn an_empty_list_from_a_bought_list_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let bought = dir.path().join("vendor.csv");
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(
        "ФИО;Телефон;Согласие\nПетров Пётр;+7 916 222-33-44;да\nСидорова Анна;+7 916 333-44-55;да\n",
    );
    std::fs::write(&bought, &cp1251).unwrap();
    let db = dir.path().join("b.duckdb");
    ok(run(&[
        "import",
        s(&bought),
        "--origin",
        "purchased",
        "--db",
        s(&db),
        "--as-of",
        NOON_MSK,
    ]));
    let out = dir.path().join("calls.csv");
    // The vendor's claim is recorded when the file is read (now): ask a little later.
    let later = ["--as-of", "2099-01-01T12:00:00+03:00"];
    let said = call_list(&db, &out, &later);
    assert!(said.contains("Список пуст"), "{said}");
    assert!(said.contains("купленных"), "{said}");
    assert!(said.contains("--purpose service"), "{said}");
    let json = call_list(&db, &out, &[&later[..], &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let reasons = v["explanation"]["reasons"].as_array().unwrap();
    assert_eq!(reasons[0]["reason"], "consent_claimed");
    assert_eq!(reasons[0]["count"], 2);

    // At night in Moscow the form base's list is short, and the flag that helps is named.
    let form_db = form_base(dir.path());
    let night = call_list(
        &form_db,
        &out,
        &["--as-of", "2026-11-23T23:30:00+03:00", "--lang", "en"],
    );
    assert!(night.contains("outside the calling window"), "{night}");
    assert!(night.contains("--outside-window schedule"), "{night}");
}
