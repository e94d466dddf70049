//! The consent status rule, in both of its forms: in Rust ([`decide_status`], which the call
//! gate, the report and the review page use on one lead's events) and in SQL
//! ([`status_sql`], [`basis_sql`], which the store's `Store::refresh_consent_status` runs over
//! the whole base, because a million form leads hold millions of events). The two must give
//! the same status, since, expiry, deciding event and basis; a change to one is a change to
//! the other, here. Checked through the real database: `tests/consent_gate_db.rs` (status,
//! on random histories) and `tests/consent.rs` `stored_bases_match_the_ones_rust_writes`
//! (the readable basis).
//!
//! The rule (README "Consent"): per lead, channel and purpose, a grant counts once it is
//! due, and only if it is later than every withdrawal (or expiry) on record, both by the
//! time it states and by when it reached us; then the latest such grant decides (`expired`
//! past its `expires_at`). Otherwise the latest withdrawal or expiry decides (on equal
//! times the safer one). Otherwise the latest due claim. `claimed` and `none` are not acts
//! of the person and never override a grant or a withdrawal.

use super::{ConsentEvent, Status};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Current status of one lead on one channel and purpose, and the event that decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub status: Status,
    /// Since when the status holds.
    pub since: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The deciding event (`consent_id`), if any.
    pub consent_id: Option<i64>,
    pub basis: String,
}

/// Derives the current status from a lead's events on one channel and purpose (callers
/// filter). See the module comment for the rules.
pub fn current_status(events: &[&ConsentEvent], now: DateTime<Utc>) -> Current {
    decide_status(events, now).into_current()
}

/// [`current_status`] without the readable basis (which needs the event's wording and
/// evidence): what the stage needs to tell whether anything changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decided<'a> {
    pub status: Status,
    pub since: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The deciding event.
    pub event: Option<&'a ConsentEvent>,
}

impl Decided<'_> {
    pub fn consent_id(&self) -> Option<i64> {
        self.event.map(|e| e.consent_id)
    }

    /// The readable basis; `event` must carry its wording and evidence for a full line.
    /// In SQL: [`basis_sql`].
    pub fn basis_with(&self, event: Option<&ConsentEvent>) -> String {
        match (self.status, event) {
            (_, None) => "no consent on record".into(),
            (Status::Expired, Some(e)) if e.status == Some(Status::Granted) => {
                format!("consent expired: {}", describe(e))
            }
            (_, Some(e)) => describe(e),
        }
    }

    fn into_current(self) -> Current {
        Current {
            status: self.status,
            since: self.since,
            expires_at: self.expires_at,
            consent_id: self.consent_id(),
            basis: self.basis_with(self.event),
        }
    }
}

/// The status rule on one lead's events for one channel and purpose (see the module
/// comment). Its SQL form is [`status_sql`]; `tests/consent_gate_db.rs` checks the two
/// agree.
pub fn decide_status<'a>(events: &[&'a ConsentEvent], now: DateTime<Utc>) -> Decided<'a> {
    let stops: Vec<&ConsentEvent> = events.iter().copied().filter(|e| is_stop(e)).collect();
    let alive = alive_grants(events, &stops, now);
    decide_from(events, &stops, &alive, now)
}

/// The current status and the grants in force (alive and not expired: a number is
/// callable only if one of these covers it), from one pass over the events.
pub fn status_and_grants<'a>(
    events: &[&'a ConsentEvent],
    now: DateTime<Utc>,
) -> (Current, Vec<&'a ConsentEvent>) {
    let stops: Vec<&ConsentEvent> = events.iter().copied().filter(|e| is_stop(e)).collect();
    let alive = alive_grants(events, &stops, now);
    let current = decide_from(events, &stops, &alive, now).into_current();
    let in_force = alive
        .into_iter()
        .filter(|e| e.expires_at.is_none_or(|x| x > now))
        .collect();
    (current, in_force)
}

