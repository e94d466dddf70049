//! Warmth tables: `engagements` (visits, opens, replies, calls and their outcomes, keyed by
//! the contact they came from) and the warmth columns of `leads`.

use crate::landing::{batch, text_column};
use crate::{db, scan, Store, StoreError};
use chrono::{DateTime, Utc};
use duckdb::arrow::array::{Array, ArrayRef, AsArray, Int64Builder, TimestampMicrosecondBuilder};
use duckdb::arrow::datatypes::{Field, Int64Type, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::params;
use leadpipe_core::warmth::{WarmthPoints, WarmthSettings};
use serde::Serialize;
use std::sync::Arc;

/// Visits, opens, replies and calls, keyed by the contact they came from (not by lead:
/// they outlive merges, splits and re-imports).
pub(crate) const ENGAGEMENTS: &str = r#"CREATE TABLE IF NOT EXISTS engagements (
    engagement_id BIGINT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR NOT NULL,
    phone_e164 VARCHAR,
    email VARCHAR,
    kind VARCHAR NOT NULL,
    outcome VARCHAR,
    occurred_at TIMESTAMPTZ NOT NULL,
    source VARCHAR,
    source_row BIGINT,
    file_hash VARCHAR
);
ALTER TABLE engagements ADD COLUMN IF NOT EXISTS outcome_text VARCHAR;
ALTER TABLE engagements ADD COLUMN IF NOT EXISTS callback_at TIMESTAMPTZ;
ALTER TABLE engagements ADD COLUMN IF NOT EXISTS note VARCHAR;
"#;

/// Creates the temp table `pending_callbacks` (lead_id, callback_at) for the leads in the
/// table `ids`: a number whose latest call result asked for a callback (with a time, or
/// `callback` with none: due at once) holds its lead back until then; any later result
/// for the number closes it. A lead with several is held until the last.
pub(crate) fn pending_callbacks_sql(ids: &str) -> String {
    format!(
        "CREATE OR REPLACE TEMP TABLE pending_callbacks AS
         WITH latest AS (
             SELECT phone_e164, outcome, callback_at, occurred_at FROM engagements
             WHERE kind = 'call' AND phone_e164 IS NOT NULL
             QUALIFY row_number() OVER (PARTITION BY phone_e164
                                        ORDER BY occurred_at DESC, engagement_id DESC) = 1),
              numbers AS (SELECT lead_id, unnest(phones) AS phone FROM leads JOIN {ids} USING (lead_id))
         SELECT n.lead_id, max(coalesce(c.callback_at, c.occurred_at)) AS callback_at
         FROM numbers n JOIN latest c ON c.phone_e164 = n.phone
         WHERE c.outcome = 'callback' OR c.callback_at IS NOT NULL
         GROUP BY n.lead_id"
    )
}

/// The score, the tier, the points per signal, and when the lead was scored.
pub(crate) const LEADS_WARMTH_COLUMNS: &str = r#"ALTER TABLE leads ADD COLUMN IF NOT EXISTS warmth_origin INTEGER;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS warmth_recency INTEGER;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS warmth_frequency INTEGER;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS warmth_engagement INTEGER;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS warmth_completeness INTEGER;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS warmth_last_touch_at TIMESTAMPTZ;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS warmth_scored_at TIMESTAMPTZ;
"#;

/// One engagement to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    pub phone_e164: Option<String>,
    pub email: Option<String>,
    /// `visit`, `email_open`, `reply` or `call`.
    pub kind: String,
    /// For calls: `reached`, `no_answer`, `refused`, `callback`, `do_not_call`,
    /// `wrong_number`.
    pub outcome: Option<String>,
    /// For calls: the outcome as the file wrote it (`не взял трубку`).
    pub outcome_text: Option<String>,
    /// For calls: when the person asked to be called back. Until then the lead is left
    /// out of call lists; from then it is listed first, until a later call result.
    pub callback_at: Option<DateTime<Utc>>,
    /// The operator's note.
    pub note: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub source: Option<String>,
    pub source_row: Option<u64>,
}

