//! A full run deduplicates this run's records from the match keys it made while
//! normalising; a staged run (`--only import`, then `--from normalise`) reads them back
//! from the database. Both must give the same leads.

mod common;
use common::{ok, run, s};
use leadpipe::store::Store;

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
    ok(run(&[
        "gen",
        "--rows",
        "3000",
        "--out",
        s(&csv),
        "--cp1251",
    ]));
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
}
