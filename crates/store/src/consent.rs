//! Consent tables: the append-only `consents` history, the derived `consent_status`, the
//! `consent_audit` trail, `suppressions` and their `suppression_lists`, and erasure.

use super::{batch, db, Store, StoreError};
use chrono::{DateTime, Utc};
use duckdb::arrow::array::{ArrayRef, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::params;
use leadpipe_core::consent::gate::{GateLead, SuppressionEntry, Suppressions};
use leadpipe_core::consent::{
    Channel, ConsentEvent, ContactHasher, ContactKind, Purpose, RecordConsent, RecordDecision,
    Status,
};
use leadpipe_core::record::Origin;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS leadpipe_meta (
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS consents (
    consent_id BIGINT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    run_id BIGINT,
    actor VARCHAR NOT NULL,
    record_id BIGINT,
    phone_e164 VARCHAR,
    email VARCHAR,
    channel VARCHAR NOT NULL,
    purpose VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    legal_basis VARCHAR NOT NULL,
    captured_at TIMESTAMPTZ,
    source VARCHAR,
    method VARCHAR,
    text_version VARCHAR,
    evidence_ip VARCHAR,
    evidence_user_agent VARCHAR,
    evidence_hash VARCHAR,
    expires_at TIMESTAMPTZ,
    withdrawn_at TIMESTAMPTZ,
    withdrawal_channel VARCHAR,
    subject_type VARCHAR,
    raw_value VARCHAR,
    note VARCHAR,
    -- What a record-born event was derived from (the source's consent policy); an event
    -- whose record was re-derived, or whose policy changed, is superseded, not deleted.
    derivation VARCHAR,
    superseded_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS consent_status (
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
CREATE TABLE IF NOT EXISTS consent_audit (
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
CREATE TABLE IF NOT EXISTS suppression_lists (
    list_name VARCHAR NOT NULL,
    path VARCHAR,
    content_hash VARCHAR,
    reason VARCHAR NOT NULL,
    channel VARCHAR,
    loaded_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR,
    rows_read BIGINT,
    contacts BIGINT,
    rows_rejected BIGINT,
    rejects JSON
);
CREATE TABLE IF NOT EXISTS suppressions (
    list_name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    value VARCHAR,
    value_hash VARCHAR NOT NULL,
    channel VARCHAR,
    reason VARCHAR NOT NULL,
    source_row BIGINT,
    listed_at TIMESTAMPTZ,
    loaded_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE leads ADD COLUMN IF NOT EXISTS call_consent_basis VARCHAR;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS call_consent_since TIMESTAMPTZ;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS call_consent_expires_at TIMESTAMPTZ;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS sms_consent VARCHAR;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS email_consent VARCHAR;
"#;

/// The next consent id: never one used before, even by an erased event (its audit rows
/// keep the id).
const NEXT_CONSENT_ID: &str = "SELECT greatest((SELECT coalesce(max(consent_id), 0) FROM consents),
                                (SELECT coalesce(max(consent_id), 0) FROM consent_audit)) + 1";

/// The suppression list erased people's hashes go to.
pub const ERASURE_LIST: &str = "erasure";

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

/// One loaded suppression list.
#[derive(Debug, Clone, Serialize)]
pub struct SuppressionListLoad {
    pub list: String,
    pub reason: String,
    pub channel: Option<String>,
    pub rows_read: u64,
    pub contacts: u64,
    pub rows_rejected: u64,
    /// (row, why) for rows with no usable contact.
    pub rejects: Vec<(u64, String)>,
    /// True when the same file was already loaded into this list.
    pub unchanged: bool,
}

/// A list column read as `array_to_string(list, chr(31))`, back into its values.
pub(super) fn split_list(s: Option<&str>) -> Vec<String> {
    s.unwrap_or_default()
        .split('\u{1f}')
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) fn ids_sql(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".into();
    }
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

pub(super) fn strs_sql(vals: &[String]) -> String {
    if vals.is_empty() {
        return "NULL".into();
    }
    vals.iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}

fn ts_col(vals: impl Iterator<Item = Option<DateTime<Utc>>>, n: usize) -> ArrayRef {
    let mut b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    for v in vals {
        b.append_option(v.map(|d| d.timestamp_micros()));
    }
    Arc::new(b.finish())
}

fn str_col<'a>(vals: impl Iterator<Item = Option<&'a str>>, n: usize) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(n, n * 16);
    for v in vals {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

/// [`leadpipe_core::consent::describe`] in SQL, for an event aliased `c`: bases for a million
/// statuses are composed where the data is, not copied through Rust cell by cell. A test
/// checks the two give the same text.
const SQL_DESCRIBE: &str = "concat(
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

/// The basis of a status row `s` whose deciding event is `c` (LEFT JOINed).
fn sql_basis() -> String {
    format!(
        "CASE WHEN c.consent_id IS NULL THEN 'no consent on record'
              WHEN s.status = 'expired' AND c.status = 'granted' THEN 'consent expired: ' || {SQL_DESCRIBE}
              ELSE {SQL_DESCRIBE} END"
    )
}

const EVENT_COLUMNS: &str = "c.consent_id, c.record_id, c.phone_e164, c.email, c.channel, \
    c.purpose, c.status, c.legal_basis, c.captured_at, c.source, c.method, c.text_version, \
    c.evidence_ip, c.evidence_user_agent, c.evidence_hash, c.expires_at, c.withdrawn_at, \
    c.withdrawal_channel, c.subject_type, c.raw_value, c.note, c.recorded_at";

/// Typed access to one column of an Arrow batch (bulk reads: the row API costs a call per
/// cell, which dominates when a million consent events are read).
struct BatchCols<'a>(&'a RecordBatch);

impl BatchCols<'_> {
    fn i64(&self, c: usize, i: usize) -> Option<i64> {
        use duckdb::arrow::array::{Array, AsArray};
        let col = self
            .0
            .column(c)
            .as_primitive::<duckdb::arrow::datatypes::Int64Type>();
        (!col.is_null(i)).then(|| col.value(i))
    }

    fn str(&self, c: usize, i: usize) -> Option<&str> {
        use duckdb::arrow::array::{Array, AsArray};
        let col = self.0.column(c).as_string::<i32>();
        (!col.is_null(i)).then(|| col.value(i))
    }

    fn string(&self, c: usize, i: usize) -> Option<String> {
        self.str(c, i).map(str::to_string)
    }

    fn ts(&self, c: usize, i: usize) -> Option<DateTime<Utc>> {
        use duckdb::arrow::array::{Array, AsArray};
        let col = self
            .0
            .column(c)
            .as_primitive::<duckdb::arrow::datatypes::TimestampMicrosecondType>();
        (!col.is_null(i))
            .then(|| DateTime::from_timestamp_micros(col.value(i)))
            .flatten()
    }
}

/// Reads one event from `EVENT_COLUMNS` starting at column `o` of an Arrow batch.
fn event_from_batch(c: &BatchCols, i: usize, o: usize) -> ConsentEvent {
    ConsentEvent {
        consent_id: c.i64(o, i).unwrap_or_default(),
        record_id: c.i64(o + 1, i),
        phone_e164: c.string(o + 2, i),
        email: c.string(o + 3, i),
        channel: c.str(o + 4, i).and_then(Channel::parse),
        purpose: c.str(o + 5, i).and_then(Purpose::parse),
        status: c.str(o + 6, i).and_then(Status::parse),
        legal_basis: c.string(o + 7, i).unwrap_or_default(),
        captured_at: c.ts(o + 8, i),
        source: c.string(o + 9, i),
        method: c.string(o + 10, i),
        text_version: c.string(o + 11, i),
        evidence_ip: c.string(o + 12, i),
        evidence_user_agent: c.string(o + 13, i),
        evidence_hash: c.string(o + 14, i),
        expires_at: c.ts(o + 15, i),
        withdrawn_at: c.ts(o + 16, i),
        withdrawal_channel: c.string(o + 17, i),
        subject_type: c.string(o + 18, i),
        raw_value: c.string(o + 19, i),
        note: c.string(o + 20, i),
        recorded_at: c.ts(o + 21, i),
    }
}

impl Store {
    /// A setting kept in the database (`leadpipe_meta`).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.conn.query_row(
            "SELECT value FROM leadpipe_meta WHERE key = ? LIMIT 1",
            params![key],
            |r| r.get::<_, String>(0),
        ) {
            Ok(v) => Ok(Some(v)),
            Err(duckdb::Error::QueryReturnedNoRows) => Ok(None),
            Err(source) => Err(StoreError::Db {
                context: "reading a setting",
                source,
            }),
        }
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM leadpipe_meta WHERE key = ?", params![key])
            .map_err(db("writing a setting"))?;
        self.conn
            .execute(
                "INSERT INTO leadpipe_meta VALUES (?, ?)",
                params![key, value],
            )
            .map_err(db("writing a setting"))?;
        Ok(())
    }

    /// The salt for erased people's hashes: made once per database from the OS's random
    /// source and kept in `leadpipe_meta`.
    pub fn contact_hasher(&self) -> Result<ContactHasher, StoreError> {
        let found = self.meta("erasure_salt")?;
        let salt = match found {
            Some(hex_salt) => hex::decode(hex_salt).map_err(|e| StoreError::Batch {
                table: "leadpipe_meta",
                message: format!("erasure_salt is not hex: {e}"),
            })?,
            None => {
                let salt = random_salt().map_err(|e| StoreError::Batch {
                    table: "leadpipe_meta",
                    message: format!("cannot read /dev/urandom for the erasure salt: {e}"),
                })?;
                // A reader of a base with no salt yet: nothing was ever hashed with one, so
                // any salt matches nothing, and this one need not be kept.
                if self.read_only {
                    return Ok(ContactHasher::new(salt));
                }
                self.conn
                    .execute(
                        "INSERT INTO leadpipe_meta VALUES ('erasure_salt', ?)",
                        params![hex::encode(&salt)],
                    )
                    .map_err(db("storing the erasure salt"))?;
                salt
            }
        };
        Ok(ContactHasher::new(salt))
    }

    /// Hashes of erased people's contacts: an import refuses rows that carry one.
    pub fn erased_hashes(&self) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT value_hash FROM suppressions WHERE value IS NULL")
            .map_err(db("reading erased hashes"))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db("reading erased hashes"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("reading erased hashes"))
    }

    /// Marks the live events that records matching `records_where` brought as superseded
    /// (their records are about to be re-derived or removed). History is kept.
    pub fn supersede_record_consents(
        &self,
        records_where: &str,
        param: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                &format!(
                    "UPDATE consents SET superseded_at = now()
                     WHERE superseded_at IS NULL AND record_id IN
                           (SELECT record_id FROM records WHERE {records_where})"
                ),
                params![param],
            )
            .map_err(db("superseding consent events"))?;
        Ok(())
    }

    /// Records of `source` with a consent field and no live event derived under the
    /// current `derivation` (the source's consent policy): new records, and records whose
    /// policy changed. Their old live events are superseded here.
    pub fn records_needing_consent(
        &self,
        source: &str,
        derivation: &str,
    ) -> Result<Vec<RecordConsent>, StoreError> {
        self.conn
            .execute(
                "UPDATE consents SET superseded_at = now()
                 WHERE superseded_at IS NULL AND record_id IN (
                     SELECT record_id FROM records WHERE source = ?1 AND consent_raw IS NOT NULL)
                   AND derivation IS DISTINCT FROM ?2",
                params![source, derivation],
            )
            .map_err(db("superseding consent events"))?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.record_id, r.origin, r.consent_raw, r.consent_given, r.consent_at,
                        r.created_at, r.form_url
                 FROM records r
                 WHERE r.source = ?1 AND r.consent_raw IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.record_id = r.record_id
                                   AND c.superseded_at IS NULL AND c.derivation = ?2)
                 ORDER BY r.record_id",
            )
            .map_err(db("reading records with consent fields"))?;
        let rows = stmt
            .query_map(params![source, derivation], |r| {
                let origin: String = r.get(1)?;
                Ok(RecordConsent {
                    record_id: r.get(0)?,
                    source: source.to_string(),
                    origin: match origin.as_str() {
                        "form" => Some(Origin::Form),
                        "purchased" => Some(Origin::Purchased),
                        "open" => Some(Origin::Open),
                        _ => None,
                    },
                    consent_raw: r.get(2)?,
                    consent_given: r.get(3)?,
                    consent_at: r.get(4)?,
                    created_at: r.get(5)?,
                    // Part of the evidence the decision checks (the rest is copied in SQL).
                    form_url: r.get(6)?,
                    ..RecordConsent::default()
                })
            })
            .map_err(db("reading records with consent fields"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("reading records with consent fields"))
    }

    /// Writes the events of decided records: each decision is spread over the policy's
    /// channels and, for calls and SMS, over the record's numbers, and the evidence (form
    /// URL, wording, IP, user agent, SHA-256 of the raw row) is copied from the record in
    /// SQL, so a million form rows do not pass through Rust cell by cell. Mirrors
    /// [`leadpipe_core::consent::events_for_record`]. Returns the number of events written.
    #[allow(clippy::too_many_arguments)]
    pub fn append_consent_decisions(
        &self,
        decisions: &[RecordDecision],
        channels: &[Channel],
        purpose: Purpose,
        derivation: &str,
        run_id: Option<i64>,
        actor: &str,
    ) -> Result<u64, StoreError> {
        if decisions.is_empty() || channels.is_empty() {
            return Ok(0);
        }
        self.conn
            .execute_batch(
                "CREATE OR REPLACE TEMP TABLE consent_decisions (seq BIGINT, record_id BIGINT, status VARCHAR,
                    legal_basis VARCHAR, method VARCHAR, note VARCHAR, captured_at TIMESTAMPTZ,
                    expires_at TIMESTAMPTZ)",
            )
            .map_err(db("writing consent events"))?;
        let n = decisions.len();
        let mut ids = Int64Builder::with_capacity(n);
        let mut seq = Int64Builder::with_capacity(n);
        for (i, d) in decisions.iter().enumerate() {
            ids.append_value(d.record_id);
            seq.append_value(i as i64);
        }
        let d = || decisions.iter();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("seq", Arc::new(seq.finish())),
            ("record_id", Arc::new(ids.finish())),
            ("status", str_col(d().map(|x| Some(x.status.as_str())), n)),
            ("legal_basis", str_col(d().map(|x| Some(x.legal_basis)), n)),
            ("method", str_col(d().map(|x| Some(x.method.as_str())), n)),
            ("note", str_col(d().map(|x| x.note.as_deref()), n)),
            ("captured_at", ts_col(d().map(|x| x.captured_at), n)),
            ("expires_at", ts_col(d().map(|x| x.expires_at), n)),
        ];
        self.append("consent_decisions", batch("consent_decisions", cols)?)?;
        let first: i64 = self.next_id(NEXT_CONSENT_ID)?;
        // Ids follow decision, channel and number order without a global sort: each
        // decision gets a block of (channels × most numbers on one record) ids. Gaps are fine.
        let most_numbers: i64 = self.next_id(
            "SELECT coalesce(max(1 + len(coalesce(r.phones_extra, []))), 1)
             FROM consent_decisions JOIN records r USING (record_id)",
        )?;
        let stride = channels.len() as i64 * most_numbers;
        let channel_values = channels
            .iter()
            .enumerate()
            .map(|(i, c)| format!("('{}', {i})", c.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let written = self
            .conn
            .execute(
                &format!(
                    "INSERT INTO consents (consent_id, recorded_at, run_id, actor, record_id,
                        phone_e164, email, channel, purpose, status, legal_basis, captured_at,
                        source, method, text_version, evidence_ip, evidence_user_agent,
                        evidence_hash, expires_at, subject_type, raw_value, note, derivation)
                     WITH hashed AS (
                        -- One hash per record, not per event.
                        SELECT d.record_id, sha256(w.raw_values::VARCHAR) AS raw_hash
                        FROM consent_decisions d JOIN records r USING (record_id)
                        JOIN raw_records w ON w.raw_id = r.raw_id),
                     spread AS (
                        SELECT d.*, r.email AS r_email, r.form_url, r.source AS r_source,
                               r.consent_text_version, r.ip, r.user_agent, r.subject_type,
                               r.consent_raw, r.raw_id, ch.channel, ch.ord,
                               CASE WHEN ch.channel = 'email' THEN [NULL::VARCHAR]
                                    WHEN r.phone_e164 IS NULL AND len(coalesce(r.phones_extra, [])) = 0
                                         THEN [NULL::VARCHAR]
                                    WHEN r.phone_e164 IS NULL THEN r.phones_extra
                                    ELSE list_prepend(r.phone_e164, coalesce(r.phones_extra, []))
                               END AS targets
                        FROM consent_decisions d JOIN records r USING (record_id)
                        CROSS JOIN (VALUES {channel_values}) ch(channel, ord)),
                     one AS (
                        SELECT *, unnest(targets) AS target,
                               generate_subscripts(targets, 1) AS target_ord FROM spread),
                     -- A claim derived again (re-normalised records, a file re-read, a
                     -- policy or rule change) keeps the time it first reached us: with
                     -- `now()` a form tick would look newer than a withdrawal typed in
                     -- since, and a back-dated withdrawal would stop counting.
                     earlier AS (
                        SELECT phone_e164, email, channel, status, captured_at,
                               min(recorded_at) AS first_recorded
                        FROM consents
                        WHERE superseded_at IS NOT NULL AND record_id IS NOT NULL AND purpose = ?4
                        GROUP BY ALL)
                     SELECT ?1 + one.seq * {stride} + one.ord * {most_numbers} + one.target_ord - 1,
                            least(now(), coalesce(e.first_recorded, now())), ?2, ?3, one.record_id,
                            CASE WHEN one.channel <> 'email' THEN one.target END,
                            CASE WHEN one.channel = 'email' THEN one.r_email END,
                            one.channel, ?4, one.status, one.legal_basis, one.captured_at,
                            coalesce(one.form_url, one.r_source), one.method,
                            one.consent_text_version, one.ip, one.user_agent,
                            h.raw_hash, one.expires_at, one.subject_type,
                            one.consent_raw, one.note, ?5
                     FROM one JOIN hashed h USING (record_id)
                     LEFT JOIN earlier e ON e.channel = one.channel AND e.status = one.status
                         AND e.captured_at IS NOT DISTINCT FROM one.captured_at
                         AND e.phone_e164 IS NOT DISTINCT FROM
                             (CASE WHEN one.channel <> 'email' THEN one.target END)
                         AND e.email IS NOT DISTINCT FROM
                             (CASE WHEN one.channel = 'email' THEN one.r_email END)"
                ),
                params![first, run_id, actor, purpose.as_str(), derivation],
            )
            .map_err(db("writing consent events"))?;
        self.conn
            .execute_batch("DROP TABLE IF EXISTS consent_decisions")
            .map_err(db("writing consent events"))?;
        Ok(written as u64)
    }

    /// Appends events to the history, numbering them after the last one. `derivation`
    /// marks record-born events with the policy they were derived under.
    pub fn append_consents(
        &self,
        events: &mut [ConsentEvent],
        run_id: Option<i64>,
        actor: &str,
    ) -> Result<(), StoreError> {
        self.append_consents_derived(events, run_id, actor, None)
    }

    pub fn append_consents_derived(
        &self,
        events: &mut [ConsentEvent],
        run_id: Option<i64>,
        actor: &str,
        derivation: Option<&str>,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let first: i64 = self.next_id(NEXT_CONSENT_ID)?;
        let now = Utc::now();
        for (i, e) in events.iter_mut().enumerate() {
            e.consent_id = first + i as i64;
            e.recorded_at = Some(now);
        }
        let n = events.len();
        let mut ids = Int64Builder::with_capacity(n);
        let mut runs = Int64Builder::with_capacity(n);
        let mut recs = Int64Builder::with_capacity(n);
        for e in events.iter() {
            ids.append_value(e.consent_id);
            runs.append_option(run_id);
            recs.append_option(e.record_id);
        }
        let ev = || events.iter();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("consent_id", Arc::new(ids.finish())),
            ("recorded_at", ts_col(ev().map(|e| e.recorded_at), n)),
            ("run_id", Arc::new(runs.finish())),
            ("actor", str_col(ev().map(|_| Some(actor)), n)),
            ("record_id", Arc::new(recs.finish())),
            (
                "phone_e164",
                str_col(ev().map(|e| e.phone_e164.as_deref()), n),
            ),
            ("email", str_col(ev().map(|e| e.email.as_deref()), n)),
            (
                "channel",
                str_col(ev().map(|e| e.channel.map(Channel::as_str)), n),
            ),
            (
                "purpose",
                str_col(ev().map(|e| e.purpose.map(Purpose::as_str)), n),
            ),
            (
                "status",
                str_col(ev().map(|e| e.status.map(Status::as_str)), n),
            ),
            (
                "legal_basis",
                str_col(ev().map(|e| Some(e.legal_basis.as_str())), n),
            ),
            ("captured_at", ts_col(ev().map(|e| e.captured_at), n)),
            ("source", str_col(ev().map(|e| e.source.as_deref()), n)),
            ("method", str_col(ev().map(|e| e.method.as_deref()), n)),
            (
                "text_version",
                str_col(ev().map(|e| e.text_version.as_deref()), n),
            ),
            (
                "evidence_ip",
                str_col(ev().map(|e| e.evidence_ip.as_deref()), n),
            ),
            (
                "evidence_user_agent",
                str_col(ev().map(|e| e.evidence_user_agent.as_deref()), n),
            ),
            (
                "evidence_hash",
                str_col(ev().map(|e| e.evidence_hash.as_deref()), n),
            ),
            ("expires_at", ts_col(ev().map(|e| e.expires_at), n)),
            ("withdrawn_at", ts_col(ev().map(|e| e.withdrawn_at), n)),
            (
                "withdrawal_channel",
                str_col(ev().map(|e| e.withdrawal_channel.as_deref()), n),
            ),
            (
                "subject_type",
                str_col(ev().map(|e| e.subject_type.as_deref()), n),
            ),
            (
                "raw_value",
                str_col(ev().map(|e| e.raw_value.as_deref()), n),
            ),
            ("note", str_col(ev().map(|e| e.note.as_deref()), n)),
            ("derivation", str_col(ev().map(|_| derivation), n)),
        ];
        self.append("consents", batch("consents", cols)?)
    }

    /// Leads that have consent events (or just `only`), with every event that applies:
    /// those their member records brought, and those recorded against one of their numbers
    /// or addresses by a command or a file (withdrawals reach whoever holds the contact).
    pub fn gate_leads(&self, only: Option<i64>) -> Result<Vec<GateLead>, StoreError> {
        self.read_gate_leads(only, None)
    }

    /// Like [`Store::gate_leads`], with only the call events for `purpose`: what the call
    /// gate needs, a third of the history.
    pub fn call_gate_leads(&self, purpose: Purpose) -> Result<Vec<GateLead>, StoreError> {
        self.read_gate_leads(None, Some((Channel::Call, purpose)))
    }

    fn read_gate_leads(
        &self,
        only: Option<i64>,
        scope: Option<(Channel, Purpose)>,
    ) -> Result<Vec<GateLead>, StoreError> {
        let lead_filter = only
            .map(|id| format!("AND lead_id = {id}"))
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
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE gate_events AS
                 WITH lp AS (SELECT lead_id, unnest(phones) AS v FROM leads WHERE true {lead_filter}),
                      le AS (SELECT lead_id, unnest(emails) AS v FROM leads WHERE true {lead_filter})
                 SELECT r.lead_id, c.consent_id FROM consents c JOIN records r ON r.record_id = c.record_id
                  WHERE r.lead_id IS NOT NULL AND c.superseded_at IS NULL {lead_filter_r} {event_filter}
                 UNION SELECT lp.lead_id, c.consent_id FROM consents c JOIN lp
                  ON c.record_id IS NULL AND c.superseded_at IS NULL AND c.phone_e164 = lp.v {event_filter}
                 UNION SELECT le.lead_id, c.consent_id FROM consents c JOIN le
                  ON c.record_id IS NULL AND c.superseded_at IS NULL AND c.email = le.v {event_filter}",
                lead_filter_r = only
                    .map(|id| format!("AND r.lead_id = {id}"))
                    .unwrap_or_default(),
            ))
            .map_err(db("reading consent events"))?;
        let mut by_lead: BTreeMap<i64, GateLead> = BTreeMap::new();
        // Bulk reads through Arrow: the row API costs a call per cell.
        let batches = self.read_arrow(
            &format!(
                "SELECT g.lead_id, {EVENT_COLUMNS} FROM gate_events g JOIN consents c USING (consent_id)
                 ORDER BY g.lead_id, c.consent_id"
            ),
            [],
            "reading consent events",
        )?;
        for b in &batches {
            let c = BatchCols(b);
            for i in 0..b.num_rows() {
                let Some(lead_id) = c.i64(0, i) else { continue };
                by_lead
                    .entry(lead_id)
                    .or_insert_with(|| GateLead {
                        lead_id,
                        ..GateLead::default()
                    })
                    .events
                    .push(event_from_batch(&c, i, 1));
            }
        }
        drop(batches);
        let batches = self.read_arrow(
            "SELECT lead_id, array_to_string(phones, chr(31)), array_to_string(emails, chr(31))
             FROM leads WHERE lead_id IN (SELECT lead_id FROM gate_events)",
            [],
            "reading lead contacts",
        )?;
        for b in &batches {
            let c = BatchCols(b);
            for i in 0..b.num_rows() {
                if let Some(l) = c.i64(0, i).and_then(|id| by_lead.get_mut(&id)) {
                    l.phones = split_list(c.str(1, i));
                    l.emails = split_list(c.str(2, i));
                }
            }
        }
        self.conn
            .execute_batch("DROP TABLE IF EXISTS gate_events")
            .map_err(db("reading consent events"))?;
        if let Some(id) = only {
            if let std::collections::btree_map::Entry::Vacant(slot) = by_lead.entry(id) {
                // A lead with no consent history: still show its contacts.
                let found: Option<(Option<String>, Option<String>)> = self
                    .conn
                    .query_row(
                        "SELECT array_to_string(phones, chr(31)), array_to_string(emails, chr(31))
                         FROM leads WHERE lead_id = ?",
                        params![id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .ok();
                let (p, e) = found.unwrap_or_default();
                slot.insert(GateLead {
                    lead_id: id,
                    phones: split_list(p.as_deref()),
                    emails: split_list(e.as_deref()),
                    events: Vec::new(),
                });
            }
        }
        Ok(by_lead.into_values().collect())
    }

    /// Every suppression list entry, plain and hashed.
    pub fn suppressions(&self) -> Result<Suppressions, StoreError> {
        let mut out = Suppressions::new(self.contact_hasher()?);
        let mut stmt = self
            .conn
            .prepare("SELECT list_name, kind, value, value_hash, channel, reason FROM suppressions")
            .map_err(db("reading suppressions"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(db("reading suppressions"))?;
        for row in rows {
            let (list, kind, value, hash, channel, reason) =
                row.map_err(db("reading suppressions"))?;
            let entry = SuppressionEntry {
                list,
                number_only: reason == "wrong_number",
                reason,
                channel: channel.as_deref().and_then(Channel::parse),
            };
            let kind = if kind == "email" {
                ContactKind::Email
            } else {
                ContactKind::Phone
            };
            match value {
                Some(v) => out.add_plain(kind, &v, entry),
                None => out.add_hash(&hash, entry),
            }
        }
        Ok(out)
    }

    /// Re-derives the current status of every (lead, channel, purpose) with events and
    /// applies what changed: a `consent_audit` row per status change, the changed rows of
    /// `consent_status` (with a readable basis), and the consent columns of `leads`.
    ///
    /// Set-based in SQL, because it runs on every run over the whole base (a million form
    /// leads hold millions of events): the same rules as [`leadpipe_core::consent::decide_status`],
    /// which the call gate uses; a property test checks the two agree on random histories.
    pub fn refresh_consent_status(
        &self,
        now: DateTime<Utc>,
        actor: &str,
        run_id: Option<i64>,
    ) -> Result<ConsentRefresh, StoreError> {
        let clock = std::time::Instant::now();
        let now_sql = format!("'{}'::TIMESTAMPTZ", now.to_rfc3339());
        let basis = sql_basis();
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE derived_status AS
                 WITH lp AS (SELECT lead_id, unnest(phones) AS v FROM leads),
                      le AS (SELECT lead_id, unnest(emails) AS v FROM leads),
                      ev AS (
                        SELECT r.lead_id, c.consent_id FROM consents c JOIN records r ON r.record_id = c.record_id
                         WHERE r.lead_id IS NOT NULL AND c.superseded_at IS NULL
                        UNION ALL SELECT lp.lead_id, c.consent_id FROM consents c JOIN lp
                         ON c.record_id IS NULL AND c.superseded_at IS NULL AND c.phone_e164 = lp.v
                        UNION ALL SELECT le.lead_id, c.consent_id FROM consents c JOIN le
                         ON c.record_id IS NULL AND c.superseded_at IS NULL AND c.email = le.v),
                      e AS (
                        SELECT ev.lead_id, c.channel, c.purpose, c.status, c.consent_id,
                               c.recorded_at, c.expires_at,
                               coalesce(CASE WHEN c.status = 'withdrawn'
                                             THEN coalesce(c.withdrawn_at, c.captured_at)
                                             ELSE c.captured_at END, c.recorded_at) AS eff
                        FROM ev JOIN consents c USING (consent_id)),
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
                        WHERE e.status = 'granted' AND e.eff <= {now_sql}
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
                        WHERE status = 'claimed' AND eff <= {now_sql}
                        QUALIFY row_number() OVER (PARTITION BY lead_id, channel, purpose
                                                   ORDER BY eff DESC, consent_id DESC) = 1),
                      k AS (SELECT DISTINCT lead_id, channel, purpose FROM e)
                 SELECT k.lead_id, k.channel, k.purpose,
                        CASE WHEN g.lead_id IS NOT NULL THEN
                                  CASE WHEN g.expires_at <= {now_sql} THEN 'expired' ELSE 'granted' END
                             WHEN st.lead_id IS NOT NULL THEN st.status
                             WHEN cl.lead_id IS NOT NULL THEN 'claimed'
                             ELSE 'none' END AS status,
                        CASE WHEN g.lead_id IS NOT NULL THEN
                                  CASE WHEN g.expires_at <= {now_sql} THEN g.expires_at ELSE g.eff END
                             WHEN st.lead_id IS NOT NULL THEN st.eff
                             WHEN cl.lead_id IS NOT NULL THEN cl.eff END AS since,
                        g.expires_at AS expires_at,
                        coalesce(g.consent_id, st.consent_id, cl.consent_id) AS consent_id
                 FROM k LEFT JOIN g USING (lead_id, channel, purpose)
                        LEFT JOIN st USING (lead_id, channel, purpose)
                        LEFT JOIN cl USING (lead_id, channel, purpose);

                 CREATE OR REPLACE TEMP TABLE status_changes AS
                 SELECT coalesce(n.lead_id, o.lead_id) AS lead_id,
                        coalesce(n.channel, o.channel) AS channel,
                        coalesce(n.purpose, o.purpose) AS purpose,
                        o.status AS old_status, coalesce(n.status, 'none') AS new_status,
                        n.consent_id, n.since, n.expires_at,
                        o.lead_id IS NOT NULL AS had_row, n.lead_id IS NOT NULL AS has_row
                 FROM derived_status n FULL JOIN consent_status o
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
                 WHERE s.has_row;"
                ,
                status_basis = basis.replace("s.status", "s.new_status"),
            ))
            .map_err(db("deriving consent status"))?;
        tracing::debug!(ms = clock.elapsed().as_millis() as u64, "consent: derived");
        // Audit: every status change, including statuses that disappeared (a lead merged
        // away or erased goes back to "none").
        let audited = self
            .conn
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
                    status_basis = basis.replace("s.status", "s.new_status"),
                ),
                params![actor, run_id],
            )
            .map_err(db("writing the consent audit"))?;
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
        // `leads` shows advertising consent per channel; only rows that differ are touched.
        self.conn
            .execute_batch(
                "UPDATE leads SET call_consent = s.status, call_consent_basis = s.basis,
                        call_consent_since = s.since, call_consent_expires_at = s.expires_at
                 FROM consent_status s
                 WHERE s.lead_id = leads.lead_id AND s.channel = 'call' AND s.purpose = 'advertising'
                   AND (leads.call_consent IS DISTINCT FROM s.status
                        OR leads.call_consent_basis IS DISTINCT FROM s.basis
                        OR leads.call_consent_expires_at IS DISTINCT FROM s.expires_at);
                 UPDATE leads SET call_consent = 'none', call_consent_basis = NULL,
                        call_consent_since = NULL, call_consent_expires_at = NULL
                 WHERE call_consent IS DISTINCT FROM 'none'
                   AND lead_id NOT IN (SELECT lead_id FROM consent_status
                                       WHERE channel = 'call' AND purpose = 'advertising');
                 UPDATE leads SET sms_consent = s.status FROM consent_status s
                 WHERE s.lead_id = leads.lead_id AND s.channel = 'sms' AND s.purpose = 'advertising'
                   AND leads.sms_consent IS DISTINCT FROM s.status;
                 UPDATE leads SET sms_consent = 'none' WHERE sms_consent IS DISTINCT FROM 'none'
                   AND lead_id NOT IN (SELECT lead_id FROM consent_status
                                       WHERE channel = 'sms' AND purpose = 'advertising');
                 UPDATE leads SET email_consent = s.status FROM consent_status s
                 WHERE s.lead_id = leads.lead_id AND s.channel = 'email' AND s.purpose = 'advertising'
                   AND leads.email_consent IS DISTINCT FROM s.status;
                 UPDATE leads SET email_consent = 'none' WHERE email_consent IS DISTINCT FROM 'none'
                   AND lead_id NOT IN (SELECT lead_id FROM consent_status
                                       WHERE channel = 'email' AND purpose = 'advertising');",
            )
            .map_err(db("showing consent status in leads"))?;
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

    /// True when some lead holds this number or address.
    pub fn contact_known(&self, kind: ContactKind, value: &str) -> Result<bool, StoreError> {
        let sql = match kind {
            ContactKind::Phone => {
                "SELECT count(*) FROM records WHERE phone_e164 = ?1 OR list_contains(phones_extra, ?1)"
            }
            ContactKind::Email => "SELECT count(*) FROM records WHERE email = ?1",
        };
        let n: i64 = self
            .conn
            .query_row(sql, params![value], |r| r.get(0))
            .map_err(db("looking up a contact"))?;
        Ok(n > 0)
    }

    /// Loads a list's contacts. The same file loaded again into the same list is a no-op.
    #[allow(clippy::too_many_arguments)]
    pub fn load_suppression_list(
        &self,
        list: &str,
        reason: &str,
        channel: Option<Channel>,
        path: &Path,
        contacts: &leadpipe_core::consent::contacts::ContactList,
        actor: &str,
    ) -> Result<SuppressionListLoad, StoreError> {
        let rejects: Vec<(u64, String)> = contacts
            .rows
            .iter()
            .filter_map(|r| r.problem.clone().map(|p| (r.row, p)))
            .collect();
        let mut load = SuppressionListLoad {
            list: list.to_string(),
            reason: reason.to_string(),
            channel: channel.map(|c| c.as_str().to_string()),
            rows_read: contacts.rows.len() as u64,
            contacts: 0,
            rows_rejected: rejects.len() as u64,
            rejects,
            unchanged: false,
        };
        let seen: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM suppression_lists WHERE list_name = ? AND content_hash = ?",
                params![list, contacts.content_hash],
                |r| r.get(0),
            )
            .map_err(db("looking up a suppression list"))?;
        if seen > 0 {
            load.unchanged = true;
            return Ok(load);
        }
        let hasher = self.contact_hasher()?;
        let mut rows: Vec<(ContactKind, String, u64, Option<DateTime<Utc>>)> = Vec::new();
        for r in &contacts.rows {
            for p in &r.phones {
                rows.push((ContactKind::Phone, p.clone(), r.row, r.at));
            }
            for e in &r.emails {
                rows.push((ContactKind::Email, e.clone(), r.row, r.at));
            }
        }
        load.contacts = rows.len() as u64;
        let now = Utc::now();
        let n = rows.len();
        if n > 0 {
            let mut src_row = Int64Builder::with_capacity(n);
            for r in &rows {
                src_row.append_value(r.2 as i64);
            }
            let hashes: Vec<String> = rows.iter().map(|r| hasher.hash(r.0, &r.1)).collect();
            let cols: Vec<(&str, ArrayRef)> = vec![
                ("list_name", str_col(rows.iter().map(|_| Some(list)), n)),
                ("kind", str_col(rows.iter().map(|r| Some(r.0.as_str())), n)),
                ("value", str_col(rows.iter().map(|r| Some(r.1.as_str())), n)),
                (
                    "value_hash",
                    str_col(hashes.iter().map(|h| Some(h.as_str())), n),
                ),
                (
                    "channel",
                    str_col(rows.iter().map(|_| channel.map(Channel::as_str)), n),
                ),
                ("reason", str_col(rows.iter().map(|_| Some(reason)), n)),
                ("source_row", Arc::new(src_row.finish())),
                ("listed_at", ts_col(rows.iter().map(|r| r.3), n)),
                ("loaded_at", ts_col(rows.iter().map(|_| Some(now)), n)),
            ];
            self.append("suppressions", batch("suppressions", cols)?)?;
        }
        let rejects_json = serde_json::to_string(
            &load
                .rejects
                .iter()
                .map(|(row, why)| serde_json::json!({"row": row, "reason": why}))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into());
        self.conn
            .execute(
                "INSERT INTO suppression_lists VALUES (?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?)",
                params![
                    list,
                    path.display().to_string(),
                    contacts.content_hash,
                    reason,
                    channel.map(Channel::as_str),
                    actor,
                    load.rows_read as i64,
                    load.contacts as i64,
                    load.rows_rejected as i64,
                    rejects_json
                ],
            )
            .map_err(db("recording a suppression list"))?;
        Ok(load)
    }

    /// Adds one contact to a list (a withdrawal for someone not in the base).
    #[allow(clippy::too_many_arguments)]
    pub fn suppress_one(
        &self,
        list: &str,
        reason: &str,
        kind: ContactKind,
        value: &str,
        channel: Option<Channel>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let hash = self.contact_hasher()?.hash(kind, value);
        self.conn
            .execute(
                "INSERT INTO suppressions VALUES (?, ?, ?, ?, ?, ?, NULL, ?::TIMESTAMPTZ, now())",
                params![
                    list,
                    kind.as_str(),
                    value,
                    hash,
                    channel.map(Channel::as_str),
                    reason,
                    at.to_rfc3339()
                ],
            )
            .map_err(db("adding a suppression"))?;
        Ok(())
    }
}

