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

fn keys(r: &MatchRecord, out: &mut Vec<(u64, u8)>) {
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

/// A candidate pair (i < j, indices into the records) and the kinds of key it shares.
pub type Pair = (u32, u32, u8);

/// Candidate pairs, sorted and unique. With `only_new`, a pair is kept only if at least
/// one side has no lead yet (incremental runs).
pub fn candidate_pairs(records: &[MatchRecord], only_new: bool) -> (Vec<Pair>, BlockingStats) {
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
    let wanted = |a: u32, b: u32| {
        !only_new || records[a as usize].lead_id.is_none() || records[b as usize].lead_id.is_none()
    };
    let emit = |members: &[u32], kind: u8, pairs: &mut Vec<Pair>| {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                if wanted(a, b) {
                    pairs.push((a.min(b), a.max(b), kind));
                }
            }
        }
    };
    // A key's kind is part of its hash, so a block has one kind.
    let mut pairs: Vec<Pair> = blocks
        .par_iter()
        .filter(|b| b.len() <= MAX_BLOCK)
        .flat_map_iter(|b| {
            let members: Vec<u32> = b.iter().map(|e| e.1).collect();
            let mut out = Vec::new();
            emit(&members, b[0].2, &mut out);
            out
        })
        .collect();
    for block in blocks.iter().filter(|b| b.len() > MAX_BLOCK) {
        stats.oversized_blocks += 1;
        let mut by_surname: HashMap<&str, Vec<u32>> = HashMap::new();
        for &(_, m, _) in block.iter() {
            if let Some(last) = records[m as usize].last_key.as_deref() {
                by_surname.entry(last).or_default().push(m);
            } else {
                stats.skipped_records += 1;
            }
        }
        for sub in by_surname.values() {
            if sub.len() <= MAX_BLOCK {
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
    (pairs, stats)
}
