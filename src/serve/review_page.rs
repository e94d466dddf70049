//! The review queue in the browser: `/review` lists what a reviewer should decide next,
//! `/review/pair?a=&b=` shows two records side by side with the matcher's evidence field
//! by field and the decisions already made about them. With `serve --allow-edits` the
//! pair page has two buttons, "same person" and "different people", that post to
//! `/review/decide` with the server's CSRF token; the verdict is recorded as a label in
//! `match_decisions` and applied at once. Without `--allow-edits` that route does not
//! exist.

use super::view::{table, View};
use crate::dedupe::evidence::{score_pair, PairScore};
use crate::dedupe::model::Weights;
use crate::report::esc;
use crate::review::{self, Correction, Reviewer};
use crate::settings::Settings;
use crate::store::dedupe::review::ReviewRecord;
use crate::store::Store;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;

/// How many pairs the queue page lists.
const QUEUE_PAGE: usize = 100;

/// What `--allow-edits` gives the pages: the token every form must carry, and the name
/// decisions are recorded under.
#[derive(Clone, Debug)]
pub struct Edits {
    pub token: String,
    pub actor: String,
}

fn kind_label(view: View, kind: &str) -> &'static str {
    match kind {
        "possible_match" => view.pick("возможно, один человек", "possible match"),
        "weak_merge" => view.pick("слабое слияние", "weak merge"),
        "conflict" => view.pick("противоречие в лиде", "conflict in a lead"),
        _ => view.pick("пара", "pair"),
    }
}

/// `/review`: the queue, best first.
pub(super) fn queue_page(store: &Store, view: View, edits: bool) -> Response {
    let settings = Settings::of_base(store).unwrap_or_default();
    let entries = match review::queue(store, &settings, QUEUE_PAGE) {
        Ok(e) => e,
        Err(e) => return error(view, &e.to_string()),
    };
    let mut body = format!(
        "<h1 id=\"review\">{}</h1><p class=\"hint\">{}</p>",
        view.pick("Очередь проверки", "Review queue"),
        if edits {
            view.pick(
                "Пары, в которых сопоставление не уверено, и лиды с противоречиями: сначала самые спорные и ценные (тёплые, с согласием). Откройте пару и решите.",
                "Pairs the matcher is unsure of and leads with conflicts: most uncertain and most valuable (warm, callable) first. Open a pair and decide.",
            )
        } else {
            view.pick(
                "Только просмотр: запустите leadpipe serve --allow-edits, чтобы решать здесь, или используйте leadpipe label.",
                "Read-only: start leadpipe serve --allow-edits to decide here, or use leadpipe label.",
            )
        }
    );
    let rows = entries.iter().enumerate().map(|(rank, e)| {
        let i = &e.item;
        let href = format!("/review/pair?a={}&b={}", i.record_a, i.record_b);
        vec![
            (rank + 1).to_string(),
            format!("<a href=\"{href}\">{}</a>", esc(kind_label(view, &i.kind))),
            i.probability.map_or("—".into(), |p| format!("{p:.3}")),
            esc(e.a.full_name.as_deref().unwrap_or("")),
            esc(e.b.full_name.as_deref().unwrap_or("")),
            esc(i.detail.as_deref().unwrap_or("")),
            i.warmth_score.map_or(String::new(), |w| w.to_string()),
            if i.callable {
                view.pick("да", "yes")
            } else {
                ""
            }
            .to_string(),
        ]
    });
    let head = [
        "#",
        view.pick("что", "what"),
        view.pick("вероятность", "probability"),
        view.pick("запись A", "record A"),
        view.pick("запись B", "record B"),
        view.pick("противоречие", "conflict"),
        view.pick("теплота", "warmth"),
        view.pick("можно звонить", "callable"),
    ];
    body.push_str(&table("queue", &head, rows));
    if entries.is_empty() {
        let _ = write!(
            body,
            "<p id=\"empty\">{}</p>",
            view.pick("Проверять нечего.", "Nothing to review.")
        );
    }
    view.page(view.pick("Очередь проверки", "Review queue"), &body)
        .into_response()
}

