//! Clustering scored pairs into people. Pairs are merged strongest first (union–find), and a
//! merge is refused when the two groups hold incompatible first names or genders: one bad
//! link cannot chain two different people together.

use super::compare::first_names_compatible;
use super::MatchRecord;
use crate::normalise::name::Gender;
use rayon::prelude::*;

pub struct Clusters {
    parent: Vec<u32>,
    /// Distinct full first-name keys per root.
    names: Vec<Vec<String>>,
    genders: Vec<(bool, bool)>,
}

impl Clusters {
    pub fn new(records: &[MatchRecord]) -> Clusters {
        Clusters {
            parent: (0..records.len() as u32).collect(),
            names: records
                .par_iter()
                .map(|r| {
                    r.first_key
                        .iter()
                        .filter(|k| k.len() > 1)
                        .cloned()
                        .collect()
                })
                .collect(),
            genders: records
                .iter()
                .map(|r| {
                    (
                        r.gender == Some(Gender::Male),
                        r.gender == Some(Gender::Female),
                    )
                })
                .collect(),
        }
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// Would merging the groups of `a` and `b` put two different people together?
    fn conflict(&self, ra: u32, rb: u32) -> bool {
        let (ga, gb) = (self.genders[ra as usize], self.genders[rb as usize]);
        if (ga.0 || gb.0) && (ga.1 || gb.1) {
            return true;
        }
        self.names[ra as usize].iter().any(|x| {
            self.names[rb as usize]
                .iter()
                .any(|y| !first_names_compatible(x, y))
        })
    }

    /// Merges unless it would conflict. Returns true if the two are (now) together.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        if self.conflict(ra, rb) {
            return false;
        }
        self.merge_roots(ra, rb);
        true
    }

    /// Joins two groups; the smaller root index survives and takes the other's names and
    /// genders.
    fn merge_roots(&mut self, ra: u32, rb: u32) {
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[gone as usize] = keep;
        let moved = std::mem::take(&mut self.names[gone as usize]);
        for n in moved {
            if !self.names[keep as usize].contains(&n) {
                self.names[keep as usize].push(n);
            }
        }
        let g = self.genders[gone as usize];
        let k = &mut self.genders[keep as usize];
        *k = (k.0 || g.0, k.1 || g.1);
    }

    /// Forces two records together (they already share a lead from an earlier run).
    pub fn join_existing(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.merge_roots(ra, rb);
        }
    }
}
