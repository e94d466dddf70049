use super::*;
use chrono::TimeZone;

fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

fn form_record(given: Option<bool>, raw: &str) -> RecordConsent {
    RecordConsent {
        record_id: 5,
        source: "site".into(),
        origin: Some(Origin::Form),
        phones: vec!["+79161234567".into(), "+79031112233".into()],
        email: Some("ivanov@mail.ru".into()),
        consent_raw: Some(raw.into()),
        consent_given: given,
        consent_at: Some(at(20, 7)),
        text_version: Some("v3".into()),
        form_url: Some("https://example.ru/landing".into()),
        ip: Some("203.0.113.5".into()),
        subject_type: Some("person".into()),
        ..RecordConsent::default()
    }
}

#[test]
fn a_ticked_form_grants_per_channel_and_number() {
    let events = events_for_record(&form_record(Some(true), "да"), &ConsentPolicy::default());
    // call × 2 numbers, sms × 2 numbers, email × 1
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.status == Some(Status::Granted)));
    let call: Vec<_> = events
        .iter()
        .filter(|e| e.channel == Some(Channel::Call))
        .collect();
    assert_eq!(call.len(), 2);
    assert_eq!(call[0].phone_e164.as_deref(), Some("+79161234567"));
    assert_eq!(
        call[0].source.as_deref(),
        Some("https://example.ru/landing")
    );
    assert_eq!(call[0].method.as_deref(), Some("checkbox"));
    assert_eq!(call[0].legal_basis, "consent");
    assert_eq!(call[0].raw_value.as_deref(), Some("да"));
    let email = events
        .iter()
        .find(|e| e.channel == Some(Channel::Email))
        .unwrap();
    assert_eq!(email.email.as_deref(), Some("ivanov@mail.ru"));
}

#[test]
fn policy_narrows_channels_and_sets_expiry() {
    let policy = ConsentPolicy {
        channels: vec![Channel::Call],
        valid_days: Some(365),
        ..ConsentPolicy::default()
    };
    let events = events_for_record(&form_record(Some(true), "1"), &policy);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].expires_at, Some(at(20, 7) + Duration::days(365)));
}

#[test]
fn what_each_origin_can_bring() {
    let p = ConsentPolicy::default();
    let status = |r: &RecordConsent| events_for_record(r, &p)[0].status;
    assert_eq!(status(&form_record(Some(false), "нет")), Some(Status::None));
    let unknown = events_for_record(&form_record(None, "maybe"), &p);
    assert_eq!(unknown[0].status, Some(Status::None));
    assert!(unknown[0].note.as_deref().unwrap().contains("maybe"));
    let mut no_time = form_record(Some(true), "да");
    no_time.consent_at = None;
    assert_eq!(status(&no_time), Some(Status::Claimed));
    // The submission time stands in for a missing consent time.
    no_time.created_at = Some(at(19, 9));
    assert_eq!(status(&no_time), Some(Status::Granted));
    let mut bought = form_record(Some(true), "да");
    bought.origin = Some(Origin::Purchased);
    assert_eq!(status(&bought), Some(Status::Claimed));
    assert_eq!(
        events_for_record(&bought, &p)[0].legal_basis,
        "vendor_claim"
    );
    let mut scraped = form_record(Some(true), "да");
    scraped.origin = Some(Origin::Open);
    assert_eq!(status(&scraped), Some(Status::None));
    let mut silent = form_record(None, "");
    silent.consent_raw = None;
    assert!(events_for_record(&silent, &p).is_empty());
}

fn ev(id: i64, status: Status, t: DateTime<Utc>) -> ConsentEvent {
    ConsentEvent {
        consent_id: id,
        status: Some(status),
        captured_at: Some(t),
        channel: Some(Channel::Call),
        purpose: Some(Purpose::Advertising),
        ..ConsentEvent::default()
    }
}

#[test]
fn latest_decisive_event_wins() {
    let g = ev(1, Status::Granted, at(1, 0));
    let mut w = ev(2, Status::Withdrawn, at(2, 0));
    w.withdrawn_at = Some(at(2, 0));
    let c = ev(3, Status::Claimed, at(3, 0));
    let now = at(10, 0);
    assert_eq!(current_status(&[&g], now).status, Status::Granted);
    assert_eq!(current_status(&[&g, &w], now).status, Status::Withdrawn);
    assert_eq!(current_status(&[&w, &g], now).status, Status::Withdrawn);
    // A later vendor claim does not undo a withdrawal, nor a grant.
    assert_eq!(current_status(&[&g, &w, &c], now).status, Status::Withdrawn);
    assert_eq!(current_status(&[&g, &c], now).status, Status::Granted);
    assert_eq!(current_status(&[&c], now).status, Status::Claimed);
    assert_eq!(current_status(&[], now).status, Status::None);
    // A grant dated after "now" has not happened yet; a withdrawal on record always counts.
    assert_eq!(
        current_status(&[&g], at(1, 0) - Duration::hours(1)).status,
        Status::None
    );
    assert_eq!(
        current_status(&[&g, &w], at(1, 12)).status,
        Status::Withdrawn
    );
    assert_eq!(current_status(&[&g], at(1, 12)).since, Some(at(1, 0)));
}

#[test]
fn basis_names_the_evidence() {
    let e = events_for_record(&form_record(Some(true), "да"), &ConsentPolicy::default());
    let d = describe(&e[0]);
    assert!(d.contains("checkbox"), "{d}");
    assert!(d.contains("https://example.ru/landing"), "{d}");
    assert!(d.contains("2026-11-20 07:00 UTC"), "{d}");
    assert!(d.contains("text v3"), "{d}");
    assert!(d.contains("203.0.113.5"), "{d}");
}

#[test]
fn hashes_depend_on_salt_and_kind() {
    let a = ContactHasher::new(b"one".to_vec());
    let b = ContactHasher::new(b"two".to_vec());
    assert_ne!(
        a.hash(ContactKind::Phone, "+79161234567"),
        b.hash(ContactKind::Phone, "+79161234567")
    );
    assert_ne!(
        a.hash(ContactKind::Phone, "x"),
        a.hash(ContactKind::Email, "x")
    );
    assert_eq!(a.hash(ContactKind::Phone, "+7916").len(), 64);
}

#[test]
fn a_tick_on_a_page_that_is_not_a_web_address_is_only_claimed() {
    for bad in [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<b>yes</b>",
        "file:///etc/passwd",
        "ftp://example.ru/form",
        "landing page",
        "//example.ru/landing",
        "http://",
    ] {
        let rec = RecordConsent {
            form_url: Some(bad.into()),
            ..form_record(Some(true), "да")
        };
        let d = record_decision(&rec, &ConsentPolicy::default()).unwrap();
        assert_eq!(d.status, Status::Claimed, "{bad}");
        assert_eq!(d.legal_basis, "none");
        assert!(
            d.note
                .as_deref()
                .unwrap()
                .contains("not an http(s) address"),
            "{bad}"
        );
        let events = events_for_record(&rec, &ConsentPolicy::default());
        assert!(events.iter().all(|e| e.status == Some(Status::Claimed)));
    }
    for good in [
        Some("https://example.ru/landing?utm=1"),
        Some("HTTP://Example.ru"),
        None,
        Some("  "),
    ] {
        let rec = RecordConsent {
            form_url: good.map(str::to_string),
            ..form_record(Some(true), "да")
        };
        let d = record_decision(&rec, &ConsentPolicy::default()).unwrap();
        assert_eq!(d.status, Status::Granted, "{good:?}");
    }
}
