//! The match index: every linked record's blocking keys, hashed (`match_keys`), the sizes
//! of the blocks too big to compare whole (`match_oversized_blocks`), and the stored
//! model's name frequencies (`match_names`). An incremental run looks its new records' keys
//! up here to find the part of the base they can change, instead of reading every
//! record's match keys back.

use crate::landing::batch;
use crate::{db, Store, StoreError};
use duckdb::arrow::array::{ArrayRef, Int64Array};
use leadpipe_core::dedupe::block::{self, BlockCounts, BlockSizes, OversizedPart, MAX_BLOCK};
use leadpipe_core::dedupe::{MatchRecord, NameFrequencies};
use rayon::prelude::*;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

/// One row per (blocking key, record): keys and surnames are 64-bit hashes
/// (`leadpipe_core::dedupe::block`), stored as BIGINT.
pub(crate) const MATCH_KEYS: &str = r#"CREATE TABLE IF NOT EXISTS match_keys (
    key BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    surname BIGINT
);
"#;

/// Every block of the index too big to compare whole (more than [`MAX_BLOCK`] records), by
/// surname (`surname` NULL: its records without one): all an incremental run needs to know
/// of its scope's blocks beyond the scope, as a block not here is at most [`MAX_BLOCK`].
/// Counting the scope's blocks in `match_keys` instead took a scan of it (0.4 s for the
/// 121k records 10,000 new rows touch in a 10M-record base); this table holds 26k blocks
/// at that size. A whole run lists them; an incremental run counts again the blocks its
/// new records name, the only ones that grow.
pub(crate) const MATCH_OVERSIZED_BLOCKS: &str = r#"CREATE TABLE IF NOT EXISTS match_oversized_blocks (
    key BIGINT NOT NULL,
    surname BIGINT,
    members BIGINT NOT NULL
);
"#;

/// The stored model's name frequencies: how many of the records it was fitted on held
/// each name (surname | first name), by the name's hash. Fixed until the model is fitted
/// again, so a pair scores the same in whichever run compares it.
pub(crate) const MATCH_NAMES: &str = r#"CREATE TABLE IF NOT EXISTS match_names (
    name_hash BIGINT NOT NULL,
    holders BIGINT NOT NULL
);
"#;

/// `leadpipe_meta` keys: the hash probe and the layout the index was built with, and how
/// many records the stored model was fitted on (absent: the model is the default one).
const INDEX_PROBE: &str = "match_index_probe";
const FITTED_ON: &str = "model_fitted_on";

/// What [`INDEX_PROBE`] holds for an index built by this build: the key hash's probe, and
/// the layout (a base indexed before `match_oversized_blocks` existed stored the probe
/// alone; its next run clusters the whole base, which fills the table).
fn index_stamp() -> String {
    format!("{}/oversized-blocks", block::key_probe())
}

fn ids_column(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(values))
}

impl Store {
    /// True when the index holds every linked record's keys, built with today's hash and
    /// in today's layout (with the sizes of oversized blocks).
    pub fn match_index_ready(&self) -> Result<bool, StoreError> {
        Ok(self.meta(INDEX_PROBE)? == Some(index_stamp()))
    }

    /// Marks the index out of date, so the next run clusters the whole base: erasure
    /// removed records (and refusals naming them) that leads may have been built on.
    pub fn forget_match_index(&self) -> Result<(), StoreError> {
        self.forget_meta(INDEX_PROBE)
    }

    /// Replaces the whole index with the keys of `records` (a full run holds them all)
    /// and their `oversized` blocks (as blocking them all listed them).
    pub fn rebuild_match_index(
        &self,
        records: &[MatchRecord],
        oversized: &[OversizedPart],
    ) -> Result<(), StoreError> {
        self.conn
            .execute_batch("DELETE FROM match_keys; DELETE FROM match_oversized_blocks;")
            .map_err(db("rebuilding the match index"))?;
        self.index_match_keys(records)?;
        self.land_oversized(oversized)?;
        self.set_meta(INDEX_PROBE, &index_stamp())
    }

