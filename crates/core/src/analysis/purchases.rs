//! Every customer's purchase days (one per customer and day with a counted purchase) and
//! the figures `leadpipe analyse` counts from them: per month or quarter, the cohort
//! matrix, per group of customers (their source) over the last year, and the histories
//! the lifetime-value models read. One pass over the days each, in memory: millions of
//! days are a few tens of MB, and a pass costs milliseconds where the same figures as
//! SQL groupings and joins over the days took seconds.
//!
//! Definitions (README, "Analysing the base"): a customer is *active* on a day when their
//! last purchase before it is at most `lost_after_days` old; customers at a period's start
//! are those active on its first day, at its end those active on the day after it (so its
//! own purchases count); new customers made their first purchase in it; retention =
//! (end − new) ÷ start × 100 %.

use super::clv::CustomerSummary;
use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

/// Month or quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Month,
    Quarter,
}

impl Period {
    fn months(self) -> u32 {
        match self {
            Period::Month => 1,
            Period::Quarter => 3,
        }
    }

    /// The first day of the period `day` is in.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        let month0 = day.month0() / self.months() * self.months();
        NaiveDate::from_ymd_opt(day.year(), month0 + 1, 1).unwrap_or(day)
    }

    /// `2026-03` or `2026-Q1`.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Period::Month => start.format("%Y-%m").to_string(),
            Period::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
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

impl PeriodFigures {
    /// Sets the start and end counts and the ratios.
    fn finish(&mut self, at_start: u64, at_end: u64) {
        self.customers_at_start = at_start;
        self.customers_at_end = at_end;
        let new = self.new_customers as f64;
        self.retention_rate =
            (at_start > 0).then(|| (at_end as f64 - new) / at_start as f64 * 100.0);
        self.average_check = (self.orders > 0).then(|| self.revenue / self.orders as f64);
        self.repeat_purchase_rate =
            (self.buyers > 0).then(|| self.repeat_buyers as f64 / self.buyers as f64 * 100.0);
    }
}

/// The first day of every period from `first`'s to `until`'s, and of the one after.
fn period_starts(period: Period, first: NaiveDate, until: NaiveDate) -> Vec<NaiveDate> {
    let mut starts = vec![period.start_of(first)];
    let last = period.start_of(until);
    while let Some(next) = starts
        .last()
        .and_then(|s| s.checked_add_months(Months::new(period.months())))
    {
        starts.push(next);
        if next > last {
            break;
        }
    }
    starts
}

/// One first-purchase month and how many of its customers bought in each month after.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cohort {
    pub cohort: String,
    pub customers: u64,
    /// Customers buying `i` months after their first purchase month (0: the month itself).
    pub buying: Vec<u64>,
}

/// One group's customers (a source's): all their purchases, and the last year's.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupActivity {
    pub customers: u64,
    pub orders: u64,
    pub revenue: f64,
    /// Active on the day a year (365 days) before the day after the last day counted.
    pub customers_active_a_year_before: u64,
    /// Active on the day after the last day counted.
    pub customers_active_now: u64,
    pub new_customers_last_year: u64,
    pub orders_last_year: u64,
    pub revenue_last_year: f64,
    pub buyers_last_year: u64,
}

/// Purchase days grouped by customer, each customer's in date order.
#[derive(Debug, Clone, Default)]
pub struct Purchases {
    /// Customer `i`'s days are `days[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    days: Vec<NaiveDate>,
    amounts: Vec<f64>,
    orders: Vec<u64>,
}

/// One customer's purchase day: customer index, day, amount, orders.
pub type PurchaseDay = (u32, NaiveDate, f64, u64);

impl Purchases {
    /// Groups `rows` (any order; at most one per customer and day) of customers
    /// `0..customers`.
    pub fn new(customers: usize, mut rows: Vec<PurchaseDay>) -> Purchases {
        rows.sort_unstable_by_key(|r| (r.0, r.1));
        let mut starts = Vec::with_capacity(customers + 1);
        let (mut days, mut amounts, mut orders) = (
            Vec::with_capacity(rows.len()),
            Vec::with_capacity(rows.len()),
            Vec::with_capacity(rows.len()),
        );
        let mut next = 0usize;
        for (customer, day, amount, n) in rows {
            while next <= customer as usize {
                starts.push(days.len());
                next += 1;
            }
            days.push(day);
            amounts.push(amount);
            orders.push(n);
        }
        while starts.len() <= customers {
            starts.push(days.len());
        }
        Purchases {
            starts,
            days,
            amounts,
            orders,
        }
    }

