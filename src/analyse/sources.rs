//! Figures per source: a customer's source is the channel of their first deal, else their
//! lead's first source; leads count by their first source; spend is matched by name.

use crate::analysis::purchases::{GroupActivity, Purchases};
use crate::consent_commands::CommandError;
use crate::store::analysis::value::AnalysisCustomer;
use crate::store::Store;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

/// One source's figures: its leads, the customers it brought (their purchases, and the
/// last year's, as [`GroupActivity`] counts them) and what it cost.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceFigures {
    pub source: String,
    pub leads: u64,
    /// Leads with advertising call consent now.
    pub callable_leads: u64,
    pub spend: f64,
    /// Mean of the lifetime-value model's expected value per customer (next horizon).
    pub expected_value_per_customer: Option<f64>,
    #[serde(flatten)]
    pub activity: GroupActivity,
}

impl SourceFigures {
    fn new(source: String, activity: GroupActivity) -> SourceFigures {
        SourceFigures {
            source,
            leads: 0,
            callable_leads: 0,
            spend: 0.0,
            expected_value_per_customer: None,
            activity,
        }
    }
}

/// Every source that has leads, customers or spend, by revenue (largest first), then
/// name. `values`: each customer's expected value, when a model was fitted.
pub fn source_figures(
    store: &Store,
    customers: &[AnalysisCustomer],
    purchases: &Purchases,
    values: Option<&[f64]>,
    (currency, until, lost_after_days): (&str, NaiveDate, u32),
) -> Result<Vec<SourceFigures>, CommandError> {
    let mut names: Vec<&str> = customers.iter().map(|c| c.source.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let group_of: Vec<u32> = customers
        .iter()
        .map(|c| names.binary_search(&c.source.as_str()).unwrap_or(0) as u32)
        .collect();
    let activity = purchases.activity_by_group(&group_of, names.len(), until, lost_after_days);
    let mut by_name: BTreeMap<String, SourceFigures> = names
        .iter()
        .zip(activity)
        .map(|(n, a)| (n.to_string(), SourceFigures::new(n.to_string(), a)))
        .collect();
    if let Some(values) = values {
        let mut sums = vec![(0.0, 0u64); names.len()];
        for (g, v) in group_of.iter().zip(values) {
            sums[*g as usize].0 += v;
            sums[*g as usize].1 += 1;
        }
        for (name, (sum, n)) in names.iter().zip(sums) {
            entry(&mut by_name, name.to_string()).expected_value_per_customer =
                (n > 0).then(|| sum / n as f64);
        }
    }
    for l in store.leads_by_source()? {
        let f = entry(&mut by_name, l.source);
        (f.leads, f.callable_leads) = (l.leads, l.callable);
    }
    for (source, spend) in store.spend_by_source(currency, until)? {
        entry(&mut by_name, source).spend = spend;
    }
    let mut rows: Vec<SourceFigures> = by_name.into_values().collect();
    // Name order within equal revenue: the map's, and the sort is stable.
    rows.sort_by(|a, b| b.activity.revenue.total_cmp(&a.activity.revenue));
    Ok(rows)
}

/// The figures of `name`, a source with no customers yet when it is new.
fn entry(by_name: &mut BTreeMap<String, SourceFigures>, name: String) -> &mut SourceFigures {
    by_name
        .entry(name.clone())
        .or_insert_with(|| SourceFigures::new(name, GroupActivity::default()))
}
