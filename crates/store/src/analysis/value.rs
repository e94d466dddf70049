//! Lifetime value per customer (`customer_value`): each customer's purchase history as
//! the BG/NBD and Gamma-Gamma models read it, and what the fitted models predict.

use crate::landing::{batch, text_column};
use crate::{db, Store, StoreError};
use chrono::{NaiveDate, Utc};
use duckdb::arrow::array::TimestampMicrosecondBuilder;
use duckdb::arrow::array::{ArrayRef, Date32Builder, Float64Builder, Int64Builder};
use duckdb::params;
use leadpipe_core::analysis::clv::CustomerSummary;
use std::sync::Arc;

pub(crate) const CUSTOMER_VALUE: &str = r#"-- The lifetime-value model's view of each customer as of `until` (time in weeks, repeat
-- purchases only, one purchase per day) and its predictions over `horizon_weeks`.
CREATE TABLE IF NOT EXISTS customer_value (
    customer_key VARCHAR NOT NULL,
    lead_id BIGINT,
    until DATE NOT NULL,
    fitted_at TIMESTAMPTZ NOT NULL,
    repeat_purchases BIGINT,
    t_x_weeks DOUBLE,
    t_weeks DOUBLE,
    mean_repeat_spend DOUBLE,
    p_alive DOUBLE,
    horizon_weeks DOUBLE,
    expected_purchases DOUBLE,
    expected_spend DOUBLE,
    -- expected purchases × expected spend per purchase
    expected_value DOUBLE
);
"#;

/// One customer's history for the models.
#[derive(Debug, Clone)]
pub struct CustomerHistory {
    pub customer_key: String,
    pub lead_id: Option<i64>,
    pub summary: CustomerSummary,
}

/// What the models predict for one customer.
#[derive(Debug, Clone, Copy)]
pub struct Prediction {
    pub p_alive: f64,
    pub expected_purchases: f64,
    pub expected_spend: f64,
}

impl Store {
    /// Every customer's purchase history up to `until`, counted as the models do: days
    /// with a purchase, the first not a repeat; weeks = days ÷ 7. Reads the purchase days
    /// [`Store::prepare_analysis`] gathered (won deals in the analysis currency).
    pub fn customer_histories(&self, until: NaiveDate) -> Result<Vec<CustomerHistory>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "WITH per AS (
                     SELECT cid, count(*) - 1 AS x, min(day) AS first, max(day) AS last,
                            sum(amount) - arg_min(amount, day) AS repeat_sum
                     FROM analysis_days GROUP BY cid)
                 SELECT c.customer_key, c.lead_id, x, (last - first) / 7.0, (?::DATE - first) / 7.0,
                        CASE WHEN x > 0 THEN repeat_sum / x ELSE 0 END
                 FROM per p
                 JOIN (SELECT customer_id AS cid, customer_key, lead_id FROM customers) c USING (cid)
                 ORDER BY c.customer_key",
            )
            .map_err(db("reading purchase histories"))?;
        let rows = stmt
            .query_map(params![until], |r| {
                Ok(CustomerHistory {
                    customer_key: r.get(0)?,
                    lead_id: r.get(1)?,
                    summary: CustomerSummary {
                        x: r.get::<_, i64>(2)? as u32,
                        t_x: r.get(3)?,
                        big_t: r.get(4)?,
                        mean_spend: r.get(5)?,
                    },
                })
            })
            .map_err(db("reading purchase histories"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(db("reading purchase histories"))
    }

    /// Replaces `customer_value` with these predictions (one per history, same order).
    pub fn land_customer_value(
        &self,
        until: NaiveDate,
        horizon_weeks: f64,
        histories: &[CustomerHistory],
        predictions: &[Prediction],
    ) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM customer_value", [])
            .map_err(db("replacing customer values"))?;
        let n = histories.len();
        if n == 0 {
            return Ok(());
        }
        let mut leads = Int64Builder::with_capacity(n);
        let mut untils = Date32Builder::with_capacity(n);
        let mut fitted = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut x = Int64Builder::with_capacity(n);
        let floats = || Float64Builder::with_capacity(n);
        let (mut t_x, mut t, mut spend, mut alive, mut horizon, mut purchases, mut per, mut value) = (
            floats(),
            floats(),
            floats(),
            floats(),
            floats(),
            floats(),
            floats(),
            floats(),
        );
        let until_days = (until - NaiveDate::default()).num_days() as i32;
        let now = Utc::now().timestamp_micros();
        for (h, p) in histories.iter().zip(predictions) {
            leads.append_option(h.lead_id);
            untils.append_value(until_days);
            fitted.append_value(now);
            x.append_value(i64::from(h.summary.x));
            t_x.append_value(h.summary.t_x);
            t.append_value(h.summary.big_t);
            spend.append_value(h.summary.mean_spend);
            alive.append_value(p.p_alive);
            horizon.append_value(horizon_weeks);
            purchases.append_value(p.expected_purchases);
            per.append_value(p.expected_spend);
            value.append_value(p.expected_purchases * p.expected_spend);
        }
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "customer_key",
                text_column(histories, |h| Some(h.customer_key.as_str())),
            ),
            ("lead_id", Arc::new(leads.finish())),
            ("until", Arc::new(untils.finish())),
            ("fitted_at", Arc::new(fitted.finish())),
            ("repeat_purchases", Arc::new(x.finish())),
            ("t_x_weeks", Arc::new(t_x.finish())),
            ("t_weeks", Arc::new(t.finish())),
            ("mean_repeat_spend", Arc::new(spend.finish())),
            ("p_alive", Arc::new(alive.finish())),
            ("horizon_weeks", Arc::new(horizon.finish())),
            ("expected_purchases", Arc::new(purchases.finish())),
            ("expected_spend", Arc::new(per.finish())),
            ("expected_value", Arc::new(value.finish())),
        ];
        self.land_in_parallel("customer_value", vec![batch("customer_value", cols)?])
    }
}
