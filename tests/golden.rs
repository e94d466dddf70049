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
        .rebuild_leads(1, &["form".into(), "purchased".into(), "open".into()])
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
