//! Call results in the words operators use: the outcome vocabulary (`data/call_outcomes.tsv`,
//! Russian and English, dialer codes), the columns of a call-result file
//! (`data/call_result_headers.tsv`), and when a person asked to be called back, read from a
//! date column or from words such as «перезвонить завтра в 10».

use crate::normalise::datetime::parse_timestamp;
use crate::sources::headers::fold_header;
use crate::warmth::CallOutcome;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::LazyLock;

/// A few accepted words, for messages about a cell nobody could read.
pub const EXAMPLES: &str = "дозвон, не взял трубку, занято, автоответчик, перезвонить, \
     отказ, не звонить, неверный номер (or reached, no answer, busy, voicemail, call back, \
     not interested, do not call, wrong number)";

/// Where an entry of the vocabulary may be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// As whole words inside a cell.
    Words,
    /// Only as the whole cell (short dialer codes: `NI`, `B`).
    Whole,
    /// Anywhere in any cell of the row, also as the start of a longer word.
    Anywhere,
}

struct Vocabulary {
    phrases: HashMap<String, (CallOutcome, Scope)>,
    /// `anywhere` entries, folded, with a space before (a word start) and, unless they
    /// end in `*`, after (a word end).
    stems: Vec<(String, CallOutcome)>,
    /// The most words in one entry.
    longest: usize,
}

static VOCABULARY: LazyLock<Vocabulary> =
    LazyLock::new(|| vocabulary(include_str!("../data/call_outcomes.tsv")));

/// Reads the vocabulary; lines it cannot read are skipped (a unit test holds the file to
/// having none).
fn vocabulary(text: &str) -> Vocabulary {
    let mut v = Vocabulary {
        phrases: HashMap::new(),
        stems: Vec::new(),
        longest: 1,
    };
    for (code, words, scope) in entries(text).filter_map(Result::ok) {
        let folded = fold(words);
        v.longest = v.longest.max(folded.split(' ').count());
        if scope == Scope::Anywhere {
            // Whole words unless the entry ends in `*` (any word starting so).
            let end = if words.ends_with('*') { "" } else { " " };
            v.stems.push((format!(" {folded}{end}"), code));
        }
        v.phrases.entry(folded).or_insert((code, scope));
    }
    v
}

/// The data lines of the vocabulary: `code <TAB> words [<TAB> whole|anywhere]`, or the
/// line that could not be read.
fn entries(text: &str) -> impl Iterator<Item = Result<(CallOutcome, &str, Scope), &str>> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut parts = line.split('\t');
            let code = parts.next().and_then(CallOutcome::from_code).ok_or(line)?;
            let words = parts.next().filter(|w| !fold(w).is_empty()).ok_or(line)?;
            let scope = match parts.next() {
                None => Scope::Words,
                Some("whole") => Scope::Whole,
                Some("anywhere") => Scope::Anywhere,
                Some(_) => return Err(line),
            };
            Ok((code, words, scope))
        })
}

/// Folds text for lookup: lowercase, ё→е, apostrophes dropped (`don't` → `dont`), every
/// other run of non-letters and non-digits one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if matches!(c, '\'' | '’' | '`') {
            continue;
        }
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase().map(|l| if l == 'ё' { 'е' } else { l }));
        } else {
            gap = true;
        }
    }
    out
}

/// Words that turn the next words around; one no entry took in makes a cell unreadable.
const NEGATIONS: [&str; 5] = ["не", "нет", "not", "no", "без"];

/// A "do not call" or "wrong number" anywhere in `text` (any cell of a row: an outcome, a
/// note), the strongest if several.
pub fn stop_in(text: &str) -> Option<CallOutcome> {
    let folded = format!(" {} ", fold(text));
    CallOutcome::strongest(
        VOCABULARY
            .stems
            .iter()
            .filter(|(stem, _)| folded.contains(stem.as_str()))
            .map(|(_, code)| *code),
    )
}

