//! The language and clock of people-facing output: call-list headers, reports, the review
//! page. Russian and the base's own zone (Moscow unless the pipeline says otherwise) by
//! default, because the people who read them are a Russian call centre; machine-facing
//! names (`--json` keys, DuckDB columns) stay English whatever the language. Codes stored
//! in the base (`granted`, `checkbox`, `hot`) are shown to people by [`label`].

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

/// The language and zone a page or report is written in (the review page, the compliance
/// report).
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub lang: Lang,
    pub zone: FixedOffset,
}

impl View {
    pub fn pick<'a>(self, ru: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(ru, en)
    }

    /// A moment in the zone with its offset: `02.12.2026 09:00 (+03:00)`.
    pub fn time(self, t: DateTime<Utc>) -> String {
        self.lang.time(t, self.zone)
    }
}

/// A consent status in words.
pub fn consent_status_label(lang: Lang, status: &str) -> String {
    let (ru, en) = match status {
        "granted" => ("согласие есть", "consent granted"),
        "withdrawn" => ("согласие отозвано", "consent withdrawn"),
        "expired" => ("согласие истекло", "consent expired"),
        "claimed" => ("только со слов продавца базы", "vendor's claim only"),
        "none" | "" => ("нет согласия", "no consent"),
        other => return other.to_string(),
    };
    lang.pick(ru, en).to_string()
}

/// Labels of codes stored in the base, by kind; an unknown code is shown as it is.
pub fn label(lang: Lang, code: &str) -> String {
    let (ru, en) = match code {
        // channels and purposes
        "call" => ("звонки", "calls"),
        "sms" => ("SMS", "SMS"),
        "email" => ("e-mail", "e-mail"),
        "advertising" => ("реклама", "advertising"),
        "service" => ("сервисные", "service"),
        // how a consent was given
        "checkbox" => ("галочка в форме", "form checkbox"),
        "double_opt_in" => ("двойное подтверждение", "double opt-in"),
        "call_recording" => ("запись звонка", "call recording"),
        "call_result" => ("итог звонка", "call result"),
        "vendor_list" => ("список продавца базы", "vendor list"),
        "request" => ("просьба человека", "the person's request"),
        // origins and subjects
        "form" => ("форма на сайте", "web form"),
        "purchased" => ("купленная база", "purchased list"),
        "open" => ("открытые источники", "open sources"),
        "person" => ("физлицо", "person"),
        "sole_trader" => ("ИП", "sole trader"),
        "company" => ("организация", "company"),
        // warmth tiers
        "hot" => ("горячий", "hot"),
        "warm" => ("тёплый", "warm"),
        "cold" => ("холодный", "cold"),
        other => return other.to_string(),
    };
    lang.pick(ru, en).to_string()
}

/// Each code of a comma-separated list by its label.
pub fn labels(lang: Lang, codes: &str) -> String {
    codes
        .split(", ")
        .filter(|c| !c.is_empty())
        .map(|c| label(lang, c))
        .collect::<Vec<_>>()
        .join(", ")
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
