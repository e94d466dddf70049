//! Per-thread memo tables for pure lookups on repetitive text. Lead lists repeat the same
//! few cities, companies and first names thousands of times; the lookups behind them
//! (gazetteer with fuzzy fallback, legal-form parser, transliteration) cost microseconds,
//! a hash hit nanoseconds. Only pure functions go through here, so a hit is always the
//! value the function would return.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::thread::LocalKey;

/// Entries one table holds before it is emptied (bounds memory on a list of uniques).
const LIMIT: usize = 50_000;

/// A per-thread table: declare with `thread_local!` as `RefCell<Table<V>>`.
pub type Table<V> = HashMap<String, V>;

/// `compute(key)`, remembered in this thread's `table`.
pub fn cached<V: Clone>(
    table: &'static LocalKey<RefCell<Table<V>>>,
    key: &str,
    compute: impl FnOnce(&str) -> V,
) -> V {
    table.with(|t| {
        if let Some(v) = t.borrow().get(key) {
            return v.clone();
        }
        let v = compute(key);
        let mut map = t.borrow_mut();
        if map.len() >= LIMIT {
            map.clear();
        }
        map.insert(key.to_string(), v.clone());
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static LENGTHS: RefCell<Table<usize>> = RefCell::new(Table::default());
    }

    #[test]
    fn a_hit_returns_what_the_function_returned_and_skips_it() {
        let mut calls = 0;
        let mut len = |s: &str| {
            calls += 1;
            s.chars().count()
        };
        assert_eq!(cached(&LENGTHS, "Москва", &mut len), 6);
        assert_eq!(cached(&LENGTHS, "Москва", &mut len), 6);
        assert_eq!(cached(&LENGTHS, "Тверь", &mut len), 5);
        assert_eq!(calls, 2);
    }

    #[test]
    fn a_full_table_starts_again_instead_of_growing() {
        for i in 0..LIMIT + 10 {
            cached(&LENGTHS, &i.to_string(), |s| s.len());
        }
        assert!(LENGTHS.with(|t| t.borrow().len()) <= LIMIT);
    }
}
