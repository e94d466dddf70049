//! The name lists and spelling tables from `data/names/`, parsed once: first names with
//! their sex, noise words, particles (оглы, кызы), patronymic and surname endings, the
//! Cyrillic → Latin table and the key folds. Kept apart so the reading code never deals
//! with file formats.

// Fx hashing: the std SipHash was ~3% of normalising CPU on these small-key lookups.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::LazyLock;

use super::key::name_key;
use super::Gender;

pub(super) const FIRST_NAMES_TSV: &str = include_str!("../../../data/names/first_names.tsv");
const TRANSLIT_TSV: &str = include_str!("../../../data/names/translit.tsv");
const KEY_FOLD_TSV: &str = include_str!("../../../data/names/key_fold.tsv");
const NOISE_TXT: &str = include_str!("../../../data/names/noise.txt");
const PARTICLES_TSV: &str = include_str!("../../../data/names/particles.tsv");
const SUFFIXES_TSV: &str = include_str!("../../../data/names/suffixes.tsv");

/// Non-empty, non-comment lines of a data file, split on tabs.
pub(super) fn data_rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::trim).collect())
}

pub(super) fn gender_code(code: &str) -> Option<Gender> {
    match code {
        "m" => Some(Gender::Male),
        "f" => Some(Gender::Female),
        _ => None,
    }
}

/// Cyrillic block U+0400..U+04FF (lowercase entries only) -> Latin.
pub(super) static TRANSLIT: LazyLock<[Option<&'static str>; 256]> = LazyLock::new(|| {
    let mut table = [None; 256];
    for row in data_rows(TRANSLIT_TSV) {
        let mut chars = row[0].chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            let latin = row.get(1).copied().unwrap_or("");
            let idx = (c as u32).wrapping_sub(0x400) as usize;
            if idx < table.len() && latin.bytes().all(|b| b.is_ascii_lowercase()) {
                table[idx] = Some(latin);
            }
        }
    }
    table
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    Any,
    Start,
    End,
}

#[derive(Debug)]
pub(super) struct FoldRule {
    pub(super) pat: &'static [u8],
    pub(super) rep: &'static str,
    pub(super) anchor: Anchor,
}

/// Fold rules bucketed by first byte so each position checks only a few.
pub(super) static KEY_FOLD: LazyLock<Vec<Vec<FoldRule>>> = LazyLock::new(|| {
    let mut by_first: Vec<Vec<FoldRule>> = (0..128).map(|_| Vec::new()).collect();
    for row in data_rows(KEY_FOLD_TSV) {
        let pat = row[0];
        let rep = row.get(1).copied().unwrap_or("");
        let anchor = match row.get(2).copied() {
            Some("end") => Anchor::End,
            Some("start") => Anchor::Start,
            _ => Anchor::Any,
        };
        // Keys must stay lowercase ASCII; a bad data line is skipped, not fatal.
        let ok = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase());
        if pat.is_empty() || !ok(pat) || !ok(rep) {
            continue;
        }
        by_first[usize::from(pat.as_bytes()[0])].push(FoldRule {
            pat: pat.as_bytes(),
            rep,
            anchor,
        });
    }
    by_first
});

#[derive(Debug)]
pub(super) struct FirstName {
    /// None for names used by both sexes (Саша, Женя).
    pub(super) gender: Option<Gender>,
    /// Key of the canonical spelling for irregular romanisations.
    pub(super) canon: Option<Box<str>>,
}

