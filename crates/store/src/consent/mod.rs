//! The consent stage's tables, by job: `events` (the append-only `consents` history),
//! `refresh` (the derived `consent_status` and the consent columns of `leads`), `audit`
//! (the `consent_audit` trail), `suppress` (`suppression_lists`, `suppressions` and the
//! salt erased contacts are hashed with) and `gate` (what the call gate, call lists and
//! reports read). The rules themselves are `leadpipe_core::consent`.

use leadpipe_core::consent::{Channel, Purpose};

pub mod audit;
pub mod events;
pub mod gate;
pub mod refresh;
pub mod suppress;

// The paths the commands have always used.
pub use audit::AuditRow;
pub use gate::LeadCard;
pub use refresh::ConsentRefresh;
pub use suppress::{ListRow, Suppression, SuppressionListLoad, ERASURE_LIST};

/// Which live events apply to which lead, as a query of (lead_id, consent_id): those its
/// member records brought, and those recorded against one of its numbers or addresses by
/// a command or a file (withdrawals reach whoever holds the contact). One rule for the
/// status refresh and the gate, so both see the same history. `distinct` drops repeated
/// pairs (the gate reads each event once; the refresh's rule does not mind repeats);
/// `only` limits it to some leads (a condition on `lead_id`: `= 7`, `IN (…)`), `scope` to
/// one channel and purpose.
pub(crate) fn lead_events_sql(
    distinct: bool,
    only: Option<&str>,
    scope: Option<(Channel, Purpose)>,
) -> String {
    let union = if distinct { "UNION" } else { "UNION ALL" };
    let lead_filter = only
        .map(|cond| format!("AND lead_id {cond}"))
        .unwrap_or_default();
    let lead_filter_r = only
        .map(|cond| format!("AND r.lead_id {cond}"))
        .unwrap_or_default();
    let event_filter = scope
        .map(|(ch, pu)| {
            format!(
                "AND c.channel = '{}' AND c.purpose = '{}'",
                ch.as_str(),
                pu.as_str()
            )
        })
        .unwrap_or_default();
    format!(
        "WITH lp AS (SELECT lead_id, unnest(phones) AS v FROM leads WHERE true {lead_filter}),
              le AS (SELECT lead_id, unnest(emails) AS v FROM leads WHERE true {lead_filter})
         SELECT r.lead_id, c.consent_id FROM consents c JOIN records r ON r.record_id = c.record_id
          WHERE r.lead_id IS NOT NULL AND c.superseded_at IS NULL {lead_filter_r} {event_filter}
         {union} SELECT lp.lead_id, c.consent_id FROM consents c JOIN lp
          ON c.record_id IS NULL AND c.superseded_at IS NULL AND c.phone_e164 = lp.v {event_filter}
         {union} SELECT le.lead_id, c.consent_id FROM consents c JOIN le
          ON c.record_id IS NULL AND c.superseded_at IS NULL AND c.email = le.v {event_filter}"
    )
}

impl crate::Store {
    /// How many leads have a phone number at all: what a call list could hold at most.
    pub fn leads_with_phone(&self) -> Result<u64, crate::StoreError> {
        let n: i64 = self
            .connection()
            .query_row(
                "SELECT count(*) FROM leads WHERE len(phones) > 0 OR phone_e164 IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .map_err(crate::db("counting leads with a phone"))?;
        Ok(n.max(0) as u64)
    }
}
