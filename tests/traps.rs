//! Silent traps for data engineers: runs that stop half way, stage selections that do
//! nothing or leave the base inconsistent, files that say nothing. The real binary.

mod common;

use common::{ok, root, run, s, small_tmpfs};
use duckdb::Connection;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const NOW: &str = "2026-11-23T10:00:00+03:00";

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn demo(db: &Path) {
    let pipeline = root().join("pipelines/demo.toml");
    ok(run(&["run", s(&pipeline), "--db", s(db), "--as-of", NOW]));
}

fn callable(db: &Path, dir: &Path) -> usize {
    let out = dir.join("calls.csv");
    ok(run(&[
        "call-list",
        "--db",
        s(db),
        "--out",
        s(&out),
        "--as-of",
        NOW,
        "--outside-window",
        "schedule",
    ]));
    std::fs::read_to_string(&out).unwrap().lines().count() - 1
}

#[test]
fn renormalising_alone_keeps_consent_and_leads_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.duckdb");
    demo(&db);
    let before = callable(&db, dir.path());
    assert!(before > 0);
    let pipeline = root().join("pipelines/demo.toml");
    let o = ok(run(&[
        "run",
        s(&pipeline),
        "--db",
        s(&db),
        "--only",
        "normalise",
        "--as-of",
        NOW,
    ]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning: records were re-derived"), "{err}");
    assert_eq!(
        callable(&db, dir.path()),
        before,
        "nobody lost their consent"
    );
    // What `leads` says agrees with the live consent history.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM leads l WHERE l.call_consent = 'granted' AND NOT EXISTS (
                 SELECT 1 FROM consents c JOIN records r USING (record_id)
                 WHERE r.lead_id = l.lead_id AND c.superseded_at IS NULL
                   AND c.status = 'granted' AND c.channel = 'call')"
        ),
        0
    );
}

#[test]
fn a_stage_range_that_selects_nothing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.duckdb");
    let pipeline = root().join("pipelines/demo.toml");
    let o = run(&[
        "run",
        s(&pipeline),
        "--db",
        s(&db),
        "--from",
        "warmth",
        "--to",
        "dedupe",
    ]);
    assert_eq!(o.status.code(), Some(65), "bad input, not success");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no stage runs from warmth to dedupe"), "{err}");
}

#[test]
fn a_file_with_only_a_header_is_named_in_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.duckdb");
    let file = dir.path().join("empty.csv");
    std::fs::write(&file, "ФИО;Телефон;E-mail\n").unwrap();
    let o = ok(run(&["import", s(&file), "--db", s(&db), "--json"]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("has a header and no data rows"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["warnings"][0].as_str().unwrap().contains("empty.csv"),
        "{v}"
    );
}

#[test]
fn writing_down_a_detected_setting_does_not_read_the_file_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.duckdb");
    let fixture = root().join("fixtures/purchased_cp1251.csv");
    let write = |name: &str, extra: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "name = \"t\"\n[[sources]]\nname = \"vendor\"\nkind = \"csv\"\npath = {:?}\norigin = \"purchased\"\n{extra}",
                s(&fixture)
            ),
        )
        .unwrap();
        p
    };
    let detected = write("a.toml", "");
    let stated = write("b.toml", "delimiter = \";\"\nencoding = \"windows-1251\"\n");
    let first = ok(run(&["run", s(&detected), "--db", s(&db), "--json"]));
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first["sources"][0]["status"], "imported");
    let ids = |db: &Path| -> Vec<i64> {
        let conn = Connection::open(db).unwrap();
        let mut st = conn
            .prepare("SELECT lead_id FROM leads ORDER BY 1")
            .unwrap();
        let v = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        v
    };
    let before = ids(&db);
    let again = ok(run(&["run", s(&stated), "--db", s(&db), "--json"]));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["sources"][0]["status"], "unchanged", "{again}");
    assert_eq!(ids(&db), before, "lead ids kept");
    // A setting that changes how the bytes read still reads them again.
    let wrong = write("c.toml", "encoding = \"koi8-r\"\n");
    let o = ok(run(&["run", s(&wrong), "--db", s(&db), "--json"]));
    let o: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o["sources"][0]["status"], "reimported", "{o}");
}

