//! The call list a telemarketing team dials from: callable numbers only (the consent gate),
//! filtered, best first, each with its callee's local time and calling window, split across
//! operators, written as CSV (Excel-friendly) or real XLSX.

use crate::consent::gate::PhoneDecision;
use crate::consent_commands::{CallList, CommandError};
use crate::lang::{label, Lang};
use crate::normalise::phone::national_display;
use crate::sheet::{self, zone_label, Cell, Column, CsvFormat, Table};
use crate::store::consent::LeadCard;
use crate::store::Store;
use chrono::{DateTime, Duration, FixedOffset, NaiveTime, Timelike, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Text from lead files is opened in spreadsheets: a cell starting with `=`, `+`, `-` or
/// `@` would run as a formula (CSV injection), so such text gets a leading apostrophe.
pub fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// What to do with numbers whose local time is outside the calling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutsideWindow {
    /// Leave them out of the list.
    #[default]
    Exclude,
    /// Keep them, after the callable-now rows, with the moment the callee's window next
    /// opens (shown in the base's zone).
    Schedule,
}

/// Who reads the list: people (in a spreadsheet) or machines (a dialer, a script).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListStyle {
    /// Headers in the chosen language, times in the base's zone, `;` CSV for Excel.
    #[default]
    People,
    /// English column names, E.164 numbers, UTC times, `,` CSV.
    Machine,
}

/// Filters and shape of a call list.
#[derive(Debug, Clone)]
pub struct CallListOptions {
    /// Only these tiers (empty: all).
    pub tiers: Vec<String>,
    pub min_score: Option<i64>,
    /// Only leads that came from one of these sources (empty: all).
    pub sources: Vec<String>,
    /// Only leads in one of these cities / regions (empty: all): the canonical names and
    /// codes `gazetteer::resolve_place_filter` gives for what the user typed, or any text,
    /// matched up to case, ё/е and punctuation.
    pub cities: Vec<String>,
    pub regions: Vec<String>,
    /// Allowed local hours [start, end).
    pub window_start: NaiveTime,
    pub window_end: NaiveTime,
    pub outside_window: OutsideWindow,
    /// Offset for callees whose time zone is unknown (the country default).
    pub default_offset_minutes: i64,
    /// Operators to split across, round-robin in list order (1 = no split).
    pub operators: u32,
    /// At most this many numbers per operator; the rest are left out (and counted).
    pub capacity: Option<u32>,
    /// One file per operator (`calls.op1.csv` …) instead of an `operator` column only.
    pub split_files: bool,
    /// CSV field delimiter; default by style (`;` for people, `,` for machines).
    pub delimiter: Option<u8>,
    pub style: ListStyle,
    /// Language of people's headers and values.
    pub lang: Lang,
    /// Zone people's times are shown in (the base's).
    pub zone: FixedOffset,
    /// The base's warmth settings: recency decays to the list's time as it is read.
    pub warmth: crate::warmth::WarmthSettings,
    /// Only these leads (`--segment`, looked up in `lead_segments`); `None`: all.
    pub segment_leads: Option<std::collections::HashSet<i64>>,
}

impl Default for CallListOptions {
    fn default() -> Self {
        CallListOptions {
            tiers: Vec::new(),
            min_score: None,
            sources: Vec::new(),
            cities: Vec::new(),
            regions: Vec::new(),
            window_start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            window_end: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
            outside_window: OutsideWindow::Exclude,
            default_offset_minutes: 180,
            operators: 1,
            capacity: None,
            split_files: false,
            delimiter: None,
            style: ListStyle::People,
            lang: Lang::default(),
            zone: crate::normalise::Normaliser::default().naive_offset,
            warmth: Default::default(),
            segment_leads: None,
        }
    }
}

