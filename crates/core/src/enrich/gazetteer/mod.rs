//! City and region look-ups: canonical Russian name, region (ISO 3166-2
//! style code), IANA time zone and its UTC offset.
//!
//! Data, embedded at compile time from `data/enrich/`:
//! - `cities.tsv`: ~1000 Russian towns over 15 000 people, generated from
//!   GeoNames (CC BY 4.0) by `tools/make_gazetteer.py`;
//! - `city_aliases.tsv`: hand-kept abbreviations and slang (СПб, Екб, Нск);
//! - `regions.tsv`: the 85 federal subjects with aliases, hand-kept.
//!
//! Matching ignores case, ё/е, stress marks, punctuation and "г."/"город"
//! around a city name. A miss falls back to Damerau-Levenshtein distance 1
//! (on chars, so Cyrillic is safe) for names of at least 6 letters, when
//! only one place is that close.
//!
//! Here: the look-ups. `text` reads a cell into a key (case, ё, type words such as
//! "г." or "обл."), `index` holds the exact and typo indexes both tables use, `cities`
//! and `regions` build the two tables from their files; `filter` reads what a user's
//! `--city` or `--region` value stands for.

mod cities;
mod filter;
mod index;
mod regions;
mod text;

pub use filter::{
    place_matches, resolve_place, resolve_place_filter, PlaceFilter, PlaceKind, Wanted,
};

use cities::CITIES;
use index::Hit;
use regions::REGIONS;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Place {
    /// Canonical Russian name ("Санкт-Петербург").
    pub city: String,
    /// "RU-MOW". Crimea and Sevastopol are RU-CR / RU-SEV as in Russian
    /// lists (ISO 3166-2 has no such codes).
    pub region_code: String,
    pub region_name: String,
    /// IANA zone, e.g. "Europe/Moscow".
    pub tz: String,
    /// Standard offset; Russia has had no DST since 2014.
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    /// Zone of the administrative centre (Sakha, Sakhalin and Chukotka span
    /// several).
    pub tz: String,
    pub utc_offset_minutes: i32,
}

/// Find a Russian town by name, abbreviation or Latin spelling. Tries the
/// whole text, then each part between commas/brackets ("Россия, г. Москва"),
/// then typos. `None` when unknown or ambiguous.
pub fn lookup_city(raw: &str) -> Option<&'static Place> {
    let g = &*CITIES;
    lookup_parts(raw, |part| g.exact(part), |part| g.fuzzy(part)).and_then(|i| g.places.get(i))
}

/// Find a federal subject by name, short form ("Московская обл.",
/// "Респ. Татарстан", "ХМАО"), Latin name or code ("RU-SVE").
pub fn lookup_region(raw: &str) -> Option<&'static Region> {
    let r = &*REGIONS;
    lookup_parts(raw, |part| r.exact(part), |part| r.fuzzy(part)).and_then(|i| r.regions.get(i))
}

/// A federal subject by its code ("RU-MOW").
pub fn region_by_code(code: &str) -> Option<&'static Region> {
    REGIONS.by_code(code)
}

/// Standard UTC offset of a Russian IANA zone ("Asia/Kamchatka" → 720), from the
/// regions table.
pub fn offset_minutes(tz: &str) -> Option<i32> {
    let r = &*REGIONS;
    r.regions
        .iter()
        .find(|region| region.tz == tz)
        .map(|region| region.utc_offset_minutes)
}

/// Exact on the whole text, exact on each part, then fuzzy on each part.
/// A definite "ambiguous" stops the search: a later part must not override
/// it with a guess.
fn lookup_parts(
    raw: &str,
    exact: impl Fn(&str) -> Option<Hit>,
    fuzzy: impl Fn(&str) -> Option<Hit>,
) -> Option<usize> {
    const SEPARATORS: [char; 4] = [',', ';', '(', ')'];
    match exact(raw) {
        Some(Hit::One(i)) => return Some(i),
        Some(Hit::Ambiguous) => return None,
        None => {}
    }
    let parts: Vec<&str> = if raw.contains(SEPARATORS) {
        raw.split(SEPARATORS)
            .filter(|p| !p.trim().is_empty())
            .collect()
    } else {
        vec![raw]
    };
    if parts.len() > 1 {
        for part in &parts {
            match exact(part) {
                Some(Hit::One(i)) => return Some(i),
                Some(Hit::Ambiguous) => return None,
                None => {}
            }
        }
    }
    for part in &parts {
        match fuzzy(part) {
            Some(Hit::One(i)) => return Some(i),
            Some(Hit::Ambiguous) => return None,
            None => {}
        }
    }
    None
}