/// What scoring did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WarmthStats {
    pub leads: u64,
    pub hot: u64,
    pub warm: u64,
    pub cold: u64,
    /// Leads whose score or tier changed (all of them when golden records were rebuilt:
    /// they are new rows).
    pub changed: u64,
}

impl Store {
    /// True when a file with this content was already loaded as engagements.
    pub fn engagement_file_seen(&self, file_hash: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM engagements WHERE file_hash = ?",
                params![file_hash],
                |r| r.get(0),
            )
            .map_err(db("looking up an events file"))?;
        Ok(n > 0)
    }

    pub fn append_engagements(
        &self,
        rows: &[Engagement],
        actor: &str,
        file_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let first = self.next_id("SELECT coalesce(max(engagement_id), 0) + 1 FROM engagements")?;
        let n = rows.len();
        let now = Utc::now();
        let mut ids = Int64Builder::with_capacity(n);
        let mut src_row = Int64Builder::with_capacity(n);
        let mut rec = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut occ = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut callback = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        for (i, r) in rows.iter().enumerate() {
            ids.append_value(first + i as i64);
            src_row.append_option(r.source_row.map(|v| v as i64));
            rec.append_value(now.timestamp_micros());
            occ.append_value(r.occurred_at.timestamp_micros());
            callback.append_option(r.callback_at.map(|t| t.timestamp_micros()));
        }
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("engagement_id", Arc::new(ids.finish())),
            ("recorded_at", Arc::new(rec.finish())),
            ("actor", text_column(rows, |_| Some(actor))),
            ("phone_e164", text_column(rows, |r| r.phone_e164.as_deref())),
            ("email", text_column(rows, |r| r.email.as_deref())),
            ("kind", text_column(rows, |r| Some(r.kind.as_str()))),
            ("outcome", text_column(rows, |r| r.outcome.as_deref())),
            ("occurred_at", Arc::new(occ.finish())),
            ("source", text_column(rows, |r| r.source.as_deref())),
            ("source_row", Arc::new(src_row.finish())),
            ("file_hash", text_column(rows, |_| file_hash)),
            (
                "outcome_text",
                text_column(rows, |r| r.outcome_text.as_deref()),
            ),
            ("callback_at", Arc::new(callback.finish())),
            ("note", text_column(rows, |r| r.note.as_deref())),
        ];
        self.append("engagements", batch("engagements", cols)?)
    }

    /// Scores every lead as of `now` and writes the score, tier and points per signal to
    /// `leads` (only rows that changed are touched).
    pub fn score_warmth(
        &self,
        settings: &WarmthSettings,
        now: DateTime<Utc>,
    ) -> Result<WarmthStats, StoreError> {
        self.score_warmth_in(settings, now, "leads")
    }

    /// [`Store::score_warmth`] for the leads an incremental run changed (`scope_leads`)
    /// and those with engagement points or touched last by an engagement (later than
    /// their records say), which lapse as events leave the window. The
    /// other leads' points stay as they were; readers decay recency to their own time
    /// (`WarmthSettings::read_sql`). With `landed`, the changed leads landed scored
    /// as of `now` already (`landed` is what that scoring found) and only the others are
    /// scored here.
    pub fn score_changed_warmth(
        &self,
        settings: &WarmthSettings,
        now: DateTime<Utc>,
        landed: Option<WarmthStats>,
    ) -> Result<WarmthStats, StoreError> {
        let engaged =
            "(coalesce(warmth_engagement, 0) <> 0 OR warmth_last_touch_at > last_seen_at)";
        let Some(landed) = landed else {
            return self.score_warmth_in(
                settings,
                now,
                &format!(
                    "(SELECT * FROM leads WHERE lead_id IN (SELECT lead_id FROM scope_leads)
                                             OR {engaged})"
                ),
            );
        };
        // Found first: when there are none (no engagements in the window), scoring an
        // empty set would still scan `leads` and `records` (0.5 s at 10M records).
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE rescored AS
                 SELECT lead_id FROM leads WHERE {engaged}
                 EXCEPT SELECT lead_id FROM scope_leads"
            ))
            .map_err(db("scoring warmth"))?;
        let engaged_leads = self.next_id("SELECT count(*) FROM rescored")?;
        let rest = if engaged_leads == 0 {
            WarmthStats::default()
        } else {
            self.score_warmth_in(
                settings,
                now,
                "(SELECT * FROM leads WHERE lead_id IN (SELECT lead_id FROM rescored))",
            )?
        };
        self.conn
            .execute_batch("DROP TABLE rescored")
            .map_err(db("scoring warmth"))?;
        Ok(WarmthStats {
            leads: landed.leads + rest.leads,
            hot: landed.hot + rest.hot,
            warm: landed.warm + rest.warm,
            cold: landed.cold + rest.cold,
            changed: landed.changed + rest.changed,
        })
    }

    fn score_warmth_in(
        &self,
        settings: &WarmthSettings,
        now: DateTime<Utc>,
        leads: &str,
    ) -> Result<WarmthStats, StoreError> {
        self.conn
            .execute_batch(&settings.scoring_sql_for(now, leads))
            .map_err(db("scoring warmth"))?;
        let changed = self
            .conn
            .execute(
                "UPDATE leads SET warmth_score = w.score, warmth_tier = w.tier,
                        warmth_origin = w.origin, warmth_recency = w.recency,
                        warmth_frequency = w.frequency, warmth_engagement = w.engagement,
                        warmth_completeness = w.completeness,
                        warmth_last_touch_at = w.last_touch_at, warmth_scored_at = ?::TIMESTAMPTZ
                 FROM warmth w
                 WHERE leads.lead_id = w.lead_id
                   AND (leads.warmth_score IS DISTINCT FROM w.score
                        OR leads.warmth_tier IS DISTINCT FROM w.tier
                        OR leads.warmth_origin IS DISTINCT FROM w.origin
                        OR leads.warmth_recency IS DISTINCT FROM w.recency
                        OR leads.warmth_frequency IS DISTINCT FROM w.frequency
                        OR leads.warmth_engagement IS DISTINCT FROM w.engagement
                        OR leads.warmth_completeness IS DISTINCT FROM w.completeness
                        OR leads.warmth_last_touch_at IS DISTINCT FROM w.last_touch_at)",
                params![now.to_rfc3339()],
            )
            .map_err(db("scoring warmth"))?;
        self.warmth_stats(changed as u64)
    }

    /// What the scoring in the temp table `warmth` found, by tier; drops the table.
    fn warmth_stats(&self, changed: u64) -> Result<WarmthStats, StoreError> {
        let stats = self
            .conn
            .query_row(
                "SELECT count(*), count(*) FILTER (WHERE tier = 'hot'),
                        count(*) FILTER (WHERE tier = 'warm'), count(*) FILTER (WHERE tier = 'cold')
                 FROM warmth",
                [],
                |r| {
                    Ok(WarmthStats {
                        leads: r.get::<_, i64>(0)? as u64,
                        hot: r.get::<_, i64>(1)? as u64,
                        warm: r.get::<_, i64>(2)? as u64,
                        cold: r.get::<_, i64>(3)? as u64,
                        changed,
                    })
                },
            )
            .map_err(db("scoring warmth"))?;
        self.conn
            .execute_batch("DROP TABLE warmth")
            .map_err(db("scoring warmth"))?;
        Ok(stats)
    }

    /// A lead's warmth, signal by signal (`None` if it was never scored).
    pub fn warmth_of(
        &self,
        lead_id: i64,
    ) -> Result<Option<(i32, String, WarmthPoints)>, StoreError> {
        let found = self.conn.query_row(
            "SELECT warmth_score, warmth_tier, warmth_origin, warmth_recency, warmth_frequency,
                    warmth_engagement, warmth_completeness
             FROM leads WHERE lead_id = ? AND warmth_score IS NOT NULL",
            params![lead_id],
            |r| {
                Ok((
                    r.get::<_, i32>(0)?,
                    r.get::<_, String>(1)?,
                    WarmthPoints {
                        origin: r.get::<_, Option<i32>>(2)?.unwrap_or(0),
                        recency: r.get::<_, Option<i32>>(3)?.unwrap_or(0),
                        frequency: r.get::<_, Option<i32>>(4)?.unwrap_or(0),
                        engagement: r.get::<_, Option<i32>>(5)?.unwrap_or(0),
                        completeness: r.get::<_, Option<i32>>(6)?.unwrap_or(0),
                    },
                ))
            },
        );
        match found {
            Ok(v) => Ok(Some(v)),
            Err(duckdb::Error::QueryReturnedNoRows) => Ok(None),
            Err(source) => Err(StoreError::Db {
                context: "reading warmth",
                source,
            }),
        }
    }
}