/// One row a dialer reads.
#[derive(Debug, Clone, Serialize)]
pub struct CallRow {
    pub operator: u32,
    pub lead_id: i64,
    pub phone_e164: String,
    pub phone_local: String,
    pub full_name: String,
    pub company: String,
    pub city: String,
    pub region: String,
    pub tier: String,
    pub score: i64,
    pub why_warm: String,
    /// [`Self::why_warm`] in the list's language.
    pub why_warm_people: String,
    /// The callee's local time when the list was made, and its UTC offset.
    pub local_time: String,
    pub utc_offset: String,
    /// Empty when callable now; else the earliest time (UTC) inside the callee's window.
    pub call_after: Option<DateTime<Utc>>,
    /// When the callee's current (or next) window closes, UTC: do not dial after it.
    pub call_before: Option<DateTime<Utc>>,
    pub consent_basis: String,
    /// A short basis for operators, in the list's language (the full one is
    /// [`Self::consent_basis`], and the compliance report's).
    pub consent_basis_people: String,
    pub consent_expires_at: Option<DateTime<Utc>>,
}

/// What shaping the list left out, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallListStats {
    pub callable_numbers: usize,
    pub filtered_out: usize,
    pub outside_window: usize,
    pub scheduled: usize,
    pub over_capacity: usize,
    /// Left out until the callback the person asked for (`call-result import`).
    pub callback_later: usize,
    /// Numbers held by more than one callable lead, listed once.
    pub duplicate_numbers: usize,
    pub rows: usize,
    pub per_operator: BTreeMap<u32, usize>,
}

/// When a callee at `offset` minutes from UTC may next be called: `None` if now.
fn next_window(
    now: DateTime<Utc>,
    offset_minutes: i64,
    start: NaiveTime,
    end: NaiveTime,
) -> Option<DateTime<Utc>> {
    let local = now + Duration::minutes(offset_minutes);
    let t = local.time();
    let inside = if start <= end {
        t >= start && t < end
    } else {
        // A window across midnight (22:00–02:00).
        t >= start || t < end
    };
    if inside {
        return None;
    }
    let mut day = local.date_naive();
    if t >= start {
        day = day.succ_opt()?;
    }
    let next_local = day.and_time(start);
    Some(next_local.and_utc() - Duration::minutes(offset_minutes))
}

/// When the window that is open at `at` (callee at `offset`) closes.
fn window_close(
    at: DateTime<Utc>,
    offset_minutes: i64,
    start: NaiveTime,
    end: NaiveTime,
) -> Option<DateTime<Utc>> {
    let local = at + Duration::minutes(offset_minutes);
    let mut day = local.date_naive();
    // A window across midnight closes the next day when we are in its evening part.
    if start > end && local.time() >= start {
        day = day.succ_opt()?;
    }
    Some(day.and_time(end).and_utc() - Duration::minutes(offset_minutes))
}

fn offset_text(minutes: i64) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// One of a lead's `values` is wanted (or nothing is): equal up to case, ё/е and
/// punctuation; see `gazetteer::place_matches`.
fn matches_any<'a>(values: impl IntoIterator<Item = Option<&'a str>>, wanted: &[String]) -> bool {
    crate::enrich::gazetteer::place_matches(wanted, values)
}

