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

use std::collections::HashMap;
use std::sync::LazyLock;

const CITIES_TSV: &str = include_str!("../../data/enrich/cities.tsv");
const CITY_ALIASES_TSV: &str = include_str!("../../data/enrich/city_aliases.tsv");
const REGIONS_TSV: &str = include_str!("../../data/enrich/regions.tsv");

/// Shorter names get no typo matching: one edit to "Омск" or "Уфа" lands on
/// other words (and other towns) too easily.
const MIN_FUZZY_CHARS: usize = 6;

/// Longer text is no typo of a name ("Петропавловск-Камчатский" is 24), and
/// the deletion variants of a huge cell would cost O(len²).
const MAX_FUZZY_CHARS: usize = 40;

/// Towns sharing a name: the biggest wins only if it is this many times the
/// size of the next, so "Киров" is Kirov but "Железногорск" (two of ~95k) is
/// nobody.
const DOMINANCE: u64 = 3;

/// Words around a city name that only say what kind of place it is.
const CITY_TYPE_WORDS: &[&str] = &[
    "г",
    "гор",
    "город",
    "пгт",
    "рп",
    "п",
    "пос",
    "поселок",
    "с",
    "село",
    "д",
    "дер",
    "деревня",
    "ст",
    "станица",
    "х",
    "хутор",
    "city",
    "gorod",
    "g",
];

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

// --- normalisation ------------------------------------------------------------

/// Lowercase words of letters and digits joined by single spaces; ё→е,
/// stress marks dropped, everything else separates words.
fn norm(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut gap = false;
    for c in raw.chars() {
        match c {
            // Stress marks and a decomposed ё's diaeresis.
            '\u{0300}' | '\u{0301}' | '\u{0308}' => continue,
            // Decomposed й.
            '\u{0306}' => {
                if out.ends_with('и') {
                    out.pop();
                    out.push('й');
                }
                continue;
            }
            _ => {}
        }
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            for l in c.to_lowercase() {
                out.push(if l == 'ё' { 'е' } else { l });
            }
        } else {
            gap = true;
        }
    }
    out
}

/// `key` without city type words at either end ("г москва", "москва г").
fn strip_leading_city_type(key: &str) -> &str {
    let mut s = key;
    while let Some((first, rest)) = s.split_once(' ') {
        if !CITY_TYPE_WORDS.contains(&first) {
            break;
        }
        s = rest;
    }
    s
}

fn strip_city_type(key: &str) -> &str {
    let mut s = key;
    loop {
        let before = s;
        if let Some((first, rest)) = s.split_once(' ') {
            if CITY_TYPE_WORDS.contains(&first) {
                s = rest;
            }
        }
        if let Some((rest, last)) = s.rsplit_once(' ') {
            if CITY_TYPE_WORDS.contains(&last) {
                s = rest;
            }
        }
        if s == before {
            return s;
        }
    }
}

// --- shared index pieces ------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hit {
    One(usize),
    Ambiguous,
}

/// Candidates per key while building: the best priority seen and the places
/// that have the key at that priority (lower number wins).
#[derive(Default)]
struct KeyBuilder {
    keys: HashMap<String, (u8, Vec<usize>)>,
}

impl KeyBuilder {
    fn add(&mut self, key: String, prio: u8, place: usize) {
        if key.is_empty() {
            return;
        }
        let entry = self.keys.entry(key).or_insert((prio, Vec::new()));
        if prio < entry.0 {
            *entry = (prio, vec![place]);
        } else if prio == entry.0 && !entry.1.contains(&place) {
            entry.1.push(place);
        }
    }

    /// Resolve ties with `weight` (population): the heaviest wins if it
    /// outweighs the next by `DOMINANCE`; all-zero weights never resolve.
    fn build(self, weight: impl Fn(usize) -> u64) -> HashMap<String, (u8, Hit)> {
        self.keys
            .into_iter()
            .map(|(key, (prio, mut places))| {
                places.sort_by_key(|&p| std::cmp::Reverse(weight(p)));
                let hit = match places.as_slice() {
                    [one] => Hit::One(*one),
                    [first, second, ..] if weight(*first) >= DOMINANCE * weight(*second).max(1) => {
                        Hit::One(*first)
                    }
                    _ => Hit::Ambiguous,
                };
                (key, (prio, hit))
            })
            .collect()
    }
}

