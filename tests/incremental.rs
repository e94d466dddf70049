//! Daily runs cluster again only what their new records touch (looked up in the base's
//! match index). Their result must be the one clustering the whole base gives: a list cut
//! into random increments, imported one by one, is compared with a copy of the same base
//! clustered whole by `leadpipe recluster` — leads, lead ids, links, refusals, golden
//! records and consent.

mod common;
use common::{count, json, ok, root, run, s};
use leadpipe::gen::Rng;
use leadpipe::store::Store;
use std::path::{Path, PathBuf};

/// Generated rows (UTF-8, one row per line) cut into files: the first `first` rows, then
/// the rest in `pieces` random parts.
fn increments(dir: &Path, rows: usize, seed: u64, first: usize, pieces: usize) -> Vec<PathBuf> {
    let all = dir.join(format!("all-{seed}.csv"));
    ok(run(&[
        "gen",
        "--rows",
        &rows.to_string(),
        "--seed",
        &seed.to_string(),
        "--out",
        s(&all),
    ]));
    let text = std::fs::read_to_string(&all).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut rng = Rng::new(seed ^ 0x5eed);
    let families = families(&mut rng, 80);
    let mut body: Vec<&str> = lines.chain(families.iter().map(String::as_str)).collect();
    // Shuffled, so a family's rows arrive in different increments.
    for i in (1..body.len()).rev() {
        body.swap(i, rng.below(i + 1));
    }
    let mut cuts = vec![first.min(body.len())];
    let rest = body.len() - cuts[0];
    let mut inner: Vec<usize> = (0..pieces.saturating_sub(1))
        .map(|_| cuts[0] + rng.below(rest.max(1)))
        .collect();
    inner.sort_unstable();
    cuts.extend(inner);
    cuts.push(body.len());
    let mut files = Vec::new();
    let mut from = 0;
    for (i, &to) in cuts.iter().enumerate() {
        let path = dir.join(format!("part-{seed}-{i}.csv"));
        let mut out = String::from(header);
        out.push('\n');
        for line in &body[from..to] {
            out.push_str(line);
            out.push('\n');
        }
        std::fs::write(&path, out).unwrap();
        files.push(path);
        from = to;
    }
    files
}

/// Rows in the generator's columns for families the matcher must not chain: a father and
/// a son (same name, different patronymics, each with his own address) sharing a landline,
/// and rows of the same name without a patronymic that fit either. Which one a row without patronymic
/// joins depends on the order of merges, and a group refusal keeps the other apart: the
/// case where clustering part of a base could differ from clustering all of it.
fn families(rng: &mut Rng, n: usize) -> Vec<String> {
    let surnames = ["Шилов", "Гусев", "Орлов", "Зайцев", "Фролов", "Белов"];
    let firsts = [
        ("Елисей", "Елисеевич"),
        ("Тимур", "Тимурович"),
        ("Олег", "Олегович"),
    ];
    let fathers = ["Арсеньевич", "Денисович", "Петрович", "Ильич"];
    let mut rows = Vec::new();
    for f in 0..n {
        let last = surnames[rng.below(surnames.len())];
        let (first, son_patronymic) = firsts[rng.below(firsts.len())];
        let father_patronymic = fathers[rng.below(fathers.len())];
        let phone = format!(
            "+7 495 {:03}-{:02}-{:02}",
            100 + f,
            rng.below(100),
            rng.below(100)
        );
        let email = format!("family{f}.{}@mail.ru", rng.below(1000));
        let son_email = format!("son{f}.{}@bk.ru", rng.below(1000));
        // Ids for the truth column: father, son, and the rows that could be either.
        let id = 9_000_000 + 3 * f;
        // Each row in one of three places: name blocks (surname, name, city) then join
        // only some of the family's rows.
        let cities = ["Москва", "", "Тверь"];
        let mut row = |rng: &mut Rng, id: usize, name: String, phone: &str, email: &str| {
            let city = cities[rng.below(cities.len())];
            rows.push(format!("{id},{name},{phone},{email},{city},"));
        };
        row(
            rng,
            id,
            format!("{last} {first} {father_patronymic}"),
            &phone,
            &email,
        );
        row(
            rng,
            id + 1,
            format!("{last} {first} {son_patronymic}"),
            &phone,
            &son_email,
        );
        // Rows without a patronymic reach the family by the landline, or by one of the
        // two addresses only.
        for _ in 0..1 + rng.below(4) {
            let (phone, email) = match rng.below(4) {
                0 => (phone.as_str(), ""),
                1 => (phone.as_str(), email.as_str()),
                2 => ("", email.as_str()),
                _ => ("", son_email.as_str()),
            };
            row(rng, id + 2, format!("{last} {first}"), phone, email);
        }
    }
    rows
}