/// Shapes the gate's callable numbers into dialer rows: filters, calling windows, order
/// (callable now first, warmest first), operators.
pub fn build_rows(
    list: &CallList,
    cards: &std::collections::HashMap<i64, LeadCard>,
    opts: &CallListOptions,
) -> (Vec<CallRow>, CallListStats) {
    let mut stats = CallListStats {
        callable_numbers: list.callable.len(),
        ..CallListStats::default()
    };
    let no_card = LeadCard::default();
    let mut rows = Vec::new();
    for d in &list.callable {
        let card = cards.get(&d.lead_id).unwrap_or(&no_card);
        if !passes_filters(d.lead_id, card, opts) {
            stats.filtered_out += 1;
            continue;
        }
        if card.callback_at.is_some_and(|t| t > list.as_of) {
            stats.callback_later += 1;
            continue;
        }
        let offset = card
            .utc_offset_minutes
            .unwrap_or(opts.default_offset_minutes);
        let call_after = next_window(list.as_of, offset, opts.window_start, opts.window_end);
        if call_after.is_some() {
            match opts.outside_window {
                OutsideWindow::Exclude => {
                    stats.outside_window += 1;
                    continue;
                }
                OutsideWindow::Schedule => stats.scheduled += 1,
            }
        }
        rows.push(call_row(d, card, list.as_of, offset, call_after, opts));
    }
    sort_for_dialling(&mut rows);
    // Callbacks that are due go first among the rows callable at the same time, the
    // earliest asked-for first (a stable sort: warmest first otherwise).
    let due = |r: &CallRow| cards.get(&r.lead_id).and_then(|c| c.callback_at);
    rows.sort_by_key(|r| (r.call_after, due(r).is_none(), due(r)));
    stats.duplicate_numbers = keep_each_number_once(&mut rows);
    let kept = assign_operators(rows, opts, &mut stats);
    stats.rows = kept.len();
    (kept, stats)
}

fn warmth_tier(card: &LeadCard) -> String {
    card.warmth_tier.clone().unwrap_or_else(|| "cold".into())
}

fn warmth_score(card: &LeadCard) -> i64 {
    card.warmth_score.unwrap_or(0)
}

/// The tier, score, source, city, region and segment filters (each empty filter lets
/// all through).
pub fn passes_filters(lead_id: i64, card: &LeadCard, opts: &CallListOptions) -> bool {
    if opts
        .segment_leads
        .as_ref()
        .is_some_and(|leads| !leads.contains(&lead_id))
    {
        return false;
    }
    let tier = warmth_tier(card);
    let lead_sources: Vec<&str> = card
        .sources
        .as_deref()
        .map(|s| s.split(", ").collect())
        .unwrap_or_default();
    (opts.tiers.is_empty() || opts.tiers.iter().any(|t| t.eq_ignore_ascii_case(&tier)))
        && opts.min_score.is_none_or(|m| warmth_score(card) >= m)
        && (opts.sources.is_empty()
            || opts
                .sources
                .iter()
                .any(|s| lead_sources.contains(&s.as_str())))
        && in_cities(card, &opts.cities)
        && in_regions(card, &opts.regions)
}

/// A city is wanted by the gazetteer's name or as written (`gazetteer::resolve_place_filter`
/// turns `--city` values into both). A base built before golden records kept the
/// gazetteer's name has the written one looked up.
fn in_cities(card: &LeadCard, cities: &[String]) -> bool {
    let looked_up = std::iter::once_with(|| {
        card.city_written
            .as_deref()
            .and_then(crate::enrich::city_place)
            .map(|p| p.city.as_str())
    });
    matches_any(
        [card.city.as_deref(), card.city_written.as_deref()]
            .into_iter()
            .chain(looked_up),
        cities,
    )
}

/// A region is wanted by the gazetteer's name, as written, by ISO code (`RU-MOW`) or by the
/// code without the country (`MOW`).
fn in_regions(card: &LeadCard, regions: &[String]) -> bool {
    matches_any(
        [
            card.region.as_deref(),
            card.region_written.as_deref(),
            card.region_code.as_deref(),
        ],
        regions,
    )
}