    /// Appends `parts` to `match_oversized_blocks`.
    fn land_oversized(&self, parts: &[OversizedPart]) -> Result<(), StoreError> {
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("key", ids_column(parts.iter().map(|p| p.0 as i64))),
            (
                "surname",
                Arc::new(Int64Array::from_iter(
                    parts.iter().map(|p| p.1.map(|s| s as i64)),
                )),
            ),
            ("members", ids_column(parts.iter().map(|p| p.2 as i64))),
        ];
        self.append(
            "match_oversized_blocks",
            batch("match_oversized_blocks", cols)?,
        )
    }

    /// Adds the keys of `records` (new ones) to the index, a slice of records at a time
    /// (the rows of ten million records would take a gigabyte at once).
    pub fn index_match_keys(&self, records: &[MatchRecord]) -> Result<(), StoreError> {
        for slice in records.chunks(1 << 18) {
            let rows: Vec<(i64, i64, Option<i64>)> = slice
                .par_iter()
                .flat_map_iter(|r| {
                    let surname = block::surname_hash(r).map(|s| s as i64);
                    block::distinct_keys(r)
                        .into_iter()
                        .map(move |k| (k as i64, r.record_id, surname))
                })
                .collect();
            let cols: Vec<(&str, ArrayRef)> = vec![
                ("key", ids_column(rows.iter().map(|r| r.0))),
                ("record_id", ids_column(rows.iter().map(|r| r.1))),
                (
                    "surname",
                    Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.2))),
                ),
            ];
            self.land_in_parallel("match_keys", vec![batch("match_keys", cols)?])?;
        }
        Ok(())
    }

    /// Sizes in the whole base (the index, which holds `records`' keys already) of the
    /// blocks a key of `records` names that are too big to compare whole, and of their
    /// parts by surname; any other block they name holds at most [`MAX_BLOCK`] records
    /// (its size reads 0).
    pub fn block_sizes(&self, records: &[MatchRecord]) -> Result<BlockCounts, StoreError> {
        self.scope_keys(records)?;
        let parts = self.block_parts(
            "SELECT key, surname, members FROM match_oversized_blocks JOIN scope_keys USING (key)",
        )?;
        self.conn
            .execute_batch("DROP TABLE scope_keys")
            .map_err(db("sizing blocks"))?;
        Ok(BlockCounts::of_oversized(&parts))
    }

    /// Rows (key, surname, members) of `sql`: blocks' parts by surname.
    fn block_parts(&self, sql: &str) -> Result<Vec<(u64, Option<u64>, usize)>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(db("sizing blocks"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, Option<i64>>(1)?.map(|s| s as u64),
                    r.get::<_, i64>(2)? as usize,
                ))
            })
            .map_err(db("sizing blocks"))?;
        rows.collect::<Result<_, _>>().map_err(db("sizing blocks"))
    }

    /// Replaces the rows of the blocks in `grown` (all of a block's parts, counted in
    /// `block_rows` as the new records' blocks are) in `match_oversized_blocks`: the new
    /// records' blocks are the only ones a run grows.
    fn record_grown_blocks(&self, grown: &[OversizedPart]) -> Result<(), StoreError> {
        if grown.is_empty() {
            return Ok(());
        }
        let keys: HashSet<i64> = grown.iter().map(|p| p.0 as i64).collect();
        self.temp_ids("grown_keys", "key", keys.into_iter())?;
        self.conn
            .execute_batch(
                "DELETE FROM match_oversized_blocks WHERE key IN (SELECT key FROM grown_keys);
                 DROP TABLE grown_keys;",
            )
            .map_err(db("counting the blocks new records grew"))?;
        self.land_oversized(grown)
    }

    /// The temp table `scope_keys`: the distinct blocking keys of `records`.
    fn scope_keys(&self, records: &[MatchRecord]) -> Result<(), StoreError> {
        let keys: HashSet<u64> = records
            .par_iter()
            .flat_map_iter(block::distinct_keys)
            .collect();
        self.temp_ids("scope_keys", "key", keys.iter().map(|&k| k as i64))
    }

    /// The temp table `block_rows`: the index's rows (key, surname, record) of every block
    /// a key of `records` names, in one scan of the index. A run's new records name a few
    /// hundred thousand rows (10,000 new records into a 10M-record base: 313k of 40M);
    /// sizing their blocks and finding the records sharing them from this table instead
    /// of the index saves two scans of it.
    fn block_rows(&self, records: &[MatchRecord]) -> Result<(), StoreError> {
        self.scope_keys(records)?;
        self.conn
            .execute_batch(
                "CREATE OR REPLACE TEMP TABLE block_rows AS
                 SELECT m.key, m.surname, m.record_id FROM match_keys m JOIN scope_keys USING (key);
                 DROP TABLE scope_keys;",
            )
            .map_err(db("sizing blocks"))
    }

    /// Block sizes from the index rows in `block_rows` by key and surname in one pass:
    /// the blocks' sizes are the sums, and the parts by surname are kept for blocks too
    /// big to compare whole (two passes, by key and then by key and surname, took twice as
    /// long on a 10M-row base). Also every part of those big blocks, for the index.
    fn sizes_of_block_rows(&self) -> Result<(BlockCounts, Vec<OversizedPart>), StoreError> {
        let parts = self
            .block_parts("SELECT key, surname, count(*) FROM block_rows GROUP BY key, surname")?;
        let mut totals: HashMap<u64, usize> = HashMap::default();
        for &(k, _, n) in &parts {
            *totals.entry(k).or_default() += n;
        }
        let mut sizes = BlockCounts::default();
        for (&k, &n) in &totals {
            sizes.set(k, None, n);
        }
        let oversized: Vec<OversizedPart> = parts
            .into_iter()
            .filter(|&(k, _, _)| totals[&k] > MAX_BLOCK)
            .collect();
        for &(k, s, n) in &oversized {
            if let Some(s) = s {
                sizes.set(k, Some(s), n);
            }
        }
        Ok((sizes, oversized))
    }

    /// The leads a run's `new` records can change (their keys are in the index already):
    /// the leads of every record they share a block with that is compared (a block of at
    /// most [`MAX_BLOCK`] records before or after, or such a block of one surname), and of
    /// every record whose block the new ones push over that size (its pairs go); then,
    /// repeatedly, every lead held apart from one of those only by a refusal that a
    /// re-clustering could decide otherwise. `also`: leads to cluster again anyway (those
    /// a reviewer's new decision names). The new records' blocks are counted here, so
    /// those now too big to compare whole are recorded in `match_oversized_blocks` too.
    pub fn leads_touched_by(
        &self,
        new: &[MatchRecord],
        also: &[i64],
    ) -> Result<Vec<i64>, StoreError> {
        let clock = std::time::Instant::now();
        self.block_rows(new)?;
        let (sizes, oversized) = self.sizes_of_block_rows()?;
        self.record_grown_blocks(&oversized)?;
        tracing::debug!(ms = clock.elapsed().as_millis() as u64, "touched: sizes");
        // How many of each block's members, and of each surname's, are new.
        let new_counts = BlockCounts::of(new);
        let whole: Vec<i64> = new_counts
            .blocks()
            .filter(|&(k, n)| sizes.members(k) - n.min(sizes.members(k)) <= MAX_BLOCK)
            .map(|(k, _)| k as i64)
            .collect();
        let by_surname: Vec<(i64, i64)> = new_counts
            .surname_parts()
            .filter(|&(k, _, _)| sizes.members(k) > MAX_BLOCK)
            .filter(|&(k, s, n)| {
                let all = sizes.members_with_surname(k, s);
                all - n.min(all) <= MAX_BLOCK
            })
            .map(|(k, s, _)| (k as i64, s as i64))
            .collect();
        self.temp_ids("touch_keys", "key", whole.into_iter())?;
        self.conn
            .execute_batch(
                "CREATE OR REPLACE TEMP TABLE touch_surnames (key BIGINT, surname BIGINT)",
            )
            .map_err(db("finding the leads new records touch"))?;
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("key", ids_column(by_surname.iter().map(|p| p.0))),
            ("surname", ids_column(by_surname.iter().map(|p| p.1))),
        ];
        self.append("touch_surnames", batch("touch_surnames", cols)?)?;
        self.conn
            .execute_batch(
                "CREATE OR REPLACE TEMP TABLE touched_leads AS
                 WITH near AS (
                     SELECT record_id FROM block_rows JOIN touch_keys USING (key)
                     UNION
                     SELECT record_id FROM block_rows JOIN touch_surnames USING (key, surname))
                 SELECT DISTINCT r.lead_id FROM records r JOIN near USING (record_id)
                 WHERE r.lead_id IS NOT NULL;
                 DROP TABLE touch_keys; DROP TABLE touch_surnames; DROP TABLE block_rows;",
            )
            .map_err(db("finding the leads new records touch"))?;
        if !also.is_empty() {
            self.temp_ids("touch_also", "lead_id", also.iter().copied())?;
            self.conn
                .execute_batch(
                    "INSERT INTO touched_leads SELECT DISTINCT lead_id FROM touch_also
                     WHERE lead_id NOT IN (SELECT lead_id FROM touched_leads);
                     DROP TABLE touch_also;",
                )
                .map_err(db("finding the leads new records touch"))?;
        }
        tracing::debug!(ms = clock.elapsed().as_millis() as u64, "touched: direct");
        self.close_over_refusals()?;
        tracing::debug!(ms = clock.elapsed().as_millis() as u64, "touched: closed");
        let mut stmt = self
            .conn
            .prepare("SELECT lead_id FROM touched_leads ORDER BY lead_id")
            .map_err(db("finding the leads new records touch"))?;
        let leads = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(db("finding the leads new records touch"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db("finding the leads new records touch"))?;
        Ok(leads)
    }

    /// Adds to `touched_leads` every lead a group refusal ties to one in it (the pair
    /// was confident; only the order of merges kept the groups apart, and that order can
    /// change when a touched lead is clustered again), until nothing is added. The tied
    /// pairs of leads are found once (two lookups in `records`), then followed.
    fn close_over_refusals(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "CREATE OR REPLACE TEMP TABLE tied AS
                 SELECT DISTINCT ra.lead_id AS a, rb.lead_id AS b
                 FROM match_refusals m
                 JOIN records ra ON ra.record_id = m.record_a
                 JOIN records rb ON rb.record_id = m.record_b
                 WHERE m.conflict_a IS NOT NULL
                   AND ra.lead_id IS NOT NULL AND rb.lead_id IS NOT NULL",
            )
            .map_err(db("finding the leads new records touch"))?;
        loop {
            let added = self
                .conn
                .execute(
                    "INSERT INTO touched_leads
                     SELECT DISTINCT b FROM tied WHERE a IN (SELECT lead_id FROM touched_leads)
                       AND b NOT IN (SELECT lead_id FROM touched_leads)
                     UNION
                     SELECT DISTINCT a FROM tied WHERE b IN (SELECT lead_id FROM touched_leads)
                       AND a NOT IN (SELECT lead_id FROM touched_leads)",
                    [],
                )
                .map_err(db("finding the leads new records touch"))?;
            if added == 0 {
                break;
            }
        }
        self.conn
            .execute_batch("DROP TABLE tied")
            .map_err(db("finding the leads new records touch"))
    }

    /// How many records the stored model was fitted on (`None`: it was never fitted).
    pub fn model_fitted_on(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.meta(FITTED_ON)?.and_then(|v| v.parse().ok()))
    }

    /// Stores a fitted model's name frequencies (replacing the last model's).
    pub fn store_model_names(
        &self,
        names: &NameFrequencies,
        fitted_on: usize,
    ) -> Result<(), StoreError> {
        self.conn
            .execute_batch("DELETE FROM match_names")
            .map_err(db("storing the model"))?;
        let rows: Vec<(i64, i64)> = names
            .iter()
            .map(|(name, tf)| {
                (
                    block::name_hash(name) as i64,
                    (tf * fitted_on as f64).round() as i64,
                )
            })
            .collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("name_hash", ids_column(rows.iter().map(|r| r.0))),
            ("holders", ids_column(rows.iter().map(|r| r.1))),
        ];
        self.land_in_parallel("match_names", vec![batch("match_names", cols)?])?;
        self.set_meta(FITTED_ON, &fitted_on.to_string())
    }

    /// The stored model's frequency of each of `names` it knows (see `match_names`).
    pub fn model_names(&self, names: &[String]) -> Result<NameFrequencies, StoreError> {
        let Some(fitted_on) = self.model_fitted_on()? else {
            return Ok(NameFrequencies::default());
        };
        let by_hash: HashMap<i64, &String> = names
            .iter()
            .map(|n| (block::name_hash(n) as i64, n))
            .collect();
        self.temp_ids("scope_names", "name_hash", by_hash.keys().copied())?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name_hash, holders FROM match_names JOIN scope_names USING (name_hash)",
            )
            .map_err(db("reading the model"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(db("reading the model"))?;
        let mut out = NameFrequencies::default();
        for row in rows {
            let (hash, holders) = row.map_err(db("reading the model"))?;
            if let Some(name) = by_hash.get(&hash) {
                out.insert((*name).clone(), holders as f64 / fitted_on.max(1) as f64);
            }
        }
        self.conn
            .execute_batch("DROP TABLE scope_names")
            .map_err(db("reading the model"))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(record_id: i64, lead_id: Option<i64>, phone: &str) -> MatchRecord {
        MatchRecord {
            record_id,
            lead_id,
            phones: vec![phone.to_string()],
            ..MatchRecord::default()
        }
    }

    /// A new record that shares a number with lead 1 touches lead 1; group refusals tie
    /// lead 2 to lead 1 and lead 3 to lead 2, so both are clustered again with it (the
    /// order of merges that kept them apart can change). A pair refused by a veto of its
    /// own (no conflict records) ties nothing: lead 4 stays out, as do leads with nothing
    /// in common.
    #[test]
    fn touched_leads_close_over_group_refusals_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.duckdb")).unwrap();
        let old: Vec<MatchRecord> = (1..=5)
            .map(|i| person(i, Some(i), &format!("+7916000000{i}")))
            .collect();
        for r in &old {
            store
                .conn
                .execute(
                    "INSERT INTO records (record_id, raw_id, run_id, source, file_hash,
                                          source_row, origin, lead_id)
                     VALUES (?, ?, 1, 's.csv', 'h', ?, 'purchased', ?)",
                    duckdb::params![r.record_id, r.record_id, r.record_id, r.lead_id],
                )
                .unwrap();
        }
        store
            .conn
            .execute_batch(
                "INSERT INTO match_refusals VALUES
                     (1, 1, 2, 0.99, 'patronymics_differ', 1, 2),
                     (1, 3, 2, 0.99, 'patronymics_differ', 3, 2),
                     (1, 3, 4, 0.99, 'gender_differs', NULL, NULL);",
            )
            .unwrap();
        store.rebuild_match_index(&old, &[]).unwrap();
        let new = vec![person(6, None, "+79160000001")];
        store.index_match_keys(&new).unwrap();
        assert_eq!(store.leads_touched_by(&new, &[]).unwrap(), vec![1, 2, 3]);
        assert_eq!(store.leads_touched_by(&[], &[5]).unwrap(), vec![5]);
    }

    /// A number held by 60 records (a switchboard) is a block compared whole: the index
    /// keeps no size for it, nor for a number two Сидоровы share, nor at 64 records. The
    /// 65th makes it too big, and the run that brings it records its size and its parts
    /// by surname; five more (70: 40 Ивановы, 25 Петровы, 5 without a surname) replace
    /// them, as a whole run over the 72 records counts them.
    #[test]
    fn the_index_keeps_the_sizes_of_blocks_too_big_to_compare_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.duckdb")).unwrap();
        let surname = |i: i64| match i {
            1..=35 | 61..=65 => Some("ivanov".to_string()),
            36..=55 | 66..=70 => Some("petrov".to_string()),
            _ => None,
        };
        let on_switchboard = |i: i64| MatchRecord {
            last_key: surname(i),
            ..person(i, Some(i), "+74950000000")
        };
        let mut base: Vec<MatchRecord> = (1..=60).map(on_switchboard).collect();
        for i in [71, 72] {
            base.push(MatchRecord {
                last_key: Some("sidorov".into()),
                ..person(i, Some(i), "+79161111111")
            });
        }
        let switchboard = block::distinct_keys(&person(0, None, "+74950000000"));
        let pair = block::distinct_keys(&person(0, None, "+79161111111"));
        assert_eq!((switchboard.len(), pair.len()), (1, 1));
        let (switchboard, pair) = (switchboard[0], pair[0]);
        let ivanov = block::surname_hash(&base[0]).unwrap();
        let petrov = block::surname_hash(&base[50]).unwrap();
        let probe = [base[0].clone(), base[60].clone()];

        let oversized = block::candidate_pairs(&base, None).oversized;
        store.rebuild_match_index(&base, &oversized).unwrap();
        let sizes = store.block_sizes(&probe).unwrap();
        assert_eq!((sizes.members(switchboard), sizes.members(pair)), (0, 0));

        let mut grow = |ids: std::ops::RangeInclusive<i64>| {
            let new: Vec<MatchRecord> = ids.map(on_switchboard).collect();
            store.index_match_keys(&new).unwrap();
            store.leads_touched_by(&new, &[]).unwrap();
            base.extend(new);
            store.block_sizes(&probe).unwrap().members(switchboard)
        };
        assert_eq!(grow(61..=64), 0, "64 records are compared whole");
        assert_eq!(grow(65..=65), 65);
        assert_eq!(grow(66..=70), 70);
        let whole = block::candidate_pairs(&base, None).oversized;
        assert_eq!(whole.len(), 3, "{whole:?}");
        let fresh = Store::open(&dir.path().join("whole.duckdb")).unwrap();
        fresh.rebuild_match_index(&base, &whole).unwrap();
        for store in [&store, &fresh] {
            let sizes = store.block_sizes(&probe).unwrap();
            assert_eq!(sizes.members(switchboard), 70);
            assert_eq!(sizes.members(pair), 0);
            assert_eq!(sizes.members_with_surname(switchboard, ivanov), 40);
            assert_eq!(sizes.members_with_surname(switchboard, petrov), 25);
            let parts: Vec<(u64, u64, usize)> = sizes.surname_parts().collect();
            assert_eq!(parts.len(), 2, "{parts:?}");
        }
    }
}
