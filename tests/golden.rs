//! Golden-record survivorship, checked on a real DuckDB file: which member's value each
//! field of `leads` takes.

mod common;

use leadpipe::store::Store;

fn lead_row(store: &Store, lead_id: i64) -> Vec<Option<String>> {
    store
        .connection()
        .query_row(
            "SELECT phone_e164, email, full_name, first_name, city, company, timezone,
                    utc_offset_minutes::VARCHAR, record_count::VARCHAR,
                    array_to_string(phones, ','), array_to_string(emails, ','),
                    array_to_string(sources, ','), array_to_string(origins, ',')
             FROM leads WHERE lead_id = ?",
            [lead_id],
            |r| (0..13).map(|i| r.get::<_, Option<String>>(i)).collect(),
        )
        .expect("lead row")
}

#[test]
fn golden_record_takes_each_field_from_the_best_member_that_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("g.duckdb")).unwrap();
    // Lead 1: a form record (older) beats purchased ones (newer) wherever it has a value;
    // the purchased records fill what the form lacks, the newest purchased one first.
    // The name comes whole from the most complete name, Cyrillic before Latin.
    // Lead 2: no origins differ; the latest created wins, undated records lose to dated
    // ones, and among equals the latest landed record wins.
    store
        .connection()
        .execute_batch(
            "INSERT INTO records (record_id, raw_id, run_id, source, file_hash, source_row,
                 origin, lead_id, phone_e164, phones_extra, email, full_name, last_name,
                 first_name, middle_name, city, company, timezone, utc_offset_minutes,
                 created_at) VALUES
             (1, 1, 1, 'form', 'h', 1, 'form', 1, '+79161112233', [], NULL,
              'Ivanov Ivan Ivanovich', 'Ivanov', 'Ivan', 'Ivanovich', NULL, NULL,
              'Europe/Moscow', 180, TIMESTAMPTZ '2025-01-01 10:00:00+00'),
             (2, 2, 1, 'list', 'h', 2, 'purchased', 1, '+79169998877', ['+74951234567'],
              'new@mail.ru', 'Иванов Иван Иванович', 'Иванов', 'Иван', 'Иванович', 'Тула',
              'ООО Ромашка', 'Europe/Samara', 240, TIMESTAMPTZ '2025-06-01 10:00:00+00'),
             (3, 3, 1, 'list', 'h', 3, 'purchased', 1, NULL, [], 'old@mail.ru',
              'Иванов И.', 'Иванов', 'И.', NULL, 'Москва', 'ООО Лютик', NULL, NULL,
              TIMESTAMPTZ '2024-06-01 10:00:00+00'),
             (4, 4, 1, 'list', 'h', 4, 'purchased', 2, '+79160000001', [], NULL,
              'Петров Пётр', 'Петров', 'Пётр', NULL, 'Казань', NULL, NULL, NULL, NULL),
             (5, 5, 1, 'list', 'h', 5, 'purchased', 2, '+79160000002', [], NULL,
              'Петров Пётр', 'Петров', 'Пётр', NULL, 'Омск', NULL, NULL, NULL,
              TIMESTAMPTZ '2020-01-01 00:00:00+00'),
             (6, 6, 1, 'list', 'h', 6, 'purchased', 2, NULL, [], 'p@mail.ru',
              'Петров Пётр', 'Петров', 'Пётр', NULL, 'Уфа', NULL, NULL, NULL,
              TIMESTAMPTZ '2020-01-01 00:00:00+00');",
        )
        .unwrap();
    store
        .rebuild_leads(1, &["form".into(), "purchased".into(), "open".into()], None)
        .unwrap();

    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        lead_row(&store, 1),
        vec![
            s("+79161112233"),         // the form's number, though purchased ones are newer
            s("new@mail.ru"),          // the form has none: the newest purchased record's
            s("Иванов Иван Иванович"), // as complete as the form's, and Cyrillic
            s("Иван"),
            s("Тула"), // newest purchased record with a city
            s("ООО Ромашка"),
            s("Europe/Moscow"), // zone and offset travel together, from the form
            s("180"),
            s("3"),
            s("+74951234567,+79161112233,+79169998877"),
            s("new@mail.ru,old@mail.ru"),
            s("form,list"),
            s("form,purchased"),
        ]
    );
    let lead2 = lead_row(&store, 2);
    // Records 5 and 6 are dated alike and newer than undated 4: the later landed (6) wins
    // the city; 6 has no phone, so the phone is 5's.
    assert_eq!(lead2[0], s("+79160000002"));
    assert_eq!(lead2[1], s("p@mail.ru"));
    assert_eq!(lead2[4], s("Уфа"));
    assert_eq!(lead2[8], s("3"));
}