    pub fn customers(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    fn range(&self, customer: usize) -> std::ops::Range<usize> {
        self.starts[customer]..self.starts[customer + 1]
    }

    /// The models' view of each customer as of `until`: repeat purchase days, weeks from
    /// the first to the last and to `until`, mean spend of the repeat days.
    pub fn summaries(&self, until: NaiveDate) -> Vec<CustomerSummary> {
        (0..self.customers())
            .map(|c| {
                let r = self.range(c);
                if r.is_empty() {
                    return CustomerSummary {
                        x: 0,
                        t_x: 0.0,
                        big_t: 0.0,
                        mean_spend: 0.0,
                    };
                }
                let (first, last) = (self.days[r.start], self.days[r.end - 1]);
                let x = (r.len() - 1) as u32;
                let repeat: f64 = self.amounts[r.start + 1..r.end].iter().sum();
                CustomerSummary {
                    x,
                    t_x: (last - first).num_days() as f64 / 7.0,
                    big_t: (until - first).num_days() as f64 / 7.0,
                    mean_spend: if x > 0 { repeat / f64::from(x) } else { 0.0 },
                }
            })
            .collect()
    }

    /// Calls `span(from, to)` for every activity span: from the day after a purchase to
    /// the next purchase day or `lost_after_days` later, whichever is first. A
    /// customer's spans never overlap, so one covers a day at most.
    fn for_each_span(
        &self,
        customer: usize,
        lost_after_days: u32,
        mut span: impl FnMut(NaiveDate, NaiveDate),
    ) {
        let days = &self.days[self.range(customer)];
        for (i, day) in days.iter().enumerate() {
            let lapse = *day + Days::new(u64::from(lost_after_days));
            let to = days.get(i + 1).map_or(lapse, |next| (*next).min(lapse));
            span(*day + Days::new(1), to);
        }
    }

    /// Figures per period from the first purchase's period to `until`'s.
    pub fn periods(
        &self,
        period: Period,
        until: NaiveDate,
        lost_after_days: u32,
    ) -> Vec<PeriodFigures> {
        let Some(first) = self.days.iter().min() else {
            return Vec::new();
        };
        let starts = period_starts(period, *first, until);
        let n = starts.len() - 1;
        let index = |day: NaiveDate| starts.partition_point(|s| *s <= day).saturating_sub(1);
        let mut rows: Vec<PeriodFigures> = starts[..n]
            .iter()
            .map(|s| PeriodFigures {
                period: period.label(*s),
                start: *s,
                revenue: 0.0,
                orders: 0,
                buyers: 0,
                new_customers: 0,
                repeat_buyers: 0,
                customers_at_start: 0,
                customers_at_end: 0,
                retention_rate: None,
                average_check: None,
                repeat_purchase_rate: None,
            })
            .collect();
        // active[k]: customers active on starts[k] (k = n: the day after the last period).
        let mut active = vec![0u64; n + 1];
        for c in 0..self.customers() {
            let r = self.range(c);
            if r.is_empty() {
                continue;
            }
            rows[index(self.days[r.start])].new_customers += 1;
            let mut last_period = usize::MAX;
            for i in r {
                let k = index(self.days[i]);
                let row = &mut rows[k];
                row.revenue += self.amounts[i];
                row.orders += self.orders[i];
                if k != last_period {
                    row.buyers += 1;
                    if i != self.starts[c] && self.days[self.starts[c]] < row.start {
                        row.repeat_buyers += 1;
                    }
                    last_period = k;
                }
            }
            self.for_each_span(c, lost_after_days, |from, to| {
                let lo = starts.partition_point(|s| *s < from);
                let hi = starts.partition_point(|s| *s <= to);
                for a in &mut active[lo..hi] {
                    *a += 1;
                }
            });
        }
        for (k, row) in rows.iter_mut().enumerate() {
            row.finish(active[k], active[k + 1]);
        }
        rows
    }

    /// The cohort matrix: first-purchase month × months since, in cohort order.
    pub fn cohorts(&self) -> Vec<Cohort> {
        let month = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
        let mut cells: std::collections::BTreeMap<i32, Vec<u64>> = Default::default();
        for c in 0..self.customers() {
            let r = self.range(c);
            if r.is_empty() {
                continue;
            }
            let cohort = month(self.days[r.start]);
            let row = cells.entry(cohort).or_default();
            let mut last = -1;
            for day in &self.days[r] {
                let k = month(*day) - cohort;
                if k != last {
                    if row.len() <= k as usize {
                        row.resize(k as usize + 1, 0);
                    }
                    row[k as usize] += 1;
                    last = k;
                }
            }
        }
        cells
            .into_iter()
            .map(|(m, buying)| Cohort {
                cohort: format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1),
                customers: buying.first().copied().unwrap_or(0),
                buying,
            })
            .collect()
    }