/// Rows of a query as JSON text, in the query's order.
fn rows(db: &Path, sql: &str) -> Vec<String> {
    let store = Store::open_read_only(db).unwrap();
    let mut stmt = store
        .connection()
        .prepare(&format!("SELECT to_json(t)::VARCHAR FROM ({sql}) t"))
        .unwrap();
    let out = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    out
}

/// What a clustering decides, table by table.
fn clustering(db: &Path) -> Vec<(&'static str, Vec<String>)> {
    vec![
        (
            "records.lead_id",
            rows(
                db,
                "SELECT record_id, lead_id FROM records ORDER BY record_id",
            ),
        ),
        (
            "lead_links",
            rows(
                db,
                "SELECT lead_id, record_a, record_b, probability, match_weight, name_level,
                        phone_level, email_level, decision_id
                 FROM lead_links ORDER BY record_a, record_b",
            ),
        ),
        (
            "match_refusals",
            rows(
                db,
                "SELECT record_a, record_b, probability, \"constraint\", conflict_a, conflict_b
                 FROM match_refusals ORDER BY ALL",
            ),
        ),
        (
            "match_candidates",
            rows(
                db,
                "SELECT record_a, record_b, probability FROM match_candidates ORDER BY ALL",
            ),
        ),
        (
            "leads",
            rows(
                db,
                "SELECT * EXCLUDE (updated_run_id, warmth_scored_at, warmth_score, warmth_tier,
                                   warmth_recency)
                 FROM leads ORDER BY lead_id",
            ),
        ),
        (
            "consent_status",
            rows(
                db,
                "SELECT lead_id, channel, purpose, status, since, expires_at, consent_id
                 FROM consent_status ORDER BY ALL",
            ),
        ),
    ]
}

fn assert_same(a: &Path, b: &Path) {
    for ((table, x), (_, y)) in clustering(a).into_iter().zip(clustering(b)) {
        let differ: Vec<_> = x.iter().zip(&y).filter(|(p, q)| p != q).take(3).collect();
        assert!(
            x.len() == y.len() && differ.is_empty(),
            "{table}: {} rows incrementally, {} clustered whole; first differences: {differ:#?}",
            x.len(),
            y.len()
        );
    }
}

/// Seed 3 runs as of a fixed time (every run derives every lead's consent); seed 11 runs
/// as of the clock, so each increment derives consent only for the leads it changed, and
/// that must equal what a whole clustering derives for all of them.
#[test]
fn increments_equal_one_clustering_of_the_whole_base() {
    for (seed, as_of) in [(3u64, Some("2026-06-01T00:00:00Z")), (11, None)] {
        let at: Vec<&str> = as_of.map(|t| vec!["--as-of", t]).unwrap_or_default();
        let dir = tempfile::tempdir().unwrap();
        // The first part is big enough to fit the model on; the rest stay under the
        // growth that fits it again, so every later run is incremental.
        let parts = increments(dir.path(), 3600, seed, 2200, 5);
        let daily = dir.path().join("daily.duckdb");
        for (i, part) in parts.iter().enumerate() {
            let source = format!("list-{i}");
            let import = ["import", s(part), "--db", s(&daily), "--source", &source];
            ok(run(&[&import[..], &at].concat()));
            if i == 3 {
                reviewers_decide(&daily, seed);
            }
            if i == 2 {
                // Web-form leads with consent, some of them people the lists hold too.
                let forms = root().join("fixtures/web_form.jsonl");
                let import = ["import", s(&forms), "--db", s(&daily), "--origin", "form"];
                ok(run(&[&import[..], &at].concat()));
            }
        }
        // The last increment changed a part of the base, not all of it.
        let leads = count(&daily, "SELECT count(*) FROM leads");
        let rebuilt = count(
            &daily,
            "SELECT count(*) FROM leads WHERE updated_run_id = (SELECT max(run_id) FROM runs)",
        );
        assert!(
            rebuilt * 2 < leads,
            "seed {seed}: the last increment rebuilt {rebuilt} of {leads} leads"
        );
        let whole = dir.path().join("whole.duckdb");
        std::fs::copy(&daily, &whole).unwrap();
        ok(run(&[&["recluster", "--db", s(&whole)][..], &at].concat()));
        // The families left group refusals behind: the test covers the hard case.
        assert!(
            count(
                &daily,
                "SELECT count(*) FROM match_refusals WHERE conflict_a IS NOT NULL"
            ) > 0,
            "seed {seed}: no group refusal"
        );
        assert_same(&daily, &whole);
        // Clustered whole with the same model, nothing moves again.
        assert_eq!(
            count(
                &whole,
                "SELECT count(*) FROM lead_merges WHERE run_id = (SELECT max(run_id) FROM runs)"
            ),
            0
        );
    }
}