/// The survivorship rules of `dedupe::golden` stated as SQL, over the same members: the
/// oracle for the differential test below. Rank `k` grows with the member's rank (best
/// highest); a vote's winner has the most members, then the best-ranked one (`top`).
fn oracle_sql(origin_priority: &[&str]) -> String {
    let mut rank = String::from("CASE origin");
    for (i, o) in origin_priority.iter().enumerate() {
        rank.push_str(&format!(" WHEN '{o}' THEN {}", origin_priority.len() - i));
    }
    rank.push_str(" ELSE 0 END");
    let best = |col: &str| format!("arg_max({col}, k) FILTER (WHERE {col} IS NOT NULL) AS {col}");
    // The best-ranked member of the winning key among the rows of `from` (lead_id, key, k,
    // and what to return), as a table `name` (lead_id, then the returned columns).
    let vote = |name: &str, from: &str, cols: &[&str]| {
        let picked: Vec<String> = cols
            .iter()
            .map(|c| format!("arg_max_null({c}, n * 1000000 + top) AS {c}"))
            .collect();
        format!(
            "{name} AS (SELECT lead_id, {}
             FROM (SELECT *, count(*) OVER (PARTITION BY lead_id, key) AS n,
                          max(k) OVER (PARTITION BY lead_id, key) AS top FROM ({from}))
             WHERE k = top GROUP BY lead_id)",
            picked.join(", ")
        )
    };
    let fold = |col: &str| format!("replace(lower({col}), 'ё', 'е')");
    let ctes = [
        format!(
            "m AS (SELECT r.*, w.k,
                 (last_name IS NOT NULL)::INT
                 + coalesce(length(regexp_replace(first_name, '[^\\pL]', '', 'g')) >= 2, false)::INT
                 + coalesce(length(regexp_replace(middle_name, '[^\\pL]', '', 'g')) >= 2, false)::INT AS parts,
                 coalesce(regexp_matches(full_name, '[А-Яа-яЁё]'), false) AS cyr,
                 length(full_name) - length(replace(replace(full_name, 'ё', ''), 'Ё', '')) AS yo,
                 coalesce('k:' || city_canonical, 'w:' || {city}) AS city_key,
                 {company} AS company_vote
             FROM records r JOIN (SELECT record_id, row_number() OVER (
                     ORDER BY {rank}, created_at NULLS FIRST, record_id) AS k
                 FROM records WHERE lead_id IS NOT NULL) w USING (record_id))",
            city = fold("city"),
            company = fold("coalesce(company_key, company)"),
        ),
        "nm1 AS (SELECT lead_id, arg_max({'parts': parts, 'cyr': cyr, 'f': full_name}, parts * 10000000 + cyr::INT * 1000000 + k) AS w
             FROM m WHERE full_name IS NOT NULL GROUP BY lead_id)".to_string(),
        format!("nm AS (SELECT m.lead_id, arg_max({{'full_name': full_name, 'last_name': last_name,
                    'first_name': first_name, 'middle_name': middle_name}}, yo * 1000000 + k) AS nm
             FROM m JOIN nm1 ON m.lead_id = nm1.lead_id AND m.parts = nm1.w.parts
                 AND m.cyr = nm1.w.cyr AND {} = {}
             GROUP BY m.lead_id)", fold("m.full_name"), fold("nm1.w.f")),
        vote("gender", &format!("SELECT lead_id, {} AS key, k, gender FROM m WHERE gender IS NOT NULL", fold("gender")), &["gender"]),
        vote("inn", &format!("SELECT lead_id, {} AS key, k, inn FROM m WHERE inn IS NOT NULL", fold("inn")), &["inn"]),
        vote("subject", &format!("SELECT lead_id, {} AS key, k, subject_type FROM m WHERE subject_type IS NOT NULL", fold("subject_type")), &["subject_type"]),
        vote("cw", "SELECT lead_id, city_key AS key, k, city_key AS cwk, city_canonical FROM m WHERE city_key IS NOT NULL", &["cwk", "city_canonical"]),
        vote("cty", &format!("SELECT m.lead_id, {} AS key, k, city FROM m JOIN cw ON m.lead_id = cw.lead_id AND m.city_key = cw.cwk", fold("city")), &["city"]),
        vote("code_in_city", &format!("SELECT m.lead_id, {} AS key, k, region_code FROM m JOIN cw ON m.lead_id = cw.lead_id AND m.city_key = cw.cwk WHERE region_code IS NOT NULL", fold("region_code")), &["region_code"]),
        vote("code_all", &format!("SELECT lead_id, {} AS key, k, region_code FROM m WHERE region_code IS NOT NULL", fold("region_code")), &["region_code"]),
        "code AS (SELECT l.lead_id, coalesce(c.region_code, a.region_code) AS code
             FROM (SELECT DISTINCT lead_id FROM m) l LEFT JOIN code_in_city c USING (lead_id)
             LEFT JOIN code_all a USING (lead_id))".to_string(),
        vote("reg", &format!("SELECT m.lead_id, {} AS key, k, region FROM m JOIN code USING (lead_id)
             WHERE region IS NOT NULL AND (code.code IS NULL OR m.region_code = code.code)", fold("region")), &["region"]),
        "tz AS (SELECT m.lead_id, arg_max({'tz': timezone, 'off': utc_offset_minutes},
                 (code.code IS NULL OR m.region_code IS NOT DISTINCT FROM code.code)::INT * 1000000 + k) AS tzs
             FROM m JOIN code USING (lead_id) WHERE timezone IS NOT NULL GROUP BY m.lead_id)".to_string(),
        vote("cw2", "SELECT lead_id, company_vote AS key, k, company_vote AS cpk FROM m WHERE company IS NOT NULL", &["cpk"]),
        vote("comp", &format!("SELECT m.lead_id, {} AS key, k, company FROM m JOIN cw2 ON m.lead_id = cw2.lead_id AND m.company_vote = cw2.cpk", fold("company")), &["company"]),
        "form AS (SELECT l.lead_id, CASE WHEN cw2.cpk IS NULL
                     THEN (SELECT arg_max(company_legal_form, k) FROM m x WHERE x.lead_id = l.lead_id AND company_legal_form IS NOT NULL)
                     ELSE (SELECT arg_max(company_legal_form, k) FROM m x WHERE x.lead_id = l.lead_id
                           AND x.company_vote = cw2.cpk AND company_legal_form IS NOT NULL) END AS company_legal_form
             FROM (SELECT DISTINCT lead_id FROM m) l LEFT JOIN cw2 USING (lead_id))".to_string(),
        "names (code, name) AS (VALUES ('RU-MOW', 'Москва'), ('RU-SPE', 'Санкт-Петербург'), ('RU-MOS', 'Московская область'))".to_string(),
        format!(
            "base AS (SELECT lead_id, {phone},
                list_sort(list_distinct(flatten(list(list_prepend(phone_e164, coalesce(phones_extra, [])))))) AS phones,
                {email},
                coalesce(list_sort(list(DISTINCT email) FILTER (WHERE email IS NOT NULL)), []) AS emails,
                count(*) AS record_count,
                list_sort(list(DISTINCT source)) AS sources,
                list_sort(list(DISTINCT origin)) AS origins,
                min(created_at) AS first_seen_at,
                max(created_at) AS last_seen_at
             FROM m GROUP BY lead_id)",
            phone = best("phone_e164"),
            email = best("email"),
        ),
    ];
    format!(
        "CREATE TABLE oracle AS WITH {}
         SELECT base.*, nm.nm, gender.gender, comp.company, cty.city, reg.region, inn.inn,
             code.code AS region_code, tz.tzs, subject.subject_type, form.company_legal_form,
             cw.city_canonical, names.name AS region_name
         FROM base LEFT JOIN nm USING (lead_id) LEFT JOIN gender USING (lead_id)
             LEFT JOIN comp USING (lead_id) LEFT JOIN cw USING (lead_id)
             LEFT JOIN cty USING (lead_id) LEFT JOIN reg USING (lead_id)
             LEFT JOIN inn USING (lead_id) LEFT JOIN code USING (lead_id)
             LEFT JOIN tz USING (lead_id) LEFT JOIN subject USING (lead_id)
             LEFT JOIN form USING (lead_id) LEFT JOIN names ON names.code = code.code",
        ctes.join(",\n")
    )
}