/// One dialer row (operator not yet assigned) for a callee at `offset` minutes from UTC.
fn call_row(
    d: &PhoneDecision,
    card: &LeadCard,
    now: DateTime<Utc>,
    offset: i64,
    call_after: Option<DateTime<Utc>>,
    opts: &CallListOptions,
) -> CallRow {
    let local = now + Duration::minutes(offset);
    let call_before = window_close(
        call_after.unwrap_or(now),
        offset,
        opts.window_start,
        opts.window_end,
    );
    CallRow {
        operator: 0,
        lead_id: d.lead_id,
        phone_e164: d.phone.clone(),
        phone_local: national_display(&d.phone).unwrap_or_else(|| d.phone.clone()),
        full_name: card.full_name.clone().unwrap_or_default(),
        company: card.company.clone().unwrap_or_default(),
        city: card.city.clone().unwrap_or_default(),
        region: card.region.clone().unwrap_or_default(),
        tier: warmth_tier(card),
        score: warmth_score(card),
        why_warm: card.warmth.summary(),
        why_warm_people: match opts.lang {
            Lang::Ru => {
                card.warmth
                    .summary_in(["источник", "недавно", "вернулся", "интерес", "полнота"])
            }
            Lang::En => card.warmth.summary(),
        },
        local_time: format!("{:02}:{:02}", local.hour(), local.minute()),
        utc_offset: offset_text(offset),
        call_after,
        call_before,
        consent_basis: d.basis.clone().unwrap_or_default(),
        consent_basis_people: short_basis(d, opts),
        consent_expires_at: d.consent.expires_at,
    }
}

/// "согласие от 20.11.2026 (№ 1)": when and which event, for an operator who is asked.
fn short_basis(d: &PhoneDecision, opts: &CallListOptions) -> String {
    match (d.consent.status, d.consent.since, d.consent.consent_id) {
        (crate::consent::Status::Granted, Some(since), Some(id)) => {
            let date = opts.lang.date(since, opts.zone);
            match opts.lang {
                Lang::Ru => format!("согласие от {date} (№ {id})"),
                Lang::En => format!("consent of {date} (#{id})"),
            }
        }
        _ => d.basis.clone().unwrap_or_default(),
    }
}

/// Callable now first, then by when they may be called; warmest first within each.
fn sort_for_dialling(rows: &mut [CallRow]) {
    rows.sort_by(|a, b| {
        (a.call_after, -a.score, a.lead_id, &a.phone_e164).cmp(&(
            b.call_after,
            -b.score,
            b.lead_id,
            &b.phone_e164,
        ))
    });
}

/// One row per number: two leads can share one (a family landline, a switchboard); the
/// number is dialled once, for the first (warmest) of them. Returns how many rows went.
fn keep_each_number_once(rows: &mut Vec<CallRow>) -> usize {
    let mut seen_numbers = std::collections::HashSet::new();
    let before = rows.len();
    rows.retain(|r| seen_numbers.insert(r.phone_e164.clone()));
    before - rows.len()
}

/// Deals the rows round-robin, in list order, over the operators that still have capacity
/// (so the best leads are spread evenly); rows no operator can take are counted and left
/// out.
fn assign_operators(
    rows: Vec<CallRow>,
    opts: &CallListOptions,
    stats: &mut CallListStats,
) -> Vec<CallRow> {
    let operators = opts.operators.max(1);
    let mut kept = Vec::with_capacity(rows.len());
    let mut next = 0u32;
    for mut row in rows {
        let mut assigned = None;
        for k in 0..operators {
            let op = (next + k) % operators + 1;
            let load = stats.per_operator.get(&op).copied().unwrap_or(0);
            if opts.capacity.is_none_or(|c| load < c as usize) {
                assigned = Some(op);
                next = op % operators;
                break;
            }
        }
        match assigned {
            Some(op) => {
                row.operator = op;
                *stats.per_operator.entry(op).or_default() += 1;
                kept.push(row);
            }
            None => stats.over_capacity += 1,
        }
    }
    kept
}

/// The machine columns (`--style machine`): English names, E.164, UTC times, as dialers
/// and scripts have always read them.
const MACHINE_HEADER: [&str; 18] = [
    "operator",
    "lead_id",
    "phone_e164",
    "phone_local",
    "full_name",
    "company",
    "city",
    "region",
    "tier",
    "score",
    "why_warm",
    "local_time",
    "utc_offset",
    "call_after_utc",
    "call_before_utc",
    "consent_basis",
    "consent_expires_at",
    "note",
];