/// Damerau-Levenshtein-1 candidates via a deletion index: two strings are
/// within one edit only if they share a string obtained by deleting at most
/// one char from each, so a query checks ~len hash look-ups instead of
/// scanning every name.
#[derive(Default)]
struct Fuzzy {
    keys: Vec<(String, Hit)>,
    by_variant: HashMap<String, Vec<u32>>,
}

impl Fuzzy {
    fn new<'a>(entries: impl Iterator<Item = (&'a String, Hit)>) -> Self {
        let mut f = Fuzzy::default();
        for (key, hit) in entries {
            if !(MIN_FUZZY_CHARS..=MAX_FUZZY_CHARS).contains(&key.chars().count()) {
                continue;
            }
            let Ok(id) = u32::try_from(f.keys.len()) else {
                break;
            };
            for v in variants(key) {
                f.by_variant.entry(v).or_default().push(id);
            }
            f.keys.push((key.clone(), hit));
        }
        f
    }

    /// The single place within distance 1 of `key`; `Ambiguous` if several.
    fn find(&self, key: &str) -> Option<Hit> {
        if !(MIN_FUZZY_CHARS..=MAX_FUZZY_CHARS).contains(&key.chars().count()) {
            return None;
        }
        let mut ids: Vec<u32> = variants(key)
            .iter()
            .filter_map(|v| self.by_variant.get(v))
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut found: Option<Hit> = None;
        for id in ids {
            let Some((cand, hit)) = usize::try_from(id).ok().and_then(|i| self.keys.get(i)) else {
                continue;
            };
            if strsim::damerau_levenshtein(key, cand) > 1 {
                continue;
            }
            found = match (found, *hit) {
                (None, h) => Some(h),
                (Some(a), b) if a == b => Some(a),
                _ => Some(Hit::Ambiguous),
            };
        }
        found
    }
}

/// The key itself and every one-char deletion of it.
fn variants(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut out = Vec::with_capacity(chars.len() + 1);
    out.push(key.to_owned());
    for skip in 0..chars.len() {
        let v: String = chars
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != skip)
            .map(|(_, c)| c)
            .collect();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Non-comment, non-blank lines split on tabs.
fn tsv_rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::trim).collect())
}

// --- cities -------------------------------------------------------------------

/// Key priorities, best first: an alias or canonical name beats a GeoNames
/// spelling, which beats another language's or an old name.
const PRIO_ALIAS: u8 = 0;
const PRIO_CANONICAL: u8 = 1;
const PRIO_PRIMARY_LATIN: u8 = 2;
const PRIO_LATIN: u8 = 3;
const PRIO_OTHER: u8 = 4;

struct Cities {
    places: Vec<Place>,
    index: HashMap<String, (u8, Hit)>,
    fuzzy: Fuzzy,
}

impl Cities {
    fn exact(&self, raw: &str) -> Option<Hit> {
        let key = norm(raw);
        if let Some((_, hit)) = self.index.get(&key) {
            return Some(*hit);
        }
        // Type words stripped from the front first, then from both ends: "г. Красное
        // Село" is the town Красное Село, not Красное ("село" is also a type word).
        let front = strip_leading_city_type(&key);
        if front.len() < key.len() {
            if let Some((_, hit)) = self.index.get(front) {
                return Some(*hit);
            }
        }
        let stripped = strip_city_type(&key);
        if stripped.len() < key.len() {
            return self.index.get(stripped).map(|(_, hit)| *hit);
        }
        None
    }

    fn fuzzy(&self, raw: &str) -> Option<Hit> {
        let key = norm(raw);
        self.fuzzy.find(strip_city_type(&key))
    }
}

struct CityRow {
    place: Place,
    population: u64,
    latin: Vec<&'static str>,
    other: Vec<&'static str>,
}