/// A base whose match index an older build wrote (its stamp the key hash alone, without
/// the sizes of oversized blocks) is clustered whole by its next run, which writes the
/// index anew; the run after that is incremental again.
#[test]
fn a_base_indexed_by_an_older_build_is_clustered_whole_once() {
    let dir = tempfile::tempdir().unwrap();
    let parts = increments(dir.path(), 3000, 5, 2200, 2);
    let db = dir.path().join("daily.duckdb");
    let incremental = |part: &Path| {
        let out = json(ok(run(&["import", s(part), "--db", s(&db), "--json"])));
        out["dedupe"]["incremental"].as_bool().unwrap()
    };
    assert!(!incremental(&parts[0]));
    // Seventy people on one switchboard number: a block too big to compare whole.
    let switchboard = dir.path().join("switchboard.csv");
    let mut rows = vec!["entity_id,ФИО,Телефон,E-mail,Город,Компания".to_string()];
    for (i, a) in ["Ан", "Бор", "Вер", "Гал", "Дол", "Ерш", "Жук"]
        .iter()
        .enumerate()
    {
        for (j, b) in [
            "ов", "ин", "ев", "ский", "ишин", "енко", "ич", "ан", "ых", "ец",
        ]
        .iter()
        .enumerate()
        {
            rows.push(format!("{i}{j},{a}{b} Олег,+7 495 777-00-00,,Москва,"));
        }
    }
    std::fs::write(&switchboard, rows.join("\n") + "\n").unwrap();
    assert!(incremental(&switchboard));
    let oversized = "SELECT count(*) FROM match_oversized_blocks";
    assert!(
        count(&db, oversized) > 0,
        "the switchboard is not oversized"
    );
    {
        let store = Store::open(&db).unwrap();
        let stamp = store.meta("match_index_probe").unwrap().unwrap();
        let (probe, layout) = stamp.split_once('/').unwrap();
        assert_eq!(layout, "oversized-blocks");
        store.set_meta("match_index_probe", probe).unwrap();
        // An older build had no sizes of oversized blocks: the whole run must write them.
        let emptied = "DELETE FROM match_oversized_blocks";
        store.connection().execute_batch(emptied).unwrap();
    }
    assert!(!incremental(&parts[1]), "an old index was trusted");
    assert!(
        count(&db, oversized) > 0,
        "the whole run wrote no oversized block"
    );
    assert!(incremental(&parts[2]));
}

/// Reviewers correct the base between increments: the biggest lead loses its newest
/// record, two leads that share a surname are merged, and two records of another lead
/// are labelled different people. Later increments must honour them as a whole
/// clustering does.
fn reviewers_decide(db: &Path, seed: u64) {
    let big = count(
        db,
        "SELECT lead_id FROM records WHERE lead_id IS NOT NULL GROUP BY lead_id
         ORDER BY count(*) DESC, lead_id LIMIT 1",
    );
    let newest = count(
        db,
        &format!("SELECT max(record_id) FROM records WHERE lead_id = {big}"),
    );
    let why = format!("test seed {seed}");
    ok(run(&[
        "split",
        &big.to_string(),
        "--records",
        &newest.to_string(),
        "--reason",
        &why,
        "--db",
        s(db),
    ]));
    let pair = rows(
        db,
        "SELECT a.lead_id AS a, min(b.lead_id) AS b FROM leads a JOIN leads b
           ON a.last_name = b.last_name AND a.lead_id < b.lead_id
         GROUP BY a.lead_id ORDER BY a.lead_id LIMIT 1",
    );
    let pair: serde_json::Value = serde_json::from_str(&pair[0]).unwrap();
    ok(run(&[
        "merge",
        &pair["a"].to_string(),
        &pair["b"].to_string(),
        "--reason",
        &why,
        "--db",
        s(db),
    ]));
    let two = rows(
        db,
        "SELECT lead_id, min(record_id) AS a, max(record_id) AS b FROM records
         WHERE lead_id IS NOT NULL GROUP BY lead_id HAVING count(*) = 3
         ORDER BY lead_id LIMIT 1",
    );
    let two: serde_json::Value = serde_json::from_str(&two[0]).unwrap();
    ok(run(&[
        "label",
        "different",
        &two["a"].to_string(),
        &two["b"].to_string(),
        "--reason",
        &why,
        "--db",
        s(db),
    ]));
    assert_eq!(count(db, "SELECT count(*) FROM match_decisions"), 3);
}

