//! `leadpipe analyse`: the base as an owner reads it. Runs the segment stage as of the day
//! asked for, fits the lifetime-value models (BG/NBD for purchases, Gamma-Gamma for spend;
//! `leadpipe_core::analysis::clv`) and stores their predictions per customer, then gathers
//! the figures (`leadpipe_store::analysis::metrics`) into one [`Analysis`], which
//! `html` and `xlsx` render and `--json` prints.

pub mod html;
pub mod sources;
pub mod xlsx;

use crate::analysis::clv::{fit_bg_nbd, fit_gamma_gamma, BgNbd, CustomerSummary, GammaGamma};
use crate::analysis::purchases::GroupActivity;
use crate::analysis::segments::SegmentSettings;
use crate::consent_commands::{in_transaction, CommandError};
use crate::store::analysis::metrics::{Cohort, Freshness, Period, PeriodFigures, RfmCell, Totals};
use crate::store::analysis::segments::SegmentStats;
use crate::store::analysis::value::{CustomerHistory, Prediction};
use crate::store::Store;
use crate::warmth::WarmthSettings;
use chrono::NaiveDate;
use serde::Serialize;
use sources::SourceFigures;

/// Customers the models are fitted on at most: a larger base is sampled evenly (by a hash
/// of the customer key). Maximum-likelihood estimates on 50,000 customers are within
/// about 1 % of the full fit (standard errors shrink as 1/√n), and the fit stays within
/// seconds; predictions are made for every customer.
pub const FIT_SAMPLE: usize = 50_000;

/// What was asked for.
#[derive(Debug, Clone)]
pub struct AnalyseOptions {
    pub period: Period,
    /// The last day counted (the calibration period's end for the models).
    pub until: NaiveDate,
    /// Weeks ahead the models predict purchases and value for.
    pub horizon_weeks: f64,
}

/// The fitted lifetime-value models.
#[derive(Debug, Clone, Serialize)]
pub struct ModelFit {
    pub bg_nbd: BgNbd,
    pub gamma_gamma: Option<GammaGamma>,
    pub customers: u64,
    pub customers_fitted: u64,
    pub repeat_customers: u64,
    pub horizon_weeks: f64,
    pub expected_purchases: f64,
    pub expected_value: f64,
    /// Mean probability that a customer is still active.
    pub mean_p_alive: f64,
}

/// A source's figures with what follows from them.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRow {
    #[serde(flatten)]
    pub figures: SourceFigures,
    /// Spend ÷ customers it brought.
    pub acquisition_cost: Option<f64>,
    pub cost_per_lead: Option<f64>,
    pub cost_per_callable_lead: Option<f64>,
    pub average_check: Option<f64>,
    /// Orders per buyer over the last year.
    pub purchases_per_year: Option<f64>,
    /// (active now − new in the last year) ÷ active a year before × 100.
    pub retention_rate_year: Option<f64>,
    /// 1 ÷ (1 − yearly retention), at most [`MAX_LIFETIME_YEARS`].
    pub average_lifetime_years: Option<f64>,
    /// Average check × purchases per year × average lifetime.
    pub lifetime_value: Option<f64>,
}

/// The longest customer lifetime a yearly retention near 100 % is allowed to imply.
pub const MAX_LIFETIME_YEARS: f64 = 20.0;

/// Headline figures.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    #[serde(flatten)]
    pub totals: Totals,
    pub average_check: Option<f64>,
    /// Customers with purchases on two days or more ÷ customers × 100.
    pub repeat_purchase_rate: Option<f64>,
    pub revenue_per_customer: Option<f64>,
    pub lifetime_value: Option<f64>,
    pub retention_rate_year: Option<f64>,
}

/// Everything `analyse` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub until: NaiveDate,
    pub period: Period,
    pub currency: Option<String>,
    pub sleeping_after_days: u32,
    pub lost_after_days: u32,
    pub segment: SegmentStats,
    pub headline: Headline,
    pub periods: Vec<PeriodFigures>,
    pub sources: Vec<SourceRow>,
    pub cohorts: Vec<Cohort>,
    pub rfm: Vec<RfmCell>,
    pub freshness: Freshness,
    pub model: Option<ModelFit>,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// Runs the analysis and stores the segment tables and `customer_value` as of `until`.
