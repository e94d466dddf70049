//! Deals, spend, segments and `leadpipe analyse` end to end, through the binary: a Russian
//! CRM export with the answers worked out by hand, the same deals in three file formats,
//! re-exported orders, erasure, and the HTML page in headless Chromium. The checks against
//! what nobody here wrote are in `analysis_oracles.rs`.

mod common;

use common::{browser, count, dump_dom, import_deals, json, ok, root, run, s, screenshot_at};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The demo base (fixtures/) in a fresh folder.
fn demo_base(dir: &Path) -> PathBuf {
    let db = dir.join("demo.duckdb");
    let pipeline = root().join("pipelines/demo.toml");
    ok(run(&["run", s(&pipeline), "--db", s(&db), "--quiet"]));
    db
}

#[test]
fn a_crm_export_is_loaded_linked_and_counted_as_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_base(dir.path());
    let deals = root().join("fixtures/deals.csv");
    let loaded = json(run(&[
        "deals",
        "import",
        s(&deals),
        "--db",
        s(&db),
        "--json",
    ]));
    assert_eq!(loaded["rows_read"], 16);
    assert_eq!(loaded["loaded"], 13);
    assert_eq!(loaded["rows_rejected"], 3);
    // Every refused row is kept with its column and reason.
    let rejects = &loaded["rejects"];
    assert_eq!(rejects[0]["row"], 14);
    assert_eq!(rejects[0]["field"], "Дата");
    assert_eq!(rejects[1]["field"], "Сумма");
    assert_eq!(rejects[1]["value"], "двенадцать");
    assert!(rejects[2]["reason"]
        .as_str()
        .unwrap()
        .contains("no customer"));
    assert_eq!(count(&db, "SELECT count(*) FROM deal_rejects"), 3);
    assert_eq!(count(&db, "SELECT count(*) FROM deals"), 13);
    // The same file again changes nothing.
    let again = json(run(&[
        "deals",
        "import",
        s(&deals),
        "--db",
        s(&db),
        "--json",
    ]));
    assert!(again["already_loaded_from"].is_string());
    assert_eq!(count(&db, "SELECT count(*) FROM deals"), 13);
    let spend = root().join("fixtures/spend.csv");
    let spent = json(run(&[
        "spend",
        "import",
        s(&spend),
        "--db",
        s(&db),
        "--json",
    ]));
    assert_eq!(spent["loaded"], 5);

    let a = json(run(&[
        "analyse",
        "--db",
        s(&db),
        "--until",
        "2026-12-01",
        "--json",
    ]));
    let h = &a["headline"];
    // Иванов (3 won: two by phone, one by e-mail), Петрова (1 won, 1 refunded), Ivan
    // Petrov (3 won): leads; CRM-0042 (2 won), CRM-0077 (1 won, 1 open): not leads;
    // CRM-0099 only lost a deal: no customer.
    assert_eq!(h["customers"], 5, "{h}");
    assert_eq!(h["customers_who_are_leads"], 3);
    assert_eq!(h["orders"], 10);
    assert!((h["revenue"].as_f64().unwrap() - 91_440.5).abs() < 1e-6);
    assert_eq!(h["deals_lost"], 1);
    assert_eq!(h["deals_refunded"], 1);
    assert_eq!(h["deals_open"], 1);
    assert_eq!(h["repeat_customers"], 3); // Иванов, Petrov, CRM-0042
                                          // Spend by source beside the customers it brought: yandex-direct spent 32 000 on two.
    let direct = a["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "yandex-direct")
        .expect("yandex-direct listed");
    assert_eq!(direct["customers"], 2);
    assert!((direct["acquisition_cost"].as_f64().unwrap() - 16_000.0).abs() < 1e-6);
    // Predictions are stored per customer.
    assert_eq!(count(&db, "SELECT count(*) FROM customer_value"), 5);

    // Segments: life cycle as of 2026-12-01 (sleeping after 90 days, lost after 365).
    let sizes = json(run(&["segments", "--db", s(&db), "--json"]));
    let size = |dim: &str, seg: &str| {
        sizes
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["dimension"] == dim && x["segment"] == seg)
            .map(|x| {
                (
                    x["leads"].as_u64().unwrap(),
                    x["customers_not_leads"].as_u64().unwrap(),
                )
            })
            .unwrap_or((0, 0))
    };
    // Petrov bought 22.11 (repeat); Иванов last 20.06 (sleeping); Петрова once in
    // February (sleeping); CRM-0077 1.08 (sleeping); CRM-0042 last 14.10.2025 (lost).
    assert_eq!(size("life_cycle", "repeat"), (1, 0));
    assert_eq!(size("life_cycle", "sleeping"), (2, 1));
    assert_eq!(size("life_cycle", "lost"), (0, 1));
    let leads = count(&db, "SELECT count(*) FROM leads") as u64;
    assert_eq!(size("life_cycle", "lead").0, leads - 3);

    // A call list of one segment holds only its leads, warmest first.
    let out = dir.path().join("repeat.csv");
    let listed = json(run(&[
        "call-list",
        "--db",
        s(&db),
        "--segment",
        "repeat",
        "--out",
        s(&out),
        "--style",
        "machine",
        "--outside-window",
        "schedule",
        "--json",
    ]));
    let text = std::fs::read_to_string(&out).unwrap();
    let lead_col = text
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "lead_id")
        .unwrap();
    let repeat_lead = count(
        &db,
        "SELECT lead_id FROM lead_segments WHERE dimension = 'life_cycle' AND segment = 'repeat'",
    );
    assert!(listed["rows"]["rows"].as_u64().unwrap() >= 1, "{listed}");
    for line in text.lines().skip(1) {
        assert_eq!(
            line.split(',').nth(lead_col).unwrap(),
            repeat_lead.to_string()
        );
    }
    // An unknown segment is refused, naming the ones there are.
    let bad = run(&[
        "call-list",
        "--db",
        s(&db),
        "--segment",
        "VIP",
        "--out",
        s(&out),
    ]);
    assert_eq!(bad.status.code(), Some(65));
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(msg.contains("life_cycle:repeat"), "{msg}");
}

