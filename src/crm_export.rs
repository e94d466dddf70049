//! `leadpipe export`: golden records for a CRM or a spreadsheet. One row per lead (never
//! per raw record), with the same filters as call lists, and by default only leads that
//! may be called now, with only the numbers they may be called on: a CRM that never holds
//! an uncallable number cannot dial one.
//!
//! Column names follow the CRMs' own import field names, so their import screens map the
//! columns without manual matching: Bitrix24's lead import (Название лида, Фамилия, Имя,
//! Отчество, Мобильный телефон, Частный e-mail, …) and amoCRM's contact-and-deal import
//! (Название сделки, Полное имя контакта, Мобильный телефон, Личный email, Теги, …).

use crate::consent_commands::{CallList, CommandError};
use crate::export::{passes_filters, CallListOptions};
use crate::lang::{label, Lang};
use crate::sheet::{self, Cell, Column, CsvFormat, Table};
use crate::store::consent::LeadCard;
use crate::store::contacts::ContactCard;
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// Who the file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Bitrix24 lead import (CSV, `;`, UTF-8).
    Bitrix24,
    /// amoCRM contact and deal import (XLSX or CSV).
    Amocrm,
    /// A spreadsheet for people: the golden record's fields in the chosen language.
    Csv,
    /// The same as an XLSX workbook.
    Xlsx,
}

/// Which leads go out, by call consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentScope {
    /// Only leads that may be called now, with only their callable numbers.
    #[default]
    Callable,
    /// Every lead with all its numbers, and a column saying which may be called.
    Any,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    pub consent: ConsentScope,
    /// Tier, score, source, city and region filters, shared with call lists; also the
    /// language and zone.
    pub filters: CallListOptions,
    /// Only leads last seen in [since, until).
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// What went out and what was left out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportStats {
    /// Leads in the base seen in the date range.
    pub leads: usize,
    pub exported: usize,
    pub filtered_out: usize,
    /// Left out by `--consent callable`.
    pub not_callable: usize,
}

/// One exported lead: its contact card, its list card (warmth, place, sources) and the
/// numbers that may be called.
struct Lead<'a> {
    contact: &'a ContactCard,
    card: &'a LeadCard,
    phones: Vec<String>,
    callable: bool,
}

/// Writes the export to `out` (XLSX by extension, else CSV).
pub fn export(
    store: &Store,
    list: &CallList,
    opts: &ExportOptions,
    out: &Path,
) -> Result<ExportStats, CommandError> {
    let contacts = store.contact_cards(opts.since, opts.until)?;
    let ids: Vec<i64> = contacts.iter().map(|c| c.lead_id).collect();
    let cards = store.lead_cards(&ids, Some((&opts.filters.warmth, list.as_of)))?;
    let mut callable: HashMap<i64, Vec<String>> = HashMap::new();
    for d in &list.callable {
        callable.entry(d.lead_id).or_default().push(d.phone.clone());
    }
    let no_card = LeadCard::default();
    let mut stats = ExportStats {
        leads: contacts.len(),
        ..ExportStats::default()
    };
    let mut leads = Vec::new();
    for contact in &contacts {
        let card = cards.get(&contact.lead_id).unwrap_or(&no_card);
        let numbers = callable.get(&contact.lead_id);
        if opts.consent == ConsentScope::Callable && numbers.is_none() {
            stats.not_callable += 1;
            continue;
        }
        if !passes_filters(contact.lead_id, card, &opts.filters) {
            stats.filtered_out += 1;
            continue;
        }
        let phones = match opts.consent {
            ConsentScope::Callable => numbers.cloned().unwrap_or_default(),
            ConsentScope::Any => contact.phones.clone(),
        };
        leads.push(Lead {
            contact,
            card,
            phones,
            callable: numbers.is_some(),
        });
    }
    stats.exported = leads.len();
    let lang = opts.filters.lang;
    let zone = opts.filters.zone;
    let (table, csv) = match opts.format {
        ExportFormat::Bitrix24 => (bitrix24(&leads, lang, zone), crm_csv()),
        ExportFormat::Amocrm => (amocrm(&leads, lang, zone), crm_csv()),
        ExportFormat::Csv | ExportFormat::Xlsx => (
            spreadsheet(&leads, opts.consent, lang, zone),
            CsvFormat::excel(),
        ),
    };
    let sheet_name = lang.pick("Лиды", "Leads");
    if opts.format == ExportFormat::Xlsx && !sheet::is_xlsx(out) {
        sheet::write_xlsx(out, sheet_name, &table)?;
    } else {
        sheet::write(out, sheet_name, &table, &csv)?;
    }
    Ok(stats)
}

