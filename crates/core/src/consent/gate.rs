//! The call gate: which of a lead's numbers may be called now, and why the others may not.
//! The only road to a call list. A number passes when all of these hold:
//! 1. it is a valid number (checked again here, not trusted from the table);
//! 2. the lead's current call consent for the purpose is `granted`, not expired;
//! 3. a grant in force covers this very number (consent is the subscriber's);
//! 4. none of the lead's numbers or addresses is on a suppression list for calls, in
//!    plain form or as an erased person's hash.

use super::{
    status_and_grants, Channel, ConsentEvent, ContactHasher, ContactKind, Current, Purpose, Status,
};
use crate::normalise::phone::PhoneNormaliser;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// One lead as the gate sees it.
#[derive(Debug, Clone, Default)]
pub struct GateLead {
    pub lead_id: i64,
    /// Every number of the lead, as stored.
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    /// Every consent event that applies to the lead, any channel or purpose.
    pub events: Vec<ConsentEvent>,
}

/// An entry of a suppression list. `channel` `None` means every channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuppressionEntry {
    pub list: String,
    pub reason: String,
    pub channel: Option<Channel>,
    /// Blocks only this number, not the whole lead (a wrong number: it is not the person's).
    pub number_only: bool,
}

impl SuppressionEntry {
    fn blocks(&self, channel: Channel) -> bool {
        self.channel.is_none_or(|c| c == channel)
    }
}

/// Every suppression list, in memory: plain values (do-not-call lists) and salted hashes
/// (erased people, whose contacts are no longer stored).
#[derive(Debug, Clone)]
pub struct Suppressions {
    plain: HashMap<(ContactKind, String), Vec<SuppressionEntry>>,
    hashed: HashMap<String, Vec<SuppressionEntry>>,
    hasher: ContactHasher,
}

impl Suppressions {
    pub fn new(hasher: ContactHasher) -> Self {
        Suppressions {
            plain: HashMap::new(),
            hashed: HashMap::new(),
            hasher,
        }
    }

    pub fn add_plain(&mut self, kind: ContactKind, value: &str, entry: SuppressionEntry) {
        self.plain
            .entry((kind, value.to_string()))
            .or_default()
            .push(entry);
    }

    pub fn add_hash(&mut self, hash: &str, entry: SuppressionEntry) {
        self.hashed.entry(hash.to_string()).or_default().push(entry);
    }

    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.hashed.is_empty()
    }

    /// Every entry for this contact, plain or (for erased people) by hash.
    fn entries(&self, kind: ContactKind, value: &str) -> impl Iterator<Item = &SuppressionEntry> {
        let plain = self
            .plain
            .get(&(kind, value.to_string()))
            .into_iter()
            .flatten();
        let hashed = if self.hashed.is_empty() {
            None
        } else {
            self.hashed.get(&self.hasher.hash(kind, value))
        };
        plain.chain(hashed.into_iter().flatten())
    }

    /// The first entry that blocks `channel` for this contact, if any.
    pub fn find(
        &self,
        kind: ContactKind,
        value: &str,
        channel: Channel,
    ) -> Option<&SuppressionEntry> {
        self.entries(kind, value).find(|e| e.blocks(channel))
    }

    /// Like [`Suppressions::find`], but only entries that stop the whole lead.
    pub fn find_lead_wide(
        &self,
        kind: ContactKind,
        value: &str,
        channel: Channel,
    ) -> Option<&SuppressionEntry> {
        self.entries(kind, value)
            .find(|e| e.blocks(channel) && !e.number_only)
    }

    pub fn hasher(&self) -> &ContactHasher {
        &self.hasher
    }
}

/// Why a number may not be called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "block", rename_all = "snake_case")]
pub enum Blocked {
    InvalidPhone,
    /// The lead's current call consent is not `granted` (it is this).
    NoConsent {
        status: Status,
    },
    /// The lead has a grant, but not for this number.
    NumberNotCovered,
    Suppressed {
        list: String,
        reason: String,
        contact: ContactKind,
    },
}

impl Blocked {
    /// Stable short code for counting.
    pub fn code(&self) -> String {
        match self {
            Blocked::InvalidPhone => "invalid_phone".into(),
            Blocked::NoConsent { status } => format!("consent_{status}"),
            Blocked::NumberNotCovered => "consent_not_for_this_number".into(),
            Blocked::Suppressed { .. } => "suppressed".into(),
        }
    }
}