    /// Per group (`group_of[customer]` in `0..groups`): customers, orders and revenue,
    /// and the last year's activity as of `until` (a year: the 365 days up to it).
    pub fn activity_by_group(
        &self,
        group_of: &[u32],
        groups: usize,
        until: NaiveDate,
        lost_after_days: u32,
    ) -> Vec<GroupActivity> {
        let mut out = vec![GroupActivity::default(); groups];
        let year_ago = until - Days::new(365);
        let now = until + Days::new(1);
        for (c, g) in group_of.iter().enumerate().take(self.customers()) {
            let r = self.range(c);
            if r.is_empty() {
                continue;
            }
            let a = &mut out[*g as usize];
            a.customers += 1;
            if self.days[r.start] > year_ago {
                a.new_customers_last_year += 1;
            }
            let mut bought_last_year = false;
            for i in r {
                a.orders += self.orders[i];
                a.revenue += self.amounts[i];
                if self.days[i] > year_ago {
                    a.orders_last_year += self.orders[i];
                    a.revenue_last_year += self.amounts[i];
                    bought_last_year = true;
                }
            }
            a.buyers_last_year += u64::from(bought_last_year);
            self.for_each_span(c, lost_after_days, |from, to| {
                a.customers_active_a_year_before += u64::from(from <= year_ago && year_ago <= to);
                a.customers_active_now += u64::from(from <= now && now <= to);
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Customer 0 buys in Jan, Feb and (after a gap) Dec; customer 1 once in Feb.
    fn sample() -> Purchases {
        Purchases::new(
            3,
            vec![
                (1, d("2025-02-10"), 50.0, 1),
                (0, d("2025-12-01"), 30.0, 1),
                (0, d("2025-01-05"), 100.0, 2),
                (0, d("2025-02-07"), 20.0, 1),
            ],
        )
    }

    #[test]
    fn periods_count_buyers_new_repeat_and_active_customers() {
        let p = sample().periods(Period::Month, d("2025-12-31"), 60);
        assert_eq!(p.len(), 12);
        let feb = &p[1];
        assert_eq!(
            (
                feb.period.as_str(),
                feb.buyers,
                feb.new_customers,
                feb.repeat_buyers
            ),
            ("2025-02", 2, 1, 1)
        );
        assert_eq!(feb.orders, 2);
        // Active on 1 Feb: customer 0 (bought 5 Jan, 60 days); on 1 Mar both.
        assert_eq!((feb.customers_at_start, feb.customers_at_end), (1, 2));
        assert_eq!(feb.retention_rate, Some(100.0));
        // 1 May: customer 0's span ended 8 Apr, customer 1's 11 Apr.
        assert_eq!(p[3].customers_at_end, 0);
        assert_eq!(p[11].customers_at_end, 1);
        assert_eq!(p[0].average_check, Some(50.0));
    }

    #[test]
    fn quarters_are_labelled_and_start_on_their_first_month() {
        let p = sample().periods(Period::Quarter, d("2025-12-31"), 60);
        let labels: Vec<&str> = p.iter().map(|r| r.period.as_str()).collect();
        assert_eq!(labels, ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]);
        assert_eq!(p[0].buyers, 2);
        assert_eq!(p[3].start, d("2025-10-01"));
    }

    #[test]
    fn cohorts_count_each_customer_once_per_month() {
        let c = sample().cohorts();
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].cohort.as_str(), c[0].buying.clone()),
            ("2025-01", vec![1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        );
        assert_eq!((c[1].cohort.as_str(), c[1].customers), ("2025-02", 1));
    }

    #[test]
    fn summaries_count_repeat_days_in_weeks() {
        let s = sample().summaries(d("2025-12-31"));
        assert_eq!(s[0].x, 2);
        assert!((s[0].t_x - 330.0 / 7.0).abs() < 1e-9);
        assert!((s[0].mean_spend - 25.0).abs() < 1e-9);
        assert_eq!((s[1].x, s[1].mean_spend), (0, 0.0));
        assert_eq!(s[2].x, 0); // no purchases at all
    }

    #[test]
    fn activity_by_group_splits_the_last_year() {
        let a = sample().activity_by_group(&[0, 1, 1], 2, d("2026-01-31"), 90);
        assert_eq!((a[0].customers, a[0].orders, a[0].revenue), (1, 4, 150.0));
        // A year before 2026-01-31 is 2025-01-31: customer 0 active (bought 5 Jan).
        assert_eq!(a[0].customers_active_a_year_before, 1);
        assert_eq!(a[0].customers_active_now, 1); // 1 Feb 2026 is within 90 days of 1 Dec
        assert_eq!(
            (
                a[0].orders_last_year,
                a[0].buyers_last_year,
                a[0].new_customers_last_year
            ),
            (2, 1, 0)
        );
        assert_eq!(
            (
                a[1].customers,
                a[1].new_customers_last_year,
                a[1].customers_active_now
            ),
            (1, 1, 0)
        );
    }
}
