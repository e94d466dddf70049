//! What a reviewer sees of one lead (the review page, `leadpipe explain`): read from
//! `leads`, `records`, `lead_links`, `match_refusals` and `consent_status`; owns no table.

use crate::{db, Store, StoreError};
use duckdb::params;

/// See [`Store::explain_lead`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct LeadExplanation {
    pub lead: serde_json::Value,
    pub members: Vec<serde_json::Value>,
    pub links: Vec<serde_json::Value>,
    /// Confident pairs involving the lead's records that a constraint refused to merge.
    pub refusals: Vec<serde_json::Value>,
    /// Current consent per channel and purpose (none listed: no consent history).
    pub consent: Vec<serde_json::Value>,
    /// Call results for the lead's numbers, oldest first, with the operator's words, the
    /// callback asked for and the note.
    pub calls: Vec<serde_json::Value>,
    /// Reviewers' decisions naming the lead's records, oldest first, each with its
    /// standing (in force, or superseded by which newer ones).
    pub decisions: Vec<serde_json::Value>,
}

impl Store {
    /// Everything a reviewer needs to see why a lead is what it is: the golden record, its
    /// member records with their sources, and the pairwise evidence of every merge. With
    /// `warmth_as_of`, the lead's warmth is read as of that time (recency decayed).
    pub fn explain_lead(
        &self,
        lead_id: i64,
        warmth_as_of: Option<super::Scoring>,
    ) -> Result<Option<LeadExplanation>, StoreError> {
        let lead_sql = match warmth_as_of {
            Some((settings, as_of)) => {
                let (recency, score, tier) = settings.read_sql("l", as_of);
                format!(
                    "SELECT to_json(w)::VARCHAR FROM (
                         SELECT * REPLACE (({score})::INTEGER AS warmth_score,
                                           ({tier})::VARCHAR AS warmth_tier,
                                           ({recency})::INTEGER AS warmth_recency)
                         FROM leads l WHERE lead_id = ?) w"
                )
            }
            None => "SELECT to_json(l)::VARCHAR FROM leads l WHERE lead_id = ?".to_string(),
        };
        let lead = self.json_rows(&lead_sql, lead_id)?;
        let Some(lead) = lead.into_iter().next() else {
            return Ok(None);
        };
        let members = self.json_rows(
            "SELECT to_json({'record_id': record_id, 'source': source, 'source_row': source_row,
                             'origin': origin, 'full_name': full_name, 'phone_e164': phone_e164,
                             'email': email, 'city': city, 'company': company})::VARCHAR
             FROM records WHERE lead_id = ? ORDER BY record_id",
            lead_id,
        )?;
        // A base last written by an older version and opened read-only (the review page)
        // has neither the company / ИНН evidence nor the refusals table.
        let current = self.table_exists("match_refusals")?;
        let decided = self.table_exists("match_decisions")?;
        let links = self.links_json(lead_id, current, decided)?;
        let refusals = if current {
            self.refusals_json(lead_id)?
        } else {
            Vec::new()
        };
        let consent = self.json_rows(
            "SELECT to_json({'channel': channel, 'purpose': purpose, 'status': status,
                             'since': since, 'expires_at': expires_at, 'basis': basis})::VARCHAR
             FROM consent_status WHERE lead_id = ? ORDER BY channel, purpose",
            lead_id,
        )?;
        let calls = self.calls_json(lead_id)?;
        let decisions = if decided {
            self.decisions_json(lead_id)?
        } else {
            Vec::new()
        };
        Ok(Some(LeadExplanation {
            decisions,
            lead,
            members,
            links,
            refusals,
            consent,
            calls,
        }))
    }

    /// The call results for the lead's numbers (none from a base without call notes yet).
    fn calls_json(&self, lead_id: i64) -> Result<Vec<serde_json::Value>, StoreError> {
        let has_notes: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM duckdb_columns()
                 WHERE table_name = 'engagements' AND column_name = 'note'",
                [],
                |r| r.get(0),
            )
            .map_err(db("explaining a lead"))?;
        if has_notes == 0 {
            return Ok(Vec::new());
        }
        self.json_rows(
            "SELECT to_json({'occurred_at': occurred_at, 'phone_e164': phone_e164,
                             'outcome': outcome, 'words': outcome_text,
                             'callback_at': callback_at, 'note': note,
                             'source': source, 'source_row': source_row})::VARCHAR
             FROM engagements
             WHERE kind = 'call'
               AND phone_e164 IN (SELECT unnest(phones) FROM leads WHERE lead_id = ?)
             ORDER BY occurred_at, engagement_id",
            lead_id,
        )
    }

    /// The pairwise evidence of the lead's merges, per field; `current`: the base has the
    /// company and ИНН columns.
    fn links_json(
        &self,
        lead_id: i64,
        current: bool,
        decided: bool,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let decision = if decided { "decision_id" } else { "NULL" };
        let new_fields = if current {
            ",\n{'field': 'company', 'level': company_level, 'weight': company_weight},
              {'field': 'inn', 'level': inn_level, 'weight': inn_weight}"
        } else {
            ""
        };
        self.json_rows(
            &"SELECT to_json({'run_id': run_id, 'record_a': record_a, 'record_b': record_b,
                             'probability': probability, 'match_weight': match_weight,
                             'decision_id': DECISION,
                             'fields': [
                                {'field': 'name', 'level': name_level, 'weight': name_weight},
                                {'field': 'middle_name', 'level': middle_name_level, 'weight': middle_name_weight},
                                {'field': 'phone', 'level': phone_level, 'weight': phone_weight},
                                {'field': 'email', 'level': email_level, 'weight': email_weight},
                                {'field': 'city', 'level': city_level, 'weight': city_weight}NEW_FIELDS]})::VARCHAR
             FROM lead_links WHERE lead_id = ? ORDER BY run_id, probability DESC, record_a, record_b"
                .replace("NEW_FIELDS", new_fields)
                .replace("DECISION", decision),
            lead_id,
        )
    }

    /// Merges refused for this lead's records: what kept another record out. Each refusal
    /// once, from this lead's side, unless both records are in it now.
    fn refusals_json(&self, lead_id: i64) -> Result<Vec<serde_json::Value>, StoreError> {
        self.json_rows(
            "SELECT DISTINCT to_json({'run_id': f.run_id, 'record_a': f.record_a, 'record_b': f.record_b,
                             'probability': f.probability, 'constraint': f.\"constraint\",
                             'conflict_a': f.conflict_a, 'conflict_b': f.conflict_b,
                             'other_lead': (SELECT o.lead_id FROM records o
                                            WHERE o.record_id = CASE WHEN m.record_id = f.record_a
                                                                     THEN f.record_b ELSE f.record_a END)})::VARCHAR
             FROM match_refusals f JOIN records m
               ON m.record_id IN (f.record_a, f.record_b) AND m.lead_id = ?
             WHERE NOT EXISTS (SELECT 1 FROM records o
                               WHERE o.record_id IN (f.record_a, f.record_b)
                                 AND o.record_id <> m.record_id AND o.lead_id = m.lead_id)
             ORDER BY 1",
            lead_id,
        )
    }

    /// The decisions naming the lead's records, with their standing among all decisions.
    fn decisions_json(&self, lead_id: i64) -> Result<Vec<serde_json::Value>, StoreError> {
        let all = self.decisions(None)?;
        if all.is_empty() {
            return Ok(Vec::new());
        }
        let records = self.lead_record_ids(lead_id)?;
        let resolved = self.resolve(&all)?;
        Ok(all
            .iter()
            .filter(|d| {
                d.records_a
                    .iter()
                    .chain(&d.records_b)
                    .any(|r| records.contains(r))
            })
            .map(|d| {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                v["standing"] =
                    serde_json::to_value(resolved.standing.get(&d.decision_id)).unwrap_or_default();
                v
            })
            .collect())
    }

    /// The JSON text each row of `sql` (taking the lead id) yields, parsed.
    fn json_rows(&self, sql: &str, lead_id: i64) -> Result<Vec<serde_json::Value>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(db("explaining a lead"))?;
        let rows = stmt
            .query_map(params![lead_id], |r| r.get::<_, String>(0))
            .map_err(db("explaining a lead"))?;
        rows.map(|r| {
            r.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
                .map_err(db("explaining a lead"))
        })
        .collect()
    }
}
