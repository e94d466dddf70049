//! The `leads` table: one golden record per person or company, rebuilt from its members
//! by survivorship on every run (the rules are `leadpipe_core::dedupe::golden`), with the
//! consent columns (kept current by `consent::refresh`) and the warmth columns (`warmth`).

use crate::{db, scan, warmth, Store, StoreError};
use duckdb::arrow::record_batch::RecordBatch;

const LONG_TEXT: &str = "VARCHAR USING COMPRESSION zstd";
const LONG_TEXT_NOTE: &[&str] = &[
    "zstd as in records: 500k golden records land in 1.65 s instead of 1.97 s on one",
    "thread, in a smaller file (36 vs 37 MB).",
];
const NO_NOTE: &[&str] = &[];

/// The columns `leads` is created with (name, type, comment lines above it): the golden
/// record (`leadpipe_core::dedupe::golden::COLUMNS`, in that order), then the run's marks.
/// `consent::refresh` and `warmth` add their columns by `ALTER TABLE`.
const COLUMNS: [(&str, &str, &[&str]); 28] = [
    ("lead_id", "BIGINT NOT NULL", NO_NOTE),
    ("phone_e164", LONG_TEXT, LONG_TEXT_NOTE),
    ("phones", "VARCHAR[]", NO_NOTE),
    ("email", LONG_TEXT, NO_NOTE),
    ("emails", "VARCHAR[]", NO_NOTE),
    ("full_name", LONG_TEXT, NO_NOTE),
    ("last_name", "VARCHAR", NO_NOTE),
    ("first_name", "VARCHAR", NO_NOTE),
    ("middle_name", "VARCHAR", NO_NOTE),
    ("gender", "VARCHAR", NO_NOTE),
    ("company", "VARCHAR", NO_NOTE),
    ("city", "VARCHAR", NO_NOTE),
    ("region", "VARCHAR", NO_NOTE),
    ("inn", "VARCHAR", NO_NOTE),
    ("region_code", "VARCHAR", NO_NOTE),
    ("timezone", "VARCHAR", NO_NOTE),
    ("utc_offset_minutes", "INTEGER", NO_NOTE),
    ("subject_type", "VARCHAR", NO_NOTE),
    ("company_legal_form", "VARCHAR", NO_NOTE),
    ("record_count", "BIGINT", NO_NOTE),
    ("sources", "VARCHAR[]", NO_NOTE),
    ("origins", "VARCHAR[]", NO_NOTE),
    ("first_seen_at", "TIMESTAMPTZ", NO_NOTE),
    ("last_seen_at", "TIMESTAMPTZ", NO_NOTE),
    ("warmth_score", "INTEGER", NO_NOTE),
    ("warmth_tier", "VARCHAR", NO_NOTE),
    ("call_consent", "VARCHAR", NO_NOTE),
    ("updated_run_id", "BIGINT", NO_NOTE),
];

/// The DDL of `leads`, from [`COLUMNS`].
pub(crate) fn ddl() -> String {
    crate::schema::create_table("leads", COLUMNS.iter().copied())
}

/// The golden columns added after `leads` was first created
/// (`leadpipe_core::dedupe::golden::PLACE_COLUMNS`): the gazetteer's names of the lead's
/// city and region. A base made before them gets them empty, filled by the next run.
pub(crate) const LEADS_PLACE_COLUMNS: &str = r#"ALTER TABLE leads ADD COLUMN IF NOT EXISTS city_canonical VARCHAR;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS region_name VARCHAR;
"#;

/// Which golden-record members in `records` [`Store::golden_records`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandedMembers {
    /// Every lead's.
    All,
    /// Those of the leads in the temp table `scope_leads` ([`Store::scope_leads`]).
    OfScopeLeads,
    /// None: the caller gives every member of the leads it wants.
    Given,
}

/// Warmth settings and the time to score golden records as of, when they land scored.
pub type Scoring<'a> = (
    &'a leadpipe_core::warmth::WarmthSettings,
    chrono::DateTime<chrono::Utc>,
);

impl Store {
    /// Golden records, one per lead, by survivorship: the fullest, correctly spelt name; the
    /// value most members give for the place, company, gender and ИНН (ties to the best
    /// member: preferred origin, then most recent, then latest landed); the best member's
    /// phone and e-mail. The rules live in [`leadpipe_core::dedupe::golden`]; consent
    /// columns come from `consent_status`.
    ///
    /// With `scored`, they land scored for warmth as of that time, and the stats come back.
    pub fn rebuild_leads(
        &self,
        run_id: i64,
        origin_priority: &[String],
        scored: Option<Scoring>,
    ) -> Result<Option<warmth::WarmthStats>, StoreError> {
        let golden = self.golden_records(origin_priority, Vec::new(), LandedMembers::All)?;
        self.replace_leads(run_id, golden, scored, false)
    }

    /// Golden records of every lead, built from the members in `records` and
    /// `more_members`: records not landed yet, in [`leadpipe_core::dedupe::golden::members_sql`]'s
    /// shape ([`leadpipe_core::dedupe::golden::members_of`]). `landed` says which
    /// members to read from `records`.
    pub fn golden_records(
        &self,
        origin_priority: &[String],
        more_members: Vec<RecordBatch>,
        landed: LandedMembers,
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let clock = std::time::Instant::now();
        let mut sql = leadpipe_core::dedupe::golden::members_sql();
        let mut members = match landed {
            LandedMembers::All => self.read_arrow(&sql, [], "reading lead members")?,
            LandedMembers::OfScopeLeads => {
                sql.push_str(" AND lead_id IN (SELECT lead_id FROM scope_leads)");
                self.read_arrow(&sql, [], "reading lead members")?
            }
            LandedMembers::Given => Vec::new(),
        };
        members.extend(more_members);
        let read_ms = clock.elapsed().as_millis();
        let golden =
            leadpipe_core::dedupe::golden::build(&members, origin_priority).map_err(|message| {
                StoreError::Batch {
                    table: "leads",
                    message,
                }
            })?;
        tracing::debug!(
            read_ms,
            built_ms = clock.elapsed().as_millis() - read_ms,
            "golden records: members read, records built"
        );
        Ok(golden)
    }