/// CRMs read UTF-8 with `;` and map headers by name: no BOM in front of the first one.
fn crm_csv() -> CsvFormat {
    CsvFormat {
        delimiter: b';',
        bom: false,
        for_people: false,
    }
}

fn text(v: &Option<String>) -> Cell {
    Cell::Text(v.clone().unwrap_or_default())
}

fn raw(v: impl Into<String>) -> Cell {
    Cell::Raw(v.into())
}

/// The first of `all`, and the rest joined: CRMs have a main field and an "other" one.
fn first_and_rest(all: &[String]) -> (Cell, Cell) {
    (
        raw(all.first().cloned().unwrap_or_default()),
        raw(all.get(1..).unwrap_or_default().join(", ")),
    )
}

/// What a CRM user reads on the card: where the lead came from, how warm, consent.
fn crm_note(l: &Lead, lang: Lang) -> String {
    let tier = label(lang, l.card.warmth_tier.as_deref().unwrap_or("cold"));
    let score = l.card.warmth_score.unwrap_or(0);
    let sources = l.card.sources.clone().unwrap_or_default();
    match lang {
        Lang::Ru => format!(
            "leadpipe, лид {}; теплота: {tier} ({score}); источники: {sources}; звонить можно: {}",
            l.contact.lead_id,
            if l.callable { "да" } else { "нет" }
        ),
        Lang::En => format!(
            "leadpipe lead {}; warmth: {tier} ({score}); sources: {sources}; may be called: {}",
            l.contact.lead_id,
            if l.callable { "yes" } else { "no" }
        ),
    }
}

/// The lead's name as a title: the name, else the company, else the number.
fn title(l: &Lead) -> String {
    l.contact
        .full_name
        .clone()
        .or_else(|| l.contact.company.clone())
        .or_else(|| l.phones.first().cloned())
        .unwrap_or_else(|| format!("leadpipe {}", l.contact.lead_id))
}

fn table(headers: &[&str], rows: Vec<Vec<Cell>>, zone: chrono::FixedOffset) -> Table {
    Table {
        columns: headers
            .iter()
            .map(|h| Column::new(*h, (h.chars().count() as f64 + 4.0).max(16.0)))
            .collect(),
        rows,
        zone,
    }
}

/// Bitrix24's lead import: its own field names (the import screen maps them by name).
fn bitrix24(leads: &[Lead], lang: Lang, zone: chrono::FixedOffset) -> Table {
    const HEADERS: [&str; 13] = [
        "Название лида",
        "Фамилия",
        "Имя",
        "Отчество",
        "Мобильный телефон",
        "Другой телефон",
        "Частный e-mail",
        "Другой e-mail",
        "Название компании",
        "Город",
        "Область",
        "Дополнительно об источнике",
        "Комментарий",
    ];
    let rows = leads
        .iter()
        .map(|l| {
            let (phone, other_phones) = first_and_rest(&l.phones);
            let (email, other_emails) = first_and_rest(&l.contact.emails);
            vec![
                Cell::Text(title(l)),
                text(&l.contact.last_name),
                text(&l.contact.first_name),
                text(&l.contact.middle_name),
                phone,
                other_phones,
                email,
                other_emails,
                text(&l.contact.company),
                text(&l.card.city),
                text(&l.card.region),
                Cell::Text(l.card.sources.clone().unwrap_or_default()),
                Cell::Text(crm_note(l, lang)),
            ]
        })
        .collect();
    table(&HEADERS, rows, zone)
}

