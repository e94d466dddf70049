//! The values of a deal row as sales exports write them: amounts with spaces, commas and
//! currency signs, dates in the usual shapes (and `YYYYMMDD`), statuses in CRM words.

use crate::normalise::datetime::parse_timestamp;
use chrono::{FixedOffset, NaiveDate};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Where a deal stands. Only `won` deals are purchases; `refunded` ones were bought and
/// given back (not revenue); `lost` and `open` never paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DealStatus {
    Won,
    Lost,
    Refunded,
    Open,
}

impl DealStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DealStatus::Won => "won",
            DealStatus::Lost => "lost",
            DealStatus::Refunded => "refunded",
            DealStatus::Open => "open",
        }
    }

    fn from_name(name: &str) -> Option<DealStatus> {
        Some(match name {
            "won" => DealStatus::Won,
            "lost" => DealStatus::Lost,
            "refunded" => DealStatus::Refunded,
            "open" => DealStatus::Open,
            _ => return None,
        })
    }

    /// A status cell in the words of `data/deal_statuses.tsv`; an empty one is `won` (a
    /// row of an orders export is an order).
    pub fn parse(raw: &str) -> Option<DealStatus> {
        thread_local! {
            static SEEN: std::cell::RefCell<crate::memo::Table<Option<DealStatus>>> =
                Default::default();
        }
        // A file holds a handful of status words, millions of times.
        crate::memo::cached(&SEEN, raw, |raw| {
            let v = fold_status(raw);
            if v.is_empty() {
                return Some(DealStatus::Won);
            }
            STATUS_WORDS.get(&v).copied()
        })
    }
}

/// Lowercase, ё→е, `-` and `_` as spaces, runs of spaces as one.
fn fold_status(raw: &str) -> String {
    raw.to_lowercase()
        .replace('ё', "е")
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

static STATUS_WORDS: LazyLock<HashMap<String, DealStatus>> = LazyLock::new(|| {
    include_str!("../../data/deal_statuses.tsv")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .filter_map(|(status, word)| Some((fold_status(word), DealStatus::from_name(status)?)))
        .collect()
});

/// Currency signs and codes an amount cell may carry, and the ISO code each means.
const CURRENCY_MARKS: [(&str, &str); 16] = [
    ("₽", "RUB"),
    ("руб.", "RUB"),
    ("руб", "RUB"),
    ("р.", "RUB"),
    ("rub", "RUB"),
    ("rur", "RUB"),
    ("$", "USD"),
    ("usd", "USD"),
    ("€", "EUR"),
    ("eur", "EUR"),
    ("₸", "KZT"),
    ("kzt", "KZT"),
    ("тг", "KZT"),
    ("byn", "BYN"),
    ("uah", "UAH"),
    ("₴", "UAH"),
];

/// A currency cell (`RUB`, `руб.`, `$`) as an ISO code; `None` when unknown.
pub fn parse_currency(raw: &str) -> Option<String> {
    let v = raw.trim().to_lowercase();
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Some(v.to_ascii_uppercase());
    }
    CURRENCY_MARKS
        .iter()
        .find(|(mark, _)| v == *mark || v.trim_end_matches('.') == mark.trim_end_matches('.'))
        .map(|(_, code)| code.to_string())
}

/// An amount cell: the number and the currency its sign or code names, if any.
///
/// Separators: spaces (also no-break and thin ones) and `'` group thousands. With both `,`
/// and `.` present, the later one is the decimal mark (`1.234,56`, `1,234.56`). A lone `.`
/// is always a decimal point: spreadsheets and JSON write numbers so (`119.988` from a VAT
/// formula is 119.988). A lone `,` is a decimal comma unless exactly three digits follow it
/// and the integer part is not zero (`1,234` groups thousands, `12,5` and `0,125` are
/// decimals): money has two decimals. A repeated separator groups thousands
/// (`1.234.567`, `1,234,567`).
pub fn parse_amount(raw: &str) -> Option<(f64, Option<String>)> {
    // Most cells are plain numbers (`12 345,67`, `29.33`): no currency to look for.
    let plain = |b: u8| b.is_ascii_digit() || matches!(b, b' ' | b',' | b'.' | b'-' | b'\'');
    if raw.bytes().all(plain) {
        return number(raw).map(|n| (n, None));
    }
    let mut v = raw.trim().to_lowercase();
    let mut currency = None;
    for (mark, code) in CURRENCY_MARKS {
        if let Some(at) = v.find(mark) {
            let before_ok = v[..at].chars().last().is_none_or(|c| !c.is_alphabetic());
            let after_ok = v[at + mark.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphabetic());
            if before_ok && after_ok {
                v.replace_range(at..at + mark.len(), "");
                currency = Some(code.to_string());
                break;
            }
        }
    }
    number(&v).map(|n| (n, currency))
}

