//! The analysis as one self-contained HTML page: inline SVG charts with the number beside
//! every bar or cell, no scripts, no external files.

use super::{Analysis, SourceRow};
use crate::lang::Lang;
use crate::report::{esc, html_table};
use std::fmt::Write;

/// `1234567.8` as `1 234 568` (a thin space between thousands, as Russian writes them).
pub fn money(v: f64) -> String {
    let rounded = v.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    if rounded < 0 {
        out.insert(0, '−');
    }
    out
}

/// `untouched for 6 months` → `Untouched for 6 months`.
fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.1} %"))
}

fn opt_money(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), money)
}

/// Vertical bars, one per label, the value written above each.
fn column_chart(
    id: &str,
    rows: &[(String, f64)],
    label: impl Fn(f64) -> String,
    colour: &str,
) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1e-9);
    let step = 56;
    let (top, plot, bottom) = (22, 180, 44);
    let width = (step * rows.len()).max(200) + 10;
    let height = top + plot + bottom;
    let mut o = format!(
        "<svg class=\"chart\" id=\"{id}\" width=\"{width}\" height=\"{height}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (name, v)) in rows.iter().enumerate() {
        let h = ((v.max(0.0) / max) * plot as f64).round();
        let x = 5 + i * step;
        let y = top as f64 + plot as f64 - h;
        let _ = write!(
            o,
            "<rect class=\"bar\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{colour}\"><title>{n}: {l}</title></rect>\
             <text class=\"value\" x=\"{cx}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"middle\">{l}</text>\
             <text x=\"{cx}\" y=\"{ly}\" font-size=\"11\" text-anchor=\"middle\">{n}</text>",
            w = step - 10,
            n = esc(name),
            l = esc(&label(*v)),
            cx = x + (step - 10) / 2,
            ty = y - 4.0,
            ly = top + plot + 16,
        );
    }
    o.push_str("</svg>");
    o
}

/// Horizontal bars of values with their labels beside them.
fn bar_rows(id: &str, rows: &[(String, f64, String)], colour: &str) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1e-9);
    let h = 26 * rows.len().max(1) + 6;
    let mut o = format!(
        "<svg class=\"chart\" id=\"{id}\" width=\"760\" height=\"{h}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (name, v, text)) in rows.iter().enumerate() {
        let y = 4 + i * 26;
        let w = ((v.max(0.0) / max) * 380.0)
            .round()
            .max(if *v > 0.0 { 2.0 } else { 0.0 });
        let _ = write!(
            o,
            "<text x=\"0\" y=\"{ty}\" font-size=\"13\">{n}</text>\
             <rect class=\"bar\" x=\"230\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"{colour}\"><title>{n}: {t}</title></rect>\
             <text class=\"value\" x=\"{tx}\" y=\"{ty}\" font-size=\"13\">{t}</text>",
            ty = y + 14,
            n = esc(name),
            t = esc(text),
            tx = 236.0 + w,
        );
    }
    o.push_str("</svg>");
    o
}

/// A colour from white to `base` green for a share 0–1.
fn heat(share: f64) -> String {
    let s = share.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * s).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(255.0, 46.0),
        mix(255.0, 139.0),
        mix(255.0, 87.0)
    )
}

/// The page, in `lang`.
pub fn render(a: &Analysis, lang: Lang) -> String {
    let t = |ru, en| lang.pick(ru, en);
    let mut o = String::new();
    let currency = a.currency.clone().unwrap_or_default();
    let _ = write!(
        o,
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}}\
         table{{border-collapse:collapse;margin:.5em 0 1.5em}}th,td{{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}}\
         th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}section{{margin-bottom:2.2em}}\
         .tiles{{display:flex;flex-wrap:wrap;gap:10px}}.tile{{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:150px}}\
         .tile b{{display:block;font-size:20px}}.note{{color:#666;font-size:12px}}</style></head><body>\
         <h1>{title}</h1><p>{until_word} <b id=\"until\">{until}</b>; {cur_word} <b>{cur}</b>.</p>",
        l = lang.as_str(),
        title = t("Анализ базы", "Analysis of the base"),
        until_word = t("Данные по", "Counted up to"),
        until = a.until,
        cur_word = t("валюта", "currency"),
        cur = esc(&currency),
    );
    tiles(&mut o, a, lang);
    periods(&mut o, a, lang);
    cohorts(&mut o, a, lang);
    rfm(&mut o, a, lang);
    sources(&mut o, &a.sources, lang);
    freshness(&mut o, a, lang);
    model(&mut o, a, lang);
    o.push_str("</body></html>\n");
    o
}