/// Non-comment, non-blank lines split on tabs.
fn tsv_rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::trim).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn city(raw: &str) -> Option<(&'static str, &'static str, &'static str, i32)> {
        lookup_city(raw).map(|p| {
            (
                p.city.as_str(),
                p.region_code.as_str(),
                p.tz.as_str(),
                p.utc_offset_minutes,
            )
        })
    }

    #[test]
    fn cities_and_abbreviations() {
        type Want = (&'static str, &'static str, &'static str, i32);
        const MSK: Want = ("Москва", "RU-MOW", "Europe/Moscow", 180);
        const SPB: Want = ("Санкт-Петербург", "RU-SPE", "Europe/Moscow", 180);
        const EKB: Want = ("Екатеринбург", "RU-SVE", "Asia/Yekaterinburg", 300);
        const NN: Want = ("Нижний Новгород", "RU-NIZ", "Europe/Moscow", 180);
        const ROS: Want = ("Ростов-на-Дону", "RU-ROS", "Europe/Moscow", 180);
        const NSK: Want = ("Новосибирск", "RU-NVS", "Asia/Novosibirsk", 420);
        let cases: &[(&str, Want)] = &[
            ("Москва", MSK),
            ("г. Москва", MSK),
            ("г Москва", MSK),
            ("г.Москва", MSK),
            ("город Москва", MSK),
            ("Москва г", MSK),
            ("МОСКВА", MSK),
            ("  москва ", MSK),
            ("Moscow", MSK),
            ("Moskva", MSK),
            ("Мск", MSK),
            ("Россия, г. Москва", MSK),
            ("СПб", SPB),
            ("спб", SPB),
            ("Питер", SPB),
            ("Санкт-Петербург", SPB),
            ("Санкт Петербург", SPB),
            ("С.-Петербург", SPB),
            ("С.Петербург", SPB),
            ("г. Санкт-Петербург", SPB),
            ("Saint Petersburg", SPB),
            ("St. Petersburg", SPB),
            ("Ленинград", SPB),
            ("Екб", EKB),
            ("Екатеринбург", EKB),
            ("Ekaterinburg", EKB),
            ("Yekaterinburg", EKB),
            ("Свердловская обл., г. Екатеринбург", EKB),
            ("Нижний Новгород", NN),
            ("Н. Новгород", NN),
            ("Н.Новгород", NN),
            ("Nizhny Novgorod", NN),
            ("Ростов-на-Дону", ROS),
            ("Ростов на Дону", ROS),
            ("Ростов н/Д", ROS),
            ("Rostov-on-Don", ROS),
            ("Новосибирск", NSK),
            ("Нск", NSK),
            ("Novosibirsk", NSK),
            // Time zones across the country.
            (
                "Калининград",
                ("Калининград", "RU-KGD", "Europe/Kaliningrad", 120),
            ),
            ("Самара", ("Самара", "RU-SAM", "Europe/Samara", 240)),
            ("Омск", ("Омск", "RU-OMS", "Asia/Omsk", 360)),
            (
                "Красноярск",
                ("Красноярск", "RU-KYA", "Asia/Krasnoyarsk", 420),
            ),
            ("Иркутск", ("Иркутск", "RU-IRK", "Asia/Irkutsk", 480)),
            ("Якутск", ("Якутск", "RU-SA", "Asia/Yakutsk", 540)),
            (
                "Владивосток",
                ("Владивосток", "RU-PRI", "Asia/Vladivostok", 600),
            ),
            ("Магадан", ("Магадан", "RU-MAG", "Asia/Magadan", 660)),
            (
                "Петропавловск-Камчатский",
                ("Петропавловск-Камчатский", "RU-KAM", "Asia/Kamchatka", 720),
            ),
            (
                "Petropavlovsk-Kamchatsky",
                ("Петропавловск-Камчатский", "RU-KAM", "Asia/Kamchatka", 720),
            ),
            ("Казань", ("Казань", "RU-TA", "Europe/Moscow", 180)),
            (
                "Симферополь",
                ("Симферополь", "RU-CR", "Europe/Simferopol", 180),
            ),
            (
                "Севастополь",
                ("Севастополь", "RU-SEV", "Europe/Simferopol", 180),
            ),
            ("Орёл", ("Орел", "RU-ORL", "Europe/Moscow", 180)),
            ("Орел", ("Орел", "RU-ORL", "Europe/Moscow", 180)),
            ("Тольятти", ("Тольятти", "RU-SAM", "Europe/Samara", 240)),
            (
                "Набережные Челны",
                ("Набережные Челны", "RU-TA", "Europe/Moscow", 180),
            ),
            ("Улан-Удэ", ("Улан-Удэ", "RU-BU", "Asia/Irkutsk", 480)),
            // Same name, one much bigger: the bigger wins.
            ("Киров", ("Киров", "RU-KIR", "Europe/Kirov", 180)),
            (
                "Благовещенск",
                ("Благовещенск", "RU-AMU", "Asia/Yakutsk", 540),
            ),
            // Typos: Damerau-Levenshtein 1 on chars.
            ("Екатеринбур", EKB),
            ("Екатеринбрг", EKB),
            ("Новосибирк", NSK),
            ("Новосибриск", NSK),
            ("Novosibirks", NSK),
            (
                "Калиниград",
                ("Калининград", "RU-KGD", "Europe/Kaliningrad", 120),
            ),
            (
                "Владивостк",
                ("Владивосток", "RU-PRI", "Asia/Vladivostok", 600),
            ),
            (
                "Красноярсл",
                ("Красноярск", "RU-KYA", "Asia/Krasnoyarsk", 420),
            ),
            ("Самраа", ("Самара", "RU-SAM", "Europe/Samara", 240)),
            ("г. Екатеринбур", EKB),
        ];
        let mut failures = Vec::new();
        for &(raw, want) in cases {
            let got = city(raw);
            if got != Some(want) {
                failures.push(format!("{raw:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn unknown_and_ambiguous_cities() {
        for raw in [
            "",
            "   ",
            ",,,",
            "г.",
            "Атлантида",
            "Урюпинсквилль",
            "Омсе", // 4 letters: too short for typo matching
            "Уфаа",
            // Two towns of ~95 000 people each.
            "Железногорск",
            // One edit from two towns: Нефтекамск / Нефтекумск,
            // Михайловка / Михайловск.
            "Нефтекмск",
            "Михайловк",
            "Москва1234567",
        ] {
            assert_eq!(lookup_city(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn regions() {
        let cases: &[(&str, &str)] = &[
            ("Московская обл.", "RU-MOS"),
            ("Московская область", "RU-MOS"),
            ("обл. Московская", "RU-MOS"),
            ("Moscow Oblast", "RU-MOS"),
            ("Подмосковье", "RU-MOS"),
            ("МО", "RU-MOS"),
            ("Москва", "RU-MOW"),
            ("г. Москва", "RU-MOW"),
            ("Moscow", "RU-MOW"),
            ("Санкт-Петербург", "RU-SPE"),
            ("Свердловская область", "RU-SVE"),
            ("Свердловская обл", "RU-SVE"),
            ("Свердловская", "RU-SVE"),
            ("Sverdlovsk Oblast", "RU-SVE"),
            ("Свердловскя обл.", "RU-SVE"), // typo
            ("Татарстан", "RU-TA"),
            ("Респ. Татарстан", "RU-TA"),
            ("Республика Татарстан", "RU-TA"),
            ("Татарстан Респ", "RU-TA"),
            ("Республика Татарстан (Татарстан)", "RU-TA"),
            ("Краснодарский край", "RU-KDA"),
            ("Краснодарский кр.", "RU-KDA"),
            ("Приморский край", "RU-PRI"),
            ("Камчатский край", "RU-KAM"),
            ("Калининградская обл", "RU-KGD"),
            ("Алтай", "RU-AL"),
            ("Республика Алтай", "RU-AL"),
            ("Алтайский край", "RU-ALT"),
            ("Altai Krai", "RU-ALT"),
            ("ХМАО", "RU-KHM"),
            ("Ханты-Мансийский автономный округ - Югра", "RU-KHM"),
            ("Ханты-Мансийский АО", "RU-KHM"),
            ("Республика Саха (Якутия)", "RU-SA"),
            ("Якутия", "RU-SA"),
            ("Кемеровская область - Кузбасс", "RU-KEM"),
            ("Кемеровская обл.", "RU-KEM"),
            ("Чувашия", "RU-CU"),
            ("Чувашская Республика", "RU-CU"),
            ("Северная Осетия", "RU-SE"),
            ("Еврейская АО", "RU-YEV"),
            ("Еврейская автономная область", "RU-YEV"),
            ("Ненецкий АО", "RU-NEN"),
            ("Ямало-Ненецкий АО", "RU-YAN"),
            ("Чукотский АО", "RU-CHU"),
            ("Крым", "RU-CR"),
            ("Севастополь", "RU-SEV"),
            ("RU-SVE", "RU-SVE"),
            ("Россия, Самарская обл.", "RU-SAM"),
            ("Orel Oblast", "RU-ORL"),
            ("Орловская обл.", "RU-ORL"),
        ];
        let mut failures = Vec::new();
        for &(raw, code) in cases {
            let got = lookup_region(raw).map(|r| r.code.as_str());
            if got != Some(code) {
                failures.push(format!("{raw:?}: got {got:?}, want {code}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));

        for raw in ["", "обл.", "Область", "Altai", "Kazakhstan", "Екатеринбург"]
        {
            assert_eq!(lookup_region(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn region_time_zones() {
        let cases: &[(&str, &str, i32)] = &[
            ("Калининградская обл.", "Europe/Kaliningrad", 120),
            ("Москва", "Europe/Moscow", 180),
            ("Самарская обл.", "Europe/Samara", 240),
            ("Свердловская обл.", "Asia/Yekaterinburg", 300),
            ("Омская обл.", "Asia/Omsk", 360),
            ("Новосибирская обл.", "Asia/Novosibirsk", 420),
            ("Красноярский край", "Asia/Krasnoyarsk", 420),
            ("Иркутская обл.", "Asia/Irkutsk", 480),
            ("Якутия", "Asia/Yakutsk", 540),
            ("Приморский край", "Asia/Vladivostok", 600),
            ("Магаданская обл.", "Asia/Magadan", 660),
            ("Камчатский край", "Asia/Kamchatka", 720),
        ];
        for &(raw, tz, offset) in cases {
            let r = lookup_region(raw);
            assert_eq!(
                r.map(|r| (r.tz.as_str(), r.utc_offset_minutes)),
                Some((tz, offset)),
                "{raw:?}"
            );
        }
    }

    // --- data sanity ----------------------------------------------------------

    pub(super) fn region_codes() -> HashSet<&'static str> {
        REGIONS.regions.iter().map(|r| r.code.as_str()).collect()
    }

    pub(super) fn data_lines(text: &'static str) -> usize {
        tsv_rows(text).count()
    }

    #[test]
    fn a_type_word_inside_the_name_stays() {
        let base = lookup_city("Красное Село").map(|p| p.city.clone());
        assert_eq!(base.as_deref(), Some("Красное Село"));
        assert_eq!(lookup_city("г. Красное Село").map(|p| p.city.clone()), base);
    }

    #[test]
    fn huge_input_is_cheap() {
        let big = "Москва ".repeat(200_000);
        let start = std::time::Instant::now();
        assert_eq!(lookup_city(&big), None);
        assert_eq!(lookup_region(&big), None);
        let commas = "Атлантида, ".repeat(20_000);
        assert_eq!(lookup_city(&commas), None);
        // Generous: linear work is milliseconds even in debug builds.
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = lookup_city(&s);
            let _ = lookup_region(&s);
        }

        #[test]
        fn never_panics_cyrillic(s in "[а-яА-ЯёЁ .,()/-]{0,40}\u{0301}?[а-я]{0,5}") {
            let _ = lookup_city(&s);
            let _ = lookup_region(&s);
        }
    }
}
