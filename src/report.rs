//! The run report: one self-contained HTML file (no network needed to open it) with charts
//! drawn as inline SVG and the numbers beside each: the funnel (read → valid → unique →
//! callable), rejects by reason, source quality, warmth distribution, consent coverage.

use crate::consent::Purpose;
use crate::consent_commands::{call_list, CommandError};
use crate::lang::Lang;
use crate::normalise::Normaliser;
use crate::store::{Store, StoreError};
use crate::warmth::WarmthSettings;
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub pipeline: String,
    pub started_at: String,
    pub status: String,
    /// (step, count): read, valid, unique leads, callable leads.
    pub funnel: Vec<(String, u64)>,
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Per source: (read, accepted, valid phones, valid e-mails, records in a lead with
    /// others = duplicates).
    pub sources: Vec<SourceQuality>,
    pub warmth_tiers: BTreeMap<String, u64>,
    /// Leads per 10-point warmth bucket (0–9, 10–19 …).
    pub warmth_histogram: Vec<(String, u64)>,
    pub consent: BTreeMap<String, u64>,
    /// The matcher against reviewers' labelled pairs, as of now (none labelled: absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<crate::dedupe::LabelAgreement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceQuality {
    pub source: String,
    pub read: u64,
    pub accepted: u64,
    pub phones_valid: u64,
    pub emails_valid: u64,
    pub duplicates: u64,
}

fn db_error(source: duckdb::Error) -> StoreError {
    StoreError::Db {
        context: "building the run report",
        source,
    }
}

fn q<T: duckdb::types::FromSql>(
    store: &Store,
    sql: &str,
    p: impl duckdb::Params,
) -> Result<T, StoreError> {
    store
        .connection()
        .query_row(sql, p, |r| r.get(0))
        .map_err(db_error)
}

fn pairs(store: &Store, sql: &str) -> Result<Vec<(String, u64)>, StoreError> {
    let mut stmt = store.connection().prepare(sql).map_err(db_error)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?
                    .unwrap_or_else(|| "none".into()),
                r.get::<_, i64>(1)? as u64,
            ))
        })
        .map_err(db_error)?;
    rows.collect::<Result<_, _>>().map_err(db_error)
}

/// Leads per tier as of `as_of` (recency decayed to it; see `WarmthSettings::read_sql`).
fn warmth_tiers_sql(warmth: &WarmthSettings, as_of: DateTime<Utc>) -> String {
    let (_, _, tier) = warmth.read_sql("l", as_of);
    format!("SELECT coalesce({tier}, 'unscored'), count(*) FROM leads l GROUP BY 1 ORDER BY 1")
}

/// Leads per 10-point warmth bucket as of `as_of`, labelled `00–09`, `10–19` …, lowest
/// first.
fn warmth_histogram_sql(warmth: &WarmthSettings, as_of: DateTime<Utc>) -> String {
    let (_, score, _) = warmth.read_sql("l", as_of);
    format!(
        "SELECT lpad((s // 10 * 10)::VARCHAR, 2, '0') || '–' || (s // 10 * 10 + 9)::VARCHAR,
                count(*)
         FROM (SELECT ({score})::INTEGER AS s FROM leads l) WHERE s IS NOT NULL
         GROUP BY s // 10 ORDER BY s // 10"
    )
}

const CALL_CONSENT_SQL: &str =
    "SELECT coalesce(call_consent, 'none'), count(*) FROM leads GROUP BY 1 ORDER BY 1";