fn tiles(o: &mut String, a: &Analysis, lang: Lang) {
    let t = |ru, en| lang.pick(ru, en);
    let h = &a.headline;
    let items = [
        (
            "customers",
            t("Клиенты", "Customers"),
            h.totals.customers.to_string(),
        ),
        ("revenue", t("Выручка", "Revenue"), money(h.totals.revenue)),
        ("orders", t("Заказы", "Orders"), h.totals.orders.to_string()),
        (
            "average-check",
            t("Средний чек", "Average check"),
            opt_money(h.average_check),
        ),
        (
            "repeat-rate",
            t("Повторные покупки", "Repeat purchase rate"),
            pct(h.repeat_purchase_rate),
        ),
        (
            "retention",
            t("Удержание за год", "Retention, last year"),
            pct(h.retention_rate_year),
        ),
        (
            "ltv",
            t(
                "LTV (чек × покупки × срок)",
                "LTV (check × purchases × lifetime)",
            ),
            opt_money(h.lifetime_value),
        ),
        (
            "pareto",
            t("Доля выручки топ-20 %", "Revenue from the top 20 %"),
            pct(h.totals.top_20_percent_revenue_share),
        ),
    ];
    o.push_str("<section class=\"tiles\">");
    for (id, name, value) in items {
        let _ = write!(
            o,
            "<div class=\"tile\" id=\"tile-{id}\">{}<b>{}</b></div>",
            esc(name),
            esc(&value)
        );
    }
    o.push_str("</section>");
}

fn periods(o: &mut String, a: &Analysis, lang: Lang) {
    let t = |ru, en| lang.pick(ru, en);
    let revenue: Vec<(String, f64)> = a
        .periods
        .iter()
        .map(|p| (p.period.clone(), p.revenue))
        .collect();
    let retention: Vec<(String, f64)> = a
        .periods
        .iter()
        .filter_map(|p| p.retention_rate.map(|r| (p.period.clone(), r)))
        .collect();
    let _ = write!(
        o,
        "<section><h2>{}</h2>{}<h2>{}</h2>{}",
        t("Выручка по периодам", "Revenue per period"),
        column_chart("revenue", &revenue, money, "#3a7bd5"),
        t("Удержание по периодам, %", "Retention per period, %"),
        column_chart("retention", &retention, |v| format!("{v:.0}"), "#2e8b57"),
    );
    let rows = a.periods.iter().map(|p| {
        vec![
            p.period.clone(),
            money(p.revenue),
            p.orders.to_string(),
            opt_money(p.average_check),
            p.buyers.to_string(),
            p.new_customers.to_string(),
            pct(p.repeat_purchase_rate),
            p.customers_at_start.to_string(),
            p.customers_at_end.to_string(),
            pct(p.retention_rate),
        ]
    });
    o.push_str(&html_table(
        &[
            t("Период", "Period"),
            t("Выручка", "Revenue"),
            t("Заказы", "Orders"),
            t("Средний чек", "Average check"),
            t("Покупатели", "Buyers"),
            t("Новые", "New"),
            t("Повторные, %", "Repeat, %"),
            t("На начало", "At start"),
            t("На конец", "At end"),
            t("Удержание", "Retention"),
        ],
        rows,
    ));
    let _ = write!(
        o,
        "<p class=\"note\">{}</p></section>",
        esc(&format!(
            "{} {} {}",
            t(
                "Удержание = (клиенты на конец − новые) ÷ клиенты на начало × 100 %. Клиент активен, если его последняя покупка не старше",
                "Retention = (customers at the end − new customers) ÷ customers at the start × 100 %. A customer is active while their last purchase is at most"
            ),
            a.lost_after_days,
            t("дней.", "days old.")
        ))
    );
}

