//! The run report (`leadpipe report`) in the base's language, or the one asked for, with
//! its times in the base's zone and the offset shown.

mod common;

use common::{ok, run, s};

/// A base of one small list run by a pipeline that gives `settings` (TOML tables).
fn base(dir: &std::path::Path, settings: &str) -> std::path::PathBuf {
    let db = dir.join("r.duckdb");
    std::fs::write(
        dir.join("list.csv"),
        "ФИО;Телефон\nПетров Пётр;+7 903 111 22 33\nСидорова Анна;+7 903 999 88 77\n",
    )
    .unwrap();
    let pipeline = dir.join("p.toml");
    std::fs::write(
        &pipeline,
        format!(
            "name = \"r\"\n{settings}\n[[sources]]\nname = \"list\"\nkind = \"csv\"\npath = \"list.csv\"\norigin = \"purchased\"\n"
        ),
    )
    .unwrap();
    ok(run(&["run", s(&pipeline), "--db", s(&db)]));
    db
}

/// The report's HTML and what the command printed.
fn report(db: &std::path::Path, extra: &[&str]) -> (String, String) {
    let out = db.with_file_name("report.html");
    let mut args = vec!["report", "--db", s(db), "--out", s(&out)];
    args.extend_from_slice(extra);
    let printed = String::from_utf8_lossy(&ok(run(&args)).stdout).into_owned();
    (std::fs::read_to_string(&out).unwrap(), printed)
}

/// The start time the report shows (`<span id="started">…</span>`).
fn started(html: &str) -> &str {
    html.split("<span id=\"started\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no start time: {html}"))
}

#[test]
fn the_report_is_russian_in_moscow_time_by_default_and_english_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(dir.path(), "");
    let (html, printed) = report(&db, &[]);
    assert!(html.contains("<html lang=\"ru\""));
    for words in [
        "Воронка",
        "прочитано строк",
        "можно звонить",
        "Качество источников",
    ] {
        assert!(html.contains(words), "{words:?} missing");
    }
    assert!(printed.contains("отчёт о запуске"), "{printed}");
    assert!(started(&html).ends_with("(+03:00)"), "{}", started(&html));
    assert!(!html.contains(" UTC") && !html.contains("Funnel"));

    let (html, printed) = report(&db, &["--lang", "en"]);
    assert!(html.contains("<html lang=\"en\""));
    for words in ["Funnel", "rows read", "callable leads", "Source quality"] {
        assert!(html.contains(words), "{words:?} missing");
    }
    assert!(printed.contains("report of run"), "{printed}");
    assert!(started(&html).ends_with("(+03:00)"), "{}", started(&html));
    assert!(!html.contains("Воронка"));
}

#[test]
fn the_bases_language_and_zone_are_the_reports_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let db = base(
        dir.path(),
        "[normalise]\nnaive_time_offset = \"+10:00\"\n[output]\nlang = \"en\"\n",
    );
    let (html, _) = report(&db, &[]);
    assert!(html.contains("<html lang=\"en\"") && html.contains("Funnel"));
    let shown = started(&html);
    assert!(shown.ends_with("(+10:00)"), "{shown}");
    // The same moment as the run's own record of it.
    let o = ok(run(&[
        "sql",
        "SELECT strftime(make_timestamp(epoch_us(started_at)) + INTERVAL 10 HOUR, '%Y-%m-%d %H:%M') FROM runs",
        "--db",
        s(&db),
        "--format",
        "csv",
    ]));
    let stored = String::from_utf8_lossy(&o.stdout);
    let stored = stored.lines().last().unwrap_or_default().trim();
    assert_eq!(shown, format!("{stored} (+10:00)"));
    let (html, _) = report(&db, &["--lang", "ru"]);
    assert!(html.contains("Воронка") && started(&html).ends_with("(+10:00)"));
}