#[test]
fn a_run_killed_before_its_commit_is_marked_failed_by_the_next_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.duckdb");
    demo(&db);
    let list = dir.path().join("more.csv");
    std::fs::write(&list, "ФИО;Телефон\nПетров Пётр;+7 903 111 22 33\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .env("LEADPIPE_LOG", "warn")
        .env("LEADPIPE_TEST_PAUSE_AT", "run_before_commit")
        .args(["import", s(&list), "--db", s(&db)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("paused at run_before_commit")));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let o = ok(run(&["runs", "--db", s(&db), "--json"]));
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let last = runs
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|r| r["run_id"].as_i64())
        .unwrap();
    assert_eq!(last["status"], "failed", "{runs}");
    assert!(
        last["error"].as_str().unwrap().contains("did not finish"),
        "{last}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records WHERE source = 'more.csv'"
        ),
        0
    );
}

/// A full disk while landing: the run fails with the device's error and the base keeps a
/// `failed` row for it. Needs a small tmpfs, so root (CI runs as root); said when skipped.
#[test]
fn a_full_disk_at_landing_leaves_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tmpfs) = small_tmpfs(dir.path(), "4m") else {
        return;
    };
    let mnt = &tmpfs.0;
    let list = dir.path().join("big.csv");
    ok(run(&["gen", "--rows", "40000", "--out", s(&list)]));
    let db = mnt.join("f.duckdb");
    let o = run(&["import", s(&list), "--db", s(&db)]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("No space left on device"), "{err}");
    let o = ok(run(&["runs", "--db", s(&db), "--json"]));
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs[0]["status"], "failed", "{runs}");
}

#[test]
fn import_reads_with_the_settings_the_base_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("by.duckdb");
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "ФИО;Телефон\nКовальчук Олег;8 029 123 45 67\n").unwrap();
    let pipeline = dir.path().join("by.toml");
    std::fs::write(
        &pipeline,
        format!(
            "name = \"by\"\n[normalise]\ndefault_region = \"BY\"\n[dedupe]\norigin_priority = [\"purchased\", \"form\", \"open\"]\n[[sources]]\nname = \"a\"\nkind = \"csv\"\npath = {:?}\norigin = \"purchased\"\n",
            s(&a)
        ),
    )
    .unwrap();
    ok(run(&["run", s(&pipeline), "--db", s(&db)]));
    let b = dir.path().join("b.csv");
    std::fs::write(&b, "ФИО;Телефон\nЛукашевич Анна;8 029 765 43 21\n").unwrap();
    let o = ok(run(&["import", s(&b), "--db", s(&db), "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows_accepted"], 1, "{v}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records WHERE phone_e164 = '+375297654321'"
        ),
        1
    );
    // The stored settings stay as the pipeline set them.
    let priority: String = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT value FROM leadpipe_meta WHERE key = 'dedupe.origin_priority'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(priority, "purchased,form,open");
}

#[test]
fn reading_a_base_whose_only_run_failed_works() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        "name=\"x\"\ndb=\"x.duckdb\"\n[[sources]]\nname=\"a\"\nkind=\"csv\"\npath=\"missing.csv\"\norigin=\"purchased\"\n",
    )
    .unwrap();
    let _ = run(&["run", s(&pipeline)]);
    let db = dir.path().join("x.duckdb");
    let out = dir.path().join("c.csv");
    ok(run(&["call-list", "--db", s(&db), "--out", s(&out)]));
    ok(run(&[
        "compliance",
        "report",
        "--db",
        s(&db),
        "--out",
        s(&dir.path().join("r.html")),
    ]));
}

