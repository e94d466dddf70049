//! The analysis as a workbook: one sheet per table, numbers as numbers, a bold frozen
//! header on each.

use super::Analysis;
use crate::consent_commands::CommandError;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use std::path::Path;

/// A cell of a sheet.
enum V {
    T(String),
    N(f64),
    None,
}

fn n(v: f64) -> V {
    V::N(v)
}

fn opt(v: Option<f64>) -> V {
    v.map_or(V::None, V::N)
}

fn t(s: impl Into<String>) -> V {
    V::T(s.into())
}

/// Months since the first purchase the cohort sheet shows at most.
const MAX_MONTHS: usize = 1_200;

/// A sheet: its name, header and rows.
type Sheet = (&'static str, Vec<String>, Vec<Vec<V>>);

fn head(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The sheets, one per table.
fn sheets(a: &Analysis) -> Vec<Sheet> {
    let mut out = vec![
        summary(a),
        periods(a),
        sources(a),
        cohorts(a),
        rfm(a),
        freshness(a),
    ];
    out.extend(model(a));
    out
}

fn summary(a: &Analysis) -> Sheet {
    let h = &a.headline;
    let count = |v: u64| n(v as f64);
    let rows = vec![
        vec![t("until"), t(a.until.to_string())],
        vec![t("currency"), t(a.currency.clone().unwrap_or_default())],
        vec![t("customers"), count(h.totals.customers)],
        vec![
            t("customers who are leads"),
            count(h.totals.customers_who_are_leads),
        ],
        vec![t("orders"), count(h.totals.orders)],
        vec![t("revenue"), n(h.totals.revenue)],
        vec![t("average check"), opt(h.average_check)],
        vec![t("repeat purchase rate, %"), opt(h.repeat_purchase_rate)],
        vec![
            t("retention rate, last year, %"),
            opt(h.retention_rate_year),
        ],
        vec![t("revenue per customer"), opt(h.revenue_per_customer)],
        vec![t("lifetime value"), opt(h.lifetime_value)],
        vec![
            t("revenue share of the top 20 %, %"),
            opt(h.totals.top_20_percent_revenue_share),
        ],
        vec![t("deals lost"), count(h.totals.deals_lost)],
        vec![t("deals refunded"), count(h.totals.deals_refunded)],
        vec![t("deals open"), count(h.totals.deals_open)],
    ];
    ("Summary", head(&["figure", "value"]), rows)
}

fn periods(a: &Analysis) -> Sheet {
    let rows = a
        .periods
        .iter()
        .map(|p| {
            vec![
                t(p.period.clone()),
                n(p.revenue),
                n(p.orders as f64),
                opt(p.average_check),
                n(p.buyers as f64),
                n(p.new_customers as f64),
                n(p.repeat_buyers as f64),
                opt(p.repeat_purchase_rate),
                n(p.customers_at_start as f64),
                n(p.customers_at_end as f64),
                opt(p.retention_rate),
            ]
        })
        .collect();
    let header = head(&[
        "period",
        "revenue",
        "orders",
        "average check",
        "buyers",
        "new customers",
        "repeat buyers",
        "repeat purchase rate, %",
        "customers at start",
        "customers at end",
        "retention rate, %",
    ]);
    ("Periods", header, rows)
}

fn sources(a: &Analysis) -> Sheet {
    let rows = a
        .sources
        .iter()
        .map(|s| {
            let f = &s.figures;
            vec![
                t(f.source.clone()),
                n(f.leads as f64),
                n(f.callable_leads as f64),
                n(f.activity.customers as f64),
                n(f.activity.orders as f64),
                n(f.activity.revenue),
                n(f.spend),
                opt(s.acquisition_cost),
                opt(s.cost_per_lead),
                opt(s.cost_per_callable_lead),
                opt(s.average_check),
                opt(s.purchases_per_year),
                opt(s.retention_rate_year),
                opt(s.average_lifetime_years),
                opt(s.lifetime_value),
                opt(f.expected_value_per_customer),
            ]
        })
        .collect();
    let header = head(&[
        "source",
        "leads",
        "callable leads",
        "customers",
        "orders",
        "revenue",
        "spend",
        "acquisition cost",
        "cost per lead",
        "cost per callable lead",
        "average check",
        "purchases per year",
        "retention rate, year, %",
        "average lifetime, years",
        "lifetime value",
        "expected value per customer (model)",
    ]);
    ("Sources", header, rows)
}

fn cohorts(a: &Analysis) -> Sheet {
    // A sheet has 16,384 columns; 1,200 months is a century of history.
    let width = a.cohort_months(MAX_MONTHS);
    let mut header = head(&["cohort", "customers"]);
    header.extend((0..width).map(|k| format!("month {k}")));
    let rows = a
        .cohorts
        .iter()
        .map(|c| {
            let mut row = vec![t(c.cohort.clone()), n(c.customers as f64)];
            row.extend(c.buying.iter().take(MAX_MONTHS).map(|b| n(*b as f64)));
            row
        })
        .collect();
    ("Cohorts", header, rows)
}

fn rfm(a: &Analysis) -> Sheet {
    let rows = a
        .rfm
        .iter()
        .map(|c| {
            vec![
                n(f64::from(c.r)),
                n(f64::from(c.fm)),
                t(c.segment.clone()),
                n(c.customers as f64),
                n(c.revenue),
            ]
        })
        .collect();
    (
        "RFM",
        head(&["R", "FM", "segment", "customers", "revenue"]),
        rows,
    )
}

fn freshness(a: &Analysis) -> Sheet {
    let rows = super::freshness_rows(&a.freshness)
        .into_iter()
        .map(|(what, _, count, of)| vec![t(what), n(count as f64), n(of as f64)])
        .collect();
    ("Freshness", head(&["figure", "count", "of"]), rows)
}

fn model(a: &Analysis) -> Option<Sheet> {
    let m = a.model.as_ref()?;
    let mut rows = vec![
        vec![t("bg_nbd.r"), n(m.bg_nbd.r)],
        vec![t("bg_nbd.alpha"), n(m.bg_nbd.alpha)],
        vec![t("bg_nbd.a"), n(m.bg_nbd.a)],
        vec![t("bg_nbd.b"), n(m.bg_nbd.b)],
        vec![t("bg_nbd.log_likelihood"), n(m.bg_nbd.log_likelihood)],
    ];
    if let Some(g) = &m.gamma_gamma {
        rows.push(vec![t("gamma_gamma.p"), n(g.p)]);
        rows.push(vec![t("gamma_gamma.q"), n(g.q)]);
        rows.push(vec![t("gamma_gamma.gamma"), n(g.gamma)]);
    }
    rows.push(vec![t("customers"), n(m.customers as f64)]);
    rows.push(vec![t("customers fitted"), n(m.customers_fitted as f64)]);
    rows.push(vec![t("horizon, weeks"), n(m.horizon_weeks)]);
    rows.push(vec![t("expected purchases"), n(m.expected_purchases)]);
    rows.push(vec![t("expected value"), n(m.expected_value)]);
    Some(("Model", head(&["parameter", "value"]), rows))
}

/// Writes the workbook to `path`.
pub fn write(a: &Analysis, path: &Path) -> Result<(), CommandError> {
    let err = |e: XlsxError| CommandError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for (name, header, rows) in sheets(a) {
        let ws = book.add_worksheet();
        ws.set_name(name).map_err(err)?;
        for (c, h) in header.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)
                .map_err(err)?;
            ws.set_column_width(c as u16, (h.chars().count() as f64 + 2.0).max(10.0))
                .map_err(err)?;
        }
        for (i, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = (i as u32 + 1, c as u16);
                match v {
                    V::T(s) => ws.write_string(r, c, s).map(|_| ()),
                    V::N(x) if x.is_finite() => ws.write_number(r, c, *x).map(|_| ()),
                    _ => Ok(()),
                }
                .map_err(err)?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(err)?;
    }
    book.save(path).map_err(err)?;
    Ok(())
}