pub fn analyse(
    store: &Store,
    settings: &SegmentSettings,
    warmth: &WarmthSettings,
    options: &AnalyseOptions,
) -> Result<Analysis, CommandError> {
    in_transaction(store, |store| {
        let until = options.until;
        let clock = std::time::Instant::now();
        let lap = |what: &str| {
            tracing::debug!(ms = clock.elapsed().as_millis() as u64, "analyse: {what}")
        };
        let segment = store.segment(settings, warmth, until)?;
        lap("segment stage");
        let currency = segment.currency.clone().unwrap_or_default();
        let customers = store.analysis_customers()?;
        lap("customers read");
        let purchases = store.purchases(&customers)?;
        lap("purchase days read");
        let histories: Vec<CustomerHistory> = customers
            .iter()
            .zip(purchases.summaries(until))
            .map(|(c, summary)| CustomerHistory {
                customer_key: c.customer_key.clone(),
                lead_id: c.lead_id,
                summary,
            })
            .collect();
        let (model, predictions) = match fit_models(&histories, options.horizon_weeks) {
            Some((fit, p)) => (Some(fit), p),
            None => (None, Vec::new()),
        };
        lap("models fitted");
        // Without a model the table is emptied: no prediction outlives its customers.
        let predicted = if model.is_some() { &histories[..] } else { &[] };
        store.land_customer_value(until, options.horizon_weeks, predicted, &predictions)?;
        lap("values landed");
        let totals = store.analysis_totals(&currency, until)?;
        let values: Option<Vec<f64>> = model.is_some().then(|| {
            predictions
                .iter()
                .map(|p| p.expected_purchases * p.expected_spend)
                .collect()
        });
        let lost_after = settings.lost_after_days;
        let sources: Vec<SourceRow> = sources::source_figures(
            store,
            &customers,
            &purchases,
            values.as_deref(),
            (&currency, until, lost_after),
        )?
        .into_iter()
        .map(source_row)
        .collect();
        let headline = headline(totals, &sources);
        let periods = purchases.periods(options.period, until, lost_after);
        let cohorts = purchases.cohorts();
        lap("totals, sources, periods, cohorts");
        let rfm = store.rfm_grid()?;
        let freshness = store.freshness(until)?;
        lap("rfm grid and freshness");
        Ok(Analysis {
            until,
            period: options.period,
            currency: segment.currency.clone(),
            sleeping_after_days: settings.sleeping_after_days,
            lost_after_days: settings.lost_after_days,
            periods,
            cohorts,
            rfm,
            freshness,
            segment,
            headline,
            sources,
            model,
        })
    })
}

/// (active now − new in the last year) ÷ active a year before; none without customers a
/// year before.
fn yearly_retention(before: f64, now: f64, new: f64) -> Option<f64> {
    (before > 0.0).then(|| (now - new) / before)
}

/// 1 ÷ (1 − yearly retention), at most [`MAX_LIFETIME_YEARS`].
fn lifetime_years(retention: f64) -> f64 {
    1.0 / (1.0 - retention.min(1.0)).max(1.0 / MAX_LIFETIME_YEARS)
}

/// Average check × purchases per year × average lifetime, when all three are known.
fn lifetime_value(check: Option<f64>, per_year: Option<f64>, lifetime: Option<f64>) -> Option<f64> {
    Some(check? * per_year? * lifetime?)
}

fn source_row(f: SourceFigures) -> SourceRow {
    let a = &f.activity;
    let retention = yearly_retention(
        a.customers_active_a_year_before as f64,
        a.customers_active_now as f64,
        a.new_customers_last_year as f64,
    );
    let lifetime = retention.map(lifetime_years);
    let average_check = ratio(a.revenue, a.orders as f64);
    let per_year = ratio(a.orders_last_year as f64, a.buyers_last_year as f64);
    let cost_per = |n: u64| (f.spend > 0.0).then(|| ratio(f.spend, n as f64)).flatten();
    SourceRow {
        acquisition_cost: cost_per(a.customers),
        cost_per_lead: cost_per(f.leads),
        cost_per_callable_lead: cost_per(f.callable_leads),
        average_check,
        purchases_per_year: per_year,
        retention_rate_year: retention.map(|r| r * 100.0),
        average_lifetime_years: lifetime,
        lifetime_value: lifetime_value(average_check, per_year, lifetime),
        figures: f,
    }
}

