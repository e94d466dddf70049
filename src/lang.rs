//! The language and clock of people-facing output: call-list headers, reports, the review
//! page. Russian and the base's own zone (Moscow unless the pipeline says otherwise) by
//! default, because the people who read them are a Russian call centre; machine-facing
//! names (`--json` keys, DuckDB columns) stay English whatever the language.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// The language people-facing text is written in (`--lang`, `[output] lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ru,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// `Some` for `ru` and `en` (any case), else `None`.
    pub fn parse(text: &str) -> Option<Lang> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The text in this language: `lang.pick("Телефон", "Phone")`.
    pub fn pick<'a>(self, ru: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }

    /// A moment as people read it in `zone`, with the offset shown so nobody has to
    /// guess the zone: `02.12.2026 09:00 (+03:00)` or `2026-12-02 09:00 (+03:00)`.
    pub fn time(self, t: DateTime<Utc>, zone: FixedOffset) -> String {
        let local = t.with_timezone(&zone);
        let offset = local.format("%:z");
        match self {
            Lang::Ru => format!("{} ({offset})", local.format("%d.%m.%Y %H:%M")),
            Lang::En => format!("{} ({offset})", local.format("%Y-%m-%d %H:%M")),
        }
    }

    /// A date as people read it: `02.12.2026` or `2026-12-02`.
    pub fn date(self, t: DateTime<Utc>, zone: FixedOffset) -> String {
        let local = t.with_timezone(&zone);
        match self {
            Lang::Ru => local.format("%d.%m.%Y").to_string(),
            Lang::En => local.format("%Y-%m-%d").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_shown_in_the_zone_with_its_offset() {
        let t = Utc.with_ymd_and_hms(2026, 12, 2, 6, 0, 0).unwrap();
        let moscow = FixedOffset::east_opt(3 * 3600).unwrap();
        let vladivostok = FixedOffset::east_opt(10 * 3600).unwrap();
        assert_eq!(Lang::Ru.time(t, moscow), "02.12.2026 09:00 (+03:00)");
        assert_eq!(Lang::En.time(t, vladivostok), "2026-12-02 16:00 (+10:00)");
        assert_eq!(Lang::Ru.date(t, vladivostok), "02.12.2026");
        assert_eq!(Lang::parse(" RU "), Some(Lang::Ru));
        assert_eq!(Lang::parse("de"), None);
    }
}