/// The `leads` warmth columns [`Store::score_golden`] adds to golden records, with the SQL
/// that reads each from the scoring's `warmth` table.
const GOLDEN_WARMTH: [(&str, &str); 8] = [
    ("warmth_score", "score::INTEGER"),
    ("warmth_tier", "tier::VARCHAR"),
    ("warmth_origin", "origin::INTEGER"),
    ("warmth_recency", "recency::INTEGER"),
    ("warmth_frequency", "frequency::INTEGER"),
    ("warmth_engagement", "engagement::INTEGER"),
    ("warmth_completeness", "completeness::INTEGER"),
    ("warmth_last_touch_at", "last_touch_at::TIMESTAMPTZ"),
];

impl Store {
    /// Golden records about to replace `leads` (in lead id order), with their warmth as of
    /// `now` added as columns, and what scoring found. Scoring them before they land, and
    /// not updating them after, keeps DuckDB from logging the whole of `leads` at commit.
    pub(crate) fn score_golden(
        &self,
        golden: Vec<RecordBatch>,
        settings: &WarmthSettings,
        now: DateTime<Utc>,
    ) -> Result<(Vec<RecordBatch>, WarmthStats), StoreError> {
        let registered = scan::Registered::new(golden.clone());
        // What scoring reads of a golden record, converted from the batches once.
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE golden_scored AS
                 SELECT lead_id, phones, emails, origins, phone_e164, email,
                        last_name, first_name, company, city,
                        record_count, sources, last_seen_at
                 FROM {}({});
                 {};
                 DROP TABLE golden_scored;",
                scan::FUNCTION,
                registered.0,
                settings.golden_scoring_sql(now, "golden_scored")
            ))
            .map_err(db("scoring golden records"))?;
        drop(registered);
        let select = GOLDEN_WARMTH
            .iter()
            .map(|(_, sql)| *sql)
            .collect::<Vec<_>>()
            .join(", ");
        let scored = self.read_arrow(
            &format!("SELECT lead_id, {select} FROM warmth ORDER BY lead_id"),
            [],
            "scoring golden records",
        )?;
        let total: usize = golden.iter().map(|b| b.num_rows()).sum();
        // Every golden record is replaced, scored.
        let stats = self.warmth_stats(total as u64)?;
        Ok((with_warmth(golden, &scored)?, stats))
    }
}

