//! The segment stage's tables: who owns each deal (`deal_owners`: a lead, or a customer
//! known only to the CRM), each customer's purchases (`customers`), their RFM scores and
//! life-cycle stage (`customer_rfm`), and the views readers use: `lead_profile` (a lead
//! with its customer figures and warmth as of the moment it is read) and `lead_segments`
//! (one row per lead or customer and dimension).

use crate::landing::{batch, text_column};
use crate::{db, Store, StoreError};
use chrono::NaiveDate;
use duckdb::arrow::array::{ArrayRef, Int32Builder};
use duckdb::params;
use leadpipe_core::analysis::rfm::{self, RfmInput};
use leadpipe_core::analysis::segments::{SegmentSettings, FEDERAL_DISTRICTS};
use leadpipe_core::warmth::WarmthSettings;
use serde::Serialize;
use std::sync::Arc;

pub(crate) const SEGMENT_TABLES: &str = r#"-- Who each deal is of: its lead (given, or found by phone or e-mail, or through another
-- deal of the same CRM customer) and the customer key the analysis counts by.
-- customer_id: the lead's id, or (a customer who is no lead) minus a 63-bit hash of their
-- customer key: numbers, so millions of deals group fast.
CREATE TABLE IF NOT EXISTS deal_owners (
    deal_id BIGINT NOT NULL,
    lead_id BIGINT,
    customer_id BIGINT NOT NULL
);
-- Won deals in the analysis currency up to the stage's day, per customer. customer_key:
-- lead:ID, or crm:REF, phone:+7…, email:… for customers who are no lead.
CREATE TABLE IF NOT EXISTS customers (
    customer_id BIGINT NOT NULL,
    customer_key VARCHAR NOT NULL,
    lead_id BIGINT,
    first_purchase DATE,
    last_purchase DATE,
    orders BIGINT,
    purchase_days BIGINT,
    revenue DOUBLE,
    first_channel VARCHAR
);
CREATE TABLE IF NOT EXISTS customer_rfm (
    customer_key VARCHAR NOT NULL,
    rfm_r INTEGER,
    rfm_f INTEGER,
    rfm_m INTEGER,
    rfm_segment VARCHAR,
    life_cycle VARCHAR
);
"#;

/// What the segment stage did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SegmentStats {
    pub as_of: String,
    /// The currency customers were counted in (none: no won deals).
    pub currency: Option<String>,
    pub deals: u64,
    pub deals_linked_to_leads: u64,
    pub customers: u64,
    pub customers_who_are_leads: u64,
    /// Won deals in other currencies, left out of the figures.
    pub deals_in_other_currencies: u64,
    pub custom_segments: u64,
}

/// `CASE WHEN region_code IN (…) THEN district … END`.
fn federal_district_sql(column: &str) -> String {
    let mut sql = String::from("CASE");
    for (district, codes) in FEDERAL_DISTRICTS {
        let list: Vec<String> = codes.iter().map(|c| format!("'{c}'")).collect();
        sql.push_str(&format!(
            " WHEN {column} IN ({}) THEN '{district}'",
            list.join(", ")
        ));
    }
    sql + " END"
}

/// The key of a customer who is no lead, from their deal `d`: the CRM's customer id first,
/// then a lead id the base does not know, the phone, the e-mail.
const NON_LEAD_KEY: &str = "CASE WHEN d.customer_ref IS NOT NULL THEN 'crm:' || d.customer_ref
     WHEN d.given_lead_id IS NOT NULL THEN 'lead:' || d.given_lead_id
     WHEN d.phone_e164 IS NOT NULL THEN 'phone:' || d.phone_e164
     ELSE 'email:' || d.email END";

