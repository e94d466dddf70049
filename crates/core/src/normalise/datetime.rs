//! Timestamps in the shapes lead files use: RFC 3339, `YYYY-MM-DD HH:MM[:SS]`,
//! `DD.MM.YYYY[ HH:MM[:SS]]`, `DD/MM/YYYY`, Unix seconds or milliseconds. A time without a
//! zone is taken in the configured zone offset (Moscow, UTC+3, by default: Russian forms
//! export local time without saying so).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Moscow has been UTC+3 all year since 2014.
pub const MOSCOW_OFFSET_SECONDS: i32 = 3 * 3600;

const NAIVE_FORMATS: [&str; 9] = [
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
];

const DATE_FORMATS: [&str; 5] = ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%y"];

/// Parses `raw` into UTC; `None` when it is no timestamp we recognise.
pub fn parse_timestamp(raw: &str, naive_offset: FixedOffset) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(dt) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z") {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt.with_timezone(&Utc));
    }
    if s.len() >= 9 && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = s.parse().ok()?;
        // 13 digits: milliseconds (JavaScript exports); 9–10: seconds.
        return if s.len() >= 13 {
            DateTime::from_timestamp_millis(n)
        } else {
            DateTime::from_timestamp(n, 0)
        };
    }
    let naive = NAIVE_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            DATE_FORMATS
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .and_then(|t| t.with_year(full_year(t.year())))?;
    naive_offset
        .from_local_datetime(&naive)
        .single()
        .map(|dt| dt.with_timezone(&Utc))
}

/// A year written with two digits (`20.11.26`: chrono's `%Y` takes it as the year 26) as
/// the year it means: 00–68 → 2000–2068, 69–99 → 1969–1999 (POSIX `%y`). A withdrawal
/// dated "20.11.26" read as the year 26 would lose to any consent given since.
fn full_year(year: i32) -> i32 {
    match year {
        0..=68 => 2000 + year,
        69..=99 => 1900 + year,
        _ => year,
    }
}

/// Like [`parse_timestamp`], but a date without a time means the *end* of that day. For
/// withdrawals: "withdrew on 20.11" must not lose to a consent given at 10:00 that day.
pub fn parse_timestamp_late(raw: &str, naive_offset: FixedOffset) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    let date_only = DATE_FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .and_then(|d| d.with_year(full_year(d.year())));
    match date_only {
        Some(d) => naive_offset
            .from_local_datetime(&d.and_hms_opt(23, 59, 59)?)
            .single()
            .map(|dt| dt.with_timezone(&Utc)),
        None => parse_timestamp(s, naive_offset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn msk() -> FixedOffset {
        FixedOffset::east_opt(MOSCOW_OFFSET_SECONDS).unwrap()
    }

    fn iso(s: &str) -> Option<String> {
        parse_timestamp(s, msk()).map(|d| d.to_rfc3339())
    }

    #[test]
    fn common_formats() {
        assert_eq!(
            iso("2026-11-20T10:15:00Z").as_deref(),
            Some("2026-11-20T10:15:00+00:00")
        );
        assert_eq!(
            iso("2026-11-20T13:15:00+03:00").as_deref(),
            Some("2026-11-20T10:15:00+00:00")
        );
        assert_eq!(
            iso("2026-11-20 13:15:00").as_deref(),
            Some("2026-11-20T10:15:00+00:00")
        );
        assert_eq!(
            iso("20.11.2026 13:15").as_deref(),
            Some("2026-11-20T10:15:00+00:00")
        );
        assert_eq!(
            iso("20.11.2026").as_deref(),
            Some("2026-11-19T21:00:00+00:00")
        );
        assert_eq!(
            iso("1763633700").as_deref(),
            Some("2025-11-20T10:15:00+00:00")
        );
        assert_eq!(
            iso("1763633700000").as_deref(),
            Some("2025-11-20T10:15:00+00:00")
        );
        assert_eq!(iso("вчера"), None);
        assert_eq!(
            parse_timestamp_late("20.11.2026", msk())
                .map(|d| d.to_rfc3339())
                .as_deref(),
            Some("2026-11-20T20:59:59+00:00")
        );
        assert_eq!(
            parse_timestamp_late("20.11.2026 13:15", msk())
                .map(|d| d.to_rfc3339())
                .as_deref(),
            Some("2026-11-20T10:15:00+00:00")
        );
        assert_eq!(iso("31.02.2026"), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse_timestamp(&s, msk());
        }
    }

    #[test]
    fn two_digit_years_are_this_century_not_the_first() {
        assert_eq!(
            iso("20.11.26").as_deref(),
            Some("2026-11-19T21:00:00+00:00")
        );
        assert_eq!(
            iso("20.11.26 13:15").as_deref(),
            Some("2026-11-20T10:15:00+00:00")
        );
        let late = parse_timestamp_late("20.11.26", msk()).unwrap();
        assert_eq!(late.to_rfc3339(), "2026-11-20T20:59:59+00:00");
        assert_eq!(
            iso("01.02.99").as_deref(),
            Some("1999-01-31T21:00:00+00:00")
        );
        assert_eq!(
            iso("20.11.2026").as_deref(),
            Some("2026-11-19T21:00:00+00:00")
        );
    }
}