/// `golden` with the warmth columns of `scored` (lead_id, then [`GOLDEN_WARMTH`], in the
/// same lead order) added; refused if the two are out of step.
fn with_warmth(
    golden: Vec<RecordBatch>,
    scored: &[RecordBatch],
) -> Result<Vec<RecordBatch>, StoreError> {
    let bad = |message: String| StoreError::Batch {
        table: "leads",
        message,
    };
    let total: usize = golden.iter().map(|b| b.num_rows()).sum();
    let columns: Vec<ArrayRef> = (0..=GOLDEN_WARMTH.len())
        .map(|c| {
            let parts: Vec<&dyn Array> = scored.iter().map(|b| b.column(c).as_ref()).collect();
            duckdb::arrow::compute::concat(&parts).map_err(|e| bad(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if columns[0].len() != total {
        return Err(bad(format!(
            "{} golden records, {} scored",
            total,
            columns[0].len()
        )));
    }
    let mut out = Vec::with_capacity(golden.len());
    let mut at = 0;
    for batch in golden {
        let n = batch.num_rows();
        let ids = batch
            .column_by_name("lead_id")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| bad("golden records without lead_id".into()))?;
        let scored_ids = columns[0].slice(at, n);
        if scored_ids.as_primitive::<Int64Type>().values() != ids.values() {
            return Err(bad("golden records and their scores are out of step".into()));
        }
        let (schema, mut arrays, _) = batch.into_parts();
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        for (i, (name, _)) in GOLDEN_WARMTH.iter().enumerate() {
            let column = columns[i + 1].slice(at, n);
            fields.push(Field::new(*name, column.data_type().clone(), true));
            arrays.push(column);
        }
        out.push(
            RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
                .map_err(|e| bad(e.to_string()))?,
        );
        at += n;
    }
    Ok(out)
}

/// The names of the warmth columns golden records carry when scored before landing.
pub(crate) fn golden_warmth_columns() -> impl Iterator<Item = &'static str> {
    GOLDEN_WARMTH.iter().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use crate::Store;

    /// Scoring golden records with their own counts gives what counting their records
    /// gives: lead 1 was last seen when one record's consent was given (that record has no
    /// date of its own, and the consent is later than the other's date), lead 2 at its
    /// newest date, lead 3 never; two sources, one, one.
    #[test]
    fn golden_records_score_as_their_records_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.duckdb")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO records (record_id, raw_id, run_id, source, file_hash, source_row,
                                      origin, lead_id, created_at, consent_at) VALUES
                   (1, 1, 1, 'a.csv', 'h', 1, 'form', 1, '2026-05-01 00:00:00+00', NULL),
                   (2, 2, 1, 'b.csv', 'h', 1, 'form', 1, NULL, '2026-05-20 00:00:00+00'),
                   (3, 3, 1, 'a.csv', 'h', 3, 'purchased', 2, '2026-04-01 00:00:00+00',
                    '2026-04-03 00:00:00+00'),
                   (4, 4, 1, 'a.csv', 'h', 4, 'purchased', 2, '2026-04-02 00:00:00+00', NULL),
                   (5, 5, 1, 'a.csv', 'h', 5, 'open', 3, NULL, NULL);
                 CREATE TEMP TABLE g AS
                 SELECT lead_id, ['+79160000000'] AS phones, []::VARCHAR[] AS emails,
                        list(DISTINCT origin) AS origins, '+79160000000' AS phone_e164,
                        NULL::VARCHAR AS email, 'Иванов' AS last_name, 'Иван' AS first_name,
                        NULL::VARCHAR AS company, NULL::VARCHAR AS city,
                        count(*) AS record_count, list(DISTINCT source) AS sources,
                        max(created_at) AS last_seen_at
                 FROM records GROUP BY lead_id;",
            )
            .unwrap();
        let settings = leadpipe_core::warmth::WarmthSettings::default();
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let scored = |sql: String| -> Vec<String> {
            store.conn.execute_batch(&sql).unwrap();
            let mut stmt = store
                .conn
                .prepare("SELECT w::VARCHAR FROM warmth w ORDER BY lead_id")
                .unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            rows.collect::<Result<_, _>>().unwrap()
        };
        let counted = scored(settings.scoring_sql_for(now, "g"));
        let own = scored(settings.golden_scoring_sql(now, "g"));
        assert_eq!(counted.len(), 3);
        assert!(counted[0].contains("2026-05-20"), "{counted:?}");
        assert_eq!(own, counted);
    }
}
