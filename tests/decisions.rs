//! Reviewers' decisions through the binary: a wrong merge split by `leadpipe split` stays
//! split after a re-run, a whole re-clustering and an increment that brings a record
//! linking both; consent follows the person it was given by; a missed pair merged by
//! `leadpipe merge` stays merged; a newer decision supersedes an older one and both are
//! shown.

mod common;
use common::{count, ok, run, s};
use serde_json::Value;
use std::path::Path;

const AS_OF: &str = "2026-11-25T12:00:00+03:00";

fn import(db: &Path, file: &Path, origin: &str) {
    ok(run(&[
        "import",
        s(file),
        "--db",
        s(db),
        "--origin",
        origin,
        "--as-of",
        AS_OF,
    ]));
}

/// Lead id of a record.
fn lead(db: &Path, record: i64) -> i64 {
    count(
        db,
        &format!("SELECT lead_id FROM records WHERE record_id = {record}"),
    )
}

/// (lead id, number) of every row of an advertising call list made as of `AS_OF`.
fn callable(db: &Path, dir: &Path) -> Vec<(i64, String)> {
    let out = dir.join("calls.csv");
    ok(run(&[
        "call-list",
        "--style",
        "machine",
        "--db",
        s(db),
        "--out",
        s(&out),
        "--as-of",
        AS_OF,
    ]));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut rows: Vec<(i64, String)> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[1].parse().unwrap(), x[2].to_string())
        })
        .collect();
    rows.sort();
    rows
}

fn decisions(db: &Path) -> Vec<Value> {
    let o = ok(run(&["decisions", "--db", s(db), "--json"]));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A father who filled in a form with consent and his son from a purchased list, on one
/// number and with one name: the matcher merges them, and the son's number is callable
/// on the father's consent. A reviewer splits them.
#[test]
fn a_split_stays_split_and_consent_stays_with_its_giver() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("base.duckdb");
    let form = dir.path().join("form.jsonl");
    std::fs::write(
        &form,
        r#"{"name": "Сидоров Алексей", "phone": "+7 916 555-00-11", "email": "sidorov.a@mail.ru", "consent": true, "consent_at": "2026-11-20T10:15:00+03:00", "consent_version": "v3", "page_url": "https://example.ru/landing", "ip": "203.0.113.5"}
"#,
    )
    .unwrap();
    let list = dir.path().join("list.csv");
    std::fs::write(
        &list,
        "ФИО,Телефон,E-mail,Город\nСидоров Алексей,+7 916 555-00-11,,Москва\nПетров Пётр,+7 903 111-22-33,,Тверь\n",
    )
    .unwrap();
    import(&db, &form, "form");
    import(&db, &list, "purchased");
    let (father, son) = (1, 2);
    assert_eq!(
        lead(&db, father),
        lead(&db, son),
        "the matcher was meant to merge them"
    );
    assert_eq!(
        callable(&db, dir.path()),
        vec![(lead(&db, father), "+79165550011".to_string())]
    );

    // Without a reason, nothing is recorded.
    let o = run(&[
        "split",
        &lead(&db, son).to_string(),
        "--records",
        "2",
        "--db",
        s(&db),
        "--reason",
        " ",
    ]);
    assert_eq!(o.status.code(), Some(65));
    assert!(decisions(&db).is_empty());
    // A record of another lead is refused, naming it.
    let o = run(&[
        "split",
        &lead(&db, son).to_string(),
        "--records",
        "3",
        "--db",
        s(&db),
        "--reason",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&o.stderr).contains("record 3 is not in lead"));

    ok(run(&[
        "split",
        &lead(&db, son).to_string(),
        "--records",
        "2",
        "--reason",
        "father and son on the home landline",
        "--by",
        "reviewer-1",
        "--db",
        s(&db),
    ]));
    let check = |when: &str| {
        assert_ne!(lead(&db, father), lead(&db, son), "{when}: merged again");
        // The father's consent covers his number on his lead only.
        assert_eq!(
            callable(&db, dir.path()),
            vec![(lead(&db, father), "+79165550011".to_string())],
            "{when}"
        );
        assert_eq!(
            count(
                &db,
                &format!(
                    "SELECT count(*) FROM consent_status WHERE lead_id = {} AND status = 'granted'",
                    lead(&db, son)
                )
            ),
            0,
            "{when}: the son's lead shows the father's grant"
        );
    };
    check("after the split");
    import(&db, &list, "purchased");
    ok(run(&["recluster", "--db", s(&db), "--as-of", AS_OF]));
    check("after clustering the whole base again");

    // A new record that matches both (name, number and the father's address) joins one
    // of them; it cannot bridge them.
    let more = dir.path().join("more.csv");
    std::fs::write(
        &more,
        "ФИО,Телефон,E-mail\nСидоров Алексей,+7 916 555-00-11,sidorov.a@mail.ru\n",
    )
    .unwrap();
    import(&db, &more, "purchased");
    check("after an increment linking both");
    let new = count(&db, "SELECT max(record_id) FROM records");
    assert!([lead(&db, father), lead(&db, son)].contains(&lead(&db, new)));

    let d = decisions(&db);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["decision"]["kind"], "split");
    assert_eq!(d[0]["decision"]["actor"], "reviewer-1");
    assert_eq!(d[0]["standing"]["status"], "in_force");
    // `explain` shows the decision that shaped the lead, and the refusal it caused.
    let o = ok(run(&[
        "explain",
        &lead(&db, son).to_string(),
        "--db",
        s(&db),
        "--json",
    ]));
    let e: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        e["decisions"][0]["reason"],
        "father and son on the home landline"
    );

    // The list read again as another origin replaces its records with new ones; the
    // decision moves to the records of the same rows and still holds.
    ok(run(&[
        "import",
        s(&list),
        "--db",
        s(&db),
        "--origin",
        "open",
        "--as-of",
        AS_OF,
    ]));
    assert_eq!(
        count(&db, "SELECT count(*) FROM records WHERE record_id = 2"),
        0
    );
    let son = count(
        &db,
        "SELECT new_record_id FROM record_successors WHERE old_record_id = 2",
    );
    assert_ne!(
        lead(&db, father),
        lead(&db, son),
        "merged again after the file was read again"
    );
    assert_eq!(decisions(&db)[0]["standing"]["status"], "in_force");
    assert_eq!(
        decisions(&db)[0]["decision"]["records_a"],
        serde_json::json!([son])
    );
}

