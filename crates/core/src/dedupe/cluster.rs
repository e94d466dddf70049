//! Clustering scored pairs into people. Pairs are merged strongest first (union–find), and a
//! merge is refused when the two groups hold records that the pair [`veto`] calls
//! different people (different first names or patronymics, not misspelt; genders; ИНН;
//! company names; a company and a person), or when reviewers said two of their records are
//! different people. One test for pairs and groups: chains of links cannot get round it.

use super::compare::{veto, Veto};
use super::MatchRecord;
use rustc_hash::FxHashMap as HashMap;

/// Why two groups were not merged: two of their records (indices) are different people.
#[derive(Debug, Clone, Copy)]
pub struct Conflict {
    pub record_a: u32,
    pub record_b: u32,
    pub veto: Veto,
}

pub struct Clusters {
    parent: Vec<u32>,
    /// Reviewers' cannot-links, by record index, both ways.
    cannot: HashMap<u32, Vec<u32>>,
    /// Per root: its members that have cannot-links (most groups have none).
    constrained: HashMap<u32, Vec<u32>>,
    /// Per root, once it has merged: its records with distinct identity facts, the ones a
    /// merge is checked against. Empty for a root that never merged (it stands for itself).
    reps: Vec<Vec<u32>>,
}

/// Does the record carry anything a veto can look at?
fn has_identity(r: &MatchRecord) -> bool {
    let full = |k: &Option<String>| k.as_ref().is_some_and(|k| k.len() > 1);
    full(&r.first_key)
        || full(&r.middle_key)
        || r.gender.is_some()
        || r.inn.is_some()
        || r.company_key.is_some()
        || r.names_person()
}

/// Two records whose identity facts are the same: checking one is checking both. The
/// surname is among them: names read crosswise (`compare::crosswise`) make a veto depend
/// on it.
fn same_identity(a: &MatchRecord, b: &MatchRecord) -> bool {
    a.first_key == b.first_key
        && a.last_key == b.last_key
        && a.first_known == b.first_known
        && a.middle_key == b.middle_key
        && a.gender == b.gender
        && a.inn == b.inn
        && a.names_person() == b.names_person()
        && a.company_only() == b.company_only()
        && (!a.company_only() || a.company_key == b.company_key)
}

impl Clusters {
    pub fn new(records: &[MatchRecord]) -> Clusters {
        Clusters {
            parent: (0..records.len() as u32).collect(),
            cannot: HashMap::default(),
            constrained: HashMap::default(),
            reps: vec![Vec::new(); records.len()],
        }
    }

    /// Records `a` and `b` (indices) must never share a group: a reviewer said they are
    /// different people. Call before any merge.
    pub fn keep_apart(&mut self, a: u32, b: u32) {
        for (x, y) in [(a, b), (b, a)] {
            let partners = self.cannot.entry(x).or_default();
            if partners.is_empty() {
                self.constrained.entry(x).or_default().push(x);
            }
            partners.push(y);
        }
    }

    /// Two records of the groups rooted at `ra` and `rb` that reviewers keep apart.
    fn kept_apart(&mut self, ra: u32, rb: u32) -> Option<Conflict> {
        let (small, other) = match (self.constrained.get(&ra), self.constrained.get(&rb)) {
            (Some(x), Some(y)) if y.len() < x.len() => (rb, ra),
            (Some(_), _) => (ra, rb),
            (None, Some(_)) => (rb, ra),
            (None, None) => return None,
        };
        let members = self.constrained.get(&small).cloned().unwrap_or_default();
        for x in members {
            let partners = self.cannot.get(&x).cloned().unwrap_or_default();
            for y in partners {
                if self.find(y) == other {
                    return Some(Conflict {
                        record_a: x,
                        record_b: y,
                        veto: Veto::ReviewersSaidDifferent,
                    });
                }
            }
        }
        None
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// The records a merge with this root is checked against (no allocation for a root
    /// that never merged).
    fn reps_of<'a>(&'a self, root: &'a u32, records: &[MatchRecord]) -> &'a [u32] {
        let listed = &self.reps[*root as usize];
        if !listed.is_empty() {
            listed
        } else if has_identity(&records[*root as usize]) {
            std::slice::from_ref(root)
        } else {
            &[]
        }
    }

    /// Would merging the groups rooted at `ra` and `rb` put two different people together?
    /// The first two records that say so, and why.
    fn conflict(&self, records: &[MatchRecord], ra: u32, rb: u32) -> Option<Conflict> {
        let (xs, ys) = (self.reps_of(&ra, records), self.reps_of(&rb, records));
        xs.iter().find_map(|&x| {
            ys.iter().find_map(|&y| {
                veto(&records[x as usize], &records[y as usize]).map(|veto| Conflict {
                    record_a: x,
                    record_b: y,
                    veto,
                })
            })
        })
    }

    /// Merges unless it would conflict; the conflict is returned when it refuses.
    pub fn union(&mut self, records: &[MatchRecord], a: u32, b: u32) -> Result<(), Conflict> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Ok(());
        }
        if let Some(c) = self.kept_apart(ra, rb) {
            return Err(c);
        }
        if let Some(c) = self.conflict(records, ra, rb) {
            return Err(c);
        }
        self.merge_roots(records, ra, rb);
        Ok(())
    }

    /// Joins two groups; the smaller root index survives and takes the other's
    /// representatives.
    fn merge_roots(&mut self, records: &[MatchRecord], ra: u32, rb: u32) {
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        let mut reps = self.reps_of(&keep, records).to_vec();
        for &r in self.reps_of(&gone, records) {
            if !reps
                .iter()
                .any(|&k| same_identity(&records[k as usize], &records[r as usize]))
            {
                reps.push(r);
            }
        }
        self.parent[gone as usize] = keep;
        if let Some(c) = self.constrained.remove(&gone) {
            self.constrained.entry(keep).or_default().extend(c);
        }
        self.reps[gone as usize] = Vec::new();
        self.reps[keep as usize] = reps;
    }

    /// Forces two records together, vetoes or not (a reviewer said they are one person);
    /// false when they were together already.
    pub fn join_anyway(&mut self, records: &[MatchRecord], a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.merge_roots(records, ra, rb);
        }
        ra != rb
    }
}