#[test]
fn refit_fits_the_model_again_and_keeps_lead_ids_where_people_stay_together() {
    let dir = tempfile::tempdir().unwrap();
    let parts = increments(dir.path(), 2400, 5, 1600, 2);
    let db = dir.path().join("base.duckdb");
    for part in &parts {
        ok(run(&["import", s(part), "--db", s(&db)]));
    }
    let leads_before = rows(&db, "SELECT lead_id FROM leads ORDER BY lead_id");
    ok(run(&["refit", "--db", s(&db)]));
    let fitted_on: String = {
        let store = Store::open_read_only(&db).unwrap();
        store.meta("model_fitted_on").unwrap().unwrap()
    };
    assert_eq!(
        fitted_on,
        count(&db, "SELECT count(*) FROM records").to_string()
    );
    // Most people keep their lead: a refit moves few records.
    let kept = rows(&db, "SELECT lead_id FROM leads ORDER BY lead_id")
        .iter()
        .filter(|l| leads_before.contains(l))
        .count();
    assert!(
        kept * 10 >= leads_before.len() * 9,
        "{kept} of {} leads kept their id",
        leads_before.len()
    );
}

/// A switchboard number 60 people share is one block, compared all-pairs: a person
/// written twice with a surname typo (`Фролов Олег`, `Фролоф Олег`) is merged on it. Ten
/// more people on the number make the block too big; it is split by surname, and the two
/// spellings are no longer compared. A whole clustering then keeps them apart, so the
/// increment must cluster that lead again although no new record shares its surname. A
/// later list touching both spellings by name finds the block too big from the base's
/// index and keeps them apart.
#[test]
fn a_block_pushed_past_its_size_is_clustered_again() {
    let dir = tempfile::tempdir().unwrap();
    let surnames = [
        "Фролов",
        "Гусев",
        "Орлов",
        "Зайцев",
        "Белов",
        "Носков",
        "Жуков",
        "Титов",
        "Быков",
        "Ершов",
        "Лосев",
        "Марков",
        "Рыков",
        "Сомов",
        "Уваров",
        "Фомин",
        "Цветков",
        "Шубин",
        "Юдин",
        "Яшин",
    ];
    let firsts = ["Олег", "Игорь", "Роман", "Глеб", "Павел"];
    let row = |i: usize, name: &str| format!("{i},{name},+7 495 777-00-00,,Москва,");
    let header = "entity_id,ФИО,Телефон,E-mail,Город,Компания";
    let mut first = vec![header.to_string()];
    for (i, last) in surnames.iter().enumerate() {
        let name = firsts[i % firsts.len()];
        let typo = format!("{}ф", &last[..last.len() - "в".len()]);
        let typo = if last.ends_with('в') {
            typo
        } else {
            format!("{last}а")
        };
        first.push(row(i, &format!("{last} {name}")));
        first.push(row(i, &format!("{typo} {name}")));
    }
    // Twenty more people on the number (60 in all), then ten in the next list.
    let others = [
        "Абрамов",
        "Андреев",
        "Баранов",
        "Беляев",
        "Власов",
        "Голубев",
        "Данилов",
        "Дмитриев",
        "Егоров",
        "Ефимов",
        "Захаров",
        "Ильин",
        "Казаков",
        "Карпов",
        "Киселев",
        "Комаров",
        "Крылов",
        "Лебедев",
        "Макаров",
        "Медведев",
        "Мельников",
        "Никитин",
        "Осипов",
        "Панов",
        "Поляков",
        "Романов",
        "Савельев",
        "Степанов",
        "Тарасов",
        "Тихонов",
    ];
    for (i, last) in others[..20].iter().enumerate() {
        first.push(row(100 + i, &format!("{last} Артём")));
    }
    let second: Vec<String> = std::iter::once(header.to_string())
        .chain(
            others[20..]
                .iter()
                .enumerate()
                .map(|(i, last)| row(200 + i, &format!("{last} Пётр"))),
        )
        .collect();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    std::fs::write(&a, first.join("\n") + "\n").unwrap();
    std::fs::write(&b, second.join("\n") + "\n").unwrap();
    let daily = dir.path().join("daily.duckdb");
    let as_of = "2026-06-01T00:00:00Z";
    ok(run(&["import", s(&a), "--db", s(&daily), "--as-of", as_of]));
    let together = "SELECT count(*) FROM leads WHERE record_count = 2";
    let merged_before = count(&daily, together);
    assert!(
        merged_before > 0,
        "no typo pair was merged on the switchboard"
    );
    ok(run(&["import", s(&b), "--db", s(&daily), "--as-of", as_of]));
    assert!(
        count(&daily, together) < merged_before,
        "the bigger block kept every pair together"
    );
    // A third list touches both spellings by name, from other numbers: the switchboard
    // is in this run's scope only through them, and must still count as too big (the
    // base's index keeps its size), or the two would be compared and merged again. Into
    // this base (its index grown by an increment) and into a copy clustered whole first
    // (its index written by a whole run).
    let c = dir.path().join("c.csv");
    let third = [
        header.to_string(),
        "300,Фролов Олег,+7 916 555-00-01,,Москва,".into(),
        "301,Фролоф Олег,+7 916 555-00-02,,Москва,".into(),
    ];
    std::fs::write(&c, third.join("\n") + "\n").unwrap();
    let spellings = "SELECT count(DISTINCT lead_id) FROM records
                     WHERE phone_e164 = '+74957770000' AND full_name LIKE 'Фрол%'";
    assert_eq!(count(&daily, spellings), 2, "the spellings were not split");
    let rebuilt = dir.path().join("rebuilt.duckdb");
    std::fs::copy(&daily, &rebuilt).unwrap();
    ok(run(&["recluster", "--db", s(&rebuilt), "--as-of", as_of]));
    for db in [&daily, &rebuilt] {
        let import = ["import", s(&c), "--db", s(db), "--as-of", as_of, "--json"];
        let out = json(ok(run(&import)));
        assert_eq!(out["dedupe"]["incremental"], true, "{}", db.display());
        assert_eq!(
            count(db, spellings),
            2,
            "the third list joined the spellings in {}",
            db.display()
        );
        let whole = dir.path().join("whole.duckdb");
        std::fs::copy(db, &whole).unwrap();
        ok(run(&["recluster", "--db", s(&whole), "--as-of", as_of]));
        assert_same(db, &whole);
    }
}

