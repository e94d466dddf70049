//! The towns table: `cities.tsv` (GeoNames) and the hand-kept `city_aliases.tsv`, indexed
//! by canonical, Latin and other names and by alias, with typo matching on the canonical
//! and primary Latin names.

use super::index::{Fuzzy, Hit, KeyBuilder};
use super::regions::{Regions, REGIONS};
use super::text::{norm, strip_city_type, strip_leading_city_type};
use super::{tsv_rows, Place};
use std::collections::HashMap;
use std::sync::LazyLock;

const CITIES_TSV: &str = include_str!("../../../data/enrich/cities.tsv");
const CITY_ALIASES_TSV: &str = include_str!("../../../data/enrich/city_aliases.tsv");

/// Key priorities, best first: an alias or canonical name beats a GeoNames
/// spelling, which beats another language's or an old name.
const PRIO_ALIAS: u8 = 0;
const PRIO_CANONICAL: u8 = 1;
const PRIO_PRIMARY_LATIN: u8 = 2;
const PRIO_LATIN: u8 = 3;
const PRIO_OTHER: u8 = 4;

pub(super) struct Cities {
    pub(super) places: Vec<Place>,
    index: HashMap<String, (u8, Hit)>,
    fuzzy: Fuzzy,
}

impl Cities {
    pub(super) fn exact(&self, raw: &str) -> Option<Hit> {
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

    pub(super) fn fuzzy(&self, raw: &str) -> Option<Hit> {
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

pub(super) static CITIES: LazyLock<Cities> = LazyLock::new(|| {
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

#[cfg(test)]
mod tests {
    use super::super::lookup_city;
    use super::super::tests::{data_lines, region_codes};
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

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

    proptest! {
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