/// The outcome an outcome cell reports, or `None` when the vocabulary does not know it
/// (or a negation in it was left unread).
pub fn read_outcome(text: &str) -> Option<CallOutcome> {
    if let Some(stop) = stop_in(text) {
        return Some(stop);
    }
    let folded = fold(text);
    if let Some((code, _)) = VOCABULARY.phrases.get(&folded) {
        return Some(*code);
    }
    let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let longest = VOCABULARY.longest.min(words.len() - i);
        let hit = (1..=longest).rev().find_map(|n| {
            match VOCABULARY.phrases.get(&words[i..i + n].join(" ")) {
                Some((code, Scope::Words | Scope::Anywhere)) => Some((*code, n)),
                _ => None,
            }
        });
        match hit {
            Some((code, n)) => {
                found.push(code);
                i += n;
            }
            None if NEGATIONS.contains(&words[i]) => return None,
            None => i += 1,
        }
    }
    CallOutcome::strongest(found)
}

/// The columns of a call-result file besides the number and the call's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallColumn {
    Outcome,
    CallbackAt,
    Note,
    /// A time that is not the call's: the call list's own schedule columns (`Звонить до`,
    /// `Согласие до` …), so a call list filled in and imported back is read right.
    NotTheCallTime,
}

static COLUMNS: LazyLock<HashMap<String, CallColumn>> = LazyLock::new(|| {
    include_str!("../data/call_result_headers.tsv")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (column, header) = l.split_once('\t')?;
            let column = match column {
                "outcome" => CallColumn::Outcome,
                "callback_at" => CallColumn::CallbackAt,
                "note" => CallColumn::Note,
                "not_the_call_time" => CallColumn::NotTheCallTime,
                _ => return None,
            };
            Some((fold_header(header), column))
        })
        .collect()
});

/// Which call-result column a header names (`Результат`, `Перезвонить в`, `Комментарий` …).
/// A zone in brackets after the name (`Звонить до (UTC+03:00)`, as call lists write it)
/// is not part of it.
pub fn call_column(header: &str) -> Option<CallColumn> {
    let name = header.split_once(" (").map_or(header, |(name, _)| name);
    COLUMNS.get(&fold_header(name)).copied()
}

/// When to call back, from a callback column's cell: a date and time in any format lead
/// files use (a time without a zone in `offset`; a date alone is the start of that day),
/// else words as in [`callback_from_words`]. `None` when the cell says no time.
pub fn callback_at(
    cell: &str,
    called_at: DateTime<Utc>,
    offset: FixedOffset,
) -> Option<DateTime<Utc>> {
    parse_timestamp(cell, offset).or_else(|| callback_from_words(cell, called_at, offset))
}

