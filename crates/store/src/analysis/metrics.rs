//! The figures `leadpipe analyse` reads with one query each: totals, the RFM grid,
//! freshness, leads and spend per source. What is counted over every purchase day (per
//! period, cohorts, per source over the last year) is `leadpipe_core::analysis::purchases`
//! over the days [`Store::purchases`] reads.

use crate::{db, Store, StoreError};
use chrono::NaiveDate;
use duckdb::params;
use serde::Serialize;

pub use leadpipe_core::analysis::purchases::{Cohort, Period, PeriodFigures};

/// One source's leads: how many, and how many may be called now.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLeads {
    pub source: String,
    pub leads: u64,
    /// Leads with advertising call consent now.
    pub callable: u64,
}

/// One cell of the RFM grid (recency × the rounded-up mean of frequency and monetary).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RfmCell {
    pub r: u8,
    pub fm: u8,
    pub segment: String,
    pub customers: u64,
    pub revenue: f64,
}

/// How stale the base is.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Freshness {
    pub leads: u64,
    /// Leads with no sign of life (seen in a source, an engagement, a purchase) for 6 and
    /// 12 months.
    pub untouched_6_months: u64,
    pub untouched_12_months: u64,
    /// Rows of lead files refused (no usable contact, unreadable) of all rows read.
    pub invalid_rows: u64,
    pub rows_read: u64,
    /// Records that turned out to repeat a lead (records − leads) of all records.
    pub duplicate_records: u64,
    pub records: u64,
    /// Leads that asked not to be called (consent withdrawn) or whose number is suppressed.
    pub suppressed: u64,
}

/// Whole-base totals.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub customers: u64,
    pub customers_who_are_leads: u64,
    pub orders: u64,
    pub revenue: f64,
    /// Customers with purchases on two days or more.
    pub repeat_customers: u64,
    /// Share of revenue from the top 20 % of customers by revenue, in %.
    pub top_20_percent_revenue_share: Option<f64>,
    pub deals_lost: u64,
    pub deals_refunded: u64,
    pub deals_open: u64,
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

impl Store {
    /// Leads per first source.
    pub fn leads_by_source(&self) -> Result<Vec<SourceLeads>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT coalesce(sources[1], 'unknown'), count(*),
                        count(*) FILTER (WHERE call_consent = 'granted')
                 FROM leads GROUP BY 1",
            )
            .map_err(db("leads per source"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SourceLeads {
                    source: r.get(0)?,
                    leads: u(r.get(1)?),
                    callable: u(r.get(2)?),
                })
            })
            .map_err(db("leads per source"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(db("leads per source"))
    }

    /// Spend per source in `currency`, for periods starting on or before `until`.
    pub fn spend_by_source(
        &self,
        currency: &str,
        until: NaiveDate,
    ) -> Result<Vec<(String, f64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT source, sum(amount) FROM spend
                 WHERE currency = ? AND period_start <= ? GROUP BY 1",
            )
            .map_err(db("spend per source"))?;
        let rows = stmt
            .query_map(params![currency, until], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db("spend per source"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(db("spend per source"))
    }

    /// The RFM grid of `customer_rfm`.
    pub fn rfm_grid(&self) -> Result<Vec<RfmCell>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.rfm_r, ((r.rfm_f + r.rfm_m + 1) // 2) AS fm, any_value(r.rfm_segment),
                        count(*), sum(c.revenue)
                 FROM customer_rfm r JOIN customers c USING (customer_key)
                 GROUP BY 1, 2 ORDER BY 1 DESC, 2 DESC",
            )
            .map_err(db("the RFM grid"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RfmCell {
                    r: r.get::<_, i32>(0)? as u8,
                    fm: r.get::<_, i64>(1)? as u8,
                    segment: r.get(2)?,
                    customers: u(r.get(3)?),
                    revenue: r.get(4)?,
                })
            })
            .map_err(db("the RFM grid"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(db("the RFM grid"))
    }

    /// Whole-base totals, with the Pareto share.
    pub fn analysis_totals(&self, currency: &str, until: NaiveDate) -> Result<Totals, StoreError> {
        self.conn
            .query_row(
                "WITH ranked AS (
                     SELECT revenue, row_number() OVER (ORDER BY revenue DESC) AS rn,
                            count(*) OVER () AS n FROM customers),
                 statuses AS (
                     SELECT count(*) FILTER (WHERE status = 'lost') AS lost,
                            count(*) FILTER (WHERE status = 'refunded') AS refunded,
                            count(*) FILTER (WHERE status = 'open') AS open
                     FROM deals_current WHERE currency = ? AND deal_date <= ?)
                 SELECT (SELECT count(*) FROM customers), (SELECT count(lead_id) FROM customers),
                        (SELECT coalesce(sum(orders), 0) FROM customers),
                        (SELECT coalesce(sum(revenue), 0) FROM customers),
                        (SELECT count(*) FROM customers WHERE purchase_days >= 2),
                        (SELECT sum(revenue) FILTER (WHERE rn <= ceil(n * 0.2)) / nullif(sum(revenue), 0) * 100 FROM ranked),
                        lost, refunded, open
                 FROM statuses",
                params![currency, until],
                |r| {
                    Ok(Totals {
                        customers: u(r.get(0)?),
                        customers_who_are_leads: u(r.get(1)?),
                        orders: u(r.get(2)?),
                        revenue: r.get(3)?,
                        repeat_customers: u(r.get(4)?),
                        top_20_percent_revenue_share: r.get(5)?,
                        deals_lost: u(r.get(6)?),
                        deals_refunded: u(r.get(7)?),
                        deals_open: u(r.get(8)?),
                    })
                },
            )
            .map_err(db("totals"))
    }

    /// How stale the base is as of `until`.
    pub fn freshness(&self, until: NaiveDate) -> Result<Freshness, StoreError> {
        self.conn
            .query_row(
                "WITH touch AS (
                     -- Via TIMESTAMP (UTC): a TIMESTAMPTZ casts to a day only with the ICU extension.
                     SELECT l.lead_id,
                            greatest(l.last_seen_at::TIMESTAMP::DATE, l.warmth_last_touch_at::TIMESTAMP::DATE,
                                     c.last_purchase) AS touched,
                            l.call_consent, l.phone_e164
                     FROM leads l LEFT JOIN customers c ON c.lead_id = l.lead_id)
                 SELECT count(*),
                        count(*) FILTER (WHERE touched IS NULL OR touched < ?::DATE - INTERVAL 6 MONTH),
                        count(*) FILTER (WHERE touched IS NULL OR touched < ?::DATE - INTERVAL 12 MONTH),
                        (SELECT count(*) FROM rejects), (SELECT count(*) FROM raw_records),
                        (SELECT count(*) FROM records WHERE lead_id IS NOT NULL),
                        count(*) FILTER (WHERE call_consent = 'withdrawn'
                            OR phone_e164 IN (SELECT value FROM suppressions WHERE kind = 'phone' AND value IS NOT NULL))
                 FROM touch",
                params![until, until],
                |r| {
                    let leads = u(r.get(0)?);
                    let records = u(r.get(5)?);
                    Ok(Freshness {
                        leads,
                        untouched_6_months: u(r.get(1)?),
                        untouched_12_months: u(r.get(2)?),
                        invalid_rows: u(r.get(3)?),
                        rows_read: u(r.get(4)?),
                        duplicate_records: records.saturating_sub(leads),
                        records,
                        suppressed: u(r.get(6)?),
                    })
                },
            )
            .map_err(db("freshness"))
    }
}