#[test]
fn a_users_segment_is_listed_and_a_broken_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(root().join("pipelines/demo.toml")).unwrap();
    let fixtures = root().join("fixtures");
    let with = |custom: &str| {
        demo.replace("../fixtures", s(&fixtures))
            + &format!("\n[segments]\nsleeping_after_days = 60\n{custom}\n")
    };
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        with(concat!(
            "[[segments.custom]]\nname = \"Москва\"\nwhere = \"region_name = 'Москва' OR city = 'Москва'\"\n",
            // A subquery, a correlated EXISTS and a quote in a name.
            "[[segments.custom]]\nname = \"Купили\"\nwhere = \"lead_id IN (SELECT lead_id FROM customers)\"\n",
            "[[segments.custom]]\nname = \"Buyer's list\"\n",
            "where = \"EXISTS (SELECT 1 FROM customers c WHERE c.lead_id = lead_profile.lead_id)\""
        )),
    )
    .unwrap();
    let db = dir.path().join("b.duckdb");
    ok(run(&["run", s(&good), "--db", s(&db), "--quiet"]));
    let moscow = count(
        &db,
        "SELECT count(*) FROM leads WHERE region_name = 'Москва' OR city = 'Москва'",
    );
    assert!(moscow > 0);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM lead_segments WHERE dimension = 'custom' AND segment = 'Москва'"
        ),
        moscow
    );
    // With deals, the segments that read customers have members.
    let deals = root().join("fixtures/deals.csv");
    import_deals(&deals, &db);
    ok(run(&["segments", "--refresh", "--db", s(&db)]));
    let buyers = count(&db, "SELECT count(lead_id) FROM customers");
    assert!(buyers > 0);
    for name in ["Купили", "Buyer''s list"] {
        let sql = format!("SELECT count(*) FROM lead_segments WHERE segment = '{name}'");
        assert_eq!(count(&db, &sql), buyers, "{name}");
    }
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        with("[[segments.custom]]\nname = \"broken\"\nwhere = \"no_such_column > 1\""),
    )
    .unwrap();
    let o = run(&["run", s(&bad), "--db", s(&db), "--quiet"]);
    assert_eq!(
        o.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"broken\""));
}

