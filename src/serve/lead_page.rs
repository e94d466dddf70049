//! The page of one lead, a section each: its golden record, its warmth and why, the member
//! records it was merged from, why they were merged, and its consent (current status per
//! channel and purpose, then the whole history). Text in the page's language, times in the
//! base's zone with the offset.

use super::view::{self, fields_table, label, labels, table, View};
use crate::consent::{current_status, Channel, ConsentEvent, Purpose};
use crate::report::esc;
use crate::store::Store;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt::Write as _;

/// The page of lead `id`: 404 when there is no such lead, 500 when it cannot be read.
pub(super) fn lead_page(store: &Store, view: View, id: i64) -> Response {
    // Warmth as of now, in the base's settings (the defaults if they no longer read).
    let scoring = crate::settings::Settings::of_base(store)
        .map(|s| s.warmth)
        .unwrap_or_default();
    let explained = match store.explain_lead(id, Some((&scoring, chrono::Utc::now()))) {
        Ok(Some(e)) => e,
        Ok(None) => return not_found(view, &id.to_string()),
        Err(e) => {
            let body = format!(
                "<p>{} {id}: {}</p>",
                view.pick("Не удаётся прочитать лид", "Cannot read lead"),
                esc(&e.to_string())
            );
            let title = view.pick("ошибка", "error");
            return (StatusCode::INTERNAL_SERVER_ERROR, view.page(title, &body)).into_response();
        }
    };
    let lead = &explained.lead;
    let name = text(lead, "full_name");
    let title = format!("{} {id}", view.pick("Лид", "Lead"));
    let mut body = format!(
        "<h1 id=\"lead\">{}{}{}</h1><p>{}</p>",
        esc(&title),
        if name.is_empty() { "" } else { ": " },
        esc(&name),
        view::consent_badge(view.lang, &text(lead, "call_consent"))
    );
    golden_record(&mut body, view, lead);
    warmth(&mut body, view, lead);
    member_records(&mut body, view, &explained.members);
    merge_evidence(&mut body, view, &explained.links);
    decisions(&mut body, view, &explained.decisions);
    consent(&mut body, view, &consent_history(store, id), Utc::now());
    view.page(&title, &body).into_response()
}

/// 404 for a lead that does not exist, or an address that names no lead (`/lead/abc`).
pub(super) fn not_found(view: View, asked: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p id=\"not-found\">{} {}. <a href=\"/\">{}</a>.</p>",
        view.pick("Лид не найден", "Lead not found"),
        view.pick("Нет лида", "There is no lead"),
        esc(asked),
        view.pick("Искать снова", "Search again")
    );
    let title = view.pick("не найдено", "not found");
    (StatusCode::NOT_FOUND, view.page(title, &body)).into_response()
}

/// A field of a JSON row as page text: a string as it is, null or missing as empty, a list
/// as its items separated by commas (`+79161234567, +74951234567`, not JSON), anything else
/// (numbers) as written.
fn text(row: &Value, key: &str) -> String {
    fn plain(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        }
    }
    row.get(key).map(plain).unwrap_or_default()
}

