//! The append-only `consents` history: events derived from records (decisions spread
//! over channels and numbers in SQL), events recorded by commands and files, and the
//! superseding of record-born events whose records are derived again.

use crate::landing::{batch, str_col, ts_col, BatchCols};
use crate::{db, Store, StoreError};
use chrono::{DateTime, Utc};
use duckdb::arrow::array::{ArrayRef, Int64Builder};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::params;
use leadpipe_core::consent::{
    Channel, ConsentEvent, Purpose, RecordConsent, RecordDecision, Status,
};
use leadpipe_core::record::Origin;
use std::sync::Arc;

/// Every consent event ever recorded; never updated but to mark one superseded, never
/// deleted but by an erasure.
pub(crate) const CONSENTS: &str = r#"CREATE TABLE IF NOT EXISTS consents (
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
"#;

/// The next consent id: never one used before, even by an erased event (its audit rows
/// keep the id).
const NEXT_CONSENT_ID: &str = "SELECT greatest((SELECT coalesce(max(consent_id), 0) FROM consents),
                                (SELECT coalesce(max(consent_id), 0) FROM consent_audit)) + 1";

/// The columns [`event_from_batch`] reads, of `consents` aliased `c`.
pub(super) const EVENT_COLUMNS: &str =
    "c.consent_id, c.record_id, c.phone_e164, c.email, c.channel, \
    c.purpose, c.status, c.legal_basis, c.captured_at, c.source, c.method, c.text_version, \
    c.evidence_ip, c.evidence_user_agent, c.evidence_hash, c.expires_at, c.withdrawn_at, \
    c.withdrawal_channel, c.subject_type, c.raw_value, c.note, c.recorded_at";

/// Reads one event from `EVENT_COLUMNS` starting at column `o` of an Arrow batch.
pub(super) fn event_from_batch(c: &BatchCols, i: usize, o: usize) -> ConsentEvent {
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
        self.land_decisions(decisions)?;
        let first: i64 = self.next_id(NEXT_CONSENT_ID)?;
        // Ids follow decision, channel and number order without a global sort: each
        // decision gets a block of (channels × most numbers on one record) ids. Gaps are fine.
        let most_numbers: i64 = self.next_id(
            "SELECT coalesce(max(1 + len(coalesce(r.phones_extra, []))), 1)
             FROM consent_decisions JOIN records r USING (record_id)",
        )?;
        let written = self
            .conn
            .execute(
                &spread_decisions_sql(channels, most_numbers),
                params![first, run_id, actor, purpose.as_str(), derivation],
            )
            .map_err(db("writing consent events"))?;
        self.conn
            .execute_batch("DROP TABLE IF EXISTS consent_decisions")
            .map_err(db("writing consent events"))?;
        Ok(written as u64)
    }

    /// Lands decisions in the temporary table `consent_decisions`, `seq` numbering them.
    fn land_decisions(&self, decisions: &[RecordDecision]) -> Result<(), StoreError> {
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
        self.append("consent_decisions", batch("consent_decisions", cols)?)
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

    /// [`Store::append_consents`], marking each event with the policy it was derived under
    /// (`derivation`, for record-born events).
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
        let batch = events_batch(events, run_id, actor, derivation)?;
        self.append("consents", batch)
    }
}

/// Numbered events as a `consents` batch (every column but `superseded_at`).
fn events_batch(
    events: &[ConsentEvent],
    run_id: Option<i64>,
    actor: &str,
    derivation: Option<&str>,
) -> Result<RecordBatch, StoreError> {
    let n = events.len();
    let mut ids = Int64Builder::with_capacity(n);
    let mut runs = Int64Builder::with_capacity(n);
    let mut recs = Int64Builder::with_capacity(n);
    for e in events {
        ids.append_value(e.consent_id);
        runs.append_option(run_id);
        recs.append_option(e.record_id);
    }
    let text = |f: fn(&ConsentEvent) -> Option<&str>| str_col(events.iter().map(f), n);
    let time = |f: fn(&ConsentEvent) -> Option<DateTime<Utc>>| ts_col(events.iter().map(f), n);
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("consent_id", Arc::new(ids.finish())),
        ("recorded_at", time(|e| e.recorded_at)),
        ("run_id", Arc::new(runs.finish())),
        ("actor", str_col(events.iter().map(|_| Some(actor)), n)),
        ("record_id", Arc::new(recs.finish())),
        ("phone_e164", text(|e| e.phone_e164.as_deref())),
        ("email", text(|e| e.email.as_deref())),
        ("channel", text(|e| e.channel.map(Channel::as_str))),
        ("purpose", text(|e| e.purpose.map(Purpose::as_str))),
        ("status", text(|e| e.status.map(Status::as_str))),
        ("legal_basis", text(|e| Some(e.legal_basis.as_str()))),
        ("captured_at", time(|e| e.captured_at)),
        ("source", text(|e| e.source.as_deref())),
        ("method", text(|e| e.method.as_deref())),
        ("text_version", text(|e| e.text_version.as_deref())),
        ("evidence_ip", text(|e| e.evidence_ip.as_deref())),
        (
            "evidence_user_agent",
            text(|e| e.evidence_user_agent.as_deref()),
        ),
        ("evidence_hash", text(|e| e.evidence_hash.as_deref())),
        ("expires_at", time(|e| e.expires_at)),
        ("withdrawn_at", time(|e| e.withdrawn_at)),
        (
            "withdrawal_channel",
            text(|e| e.withdrawal_channel.as_deref()),
        ),
        ("subject_type", text(|e| e.subject_type.as_deref())),
        ("raw_value", text(|e| e.raw_value.as_deref())),
        ("note", text(|e| e.note.as_deref())),
        ("derivation", str_col(events.iter().map(|_| derivation), n)),
    ];
    batch("consents", cols)
}

/// The INSERT that spreads `consent_decisions` over `channels` and the records' numbers
/// into `consents` (parameters: first id, run, actor, purpose, derivation); what
/// [`leadpipe_core::consent::events_for_record`] does for one record.
fn spread_decisions_sql(channels: &[Channel], most_numbers: i64) -> String {
    let stride = channels.len() as i64 * most_numbers;
    let channel_values = channels
        .iter()
        .enumerate()
        .map(|(i, c)| format!("('{}', {i})", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
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
    )
}