/// A number with the separators [`parse_amount`] describes, and no currency.
fn number(v: &str) -> Option<f64> {
    let v: String = v
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\'' && *c != '\u{202f}')
        .collect();
    let (negative, digits) = match v.strip_prefix('-').or_else(|| v.strip_prefix('−')) {
        Some(rest) => (true, rest),
        None => (false, v.as_str()),
    };
    if digits.is_empty()
        || !digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        || !digits.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let value: f64 = plain_number(digits)?.parse().ok()?;
    value
        .is_finite()
        .then_some(if negative { -value } else { value })
}

/// `digits` (digits, `,` and `.`) as a number Rust parses, or `None` when ambiguous.
fn plain_number(digits: &str) -> Option<String> {
    let (commas, dots) = (digits.matches(',').count(), digits.matches('.').count());
    let decimal = match (commas, dots) {
        (0, 0) => None,
        (_, 0) | (0, _) => {
            let sep = if commas > 0 { ',' } else { '.' };
            let repeated = commas + dots > 1;
            let last = digits.rfind(sep)?;
            let after = digits.len() - last - 1;
            let int_part = &digits[..last];
            let grouping = after == 3
                && (repeated || (sep == ',' && !int_part.trim_start_matches('0').is_empty()));
            if grouping {
                None
            } else if repeated {
                return None; // `1,2,3`
            } else {
                Some(sep)
            }
        }
        _ => {
            let last_comma = digits.rfind(',')?;
            let last_dot = digits.rfind('.')?;
            let sep = if last_comma > last_dot { ',' } else { '.' };
            if digits.matches(sep).count() > 1 {
                return None;
            }
            Some(sep)
        }
    };
    let mut out = String::with_capacity(digits.len());
    for c in digits.chars() {
        match c {
            c if c.is_ascii_digit() => out.push(c),
            c if Some(c) == decimal => out.push('.'),
            _ => {}
        }
    }
    Some(out)
}

/// A date cell as the calendar day it names, in the local zone `offset` when it holds a
/// time: the date formats lead files use, `YYYYMMDD` (CDNOW, 1C exports) and timestamps.
pub fn parse_date(raw: &str, offset: FixedOffset) -> Option<NaiveDate> {
    let s = raw.trim();
    if let Some(d) = fixed_width_date(s.as_bytes()) {
        return Some(d);
    }
    // A two-digit year (`05.03.26`) is read as 20YY or 19YY, never as the year 26: chrono's
    // `%Y` takes any number of digits, so `%y` goes first for these.
    let two_digit_year = s.rsplit(['.', '/']).next().is_some_and(|y| y.len() == 2);
    const SHORT: [&str; 2] = ["%d.%m.%y", "%d/%m/%y"];
    const DATES: [&str; 5] = ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%Y.%m.%d"];
    let formats: &[&str] = if two_digit_year { &SHORT } else { &DATES };
    let date = formats
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .or_else(|| parse_timestamp(s, offset).map(|t| t.with_timezone(&offset).date_naive()))?;
    plausible(date)
}

/// Deals are dated between 1900 and 2200; anything else is a misread cell.
fn plausible(d: NaiveDate) -> Option<NaiveDate> {
    (1900..=2200)
        .contains(&chrono::Datelike::year(&d))
        .then_some(d)
}