/// A woman who changed her surname: nothing in common the matcher could see. A reviewer
/// merges the leads; they stay merged through re-runs and increments, until a newer
/// label says two of the records are different people after all.
#[test]
fn a_merge_stays_merged_until_a_newer_decision_says_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("base.duckdb");
    let list = dir.path().join("list.csv");
    std::fs::write(
        &list,
        "ФИО,Телефон,E-mail\n\
         Кузнецова Анна Петровна,+7 903 100-20-30,anna.k@mail.ru\n\
         Смирнова Анна Петровна,+7 905 200-30-40,anna.smirnova@yandex.ru\n",
    )
    .unwrap();
    import(&db, &list, "purchased");
    assert_ne!(lead(&db, 1), lead(&db, 2));
    ok(run(&[
        "merge",
        &lead(&db, 1).to_string(),
        &lead(&db, 2).to_string(),
        "--reason",
        "changed surname after marriage, confirmed by phone",
        "--db",
        s(&db),
    ]));
    assert_eq!(lead(&db, 1), lead(&db, 2));
    assert_eq!(count(&db, "SELECT count(*) FROM leads"), 1);
    // The forced link is explained by the decision.
    assert_eq!(
        count(&db, "SELECT count(*) FROM lead_links WHERE decision_id = 1"),
        1
    );
    ok(run(&["recluster", "--db", s(&db), "--as-of", AS_OF]));
    assert_eq!(
        lead(&db, 1),
        lead(&db, 2),
        "after clustering the whole base"
    );
    let more = dir.path().join("more.csv");
    std::fs::write(
        &more,
        "ФИО,Телефон,E-mail\nСмирнова Анна,+7 905 200-30-40,\n",
    )
    .unwrap();
    import(&db, &more, "purchased");
    assert_eq!(lead(&db, 1), lead(&db, 2), "after an increment");
    assert_eq!(
        lead(&db, 3),
        lead(&db, 2),
        "the new record joins the merged lead"
    );

    // A newer label wins where it contradicts the merge; the merge is kept, superseded.
    ok(run(&[
        "label",
        "different",
        "1",
        "2",
        "--reason",
        "two people after all: different birthdays",
        "--db",
        s(&db),
    ]));
    assert_ne!(lead(&db, 1), lead(&db, 2));
    assert_eq!(lead(&db, 3), lead(&db, 2));
    let d = decisions(&db);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["standing"]["status"], "superseded");
    assert_eq!(d[0]["standing"]["by"], serde_json::json!([2]));
    assert_eq!(d[1]["standing"]["status"], "in_force");
    let o = ok(run(&[
        "recluster",
        "--db",
        s(&db),
        "--as-of",
        AS_OF,
        "--json",
    ]));
    assert_ne!(
        lead(&db, 1),
        lead(&db, 2),
        "after clustering the whole base"
    );
    // The label measures the matcher: it would not merge these two either.
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let reviewed = &summary["dedupe"]["reviewed"];
    assert_eq!(
        (reviewed["pairs"].as_u64(), reviewed["agreed"].as_u64()),
        (Some(1), Some(1))
    );
    // A "same" label on a pair the matcher leaves apart is a disagreement.
    ok(run(&[
        "label",
        "same",
        "1",
        "3",
        "--reason",
        "same woman",
        "--db",
        s(&db),
    ]));
    let o = ok(run(&[
        "recluster",
        "--db",
        s(&db),
        "--as-of",
        AS_OF,
        "--json",
    ]));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let reviewed = &summary["dedupe"]["reviewed"];
    assert_eq!(
        (
            reviewed["pairs"].as_u64(),
            reviewed["agreed"].as_u64(),
            reviewed["labelled_same"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    let o = ok(run(&["decisions", "--db", s(&db)]));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("2 провер") || text.contains("On 2 reviewed"),
        "{text}"
    );
}

/// The model's m-probabilities of the latest run.
fn latest_m(db: &Path) -> Vec<Vec<f64>> {
    let store = leadpipe::store::Store::open_read_only(db).unwrap();
    let json = store.latest_weights().unwrap().unwrap();
    let w: Value = serde_json::from_str(&json).unwrap();
    serde_json::from_value(w["m"].clone()).unwrap()
}

/// `refit --with-labels` moves the fitted m-probabilities towards what reviewers labelled
/// one person; a plain refit of the same base does not, and `recluster` refuses the flag.
#[test]
fn labels_refine_the_fitted_model_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("gen.csv");
    ok(run(&[
        "gen",
        "--rows",
        "1500",
        "--seed",
        "4",
        "--out",
        s(&list),
    ]));
    let db = dir.path().join("base.duckdb");
    ok(run(&["import", s(&list), "--db", s(&db), "--as-of", AS_OF]));
    let o = ok(run(&[
        "review",
        "queue",
        "--db",
        s(&db),
        "--json",
        "--limit",
        "12",
    ]));
    let queue: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(queue.len() >= 5, "{} pairs to review", queue.len());
    for item in &queue {
        ok(run(&[
            "label",
            "same",
            &item["record_a"].to_string(),
            &item["record_b"].to_string(),
            "--reason",
            "checked",
            "--db",
            s(&db),
        ]));
    }
    let plain = dir.path().join("plain.duckdb");
    std::fs::copy(&db, &plain).unwrap();
    ok(run(&["refit", "--db", s(&plain), "--as-of", AS_OF]));
    ok(run(&[
        "refit",
        "--with-labels",
        "--db",
        s(&db),
        "--as-of",
        AS_OF,
    ]));
    let (with, without) = (latest_m(&db), latest_m(&plain));
    assert_ne!(with, without, "the labels changed nothing");
    assert!(with.iter().flatten().all(|m| (0.0..=1.0).contains(m)));
    let o = run(&["recluster", "--with-labels", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(65));
}

fn queue(db: &Path) -> Vec<Value> {
    let o = ok(run(&["review", "queue", "--db", s(db), "--json"]));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A lead whose records disagree on the patronymic (a misspelling the matcher let
/// through) is in the queue as a conflict; once a reviewer decides the pair, it is not.
#[test]
fn the_queue_lists_conflicts_and_leaves_out_what_is_decided() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("base.duckdb");
    let list = dir.path().join("list.csv");
    std::fs::write(
        &list,
        "ФИО,Телефон,E-mail\n\
         Иванов Иван Петрович,+7 916 100-00-01,ivanov.i@mail.ru\n\
         Иванов Иван Петровч,+7 916 100-00-01,ivanov.i@mail.ru\n\
         Иванов Иван,+7 916 100-00-01,ivanov.i@mail.ru\n",
    )
    .unwrap();
    import(&db, &list, "purchased");
    assert_eq!(lead(&db, 1), lead(&db, 3));
    assert_eq!(lead(&db, 2), lead(&db, 3));
    let q = queue(&db);
    let conflict = q
        .iter()
        .find(|e| e["kind"] == "conflict")
        .unwrap_or_else(|| panic!("no conflict in {q:#?}"));
    assert_eq!(
        (conflict["record_a"].as_i64(), conflict["record_b"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(conflict["detail"], "patronymic: Петрович / Петровч");
    // Split record 2 off: the pairs across the split are decided and leave the queue.
    ok(run(&[
        "split",
        &lead(&db, 2).to_string(),
        "--records",
        "2",
        "--reason",
        "another Ivan",
        "--db",
        s(&db),
    ]));
    let q = queue(&db);
    let pairs: Vec<(i64, i64)> = q
        .iter()
        .map(|e| {
            (
                e["record_a"].as_i64().unwrap(),
                e["record_b"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        !pairs.iter().any(|&(a, b)| a == 2 || b == 2),
        "decided pairs still queued: {pairs:?}"
    );
}