fn machine_cells(r: &CallRow) -> Vec<Cell> {
    let text = |s: &str| Cell::Text(s.to_string());
    let raw = |s: &str| Cell::Raw(s.to_string());
    vec![
        Cell::Int(r.operator.into()),
        Cell::Int(r.lead_id),
        raw(&r.phone_e164),
        raw(&r.phone_local),
        text(&r.full_name),
        text(&r.company),
        text(&r.city),
        text(&r.region),
        raw(&r.tier),
        Cell::Int(r.score),
        raw(&r.why_warm),
        raw(&r.local_time),
        raw(&r.utc_offset),
        Cell::Time(r.call_after),
        Cell::Time(r.call_before),
        text(&r.consent_basis),
        Cell::Time(r.consent_expires_at),
        raw(""),
    ]
}

/// The people columns (`--style people`, the default): headers in the chosen language,
/// times in the base's zone (named in the header), room for the call's result and a note.
fn people_columns(lang: Lang, zone: FixedOffset) -> Vec<Column> {
    let z = zone_label(zone);
    let l = |ru: &str, en: &str| lang.pick(ru, en).to_string();
    vec![
        Column::new(l("Оператор", "Operator"), 10.0),
        Column::new(l("ID лида", "Lead ID"), 9.0),
        Column::new(l("Телефон", "Phone"), 18.0),
        Column::new(l("Телефон (местный)", "Phone (national)"), 18.0),
        Column::new(l("ФИО", "Name"), 32.0),
        Column::new(l("Компания", "Company"), 24.0),
        Column::new(l("Город", "City"), 16.0),
        Column::new(l("Регион", "Region"), 22.0),
        Column::new(l("Теплота", "Warmth"), 10.0),
        Column::new(l("Баллы", "Score"), 7.0),
        Column::new(l("Почему тёплый", "Why warm"), 34.0),
        Column::new(l("Местное время", "Local time"), 9.0),
        Column::new(l("Пояс клиента", "Callee's zone"), 11.0),
        Column::new(format!("{} ({z})", l("Звонить с", "Call from")), 21.0),
        Column::new(format!("{} ({z})", l("Звонить до", "Call before")), 21.0),
        Column::new(l("Основание", "Consent basis"), 26.0),
        Column::new(format!("{} ({z})", l("Согласие до", "Consent until")), 21.0),
        Column::new(l("Результат", "Result"), 16.0),
        Column::new(l("Комментарий", "Note"), 30.0),
    ]
}

fn people_cells(r: &CallRow, lang: Lang) -> Vec<Cell> {
    let text = |s: &str| Cell::Text(s.to_string());
    let raw = |s: &str| Cell::Raw(s.to_string());
    vec![
        Cell::Int(r.operator.into()),
        Cell::Int(r.lead_id),
        Cell::Phone(r.phone_e164.clone()),
        raw(&r.phone_local),
        text(&r.full_name),
        text(&r.company),
        text(&r.city),
        text(&r.region),
        raw(&label(lang, &r.tier)),
        Cell::Int(r.score),
        raw(&r.why_warm_people),
        raw(&r.local_time),
        // `UTC+10:00`, not `+10:00`, which spreadsheets read as a time of day.
        raw(&format!("UTC{}", r.utc_offset)),
        Cell::Time(r.call_after),
        Cell::Time(r.call_before),
        raw(&r.consent_basis_people),
        Cell::Time(r.consent_expires_at),
        raw(""),
        raw(""),
    ]
}

/// The rows as a table in the chosen style.
fn call_table(rows: &[&CallRow], opts: &CallListOptions) -> Table {
    match opts.style {
        ListStyle::Machine => Table {
            columns: MACHINE_HEADER
                .iter()
                .map(|h| Column::new(*h, 14.0))
                .collect(),
            rows: rows.iter().map(|r| machine_cells(r)).collect(),
            zone: opts.zone,
        },
        ListStyle::People => Table {
            columns: people_columns(opts.lang, opts.zone),
            rows: rows.iter().map(|r| people_cells(r, opts.lang)).collect(),
            zone: opts.zone,
        },
    }
}

