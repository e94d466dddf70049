//! The figures `leadpipe analyse` reports, each one query over the segment stage's
//! tables (`deal_owners`, `customers`, `customer_rfm`, `customer_value`) and the leads.
//!
//! Definitions (README, "Analysing the base"): a customer is *active* on a day when their
//! last purchase before it is at most `lost_after_days` old; customers at a period's start
//! are those active on its first day, at its end those active on the day after it (so its
//! own purchases count); new customers made their first purchase in it; retention =
//! (end − new) ÷ start × 100 %.

use crate::{db, Store, StoreError};
use chrono::NaiveDate;
use duckdb::params;
use serde::Serialize;

/// Month or quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Month,
    Quarter,
}

impl Period {
    fn sql(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Quarter => "quarter",
        }
    }

    fn label_sql(self, column: &str) -> String {
        match self {
            Period::Month => format!("strftime({column}, '%Y-%m')"),
            Period::Quarter => format!("year({column}) || '-Q' || quarter({column})"),
        }
    }
}

/// One period's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PeriodFigures {
    pub period: String,
    pub start: NaiveDate,
    pub revenue: f64,
    pub orders: u64,
    pub buyers: u64,
    pub new_customers: u64,
    /// Buyers in the period who had bought before it.
    pub repeat_buyers: u64,
    pub customers_at_start: u64,
    pub customers_at_end: u64,
    /// (end − new) ÷ start × 100; none without customers at the start.
    pub retention_rate: Option<f64>,
    /// Revenue ÷ orders.
    pub average_check: Option<f64>,
    /// Repeat buyers ÷ buyers × 100.
    pub repeat_purchase_rate: Option<f64>,
}

/// One source's figures: its leads, the customers it brought and what it cost.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceFigures {
    pub source: String,
    pub leads: u64,
    /// Leads with advertising call consent now.
    pub callable_leads: u64,
    pub customers: u64,
    pub orders: u64,
    pub revenue: f64,
    pub spend: f64,
    /// Mean of the lifetime-value model's expected value per customer (next horizon).
    pub expected_value_per_customer: Option<f64>,
    pub customers_active_a_year_before: u64,
    pub customers_active_now: u64,
    pub new_customers_last_year: u64,
    pub orders_last_year: u64,
    pub revenue_last_year: f64,
    pub buyers_last_year: u64,
}

