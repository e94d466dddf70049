//! Blocking: only records sharing a key are compared, so cost grows with the number of
//! records, not its square. Keys: each phone, each e-mail (and its typo-corrected form),
//! surname + first name + city, full ФИО + company, ИНН, and a company's
//! name for company records. A key shared by too many records (a switchboard, a
//! placeholder e-mail, "Иванов А.") is not expanded into all its pairs: it is split by
//! surname, and what is still too big is skipped and counted.

use super::MatchRecord;
use rayon::prelude::*;
use std::collections::HashMap;

/// Blocks up to this size are compared all-pairs.
pub const MAX_BLOCK: usize = 64;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct BlockingStats {
    pub keys: usize,
    pub oversized_blocks: usize,
    pub skipped_records: usize,
    pub pairs: usize,
}

/// Which kind of key brought a pair together (bit flags).
pub const BY_PHONE: u8 = 1;
pub const BY_EMAIL: u8 = 2;
pub const BY_NAME: u8 = 4;
pub const BY_INN: u8 = 8;
pub const BY_COMPANY: u8 = 16;

/// Keys are hashed to 64 bits rather than stored: a collision (odds ~1e-8 for millions of
/// keys) only adds a candidate pair, which scoring then judges like any other.
fn key_hash(kind: u8, parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    kind.hash(&mut h);
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// Every blocking key of a record with its kind (a key may repeat: callers dedupe).
pub fn keys(r: &MatchRecord, out: &mut Vec<(u64, u8)>) {
    out.clear();
    for p in &r.phones {
        out.push((key_hash(BY_PHONE, &[p]), BY_PHONE));
    }
    if let Some(e) = &r.email {
        out.push((key_hash(BY_EMAIL, &[e]), BY_EMAIL));
    }
    if let Some(e) = &r.email_alt {
        out.push((key_hash(BY_EMAIL, &[e]), BY_EMAIL));
    }
    // Name blocks: surname + each form of the first name (an initial stays an initial) +
    // city. Namesakes in other cities, and people who only share an initial, are left to
    // the phone and e-mail keys.
    if let (Some(last), Some(first)) = (&r.last_key, &r.first_key) {
        let city = r.city_key.as_deref().unwrap_or("-");
        for form in first.split('|') {
            out.push((key_hash(BY_NAME, &[last, form, city]), BY_NAME));
        }
        // A company's contact in any city, by full ФИО with patronymic and company: the
        // same person on an office landline and on a mobile, with no contact in common.
        // (Full ФИО alone in any city would pair every namesake in the country.)
        let middle = r.middle_key.as_deref().filter(|m| m.len() > 1);
        if let (Some(middle), Some(company)) = (middle, r.company_key.as_deref()) {
            for form in first.split('|').filter(|f| f.len() > 1) {
                out.push((key_hash(BY_NAME, &[last, form, middle, company]), BY_NAME));
            }
        }
    }
    if let Some(inn) = &r.inn {
        out.push((key_hash(BY_INN, &[inn]), BY_INN));
    }
    // A company's own records by its name (employees are found by theirs).
    if let (true, Some(company)) = (r.company_only(), &r.company_key) {
        out.push((key_hash(BY_COMPANY, &[company]), BY_COMPANY));
    }
}

/// The surname an oversized block is split by, hashed like keys (`None`: no surname; such
/// a record is left out of an oversized block).
pub fn surname_hash(r: &MatchRecord) -> Option<u64> {
    r.last_key.as_deref().map(|l| key_hash(0, &[l]))
}

/// A candidate pair (i < j, indices into the records) and the kinds of key it shares.
pub type Pair = (u32, u32, u8);

/// Part of a block of more than [`MAX_BLOCK`] records: its key, a surname (`None`: the
/// block's records without one) and how many of the block's records have it.
pub type OversizedPart = (u64, Option<u64>, usize);

/// What blocking found: the candidate pairs, its counts, and when it blocked a whole base
/// (no sizes given) every oversized block's parts by surname, which the base's match index
/// keeps (a part of the base blocked later needs those sizes and no others).
pub struct Blocked {
    pub pairs: Vec<Pair>,
    pub stats: BlockingStats,
    pub oversized: Vec<OversizedPart>,
}

/// How many records of the whole base hold a key, and hold it with a given surname. An
/// incremental run blocks a few records of a big base: whether a block is compared
/// all-pairs, split by surname or skipped depends on the block in the whole base, so that
/// the pairs found are the ones a run over every record would find. Only whether a block
/// holds more than [`MAX_BLOCK`] records matters: a size may read 0 for a smaller one.
pub trait BlockSizes: Sync {
    fn members(&self, key: u64) -> usize;
    fn members_with_surname(&self, key: u64, surname: u64) -> usize;
}

/// Block sizes as counted: a set of records' own ([`BlockCounts::of`]), or the whole
/// base's as its index reports them ([`BlockCounts::of_oversized`], [`BlockCounts::set`]).
#[derive(Debug, Default)]
pub struct BlockCounts {
    members: HashMap<u64, usize>,
    with_surname: HashMap<(u64, u64), usize>,
}

impl BlockCounts {
    /// How many of `records` hold each key, and hold it with each surname.
    pub fn of(records: &[MatchRecord]) -> BlockCounts {
        let mut counts = BlockCounts::default();
        for r in records {
            let surname = surname_hash(r);
            for k in distinct_keys(r) {
                *counts.members.entry(k).or_default() += 1;
                if let Some(s) = surname {
                    *counts.with_surname.entry((k, s)).or_default() += 1;
                }
            }
        }
        counts
    }

    /// Records the size of a block (`surname`: of its part with that surname).
    pub fn set(&mut self, key: u64, surname: Option<u64>, members: usize) {
        match surname {
            Some(s) => self.with_surname.insert((key, s), members),
            None => self.members.insert(key, members),
        };
    }

    /// The sizes of oversized blocks, from their parts: a block without any is at most
    /// [`MAX_BLOCK`] (its size counts as 0), which is all blocking needs to know of it.
    pub fn of_oversized(parts: &[OversizedPart]) -> BlockCounts {
        let mut counts = BlockCounts::default();
        for &(key, surname, n) in parts {
            *counts.members.entry(key).or_default() += n;
            if let Some(s) = surname {
                counts.with_surname.insert((key, s), n);
            }
        }
        counts
    }

    /// Every counted block: key and size.
    pub fn blocks(&self) -> impl Iterator<Item = (u64, usize)> + '_ {
        self.members.iter().map(|(&k, &n)| (k, n))
    }

    /// Every counted part of a block by surname: key, surname and size.
    pub fn surname_parts(&self) -> impl Iterator<Item = (u64, u64, usize)> + '_ {
        self.with_surname.iter().map(|(&(k, s), &n)| (k, s, n))
    }
}