/// `/review/pair?a=&b=`: the two records side by side, the evidence, the decisions, and
/// with `edits` the buttons.
pub(super) fn pair_page(
    store: &Store,
    view: View,
    (a, b): (i64, i64),
    edits: Option<&Edits>,
    done: Option<i64>,
) -> Response {
    let records = match store.review_records(&[a, b]) {
        Ok(r) => r,
        Err(e) => return error(view, &e.to_string()),
    };
    let (Some(ra), Some(rb)) = (records.get(&a), records.get(&b)) else {
        return super::lead_page::not_found(view, &format!("{a} / {b}"));
    };
    let title = format!("{} {a} / {b}", view.pick("Записи", "Records"));
    let mut body = format!("<h1 id=\"pair\">{}</h1>", esc(&title));
    if let Some(id) = done {
        let _ = write!(
            body,
            "<p id=\"decided\" class=\"ok\">{} #{id}. {}</p>",
            view.pick("Решение записано", "Decision recorded"),
            view.pick(
                "Лиды пересобраны с его учётом.",
                "The leads were clustered again with it."
            )
        );
    }
    body.push_str(&side_by_side(view, ra, rb));
    match pair_score(store, a, b) {
        Some(score) => body.push_str(&evidence(view, &score)),
        None => {
            let _ = write!(
                body,
                "<p class=\"hint\">{}</p>",
                view.pick(
                    "Модель сопоставления ещё не сохранена: оценки нет.",
                    "No match model stored yet: no score."
                )
            );
        }
    }
    body.push_str(&decisions_about(store, view, a, b));
    if let Some(edits) = edits {
        body.push_str(&buttons(view, a, b, &edits.token));
    }
    view.page(&title, &body).into_response()
}

fn side_by_side(view: View, a: &ReviewRecord, b: &ReviewRecord) -> String {
    let opt = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
    let lead = |r: &ReviewRecord| {
        r.lead_id
            .map_or(String::new(), |l| format!("<a href=\"/lead/{l}\">{l}</a>"))
    };
    let source = |r: &ReviewRecord| {
        format!(
            "{} ({}{})",
            esc(&r.source),
            esc(&r.origin),
            r.source_row.map_or(String::new(), |n| format!(", {n}"))
        )
    };
    let rows: Vec<(&str, String, String)> = vec![
        (view.pick("лид", "lead"), lead(a), lead(b)),
        (
            view.pick("ФИО", "name"),
            opt(&a.full_name),
            opt(&b.full_name),
        ),
        (
            view.pick("отчество", "patronymic"),
            opt(&a.middle_name),
            opt(&b.middle_name),
        ),
        (view.pick("пол", "gender"), opt(&a.gender), opt(&b.gender)),
        (
            view.pick("телефон", "phone"),
            opt(&a.phone_e164),
            opt(&b.phone_e164),
        ),
        ("e-mail", opt(&a.email), opt(&b.email)),
        (view.pick("город", "city"), opt(&a.city), opt(&b.city)),
        (
            view.pick("компания", "company"),
            opt(&a.company),
            opt(&b.company),
        ),
        ("ИНН", opt(&a.inn), opt(&b.inn)),
        (view.pick("источник", "source"), source(a), source(b)),
    ];
    let head = [
        "",
        &format!("A: {}", a.record_id)[..],
        &format!("B: {}", b.record_id)[..],
    ]
    .map(str::to_string);
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    table(
        "records",
        &head,
        rows.into_iter()
            .map(|(k, x, y)| vec![esc(k), x, y])
            .collect::<Vec<_>>(),
    )
}

/// The pair scored with the stored model, as a clustering scores it.
fn pair_score(store: &Store, a: i64, b: i64) -> Option<PairScore> {
    let weights: Weights = serde_json::from_str(&store.latest_weights().ok()??).ok()?;
    let records = store.match_records_of(&[a, b]).ok()?;
    let (x, y) = match records.as_slice() {
        [x, y] if x.record_id == a => (x, y),
        [y, x] => (x, y),
        _ => return None,
    };
    let names = store
        .model_names(&crate::dedupe::name_values(&records))
        .unwrap_or_default();
    Some(score_pair(x, y, &weights, &names))
}