/// Gathers the report of run `run_id` (the latest run when `None`).
pub fn build(
    store: &Store,
    run_id: Option<i64>,
    normaliser: &Normaliser,
    (warmth, threshold): (&WarmthSettings, f64),
) -> Result<RunReport, CommandError> {
    let run_id: i64 = match run_id {
        Some(id) => id,
        None => q(store, "SELECT coalesce(max(run_id), 0) FROM runs", [])?,
    };
    let run = run_row(store, run_id)?;
    let sources = source_quality(store, &run.summary)?;
    let funnel = funnel(store, run_id, &run.summary, normaliser)?;
    Ok(RunReport {
        run_id,
        pipeline: run.pipeline,
        started_at: run.started_at,
        status: run.status,
        funnel,
        rejects_by_reason: rejects_by_reason(&run.summary),
        sources,
        // The distributions are over all leads: warmth and consent are a lead's, not a run's.
        // Warmth as of now: recency decays for every lead, scored this run or not.
        warmth_tiers: pairs(store, &warmth_tiers_sql(warmth, Utc::now()))?
            .into_iter()
            .collect(),
        warmth_histogram: pairs(store, &warmth_histogram_sql(warmth, Utc::now()))?,
        consent: pairs(store, CALL_CONSENT_SQL)?.into_iter().collect(),
        reviewed: crate::review::label_agreement_now(store, threshold)?,
    })
}

/// The run's row in `runs`, its JSON summary parsed (empty when missing or unreadable).
struct RunRow {
    pipeline: String,
    started_at: String,
    status: String,
    summary: serde_json::Value,
}