/// The gate's answer for one number of one lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhoneDecision {
    pub lead_id: i64,
    pub phone: String,
    /// The lead's current call consent for the purpose.
    pub consent: Current,
    /// `None`: may be called, on the basis of `grant`.
    pub blocked: Option<Blocked>,
    /// The grant that covers this number (when callable).
    pub grant_id: Option<i64>,
    pub basis: Option<String>,
}

impl PhoneDecision {
    pub fn callable(&self) -> bool {
        self.blocked.is_none()
    }
}

/// The call-channel events for `purpose`, the lead's current status, and the gate's answer
/// for each of its numbers (a lead without numbers gets none).
pub fn decide(
    lead: &GateLead,
    purpose: Purpose,
    suppressions: &Suppressions,
    phones: &PhoneNormaliser,
    now: DateTime<Utc>,
) -> Vec<PhoneDecision> {
    let events: Vec<&ConsentEvent> = lead
        .events
        .iter()
        .filter(|e| e.channel == Some(Channel::Call) && e.purpose == Some(purpose))
        .collect();
    let (consent, grants) = status_and_grants(&events, now);
    // Any contact of the lead on a call suppression list stops the whole lead: a person
    // who complained from one number does not want a call on another.
    let suppressed = lead
        .phones
        .iter()
        .map(|p| (ContactKind::Phone, p))
        .chain(lead.emails.iter().map(|e| (ContactKind::Email, e)))
        .find_map(|(kind, v)| {
            suppressions
                .find_lead_wide(kind, v, Channel::Call)
                .map(|entry| Blocked::Suppressed {
                    list: entry.list.clone(),
                    reason: entry.reason.clone(),
                    contact: kind,
                })
        });
    let mut out = Vec::with_capacity(lead.phones.len());
    let mut seen = std::collections::HashSet::new();
    for phone in &lead.phones {
        if !seen.insert(phone.as_str()) {
            continue;
        }
        let valid = phones
            .normalise(phone)
            .ok()
            .and_then(|i| i.e164)
            .is_some_and(|e| e == *phone);
        let grant = grants
            .iter()
            .find(|g| g.phone_e164.as_deref() == Some(phone.as_str()));
        let blocked = if !valid {
            Some(Blocked::InvalidPhone)
        } else if let Some(s) = &suppressed {
            Some(s.clone())
        } else if let Some(entry) = suppressions.find(ContactKind::Phone, phone, Channel::Call) {
            // Only number-only entries are left here (a wrong number).
            Some(Blocked::Suppressed {
                list: entry.list.clone(),
                reason: entry.reason.clone(),
                contact: ContactKind::Phone,
            })
        } else if consent.status != Status::Granted {
            Some(Blocked::NoConsent {
                status: consent.status,
            })
        } else if grant.is_none() {
            Some(Blocked::NumberNotCovered)
        } else {
            None
        };
        let callable = blocked.is_none();
        out.push(PhoneDecision {
            lead_id: lead.lead_id,
            phone: phone.clone(),
            consent: consent.clone(),
            blocked,
            grant_id: grant.filter(|_| callable).map(|g| g.consent_id),
            basis: grant.filter(|_| callable).map(|g| super::describe(g)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const POOL: [&str; 5] = [
        "+79161234567",
        "+79031112233",
        "+74951234567",
        "+78005553535",
        "+7000", // not a valid number: must never be called
    ];
    const EMAILS: [&str; 2] = ["a@mail.ru", "b@yandex.ru"];

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(h)
    }

    fn arb_event() -> impl Strategy<Value = ConsentEvent> {
        // Weighted towards call grants, so that many cases reach a "call" answer.
        (
            0..5usize,
            prop_oneof![4 => Just(0usize), 1 => Just(1), 1 => Just(2)],
            prop_oneof![3 => Just(0usize), 1 => Just(1)],
            prop_oneof![4 => Just(0usize), 1 => Just(1), 1 => Just(2), 1 => Just(3), 1 => Just(4)],
            proptest::option::weighted(0.9, 0..100i64),
            proptest::option::weighted(0.3, 0..150i64),
            0..100i64,
        )
            .prop_map(|(p, ch, pu, st, at, exp, rec)| ConsentEvent {
                phone_e164: Some(POOL[p].to_string()),
                channel: Some(Channel::ALL[ch]),
                purpose: Some(Purpose::ALL[pu]),
                status: Some(
                    [
                        Status::Granted,
                        Status::Withdrawn,
                        Status::Expired,
                        Status::Claimed,
                        Status::None,
                    ][st],
                ),
                captured_at: at.map(t),
                withdrawn_at: at.map(t),
                expires_at: exp.map(t),
                recorded_at: Some(t(rec)),
                ..ConsentEvent::default()
            })
    }

    fn arb_lead() -> impl Strategy<Value = GateLead> {
        (
            proptest::collection::vec(0..5usize, 1..4),
            proptest::collection::vec(0..2usize, 0..2),
            proptest::collection::vec(arb_event(), 0..8),
        )
            .prop_map(|(phones, emails, mut events)| {
                for (i, e) in events.iter_mut().enumerate() {
                    e.consent_id = i as i64 + 1;
                }
                GateLead {
                    lead_id: 1,
                    phones: phones.into_iter().map(|i| POOL[i].to_string()).collect(),
                    emails: emails.into_iter().map(|i| EMAILS[i].to_string()).collect(),
                    events,
                }
            })
    }

    /// (kind, index into POOL/EMAILS, hashed?, channel or all)
    fn arb_suppressions() -> impl Strategy<Value = Vec<(bool, usize, bool, Option<usize>)>> {
        proptest::collection::vec(
            (
                any::<bool>(),
                0..5usize,
                any::<bool>(),
                proptest::option::of(0..3usize),
            ),
            0..3,
        )
    }

    fn build(list: &[(bool, usize, bool, Option<usize>)]) -> Suppressions {
        let mut s = Suppressions::new(ContactHasher::new(b"salt".to_vec()));
        for &(is_phone, i, hashed, ch) in list {
            let (kind, value) = if is_phone {
                (ContactKind::Phone, POOL[i])
            } else {
                (ContactKind::Email, EMAILS[i % 2])
            };
            let entry = SuppressionEntry {
                list: "dnc".into(),
                reason: "test".into(),
                channel: ch.map(|c| Channel::ALL[c]),
                number_only: false,
            };
            if hashed {
                let h = s.hasher().hash(kind, value);
                s.add_hash(&h, entry);
            } else {
                s.add_plain(kind, value, entry);
            }
        }
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        /// The guarantee, stated independently of the implementation: a number that
        /// passes is valid, is on no call or all-channel list (plain or hashed) with any of
        /// the lead's contacts, and has a grant for calls and this purpose, in force now,
        /// not expired, with no withdrawal or expiry at or after it.
        #[test]
        fn only_callable_numbers_pass(
            lead in arb_lead(),
            list in arb_suppressions(),
            now_h in 0..160i64,
            advertising in any::<bool>(),
        ) {
            let purpose = if advertising { Purpose::Advertising } else { Purpose::Service };
            let now = t(now_h);
            let sup = build(&list);
            let decisions = decide(&lead, purpose, &sup, &PhoneNormaliser::default(), now);
            for d in decisions.iter().filter(|d| d.callable()) {
                prop_assert!(d.phone != "+7000");
                for &(is_phone, i, _, ch) in &list {
                    let blocks_calls = ch.is_none() || ch == Some(0);
                    let on_lead = if is_phone {
                        lead.phones.iter().any(|p| p == POOL[i])
                    } else {
                        lead.emails.iter().any(|e| e == EMAILS[i % 2])
                    };
                    prop_assert!(!(blocks_calls && on_lead), "suppressed contact called");
                }
                let when = |e: &ConsentEvent| e.withdrawn_at.or(e.captured_at).or(e.recorded_at);
                let relevant: Vec<&ConsentEvent> = lead.events.iter()
                    .filter(|e| e.channel == Some(Channel::Call) && e.purpose == Some(purpose))
                    // Withdrawals and expiries count whatever their date; the rest once due.
                    .filter(|e| matches!(e.status, Some(Status::Withdrawn | Status::Expired))
                        || when(e).is_some_and(|w| w <= now))
                    .collect();
                // A grant in force: due, unexpired, for this number, and later than every
                // withdrawal or expiry on record both by its stated time and by when it
                // was recorded.
                let ok = relevant.iter().any(|g| {
                    g.status == Some(Status::Granted)
                        && g.phone_e164.as_deref() == Some(d.phone.as_str())
                        && g.expires_at.is_none_or(|x| x > now)
                        && relevant.iter().all(|s| {
                            !matches!(s.status, Some(Status::Withdrawn | Status::Expired))
                                || (when(g) > when(s) && g.recorded_at > s.recorded_at)
                        })
                });
                prop_assert!(ok, "called without a grant in force: {:?}", d);
            }
        }
    }

    /// The property above is only worth something if random cases do reach the gate's
    /// "call" answer often enough; this guards the generators against going vacuous.
    #[test]
    fn random_cases_do_produce_callable_numbers() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = (arb_lead(), arb_suppressions(), 0..160i64);
        let mut callable_cases = 0;
        for _ in 0..2000 {
            let (lead, list, now_h) = strategy.new_tree(&mut runner).unwrap().current();
            let d = decide(
                &lead,
                Purpose::Advertising,
                &build(&list),
                &PhoneNormaliser::default(),
                t(now_h),
            );
            callable_cases += usize::from(d.iter().any(|d| d.callable()));
        }
        assert!(
            callable_cases > 100,
            "only {callable_cases} of 2000 cases had a callable number"
        );
    }

    fn grant(id: i64, phone: &str, at: i64) -> ConsentEvent {
        ConsentEvent {
            consent_id: id,
            phone_e164: Some(phone.into()),
            channel: Some(Channel::Call),
            purpose: Some(Purpose::Advertising),
            status: Some(Status::Granted),
            captured_at: Some(t(at)),
            ..ConsentEvent::default()
        }
    }

    fn lead(phones: &[&str], events: Vec<ConsentEvent>) -> GateLead {
        GateLead {
            lead_id: 7,
            phones: phones.iter().map(|p| p.to_string()).collect(),
            emails: vec!["a@mail.ru".into()],
            events,
        }
    }

    fn decide_now(l: &GateLead, s: &Suppressions, now: i64) -> Vec<PhoneDecision> {
        decide(
            l,
            Purpose::Advertising,
            s,
            &PhoneNormaliser::default(),
            t(now),
        )
    }

    fn empty() -> Suppressions {
        Suppressions::new(ContactHasher::new(b"s".to_vec()))
    }

    #[test]
    fn a_clean_grant_is_callable_only_for_its_number() {
        let l = lead(
            &["+79161234567", "+79031112233"],
            vec![grant(1, "+79161234567", 10)],
        );
        let d = decide_now(&l, &empty(), 20);
        assert!(d[0].callable());
        assert_eq!(d[0].grant_id, Some(1));
        assert_eq!(d[1].blocked, Some(Blocked::NumberNotCovered));
        // Before the grant was given, nobody may be called.
        let before = decide_now(&l, &empty(), 5);
        assert_eq!(
            before[0].blocked,
            Some(Blocked::NoConsent {
                status: Status::None
            })
        );
    }

    #[test]
    fn withdrawal_wins_then_a_new_grant_counts() {
        let mut w = grant(2, "+79161234567", 30);
        w.status = Some(Status::Withdrawn);
        w.withdrawn_at = Some(t(30));
        let l = lead(&["+79161234567"], vec![grant(1, "+79161234567", 10), w]);
        assert_eq!(
            decide_now(&l, &empty(), 40)[0].blocked,
            Some(Blocked::NoConsent {
                status: Status::Withdrawn
            })
        );
        let mut l2 = l.clone();
        l2.events.push(grant(3, "+79161234567", 50));
        assert!(decide_now(&l2, &empty(), 60)[0].callable());
        // A withdrawal at the very same time as a grant wins.
        let mut same = l.clone();
        same.events.push(grant(4, "+79161234567", 30));
        assert!(!decide_now(&same, &empty(), 40)[0].callable());
    }

    #[test]
    fn a_grant_must_be_later_by_date_and_by_arrival() {
        let mut w = grant(2, "+79161234567", 30);
        w.status = Some(Status::Withdrawn);
        w.withdrawn_at = Some(t(30));
        w.recorded_at = Some(t(100));
        // An old export dated before the withdrawal, imported after it: still withdrawn.
        let mut old_export = grant(1, "+79161234567", 10);
        old_export.recorded_at = Some(t(200));
        // A grant on record before the withdrawal arrived but dated after it (a typo, a
        // withdrawal typed with only a date): still withdrawn.
        let mut dated_later = grant(3, "+79161234567", 40);
        dated_later.recorded_at = Some(t(50));
        let l = lead(&["+79161234567"], vec![old_export, dated_later, w.clone()]);
        assert!(!decide_now(&l, &empty(), 300)[0].callable());
        // The person fills in the form again after withdrawing: callable again.
        let mut again = grant(4, "+79161234567", 150);
        again.recorded_at = Some(t(160));
        let l = lead(&["+79161234567"], vec![w, again]);
        assert!(decide_now(&l, &empty(), 300)[0].callable());
    }

    #[test]
    fn claims_never_grant_and_never_override() {
        let mut claim = grant(1, "+79161234567", 10);
        claim.status = Some(Status::Claimed);
        let l = lead(&["+79161234567"], vec![claim.clone()]);
        assert_eq!(
            decide_now(&l, &empty(), 20)[0].blocked,
            Some(Blocked::NoConsent {
                status: Status::Claimed
            })
        );
        let mut later_claim = claim;
        later_claim.captured_at = Some(t(30));
        let l = lead(
            &["+79161234567"],
            vec![grant(2, "+79161234567", 10), later_claim],
        );
        assert!(decide_now(&l, &empty(), 40)[0].callable());
    }

    #[test]
    fn expiry_applies() {
        let mut g = grant(1, "+79161234567", 10);
        g.expires_at = Some(t(20));
        let l = lead(&["+79161234567"], vec![g]);
        assert!(decide_now(&l, &empty(), 15)[0].callable());
        assert_eq!(
            decide_now(&l, &empty(), 20)[0].blocked,
            Some(Blocked::NoConsent {
                status: Status::Expired
            })
        );
    }

    #[test]
    fn suppression_of_any_contact_blocks_every_number() {
        let l = lead(
            &["+79161234567", "+79031112233"],
            vec![grant(1, "+79161234567", 10), grant(2, "+79031112233", 10)],
        );
        let mut s = empty();
        s.add_plain(
            ContactKind::Email,
            "a@mail.ru",
            SuppressionEntry {
                list: "complaints".into(),
                reason: "complaint".into(),
                channel: None,
                number_only: false,
            },
        );
        assert!(decide_now(&l, &s, 20).iter().all(|d| !d.callable()));
        // An e-mail-only opt-out does not stop calls.
        let mut s = empty();
        s.add_plain(
            ContactKind::Email,
            "a@mail.ru",
            SuppressionEntry {
                list: "unsubscribed".into(),
                reason: "opt_out".into(),
                channel: Some(Channel::Email),
                number_only: false,
            },
        );
        assert!(decide_now(&l, &s, 20).iter().all(|d| d.callable()));
        // A hashed (erased) number blocks too.
        let mut s = empty();
        let h = s.hasher().hash(ContactKind::Phone, "+79031112233");
        s.add_hash(
            &h,
            SuppressionEntry {
                list: "erasure".into(),
                reason: "erasure".into(),
                channel: None,
                number_only: false,
            },
        );
        assert!(decide_now(&l, &s, 20).iter().all(|d| !d.callable()));
        // A wrong number stops that number only.
        let mut s = empty();
        s.add_plain(
            ContactKind::Phone,
            "+79031112233",
            SuppressionEntry {
                list: "wrong-numbers".into(),
                reason: "wrong_number".into(),
                channel: Some(Channel::Call),
                number_only: true,
            },
        );
        let d = decide_now(&l, &s, 20);
        assert!(d[0].callable());
        assert!(!d[1].callable());
    }

    #[test]
    fn invalid_numbers_never_pass() {
        let l = lead(&["+7000", "89161234567"], vec![grant(1, "+7000", 1)]);
        let d = decide_now(&l, &empty(), 20);
        assert!(d.iter().all(|d| d.blocked == Some(Blocked::InvalidPhone)));
    }
}
