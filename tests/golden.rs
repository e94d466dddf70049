//! Golden-record survivorship, checked on a real DuckDB file: which member's value each
//! field of `leads` takes.

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
              'Иванов И.', 'Иванов', 'И', NULL, 'Москва', 'ООО Лютик', NULL, NULL,
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

/// The golden-record query leadpipe used before survivorship moved to Rust
/// (`dedupe::golden`): kept here as the oracle for the differential test below.
fn oracle_sql(origin_priority: &[&str]) -> String {
    let mut rank = String::from("CASE origin");
    for (i, o) in origin_priority.iter().enumerate() {
        rank.push_str(&format!(" WHEN '{o}' THEN {}", origin_priority.len() - i));
    }
    rank.push_str(" ELSE 0 END");
    let by = |col: &str| format!("arg_max({col}, k) FILTER (WHERE {col} IS NOT NULL) AS {col}");
    format!(
        "CREATE TABLE oracle AS
         SELECT lead_id, {phone},
            list_sort(list_distinct(flatten(list(list_prepend(phone_e164, coalesce(phones_extra, [])))))) AS phones,
            {email},
            coalesce(list_sort(list(DISTINCT email) FILTER (WHERE email IS NOT NULL)), []) AS emails,
            arg_max({{'full_name': full_name, 'last_name': last_name,
                      'first_name': first_name, 'middle_name': middle_name}}, nk)
                FILTER (WHERE full_name IS NOT NULL) AS nm,
            {gender}, {company}, {city}, {region}, {inn}, {region_code},
            arg_max({{'tz': timezone, 'off': utc_offset_minutes}}, k)
                FILTER (WHERE timezone IS NOT NULL) AS tzs,
            {subject_type}, {legal_form},
            count(*) AS record_count,
            list_sort(list(DISTINCT source)) AS sources,
            list_sort(list(DISTINCT origin)) AS origins,
            min(created_at) AS first_seen_at,
            max(created_at) AS last_seen_at
         FROM (
            SELECT *,
                (((last_name IS NOT NULL)::INT + coalesce(length(first_name) > 2, false)::INT
                  + (middle_name IS NOT NULL)::INT)::BIGINT << 50)
                + (coalesce(regexp_matches(full_name, '[А-Яа-яЁё]'), false)::BIGINT << 48)
                + k AS nk
            FROM (
                SELECT r.*, w.k FROM records r
                JOIN (SELECT record_id, row_number() OVER (
                          ORDER BY {rank}, created_at NULLS FIRST, record_id) AS k
                      FROM records WHERE lead_id IS NOT NULL) w USING (record_id)))
         GROUP BY lead_id",
        phone = by("phone_e164"),
        email = by("email"),
        gender = by("gender"),
        company = by("company"),
        city = by("city"),
        region = by("region"),
        inn = by("inn"),
        region_code = by("region_code"),
        subject_type = by("subject_type"),
        legal_form = by("company_legal_form"),
    )
}

/// Random members with many ties (few origins and dates, missing values everywhere):
/// the golden records built in Rust must equal the former SQL's, field for field.
#[test]
fn golden_records_match_the_former_sql_on_random_members() {
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
        let name = match rng.below(6) {
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
            3 => [Some("Иванов И. И."), Some("Иванов"), Some("И"), None],
            4 => [Some("Ёлкин Ян"), Some("Ёлкин"), Some("Ян"), None],
            _ => [Some("ООО Ромашка"), None, None, None],
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
        let text = |rng: &mut Rng| maybe(rng, &["x", "y", "z"]);
        rows.push(format!(
            "({id}, {id}, 1, '{source}', 'h', {id}, '{origin}', {lead}, {phone}, {extra}, {email},
              {full}, {last}, {first}, {middle}, {gender}, {company}, {city}, {region}, {inn},
              {region_code}, {tz}, {offset}, {subject}, {legal}, {created})",
            source = rng.pick(&["list", "form", "site"]),
            phone = q(phone),
            email = q(email),
            full = q(name[0]),
            last = q(name[1]),
            first = q(name[2]),
            middle = q(name[3]),
            gender = q(maybe(&mut rng, &["male", "female"])),
            company = q(text(&mut rng)),
            city = q(text(&mut rng)),
            region = q(text(&mut rng)),
            inn = q(text(&mut rng)),
            region_code = q(text(&mut rng)),
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
                 first_name, middle_name, gender, company, city, region, inn, region_code,
                 timezone, utc_offset_minutes, subject_type, company_legal_form, created_at)
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
        first_seen_at, last_seen_at";
    let oracle_columns = "lead_id, phone_e164, phones, email, emails, nm.full_name,
        nm.last_name, nm.first_name, nm.middle_name, gender, company, city, region, inn,
        region_code, tzs.tz, tzs.off, subject_type, company_legal_form, record_count, sources,
        origins, first_seen_at, last_seen_at";
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
    assert_eq!(
        differ(&ours, &theirs),
        0,
        "golden records the former SQL does not give"
    );
    assert_eq!(
        differ(&theirs, &ours),
        0,
        "golden records the former SQL gives and Rust does not"
    );
}