#[test]
fn the_analysis_page_renders_its_charts_with_numbers_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_base(dir.path());
    import_deals(&root().join("fixtures/deals.csv"), &db);
    let page = dir.path().join("analysis.html");
    ok(run(&[
        "analyse",
        "--db",
        s(&db),
        "--until",
        "2026-12-01",
        "--out",
        s(&page),
        "--lang",
        "en",
    ]));
    let xlsx = dir.path().join("analysis.xlsx");
    ok(run(&[
        "analyse",
        "--db",
        s(&db),
        "--until",
        "2026-12-01",
        "--out",
        s(&xlsx),
    ]));
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    use calamine::Reader;
    let names = book.sheet_names();
    for sheet in [
        "Summary",
        "Periods",
        "Sources",
        "Cohorts",
        "RFM",
        "Freshness",
        "Model",
    ] {
        assert!(names.iter().any(|n| n == sheet), "{sheet} in {names:?}");
    }
    let periods = book.worksheet_range("Periods").unwrap();
    assert!(periods.height() > 10);
    let Some(chrome) = browser() else {
        assert!(
            std::env::var("LEADPIPE_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "Chromium is required (LEADPIPE_REQUIRE_BROWSER=1) but not found"
        );
        eprintln!("SKIPPED: no Chromium");
        return;
    };
    let url = format!("file://{}", page.display());
    let dom = dump_dom(&chrome, &url);
    // The element `<tag … id="id" …>…</tag>` of the rendered DOM.
    let element = |tag: &str, id: &str| -> String {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("#{id} is in the rendered page"));
        let start = dom[..at].rfind(&format!("<{tag}")).unwrap();
        let end = dom[at..].find(&format!("</{tag}>")).unwrap() + at;
        dom[start..end].to_string()
    };
    // Every bar has its number beside it.
    for chart in ["revenue", "sources-ltv", "freshness"] {
        let svg = element("svg", chart);
        let bars = svg.matches("<rect class=\"bar\"").count();
        let values = svg.matches("<text class=\"value\"").count();
        assert!(bars > 0, "{chart} has bars");
        assert_eq!(bars, values, "{chart}: a number beside every bar");
    }
    assert!(element("table", "cohorts").contains("class=\"cell\""));
    assert_eq!(
        element("table", "rfm").matches("class=\"cell\"").count(),
        25
    );
    assert!(element("div", "tile-customers").contains("<b>5</b>"));
    let png = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("analysis.png");
    screenshot_at(&chrome, &url, &png, (1200, 2400));
    assert!(png.exists());
}

#[test]
fn erasing_a_person_erases_who_bought_and_keeps_the_revenue() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_base(dir.path());
    import_deals(&root().join("fixtures/deals.csv"), &db);
    ok(run(&[
        "analyse",
        "--db",
        s(&db),
        "--until",
        "2026-12-01",
        "--json",
    ]));
    let petrova = "+79261112233";
    let her_lead = count(
        &db,
        &format!("SELECT min(lead_id) FROM leads WHERE list_contains(phones, '{petrova}')"),
    );
    assert!(
        count(
            &db,
            &format!("SELECT count(*) FROM customers WHERE lead_id = {her_lead}")
        ) == 1
    );
    ok(run(&[
        "erase",
        "--phone",
        "+7 926 111-22-33",
        "--db",
        s(&db),
        "--json",
    ]));
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM deals WHERE phone_e164 = '{petrova}'")
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM customers WHERE lead_id = {her_lead}")
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM deal_owners WHERE lead_id = {her_lead}")
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM deals WHERE customer_ref LIKE 'erased-%'"
        ),
        2
    );
    // Her purchase still counts, as an anonymous customer.
    let a = json(run(&[
        "analyse",
        "--db",
        s(&db),
        "--until",
        "2026-12-01",
        "--json",
    ]));
    assert_eq!(a["headline"]["customers"], 5);
    assert!((a["headline"]["revenue"].as_f64().unwrap() - 91_440.5).abs() < 1e-6);
    assert_eq!(a["headline"]["customers_who_are_leads"], 2);
}

/// The same three deals as a CP1251 `;` CSV, an XLSX workbook and a JSONL export: each
/// reads to the same deals.
#[test]
fn deals_read_the_same_from_cp1251_csv_xlsx_and_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let header = ["Дата заказа", "Сумма", "Статус", "Телефон", "Покупатель"];
    let rows = [
        [
            "05.03.2026",
            "1 500,00 руб.",
            "Оплачен",
            "8 (916) 555-01-02",
            "",
        ],
        ["2026-04-01", "2500", "возврат", "", "ООО Ромашка"],
        ["2026-04-02", "990,5", "", "+7 916 555 01 02", ""],
    ];
    let mut csv = header.join(";") + "\n";
    for r in &rows {
        csv.push_str(&r.join(";"));
        csv.push('\n');
    }
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(&csv);
    let csv_path = dir.path().join("deals.csv");
    std::fs::write(&csv_path, &cp1251).unwrap();
    let xlsx_path = dir.path().join("deals.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    book.save(&xlsx_path).unwrap();
    let jsonl_path = dir.path().join("deals.jsonl");
    // Each line in its own key order, empty values left out, as form and shop exports do.
    let lines: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut pairs: Vec<String> = header
                .iter()
                .zip(r.iter())
                .filter(|(_, v)| !v.is_empty())
                .map(|(h, v)| format!("{}:{}", Value::from(*h), Value::from(*v)))
                .collect();
            pairs.rotate_left(i);
            if i == 1 {
                pairs.reverse();
            }
            format!("{{{}}}", pairs.join(","))
        })
        .collect();
    std::fs::write(&jsonl_path, lines.join("\n") + "\n").unwrap();
    let mut seen = Vec::new();
    for path in [&csv_path, &xlsx_path, &jsonl_path] {
        let db = dir.path().join(format!(
            "{}.duckdb",
            path.extension().unwrap().to_str().unwrap()
        ));
        let loaded = json(run(&["deals", "import", s(path), "--db", s(&db), "--json"]));
        assert_eq!(loaded["loaded"], 3, "{}: {loaded}", path.display());
        let store = leadpipe::store::Store::open_read_only(&db).unwrap();
        let mut stmt = store
            .connection()
            .prepare(
                "SELECT deal_date::VARCHAR, amount, status, coalesce(phone_e164, customer_ref)
                 FROM deals ORDER BY source_row",
            )
            .unwrap();
        let got: Vec<(String, f64, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        seen.push(got);
    }
    let want = vec![
        (
            "2026-03-05".to_string(),
            1500.0,
            "won".to_string(),
            "+79165550102".to_string(),
        ),
        (
            "2026-04-01".into(),
            2500.0,
            "refunded".into(),
            "ООО Ромашка".into(),
        ),
        (
            "2026-04-02".into(),
            990.5,
            "won".into(),
            "+79165550102".into(),
        ),
    ];
    for got in seen {
        assert_eq!(got, want);
    }
}

