//! The call gate through the real database: random leads, consent histories (form grants
//! brought by records, withdrawals recorded against a number or an address) and suppression
//! lists (plain, per channel, erased hashes) are written to DuckDB; the call list read back
//! through the store must never hold a number that the rules, stated here independently,
//! say may not be called.

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadpipe::consent::{decide_status, Channel, ConsentEvent, ContactKind, Purpose, Status};
use leadpipe::consent_commands::call_list;
use leadpipe::normalise::Normaliser;
use leadpipe::store::Store;
use proptest::prelude::*;

const PHONES: [&str; 4] = [
    "+79161234567",
    "+79031112233",
    "+74951234567",
    "+79261112233",
];
const EMAILS: [&str; 2] = ["a@mail.ru", "b@yandex.ru"];

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::hours(h)
}

#[derive(Debug, Clone)]
struct Lead {
    phones: Vec<usize>,
    emails: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Event {
    /// A form record of lead `lead` grants calls for `phone` at `at`, maybe expiring.
    Grant {
        lead: usize,
        phone: usize,
        at: i64,
        expires: Option<i64>,
    },
    /// A vendor's claim for the same.
    Claim { lead: usize, phone: usize, at: i64 },
    /// A withdrawal recorded against a number (`true`) or an address.
    Withdraw { by_phone: bool, idx: usize, at: i64 },
}

#[derive(Debug, Clone)]
struct Suppress {
    by_phone: bool,
    idx: usize,
    /// None = every channel.
    channel: Option<Channel>,
    hashed: bool,
}

/// A `consent_status` row: status, since, expires_at, consent_id.
type StatusRow = (
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<i64>,
);

/// Events with the batch they are recorded in (batch 1 reaches the base after batch 0).
type Case = (Vec<Lead>, Vec<(Event, u8)>, Vec<Suppress>, i64);

fn arb_case() -> impl Strategy<Value = Case> {
    let lead = (
        proptest::collection::vec(0..4usize, 2..4),
        proptest::collection::vec(0..2usize, 0..2),
    )
        .prop_map(|(phones, emails)| Lead { phones, emails });
    let event = prop_oneof![
        6 => (0..3usize, 0..4usize, 0..100i64, proptest::option::weighted(0.3, 0..150i64))
            .prop_map(|(lead, phone, at, expires)| Event::Grant { lead, phone, at, expires }),
        1 => (0..3usize, 0..4usize, 0..100i64)
            .prop_map(|(lead, phone, at)| Event::Claim { lead, phone, at }),
        1 => (any::<bool>(), 0..4usize, 0..160i64)
            .prop_map(|(by_phone, idx, at)| Event::Withdraw { by_phone, idx, at }),
    ];
    let suppress = (
        any::<bool>(),
        0..4usize,
        proptest::option::of(prop_oneof![Just(Channel::Call), Just(Channel::Email)]),
        any::<bool>(),
    )
        .prop_map(|(by_phone, idx, channel, hashed)| Suppress {
            by_phone,
            idx,
            channel,
            hashed,
        });
    (
        proptest::collection::vec(lead, 3..4),
        proptest::collection::vec((event, 0..2u8), 0..7),
        proptest::collection::vec(suppress, 0..2),
        40..160i64,
    )
}

fn contact(by_phone: bool, idx: usize) -> (ContactKind, &'static str) {
    if by_phone {
        (ContactKind::Phone, PHONES[idx])
    } else {
        (ContactKind::Email, EMAILS[idx % 2])
    }
}

fn list_sql(items: &[&str]) -> String {
    let inner: Vec<String> = items.iter().map(|v| format!("'{v}'")).collect();
    format!("[{}]::VARCHAR[]", inner.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn the_stored_call_list_only_holds_callable_numbers(case in arb_case()) {
        let (leads, events, sups, now_h) = case;
        let now = t(now_h);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.duckdb")).unwrap();
        let conn = store.connection();
        // Leads, and one form record per lead and number (record id = lead*10 + phone).
        for (i, l) in leads.iter().enumerate() {
            let phones: Vec<&str> = l.phones.iter().map(|&p| PHONES[p]).collect();
            let emails: Vec<&str> = l.emails.iter().map(|&e| EMAILS[e]).collect();
            conn.execute_batch(&format!(
                "INSERT INTO leads (lead_id, phones, emails) VALUES ({i}, {}, {})",
                list_sql(&phones),
                list_sql(&emails)
            ))
            .unwrap();
            for (p, phone) in PHONES.iter().enumerate() {
                conn.execute_batch(&format!(
                    "INSERT INTO records (record_id, raw_id, run_id, source, file_hash, source_row, origin, lead_id, phone_e164)
                     VALUES ({id}, {id}, 1, 'form', 'h', 1, 'form', {i}, '{phone}')",
                    id = i * 10 + p
                ))
                .unwrap();
            }
        }
        let mut stored: [Vec<ConsentEvent>; 2] = [Vec::new(), Vec::new()];
        for (e, batch) in &events {
            let base = ConsentEvent {
                channel: Some(Channel::Call),
                purpose: Some(Purpose::Advertising),
                ..ConsentEvent::default()
            };
            stored[*batch as usize].push(match *e {
                Event::Grant { lead, phone, at, expires } => ConsentEvent {
                    record_id: Some((lead * 10 + phone) as i64),
                    phone_e164: Some(PHONES[phone].into()),
                    status: Some(Status::Granted),
                    legal_basis: "consent".into(),
                    captured_at: Some(t(at)),
                    expires_at: expires.map(t),
                    ..base
                },
                Event::Claim { lead, phone, at } => ConsentEvent {
                    record_id: Some((lead * 10 + phone) as i64),
                    phone_e164: Some(PHONES[phone].into()),
                    status: Some(Status::Claimed),
                    legal_basis: "vendor_claim".into(),
                    captured_at: Some(t(at)),
                    ..base
                },
                Event::Withdraw { by_phone, idx, at } => {
                    let (kind, value) = contact(by_phone, idx);
                    ConsentEvent {
                        phone_e164: (kind == ContactKind::Phone).then(|| value.to_string()),
                        email: (kind == ContactKind::Email).then(|| value.to_string()),
                        status: Some(Status::Withdrawn),
                        legal_basis: "withdrawal".into(),
                        captured_at: Some(t(at)),
                        withdrawn_at: Some(t(at)),
                        ..base
                    }
                }
            });
        }
        for batch in &mut stored {
            store.append_consents(batch, None, "test").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let hasher = store.contact_hasher().unwrap();
        for s in &sups {
            let (kind, value) = contact(s.by_phone, s.idx);
            let channel = s.channel.map(|c| format!("'{}'", c.as_str())).unwrap_or_else(|| "NULL".into());
            let shown = if s.hashed { "NULL".to_string() } else { format!("'{value}'") };
            conn.execute_batch(&format!(
                "INSERT INTO suppressions VALUES ('l', '{}', {shown}, '{}', {channel}, 'test', NULL, NULL, now())",
                kind.as_str(),
                hasher.hash(kind, value)
            ))
            .unwrap();
        }

        // The stage derives statuses in SQL; the gate in Rust. They must agree exactly.
        store.refresh_consent_status(now, "test", None).unwrap();
        for lead in store.gate_leads(None).unwrap() {
            for ch in Channel::ALL {
                for pu in Purpose::ALL {
                    let evs: Vec<&ConsentEvent> = lead.events.iter()
                        .filter(|e| e.channel == Some(ch) && e.purpose == Some(pu))
                        .collect();
                    let stored: Option<StatusRow> = conn
                        .query_row(
                            "SELECT status, since, expires_at, consent_id FROM consent_status
                             WHERE lead_id = ? AND channel = ? AND purpose = ?",
                            duckdb::params![lead.lead_id, ch.as_str(), pu.as_str()],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                        )
                        .ok();
                    if evs.is_empty() {
                        prop_assert!(stored.is_none());
                        continue;
                    }
                    let d = decide_status(&evs, now);
                    prop_assert_eq!(
                        stored,
                        Some((d.status.as_str().to_string(), d.since, d.expires_at, d.consent_id())),
                        "lead {} {:?} {:?}", lead.lead_id, ch, pu
                    );
                }
            }
        }
        let list = call_list(&store, Purpose::Advertising, now, &Normaliser::default()).unwrap();
        for d in &list.callable {
            let l = &leads[d.lead_id as usize];
            let phone = PHONES.iter().position(|p| *p == d.phone).expect("a known number");
            prop_assert!(l.phones.contains(&phone), "a number the lead does not hold");
            // No contact of the lead on a call (or all-channel) list.
            for s in &sups {
                let on_lead = if s.by_phone { l.phones.contains(&s.idx) } else { l.emails.contains(&(s.idx % 2)) };
                prop_assert!(!(on_lead && s.channel != Some(Channel::Email)), "suppressed: {:?}", s);
            }
            // A grant by this lead's record for this number, due, unexpired, and no
            // withdrawal against any of the lead's contacts at or after it (whatever its date).
            let withdrawals: Vec<(i64, u8)> = events.iter().filter_map(|(e, batch)| match *e {
                Event::Withdraw { by_phone, idx, at } => {
                    let hits = if by_phone { l.phones.contains(&idx) } else { l.emails.contains(&(idx % 2)) };
                    hits.then_some((at, *batch))
                }
                _ => None,
            }).collect();
            let lead_idx = d.lead_id as usize;
            // ... and later than every withdrawal both by date and by arrival.
            let granted = events.iter().any(|(e, batch)| match *e {
                Event::Grant { lead, phone: p, at, expires } => {
                    lead == lead_idx && p == phone && at <= now_h
                        && expires.is_none_or(|x| x > now_h)
                        && withdrawals.iter().all(|&(w, wb)| w < at && wb < *batch)
                }
                _ => false,
            });
            prop_assert!(granted, "called without a grant in force: {:?}", d);
        }
    }
}