/// A stricter threshold in the pipeline file changes which pairs merge everywhere, not
/// only where the new records land: the run that brings it clusters the whole base, and
/// the result is again what `recluster` gives.
#[test]
fn a_changed_threshold_clusters_the_whole_base() {
    let dir = tempfile::tempdir().unwrap();
    let parts = increments(dir.path(), 2400, 9, 1800, 2);
    let db = dir.path().join("base.duckdb");
    let as_of = "2026-06-01T00:00:00Z";
    ok(run(&[
        "import",
        s(&parts[0]),
        "--db",
        s(&db),
        "--as-of",
        as_of,
    ]));
    let leads_before = count(&db, "SELECT count(*) FROM leads");
    let toml = dir.path().join("strict.toml");
    std::fs::write(
        &toml,
        format!(
            "name = \"strict\"\ndb = \"{}\"\n[dedupe]\nthreshold = 0.999\n[[sources]]\nname = \"more\"\nkind = \"csv\"\npath = \"{}\"\norigin = \"purchased\"\n",
            s(&db),
            s(&parts[1])
        ),
    )
    .unwrap();
    ok(run(&["run", s(&toml), "--as-of", as_of, "-q"]));
    let whole = dir.path().join("whole.duckdb");
    std::fs::copy(&db, &whole).unwrap();
    ok(run(&["recluster", "--db", s(&whole), "--as-of", as_of]));
    assert_same(&db, &whole);
    // The stricter threshold split some of the first part's leads.
    let first_part_leads = count(
        &db,
        "SELECT count(DISTINCT lead_id) FROM records WHERE source = 'part-9-0.csv'",
    );
    assert!(
        first_part_leads > leads_before,
        "{first_part_leads} leads for the first part, {leads_before} before"
    );
}