/// Parse one cities.tsv row; `None` if malformed (the data test counts
/// rows, so a bad line cannot slip through).
fn parse_city(cols: &[&'static str], regions: &Regions) -> Option<CityRow> {
    let [_id, name, code, tz, offset, population, latin, other] = cols else {
        return None;
    };
    let region = regions.by_code(code)?;
    let split = |s: &'static str| s.split('|').filter(|x| !x.is_empty()).collect::<Vec<_>>();
    Some(CityRow {
        place: Place {
            city: (*name).to_owned(),
            region_code: (*code).to_owned(),
            region_name: region.name.clone(),
            tz: (*tz).to_owned(),
            utc_offset_minutes: offset.parse().ok()?,
        },
        population: population.parse().ok()?,
        latin: split(latin),
        other: split(other),
    })
}

static CITIES: LazyLock<Cities> = LazyLock::new(|| {
    let regions = &*REGIONS;
    let rows: Vec<CityRow> = tsv_rows(CITIES_TSV)
        .filter_map(|cols| parse_city(&cols, regions))
        .collect();

    let mut keys = KeyBuilder::default();
    let mut by_name: HashMap<(String, &str), usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        keys.add(norm(&row.place.city), PRIO_CANONICAL, i);
        for (n, latin) in row.latin.iter().enumerate() {
            let prio = if n == 0 {
                PRIO_PRIMARY_LATIN
            } else {
                PRIO_LATIN
            };
            keys.add(norm(latin), prio, i);
        }
        for other in &row.other {
            keys.add(norm(other), PRIO_OTHER, i);
        }
        by_name.insert((norm(&row.place.city), row.place.region_code.as_str()), i);
    }
    for cols in tsv_rows(CITY_ALIASES_TSV) {
        if let [alias, name, code] = cols.as_slice() {
            if let Some(&i) = by_name.get(&(norm(name), *code)) {
                keys.add(norm(alias), PRIO_ALIAS, i);
            }
        }
    }

    let index = keys.build(|i| rows.get(i).map_or(0, |r| r.population));
    let fuzzy = Fuzzy::new(
        index
            .iter()
            .filter(|(_, (prio, _))| *prio <= PRIO_PRIMARY_LATIN)
            .map(|(k, (_, hit))| (k, *hit)),
    );
    Cities {
        places: rows.into_iter().map(|r| r.place).collect(),
        index,
        fuzzy,
    }
});

// --- regions ------------------------------------------------------------------

/// What a region type word stands for; the class keeps "Altai Krai" and
/// "Altai Republic" apart while "Алтайский край" and "Алтайский кр." meet.
/// Keep the word list in step with TYPE_WORDS in tools/make_phone_prefixes.py.
fn region_type(word: &str) -> Option<&'static str> {
    Some(match word {
        "область" | "обл" | "области" | "oblast" | "obl" | "region" => "обл",
        "край" | "кр" | "края" | "krai" | "kray" | "territory" => "край",
        "республика" | "респ" | "республики" | "republic" | "resp" => {
            "респ"
        }
        "автономный"
        | "автономная"
        | "автономной"
        | "автономного"
        | "округ"
        | "ао"
        | "autonomous"
        | "okrug"
        | "district" => "ао",
        "аобл" => "ао обл",
        "г" | "город" | "федерального" | "значения" | "city" | "gorod" => {
            "г"
        }
        "of" | "the" => "",
        _ => return None,
    })
}

/// (key with type classes, key without them, whether there were any);
/// both sorted so word order does not matter ("Татарстан Респ").
fn region_keys(raw: &str) -> (String, String, bool) {
    let key = norm(raw);
    let mut words: Vec<&str> = Vec::new();
    let mut types: Vec<&str> = Vec::new();
    for w in key.split(' ').filter(|w| !w.is_empty()) {
        match region_type(w) {
            Some(class) => types.extend(class.split(' ').filter(|c| !c.is_empty())),
            None => words.push(w),
        }
    }
    words.sort_unstable();
    let bare = words.join(" ");
    let had_types = !types.is_empty();
    types.sort_unstable();
    types.dedup();
    words.extend(types);
    words.sort_unstable();
    (words.join(" "), bare, had_types)
}

struct Regions {
    regions: Vec<Region>,
    full: HashMap<String, (u8, Hit)>,
    bare: HashMap<String, (u8, Hit)>,
    fuzzy: Fuzzy,
}