/// Each phone of a `, `-separated list written as people read it, escaped.
fn phones(list: &str) -> String {
    list.split(", ")
        .filter(|p| !p.is_empty())
        .map(|p| format!("<span class=\"nowrap\">{}</span>", esc(&view::phone(p))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A place by the gazetteer's name, with what the records wrote beside it when that
/// differs (`Санкт-Петербург (в записях: СПб)`), escaped.
fn place(view: View, lead: &Value, canonical: &str, written: &str) -> String {
    let (name, as_written) = (text(lead, canonical), text(lead, written));
    if name.is_empty() {
        esc(&as_written)
    } else if as_written.is_empty() || as_written == name {
        esc(&name)
    } else {
        let said = view.pick("в записях", "written");
        esc(&format!("{name} ({said}: {as_written})"))
    }
}

fn golden_record(body: &mut String, view: View, lead: &Value) {
    let lang = view.lang;
    let t = |k: &str| esc(&text(lead, k));
    let time = |k: &str| {
        let stored = text(lead, k);
        if stored.is_empty() {
            stored
        } else {
            esc(&view.stored_time(&stored))
        }
    };
    let rows = [
        (
            view.pick("Телефон", "Phone"),
            phones(&text(lead, "phone_e164")),
        ),
        (
            view.pick("Все телефоны", "All phones"),
            phones(&text(lead, "phones")),
        ),
        ("E-mail", t("email")),
        (view.pick("Все e-mail", "All e-mails"), t("emails")),
        (view.pick("Компания", "Company"), t("company")),
        (
            view.pick("Город", "City"),
            place(view, lead, "city_canonical", "city"),
        ),
        (
            view.pick("Регион", "Region"),
            place(view, lead, "region_name", "region"),
        ),
        (view.pick("Часовой пояс", "Time zone"), t("timezone")),
        (
            view.pick("Кто это", "Subject"),
            esc(&label(lang, &text(lead, "subject_type"))),
        ),
        (view.pick("Источники", "Sources"), t("sources")),
        (
            view.pick("Происхождение", "Origins"),
            esc(&labels(lang, &text(lead, "origins"))),
        ),
        (view.pick("Записей", "Records"), t("record_count")),
        (
            view.pick("Впервые замечен", "First seen"),
            time("first_seen_at"),
        ),
        (
            view.pick("Последний раз", "Last seen"),
            time("last_seen_at"),
        ),
    ];
    let _ = write!(
        body,
        "<h2>{}</h2>{}",
        view.pick("Основная запись", "Golden record"),
        fields_table(&rows)
    );
}

/// The score and tier, and the points behind them, biggest first.
fn warmth(body: &mut String, view: View, lead: &Value) {
    let n = |k: &str| lead.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
    let mut points = [
        (view.pick("источник", "source"), n("warmth_origin")),
        (view.pick("свежесть", "recent"), n("warmth_recency")),
        (view.pick("возвращался", "came back"), n("warmth_frequency")),
        (view.pick("отклик", "engaged"), n("warmth_engagement")),
        (
            view.pick("полнота данных", "complete"),
            n("warmth_completeness"),
        ),
    ];
    points.sort_by_key(|(_, p)| -p.abs());
    let why = points
        .iter()
        .filter(|(_, p)| *p != 0)
        .map(|(name, p)| format!("{name} {p:+}"))
        .collect::<Vec<_>>()
        .join(" · ");
    let score = text(lead, "warmth_score");
    let _ = write!(
        body,
        "<h2>{}</h2><p id=\"warmth\"><span class=\"tier\">{} {}</span> — {}</p>",
        view.pick("Теплота", "Warmth"),
        esc(if score.is_empty() { "–" } else { &score }),
        esc(&label(view.lang, &text(lead, "warmth_tier"))),
        esc(&why)
    );
}

fn member_records(body: &mut String, view: View, members: &[Value]) {
    let head = [
        view.pick("Запись", "Record"),
        view.pick("Источник", "Source"),
        view.pick("Строка", "Row"),
        view.pick("Происхождение", "Origin"),
        view.pick("ФИО", "Name"),
        view.pick("Телефон", "Phone"),
        "E-mail",
        view.pick("Город", "City"),
    ];
    let rows = members.iter().map(|m| {
        let t = |k: &str| esc(&text(m, k));
        vec![
            t("record_id"),
            t("source"),
            t("source_row"),
            esc(&label(view.lang, &text(m, "origin"))),
            t("full_name"),
            phones(&text(m, "phone_e164")),
            t("email"),
            t("city"),
        ]
    });
    let _ = write!(
        body,
        "<h2>{}</h2>{}",
        view.pick("Исходные записи", "Member records"),
        table("members", &head, rows)
    );
}

/// Reviewers' decisions about the lead's records, with their standing; nothing when none.
fn decisions(body: &mut String, view: View, decisions: &[Value]) {
    if decisions.is_empty() {
        return;
    }
    let head = [
        "#",
        view.pick("Решение", "Decision"),
        view.pick("Записи", "Records"),
        view.pick("Кто и когда", "Who and when"),
        view.pick("Почему", "Why"),
        view.pick("В силе", "Standing"),
    ];
    let rows = decisions.iter().map(|d| {
        let standing = match d["standing"]["status"].as_str() {
            Some("in_force") => view.pick("в силе", "in force").to_string(),
            Some(s) => format!(
                "{} {}",
                match s {
                    "partly_superseded" =>
                        view.pick("частично заменено решением", "partly superseded by"),
                    "superseded" => view.pick("заменено решением", "superseded by"),
                    _ => view.pick("неприменимо: записей нет", "moot: its records are gone"),
                },
                d["standing"]["by"]
                    .as_array()
                    .map(|b| b
                        .iter()
                        .map(|x| format!("#{x}"))
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            ),
            None => String::new(),
        };
        vec![
            esc(&text(d, "decision_id")),
            esc(&text(d, "kind")),
            esc(&format!(
                "{} / {}",
                text(d, "records_a"),
                text(d, "records_b")
            )),
            esc(&format!(
                "{}, {}",
                text(d, "actor"),
                view.stored_time(&text(d, "decided_at"))
            )),
            esc(&text(d, "reason")),
            esc(&standing),
        ]
    });
    let _ = write!(
        body,
        "<h2>{}</h2>",
        view.pick("Решения проверяющих", "Reviewers' decisions")
    );
    body.push_str(&table("decisions", &head, rows));
}

/// Each link between two member records: the match probability and what each field
/// contributed to it.
fn merge_evidence(body: &mut String, view: View, links: &[Value]) {
    let _ = write!(
        body,
        "<h2>{}</h2>",
        view.pick("Почему записи объединены", "Why these records were merged")
    );
    if links.is_empty() {
        let _ = write!(
            body,
            "<p class=\"muted\">{}</p>",
            view.pick(
                "Лид собран из одной записи: объединять было нечего.",
                "The lead has one record: nothing was merged."
            )
        );
        return;
    }
    let head = [
        view.pick("Записи", "Records"),
        view.pick("Вероятность", "Probability"),
        view.pick(
            "Вклад полей (log2 отношения шансов)",
            "Field weights (log2 odds)",
        ),
    ];
    let rows = links.iter().map(|l| {
        vec![
            esc(&format!(
                "{} + {}",
                text(l, "record_a"),
                text(l, "record_b")
            )),
            format!(
                "{:.4}",
                l.get("probability").and_then(|p| p.as_f64()).unwrap_or(0.0)
            ),
            field_weights(view, l),
        ]
    });
    body.push_str(&table("links", &head, rows));
}

/// `field: level ±weight` for each compared field of a link, `; `-separated (escaped).
fn field_weights(view: View, link: &Value) -> String {
    link.get("fields")
        .and_then(|f| f.as_array())
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    esc(&format!(
                        "{}: {} {:+.1}",
                        evidence_label(view, &text(f, "field")),
                        evidence_label(view, &text(f, "level")),
                        f.get("weight").and_then(|w| w.as_f64()).unwrap_or(0.0)
                    ))
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// The compared fields and how they compared, in words (unknown codes as they are; an
/// empty level: one of the two records has no value).
fn evidence_label(view: View, code: &str) -> String {
    let (ru, en) = match code {
        "name" => ("ФИО", "name"),
        "middle_name" => ("отчество", "patronymic"),
        "phone" => ("телефон", "phone"),
        "email" => ("e-mail", "e-mail"),
        "city" => ("город", "city"),
        "company" => ("компания", "company"),
        "inn" => ("ИНН", "INN"),
        "exact" | "equal" => ("совпадает", "same"),
        "fuzzy" => ("похоже", "similar"),
        "typo" => ("опечатка", "typo"),
        "initial" => ("инициал", "initial"),
        "partial" => ("частично", "partly"),
        "surname_only" => ("только фамилия", "surname only"),
        "first_only" => ("только имя", "first name only"),
        "differ" => ("различается", "differs"),
        "" => ("нет данных", "missing"),
        other => return other.to_string(),
    };
    view.pick(ru, en).to_string()
}

/// Every consent event of the lead, any channel or purpose (none when it cannot be read:
/// the page then says there is no consent, the safe side).
fn consent_history(store: &Store, id: i64) -> Vec<ConsentEvent> {
    store
        .gate_leads(Some(id))
        .ok()
        .and_then(|v| v.into_iter().next())
        .map(|l| l.events)
        .unwrap_or_default()
}

/// The current status on each channel and purpose that has events, then the history.
fn consent(body: &mut String, view: View, history: &[ConsentEvent], now: DateTime<Utc>) {
    let statuses = current_statuses(view, history, now);
    let _ = write!(body, "<h2>{}</h2>", view.pick("Согласие", "Consent"));
    if statuses.is_empty() {
        let _ = write!(
            body,
            "<p id=\"consent\">{}</p>",
            view::consent_badge(view.lang, "none")
        );
        let _ = write!(
            body,
            "<p class=\"muted\">{}</p>",
            view.pick(
                "Согласий нет: звонить с рекламой нельзя.",
                "No consent on record: may not be called for advertising."
            )
        );
        return;
    }
    let head = [
        view.pick("Канал", "Channel"),
        view.pick("Цель", "Purpose"),
        view.pick("Статус", "Status"),
        view.pick("Основание", "Basis"),
    ];
    body.push_str(&table("consent", &head, statuses));
    let _ = write!(
        body,
        "<h2>{}</h2>",
        view.pick("История согласий", "Consent history")
    );
    let head = [
        "№",
        view.pick("Канал", "Channel"),
        view.pick("Цель", "Purpose"),
        view.pick("Событие", "Event"),
        view.pick("Когда", "When"),
        view.pick("Источник", "Source"),
        view.pick("Способ", "Method"),
        view.pick("Номер / адрес", "Number / address"),
        view.pick("Примечание", "Note"),
    ];
    let rows = history.iter().map(|e| history_cells(view, e));
    body.push_str(&table("consent-history", &head, rows));
}

/// (channel, purpose, status badge, basis) rows, only for channel and purpose pairs with
/// events.
fn current_statuses(view: View, history: &[ConsentEvent], now: DateTime<Utc>) -> Vec<Vec<String>> {
    let mut statuses = Vec::new();
    for ch in Channel::ALL {
        for pu in Purpose::ALL {
            let ev: Vec<&ConsentEvent> = history
                .iter()
                .filter(|e| e.channel == Some(ch) && e.purpose == Some(pu))
                .collect();
            if ev.is_empty() {
                continue;
            }
            let c = current_status(&ev, now);
            let deciding = c
                .consent_id
                .and_then(|id| history.iter().find(|e| e.consent_id == id));
            statuses.push(vec![
                esc(&label(view.lang, ch.as_str())),
                esc(&label(view.lang, pu.as_str())),
                view::consent_badge(view.lang, c.status.as_str()),
                esc(&basis(view, deciding, c.expires_at)),
            ]);
        }
    }
    statuses
}

/// The deciding event in a line: how, where and when it was given or withdrawn, the wording
/// version and IP, until when it holds, and its number.
fn basis(view: View, event: Option<&ConsentEvent>, expires: Option<DateTime<Utc>>) -> String {
    let Some(e) = event else {
        return view
            .pick("согласий нет", "no consent on record")
            .to_string();
    };
    let mut parts = Vec::new();
    if let Some(m) = &e.method {
        parts.push(label(view.lang, m));
    }
    if let Some(src) = &e.source {
        parts.push(src.clone());
    }
    if let Some(t) = e.effective_at() {
        parts.push(view.time(t));
    }
    if let Some(v) = &e.text_version {
        parts.push(format!("{} {v}", view.pick("текст", "text")));
    }
    if let Some(ip) = &e.evidence_ip {
        parts.push(format!("IP {ip}"));
    }
    if let Some(x) = expires.or(e.expires_at) {
        parts.push(format!(
            "{} {}",
            view.pick("действует до", "valid until"),
            view.lang.date(x, view.zone)
        ));
    }
    parts.push(format!(
        "{} {}",
        view.pick("событие №", "event #"),
        e.consent_id
    ));
    parts.join(", ")
}

fn history_cells(view: View, e: &ConsentEvent) -> Vec<String> {
    let lang = view.lang;
    vec![
        e.consent_id.to_string(),
        esc(&e
            .channel
            .map(|c| label(lang, c.as_str()))
            .unwrap_or_default()),
        esc(&e
            .purpose
            .map(|c| label(lang, c.as_str()))
            .unwrap_or_default()),
        e.status
            .map(|s| view::event_badge(lang, s.as_str()))
            .unwrap_or_default(),
        e.effective_at()
            .map(|t| format!("<span class=\"nowrap\">{}</span>", esc(&view.time(t))))
            .unwrap_or_default(),
        esc(e.source.as_deref().unwrap_or_default()),
        esc(&e
            .method
            .as_deref()
            .map(|m| label(lang, m))
            .unwrap_or_default()),
        e.phone_e164
            .as_deref()
            .map(phones)
            .or(e.email.as_deref().map(esc))
            .unwrap_or_default(),
        esc(e.note.as_deref().unwrap_or_default()),
    ]
}