/// An order of several products is several rows under one number; exported again in a
/// later file it is as that file has it.
#[test]
fn a_re_exported_order_counts_as_the_latest_file_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.duckdb");
    let first = dir.path().join("orders-1.csv");
    std::fs::write(
        &first,
        "Номер заказа;Дата;Клиент;Сумма;Товар\nA-1;05.03.2026;K1;30000;Диван\nA-1;05.03.2026;K1;5000;Стул\nA-2;06.03.2026;K2;700;Лампа\n",
    )
    .unwrap();
    import_deals(&first, &db);
    let revenue = |db: &Path| {
        let a = json(run(&[
            "analyse",
            "--db",
            s(db),
            "--until",
            "2026-12-01",
            "--json",
        ]));
        a["headline"]["revenue"].as_f64().unwrap()
    };
    assert_eq!(revenue(&db), 35_700.0);
    let second = dir.path().join("orders-2.csv");
    std::fs::write(
        &second,
        "Номер заказа;Дата;Клиент;Сумма;Статус\nA-1;05.03.2026;K1;35000;Возврат\n",
    )
    .unwrap();
    import_deals(&second, &db);
    assert_eq!(revenue(&db), 700.0);
}

/// Deals of one CRM customer (the id may be their name) all lose who bought, even those
/// without the contact the erasure names; so do deals sharing another contact with them.
#[test]
fn erasure_reaches_every_deal_of_the_crm_customer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.duckdb");
    let deals = dir.path().join("d.csv");
    std::fs::write(
        &deals,
        "Клиент;Телефон;E-mail;Дата;Сумма\nИванова Анна;+7 903 111-22-33;;01.02.2026;100\nИванова Анна;;;02.02.2026;200\n;+7 903 111-22-33;anna@example.ru;03.02.2026;300\n;;anna@example.ru;04.02.2026;400\nПетров;+7 903 999-00-00;;05.02.2026;500\n",
    )
    .unwrap();
    import_deals(&deals, &db);
    ok(run(&[
        "analyse",
        "--db",
        s(&db),
        "--until",
        "2026-12-01",
        "--json",
    ]));
    ok(run(&[
        "erase",
        "--phone",
        "+7 903 111-22-33",
        "--db",
        s(&db),
        "--json",
    ]));
    let left = |sql: &str| count(&db, sql);
    assert_eq!(
        left("SELECT count(*) FROM deals WHERE customer_ref = 'Иванова Анна'"),
        0
    );
    assert_eq!(
        left("SELECT count(*) FROM deals WHERE phone_e164 = '+79031112233'"),
        0
    );
    assert_eq!(
        left("SELECT count(*) FROM deals WHERE email = 'anna@example.ru'"),
        0
    );
    assert_eq!(
        left("SELECT count(*) FROM customers WHERE customer_key LIKE '%Иванова%' OR customer_key LIKE '%anna@%' OR customer_key LIKE '%79031112233%'"),
        0
    );
    assert_eq!(
        left("SELECT count(*) FROM deals WHERE customer_ref = 'Петров'"),
        1
    );
    // The address known only from her deals is kept as a salted hash with her number,
    // so a list bringing either back is refused; Петров's number is not.
    assert_eq!(
        left("SELECT count(*) FROM suppressions WHERE reason = 'erasure' AND kind = 'email'"),
        1
    );
    assert_eq!(
        left("SELECT count(*) FROM suppressions WHERE reason = 'erasure' AND kind = 'phone'"),
        1
    );
    let a = json(run(&[
        "analyse",
        "--db",
        s(&db),
        "--until",
        "2026-12-01",
        "--json",
    ]));
    assert_eq!(a["headline"]["revenue"], 1500.0);
}
