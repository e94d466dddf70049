//! A full run deduplicates this run's records from the match keys it made while
//! normalising; a staged run (`--only import`, then `--from normalise`) reads them back
//! from the database. Both must give the same leads.

mod common;
use common::{count, ok, run, s};
use leadpipe::store::Store;

/// A generated CP1251 lead list of `rows` rows (the generator's default seed unless given).
fn generate(path: &std::path::Path, rows: &str, seed: Option<&str>) {
    let mut args = vec!["gen", "--rows", rows, "--out", s(path), "--cp1251"];
    if let Some(seed) = seed {
        args.extend(["--seed", seed]);
    }
    ok(run(&args));
}

fn assignments(db: &std::path::Path) -> Vec<(i64, i64)> {
    let store = Store::open_read_only(db).unwrap();
    let mut stmt = store
        .connection()
        .prepare("SELECT record_id, lead_id FROM records ORDER BY record_id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<(i64, i64)>, _>>()
        .unwrap();
    rows
}

#[test]
fn in_memory_and_read_back_match_keys_give_the_same_leads() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("leads.csv");
    // Enough rows for the weights to be fitted on the data (MIN_RECORDS_TO_FIT).
    generate(&csv, "3000", None);
    let whole = dir.path().join("whole.duckdb");
    let staged = dir.path().join("staged.duckdb");
    let as_of = "2026-01-01T00:00:00Z";
    ok(run(&[
        "import",
        s(&csv),
        "--db",
        s(&whole),
        "--as-of",
        as_of,
    ]));
    let toml = dir.path().join("p.toml");
    std::fs::write(
        &toml,
        format!(
            "name = \"staged\"\ndb = \"{}\"\n[[sources]]\nname = \"leads.csv\"\nkind = \"csv\"\npath = \"{}\"\norigin = \"purchased\"\n",
            s(&staged),
            s(&csv)
        ),
    )
    .unwrap();
    ok(run(&[
        "run",
        s(&toml),
        "--only",
        "import",
        "--as-of",
        as_of,
    ]));
    ok(run(&[
        "run",
        s(&toml),
        "--from",
        "normalise",
        "--as-of",
        as_of,
    ]));

    let (a, b) = (assignments(&whole), assignments(&staged));
    assert!(a.len() > 2500, "{} records", a.len());
    let leads = a
        .iter()
        .map(|x| x.1)
        .collect::<std::collections::BTreeSet<_>>();
    assert!(leads.len() < a.len(), "some records must have been merged");
    assert_eq!(a, b);
    // Golden records too: the full run builds them from the records it held, the staged
    // run from records read back from the database.
    let (ga, gb) = (golden(&whole), golden(&staged));
    assert_eq!(ga.len(), leads.len());
    assert!(ga[0].matches('|').count() >= 30, "{}", ga[0]);
    assert_eq!(ga, gb);
}

/// Every golden record as text, without what differs by run (ids, times of scoring).
fn golden(db: &std::path::Path) -> Vec<String> {
    let store = Store::open_read_only(db).unwrap();
    let mut stmt = store
        .connection()
        .prepare(
            "SELECT (columns(* EXCLUDE (updated_run_id, warmth_scored_at)))::VARCHAR
             FROM leads ORDER BY lead_id",
        )
        .unwrap();
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            Ok((0..n)
                .map(|i| r.get::<_, Option<String>>(i).map(|v| v.unwrap_or_default()))
                .collect::<Result<Vec<_>, _>>()?
                .join("|"))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

/// A full run holds its new records back until deduplication gives them leads. When a
/// later source of the same run has to be re-normalised (an earlier `--only import` left
/// its rows waiting), deduplication reads records back from the database instead, so the
/// records held so far must land first: none may be lost, and every one gets a lead.
#[test]
fn records_held_for_deduplication_survive_a_later_source_being_renormalised() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    for (path, seed) in [(&a, "1"), (&b, "2")] {
        generate(path, "1200", Some(seed));
    }
    let plan = |name: &str, db: &std::path::Path, sources: &[&std::path::Path]| {
        let mut text = format!("name = \"{name}\"\ndb = \"{}\"\n", s(db));
        for src in sources {
            let file = src.file_name().unwrap().to_str().unwrap();
            text += &format!(
                "[[sources]]\nname = \"{file}\"\nkind = \"csv\"\npath = \"{}\"\norigin = \"purchased\"\n",
                s(src)
            );
        }
        let toml = dir.path().join(format!("{name}.toml"));
        std::fs::write(&toml, text).unwrap();
        toml
    };
    let as_of = "2026-01-01T00:00:00Z";
    // Staged: b.csv imported only; then a full run of a.csv (held) and b.csv (waiting).
    let staged = dir.path().join("staged.duckdb");
    let b_only = plan("b_only", &staged, &[&b]);
    ok(run(&[
        "run",
        s(&b_only),
        "--only",
        "import",
        "--as-of",
        as_of,
    ]));
    let both = plan("both", &staged, &[&a, &b]);
    ok(run(&["run", s(&both), "--as-of", as_of]));
    // Whole: the same two files in one full run on a new database.
    let whole = dir.path().join("whole.duckdb");
    ok(run(&[
        "run",
        s(&plan("whole", &whole, &[&a, &b])),
        "--as-of",
        as_of,
    ]));

    for db in [&staged, &whole] {
        assert_eq!(
            count(db, "SELECT count(*) FROM raw_records"),
            2400,
            "{db:?}: every row read"
        );
        assert_eq!(
            count(
                db,
                "SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM rejects)"
            ),
            2400,
            "{db:?}: every row became a record or a reject"
        );
        assert_eq!(
            count(db, "SELECT count(*) FROM records WHERE lead_id IS NULL"),
            0,
            "{db:?}: every record has a lead"
        );
        assert_eq!(
            count(db, "SELECT count(*) FROM records r LEFT JOIN leads l USING (lead_id) WHERE l.lead_id IS NULL"),
            0,
            "{db:?}: every record's lead has a golden record"
        );
    }
    let a_records = "SELECT count(*) FROM records WHERE source = 'a.csv'";
    assert!(count(&whole, a_records) > 1000);
    assert_eq!(count(&staged, a_records), count(&whole, a_records));
}

/// Held records that outgrow their memory budget wait in files beside the base: the
/// result must not change, and the files go when the run ends.
#[test]
fn records_that_outgrow_the_hold_budget_get_the_same_leads() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("leads.csv");
    generate(&csv, "3000", None);
    let as_of = "2026-01-01T00:00:00Z";
    let held = dir.path().join("held.duckdb");
    ok(run(&[
        "import",
        s(&csv),
        "--db",
        s(&held),
        "--as-of",
        as_of,
    ]));
    // A budget of 0 MB: every batch goes to a file as soon as it is held.
    let spilled = dir.path().join("spilled.duckdb");
    ok(std::process::Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .env("LEADPIPE_LOG", "warn")
        .env("LEADPIPE_HOLD_MB", "0")
        .args(["import", s(&csv), "--db", s(&spilled), "--as-of", as_of])
        .output()
        .unwrap());
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".held-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let a = assignments(&held);
    assert!(a.len() > 2500);
    assert_eq!(a, assignments(&spilled));
    assert_eq!(golden(&held), golden(&spilled));
    assert_eq!(
        count(
            &spilled,
            "SELECT count(*) FROM records WHERE lead_id IS NULL"
        ),
        0
    );
}