fn evidence(view: View, s: &PairScore) -> String {
    let mut out = format!(
        "<h2>{}</h2><p id=\"probability\" data-p=\"{:.6}\">{} {:.4} ({} {:+.1})</p>",
        view.pick("Доводы сопоставления", "The matcher's evidence"),
        s.probability,
        view.pick(
            "Вероятность, что это один человек:",
            "Probability they are one person:"
        ),
        s.probability,
        view.pick("вес", "weight"),
        s.match_weight
    );
    if let Some(v) = s.veto {
        let _ = write!(
            out,
            "<p id=\"veto\">{} {}</p>",
            view.pick("Никогда не объединяются:", "Never merged:"),
            esc(v.as_str())
        );
    }
    let rows = s.fields.iter().map(|f| {
        vec![
            esc(f.field),
            esc(f.level.unwrap_or("—")),
            if f.level.is_some() {
                format!("{:+.1}", f.weight)
            } else {
                String::new()
            },
        ]
    });
    let head = [
        view.pick("поле", "field"),
        view.pick("совпадение", "agreement"),
        view.pick("вес (log2)", "weight (log2)"),
    ];
    out.push_str(&table("evidence", &head, rows));
    out
}

fn decisions_about(store: &Store, view: View, a: i64, b: i64) -> String {
    let Ok(all) = store.decisions(Some(&[a, b])) else {
        return String::new();
    };
    if all.is_empty() {
        return String::new();
    }
    let rows = all.iter().map(|d| {
        vec![
            format!("#{}", d.decision_id),
            esc(d.kind.as_str()),
            esc(&d.actor),
            view.time(d.decided_at),
            esc(&d.reason),
        ]
    });
    let head = [
        "#",
        view.pick("решение", "decision"),
        view.pick("кто", "who"),
        view.pick("когда", "when"),
        view.pick("почему", "why"),
    ];
    format!(
        "<h2>{}</h2>{}",
        view.pick("Решения об этих записях", "Decisions about these records"),
        table("decisions", &head, rows)
    )
}

/// The two verdicts, each a form posting the pair, the token and the reason.
fn buttons(view: View, a: i64, b: i64, token: &str) -> String {
    let form = |verdict: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/review/decide\" class=\"verdict\">\
             <input type=\"hidden\" name=\"a\" value=\"{a}\">\
             <input type=\"hidden\" name=\"b\" value=\"{b}\">\
             <input type=\"hidden\" name=\"verdict\" value=\"{verdict}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input name=\"reason\" id=\"reason-{verdict}\" required placeholder=\"{}\" aria-label=\"{}\">\
             <button id=\"{verdict}\" type=\"submit\">{}</button></form>",
            esc(token),
            view.pick("почему (обязательно)", "why (required)"),
            view.pick("почему", "why"),
            esc(label)
        )
    };
    format!(
        "<h2>{}</h2>{}{}",
        view.pick("Ваше решение", "Your decision"),
        form("same", view.pick("Один человек", "Same person")),
        form("different", view.pick("Разные люди", "Different people"))
    )
}

/// A verdict posted from the pair page (the token checked by the caller).
#[derive(serde::Deserialize)]
pub struct Verdict {
    pub a: i64,
    pub b: i64,
    pub verdict: String,
    /// Missing is refused like wrong (403), not as a malformed form.
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
}

/// Records and applies the verdict; the id of the decision, or why not.
pub(super) fn decide(
    db: &std::path::Path,
    v: &Verdict,
    actor: &str,
) -> Result<i64, review::DecisionError> {
    let same = match v.verdict.as_str() {
        "same" => true,
        "different" => false,
        other => {
            return Err(review::DecisionError::Pointless(format!(
                "unknown verdict {other:?}: same or different"
            )))
        }
    };
    let correction = Correction::Label {
        same,
        record_a: v.a,
        record_b: v.b,
    };
    let who = Reviewer {
        actor: actor.to_string(),
        reason: v.reason.clone(),
        via: "review page".into(),
    };
    review::decide(db, &correction, &who, false).map(|(id, _)| id)
}

fn error(view: View, message: &str) -> Response {
    let body = format!("<p>{}</p>", esc(message));
    let title = view.pick("ошибка", "error");
    (StatusCode::INTERNAL_SERVER_ERROR, view.page(title, &body)).into_response()
}