/// amoCRM's import of contacts with deals: its own field names.
fn amocrm(leads: &[Lead], lang: Lang, zone: chrono::FixedOffset) -> Table {
    const HEADERS: [&str; 12] = [
        "Название сделки",
        "Полное имя контакта",
        "Имя",
        "Фамилия",
        "Компания",
        "Мобильный телефон",
        "Рабочий телефон",
        "Личный email",
        "Рабочий email",
        "Город",
        "Теги",
        "Примечание",
    ];
    let rows = leads
        .iter()
        .map(|l| {
            let (phone, other_phones) = first_and_rest(&l.phones);
            let (email, other_emails) = first_and_rest(&l.contact.emails);
            let tier = label(lang, l.card.warmth_tier.as_deref().unwrap_or("cold"));
            let mut tags = vec![tier];
            tags.extend(l.card.sources.iter().map(|s| s.to_string()));
            vec![
                Cell::Text(title(l)),
                text(&l.contact.full_name),
                text(&l.contact.first_name),
                text(&l.contact.last_name),
                text(&l.contact.company),
                phone,
                other_phones,
                email,
                other_emails,
                text(&l.card.city),
                Cell::Text(tags.join(", ")),
                Cell::Text(crm_note(l, lang)),
            ]
        })
        .collect();
    table(&HEADERS, rows, zone)
}

/// The golden records for people, in the chosen language.
fn spreadsheet(
    leads: &[Lead],
    consent: ConsentScope,
    lang: Lang,
    zone: chrono::FixedOffset,
) -> Table {
    let z = sheet::zone_label(zone);
    let l = |ru: &str, en: &str| lang.pick(ru, en).to_string();
    let mut columns = vec![
        Column::new(l("ID лида", "Lead ID"), 9.0),
        Column::new(l("ФИО", "Name"), 32.0),
        Column::new(l("Телефоны", "Phones"), 20.0),
        Column::new("E-mail", 26.0),
        Column::new(l("Компания", "Company"), 24.0),
        Column::new(l("ИНН", "INN"), 13.0),
        Column::new(l("Город", "City"), 16.0),
        Column::new(l("Регион", "Region"), 22.0),
        Column::new(l("Теплота", "Warmth"), 10.0),
        Column::new(l("Баллы", "Score"), 7.0),
        Column::new(l("Источники", "Sources"), 24.0),
        Column::new(format!("{} ({z})", l("Впервые", "First seen")), 18.0),
        Column::new(format!("{} ({z})", l("Последний раз", "Last seen")), 18.0),
    ];
    if consent == ConsentScope::Any {
        columns.push(Column::new(l("Можно звонить", "May be called"), 14.0));
    }
    let rows = leads
        .iter()
        .map(|x| {
            let phones: Vec<String> = x
                .phones
                .iter()
                .map(|p| crate::normalise::phone::international_display(p).unwrap_or(p.clone()))
                .collect();
            let mut row = vec![
                Cell::Int(x.contact.lead_id),
                text(&x.contact.full_name),
                raw(phones.join(", ")),
                Cell::Text(x.contact.emails.join(", ")),
                text(&x.contact.company),
                raw(x.contact.inn.clone().unwrap_or_default()),
                text(&x.card.city),
                text(&x.card.region),
                raw(label(lang, x.card.warmth_tier.as_deref().unwrap_or("cold"))),
                Cell::Int(x.card.warmth_score.unwrap_or(0)),
                Cell::Text(x.card.sources.clone().unwrap_or_default()),
                Cell::Time(x.contact.first_seen),
                Cell::Time(x.contact.last_seen),
            ];
            if consent == ConsentScope::Any {
                row.push(raw(match (x.callable, lang) {
                    (true, Lang::Ru) => "да",
                    (false, Lang::Ru) => "нет",
                    (true, Lang::En) => "yes",
                    (false, Lang::En) => "no",
                }));
            }
            row
        })
        .collect();
    Table {
        columns,
        rows,
        zone,
    }
}
