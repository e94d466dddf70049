//! The indexes both tables are searched through: a key → place map built with priorities
//! and population (a clash the bigger town does not dominate is ambiguous), and a
//! deletion index for typos (Damerau-Levenshtein distance 1).

use std::collections::HashMap;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hit {
    One(usize),
    Ambiguous,
}

/// Candidates per key while building: the best priority seen and the places
/// that have the key at that priority (lower number wins).
#[derive(Default)]
pub(super) struct KeyBuilder {
    keys: HashMap<String, (u8, Vec<usize>)>,
}

impl KeyBuilder {
    pub(super) fn add(&mut self, key: String, prio: u8, place: usize) {
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
    pub(super) fn build(self, weight: impl Fn(usize) -> u64) -> HashMap<String, (u8, Hit)> {
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
pub(super) struct Fuzzy {
    keys: Vec<(String, Hit)>,
    by_variant: HashMap<String, Vec<u32>>,
}

impl Fuzzy {
    pub(super) fn new<'a>(entries: impl Iterator<Item = (&'a String, Hit)>) -> Self {
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
    pub(super) fn find(&self, key: &str) -> Option<Hit> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
