//! The consent audit trail, `consent_audit`: every status change (who, when, from what to
//! what, on which event) and every action that is not one (a list loaded, a person erased).

use crate::{db, Store, StoreError};
use duckdb::params;
use serde::Serialize;

/// Appended to, never rewritten (an erasure blanks `detail` only).
pub(crate) const CONSENT_AUDIT: &str = r#"CREATE TABLE IF NOT EXISTS consent_audit (
    logged_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR NOT NULL,
    run_id BIGINT,
    lead_id BIGINT,
    channel VARCHAR,
    purpose VARCHAR,
    old_status VARCHAR,
    new_status VARCHAR,
    consent_id BIGINT,
    detail VARCHAR
);
"#;

/// One row of `consent_audit`.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub channel: Option<String>,
    pub purpose: Option<String>,
    pub old_status: Option<String>,
    pub new_status: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    /// An action that is not a status change (a list loaded, a person erased) for the trail.
    pub fn audit_action(
        &self,
        actor: &str,
        lead_id: Option<i64>,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO consent_audit (logged_at, actor, lead_id, detail) VALUES (now(), ?, ?, ?)",
                params![actor, lead_id, detail],
            )
            .map_err(db("writing the consent audit"))?;
        Ok(())
    }

    pub fn audit_for_lead(&self, lead_id: i64) -> Result<Vec<AuditRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT logged_at::VARCHAR, actor, channel, purpose, old_status, new_status, detail
                 FROM consent_audit WHERE lead_id = ? ORDER BY logged_at, channel, purpose",
            )
            .map_err(db("reading the audit trail"))?;
        let rows = stmt
            .query_map(params![lead_id], |r| {
                Ok(AuditRow {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    channel: r.get(2)?,
                    purpose: r.get(3)?,
                    old_status: r.get(4)?,
                    new_status: r.get(5)?,
                    detail: r.get(6)?,
                })
            })
            .map_err(db("reading the audit trail"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("reading the audit trail"))
    }
}