/// The latest alive grant (CTE `g` of [`status_sql`]), else the latest stop (`st`), else
/// the latest due claim (`cl`), else none.
fn decide_from<'a>(
    events: &[&'a ConsentEvent],
    stops: &[&'a ConsentEvent],
    alive: &[&'a ConsentEvent],
    now: DateTime<Utc>,
) -> Decided<'a> {
    if let Some(g) = alive
        .iter()
        .copied()
        .max_by_key(|e| (e.effective_at(), e.consent_id))
    {
        return if g.expires_at.is_some_and(|x| x <= now) {
            Decided {
                status: Status::Expired,
                since: g.expires_at,
                expires_at: g.expires_at,
                event: Some(g),
            }
        } else {
            Decided {
                status: Status::Granted,
                since: g.effective_at(),
                expires_at: g.expires_at,
                event: Some(g),
            }
        };
    }
    if let Some(e) = stops
        .iter()
        .copied()
        .max_by_key(|e| (e.effective_at(), e.status.map(tie_rank), e.consent_id))
    {
        return Decided {
            status: e.status.unwrap_or(Status::Withdrawn),
            since: e.effective_at(),
            expires_at: None,
            event: Some(e),
        };
    }
    if let Some(e) = events
        .iter()
        .copied()
        .filter(|e| e.status == Some(Status::Claimed))
        .filter(|e| e.effective_at().is_some_and(|t| t <= now))
        .max_by_key(|e| (e.effective_at(), e.consent_id))
    {
        return Decided {
            status: Status::Claimed,
            since: e.effective_at(),
            expires_at: None,
            event: Some(e),
        };
    }
    Decided {
        status: Status::None,
        since: None,
        expires_at: None,
        event: None,
    }
}

/// On equal times the safer event wins (in SQL: `st`'s second sort key).
fn tie_rank(status: Status) -> u8 {
    match status {
        Status::Withdrawn => 3,
        Status::Expired => 2,
        Status::Granted => 1,
        Status::Claimed | Status::None => 0,
    }
}

fn is_stop(e: &ConsentEvent) -> bool {
    matches!(e.status, Some(Status::Withdrawn | Status::Expired))
}

/// A grant overrides a withdrawal (or expiry) only when it is later both by the time it
/// states and by when it reached us. So a form export dated before a withdrawal but
/// imported after it does not bring consent back, nor does a grant dated in the future or
/// a withdrawal typed in with only a date; a form filled in again after the withdrawal does.
fn overrides(grant: &ConsentEvent, stop: &ConsentEvent) -> bool {
    let stated = matches!(
        (grant.effective_at(), stop.effective_at()),
        (Some(g), Some(s)) if g > s
    );
    let recorded = match (grant.recorded_at, stop.recorded_at) {
        (Some(g), Some(s)) => g > s,
        _ => true,
    };
    stated && recorded
}

/// Grants that are due at `now` and override every withdrawal and expiry on record
/// (whatever date those carry: a call list made "as of" last week still honours
/// yesterday's withdrawal).
fn alive_grants<'a>(
    events: &[&'a ConsentEvent],
    stops: &[&ConsentEvent],
    now: DateTime<Utc>,
) -> Vec<&'a ConsentEvent> {
    events
        .iter()
        .copied()
        .filter(|e| e.status == Some(Status::Granted))
        .filter(|e| e.effective_at().is_some_and(|t| t <= now))
        .filter(|g| stops.iter().all(|s| overrides(g, s)))
        .collect()
}

/// One line a reviewer can read: what, how, where, when, which wording, which evidence.
/// In SQL: [`DESCRIBE_SQL`].
pub fn describe(e: &ConsentEvent) -> String {
    let mut s = String::new();
    s.push_str(match e.status {
        Some(Status::Granted) => "consent",
        Some(Status::Withdrawn) => "withdrawn",
        Some(Status::Expired) => "expired",
        Some(Status::Claimed) => "claimed",
        _ => "no consent",
    });
    if let Some(m) = &e.method {
        s.push_str(&format!(" by {m}"));
    }
    if let Some(src) = &e.source {
        s.push_str(&format!(" at {src}"));
    }
    if let Some(t) = e.effective_at() {
        s.push_str(&format!(" on {}", t.format("%Y-%m-%d %H:%M UTC")));
    }
    if let Some(v) = &e.text_version {
        s.push_str(&format!(", text {v}"));
    }
    if let Some(ip) = &e.evidence_ip {
        s.push_str(&format!(", IP {ip}"));
    }
    if let Some(x) = e.expires_at {
        s.push_str(&format!(", valid until {}", x.format("%Y-%m-%d")));
    }
    s.push_str(&format!(" (consent #{})", e.consent_id));
    s
}

/// [`describe`] in SQL, for an event of `consents` aliased `c`: bases for a million
/// statuses are composed where the data is, not copied through Rust cell by cell.
pub const DESCRIBE_SQL: &str = "concat(
    CASE c.status WHEN 'granted' THEN 'consent' WHEN 'withdrawn' THEN 'withdrawn'
        WHEN 'expired' THEN 'expired' WHEN 'claimed' THEN 'claimed' ELSE 'no consent' END,
    coalesce(' by ' || c.method, ''),
    coalesce(' at ' || c.source, ''),
    coalesce(' on ' || strftime(coalesce(CASE WHEN c.status = 'withdrawn'
        THEN coalesce(c.withdrawn_at, c.captured_at) ELSE c.captured_at END,
        c.recorded_at)::TIMESTAMP, '%Y-%m-%d %H:%M UTC'), ''),
    coalesce(', text ' || c.text_version, ''),
    coalesce(', IP ' || c.evidence_ip, ''),
    coalesce(', valid until ' || strftime(c.expires_at::TIMESTAMP, '%Y-%m-%d'), ''),
    ' (consent #' || c.consent_id::VARCHAR || ')')";

