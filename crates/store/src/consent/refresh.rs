//! The derived consent status: `consent_status`, one row per lead, channel and purpose with
//! events, re-derived from the history on every run and command that changes it (the rule
//! itself, in SQL and in Rust, is `leadpipe_core::consent::status`), and the consent
//! columns of `leads` that show it.

use super::lead_events_sql;
use crate::{db, Store, StoreError};
use chrono::{DateTime, Utc};
use duckdb::params;
use leadpipe_core::consent::status::{basis_sql, status_sql};
use serde::Serialize;

/// The current status per lead, channel and purpose, the deciding event and a readable
/// basis.
pub(crate) const CONSENT_STATUS: &str = r#"CREATE TABLE IF NOT EXISTS consent_status (
    lead_id BIGINT NOT NULL,
    channel VARCHAR NOT NULL,
    purpose VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    since TIMESTAMPTZ,
    expires_at TIMESTAMPTZ,
    consent_id BIGINT,
    basis VARCHAR,
    derived_at TIMESTAMPTZ NOT NULL
);
"#;

/// Advertising consent per channel, shown in `leads` (calls with their basis and dates).
pub(crate) const LEADS_CONSENT_COLUMNS: &str = r#"ALTER TABLE leads ADD COLUMN IF NOT EXISTS call_consent_basis VARCHAR;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS call_consent_since TIMESTAMPTZ;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS call_consent_expires_at TIMESTAMPTZ;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS sms_consent VARCHAR;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS email_consent VARCHAR;
"#;

/// What a run or command changed in consent status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsentRefresh {
    /// Leads that have any consent event.
    pub leads_with_events: u64,
    /// (lead, channel, purpose) whose status changed; each is a row in `consent_audit`.
    pub status_changes: u64,
    /// Leads whose advertising call consent is granted now.
    pub call_granted: u64,
}

impl Store {
    /// Re-derives the current status of every (lead, channel, purpose) with events and
    /// applies what changed: a `consent_audit` row per status change, the changed rows of
    /// `consent_status` (with a readable basis), and the consent columns of `leads`.
    ///
    /// Set-based in SQL, because it runs on every run over the whole base (a million form
    /// leads hold millions of events): the rule is
    /// [`leadpipe_core::consent::status::status_sql`], the SQL form of
    /// [`leadpipe_core::consent::decide_status`], which the call gate uses;
    /// `tests/consent_gate_db.rs` checks the two agree on random histories.
    pub fn refresh_consent_status(
        &self,
        now: DateTime<Utc>,
        actor: &str,
        run_id: Option<i64>,
    ) -> Result<ConsentRefresh, StoreError> {
        self.refresh_consent_status_of(now, actor, run_id, false)
    }

