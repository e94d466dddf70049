//! Lifetime value per customer (`customer_value`): each customer's purchase history as
//! the BG/NBD and Gamma-Gamma models read it, and what the fitted models predict.

use crate::landing::{batch, text_column};
use crate::{db, Store, StoreError};
use chrono::{NaiveDate, Utc};
use duckdb::arrow::array::TimestampMicrosecondBuilder;
use duckdb::arrow::array::{Array, AsArray};
use duckdb::arrow::array::{ArrayRef, Date32Builder, Float64Builder, Int64Builder};
use duckdb::arrow::datatypes::{Date32Type, Float64Type, Int64Type};
use leadpipe_core::analysis::clv::CustomerSummary;
use leadpipe_core::analysis::purchases::Purchases;
use rustc_hash::FxHashMap;
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

/// A customer as the analysis counts them, in customer-key order: their source is the
/// channel of their first deal, else their lead's first source.
#[derive(Debug, Clone)]
pub struct AnalysisCustomer {
    pub customer_id: i64,
    pub customer_key: String,
    pub lead_id: Option<i64>,
    pub source: String,
}

impl Store {
    /// Every customer of the segment stage (`customers`), in customer-key order.
    pub fn analysis_customers(&self) -> Result<Vec<AnalysisCustomer>, StoreError> {
        const CONTEXT: &str = "reading customers";
        let batches = self.read_arrow(
            "SELECT c.customer_id, c.customer_key, c.lead_id,
                    coalesce(c.first_channel, l.sources[1], 'unknown')
             FROM customers c LEFT JOIN leads l ON l.lead_id = c.lead_id
             ORDER BY c.customer_key",
            [],
            CONTEXT,
        )?;
        let mut out = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
        for b in &batches {
            let ids = b.column(0).as_primitive::<Int64Type>();
            let keys = b.column(1).as_string::<i32>();
            let leads = b.column(2).as_primitive::<Int64Type>();
            let sources = b.column(3).as_string::<i32>();
            for i in 0..b.num_rows() {
                out.push(AnalysisCustomer {
                    customer_id: ids.value(i),
                    customer_key: keys.value(i).to_string(),
                    lead_id: leads.is_valid(i).then(|| leads.value(i)),
                    source: sources.value(i).to_string(),
                });
            }
        }
        Ok(out)
    }

    /// The purchase days the segment stage left on this connection (won deals in the
    /// analysis currency up to its day), by index into `customers`.
    pub fn purchases(&self, customers: &[AnalysisCustomer]) -> Result<Purchases, StoreError> {
        const CONTEXT: &str = "reading purchase days";
        let index: FxHashMap<i64, u32> = customers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.customer_id, i as u32))
            .collect();
        let batches = self.read_arrow(
            "SELECT cid, day, amount, orders FROM purchase_days",
            [],
            CONTEXT,
        )?;
        let epoch = NaiveDate::default(); // 1970-01-01, day 0 of a DATE
        let mut rows = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
        for b in &batches {
            let cids = b.column(0).as_primitive::<Int64Type>();
            let days = b.column(1).as_primitive::<Date32Type>();
            let amounts = b.column(2).as_primitive::<Float64Type>();
            let orders = b.column(3).as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                // Every purchase day's customer is one of `customers` (both come from
                // the same stage); a day without one would be a bug, not data.
                let Some(&c) = index.get(&cids.value(i)) else {
                    return Err(StoreError::Invalid(format!(
                        "purchase days of customer {} who is not in customers: run the segment stage again",
                        cids.value(i)
                    )));
                };
                let day = epoch + chrono::TimeDelta::days(i64::from(days.value(i)));
                rows.push((c, day, amounts.value(i), orders.value(i).max(0) as u64));
            }
        }
        Ok(Purchases::new(customers.len(), rows))
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