fn random_salt() -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut salt = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut salt)?;
    Ok(salt)
}

/// What a call list or report shows about a lead besides its numbers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LeadCard {
    pub full_name: Option<String>,
    pub company: Option<String>,
    pub city: Option<String>,
    pub subject_type: Option<String>,
    pub origins: Option<String>,
    pub sources: Option<String>,
    pub region: Option<String>,
    /// ISO 3166-2 code (`RU-MOW`), from enrichment.
    pub region_code: Option<String>,
    pub timezone: Option<String>,
    pub utc_offset_minutes: Option<i64>,
    pub warmth_score: Option<i64>,
    pub warmth_tier: Option<String>,
    pub warmth: leadpipe_core::warmth::WarmthPoints,
}

impl Store {
    /// Name, company, city and subject type of the given leads.
    pub fn lead_cards(&self, ids: &[i64]) -> Result<HashMap<i64, LeadCard>, StoreError> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut uniq = ids.to_vec();
        uniq.sort_unstable();
        uniq.dedup();
        self.conn
            .execute_batch("CREATE OR REPLACE TEMP TABLE card_ids (lead_id BIGINT)")
            .map_err(db("reading leads"))?;
        let mut b = Int64Builder::with_capacity(uniq.len());
        for id in &uniq {
            b.append_value(*id);
        }
        let cols: Vec<(&str, ArrayRef)> = vec![("lead_id", Arc::new(b.finish()))];
        self.append("card_ids", batch("card_ids", cols)?)?;
        let batches = self.read_arrow(
            "SELECT l.lead_id, l.full_name, l.company, l.city, l.subject_type,
                    array_to_string(l.origins, ', '), array_to_string(l.sources, ', '),
                    coalesce(l.region, l.region_code), l.timezone,
                    l.utc_offset_minutes::BIGINT, l.warmth_score::BIGINT, l.warmth_tier,
                    l.warmth_origin::BIGINT, l.warmth_recency::BIGINT,
                    l.warmth_frequency::BIGINT, l.warmth_engagement::BIGINT,
                    l.warmth_completeness::BIGINT, l.region_code
             FROM leads l JOIN card_ids USING (lead_id)",
            [],
            "reading leads",
        )?;
        for b in &batches {
            let c = BatchCols(b);
            for i in 0..b.num_rows() {
                let Some(id) = c.i64(0, i) else { continue };
                out.insert(
                    id,
                    LeadCard {
                        full_name: c.string(1, i),
                        company: c.string(2, i),
                        city: c.string(3, i),
                        subject_type: c.string(4, i),
                        origins: c.string(5, i),
                        sources: c.string(6, i),
                        region: c.string(7, i),
                        region_code: c.string(17, i),
                        timezone: c.string(8, i),
                        utc_offset_minutes: c.i64(9, i),
                        warmth_score: c.i64(10, i),
                        warmth_tier: c.string(11, i),
                        warmth: leadpipe_core::warmth::WarmthPoints {
                            origin: c.i64(12, i).unwrap_or(0) as i32,
                            recency: c.i64(13, i).unwrap_or(0) as i32,
                            frequency: c.i64(14, i).unwrap_or(0) as i32,
                            engagement: c.i64(15, i).unwrap_or(0) as i32,
                            completeness: c.i64(16, i).unwrap_or(0) as i32,
                        },
                    },
                );
            }
        }
        self.conn
            .execute_batch("DROP TABLE IF EXISTS card_ids")
            .map_err(db("reading leads"))?;
        Ok(out)
    }
}