/// When to call back, from words in an outcome or a callback cell, relative to the call
/// (`called_at`, its day and hour read in `offset`):
///
/// * `через час`, `через 2 часа`, `через 30 минут`, `через полчаса`, `in 2 hours`: that
///   long after the call;
/// * a day — `сегодня`, `завтра`, `послезавтра`, `через 3 дня`, `через неделю`, `в
///   пятницу`, `25.11`, `25.11.2026`, `tomorrow`, `next week`, `on friday` — and/or an
///   hour — `в 10`, `в 15:30`, `10.30`, `утром` (10:00), `днём` (13:00), `после обеда`
///   (14:00), `вечером` (18:00), `at 3pm`: that day at that hour; a day alone is its
///   start (the call list's calling window then decides the hour), an hour alone is the
///   next time the clock shows it.
///
/// `None` when the words give no time (`перезвонить позже`).
pub fn callback_from_words(
    text: &str,
    called_at: DateTime<Utc>,
    offset: FixedOffset,
) -> Option<DateTime<Utc>> {
    let when = When::read(text);
    if let Some(after) = when.after {
        return Some(called_at + after);
    }
    if when.day.is_none() && when.date.is_none() && when.time.is_none() {
        return None;
    }
    let local = called_at.with_timezone(&offset);
    let today = local.date_naive();
    let time = when.time.unwrap_or(NaiveTime::MIN);
    let date = match (when.date, when.day) {
        (Some(d), _) => d(today)?,
        (None, Some(days)) => today + Duration::days(days),
        (None, None) if time > local.time() => today,
        (None, None) => today.succ_opt()?,
    };
    offset
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// A calendar date read from words, resolved against the call's day.
type DateRule = Box<dyn Fn(NaiveDate) -> Option<NaiveDate>>;

/// What words about a callback time said.
#[derive(Default)]
struct When {
    /// A span after the call (`через 2 часа`).
    after: Option<Duration>,
    /// Days after the call's day (`завтра` 1).
    day: Option<i64>,
    /// A date (`25.11`, `в пятницу`).
    date: Option<DateRule>,
    time: Option<NaiveTime>,
}

impl When {
    fn read(text: &str) -> When {
        let lower = text.to_lowercase().replace('ё', "е");
        let words: Vec<&str> = lower
            .split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '.'))
            .map(|w| w.trim_matches('.'))
            .filter(|w| !w.is_empty())
            .collect();
        let word = |i: usize| words.get(i).copied().unwrap_or("");
        let mut when = When::default();
        let mut i = 0;
        while i < words.len() {
            // `через 2 часа`, `через неделю`, `in an hour`, `next week`, `на следующей неделе`.
            if RELATIVE.contains(&word(i)) {
                let counted = count(word(i + 1)).and_then(|n| span(word(i + 2), n));
                if let Some(s) = counted {
                    when.add(s);
                    i += 3;
                    continue;
                }
                if let Some(s) = span(word(i + 1), 1) {
                    when.add(s);
                    i += 2;
                    continue;
                }
            }
            let before = i.checked_sub(1).map(word).unwrap_or("");
            when.read_word(word(i), before, word(i + 1));
            i += 1;
        }
        when
    }

    fn add(&mut self, span: Span) {
        match span {
            Span::Time(d) => self.after = Some(d),
            Span::Days(n) => self.day = Some(n),
        }
    }

    fn read_word(&mut self, w: &str, before: &str, after: &str) {
        let at = matches!(before, "в" | "к" | "at" | "около" | "после");
        if let Some(days) = day_word(w) {
            self.day = Some(days);
        } else if let Some(weekday) = weekday(w) {
            self.date = Some(Box::new(move |today| next_weekday(today, weekday)));
        } else if let Some(t) = clock(w, at, after) {
            self.time = Some(t);
        } else if let Some(rule) = calendar_date(w).filter(|_| !at) {
            self.date = Some(rule);
        } else if let Some(t) = part_of_day(w, before) {
            self.time.get_or_insert(t);
        }
    }
}

/// Words before a span: `через`, `in`, `next`, `следующей`.
const RELATIVE: [&str; 6] = ["через", "in", "next", "следующей", "следующий", "следующую"];

fn day_word(w: &str) -> Option<i64> {
    Some(match w {
        "сегодня" | "today" => 0,
        "завтра" | "tomorrow" => 1,
        "послезавтра" => 2,
        _ => return None,
    })
}

enum Span {
    Time(Duration),
    Days(i64),
}

/// A count before a unit: `2`, `a`, `пару`, `три`.
fn count(w: &str) -> Option<i64> {
    Some(match w {
        "a" | "an" | "one" | "один" | "одну" | "одна" => 1,
        "пару" | "два" | "две" | "two" => 2,
        "три" | "three" => 3,
        n => n.parse().ok().filter(|n| (1..=366).contains(n))?,
    })
}

