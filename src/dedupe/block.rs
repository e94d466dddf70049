//! Blocking: only records sharing a key are compared, so cost grows with the number of
//! records, not its square. Keys: each phone, each e-mail (and its typo-corrected form),
//! and surname + first initial. A key shared by too many records (a switchboard, a
//! placeholder e-mail, "Иванов А.") is not expanded into all its pairs: it is split by
//! surname, and what is still too big is skipped and counted.

use super::MatchRecord;
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

fn keys(r: &MatchRecord, out: &mut Vec<String>) {
    out.clear();
    for p in &r.phones {
        out.push(format!("p:{p}"));
    }
    if let Some(e) = &r.email {
        out.push(format!("e:{e}"));
    }
    if let Some(e) = &r.email_alt {
        out.push(format!("e:{e}"));
    }
    if let (Some(last), Some(first)) = (&r.last_key, &r.first_key) {
        if let Some(initial) = first.chars().next() {
            out.push(format!("n:{last}:{initial}"));
        }
    }
}

/// Candidate pairs (i < j, indices into `records`). With `only_new`, a pair is kept only
/// if at least one side has no lead yet (incremental runs).
pub fn candidate_pairs(records: &[MatchRecord], only_new: bool) -> (Vec<(u32, u32)>, BlockingStats) {
    let mut blocks: HashMap<String, Vec<u32>> = HashMap::new();
    let mut buf = Vec::new();
    for (i, r) in records.iter().enumerate() {
        keys(r, &mut buf);
        for k in buf.drain(..) {
            blocks.entry(k).or_default().push(i as u32);
        }
    }
    let mut stats = BlockingStats {
        keys: blocks.len(),
        ..BlockingStats::default()
    };
    let mut pairs = Vec::new();
    let wanted = |a: u32, b: u32| {
        !only_new || records[a as usize].lead_id.is_none() || records[b as usize].lead_id.is_none()
    };
    let emit = |members: &[u32], pairs: &mut Vec<(u32, u32)>| {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                if wanted(a, b) {
                    pairs.push((a.min(b), a.max(b)));
                }
            }
        }
    };
    for members in blocks.values() {
        if members.len() < 2 {
            continue;
        }
        if members.len() <= MAX_BLOCK {
            emit(members, &mut pairs);
            continue;
        }
        stats.oversized_blocks += 1;
        let mut by_surname: HashMap<&str, Vec<u32>> = HashMap::new();
        for &m in members {
            if let Some(last) = records[m as usize].last_key.as_deref() {
                by_surname.entry(last).or_default().push(m);
            } else {
                stats.skipped_records += 1;
            }
        }
        for sub in by_surname.values() {
            if sub.len() <= MAX_BLOCK {
                emit(sub, &mut pairs);
            } else {
                stats.skipped_records += sub.len();
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    stats.pairs = pairs.len();
    (pairs, stats)
}
