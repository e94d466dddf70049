//! The matcher on the cases reported from other people's data (a three-source base leadpipe
//! did not generate): typos in any name part, another keyboard layout, other
//! transliterations, companies written two ways; and the hard negatives — a father and
//! son on one landline, namesakes chained through rows that give no patronymic. Through the
//! binary, into a real DuckDB file.

mod common;
use common::{ok, run, s};
use leadpipe::store::Store;

const ROWS: &[&str] = &[
    // Same people, kept apart before: a typo makes the first names "incompatible".
    r#"{"id":"nikonova-1","name":"Никонова Эмилия Анатольевна","phone":"+7 906 683-03-51","email":"nikonova_e391@list.ru"}"#,
    r#"{"id":"nikonova-2","name":"Нконова Эмиия Анатольевна","phone":"+7 906 683-03-51","email":"nikonova_e391@list.ru"}"#,
    r#"{"id":"gordeeva-1","name":"Гордеева Надежда","phone":"+7 912 301-22-41","email":"gordeeva.n@mail.ru"}"#,
    r#"{"id":"gordeeva-2","name":"Гордеева Наджда","phone":"+7 912 301-22-41","email":"gordeeva.n@mail.ru"}"#,
    // Typos in surname and first name at once, the same number and city.
    r#"{"id":"frolov-1","name":"Фроолв Боуис Гордеевич","phone":"919 600 16 99","city":"Сусуман"}"#,
    r#"{"id":"frolov-2","name":"Борис Фролов","phone":"8 919 600-16-99","city":"Сусуман"}"#,
    // Typed with the keyboard in the Latin layout.
    r#"{"id":"kornilova-1","name":"Rjhybkjdf Ghfcrjdmz Fafyfcmtdyf","phone":"+7 903 120-44-18"}"#,
    r#"{"id":"kornilova-2","name":"Корнилова Прасковья","phone":"+7 903 120-44-18"}"#,
    // Another transliteration and a typo.
    r#"{"id":"yudin-1","name":"Judin Mrtyn","phone":"+7 915 404-12-12"}"#,
    r#"{"id":"yudin-2","name":"Юдин Мартын Иосифович","phone":"+7 915 404-12-12"}"#,
    r#"{"id":"yulia-1","name":"Iuliia Sokolova","phone":"+7 926 555-01-02"}"#,
    r#"{"id":"yulia-2","name":"Соколова Юлия","phone":"+7 926 555-01-02"}"#,
    // One company, its legal form written two ways, on one number.
    r#"{"id":"port-1","company":"ПАО «Новикова Порт»","phone":"+7 495 700-10-10"}"#,
    r#"{"id":"port-2","company":"Новикова Порт, ПАО","phone":"+7 495 700-10-10"}"#,
    // Different people: father and son on the home landline.
    r#"{"id":"ponomarev-father","name":"Пономарев Тимур Денисович","phone":"+7 495 611-22-33"}"#,
    r#"{"id":"ponomarev-son","name":"Пономарев Тимур Тимурович","phone":"+7 495 611-22-33"}"#,
    // Different people chained through rows that give no patronymic.
    r#"{"id":"shilov-a","name":"Шилов Елисей Арсеньевич","phone":"+7 961 053-33-02"}"#,
    r#"{"id":"shilov-b","name":"Шилов Елисей Елисеевич","phone":"+7 964 121-88-95"}"#,
    r#"{"id":"shilov-a2","name":"Шилов Елисей","phone":"+7 961 053-33-02","email":"shilov@mail.ru"}"#,
    r#"{"id":"shilov-b2","name":"Шилов Елисей","phone":"+7 964 121-88-95","email":"shilov@mail.ru"}"#,
    // Two firms behind one business centre's switchboard.
    r#"{"id":"firm-a","company":"ООО «Вектор»","phone":"+7 495 222-00-00"}"#,
    r#"{"id":"firm-b","company":"ООО «Альфа-Строй»","phone":"+7 495 222-00-00"}"#,
    // A company in the name field is a company, not a person called «Пао Кулакова».
    r#"{"id":"kulakova","name":"ПАО \"Кулакова\"","phone":"+7 495 333-44-55"}"#,
];

fn lead_of(db: &std::path::Path) -> impl Fn(&str) -> i64 {
    let store = Store::open_read_only(db).unwrap();
    let mut stmt = store
        .connection()
        .prepare("SELECT raw_values->>'id', lead_id FROM records JOIN raw_records USING (raw_id)")
        .unwrap();
    let pairs: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    move |id: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == id)
            .unwrap_or_else(|| panic!("{id} not landed"))
            .1
    }
}

#[test]
fn reported_cases_merge_and_stay_apart_as_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.jsonl");
    std::fs::write(&file, ROWS.join("\n") + "\n").unwrap();
    let db = dir.path().join("cases.duckdb");
    ok(run(&[
        "import",
        s(&file),
        "--db",
        s(&db),
        "--origin",
        "form",
        "--quiet",
    ]));
    let lead = lead_of(&db);
    for (a, b) in [
        ("nikonova-1", "nikonova-2"),
        ("gordeeva-1", "gordeeva-2"),
        ("frolov-1", "frolov-2"),
        ("kornilova-1", "kornilova-2"),
        ("yudin-1", "yudin-2"),
        ("yulia-1", "yulia-2"),
        ("port-1", "port-2"),
    ] {
        assert_eq!(lead(a), lead(b), "{a} and {b} are one person");
    }
    for (a, b) in [
        ("ponomarev-father", "ponomarev-son"),
        ("shilov-a", "shilov-b"),
        ("firm-a", "firm-b"),
    ] {
        assert_ne!(lead(a), lead(b), "{a} and {b} are different people");
    }

    let store = Store::open_read_only(&db).unwrap();
    let conn = store.connection();
    let (name, company, source): (Option<String>, Option<String>, String) = conn
        .query_row(
            "SELECT full_name, company, enrichment_source::VARCHAR FROM records
             JOIN raw_records USING (raw_id) WHERE raw_values->>'id' = 'kulakova'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(name, None);
    assert_eq!(company.as_deref(), Some("ПАО \"Кулакова\""));
    assert!(source.contains("full_name"), "{source}");
    let relaid: String = conn
        .query_row(
            "SELECT enrichment_source::VARCHAR FROM records JOIN raw_records USING (raw_id)
             WHERE raw_values->>'id' = 'kornilova-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(relaid.contains("keyboard_layout"), "{relaid}");

    // The refusal that kept the father and son apart is on record, and `explain` shows it.
    let refused: i64 = conn
        .query_row(
            "SELECT count(*) FROM match_refusals WHERE \"constraint\" = 'patronymics_differ'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(refused >= 1);
    drop(store); // `explain` opens the base itself
    let father = lead("ponomarev-father").to_string();
    let out = ok(run(&["explain", &father, "--db", s(&db)]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused: patronymics_differ"), "{text}");
    // The merge despite two typos shows its graded name level.
    let nikonova = lead("nikonova-1").to_string();
    let out = ok(run(&["explain", &nikonova, "--db", s(&db)]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"partial\""), "{text}");
}