/// How a CSV call list is written: people's CSV opens right in Russian Excel (`;`, BOM,
/// phones and times as text); machines' keeps the columns dialers read (`,`, BOM).
fn csv_format(opts: &CallListOptions) -> CsvFormat {
    let base = match opts.style {
        ListStyle::People => CsvFormat::excel(),
        ListStyle::Machine => CsvFormat {
            delimiter: b',',
            for_people: false,
            ..CsvFormat::excel()
        },
    };
    CsvFormat {
        delimiter: opts.delimiter.unwrap_or(base.delimiter),
        ..base
    }
}

/// Writes the rows to `out` (CSV or XLSX by extension); with `split_files`, one file per
/// operator next to it. Returns the files written.
pub fn write_call_list(
    rows: &[CallRow],
    out: &Path,
    opts: &CallListOptions,
) -> Result<Vec<PathBuf>, CommandError> {
    let mut files = Vec::new();
    let groups: Vec<(PathBuf, Vec<&CallRow>)> = if opts.split_files && opts.operators > 1 {
        (1..=opts.operators)
            .map(|op| {
                let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("calls");
                let ext = out.extension().and_then(|s| s.to_str()).unwrap_or("csv");
                (
                    out.with_file_name(format!("{stem}.op{op}.{ext}")),
                    rows.iter().filter(|r| r.operator == op).collect(),
                )
            })
            .collect()
    } else {
        vec![(out.to_path_buf(), rows.iter().collect())]
    };
    let sheet_name = match opts.style {
        ListStyle::Machine => "calls",
        ListStyle::People => opts.lang.pick("Звонки", "Calls"),
    };
    for (path, group) in groups {
        sheet::write(
            &path,
            sheet_name,
            &call_table(&group, opts),
            &csv_format(opts),
        )?;
        files.push(path);
    }
    Ok(files)
}