impl BlockSizes for BlockCounts {
    fn members(&self, key: u64) -> usize {
        self.members.get(&key).copied().unwrap_or(0)
    }
    fn members_with_surname(&self, key: u64, surname: u64) -> usize {
        self.with_surname.get(&(key, surname)).copied().unwrap_or(0)
    }
}

/// Candidate pairs among `records`, sorted and unique. `sizes` gives each block's size in
/// the whole base when `records` are only part of it (`None`: they are all of it, and the
/// oversized blocks' parts are listed).
// Long because it is one pass: keys, blocks, the oversized ones split by surname, then
// one entry per pair; the helpers it would split into share every local.
pub fn candidate_pairs(records: &[MatchRecord], sizes: Option<&dyn BlockSizes>) -> Blocked {
    // Every (key, record) on all cores, then sorted: records sharing a key end up side by
    // side (a hash map of growing member lists cost a small allocation per key).
    let mut entries: Vec<(u64, u32, u8)> = records
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, r)| {
            let mut buf = Vec::new();
            keys(r, &mut buf);
            buf.into_iter().map(move |(k, kind)| (k, i as u32, kind))
        })
        .collect();
    entries.par_sort_unstable();
    entries.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let mut blocks: Vec<&[(u64, u32, u8)]> = entries.chunk_by(|a, b| a.0 == b.0).collect();
    let mut stats = BlockingStats {
        keys: blocks.len(),
        ..BlockingStats::default()
    };
    blocks.retain(|b| b.len() >= 2);
    // A block holds at least the records here that name it, whatever `sizes` says.
    let size = |b: &[(u64, u32, u8)]| sizes.map_or(b.len(), |s| s.members(b[0].0).max(b.len()));
    let emit = |members: &[u32], kind: u8, pairs: &mut Vec<Pair>| {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                pairs.push((a.min(b), a.max(b), kind));
            }
        }
    };
    // A key's kind is part of its hash, so a block has one kind.
    let mut pairs: Vec<Pair> = blocks
        .par_iter()
        .filter(|b| size(b) <= MAX_BLOCK)
        .flat_map_iter(|b| {
            let members: Vec<u32> = b.iter().map(|e| e.1).collect();
            let mut out = Vec::new();
            emit(&members, b[0].2, &mut out);
            out
        })
        .collect();
    let mut oversized = Vec::new();
    for block in blocks.iter().filter(|b| size(b) > MAX_BLOCK) {
        stats.oversized_blocks += 1;
        let mut by_surname: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut without = 0;
        for &(_, m, _) in block.iter() {
            if let Some(last) = surname_hash(&records[m as usize]) {
                by_surname.entry(last).or_default().push(m);
            } else {
                without += 1;
            }
        }
        stats.skipped_records += without;
        if sizes.is_none() {
            let key = block[0].0;
            oversized.extend(by_surname.iter().map(|(&s, sub)| (key, Some(s), sub.len())));
            oversized.extend((without > 0).then_some((key, None, without)));
        }
        for (surname, sub) in &by_surname {
            let whole = sizes.map_or(sub.len(), |s| {
                s.members_with_surname(block[0].0, *surname).max(sub.len())
            });
            if whole <= MAX_BLOCK {
                emit(sub, block[0].2, &mut pairs);
            } else {
                stats.skipped_records += sub.len();
            }
        }
    }
    // One entry per pair, with the kinds of every key it shares.
    pairs.par_sort_unstable();
    let mut merged: Vec<Pair> = Vec::with_capacity(pairs.len());
    for (a, b, k) in pairs {
        match merged.last_mut() {
            Some(last) if last.0 == a && last.1 == b => last.2 |= k,
            _ => merged.push((a, b, k)),
        }
    }
    let pairs = merged;
    stats.pairs = pairs.len();
    Blocked {
        pairs,
        stats,
        oversized,
    }
}