/// A loaded suppression list, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    pub list: String,
    pub reason: String,
    pub channel: Option<String>,
    pub loaded_at: String,
    pub contacts: i64,
    pub rows_rejected: i64,
    pub path: Option<String>,
}

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
    /// Every lead with its numbers, addresses and call events for `purpose` (most leads
    /// have none).
    pub fn all_call_gate_leads(&self, purpose: Purpose) -> Result<Vec<GateLead>, StoreError> {
        let with_events = self.call_gate_leads(purpose)?;
        let mut by_id: BTreeMap<i64, GateLead> =
            with_events.into_iter().map(|l| (l.lead_id, l)).collect();
        let batches = self.read_arrow(
            "SELECT lead_id, array_to_string(phones, chr(31)), array_to_string(emails, chr(31))
             FROM leads",
            [],
            "reading leads",
        )?;
        for b in &batches {
            let c = BatchCols(b);
            for i in 0..b.num_rows() {
                let Some(id) = c.i64(0, i) else { continue };
                by_id.entry(id).or_insert_with(|| GateLead {
                    lead_id: id,
                    phones: split_list(c.str(1, i)),
                    emails: split_list(c.str(2, i)),
                    events: Vec::new(),
                });
            }
        }
        Ok(by_id.into_values().collect())
    }

    pub fn suppression_lists(&self) -> Result<Vec<ListRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT list_name, reason, channel, loaded_at::VARCHAR, contacts, rows_rejected, path
                 FROM suppression_lists ORDER BY loaded_at",
            )
            .map_err(db("reading suppression lists"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ListRow {
                    list: r.get(0)?,
                    reason: r.get(1)?,
                    channel: r.get(2)?,
                    loaded_at: r.get(3)?,
                    contacts: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                    rows_rejected: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                    path: r.get(6)?,
                })
            })
            .map_err(db("reading suppression lists"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("reading suppression lists"))
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