fn run_row(store: &Store, run_id: i64) -> Result<RunRow, CommandError> {
    let (pipeline, started_at, status, summary): (String, String, String, Option<String>) = store
        .connection()
        .query_row(
            "SELECT coalesce(pipeline, ''), started_at::VARCHAR, status, summary::VARCHAR
             FROM runs WHERE run_id = ?",
            [run_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(|_| {
            CommandError::BadInput(format!("run {run_id} not found (see `leadpipe runs`)"))
        })?;
    let summary = summary
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    Ok(RunRow {
        pipeline,
        started_at,
        status,
        summary,
    })
}

/// A count in a run summary (0 when absent).
fn count(v: &serde_json::Value, key: &str) -> u64 {
    v.get(key).and_then(|x| x.as_u64()).unwrap_or(0)
}

/// The per-source entries of a run summary.
fn summary_sources(summary: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    summary
        .get("sources")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
}

/// Rejects by reason, summed over the run's sources.
fn rejects_by_reason(summary: &serde_json::Value) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for s in summary_sources(summary) {
        if let Some(r) = s.get("rejects_by_reason").and_then(|v| v.as_object()) {
            for (k, v) in r {
                *total.entry(k.clone()).or_default() += v.as_u64().unwrap_or(0);
            }
        }
    }
    total
}

/// Each source's counts from the summary, and its duplicates: its records now in a lead
/// with others (from the base, so later runs' merges count too).
fn source_quality(
    store: &Store,
    summary: &serde_json::Value,
) -> Result<Vec<SourceQuality>, StoreError> {
    let mut sources = Vec::new();
    for s in summary_sources(summary) {
        let name = s
            .get("source")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let duplicates: i64 = q(
            store,
            "SELECT count(*) FROM records r JOIN leads l USING (lead_id)
             WHERE r.source = ? AND l.record_count > 1",
            [name.as_str()],
        )?;
        sources.push(SourceQuality {
            read: count(s, "rows_read"),
            accepted: count(s, "rows_accepted"),
            phones_valid: count(s, "phones_valid"),
            emails_valid: count(s, "emails_valid"),
            duplicates: duplicates as u64,
            source: name,
        });
    }
    Ok(sources)
}

/// Read → valid → unique → callable. Unique: the leads this run's records belong to;
/// callable: those of them the gate passes now.
fn funnel(
    store: &Store,
    run_id: i64,
    summary: &serde_json::Value,
    normaliser: &Normaliser,
) -> Result<Vec<(String, u64)>, CommandError> {
    let run_leads = run_leads(store, run_id)?;
    let gate = call_list(store, Purpose::Advertising, chrono::Utc::now(), normaliser)?;
    let callable: BTreeSet<i64> = gate
        .callable
        .iter()
        .map(|d| d.lead_id)
        .filter(|id| run_leads.contains(id))
        .collect();
    Ok(vec![
        ("rows read".to_string(), count(summary, "rows_read")),
        (
            "valid (accepted)".to_string(),
            count(summary, "rows_accepted"),
        ),
        ("unique leads".to_string(), run_leads.len() as u64),
        ("callable leads".to_string(), callable.len() as u64),
    ])
}

fn run_leads(store: &Store, run_id: i64) -> Result<BTreeSet<i64>, StoreError> {
    let mut stmt = store
        .connection()
        .prepare("SELECT DISTINCT lead_id FROM records WHERE run_id = ? AND lead_id IS NOT NULL")
        .map_err(db_error)?;
    let rows = stmt
        .query_map([run_id], |r| r.get::<_, i64>(0))
        .map_err(db_error)?;
    rows.collect::<Result<_, _>>().map_err(db_error)
}

/// A time as the base gives it as text (`2026-10-31 21:00:00.5+00`, or RFC 3339).
pub fn parse_stored_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A funnel step, warmth tier, consent status or run status of the report in `lang` (the
/// report keeps the English key; an unknown one is shown as it is).
pub fn term(lang: Lang, key: &str) -> String {
    let ru = match key {
        "rows read" => "прочитано строк",
        "valid (accepted)" => "принято (валидные)",
        "unique leads" => "уникальных лидов",
        "callable leads" => "можно звонить",
        "hot" => "горячие",
        "warm" => "тёплые",
        "cold" => "холодные",
        "unscored" => "без оценки",
        "granted" => "согласие есть",
        "none" => "нет согласия",
        "withdrawn" => "согласие отозвано",
        "expired" => "согласие истекло",
        "claimed" => "со слов продавца базы",
        "ok" => "успешно",
        "failed" => "с ошибкой",
        "running" => "идёт",
        _ => key,
    };
    lang.pick(ru, key).to_string()
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An HTML table of text cells (escaped), for the reports and the review page.
pub fn html_table(head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", esc(&c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A horizontal bar chart as inline SVG, the number beside each bar.
pub fn bar_chart(id: &str, rows: &[(String, u64)], colour: &str) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let h = 26 * rows.len().max(1) + 6;
    let mut o = format!(
        "<svg class=\"chart\" id=\"{id}\" width=\"640\" height=\"{h}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = 4 + i * 26;
        let w = ((*n as f64 / max as f64) * 380.0)
            .round()
            .max(if *n > 0 { 2.0 } else { 0.0 });
        let _ = write!(
            o,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>\
             <rect class=\"bar\" x=\"190\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"{colour}\"><title>{} {n}</title></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\">{n}</text>",
            y + 14,
            esc(label),
            esc(label),
            196.0 + w,
            y + 14
        );
    }
    o.push_str("</svg>");
    o
}

/// The report as one HTML page, in `lang`, its times in `zone` with the offset.
pub fn html(r: &RunReport, lang: Lang, zone: FixedOffset) -> String {
    let mut o = String::new();
    let t = |ru, en| lang.pick(ru, en);
    let started = parse_stored_time(&r.started_at)
        .map_or_else(|| r.started_at.clone(), |at| lang.time(at, zone));
    let _ = write!(
        o,
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>leadpipe {run} {id}</title>\
         <style>body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:900px}}\
         table{{border-collapse:collapse;margin:.5em 0 1.5em}}th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left}}\
         th{{background:#f3f3f3}}section{{margin-bottom:2em}}</style></head><body>\
         <h1>{Run} {id}: {p}</h1><p>{start} <span id=\"started\">{s}</span>, {status} <b>{st}</b>.</p>",
        lang = lang.as_str(),
        run = t("запуск", "run"),
        Run = t("Запуск", "Run"),
        id = r.run_id,
        p = esc(&r.pipeline),
        start = t("Начат", "Started"),
        s = esc(&started),
        status = t("итог:", "status"),
        st = esc(&term(lang, &r.status))
    );
    let named = |rows: &[(String, u64)]| -> Vec<(String, u64)> {
        rows.iter().map(|(k, n)| (term(lang, k), *n)).collect()
    };
    section(
        &mut o,
        t("Воронка", "Funnel"),
        bar_chart("funnel", &named(&r.funnel), "#4a7"),
    );
    section(
        &mut o,
        t("Отклонённые строки по причинам", "Rejects by reason"),
        bar_chart("rejects", &counts(&r.rejects_by_reason), "#c55"),
    );
    source_quality_table(&mut o, lang, &r.sources);
    section(
        &mut o,
        t("Теплота: уровни (все лиды)", "Warmth tiers (all leads)"),
        bar_chart("warmth-tiers", &named(&counts(&r.warmth_tiers)), "#e83"),
    );
    section(
        &mut o,
        t("Теплота: баллы (все лиды)", "Warmth scores (all leads)"),
        bar_chart("warmth-histogram", &r.warmth_histogram, "#e83"),
    );
    section(
        &mut o,
        t("Согласие на звонки (все лиды)", "Call consent (all leads)"),
        bar_chart("consent", &named(&counts(&r.consent)), "#47a"),
    );
    if let Some(a) = &r.reviewed {
        let _ = write!(
            o,
            "<section><h2>{}</h2><p id=\"reviewed\" data-pairs=\"{}\" data-agreed=\"{}\">{}</p></section>",
            t("Проверка людьми", "Human review"),
            a.pairs,
            a.agreed,
            esc(&agreement_sentence(lang, a))
        );
    }
    o.push_str("</body></html>\n");
    o
}

/// "On 212 reviewed pairs the matcher agreed with reviewers 97.6 % …".
pub fn agreement_sentence(lang: Lang, a: &crate::dedupe::LabelAgreement) -> String {
    let share = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1} %", 100.0 * v));
    match lang {
        Lang::Ru => format!(
            "На {} проверенных парах сопоставление совпало с людьми в {:.1} % случаев (точность {}, полнота {}).",
            a.pairs,
            100.0 * a.agreement(),
            share(a.precision()),
            share(a.recall())
        ),
        Lang::En => format!(
            "On {} reviewed pairs the matcher agreed with reviewers {:.1} % (precision {}, recall {}).",
            a.pairs,
            100.0 * a.agreement(),
            share(a.precision()),
            share(a.recall())
        ),
    }
}

