//! Timestamps on the command line (`--as-of`, `--at`): RFC 3339, `YYYY-MM-DD[ HH:MM]`,
//! `DD.MM.YYYY`; no zone means Moscow time, as in the files.

use chrono::{DateTime, Utc};
use leadpipe::normalise::datetime::{parse_timestamp, parse_timestamp_late};
use leadpipe::normalise::Normaliser;

/// A moment; a date alone means the start of that day.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    parse_timestamp(s, Normaliser::default().naive_offset).ok_or_else(|| not_a_time(s))
}

/// For withdrawal times: a date alone means the end of that day, so a withdrawal dated
/// today outranks any consent given earlier today.
pub fn parse_time_late(s: &str) -> Result<DateTime<Utc>, String> {
    parse_timestamp_late(s, Normaliser::default().naive_offset).ok_or_else(|| not_a_time(s))
}

fn not_a_time(s: &str) -> String {
    format!("{s:?} is not a time; use e.g. 2026-11-23T09:00:00+03:00 or 23.11.2026")
}