/// `YYYYMMDD`, `YYYY-MM-DD` and `DD.MM.YYYY` read by position: what almost every
/// export writes, without a format parser per cell.
fn fixed_width_date(b: &[u8]) -> Option<NaiveDate> {
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (y, m, d) = match (b.len(), b.get(2), b.get(4)) {
        (8, _, _) => (num(0..4)?, num(4..6)?, num(6..8)?),
        (10, _, Some(b'-')) if b[7] == b'-' => (num(0..4)?, num(5..7)?, num(8..10)?),
        (10, Some(b'.'), _) if b[5] == b'.' => (num(6..10)?, num(3..5)?, num(0..2)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y as i32, m, d).and_then(plausible)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(s: &str) -> Option<f64> {
        parse_amount(s).map(|(v, _)| v)
    }

    #[test]
    fn amounts_as_exports_write_them() {
        assert_eq!(amount("29.33"), Some(29.33));
        assert_eq!(amount("1 234,56"), Some(1234.56));
        assert_eq!(amount("1\u{a0}234,56 ₽"), Some(1234.56));
        assert_eq!(amount("1.234,56"), Some(1234.56));
        assert_eq!(amount("1,234.56"), Some(1234.56));
        assert_eq!(amount("1,234"), Some(1234.0));
        assert_eq!(amount("119.988"), Some(119.988));
        assert_eq!(amount("1,234,567"), Some(1234567.0));
        assert_eq!(amount("1.234.567"), Some(1234567.0));
        assert_eq!(amount("12,5"), Some(12.5));
        assert_eq!(amount("0,125"), Some(0.125));
        assert_eq!(amount("-500"), Some(-500.0));
        assert_eq!(amount("$15"), Some(15.0));
        assert_eq!(amount("abc"), None);
        assert_eq!(amount(""), None);
        assert_eq!(amount("1,2,3"), None);
        assert_eq!(amount("1,234.5.6"), None);
        assert_eq!(parse_amount("1500 руб.").unwrap().1.as_deref(), Some("RUB"));
        assert_eq!(parse_amount("€ 20").unwrap().1.as_deref(), Some("EUR"));
        assert_eq!(parse_amount("20").unwrap().1, None);
    }

    #[test]
    fn dates_and_statuses() {
        let msk = FixedOffset::east_opt(3 * 3600).unwrap();
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        assert_eq!(parse_date("19970101", msk), d(1997, 1, 1));
        assert_eq!(parse_date("05.03.2026", msk), d(2026, 3, 5));
        assert_eq!(parse_date("2026-03-05", msk), d(2026, 3, 5));
        // 22:30 UTC is the next day in Moscow.
        assert_eq!(parse_date("2026-03-05T22:30:00Z", msk), d(2026, 3, 6));
        assert_eq!(parse_date("soon", msk), None);
        assert_eq!(parse_date("31.02.2026", msk), None);
        assert_eq!(parse_date("2026-13-01", msk), None);
        assert_eq!(parse_date("5.3.2026", msk), d(2026, 3, 5));
        assert_eq!(parse_date("05.03.26", msk), d(2026, 3, 5));
        assert_eq!(parse_date("05/03/26", msk), d(2026, 3, 5));
        assert_eq!(parse_date("05.03.0026", msk), None);
        assert_eq!(parse_date("00010101", msk), None);
        assert_eq!(DealStatus::parse(""), Some(DealStatus::Won));
        assert_eq!(DealStatus::parse("Успешно"), Some(DealStatus::Won));
        assert_eq!(DealStatus::parse("Closed-Lost"), Some(DealStatus::Lost));
        assert_eq!(DealStatus::parse("Возврат"), Some(DealStatus::Refunded));
        assert_eq!(DealStatus::parse("в работе"), Some(DealStatus::Open));
        assert_eq!(DealStatus::parse("maybe"), None);
        assert_eq!(DealStatus::parse("  Отменён "), Some(DealStatus::Lost));
        for line in include_str!("../../data/deal_statuses.tsv").lines() {
            if let Some((status, word)) = line.split_once('\t') {
                assert!(DealStatus::from_name(status).is_some(), "{line}");
                assert_eq!(
                    DealStatus::parse(word).map(DealStatus::as_str),
                    Some(status),
                    "{line}"
                );
            }
        }
        assert_eq!(parse_currency("руб."), Some("RUB".into()));
        assert_eq!(parse_currency("usd"), Some("USD".into()));
        assert_eq!(parse_currency("??"), None);
    }
}