/// Random members with many ties (few origins and dates, few values, missing values
/// everywhere): the golden records built in Rust must equal the SQL's, field for field.
#[test]
fn golden_records_match_the_rules_stated_in_sql_on_random_members() {
    use leadpipe::gen::Rng;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("g.duckdb")).unwrap();
    let mut rng = Rng::new(0x901d);
    let q = |v: Option<&str>| v.map_or("NULL".to_string(), |v| format!("'{v}'"));
    let mut rows = Vec::new();
    for id in 1..=3000 {
        let lead = if rng.chance(3) {
            "NULL".to_string()
        } else {
            (1 + rng.below(700)).to_string()
        };
        let origin = rng.pick(&["form", "purchased", "open", "elsewhere"]);
        let created = if rng.chance(25) {
            "NULL".to_string()
        } else {
            format!("TIMESTAMPTZ '2025-0{}-01 10:00:00+00'", 1 + rng.below(3))
        };
        let name = match rng.below(9) {
            0 => [None, None, None, None],
            1 => [
                Some("Иванов Иван Иванович"),
                Some("Иванов"),
                Some("Иван"),
                Some("Иванович"),
            ],
            2 => [
                Some("Ivanov Ivan Ivanovich"),
                Some("Ivanov"),
                Some("Ivan"),
                Some("Ivanovich"),
            ],
            3 => [Some("Иванов И."), Some("Иванов"), Some("И."), None],
            4 => [Some("Ёлкин Ян"), Some("Ёлкин"), Some("Ян"), None],
            5 => [
                Some("Семенов Дмитрий Олегович"),
                Some("Семенов"),
                Some("Дмитрий"),
                Some("Олегович"),
            ],
            6 => [
                Some("Семёнов Дмитрий Олегович"),
                Some("Семёнов"),
                Some("Дмитрий"),
                Some("Олегович"),
            ],
            7 => [
                Some("Семёнов Д. О."),
                Some("Семёнов"),
                Some("Д."),
                Some("О."),
            ],
            // Normalisation writes a full name only as the parts it found, joined.
            _ => [Some("Кузнецова"), Some("Кузнецова"), None, None],
        };
        let maybe = |rng: &mut Rng, xs: &[&'static str]| -> Option<&'static str> {
            (!rng.chance(40)).then(|| rng.pick(xs))
        };
        let phone = maybe(&mut rng, &["+79161112233", "+79169998877", "+74951234567"]);
        let extra = match rng.below(4) {
            0 => "NULL",
            1 => "[]",
            2 => "['+78005553535']",
            _ => "['+74951234567', '+79161112233']",
        };
        let email = maybe(&mut rng, &["a@mail.ru", "b@mail.ru", "c@ya.ru"]);
        let tz = maybe(&mut rng, &["Europe/Moscow", "Asia/Omsk"]);
        let offset = if rng.chance(20) {
            "NULL".to_string()
        } else {
            (60 * rng.below(5)).to_string()
        };
        let text = |rng: &mut Rng| maybe(rng, &["x", "y", "z", "X"]);
        // (as written, the gazetteer's name, its region)
        let (city, city_canonical, city_code) = match rng.below(8) {
            0 => (None, None, None),
            1 => (Some("СПб"), Some("Санкт-Петербург"), Some("RU-SPE")),
            2 => (Some("Питер"), Some("Санкт-Петербург"), Some("RU-SPE")),
            3 => (Some("Москва"), Some("Москва"), Some("RU-MOW")),
            4 => (Some("Moscow"), Some("Москва"), Some("RU-MOW")),
            5 => (Some("москва"), Some("Москва"), Some("RU-MOW")),
            6 => (Some("Урюпинск-2"), None, None),
            _ => (Some("урюпинск-2"), None, None),
        };
        let region_code = city_code.or_else(|| maybe(&mut rng, &["RU-MOS", "RU-MOW"]));
        let (company, company_key) = match rng.below(5) {
            0 => (None, None),
            1 => (Some("ООО Ромашка"), Some("ромашка")),
            2 => (Some("Ромашка, ООО"), Some("ромашка")),
            3 => (Some("АО Лютик"), Some("лютик")),
            _ => (Some("лютик"), None),
        };
        rows.push(format!(
            "({id}, {id}, 1, '{source}', 'h', {id}, '{origin}', {lead}, {phone}, {extra}, {email},
              {full}, {last}, {first}, {middle}, {gender}, {company}, {company_key}, {city},
              {city_canonical}, {region}, {inn}, {region_code}, {tz}, {offset}, {subject},
              {legal}, {created})",
            source = rng.pick(&["list", "form", "site"]),
            phone = q(phone),
            email = q(email),
            full = q(name[0]),
            last = q(name[1]),
            first = q(name[2]),
            middle = q(name[3]),
            gender = q(maybe(&mut rng, &["male", "female"])),
            company = q(company),
            company_key = q(company_key),
            city = q(city),
            city_canonical = q(city_canonical),
            region = q(maybe(&mut rng, &["Москва", "москва", "Московская обл."])),
            inn = q(text(&mut rng)),
            region_code = q(region_code),
            tz = q(tz),
            subject = q(maybe(&mut rng, &["person", "company"])),
            legal = q(text(&mut rng)),
        ));
    }
    store
        .connection()
        .execute_batch(&format!(
            "INSERT INTO records (record_id, raw_id, run_id, source, file_hash, source_row,
                 origin, lead_id, phone_e164, phones_extra, email, full_name, last_name,
                 first_name, middle_name, gender, company, company_key, city, city_canonical,
                 region, inn, region_code, timezone, utc_offset_minutes, subject_type,
                 company_legal_form, created_at)
             VALUES {}",
            rows.join(",\n")
        ))
        .unwrap();
    let priority = ["purchased", "form", "open"];
    store
        .rebuild_leads(1, &priority.map(String::from), None)
        .unwrap();
    store
        .connection()
        .execute_batch(&oracle_sql(&priority))
        .unwrap();
    let columns = "lead_id, phone_e164, phones, email, emails, full_name, last_name, first_name,
        middle_name, gender, company, city, region, inn, region_code, timezone,
        utc_offset_minutes, subject_type, company_legal_form, record_count, sources, origins,
        first_seen_at, last_seen_at, city_canonical, region_name";
    let oracle_columns = "lead_id, phone_e164, phones, email, emails, nm.full_name,
        nm.last_name, nm.first_name, nm.middle_name, gender, company, city, region, inn,
        region_code, tzs.tz, tzs.off, subject_type, company_legal_form, record_count, sources,
        origins, first_seen_at, last_seen_at, city_canonical, region_name";
    let count = |sql: &str| -> i64 { store.connection().query_row(sql, [], |r| r.get(0)).unwrap() };
    let leads = count("SELECT count(*) FROM leads");
    assert!(leads > 600, "{leads} leads");
    assert_eq!(leads, count("SELECT count(*) FROM oracle"));
    let differ = |a: &str, b: &str| {
        count(&format!(
            "SELECT count(*) FROM (SELECT {a} EXCEPT SELECT {b})"
        ))
    };
    let ours = format!("{columns} FROM leads");
    let theirs = format!("{oracle_columns} FROM oracle");
    // Which columns differ, and a lead where they do.
    let split = |c: &str| {
        c.split(',')
            .map(|x| x.trim().to_string())
            .collect::<Vec<_>>()
    };
    let differing: Vec<String> = split(columns)
        .iter()
        .zip(split(oracle_columns))
        .filter_map(|(a, b)| {
            let sql = format!(
                "SELECT count(*), min(l.lead_id) FROM leads l JOIN (SELECT lead_id, {b} AS v FROM oracle) o
                 USING (lead_id) WHERE l.{a} IS DISTINCT FROM o.v"
            );
            let (n, lead): (i64, Option<i64>) = store
                .connection()
                .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap();
            (n > 0).then(|| format!("{a}: {n} leads, e.g. lead {lead:?}"))
        })
        .collect();
    assert_eq!(
        differ(&ours, &theirs),
        0,
        "golden records the SQL does not give: {differing:?}"
    );
    assert_eq!(
        differ(&theirs, &ours),
        0,
        "golden records the SQL gives and Rust does not"
    );
}