fn section(o: &mut String, title: &str, chart: String) {
    let _ = write!(o, "<section><h2>{}</h2>{chart}</section>", esc(title));
}

fn counts(map: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    map.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

/// Per source: rows read and accepted, and the valid phones, valid e-mails and duplicates
/// as shares of the accepted rows.
fn source_quality_table(o: &mut String, lang: Lang, sources: &[SourceQuality]) {
    let head = [
        lang.pick("Качество источников", "Source quality"),
        lang.pick("источник", "source"),
        lang.pick("прочитано", "read"),
        lang.pick("принято", "accepted"),
        lang.pick("валидные телефоны", "valid phones"),
        lang.pick("валидные e-mail", "valid e-mails"),
        lang.pick("доля дублей", "duplicate rate"),
    ];
    let _ = write!(o, "<section><h2>{}</h2><table><tr>", esc(head[0]));
    for h in &head[1..] {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr>");
    for s in sources {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{}</td></tr>",
            esc(&s.source),
            s.read,
            s.accepted,
            s.phones_valid,
            percent(s.phones_valid, s.accepted),
            s.emails_valid,
            percent(s.emails_valid, s.accepted),
            percent(s.duplicates, s.accepted)
        );
    }
    o.push_str("</table></section>");
}

/// `n` as a whole percentage of `d`; a dash when there is nothing to divide by.
fn percent(n: u64, d: u64) -> String {
    if d == 0 {
        "–".to_string()
    } else {
        format!("{:.0}%", n as f64 * 100.0 / d as f64)
    }
}
