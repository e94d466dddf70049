//! The federal subjects table: `regions.tsv` (hand-kept), indexed by name, code and
//! alias, with and without the type words, with typo matching on the bare names.

use super::index::{Fuzzy, Hit, KeyBuilder};
use super::text::region_keys;
use super::{tsv_rows, Region};
use std::collections::HashMap;
use std::sync::LazyLock;

const REGIONS_TSV: &str = include_str!("../../../data/enrich/regions.tsv");

pub(super) struct Regions {
    pub(super) regions: Vec<Region>,
    codes: HashMap<String, usize>,
    full: HashMap<String, (u8, Hit)>,
    bare: HashMap<String, (u8, Hit)>,
    fuzzy: Fuzzy,
}

impl Regions {
    pub(super) fn by_code(&self, code: &str) -> Option<&Region> {
        self.codes.get(code).and_then(|&i| self.regions.get(i))
    }

    pub(super) fn exact(&self, raw: &str) -> Option<Hit> {
        let (full, bare, _) = region_keys(raw);
        self.full
            .get(&full)
            .or_else(|| self.bare.get(&bare))
            .map(|(_, hit)| *hit)
    }

    pub(super) fn fuzzy(&self, raw: &str) -> Option<Hit> {
        let (_, bare, _) = region_keys(raw);
        self.fuzzy.find(&bare)
    }
}

pub(super) static REGIONS: LazyLock<Regions> = LazyLock::new(|| {
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
    let codes = regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.code.clone(), i))
        .collect();
    Regions {
        regions,
        codes,
        full,
        bare,
        fuzzy,
    }
});

#[cfg(test)]
mod tests {
    use super::super::lookup_region;
    use super::super::tests::{data_lines, region_codes};
    use super::*;

    const PHONE_PREFIXES_TSV: &str = include_str!("../../../data/enrich/phone_prefixes_ru.tsv");

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
}