    /// [`Store::refresh_consent_status`] for the leads a run changed (the temp table
    /// `scope_leads`) and those whose granted consent has expired since: nothing else
    /// can have changed when the run recorded no event for another lead. (The call gate
    /// derives status again from the events whenever it lists anyone.)
    pub fn refresh_scoped_consent_status(
        &self,
        now: DateTime<Utc>,
        actor: &str,
        run_id: Option<i64>,
    ) -> Result<ConsentRefresh, StoreError> {
        let now_sql = format!("'{}'::TIMESTAMPTZ", now.to_rfc3339());
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE consent_scope AS
                 SELECT lead_id FROM scope_leads
                 UNION SELECT lead_id FROM consent_status
                 WHERE status = 'granted' AND expires_at <= {now_sql}"
            ))
            .map_err(db("deriving consent status"))?;
        self.refresh_consent_status_of(now, actor, run_id, true)
    }

    /// True when run `run_id` recorded consent events for records whose lead is not in
    /// `scope_leads`.
    pub fn run_added_consents_outside_scope(&self, run_id: i64) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM consents c JOIN records r ON r.record_id = c.record_id
                 WHERE c.run_id = ? AND r.lead_id NOT IN (SELECT lead_id FROM scope_leads)",
                params![run_id],
                |r| r.get(0),
            )
            .map_err(db("deriving consent status"))?;
        Ok(n > 0)
    }

    fn refresh_consent_status_of(
        &self,
        now: DateTime<Utc>,
        actor: &str,
        run_id: Option<i64>,
        scoped: bool,
    ) -> Result<ConsentRefresh, StoreError> {
        let clock = std::time::Instant::now();
        let now_sql = format!("'{}'::TIMESTAMPTZ", now.to_rfc3339());
        self.derive_status(&now_sql, scoped)?;
        tracing::debug!(ms = clock.elapsed().as_millis() as u64, "consent: derived");
        let audited = self.audit_status_changes(actor, run_id)?;
        let (leads_with_events, call_granted): (i64, i64) = self
            .conn
            .query_row(
                "SELECT count(DISTINCT lead_id),
                        count(*) FILTER (WHERE channel = 'call' AND purpose = 'advertising'
                                           AND status = 'granted')
                 FROM derived_status",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db("counting consent status"))?;
        self.conn
            .execute_batch("DROP TABLE derived_status; DROP TABLE status_changes;")
            .map_err(db("deriving consent status"))?;
        self.show_consent_in_leads(scoped)?;
        tracing::debug!(
            ms = clock.elapsed().as_millis() as u64,
            "consent: leads updated"
        );
        Ok(ConsentRefresh {
            leads_with_events: leads_with_events as u64,
            status_changes: audited as u64,
            call_granted: call_granted as u64,
        })
    }

    /// Derives every status as of `now_sql` into the temporary table `derived_status`,
    /// what changed against `consent_status` into `status_changes`, and applies the
    /// changes to `consent_status`.
    fn derive_status(&self, now_sql: &str, scoped: bool) -> Result<(), StoreError> {
        let only = scoped.then_some("IN (SELECT lead_id FROM consent_scope)");
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE derived_status AS {};",
                status_sql(
                    &format!("({})", lead_events_sql(false, only, None)),
                    now_sql
                )
            ))
            .map_err(db("deriving consent status"))?;
        // Scoped, the statuses compared against are the scope's only.
        let old = if scoped {
            "(SELECT * FROM consent_status WHERE lead_id IN (SELECT lead_id FROM consent_scope))"
        } else {
            "consent_status"
        };
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE status_changes AS
                 SELECT coalesce(n.lead_id, o.lead_id) AS lead_id,
                        coalesce(n.channel, o.channel) AS channel,
                        coalesce(n.purpose, o.purpose) AS purpose,
                        o.status AS old_status, coalesce(n.status, 'none') AS new_status,
                        n.consent_id, n.since, n.expires_at,
                        o.lead_id IS NOT NULL AS had_row, n.lead_id IS NOT NULL AS has_row
                 FROM derived_status n FULL JOIN {old} o
                      ON n.lead_id = o.lead_id AND n.channel = o.channel AND n.purpose = o.purpose
                 WHERE n.lead_id IS NULL OR o.lead_id IS NULL
                    OR n.status IS DISTINCT FROM o.status OR n.since IS DISTINCT FROM o.since
                    OR n.expires_at IS DISTINCT FROM o.expires_at
                    OR n.consent_id IS DISTINCT FROM o.consent_id;

                 DELETE FROM consent_status s USING status_changes t
                 WHERE t.had_row AND s.lead_id = t.lead_id AND s.channel = t.channel
                   AND s.purpose = t.purpose;
                 INSERT INTO consent_status (lead_id, channel, purpose, status, since, expires_at,
                                             consent_id, basis, derived_at)
                 SELECT s.lead_id, s.channel, s.purpose, s.new_status, s.since, s.expires_at,
                        s.consent_id, {status_basis}, {now_sql}
                 FROM status_changes s LEFT JOIN consents c ON c.consent_id = s.consent_id
                 WHERE s.has_row;",
                status_basis = basis_sql("s.new_status"),
            ))
            .map_err(db("deriving consent status"))
    }

    /// Audit: every status change in `status_changes`, including statuses that disappeared
    /// (a lead merged away or erased goes back to "none"). Returns how many.
    fn audit_status_changes(&self, actor: &str, run_id: Option<i64>) -> Result<usize, StoreError> {
        self.conn
            .execute(
                &format!(
                    "INSERT INTO consent_audit (logged_at, actor, run_id, lead_id, channel, purpose,
                        old_status, new_status, consent_id, detail)
                     SELECT now(), ?, ?, s.lead_id, s.channel, s.purpose, s.old_status,
                            s.new_status, s.consent_id,
                            CASE WHEN NOT s.has_row
                                 THEN 'no consent event applies to this lead any more'
                                 ELSE {status_basis} END
                     FROM status_changes s LEFT JOIN consents c ON c.consent_id = s.consent_id
                     WHERE s.old_status IS DISTINCT FROM s.new_status
                       AND NOT (s.old_status IS NULL AND s.new_status = 'none')",
                    status_basis = basis_sql("s.new_status"),
                ),
                params![actor, run_id],
            )
            .map_err(db("writing the consent audit"))
    }

    /// `leads` shows advertising consent per channel; only rows that differ are touched.
    fn show_consent_in_leads(&self, scoped: bool) -> Result<(), StoreError> {
        let only = if scoped {
            "AND leads.lead_id IN (SELECT lead_id FROM consent_scope)"
        } else {
            ""
        };
        self.conn
            .execute_batch(&format!(
                "UPDATE leads SET call_consent = s.status, call_consent_basis = s.basis,
                        call_consent_since = s.since, call_consent_expires_at = s.expires_at
                 FROM consent_status s
                 WHERE s.lead_id = leads.lead_id AND s.channel = 'call' AND s.purpose = 'advertising' {only}
                   AND (leads.call_consent IS DISTINCT FROM s.status
                        OR leads.call_consent_basis IS DISTINCT FROM s.basis
                        OR leads.call_consent_expires_at IS DISTINCT FROM s.expires_at);
                 UPDATE leads SET call_consent = 'none', call_consent_basis = NULL,
                        call_consent_since = NULL, call_consent_expires_at = NULL
                 WHERE call_consent IS DISTINCT FROM 'none' {only}
                   AND lead_id NOT IN (SELECT lead_id FROM consent_status
                                       WHERE channel = 'call' AND purpose = 'advertising');
                 UPDATE leads SET sms_consent = s.status FROM consent_status s
                 WHERE s.lead_id = leads.lead_id AND s.channel = 'sms' AND s.purpose = 'advertising' {only}
                   AND leads.sms_consent IS DISTINCT FROM s.status;
                 UPDATE leads SET sms_consent = 'none' WHERE sms_consent IS DISTINCT FROM 'none' {only}
                   AND lead_id NOT IN (SELECT lead_id FROM consent_status
                                       WHERE channel = 'sms' AND purpose = 'advertising');
                 UPDATE leads SET email_consent = s.status FROM consent_status s
                 WHERE s.lead_id = leads.lead_id AND s.channel = 'email' AND s.purpose = 'advertising' {only}
                   AND leads.email_consent IS DISTINCT FROM s.status;
                 UPDATE leads SET email_consent = 'none' WHERE email_consent IS DISTINCT FROM 'none' {only}
                   AND lead_id NOT IN (SELECT lead_id FROM consent_status
                                       WHERE channel = 'email' AND purpose = 'advertising');"
            ))
            .map_err(db("showing consent status in leads"))
    }
}