/// `n` units: `часа`, `минут`, `дня`, `неделю`, `месяц`, `hours` …; `полчаса`.
fn span(w: &str, n: i64) -> Option<Span> {
    let stem = |prefixes: &[&str]| prefixes.iter().any(|p| w.starts_with(p));
    Some(if w == "полчаса" {
        Span::Time(Duration::minutes(30))
    } else if stem(&["час", "hour"]) || w == "ч" {
        Span::Time(Duration::hours(n))
    } else if stem(&["минут", "minute"]) || w == "мин" || w == "min" {
        Span::Time(Duration::minutes(n))
    } else if stem(&["ден", "дн", "day"]) || w == "день" {
        Span::Days(n)
    } else if stem(&["недел", "week"]) {
        Span::Days(7 * n)
    } else if stem(&["месяц", "month"]) {
        Span::Days(30 * n)
    } else {
        return None;
    })
}

fn weekday(w: &str) -> Option<chrono::Weekday> {
    use chrono::Weekday::*;
    let days = [
        (["понедельник", "monday"], Mon),
        (["вторник", "tuesday"], Tue),
        (["сред", "wednesday"], Wed),
        (["четверг", "thursday"], Thu),
        (["пятниц", "friday"], Fri),
        (["суббот", "saturday"], Sat),
        (["воскресень", "sunday"], Sun),
    ];
    days.iter()
        .find(|(names, _)| names.iter().any(|n| w.starts_with(n)))
        .map(|(_, d)| *d)
}

/// The first such weekday after `today`.
fn next_weekday(today: NaiveDate, day: chrono::Weekday) -> Option<NaiveDate> {
    (1..=7)
        .map(|n| today + Duration::days(n))
        .find(|d| d.weekday() == day)
}

/// `15:30`, `15.30` (`в 15.30`), `15` after `в` / `at`, `3pm`, `10 утра`, `7 вечера`.
fn clock(w: &str, at: bool, after: &str) -> Option<NaiveTime> {
    let pm = |h: u32| match after {
        "вечера" | "дня" | "pm" if h < 12 => h + 12,
        _ => h,
    };
    // `10.30` is a time after `в`, or when it is no date (`12.45`); `10.11` alone a date.
    let dotted = || {
        w.split_once('.')
            .filter(|_| at || calendar_date(w).is_none())
    };
    if let Some((h, m)) = w.split_once(':').or_else(dotted) {
        return NaiveTime::from_hms_opt(pm(h.parse().ok()?), m.parse().ok()?, 0);
    }
    if let Some(h) = w.strip_suffix("pm").or_else(|| w.strip_suffix("am")) {
        let h: u32 = h.parse().ok()?;
        let h = if w.ends_with("pm") && h < 12 {
            h + 12
        } else {
            h
        };
        return NaiveTime::from_hms_opt(h, 0, 0);
    }
    let h: u32 = w.parse().ok().filter(|_| at || after.starts_with("час"))?;
    NaiveTime::from_hms_opt(pm(h), 0, 0)
}

/// `25.11` (the next 25 November from the call's day) or `25.11.2026`.
fn calendar_date(w: &str) -> Option<DateRule> {
    let parts: Vec<u32> = w
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts[..] {
        [d, m] => {
            NaiveDate::from_ymd_opt(2000, m, d)?;
            Some(Box::new(move |today: NaiveDate| {
                let this_year = NaiveDate::from_ymd_opt(today.year(), m, d);
                match this_year {
                    Some(x) if x >= today => Some(x),
                    _ => NaiveDate::from_ymd_opt(today.year() + 1, m, d),
                }
            }))
        }
        [d, m, y] => {
            let y = if y < 100 { 2000 + y as i32 } else { y as i32 };
            let date = NaiveDate::from_ymd_opt(y, m, d)?;
            Some(Box::new(move |_| Some(date)))
        }
        _ => None,
    }
}

/// `утром` 10:00, `днем` 13:00, `после обеда` 14:00, `вечером` 18:00 (and English).
fn part_of_day(w: &str, before: &str) -> Option<NaiveTime> {
    let h = match (before, w) {
        (_, "утром" | "morning") => 10,
        (_, "днем" | "afternoon") => 13,
        ("после", "обеда") => 14,
        (_, "вечером" | "evening") => 18,
        _ => return None,
    };
    NaiveTime::from_hms_opt(h, 0, 0)
}

#[cfg(test)]
mod tests;