/// One first-purchase month and how many of its customers bought in each month after.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cohort {
    pub cohort: String,
    pub customers: u64,
    /// Customers buying `i` months after their first purchase month (0: the month itself).
    pub buying: Vec<u64>,
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
    /// The customers' won deals (in the analysis currency, up to `until`) as
    /// `analysis_days`: one row per customer (`cid`, `customers.customer_id`) and day with
    /// a purchase, and the activity
    /// spans (`activity`: from the day after a purchase to the next purchase or
    /// `lost_after_days` later) the start and end counts come from.
    pub fn prepare_analysis(
        &self,
        currency: &str,
        until: NaiveDate,
        lost_after_days: u32,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "CREATE OR REPLACE TEMP TABLE analysis_days AS
                 SELECT o.customer_id AS cid, d.deal_date AS day, sum(d.amount) AS amount,
                        count(*) AS orders
                 FROM deals d JOIN deal_owners o USING (deal_id)
                 WHERE d.status = 'won' AND d.currency = ? AND d.deal_date <= ?
                 GROUP BY ALL",
                params![currency, until],
            )
            .map_err(db("preparing the analysis"))?;
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE activity AS
                 SELECT cid, (day + 1)::DATE AS active_from,
                        least(day + {lost_after_days},
                              coalesce(lead(day) OVER (PARTITION BY cid ORDER BY day),
                                       day + {lost_after_days}))::DATE AS active_to
                 FROM analysis_days;"
            ))
            .map_err(db("preparing the analysis"))
    }

    /// Figures per month or quarter from the first purchase to `until`.
    pub fn period_figures(
        &self,
        period: Period,
        until: NaiveDate,
    ) -> Result<Vec<PeriodFigures>, StoreError> {
        let p = period.sql();
        let label = period.label_sql("start");
        let sql = format!(
            "WITH first AS (SELECT cid, min(day) AS first FROM analysis_days GROUP BY 1),
             periods AS (
                 SELECT g::DATE AS start, (g + INTERVAL 1 {p})::DATE AS next
                 FROM (SELECT unnest(generate_series(date_trunc('{p}', min(day)),
                                                     date_trunc('{p}', ?::DATE),
                                                     INTERVAL 1 {p})) AS g
                       FROM analysis_days)),
             -- Per customer and period first, then per period: counting rows of that is a
             -- distinct count without one.
             bought AS (
                 SELECT cid, date_trunc('{p}', day)::DATE AS start, sum(amount) AS revenue,
                        sum(orders) AS orders
                 FROM analysis_days GROUP BY 1, 2),
             sales AS (
                 SELECT b.start, sum(b.revenue) AS revenue, sum(b.orders) AS orders,
                        count(*) AS buyers, count(*) FILTER (WHERE f.first < b.start) AS repeat_buyers
                 FROM bought b JOIN first f USING (cid) GROUP BY 1),
             news AS (SELECT date_trunc('{p}', first)::DATE AS start, count(*) AS n FROM first GROUP BY 1),
             froms AS (SELECT active_from AS d, count(*) AS n FROM activity GROUP BY 1),
             tos AS (SELECT active_to AS d, count(*) AS n FROM activity GROUP BY 1),
             active AS (
                 SELECT t.d,
                        coalesce((SELECT sum(n) FROM froms WHERE froms.d <= t.d), 0)
                        - coalesce((SELECT sum(n) FROM tos WHERE tos.d < t.d), 0) AS n
                 FROM (SELECT start AS d FROM periods UNION SELECT next FROM periods) t)
             SELECT {label}, p.start, coalesce(s.revenue, 0), coalesce(s.orders, 0),
                    coalesce(s.buyers, 0), coalesce(nw.n, 0), coalesce(s.repeat_buyers, 0),
                    coalesce(a0.n, 0), coalesce(a1.n, 0)
             FROM periods p
             LEFT JOIN sales s USING (start)
             LEFT JOIN news nw USING (start)
             LEFT JOIN active a0 ON a0.d = p.start
             LEFT JOIN active a1 ON a1.d = p.next
             ORDER BY p.start"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(db("figures per period"))?;
        let rows = stmt
            .query_map(params![until], |r| {
                let (revenue, orders, buyers): (f64, i64, i64) = (r.get(2)?, r.get(3)?, r.get(4)?);
                let (new, repeat, start_n, end_n): (i64, i64, i64, i64) =
                    (r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?);
                Ok(PeriodFigures {
                    period: r.get(0)?,
                    start: r.get(1)?,
                    revenue,
                    orders: u(orders),
                    buyers: u(buyers),
                    new_customers: u(new),
                    repeat_buyers: u(repeat),
                    customers_at_start: u(start_n),
                    customers_at_end: u(end_n),
                    retention_rate: (start_n > 0)
                        .then(|| (end_n - new) as f64 / start_n as f64 * 100.0),
                    average_check: (orders > 0).then(|| revenue / orders as f64),
                    repeat_purchase_rate: (buyers > 0)
                        .then(|| repeat as f64 / buyers as f64 * 100.0),
                })
            })
            .map_err(db("figures per period"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(db("figures per period"))
    }

    /// Figures per source: a customer's source is the channel of their first deal, else
    /// their lead's first source; spend is matched by that name.
    pub fn source_figures(
        &self,
        currency: &str,
        until: NaiveDate,
    ) -> Result<Vec<SourceFigures>, StoreError> {
        let sql = "WITH cust AS (
                 SELECT c.customer_key, c.customer_id AS cid,
                        coalesce(c.first_channel, l.sources[1], 'unknown') AS source
                 FROM customers c LEFT JOIN leads l ON l.lead_id = c.lead_id),
             year_ago AS (SELECT (?::DATE - INTERVAL 365 DAY)::DATE AS d),
             act AS (
                 SELECT cu.source,
                        -- A customer's spans do not overlap: one covers a day at most.
                        count(*) FILTER (WHERE a.active_from <= (SELECT d FROM year_ago) AND a.active_to >= (SELECT d FROM year_ago)) AS before,
                        count(*) FILTER (WHERE a.active_from <= ?::DATE + 1 AND a.active_to >= ?::DATE + 1) AS now
                 FROM activity a JOIN cust cu USING (cid) GROUP BY 1),
             recent AS (
                 SELECT cu.source, sum(a.orders) AS orders, sum(a.amount) AS revenue,
                        count(DISTINCT a.cid) AS buyers
                 FROM analysis_days a JOIN cust cu USING (cid)
                 WHERE a.day > (SELECT d FROM year_ago) GROUP BY 1),
             news AS (
                 SELECT cu.source, count(*) AS n
                 FROM (SELECT cid, min(day) AS first FROM analysis_days GROUP BY 1) f
                 JOIN cust cu USING (cid)
                 WHERE f.first > (SELECT d FROM year_ago) GROUP BY 1),
             lead_src AS (
                 SELECT coalesce(sources[1], 'unknown') AS source, count(*) AS leads,
                        count(*) FILTER (WHERE call_consent = 'granted') AS callable
                 FROM leads GROUP BY 1),
             cust_src AS (
                 SELECT cu.source, count(*) AS customers, sum(c.orders) AS orders,
                        sum(c.revenue) AS revenue, avg(v.expected_value) AS value
                 FROM customers c JOIN cust cu USING (customer_key)
                 LEFT JOIN customer_value v USING (customer_key) GROUP BY 1),
             spend_src AS (
                 SELECT source, sum(amount) AS spend FROM spend
                 WHERE currency = ? AND period_start <= ? GROUP BY 1),
             names AS (SELECT source FROM lead_src UNION SELECT source FROM cust_src
                       UNION SELECT source FROM spend_src)
             SELECT n.source, coalesce(l.leads, 0), coalesce(l.callable, 0),
                    coalesce(c.customers, 0), coalesce(c.orders, 0), coalesce(c.revenue, 0),
                    coalesce(s.spend, 0), c.value, coalesce(a.before, 0), coalesce(a.now, 0),
                    coalesce(nw.n, 0), coalesce(r.orders, 0), coalesce(r.revenue, 0),
                    coalesce(r.buyers, 0)
             FROM names n
             LEFT JOIN lead_src l USING (source) LEFT JOIN cust_src c USING (source)
             LEFT JOIN spend_src s USING (source) LEFT JOIN act a USING (source)
             LEFT JOIN news nw USING (source) LEFT JOIN recent r USING (source)
             ORDER BY coalesce(c.revenue, 0) DESC, n.source";
        let mut stmt = self.conn.prepare(sql).map_err(db("figures per source"))?;
        let rows = stmt
            .query_map(params![until, until, until, currency, until], |r| {
                Ok(SourceFigures {
                    source: r.get(0)?,
                    leads: u(r.get(1)?),
                    callable_leads: u(r.get(2)?),
                    customers: u(r.get(3)?),
                    orders: u(r.get::<_, Option<i64>>(4)?.unwrap_or(0)),
                    revenue: r.get(5)?,
                    spend: r.get(6)?,
                    expected_value_per_customer: r.get(7)?,
                    customers_active_a_year_before: u(r.get(8)?),
                    customers_active_now: u(r.get(9)?),
                    new_customers_last_year: u(r.get(10)?),
                    orders_last_year: u(r.get::<_, Option<i64>>(11)?.unwrap_or(0)),
                    revenue_last_year: r.get(12)?,
                    buyers_last_year: u(r.get(13)?),
                })
            })
            .map_err(db("figures per source"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(db("figures per source"))
    }

    /// The cohort matrix: first-purchase month × months since.
    pub fn cohorts(&self) -> Result<Vec<Cohort>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "WITH f AS (SELECT cid, date_trunc('month', min(day)) AS cohort
                            FROM analysis_days GROUP BY 1),
                 months AS (SELECT DISTINCT cid, date_trunc('month', day) AS month FROM analysis_days),
                 cells AS (
                     SELECT f.cohort, datediff('month', f.cohort, m.month) AS k, count(*) AS n
                     FROM months m JOIN f USING (cid) GROUP BY 1, 2)
                 SELECT strftime(cohort, '%Y-%m'), list(n ORDER BY k), list(k ORDER BY k)
                 FROM cells GROUP BY cohort ORDER BY cohort",
            )
            .map_err(db("cohorts"))?;
        let rows = stmt
            .query_map([], |r| {
                let counts: Vec<i64> = list(r.get_ref(1)?)?;
                let ks: Vec<i64> = list(r.get_ref(2)?)?;
                let width = ks.last().map_or(0, |k| *k as usize + 1);
                let mut buying = vec![0u64; width];
                for (k, n) in ks.iter().zip(&counts) {
                    buying[*k as usize] = u(*n);
                }
                Ok(Cohort {
                    cohort: r.get(0)?,
                    customers: buying.first().copied().unwrap_or(0),
                    buying,
                })
            })
            .map_err(db("cohorts"))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db("cohorts"))
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
                     FROM deals JOIN deal_owners USING (deal_id)
                     WHERE currency = ? AND deal_date <= ?)
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

/// A DuckDB list of BIGINT as a vector.
fn list(v: duckdb::types::ValueRef<'_>) -> duckdb::Result<Vec<i64>> {
    match v.to_owned() {
        duckdb::types::Value::List(items) => Ok(items
            .into_iter()
            .map(|i| match i {
                duckdb::types::Value::BigInt(n) => n,
                duckdb::types::Value::Int(n) => i64::from(n),
                duckdb::types::Value::HugeInt(n) => n as i64,
                _ => 0,
            })
            .collect()),
        _ => Ok(Vec::new()),
    }
}