#[test]
fn a_file_read_again_with_new_settings_brings_the_later_stages_along() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("re.duckdb");
    let fixture = root().join("fixtures/purchased_cp1251.csv");
    let pipeline = dir.path().join("p.toml");
    let write = |extra: &str| {
        std::fs::write(
            &pipeline,
            format!(
                "name = \"t\"\n[[sources]]\nname = \"vendor\"\nkind = \"csv\"\npath = {:?}\norigin = \"purchased\"\n{extra}",
                s(&fixture)
            ),
        )
        .unwrap();
    };
    write("");
    ok(run(&["run", s(&pipeline), "--db", s(&db)]));
    write("encoding = \"koi8-r\"\n");
    let o = ok(run(&[
        "run",
        s(&pipeline),
        "--db",
        s(&db),
        "--to",
        "normalise",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let stages = v["stages"].to_string();
    assert!(
        stages.contains("dedupe") && stages.contains("consent"),
        "{stages}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM records WHERE lead_id IS NULL"),
        0,
        "every record has its lead"
    );
}

/// A file cut short between the pass that hashes it and the pass that reads its rows:
/// the run fails, nothing lands, and the whole file imports once it is whole again (the
/// hash of a file read in part must never be recorded as imported).
#[test]
fn a_file_cut_short_while_read_fails_the_run_and_imports_whole_later() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cut.duckdb");
    let list = dir.path().join("list.csv");
    ok(run(&["gen", "--rows", "20000", "--out", s(&list)]));
    let whole = std::fs::read(&list).unwrap();
    let resume = dir.path().join("resume");
    let child = Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .env("LEADPIPE_LOG", "warn")
        .env("LEADPIPE_TEST_PAUSE_AT", "source_scanned")
        .env("LEADPIPE_TEST_RESUME_FILE", &resume)
        .args(["import", s(&list), "--db", s(&db)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("paused at source_scanned")));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&list)
        .unwrap()
        .set_len(whole.len() as u64 / 2)
        .unwrap();
    std::fs::write(&resume, "").unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert!(!status.success(), "{rest:?}");
    assert!(
        rest.join("\n").contains("reading stopped at row"),
        "{rest:?}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM raw_records"), 0);
    // The file whole again: imported, every row.
    std::fs::write(&list, &whole).unwrap();
    let o = ok(run(&["import", s(&list), "--db", s(&db), "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sources"][0]["status"], "imported", "{v}");
    assert_eq!(v["rows_read"], 20000);
}

#[test]
fn naming_the_first_sheet_does_not_read_the_workbook_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.duckdb");
    let book = root().join("fixtures/purchased_list.xlsx");
    let pipeline = dir.path().join("p.toml");
    let write = |extra: &str| {
        std::fs::write(
            &pipeline,
            format!(
                "name = \"x\"\n[[sources]]\nname = \"crm\"\nkind = \"xlsx\"\npath = {:?}\norigin = \"purchased\"\n{extra}",
                s(&book)
            ),
        )
        .unwrap();
    };
    let status = |extra: &str| {
        write(extra);
        let o = ok(run(&["run", s(&pipeline), "--db", s(&db), "--json"]));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["sources"][0]["status"].as_str().unwrap().to_string()
    };
    assert_eq!(status(""), "imported");
    assert_eq!(
        status("sheet = \"Лиды\"\n"),
        "unchanged",
        "the first sheet, named"
    );
}