/// The whole `call-list` command after the gate: lead details, shaping, files.
pub fn export_call_list(
    store: &Store,
    list: &CallList,
    opts: &CallListOptions,
    out: &Path,
) -> Result<(Vec<CallRow>, CallListStats, Vec<PathBuf>), CommandError> {
    let ids: Vec<i64> = list.callable.iter().map(|d| d.lead_id).collect();
    let cards = store.lead_cards(&ids, Some((&opts.warmth, list.as_of)))?;
    let (rows, stats) = build_rows(list, &cards, opts);
    let files = write_call_list(&rows, out, opts)?;
    Ok((rows, stats, files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{Current, Purpose, Status};
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn decision(lead_id: i64, phone: &str) -> PhoneDecision {
        PhoneDecision {
            lead_id,
            phone: phone.to_string(),
            consent: Current {
                status: Status::Granted,
                since: None,
                expires_at: None,
                consent_id: Some(1),
                basis: "consent".into(),
            },
            blocked: None,
            grant_id: Some(1),
            basis: Some("consent".into()),
        }
    }

    #[test]
    fn a_shared_number_is_dialled_once_for_the_warmest_lead() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let mut cards = HashMap::new();
        for (id, score) in [(1, 40), (2, 70)] {
            cards.insert(
                id,
                LeadCard {
                    warmth_score: Some(score),
                    ..LeadCard::default()
                },
            );
        }
        let list = CallList {
            as_of: now,
            purpose: Purpose::Advertising,
            callable: vec![decision(1, "+74951234567"), decision(2, "+74951234567")],
            blocked: Vec::new(),
            blocked_by_reason: BTreeMap::new(),
        };
        let (rows, stats) = build_rows(&list, &cards, &CallListOptions::default());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].lead_id, 2);
        assert_eq!(stats.duplicate_numbers, 1);
    }

    proptest! {
        /// Whatever the options, the list only holds numbers the gate let through, each
        /// once; inside the callee's window unless scheduled; operators within range and
        /// capacity; callable-now rows first, warmest first.
        #[test]
        fn shaping_only_ever_removes_and_orders(
            leads in proptest::collection::vec((0..100i64, proptest::option::of(-720..=840i64), 0..3usize), 1..20),
            now_h in 0..48i64,
            operators in 1..4u32,
            capacity in proptest::option::of(1..6u32),
            schedule in any::<bool>(),
            min_score in proptest::option::of(0..100i64),
        ) {
            let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap() + Duration::hours(now_h);
            let mut cards = HashMap::new();
            let mut callable = Vec::new();
            for (i, (score, offset, tier)) in leads.iter().enumerate() {
                let id = i as i64 + 1;
                cards.insert(id, LeadCard {
                    warmth_score: Some(*score),
                    warmth_tier: Some(["cold", "warm", "hot"][*tier].into()),
                    utc_offset_minutes: *offset,
                    ..LeadCard::default()
                });
                callable.push(decision(id, &format!("+7916{:07}", id)));
            }
            let list = CallList {
                as_of: now,
                purpose: Purpose::Advertising,
                callable: callable.clone(),
                blocked: Vec::new(),
                blocked_by_reason: BTreeMap::new(),
            };
            let opts = CallListOptions {
                operators,
                capacity,
                min_score,
                outside_window: if schedule { OutsideWindow::Schedule } else { OutsideWindow::Exclude },
                ..CallListOptions::default()
            };
            let (rows, stats) = build_rows(&list, &cards, &opts);
            let mut seen = std::collections::HashSet::new();
            for r in &rows {
                prop_assert!(callable.iter().any(|d| d.phone == r.phone_e164 && d.lead_id == r.lead_id));
                prop_assert!(seen.insert(r.phone_e164.clone()), "a number twice");
                prop_assert!(min_score.is_none_or(|m| r.score >= m));
                prop_assert!((1..=operators).contains(&r.operator));
                let offset = cards[&r.lead_id].utc_offset_minutes.unwrap_or(180);
                let inside = next_window(now, offset, opts.window_start, opts.window_end).is_none();
                prop_assert_eq!(r.call_after.is_none(), inside);
                prop_assert!(inside || schedule);
            }
            if let Some(c) = capacity {
                prop_assert!(stats.per_operator.values().all(|n| *n <= c as usize));
            }
            prop_assert_eq!(
                rows.len() + stats.filtered_out + stats.outside_window + stats.over_capacity
                    + stats.duplicate_numbers,
                callable.len()
            );
            for w in rows.windows(2) {
                prop_assert!((w[0].call_after, -w[0].score) <= (w[1].call_after, -w[1].score));
            }
        }
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("Иванов"), "Иванов");
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn calling_window_in_the_callees_time() {
        // 12:00 in Moscow is 09:00 UTC.
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        assert_eq!(next_window(now, 180, t(9, 0), t(21, 0)), None);
        // Vladivostok (UTC+10): 19:00 there, still inside.
        assert_eq!(next_window(now, 600, t(9, 0), t(21, 0)), None);
        // Kamchatka (UTC+12): 21:00, just closed: tomorrow 09:00 local = 21:00 UTC today.
        assert_eq!(
            next_window(now, 720, t(9, 0), t(21, 0)),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 21, 0, 0).unwrap())
        );
        // Early morning in Moscow (06:00): later today.
        let early = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        assert_eq!(
            next_window(early, 180, t(9, 0), t(21, 0)),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0).unwrap())
        );
        assert_eq!(
            window_close(now, 180, t(9, 0), t(21, 0)),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 18, 0, 0).unwrap())
        );
        assert_eq!(offset_text(-210), "-03:30");
        assert_eq!(offset_text(600), "+10:00");
    }
}