/// [`Decided::basis_with`] in SQL: the basis of a status whose value is the expression
/// `status` and whose deciding event of `consents` is aliased `c` (LEFT JOINed: no event,
/// no consent on record).
pub fn basis_sql(status: &str) -> String {
    format!(
        "CASE WHEN c.consent_id IS NULL THEN 'no consent on record'
              WHEN {status} = 'expired' AND c.status = 'granted' THEN 'consent expired: ' || {DESCRIBE_SQL}
              ELSE {DESCRIBE_SQL} END"
    )
}

/// [`decide_status`] in SQL, for every lead at once: a query of (lead_id, channel, purpose,
/// status, since, expires_at, consent_id), one row per lead, channel and purpose that has
/// events. `lead_events` is a relation (a table name or a parenthesised query) of
/// (lead_id, consent_id) pairs, the events of `consents` that apply to each lead (which
/// ones do is the store's business: their records' and their contacts'); `now` is a
/// TIMESTAMPTZ expression. CTE by CTE: `e` the events with their effective time
/// ([`ConsentEvent::effective_at`]), `stops` per key the latest stop by stated time and by
/// arrival, `g` the latest alive grant (`alive_grants`), `st` the latest stop, `cl` the
/// latest due claim; then as in `decide_from`.
pub fn status_sql(lead_events: &str, now: &str) -> String {
    format!(
        "WITH e AS (
            SELECT ev.lead_id, c.channel, c.purpose, c.status, c.consent_id,
                   c.recorded_at, c.expires_at,
                   coalesce(CASE WHEN c.status = 'withdrawn'
                                 THEN coalesce(c.withdrawn_at, c.captured_at)
                                 ELSE c.captured_at END, c.recorded_at) AS eff
            FROM {lead_events} ev JOIN consents c USING (consent_id)),
          -- Withdrawals and expiries count whatever their date.
          stops AS (
            SELECT lead_id, channel, purpose, max(eff) AS s_eff,
                   bool_or(eff IS NULL) AS s_eff_null, max(recorded_at) AS s_rec
            FROM e WHERE status IN ('withdrawn', 'expired') GROUP BY ALL),
          -- A grant counts once due, and only if later than every stop both
          -- by its stated time and by when it was recorded.
          g AS (
            SELECT e.lead_id, e.channel, e.purpose, e.consent_id, e.eff, e.expires_at
            FROM e LEFT JOIN stops s USING (lead_id, channel, purpose)
            WHERE e.status = 'granted' AND e.eff <= {now}
              AND (s.lead_id IS NULL OR (NOT s.s_eff_null AND e.eff > s.s_eff
                   AND (e.recorded_at IS NULL OR s.s_rec IS NULL
                        OR e.recorded_at > s.s_rec)))
            QUALIFY row_number() OVER (PARTITION BY e.lead_id, e.channel, e.purpose
                                       ORDER BY e.eff DESC, e.consent_id DESC) = 1),
          st AS (
            SELECT lead_id, channel, purpose, consent_id, status, eff FROM e
            WHERE status IN ('withdrawn', 'expired')
            QUALIFY row_number() OVER (PARTITION BY lead_id, channel, purpose
                ORDER BY eff DESC NULLS LAST,
                         CASE status WHEN 'withdrawn' THEN 1 ELSE 0 END DESC,
                         consent_id DESC) = 1),
          cl AS (
            SELECT lead_id, channel, purpose, consent_id, eff FROM e
            WHERE status = 'claimed' AND eff <= {now}
            QUALIFY row_number() OVER (PARTITION BY lead_id, channel, purpose
                                       ORDER BY eff DESC, consent_id DESC) = 1),
          k AS (SELECT DISTINCT lead_id, channel, purpose FROM e)
         SELECT k.lead_id, k.channel, k.purpose,
                CASE WHEN g.lead_id IS NOT NULL THEN
                          CASE WHEN g.expires_at <= {now} THEN 'expired' ELSE 'granted' END
                     WHEN st.lead_id IS NOT NULL THEN st.status
                     WHEN cl.lead_id IS NOT NULL THEN 'claimed'
                     ELSE 'none' END AS status,
                CASE WHEN g.lead_id IS NOT NULL THEN
                          CASE WHEN g.expires_at <= {now} THEN g.expires_at ELSE g.eff END
                     WHEN st.lead_id IS NOT NULL THEN st.eff
                     WHEN cl.lead_id IS NOT NULL THEN cl.eff END AS since,
                g.expires_at AS expires_at,
                coalesce(g.consent_id, st.consent_id, cl.consent_id) AS consent_id
         FROM k LEFT JOIN g USING (lead_id, channel, purpose)
                LEFT JOIN st USING (lead_id, channel, purpose)
                LEFT JOIN cl USING (lead_id, channel, purpose)"
    )
}