#[test]
fn quiet_commands_print_nothing_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.duckdb");
    let fixture = root().join("fixtures/purchased_cp1251.csv");
    let demo = root().join("pipelines/demo.toml");
    for args in [
        vec!["run", s(&demo), "--db", s(&db), "-q"],
        vec!["import", s(&fixture), "--db", s(&db), "--quiet"],
    ] {
        let o = ok(run(&args));
        assert!(
            o.stdout.is_empty() && o.stderr.is_empty(),
            "{args:?} printed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn times_typed_without_a_zone_are_read_in_the_bases_zone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vl.duckdb");
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "ФИО;Телефон\nКим Олег;+7 914 123 45 67\n").unwrap();
    let pipeline = dir.path().join("vl.toml");
    std::fs::write(
        &pipeline,
        format!(
            "name = \"vl\"\n[normalise]\nnaive_time_offset = \"+10:00\"\n[[sources]]\nname = \"a\"\nkind = \"csv\"\npath = {:?}\norigin = \"purchased\"\n",
            s(&a)
        ),
    )
    .unwrap();
    ok(run(&["run", s(&pipeline), "--db", s(&db), "-q"]));
    let out = dir.path().join("calls.csv");
    let o = ok(run(&[
        "call-list",
        "--db",
        s(&db),
        "--out",
        s(&out),
        "--as-of",
        "2026-06-01 09:00",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // 09:00 in Vladivostok (+10:00) is 23:00 UTC the day before, not 06:00 (Moscow).
    assert!(
        v["as_of"]
            .as_str()
            .unwrap()
            .starts_with("2026-05-31T23:00:00"),
        "{v}"
    );
}

#[test]
fn a_run_that_reads_nothing_still_lists_its_sources() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.duckdb");
    let demo = root().join("pipelines/demo.toml");
    let first = ok(run(&["run", s(&demo), "--db", s(&db), "--json"]));
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let again = ok(run(&[
        "run",
        s(&demo),
        "--db",
        s(&db),
        "--only",
        "warmth",
        "--json",
    ]));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["source"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!names(&first).is_empty());
    assert_eq!(names(&again), names(&first), "{again}");
    assert_eq!(again["rows_read"], 0, "{again}");
}

#[test]
fn a_file_given_a_new_origin_is_read_again_not_kept_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.duckdb");
    let form = root().join("fixtures/web_form.jsonl");
    ok(run(&[
        "import",
        s(&form),
        "--db",
        s(&db),
        "--origin",
        "purchased",
        "-q",
    ]));
    let raw = count(&db, "SELECT count(*) FROM raw_records");
    assert_eq!(
        count(&db, "SELECT count(*) FROM records WHERE origin = 'form'"),
        0
    );
    let o = ok(run(&[
        "import",
        s(&form),
        "--db",
        s(&db),
        "--origin",
        "form",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sources"][0]["status"], "reimported", "{v}");
    assert!(
        v["warnings"]
            .to_string()
            .contains("as purchased, now given as form"),
        "{v}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM raw_records"),
        raw,
        "read once, not twice"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM records WHERE origin <> 'form'"),
        0
    );
    assert!(count(&db, "SELECT count(*) FROM records") > 0);
    // The same origin again changes nothing.
    let o = ok(run(&[
        "import",
        s(&form),
        "--db",
        s(&db),
        "--origin",
        "form",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sources"][0]["status"], "unchanged", "{v}");
}

#[test]
fn a_file_whose_column_mapping_changed_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("list.csv");
    std::fs::write(
        &csv,
        "ФИО;Номер;Заметка\nИванов Иван;+7 916 123-45-67;просил не звонить до обеда\n",
    )
    .unwrap();
    let db = dir.path().join("m.duckdb");
    let pipeline = |columns: &str| {
        let p = dir.path().join("p.toml");
        std::fs::write(
            &p,
            format!(
                "[[sources]]\nname = \"list\"\npath = \"list.csv\"\norigin = \"purchased\"\n[sources.columns]\n{columns}\n"
            ),
        )
        .unwrap();
        p
    };
    let first = pipeline("\"Номер\" = \"phone\"\n\"Заметка\" = \"ignore\"");
    ok(run(&["run", s(&first), "--db", s(&db), "-q"]));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records WHERE comment IS NOT NULL"
        ),
        0
    );
    let second = pipeline("\"Номер\" = \"phone\"\n\"Заметка\" = \"comment\"");
    let o = ok(run(&["run", s(&second), "--db", s(&db), "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sources"][0]["status"], "reimported", "{v}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records WHERE comment IS NOT NULL"
        ),
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM records"), 1);
    // Unchanged mapping: nothing to do.
    let o = ok(run(&["run", s(&second), "--db", s(&db), "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sources"][0]["status"], "unchanged", "{v}");
}