fn headline(totals: Totals, sources: &[SourceRow]) -> Headline {
    let sum = |f: fn(&GroupActivity) -> u64| {
        sources.iter().map(|s| f(&s.figures.activity)).sum::<u64>() as f64
    };
    let retention = yearly_retention(
        sum(|f| f.customers_active_a_year_before),
        sum(|f| f.customers_active_now),
        sum(|f| f.new_customers_last_year),
    );
    let per_year = ratio(sum(|f| f.orders_last_year), sum(|f| f.buyers_last_year));
    let average_check = ratio(totals.revenue, totals.orders as f64);
    Headline {
        average_check,
        repeat_purchase_rate: ratio(
            totals.repeat_customers as f64 * 100.0,
            totals.customers as f64,
        ),
        revenue_per_customer: ratio(totals.revenue, totals.customers as f64),
        lifetime_value: lifetime_value(average_check, per_year, retention.map(lifetime_years)),
        retention_rate_year: retention.map(|r| r * 100.0),
        totals,
    }
}

/// The freshness figures both renderings show: (English, Russian, count, of how many).
fn freshness_rows(f: &Freshness) -> [(&'static str, &'static str, u64, u64); 5] {
    [
        (
            "untouched for 6 months",
            "Без касаний 6 месяцев",
            f.untouched_6_months,
            f.leads,
        ),
        (
            "untouched for 12 months",
            "Без касаний 12 месяцев",
            f.untouched_12_months,
            f.leads,
        ),
        (
            "invalid rows",
            "Негодные строки",
            f.invalid_rows,
            f.rows_read,
        ),
        ("duplicate records", "Дубли", f.duplicate_records, f.records),
        ("suppressed", "Не звонить", f.suppressed, f.leads),
    ]
}

impl Analysis {
    /// Months since the first purchase the longest cohort spans, at most `cap`.
    fn cohort_months(&self, cap: usize) -> usize {
        self.cohorts
            .iter()
            .map(|c| c.buying.len())
            .max()
            .unwrap_or(0)
            .min(cap)
    }
}

/// A stable 64-bit hash of a customer key (FNV-1a), for the even sample.
fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The customers the models are fitted on: all, or an even sample of [`FIT_SAMPLE`].
pub fn fit_sample(histories: &[CustomerHistory]) -> Vec<CustomerSummary> {
    if histories.len() <= FIT_SAMPLE {
        return histories.iter().map(|h| h.summary).collect();
    }
    let mut keyed: Vec<(u64, CustomerSummary)> = histories
        .iter()
        .map(|h| (key_hash(&h.customer_key), h.summary))
        .collect();
    keyed.select_nth_unstable_by_key(FIT_SAMPLE - 1, |k| k.0);
    keyed.truncate(FIT_SAMPLE);
    keyed.into_iter().map(|(_, s)| s).collect()
}

/// Fits both models and predicts for every customer; `None` without customers.
fn fit_models(histories: &[CustomerHistory], horizon: f64) -> Option<(ModelFit, Vec<Prediction>)> {
    let sample = fit_sample(histories);
    let bg = fit_bg_nbd(&sample)?;
    let gg = fit_gamma_gamma(&sample);
    let predictions: Vec<Prediction> = histories
        .iter()
        .map(|h| {
            let c = &h.summary;
            Prediction {
                p_alive: bg.p_alive(c),
                expected_purchases: bg.expected_purchases(c, horizon),
                expected_spend: gg.map_or(c.mean_spend, |g| g.expected_spend(c)),
            }
        })
        .collect();
    let n = histories.len() as f64;
    let fit = ModelFit {
        bg_nbd: bg,
        gamma_gamma: gg,
        customers: histories.len() as u64,
        customers_fitted: sample.len() as u64,
        repeat_customers: histories.iter().filter(|h| h.summary.x > 0).count() as u64,
        horizon_weeks: horizon,
        expected_purchases: predictions.iter().map(|p| p.expected_purchases).sum(),
        expected_value: predictions
            .iter()
            .map(|p| p.expected_purchases * p.expected_spend)
            .sum(),
        mean_p_alive: predictions.iter().map(|p| p.p_alive).sum::<f64>() / n,
    };
    Some((fit, predictions))
}