/// Golden records read a member's full name as its name parts joined
/// (`FULL_NAME_OF_PARTS`), not from the column: normalisation must write the column that
/// way from every kind of source and name (forms, bought lists, spreadsheets, pages;
/// initials, Latin, a wrong keyboard layout, sole traders, companies in the name field,
/// and `gen`'s corruptions).
#[test]
fn every_records_full_name_is_its_name_parts_joined() {
    use leadpipe::dedupe::golden::FULL_NAME_OF_PARTS;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("names.duckdb");
    let list = dir.path().join("gen.csv");
    let pipeline = common::root().join("pipelines/demo.toml");
    common::ok(common::run(&[
        "run",
        common::s(&pipeline),
        "--db",
        common::s(&db),
        "--quiet",
    ]));
    common::ok(common::run(&[
        "gen",
        "--rows",
        "5000",
        "--out",
        common::s(&list),
        "--cp1251",
    ]));
    common::ok(common::run(&[
        "import",
        common::s(&list),
        "--db",
        common::s(&db),
        "--quiet",
    ]));
    let named = common::count(
        &db,
        "SELECT count(*) FROM records WHERE full_name IS NOT NULL",
    );
    assert!(named > 4000, "{named} records with a name");
    let differ = common::count(
        &db,
        &format!(
            "SELECT count(*) FROM records WHERE full_name IS DISTINCT FROM ({FULL_NAME_OF_PARTS})"
        ),
    );
    assert_eq!(
        differ, 0,
        "records whose full name is not their parts joined"
    );
}