impl Regions {
    fn by_code(&self, code: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.code == code)
    }

    fn exact(&self, raw: &str) -> Option<Hit> {
        let (full, bare, _) = region_keys(raw);
        self.full
            .get(&full)
            .or_else(|| self.bare.get(&bare))
            .map(|(_, hit)| *hit)
    }

    fn fuzzy(&self, raw: &str) -> Option<Hit> {
        let (_, bare, _) = region_keys(raw);
        self.fuzzy.find(&bare)
    }
}

static REGIONS: LazyLock<Regions> = LazyLock::new(|| {
    let mut regions = Vec::new();
    let mut full = KeyBuilder::default();
    let mut bare = KeyBuilder::default();
    for cols in tsv_rows(REGIONS_TSV) {
        let [code, name, tz, offset, aliases] = cols.as_slice() else {
            continue;
        };
        let Ok(utc_offset_minutes) = offset.parse() else {
            continue;
        };
        let i = regions.len();
        regions.push(Region {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            tz: (*tz).to_owned(),
            utc_offset_minutes,
        });
        let names = [*code, *name]
            .into_iter()
            .chain(aliases.split('|').filter(|a| !a.is_empty()));
        for alias in names {
            let (f, b, had_types) = region_keys(alias);
            full.add(f, 0, i);
            // "Moscow" (the city) beats "Moscow" left of "Moscow Oblast".
            bare.add(b, u8::from(had_types), i);
        }
    }
    // No population here: same-priority clashes stay ambiguous ("Altai").
    let full = full.build(|_| 0);
    let bare = bare.build(|_| 0);
    let fuzzy = Fuzzy::new(bare.iter().map(|(k, (_, hit))| (k, *hit)));
    Regions {
        regions,
        full,
        bare,
        fuzzy,
    }
});

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    const PHONE_PREFIXES_TSV: &str = include_str!("../../data/enrich/phone_prefixes_ru.tsv");

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

    fn region_codes() -> HashSet<&'static str> {
        REGIONS.regions.iter().map(|r| r.code.as_str()).collect()
    }

    fn data_lines(text: &'static str) -> usize {
        tsv_rows(text).count()
    }

    #[test]
    fn regions_data_is_clean() {
        assert_eq!(data_lines(REGIONS_TSV), REGIONS.regions.len(), "bad line");
        assert_eq!(REGIONS.regions.len(), 85);
        assert_eq!(region_codes().len(), 85, "duplicate code");
        for r in &REGIONS.regions {
            assert!(r.code.starts_with("RU-"), "{r:?}");
            assert!(r.tz.contains('/'), "{r:?}");
            assert!((120..=720).contains(&r.utc_offset_minutes), "{r:?}");
            // Each region finds itself by its name and its code.
            assert_eq!(lookup_region(&r.name).map(|x| &x.code), Some(&r.code));
            assert_eq!(lookup_region(&r.code).map(|x| &x.code), Some(&r.code));
        }
    }

    #[test]
    fn cities_data_is_clean() {
        let places = &CITIES.places;
        assert_eq!(data_lines(CITIES_TSV), places.len(), "bad line");
        assert!(places.len() >= 900, "{}", places.len());
        let codes = region_codes();
        // A zone always has the same offset, whichever file it comes from.
        let mut offsets: HashMap<&str, i32> = REGIONS
            .regions
            .iter()
            .map(|r| (r.tz.as_str(), r.utc_offset_minutes))
            .collect();
        let mut regions_with_towns = HashSet::new();
        for p in places {
            assert!(codes.contains(p.region_code.as_str()), "{p:?}");
            assert!(p.tz.contains('/'), "{p:?}");
            assert!(!p.city.is_empty());
            let off = *offsets.entry(&p.tz).or_insert(p.utc_offset_minutes);
            assert_eq!(off, p.utc_offset_minutes, "{p:?}");
            regions_with_towns.insert(p.region_code.as_str());
            // A canonical name finds its own town, a namesake that dwarfs it,
            // or nothing (namesakes of similar size).
            if let Some(found) = lookup_city(&p.city) {
                assert_eq!(norm(&found.city), norm(&p.city), "{p:?} -> {found:?}");
            }
        }
        // Every subject has a town over 15 000 people except Chukotka's
        // capital, which is just under.
        assert!(
            regions_with_towns.len() >= 84,
            "{}",
            regions_with_towns.len()
        );
    }

    #[test]
    fn city_aliases_point_at_rows() {
        let rows = data_lines(CITY_ALIASES_TSV);
        let mut seen = HashSet::new();
        for cols in tsv_rows(CITY_ALIASES_TSV) {
            let [alias, name, code] = cols.as_slice() else {
                panic!("want 3 columns: {cols:?}");
            };
            assert!(seen.insert(norm(alias)), "duplicate alias {alias:?}");
            let got = lookup_city(alias).map(|p| (p.city.as_str(), p.region_code.as_str()));
            assert_eq!(
                got.map(|(c, r)| (norm(c), r)),
                Some((norm(name), *code)),
                "{alias:?}"
            );
        }
        assert_eq!(seen.len(), rows);
    }

    /// Phone prefixes name regions in libphonenumber's words; they must map
    /// to the same region code the prefix file was generated with.
    #[test]
    fn phone_prefix_regions_resolve() {
        let mut checked = 0;
        for cols in tsv_rows(PHONE_PREFIXES_TSV) {
            let [prefix, desc, code, _tz] = cols.as_slice() else {
                panic!("want 4 columns: {cols:?}");
            };
            let got = lookup_region(desc).map(|r| r.code.as_str());
            if code.is_empty() {
                assert_eq!(got, None, "{prefix} {desc}");
            } else {
                assert_eq!(got, Some(*code), "{prefix} {desc}");
                checked += 1;
            }
        }
        assert!(checked >= 80, "{checked}");
    }

    #[test]
    fn normalisation() {
        assert_eq!(norm("  Г.  Москва!! "), "г москва");
        assert_eq!(norm("Орёл"), "орел");
        assert_eq!(norm("Оре\u{0308}л"), "орел");
        assert_eq!(norm("Луга\u{0301}нская"), "луганская");
        assert_eq!(norm("Кии\u{0306}"), "кий");
        assert_eq!(norm("Ростов-на-Дону"), "ростов на дону");
        assert_eq!(strip_city_type("г москва"), "москва");
        assert_eq!(strip_city_type("москва г"), "москва");
        assert_eq!(strip_city_type("пгт г москва"), "москва");
        assert_eq!(strip_city_type("г"), "г");
        assert_eq!(region_keys("Респ. Татарстан").0, "респ татарстан");
        assert_eq!(region_keys("Татарстан Республика").1, "татарстан");
        assert_eq!(region_keys("Еврейская аобл").0, "ао еврейская обл");
    }

    #[test]
    fn fuzzy_needs_a_unique_neighbour() {
        // Each is one edit from two different towns.
        let f = Fuzzy::new(
            [
                ("абвгде".to_owned(), Hit::One(1)),
                ("абвгдж".to_owned(), Hit::One(2)),
                ("клмноп".to_owned(), Hit::One(3)),
            ]
            .iter()
            .map(|(k, h)| (k, *h)),
        );
        assert_eq!(f.find("абвгдз"), Some(Hit::Ambiguous));
        assert_eq!(f.find("клмнпо"), Some(Hit::One(3))); // transposition
        assert_eq!(f.find("клмноп"), Some(Hit::One(3)));
        assert_eq!(f.find("клмнопр"), Some(Hit::One(3))); // insertion
        assert_eq!(f.find("клмно"), None); // too short to try
        assert_eq!(f.find("клмнорс"), None); // two edits
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

        /// Case, "г." and ё never change the answer for a known town.
        #[test]
        fn spelling_noise_is_ignored(i in 0usize..900, style in 0usize..4) {
            let Some(p) = CITIES.places.get(i) else { return Ok(()) };
            let Some(base) = lookup_city(&p.city) else { return Ok(()) };
            let raw = match style {
                0 => format!("г. {}", p.city),
                1 => p.city.to_uppercase(),
                2 => format!("  {} г", p.city.replace('е', "ё")),
                _ => format!("Россия, {}", p.city),
            };
            // ё-substitution can only make a word unknown, never another town.
            if let Some(found) = lookup_city(&raw) {
                prop_assert_eq!(found, base, "{}", raw);
            } else {
                prop_assert_eq!(style, 2, "{}", raw);
            }
        }
    }
}
