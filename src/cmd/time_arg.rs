//! Timestamps on the command line (`--as-of`, `--at`): RFC 3339, `YYYY-MM-DD[ HH:MM]`,
//! `DD.MM.YYYY`. Checked here; a time with no zone is read in the base's zone once the
//! base is open ([`TypedTime::resolve`]).

use leadpipe::settings::TypedTime;

/// A moment; a date alone means the start of that day.
pub fn parse_time(s: &str) -> Result<TypedTime, String> {
    TypedTime::parse(s, false)
}

/// For withdrawal times: a date alone means the end of that day, so a withdrawal dated
/// today outranks any consent given earlier today.
pub fn parse_time_late(s: &str) -> Result<TypedTime, String> {
    TypedTime::parse(s, true)
}