fn cohorts(o: &mut String, a: &Analysis, lang: Lang) {
    let t = |ru, en| lang.pick(ru, en);
    let width = a.cohort_months(24);
    let _ = write!(
        o,
        "<section><h2>{}</h2><table id=\"cohorts\"><thead><tr><th>{}</th><th>{}</th>",
        t(
            "Когорты: доля покупавших через N месяцев после первой покупки",
            "Cohorts: share buying N months after the first purchase"
        ),
        t("Когорта", "Cohort"),
        t("Клиенты", "Customers"),
    );
    for k in 0..width {
        let _ = write!(o, "<th>{k}</th>");
    }
    o.push_str("</tr></thead><tbody>");
    for c in &a.cohorts {
        let _ = write!(o, "<tr><td>{}</td><td>{}</td>", esc(&c.cohort), c.customers);
        for k in 0..width {
            match c.buying.get(k) {
                Some(n) if c.customers > 0 => {
                    let share = *n as f64 / c.customers as f64;
                    let _ = write!(
                        o,
                        "<td class=\"cell\" style=\"background:{}\" title=\"{n}\">{:.0} %</td>",
                        heat(share),
                        share * 100.0
                    );
                }
                _ => o.push_str("<td></td>"),
            }
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></section>");
}

fn rfm(o: &mut String, a: &Analysis, lang: Lang) {
    let t = |ru, en| lang.pick(ru, en);
    let total: u64 = a.rfm.iter().map(|c| c.customers).sum();
    let _ = write!(
        o,
        "<section><h2>{}</h2><table id=\"rfm\"><thead><tr><th>R \\ FM</th>",
        t(
            "RFM: давность × (частота и сумма)",
            "RFM: recency × (frequency and monetary)"
        ),
    );
    for fm in 1..=5 {
        let _ = write!(o, "<th>{fm}</th>");
    }
    o.push_str("</tr></thead><tbody>");
    for r in (1..=5u8).rev() {
        let _ = write!(o, "<tr><th>{r}</th>");
        for fm in 1..=5u8 {
            let cell = a.rfm.iter().find(|c| c.r == r && c.fm == fm);
            let segment = crate::analysis::rfm::Segment::of(r, fm, fm).name();
            let n = cell.map_or(0, |c| c.customers);
            let share = if total > 0 {
                n as f64 / total as f64
            } else {
                0.0
            };
            let _ = write!(
                o,
                "<td class=\"cell\" style=\"background:{}\">{}<br><b>{n}</b></td>",
                heat((share * 5.0).min(1.0)),
                esc(segment)
            );
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></section>");
}

fn sources(o: &mut String, sources: &[SourceRow], lang: Lang) {
    let t = |ru, en| lang.pick(ru, en);
    let mut bars = Vec::new();
    for s in sources
        .iter()
        .filter(|s| s.figures.activity.customers > 0 || s.figures.spend > 0.0)
    {
        if let Some(v) = s.lifetime_value {
            bars.push((format!("{} · LTV", s.figures.source), v, money(v)));
        }
        if let Some(v) = s.acquisition_cost {
            bars.push((format!("{} · CAC", s.figures.source), v, money(v)));
        }
    }
    let _ = write!(
        o,
        "<section><h2>{}</h2>{}",
        t(
            "Источники: ценность клиента и стоимость привлечения",
            "Sources: customer value and acquisition cost"
        ),
        bar_rows("sources-ltv", &bars, "#8e44ad"),
    );
    let rows = sources.iter().map(|s| {
        let f = &s.figures;
        vec![
            f.source.clone(),
            f.leads.to_string(),
            f.callable_leads.to_string(),
            f.activity.customers.to_string(),
            money(f.activity.revenue),
            money(f.spend),
            opt_money(s.acquisition_cost),
            opt_money(s.cost_per_callable_lead),
            opt_money(s.average_check),
            opt_money(s.lifetime_value),
            opt_money(f.expected_value_per_customer),
        ]
    });
    o.push_str(&html_table(
        &[
            t("Источник", "Source"),
            t("Лиды", "Leads"),
            t("Можно звонить", "Callable"),
            t("Клиенты", "Customers"),
            t("Выручка", "Revenue"),
            t("Расход", "Spend"),
            t("Цена клиента", "Acquisition cost"),
            t("Цена лида для звонка", "Cost per callable lead"),
            t("Средний чек", "Average check"),
            "LTV",
            t("Ожидаемая ценность (модель)", "Expected value (model)"),
        ],
        rows,
    ));
    o.push_str("</section>");
}

fn freshness(o: &mut String, a: &Analysis, lang: Lang) {
    let t = |ru, en| lang.pick(ru, en);
    let share = |n: u64, d: u64| {
        if d > 0 {
            n as f64 / d as f64 * 100.0
        } else {
            0.0
        }
    };
    let rows: Vec<(String, f64, String)> = super::freshness_rows(&a.freshness)
        .into_iter()
        .map(|(en, ru, n, of)| {
            let name = t(ru, en);
            (
                capitalised(name),
                share(n, of),
                format!("{:.1} % ({n})", share(n, of)),
            )
        })
        .collect();
    let _ = write!(
        o,
        "<section><h2>{}</h2>{}<p class=\"note\">{}</p></section>",
        t("Свежесть базы", "Base freshness"),
        bar_rows("freshness", &rows, "#e67e22"),
        esc(t(
            "Типичная база теряет около 20 % контактов в год; чистка часто находит около 30 % устаревших.",
            "A typical base loses about 20 % of its contacts a year; a cleanup often finds about 30 % outdated."
        ))
    );
}

fn model(o: &mut String, a: &Analysis, lang: Lang) {
    let t = |ru, en| lang.pick(ru, en);
    let Some(m) = &a.model else {
        return;
    };
    let mut rows = vec![
        vec!["BG/NBD r".to_string(), format!("{:.4}", m.bg_nbd.r)],
        vec!["BG/NBD α".into(), format!("{:.4}", m.bg_nbd.alpha)],
        vec!["BG/NBD a".into(), format!("{:.4}", m.bg_nbd.a)],
        vec!["BG/NBD b".into(), format!("{:.4}", m.bg_nbd.b)],
    ];
    if let Some(g) = &m.gamma_gamma {
        rows.push(vec!["Gamma-Gamma p".into(), format!("{:.4}", g.p)]);
        rows.push(vec!["Gamma-Gamma q".into(), format!("{:.4}", g.q)]);
        rows.push(vec!["Gamma-Gamma γ".into(), format!("{:.4}", g.gamma)]);
    }
    rows.push(vec![
        t("Клиентов в подгонке", "Customers fitted").into(),
        format!("{} / {}", m.customers_fitted, m.customers),
    ]);
    rows.push(vec![
        format!(
            "{} ({:.0} {})",
            t("Ожидаемые покупки", "Expected purchases"),
            m.horizon_weeks,
            t("нед.", "weeks")
        ),
        format!("{:.0}", m.expected_purchases),
    ]);
    rows.push(vec![
        t("Ожидаемая выручка", "Expected revenue").into(),
        money(m.expected_value),
    ]);
    rows.push(vec![
        t(
            "Средняя вероятность, что клиент активен",
            "Mean probability a customer is active",
        )
        .into(),
        format!("{:.1} %", m.mean_p_alive * 100.0),
    ]);
    let _ = write!(
        o,
        "<section id=\"model\"><h2>{}</h2>{}<p class=\"note\">{}</p></section>",
        t(
            "Модель пожизненной ценности (BG/NBD + Gamma-Gamma)",
            "Lifetime value model (BG/NBD + Gamma-Gamma)"
        ),
        html_table(&[t("Параметр", "Parameter"), t("Значение", "Value")], rows),
        esc(t(
            "Прогноз по каждому клиенту — в таблице customer_value.",
            "Each customer's prediction is in the customer_value table."
        ))
    );
}