    /// Replaces `leads` with `golden` (from [`Store::golden_records`]); with `scored`,
    /// scored for warmth as of that time (the stats come back), else unscored. With
    /// `scoped`, only the leads in `scope_leads` are replaced.
    pub fn replace_leads(
        &self,
        run_id: i64,
        golden: Vec<RecordBatch>,
        scored: Option<Scoring>,
        scoped: bool,
    ) -> Result<Option<warmth::WarmthStats>, StoreError> {
        let clock = std::time::Instant::now();
        self.conn
            .execute_batch(if scoped {
                "DELETE FROM leads WHERE lead_id IN (SELECT lead_id FROM scope_leads)"
            } else {
                "DELETE FROM leads"
            })
            .map_err(db("rebuilding golden records"))?;
        if golden.is_empty() {
            return Ok(scored.map(|_| warmth::WarmthStats::default()));
        }
        let mut columns: Vec<&str> = leadpipe_core::dedupe::golden::COLUMNS.to_vec();
        let (golden, stats, scored_at) = match scored {
            Some((settings, now)) => {
                let (golden, stats) = self.score_golden(golden, settings, now)?;
                columns.extend(warmth::golden_warmth_columns());
                (
                    golden,
                    Some(stats),
                    format!("'{}'::TIMESTAMPTZ", now.to_rfc3339()),
                )
            }
            None => (golden, None, "NULL".to_string()),
        };
        let from_batch = columns
            .iter()
            .map(|c| format!("g.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let columns = columns.join(", ");
        let registered = scan::Registered::new(golden);
        // In any order, on both cores (1.5 s on one thread at 1M rows, 0.8 s on two).
        let in_any_order = self.in_any_order()?;
        // Consent as last derived (the consent stage refreshes it after this).
        self.conn
            .execute(
                &format!(
                    "INSERT INTO leads ({columns}, call_consent, call_consent_basis,
                         call_consent_since, call_consent_expires_at, sms_consent,
                         email_consent, updated_run_id, warmth_scored_at)
                     SELECT {from_batch},
                         coalesce(cs.status, 'none'), cs.basis, cs.since, cs.expires_at,
                         coalesce(ss.status, 'none'), coalesce(es.status, 'none'), {run_id},
                         {scored_at}
                     FROM {scan}(?) g
                     LEFT JOIN consent_status cs ON cs.lead_id = g.lead_id AND cs.channel = 'call' AND cs.purpose = 'advertising'
                     LEFT JOIN consent_status ss ON ss.lead_id = g.lead_id AND ss.channel = 'sms' AND ss.purpose = 'advertising'
                     LEFT JOIN consent_status es ON es.lead_id = g.lead_id AND es.channel = 'email' AND es.purpose = 'advertising'",
                    scan = scan::FUNCTION
                ),
                [registered.0 as i64],
            )
            .map_err(db("rebuilding golden records"))?;
        drop(in_any_order);
        tracing::debug!(
            ms = clock.elapsed().as_millis() as u64,
            "golden records: landed"
        );
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `leads` DDL as bases were created with before it was generated (see the same
    /// test in `import::records`).
    const DECLARED: &str = r#"CREATE TABLE IF NOT EXISTS leads (
    lead_id BIGINT NOT NULL,
    -- zstd as in records: 500k golden records land in 1.65 s instead of 1.97 s on one
    -- thread, in a smaller file (36 vs 37 MB).
    phone_e164 VARCHAR USING COMPRESSION zstd,
    phones VARCHAR[],
    email VARCHAR USING COMPRESSION zstd,
    emails VARCHAR[],
    full_name VARCHAR USING COMPRESSION zstd,
    last_name VARCHAR,
    first_name VARCHAR,
    middle_name VARCHAR,
    gender VARCHAR,
    company VARCHAR,
    city VARCHAR,
    region VARCHAR,
    inn VARCHAR,
    region_code VARCHAR,
    timezone VARCHAR,
    utc_offset_minutes INTEGER,
    subject_type VARCHAR,
    company_legal_form VARCHAR,
    record_count BIGINT,
    sources VARCHAR[],
    origins VARCHAR[],
    first_seen_at TIMESTAMPTZ,
    last_seen_at TIMESTAMPTZ,
    warmth_score INTEGER,
    warmth_tier VARCHAR,
    call_consent VARCHAR,
    updated_run_id BIGINT
);
"#;

    #[test]
    fn the_ddl_is_the_one_bases_were_created_with() {
        assert_eq!(ddl(), DECLARED);
    }

    #[test]
    fn golden_records_are_built_with_the_table_columns_in_order() {
        use leadpipe_core::dedupe::golden::{COLUMNS as GOLDEN, PLACE_COLUMNS};
        let created = GOLDEN.len() - PLACE_COLUMNS.len();
        let declared: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
        assert_eq!(&declared[..created], &GOLDEN[..created]);
        assert_eq!(&GOLDEN[created..], &PLACE_COLUMNS[..]);
        let added: Vec<&str> = LEADS_PLACE_COLUMNS
            .lines()
            .filter_map(|l| l.strip_prefix("ALTER TABLE leads ADD COLUMN IF NOT EXISTS "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert_eq!(added, PLACE_COLUMNS);
    }
}
