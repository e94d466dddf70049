//! What the call gate, call lists and reports read: each lead's applicable events with its
//! numbers and addresses (`consents`, `records`, `leads`), and the lead cards a call list
//! or report shows. Owns no table.

use super::events::{event_from_batch, EVENT_COLUMNS};
use super::lead_events_sql;
use crate::db;
use crate::landing::BatchCols;
use crate::{split_list, Store, StoreError};
use duckdb::params;
use leadpipe_core::consent::gate::GateLead;
use leadpipe_core::consent::{Channel, Purpose};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What a call list or report shows about a lead besides its numbers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LeadCard {
    pub full_name: Option<String>,
    pub company: Option<String>,
    /// The city as people know it: the gazetteer's name, else as written.
    pub city: Option<String>,
    /// The city as the lead's records wrote it (`leads.city`).
    pub city_written: Option<String>,
    pub subject_type: Option<String>,
    pub origins: Option<String>,
    pub sources: Option<String>,
    /// The region as people know it: the gazetteer's name, else as written, else its code.
    pub region: Option<String>,
    /// The region as the lead's records wrote it (`leads.region`).
    pub region_written: Option<String>,
    /// ISO 3166-2 code (`RU-MOW`), from enrichment.
    pub region_code: Option<String>,
    pub timezone: Option<String>,
    pub utc_offset_minutes: Option<i64>,
    pub warmth_score: Option<i64>,
    pub warmth_tier: Option<String>,
    pub warmth: leadpipe_core::warmth::WarmthPoints,
    /// A callback the person asked for and no later call result has closed (see
    /// `engagements`): not to be called before it.
    pub callback_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Store {
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

    /// The leads with events that apply (or just `only`, with or without), each with
    /// those events (in `scope` only, if given) and its numbers and addresses.
    fn read_gate_leads(
        &self,
        only: Option<i64>,
        scope: Option<(Channel, Purpose)>,
    ) -> Result<Vec<GateLead>, StoreError> {
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE gate_events AS {}",
                lead_events_sql(true, only.map(|id| format!("= {id}")).as_deref(), scope)
            ))
            .map_err(db("reading consent events"))?;
        let mut by_lead = self.gate_events_by_lead()?;
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
                slot.insert(self.lead_without_events(id));
            }
        }
        Ok(by_lead.into_values().collect())
    }

    /// The events in the temporary table `gate_events`, by lead, in consent id order.
    fn gate_events_by_lead(&self) -> Result<BTreeMap<i64, GateLead>, StoreError> {
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
        Ok(by_lead)
    }

    /// A lead with its contacts and no events (none if it is not there).
    fn lead_without_events(&self, id: i64) -> GateLead {
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
        GateLead {
            lead_id: id,
            phones: split_list(p.as_deref()),
            emails: split_list(e.as_deref()),
            events: Vec::new(),
        }
    }

    /// Name, company, city and subject type of the given leads, and their warmth: with
    /// `warmth_as_of`, recency decayed to that time from the points stored when each lead
    /// was last scored (untouched leads are not scored again every day); otherwise as
    /// stored.
    pub fn lead_cards(
        &self,
        ids: &[i64],
        warmth_as_of: Option<crate::dedupe::Scoring>,
    ) -> Result<HashMap<i64, LeadCard>, StoreError> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut uniq = ids.to_vec();
        uniq.sort_unstable();
        uniq.dedup();
        self.temp_ids("card_ids", "lead_id", uniq.into_iter())?;
        self.conn
            .execute_batch(&crate::warmth::pending_callbacks_sql("card_ids"))
            .map_err(db("reading callbacks"))?;
        let batches = self.read_arrow(&card_sql(warmth_as_of), [], "reading leads")?;
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
                        city_written: c.string(19, i),
                        subject_type: c.string(4, i),
                        origins: c.string(5, i),
                        sources: c.string(6, i),
                        region: c.string(7, i),
                        region_written: c.string(20, i),
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
                        callback_at: c.ts(18, i),
                    },
                );
            }
        }
        self.conn
            .execute_batch("DROP TABLE IF EXISTS card_ids; DROP TABLE IF EXISTS pending_callbacks")
            .map_err(db("reading leads"))?;
        Ok(out)
    }
}

/// The lead card query over `card_ids` (see [`Store::lead_cards`]).
fn card_sql(warmth_as_of: Option<crate::dedupe::Scoring>) -> String {
    let (recency, score, tier) = match warmth_as_of {
        Some((settings, as_of)) => settings.read_sql("l", as_of),
        None => (
            "l.warmth_recency".to_string(),
            "l.warmth_score".to_string(),
            "l.warmth_tier".to_string(),
        ),
    };
    format!(
        "SELECT l.lead_id, l.full_name, l.company, coalesce(l.city_canonical, l.city),
                    l.subject_type,
                    array_to_string(l.origins, ', '), array_to_string(l.sources, ', '),
                    coalesce(l.region_name, l.region, l.region_code), l.timezone,
                    l.utc_offset_minutes::BIGINT, ({score})::BIGINT, ({tier})::VARCHAR,
                    l.warmth_origin::BIGINT, ({recency})::BIGINT,
                    l.warmth_frequency::BIGINT, l.warmth_engagement::BIGINT,
                    l.warmth_completeness::BIGINT, l.region_code, cb.callback_at, l.city,
                    l.region
             FROM leads l JOIN card_ids USING (lead_id)
             LEFT JOIN pending_callbacks cb USING (lead_id)"
    )
}