/// First names by folded key, so Latin spellings hit their Cyrillic entry.
pub(super) static FIRST_NAMES: LazyLock<HashMap<Box<str>, FirstName>> = LazyLock::new(|| {
    let mut map: HashMap<Box<str>, FirstName> = HashMap::default();
    for row in data_rows(FIRST_NAMES_TSV) {
        let key = name_key(row[0]);
        if key.is_empty() {
            continue;
        }
        let gender = row.get(1).and_then(|g| gender_code(g));
        let canon = row
            .get(2)
            .map(|c| name_key(c))
            .filter(|c| !c.is_empty() && *c != key)
            .map(String::into_boxed_str);
        map.entry(key.into_boxed_str())
            .and_modify(|e| {
                // Two spellings folding together with different sexes: unisex.
                if e.gender != gender {
                    e.gender = None;
                }
                if e.canon.is_none() {
                    e.canon.clone_from(&canon);
                }
            })
            .or_insert(FirstName { gender, canon });
    }
    map
});

pub(super) static NOISE: LazyLock<HashSet<Box<str>>> = LazyLock::new(|| {
    data_rows(NOISE_TXT)
        .map(|row| name_key(row[0]).into_boxed_str())
        .filter(|k| !k.is_empty())
        .collect()
});

pub(super) static PARTICLES: LazyLock<HashMap<Box<str>, Gender>> = LazyLock::new(|| {
    data_rows(PARTICLES_TSV)
        .filter_map(|row| {
            let g = gender_code(row.get(1)?)?;
            Some((name_key(row[0]).into_boxed_str(), g))
        })
        .collect()
});

pub(super) struct Suffixes {
    pub(super) patronymic: Vec<(&'static str, Gender)>,
    pub(super) surname: Vec<(&'static str, Gender)>,
}

pub(super) static SUFFIXES: LazyLock<Suffixes> = LazyLock::new(|| {
    let mut s = Suffixes {
        patronymic: Vec::new(),
        surname: Vec::new(),
    };
    for row in data_rows(SUFFIXES_TSV) {
        let (Some(&suffix), Some(g)) = (row.get(1), row.get(2).and_then(|g| gender_code(g))) else {
            continue;
        };
        match row[0] {
            "patronymic" => s.patronymic.push((suffix, g)),
            "surname" => s.surname.push((suffix, g)),
            _ => {}
        }
    }
    s
});

pub(super) fn suffix_gender(key_word: &str, table: &[(&'static str, Gender)]) -> Option<Gender> {
    table
        .iter()
        .find(|(suf, _)| key_word.len() >= suf.len() + 2 && key_word.ends_with(suf))
        .map(|&(_, g)| g)
}

/// Is this folded Latin key (see [`name_key`]) a first name the name list knows?
pub fn is_known_first_name_key(key: &str) -> bool {
    FIRST_NAMES.contains_key(key)
}

/// Everyday first-name forms and the full names they stand for, as written in
/// `data/names/diminutives.tsv` (Саша → [Александр, Александра]).
pub fn diminutives() -> impl Iterator<Item = (&'static str, Vec<&'static str>)> {
    include_str!("../../../data/names/diminutives.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(form, fulls)| {
            (
                form.trim(),
                fulls
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .collect(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_files_parse_cleanly() {
        let rows = |t: &'static str| data_rows(t).count();
        assert_eq!(
            KEY_FOLD.iter().map(Vec::len).sum::<usize>(),
            rows(KEY_FOLD_TSV),
            "a key_fold.tsv line was rejected"
        );
        for row in data_rows(FIRST_NAMES_TSV) {
            assert!((2..=3).contains(&row.len()), "bad row {row:?}");
            assert!(matches!(row[1], "m" | "f" | "u"), "bad gender {row:?}");
        }
        for c in 'а'..='я' {
            assert!(TRANSLIT[(c as u32 - 0x400) as usize].is_some(), "{c}");
        }
        for row in data_rows(PARTICLES_TSV) {
            assert!(PARTICLES.contains_key(name_key(row[0]).as_str()), "{row:?}");
        }
        assert!(FIRST_NAMES.len() > 300);
        assert!(!NOISE.is_empty());
        let s = &*SUFFIXES;
        assert_eq!(s.patronymic.len() + s.surname.len(), rows(SUFFIXES_TSV));
    }
}