/// A record's distinct blocking keys, as the base's match index keeps them.
pub fn distinct_keys(r: &MatchRecord) -> Vec<u64> {
    let mut buf = Vec::new();
    keys(r, &mut buf);
    let mut out: Vec<u64> = buf.into_iter().map(|(k, _)| k).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The hash of a name value, as the stored model keeps name frequencies (not the names).
pub fn name_hash(value: &str) -> u64 {
    key_hash(0xff, &[value])
}

/// A fixed key's hash: a base whose match index was built with another hash (a changed
/// hasher) stores a different probe, and its index is rebuilt.
pub fn key_probe() -> u64 {
    key_hash(BY_PHONE, &["+70000000000"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::Rng;
    use std::collections::BTreeSet;

    fn ids(records: &[MatchRecord], pairs: &[Pair]) -> BTreeSet<(i64, i64)> {
        pairs
            .iter()
            .map(|&(a, b, _)| (records[a as usize].record_id, records[b as usize].record_id))
            .collect()
    }

    /// Blocking a part of the records with the whole set's block sizes finds exactly the
    /// pairs the whole set has inside that part: a block of 64 that grows to 65 loses its
    /// pairs in both, one split by surname keeps the same ones. The oversized blocks'
    /// sizes alone (what the base's match index keeps) find the same pairs.
    #[test]
    fn a_part_blocked_with_the_whole_sizes_finds_the_whole_pairs_inside_it() {
        let surnames = ["Иванов", "Петров", "Сидоров", "Кузнецов", ""];
        let firsts = ["Иван", "Пётр", "Анна", "Мария"];
        for seed in 0..20u64 {
            let mut rng = Rng::new(seed);
            let n = 150 + rng.below(150);
            // A switchboard most records share (oversized), a few small pools of numbers,
            // and blocks near the 64 boundary.
            let records: Vec<MatchRecord> = (0..n)
                .map(|i| {
                    let phone = match rng.below(4) {
                        0 => "+74950000000".to_string(),
                        1 => format!("+7916000{:04}", rng.below(3)),
                        _ => format!("+7903{:07}", rng.below(60)),
                    };
                    let mut r = super::super::test_record(
                        surnames[rng.below(surnames.len())],
                        firsts[rng.below(firsts.len())],
                        &phone,
                        "",
                    );
                    r.record_id = i as i64;
                    r
                })
                .collect();
            let blocked = candidate_pairs(&records, None);
            let whole = ids(&records, &blocked.pairs);
            let sizes = BlockCounts::of(&records);
            let oversized = BlockCounts::of_oversized(&blocked.oversized);
            let part: Vec<MatchRecord> = records
                .iter()
                .filter(|_| rng.below(3) > 0)
                .cloned()
                .collect();
            let inside: BTreeSet<i64> = part.iter().map(|r| r.record_id).collect();
            let expected: BTreeSet<(i64, i64)> = whole
                .iter()
                .filter(|(a, b)| inside.contains(a) && inside.contains(b))
                .copied()
                .collect();
            let found = candidate_pairs(&part, Some(&sizes)).pairs;
            assert_eq!(ids(&part, &found), expected, "seed {seed}");
            // The oversized blocks' sizes alone find the same pairs.
            let found = candidate_pairs(&part, Some(&oversized)).pairs;
            assert_eq!(ids(&part, &found), expected, "seed {seed}, oversized only");
        }
    }
}