impl Store {
    /// The segment stage as of `as_of`: links deals to leads, sums each customer's won
    /// deals, scores RFM and life cycle, and (re)creates the `lead_profile` and
    /// `lead_segments` views with the user's segments.
    pub fn segment(
        &self,
        settings: &SegmentSettings,
        warmth: &WarmthSettings,
        as_of: NaiveDate,
    ) -> Result<SegmentStats, StoreError> {
        let mut stats = SegmentStats {
            as_of: as_of.to_string(),
            ..SegmentStats::default()
        };
        // Without deals there are no customers: the stage costs a base of leads nothing
        // but the views.
        let has_deals: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM deals)", [], |r| r.get(0))
            .map_err(db("looking for deals"))?;
        let clock = std::time::Instant::now();
        let lap = |what: &str| {
            tracing::debug!(ms = clock.elapsed().as_millis() as u64, "segment: {what}")
        };
        let currency = match &settings.currency {
            Some(c) => Some(c.clone()),
            None if has_deals => self.main_currency()?,
            None => None,
        };
        stats.currency = currency.clone();
        if has_deals {
            self.link_deals(currency.as_deref().unwrap_or(""), as_of)?;
        } else {
            self.conn
                .execute_batch(
                    "CREATE OR REPLACE TEMP TABLE deal_links (
                         deal_id BIGINT, lead_id BIGINT, customer_id BIGINT, deal_date DATE,
                         amount DOUBLE, won BOOLEAN, in_currency BOOLEAN, counted BOOLEAN)",
                )
                .map_err(db("linking deals to leads"))?;
        }
        self.own_deals()?;
        lap("deals linked");
        self.sum_customers()?;
        lap("customers summed");
        self.score_customers(settings, as_of)?;
        lap("customers scored");
        self.create_segment_views(settings, warmth)?;
        self.count_segment_stats(&mut stats)?;
        lap("counted");
        stats.custom_segments = settings.custom.len() as u64;
        Ok(stats)
    }

    /// Finds each current deal's owner: the temporary `deal_links` (every current deal
    /// with its owner and whether it counts: won, in `currency`, on or before `as_of`).
    fn link_deals(&self, currency: &str, as_of: NaiveDate) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "CREATE OR REPLACE TEMP TABLE merged_into AS
                 WITH RECURSIVE chain(from_lead, into_lead, hops) AS (
                     SELECT from_lead, into_lead, 1 FROM lead_merges
                     UNION ALL
                     SELECT c.from_lead, m.into_lead, c.hops + 1
                     FROM chain c JOIN lead_merges m ON m.from_lead = c.into_lead
                     WHERE c.hops < 64)
                 SELECT from_lead, arg_max(into_lead, hops) AS into_lead FROM chain GROUP BY from_lead;",
            )
            .map_err(db("linking deals to leads"))?;
        // Every lead's contacts are hashed whole: a semi-join against the deals' contacts
        // first would read the 5M deals once more to save hashing a few hundred thousand.
        self.conn
            .execute(
                &format!(
                    "CREATE OR REPLACE TEMP TABLE deal_links AS
                 WITH by_phone AS (
                     SELECT p AS phone_e164, min(lead_id) AS lead_id
                     FROM (SELECT lead_id, unnest(phones) AS p FROM leads) GROUP BY p),
                 by_email AS (
                     SELECT e AS email, min(lead_id) AS lead_id
                     FROM (SELECT lead_id, unnest(emails) AS e FROM leads) GROUP BY e),
                 direct AS (
                     SELECT d.deal_id, d.customer_ref, d.phone_e164, d.email, d.given_lead_id,
                            d.deal_date, d.amount, d.status = 'won' AS won,
                            d.currency = ? AS in_currency,
                            coalesce(given.lead_id, bp.lead_id, be.lead_id) AS lead_id
                     FROM deals_current d
                     LEFT JOIN merged_into mi ON mi.from_lead = d.given_lead_id
                     LEFT JOIN leads given ON given.lead_id = coalesce(mi.into_lead, d.given_lead_id)
                     LEFT JOIN by_phone bp ON bp.phone_e164 = d.phone_e164
                     LEFT JOIN by_email be ON be.email = d.email),
                 by_ref AS (
                     SELECT customer_ref, mode(lead_id) AS lead_id FROM direct
                     WHERE customer_ref IS NOT NULL AND lead_id IS NOT NULL
                     GROUP BY customer_ref)
                 SELECT x.deal_id, coalesce(x.lead_id, r.lead_id) AS lead_id,
                        coalesce(x.lead_id, r.lead_id, -1 - (hash({key}) >> 1)::BIGINT) AS customer_id,
                        x.deal_date, x.amount, x.won, x.in_currency,
                        x.won AND x.in_currency AND x.deal_date <= ? AS counted
                 FROM direct x LEFT JOIN by_ref r USING (customer_ref)",
                    key = NON_LEAD_KEY.replace("d.", "x.")
                ),
                params![currency, as_of],
            )
            .map_err(db("linking deals to leads"))?;
        Ok(())
    }

    /// `deal_owners` and `purchase_days` from `deal_links`.
    fn own_deals(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "DELETE FROM deal_owners;
                 INSERT INTO deal_owners SELECT deal_id, lead_id, customer_id FROM deal_links;
                 -- Per customer and day: what the customer figures and the analysis count.
                 CREATE OR REPLACE TEMP TABLE purchase_days AS
                 SELECT customer_id AS cid, deal_date AS day, count(*) AS orders,
                        sum(amount) AS amount, min(deal_id) AS first_deal
                 FROM deal_links WHERE counted GROUP BY customer_id, deal_date;",
            )
            .map_err(db("linking deals to leads"))
    }

    /// The currency most won deals are in.
    fn main_currency(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT mode(currency) FROM deals_current WHERE status = 'won'",
                [],
                |r| r.get(0),
            )
            .map_err(db("finding the deals' currency"))
    }

    fn sum_customers(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(&format!(
                "DELETE FROM customers;
                 INSERT INTO customers
                 WITH per AS (
                     -- A customer who is a lead is numbered by the lead's id (see deal_owners).
                     SELECT cid, CASE WHEN cid >= 0 THEN cid END AS lead_id, min(day) AS first,
                            max(day) AS last, sum(orders) AS orders, count(*) AS days,
                            sum(amount) AS revenue, arg_min(first_deal, day) AS first_deal
                     FROM purchase_days GROUP BY cid)
                 SELECT p.cid,
                        CASE WHEN p.lead_id IS NOT NULL THEN 'lead:' || p.lead_id ELSE {key} END,
                        p.lead_id, p.first, p.last, p.orders, p.days, p.revenue, d.channel
                 FROM per p JOIN deals d ON d.deal_id = p.first_deal",
                key = NON_LEAD_KEY
            ))
            .map_err(db("summing customers"))
    }

    /// RFM quintiles and life cycle of every customer, computed in `leadpipe_core` (the
    /// same code the pandas comparison checks), landed in `customer_rfm`.
    fn score_customers(
        &self,
        settings: &SegmentSettings,
        as_of: NaiveDate,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT customer_key, ? - last_purchase, orders, purchase_days, revenue
                 FROM customers ORDER BY customer_key",
            )
            .map_err(db("reading customers"))?;
        let rows = stmt
            .query_map(params![as_of], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, f64>(4)?,
                ))
            })
            .map_err(db("reading customers"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db("reading customers"))?;
        self.conn
            .execute("DELETE FROM customer_rfm", [])
            .map_err(db("scoring customers"))?;
        if rows.is_empty() {
            return Ok(());
        }
        let inputs: Vec<RfmInput> = rows
            .iter()
            .map(|(_, since, orders, _, revenue)| RfmInput {
                recency_days: *since as f64,
                frequency: *orders as f64,
                monetary: *revenue,
            })
            .collect();
        let scores = rfm::score(&inputs);
        let n = rows.len();
        let (mut r, mut f, mut m) = (
            Int32Builder::with_capacity(n),
            Int32Builder::with_capacity(n),
            Int32Builder::with_capacity(n),
        );
        for s in &scores {
            r.append_value(i32::from(s.r));
            f.append_value(i32::from(s.f));
            m.append_value(i32::from(s.m));
        }
        let stages: Vec<&str> = rows
            .iter()
            .map(|(_, since, _, days, _)| settings.life_cycle(*days as u64, *since).as_str())
            .collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("customer_key", text_column(&rows, |c| Some(c.0.as_str()))),
            ("rfm_r", Arc::new(r.finish())),
            ("rfm_f", Arc::new(f.finish())),
            ("rfm_m", Arc::new(m.finish())),
            (
                "rfm_segment",
                text_column(&scores, |s| Some(s.segment.name())),
            ),
            ("life_cycle", text_column(&stages, |s| Some(*s))),
        ];
        self.land_in_parallel("customer_rfm", vec![batch("customer_rfm", cols)?])
    }

    fn create_segment_views(
        &self,
        settings: &SegmentSettings,
        warmth: &WarmthSettings,
    ) -> Result<(), StoreError> {
        let (_, score, tier) = warmth.read_sql_at("l", "current_timestamp");
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE VIEW lead_profile AS
                 SELECT l.*, coalesce(r.life_cycle, 'lead') AS life_cycle, r.rfm_segment,
                        r.rfm_r, r.rfm_f, r.rfm_m, c.customer_key, c.orders, c.revenue,
                        c.first_purchase, c.last_purchase,
                        {score} AS warmth_now, {tier} AS warmth_tier_now,
                        {district} AS federal_district
                 FROM leads l
                 LEFT JOIN customers c ON c.lead_id = l.lead_id
                 LEFT JOIN customer_rfm r ON r.customer_key = c.customer_key;",
                district = federal_district_sql("l.region_code"),
            ))
            .map_err(db("creating the lead_profile view"))?;
        // Every lead's dimensions from one read of `lead_profile` (its warmth decays as it
        // is read): a list per lead, unnested, rather than a scan per dimension.
        let mut per_lead = vec![
            ("'life_cycle'", "life_cycle".to_string()),
            ("'warmth'", "warmth_tier_now".into()),
            ("'region'", "coalesce(region_name, region)".into()),
            ("'federal_district'", "federal_district".into()),
            ("'timezone'", "timezone".into()),
            ("'gender'", "gender".into()),
            (
                "'engagement'",
                "CASE WHEN coalesce(warmth_engagement, 0) > 0 THEN 'engaged' ELSE 'not_engaged' END".into(),
            ),
        ];
        for c in &settings.custom {
            let name = c.name.trim().replace('\'', "''");
            let segment = format!("CASE WHEN ({}) THEN '{name}' END", c.predicate);
            // Checked alone first, in the form the view uses, so a mistake names its
            // segment.
            self.conn
                .prepare(&format!(
                    "SELECT unnest([{{'dimension': 'custom', 'segment': {segment}}}]) FROM lead_profile"
                ))
                .map_err(|e| {
                    StoreError::Invalid(format!(
                        "segments.custom {:?}: its where does not read as SQL over leads: {e}",
                        c.name
                    ))
                })?;
            per_lead.push(("'custom'", segment));
        }
        let list: Vec<String> = per_lead
            .iter()
            .map(|(dimension, segment)| {
                format!("{{'dimension': {dimension}, 'segment': {segment}}}")
            })
            .collect();
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE VIEW lead_segments AS
                 SELECT lead_id, customer_key, struct_extract(s, 'dimension') AS dimension,
                        struct_extract(s, 'segment') AS segment
                 FROM (SELECT lead_id, customer_key, unnest([{}]) AS s FROM lead_profile)
                 WHERE struct_extract(s, 'segment') IS NOT NULL
                 UNION ALL
                 SELECT NULL::BIGINT, c.customer_key, 'life_cycle', r.life_cycle
                 FROM customers c JOIN customer_rfm r USING (customer_key) WHERE c.lead_id IS NULL
                 UNION ALL
                 SELECT c.lead_id, c.customer_key, 'rfm', r.rfm_segment
                 FROM customers c JOIN customer_rfm r USING (customer_key)",
                list.join(",\n                        ")
            ))
            .map_err(db("creating the lead_segments view"))
    }

    fn count_segment_stats(&self, stats: &mut SegmentStats) -> Result<(), StoreError> {
        let (deals, linked, other): (i64, i64, i64) = self
            .conn
            .query_row(
                "SELECT count(*), count(lead_id), count(*) FILTER (WHERE won AND NOT in_currency)
                 FROM deal_links",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(db("counting deals"))?;
        let (customers, leads): (i64, i64) = self
            .conn
            .query_row("SELECT count(*), count(lead_id) FROM customers", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(db("counting customers"))?;
        stats.deals = deals as u64;
        stats.deals_linked_to_leads = linked as u64;
        stats.deals_in_other_currencies = other as u64;
        stats.customers = customers as u64;
        stats.customers_who_are_leads = leads as u64;
        Ok(())
    }
}

impl Store {
    /// The leads in any of the segments `names` (`At Risk`, `sleeping`, `rfm:Lost`, a
    /// custom segment), matched without regard to case. An unknown name is an error
    /// listing the segments there are.
    pub fn leads_in_segments(
        &self,
        names: &[String],
    ) -> Result<std::collections::HashSet<i64>, StoreError> {
        if !self.view_exists("lead_segments")? {
            return Err(StoreError::Invalid(
                "--segment: this base has no segments yet; run a pipeline (the segment stage) or `leadpipe analyse` first".into(),
            ));
        }
        let mut leads = std::collections::HashSet::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT lead_id FROM lead_segments
                 WHERE lower(segment) = ? OR lower(dimension || ':' || segment) = ?",
            )
            .map_err(db("reading a segment"))?;
        for name in names {
            let wanted = name.trim().to_lowercase();
            let members = stmt
                .query_map(params![wanted, wanted], |r| r.get::<_, Option<i64>>(0))
                .map_err(db("reading a segment"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db("reading a segment"))?;
            // No row at all: no such segment (one of customers who are no leads has rows).
            if members.is_empty() {
                let listed: Vec<String> = self
                    .segment_sizes()?
                    .iter()
                    .map(|s| format!("{}:{}", s.dimension, s.segment))
                    .collect();
                return Err(StoreError::Invalid(format!(
                    "--segment {name:?}: no such segment; there are {}",
                    listed.join(", ")
                )));
            }
            leads.extend(members.into_iter().flatten());
        }
        Ok(leads)
    }

    /// Every segment with its size (leads, and customers who are not leads).
    pub fn segment_sizes(&self) -> Result<Vec<SegmentSize>, StoreError> {
        if !self.view_exists("lead_segments")? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT dimension, segment, count(lead_id), count(*) - count(lead_id)
                 FROM lead_segments GROUP BY dimension, segment
                 ORDER BY CASE dimension WHEN 'life_cycle' THEN 1 WHEN 'rfm' THEN 2
                          WHEN 'warmth' THEN 3 WHEN 'engagement' THEN 4 WHEN 'custom' THEN 5
                          ELSE 6 END, dimension, count(*) DESC, segment",
            )
            .map_err(db("listing segments"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SegmentSize {
                    dimension: r.get(0)?,
                    segment: r.get(1)?,
                    leads: r.get::<_, i64>(2)? as u64,
                    customers_not_leads: r.get::<_, i64>(3)? as u64,
                })
            })
            .map_err(db("listing segments"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(db("listing segments"))
    }
}

/// One segment and how many are in it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SegmentSize {
    pub dimension: String,
    pub segment: String,
    pub leads: u64,
    /// Customers in it who are not (yet) leads (life cycle and RFM only).
    pub customers_not_leads: u64,
}
