//! Reviewers' decisions: what people who know better said about records, as constraints
//! every clustering honours. A decision names two sides of records (the records of two
//! leads, or of one lead's part and the rest, as they were when it was made):
//!
//! - `merge` / `same`: all of them are one person (must-link);
//! - `different`: no record of one side is the same person as one of the other
//!   (cannot-link);
//! - `split`: the first side is one person, different from the second.
//!
//! Decisions are never edited or dropped. When a newer one contradicts an older one, the
//! newer one wins and the older one is *superseded* — wholly, or in the pairs the newer
//! contradicts — and [`resolve`] says by which, so `explain` can show it.

use super::model::Weights;
use super::MatchRecord;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Two leads are one person (`leadpipe merge`).
    Merge,
    /// Some of a lead's records are another person (`leadpipe split`).
    Split,
    /// Two records are one person (a label: `leadpipe label same`, the review page).
    Same,
    /// Two records are different people (a label).
    Different,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 4] = [
        DecisionKind::Merge,
        DecisionKind::Split,
        DecisionKind::Same,
        DecisionKind::Different,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Merge => "merge",
            DecisionKind::Split => "split",
            DecisionKind::Same => "same",
            DecisionKind::Different => "different",
        }
    }

    pub fn parse(s: &str) -> Option<DecisionKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Does it say its records (of the first side, for a split) are one person?
    fn joins(self) -> bool {
        !matches!(self, DecisionKind::Different)
    }

    /// Does it say its two sides are different people?
    fn parts(self) -> bool {
        matches!(self, DecisionKind::Split | DecisionKind::Different)
    }

    /// A label on one pair of records (not on leads).
    pub fn is_label(self) -> bool {
        matches!(self, DecisionKind::Same | DecisionKind::Different)
    }
}

/// One stored decision; ids grow with time, so a higher id is a newer decision.
#[derive(Debug, Clone)]
pub struct Decision {
    pub id: i64,
    pub kind: DecisionKind,
    pub records_a: Vec<i64>,
    pub records_b: Vec<i64>,
}

/// Record pairs, each with the decision that asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    /// Must share a lead: joined before any scored pair, whatever the matcher's vetoes
    /// say (the reviewer knows a woman changed her surname).
    pub must: Vec<(i64, i64, i64)>,
    /// Must never share a lead, not even through a chain of other records.
    pub cannot: Vec<(i64, i64, i64)>,
}

impl Constraints {
    pub fn is_empty(&self) -> bool {
        self.must.is_empty() && self.cannot.is_empty()
    }
}

/// Whether a decision is still in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Standing {
    InForce,
    /// Some of what it asked for contradicts newer decisions (`by`), the rest holds.
    PartlySuperseded {
        by: Vec<i64>,
    },
    /// Everything it asked for contradicts newer decisions.
    Superseded {
        by: Vec<i64>,
    },
    /// Its records are gone from the base (erased), or too few remain to say anything.
    Moot,
}

/// The constraints in force, and each decision's standing (by decision id).
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub constraints: Constraints,
    pub standing: HashMap<i64, Standing>,
}

/// Groups of records joined by newer must-links, and the cannot-links between records.
#[derive(Default)]
struct Groups {
    parent: HashMap<i64, i64>,
    /// Per root: the decisions whose must-links built the group.
    joined_by: HashMap<i64, Vec<i64>>,
    /// Per root: its members that have cannot-links.
    constrained: HashMap<i64, Vec<i64>>,
    /// Per record: (partner, decision).
    cannot: HashMap<i64, Vec<(i64, i64)>>,
}

impl Groups {
    fn find(&mut self, x: i64) -> i64 {
        let mut root = x;
        while let Some(&p) = self.parent.get(&root) {
            if p == root {
                break;
            }
            root = p;
        }
        // Path compression.
        let mut cur = x;
        while cur != root {
            let next = self.parent.get(&cur).copied().unwrap_or(root);
            self.parent.insert(cur, root);
            cur = next;
        }
        root
    }

    /// The decision of a cannot-link between the groups rooted at `ra` and `rb`, if any.
    fn blocker(&mut self, ra: i64, rb: i64) -> Option<i64> {
        let members = self.constrained.get(&ra).cloned().unwrap_or_default();
        for x in members {
            let partners = self.cannot.get(&x).cloned().unwrap_or_default();
            for (y, decision) in partners {
                if self.find(y) == rb {
                    return Some(decision);
                }
            }
        }
        None
    }

    fn union(&mut self, ra: i64, rb: i64, decision: i64) {
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent.insert(gone, keep);
        let mut joined = self.joined_by.remove(&gone).unwrap_or_default();
        joined.extend(self.joined_by.remove(&keep).unwrap_or_default());
        joined.push(decision);
        joined.sort_unstable();
        joined.dedup();
        self.joined_by.insert(keep, joined);
        if let Some(c) = self.constrained.remove(&gone) {
            self.constrained.entry(keep).or_default().extend(c);
        }
    }

    fn add_cannot(&mut self, x: i64, y: i64, decision: i64) {
        for (a, b) in [(x, y), (y, x)] {
            let root = self.find(a);
            let list = self.cannot.entry(a).or_default();
            if list.is_empty() {
                self.constrained.entry(root).or_default().push(a);
            }
            list.push((b, decision));
        }
    }
}

/// What one decision's constraints came to.
#[derive(Default)]
struct Tally {
    kept: usize,
    dropped: usize,
    by: Vec<i64>,
}

impl Tally {
    fn standing(mut self) -> Standing {
        self.by.sort_unstable();
        self.by.dedup();
        match (self.kept, self.dropped) {
            (_, 0) => Standing::InForce,
            (0, _) => Standing::Superseded { by: self.by },
            _ => Standing::PartlySuperseded { by: self.by },
        }
    }
}

/// The constraints `decisions` add up to, newest first: each decision keeps what no newer
/// one contradicts. Records for which `exists` is false (erased) are left out.
pub fn resolve(decisions: &[Decision], exists: impl Fn(i64) -> bool) -> Resolved {
    let mut order: Vec<&Decision> = decisions.iter().collect();
    order.sort_by_key(|d| std::cmp::Reverse(d.id));
    let mut groups = Groups::default();
    let mut out = Resolved::default();
    for d in order {
        let side = |ids: &[i64]| -> Vec<i64> {
            let mut v: Vec<i64> = ids.iter().copied().filter(|&r| exists(r)).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let (a, b) = (side(&d.records_a), side(&d.records_b));
        let mut tally = Tally::default();
        if d.kind.joins() {
            let together: Vec<i64> = if d.kind.parts() {
                a.clone()
            } else {
                let mut all = a.clone();
                all.extend(&b);
                all.sort_unstable();
                all.dedup();
                all
            };
            join(
                &mut groups,
                &together,
                d.id,
                &mut tally,
                &mut out.constraints,
            );
        }
        if d.kind.parts() {
            part(
                &mut groups,
                (&a, &b),
                d.id,
                &mut tally,
                &mut out.constraints,
            );
        }
        let standing = if tally.kept + tally.dropped == 0 {
            Standing::Moot
        } else {
            tally.standing()
        };
        out.standing.insert(d.id, standing);
    }
    out.constraints.must.sort_unstable();
    out.constraints.cannot.sort_unstable();
    out
}

/// Joins `records` into one group where no newer cannot-link forbids it; each join is a
/// must-link.
fn join(
    groups: &mut Groups,
    records: &[i64],
    decision: i64,
    tally: &mut Tally,
    out: &mut Constraints,
) {
    let Some((&first, rest)) = records.split_first() else {
        return;
    };
    // The records the decision has joined so far, one per group it made or met.
    let mut anchors = vec![first];
    for &x in rest {
        let mut placed = false;
        for &anchor in &anchors {
            let (rx, ra) = (groups.find(x), groups.find(anchor));
            if rx == ra {
                placed = true;
                continue;
            }
            match groups.blocker(rx, ra) {
                None => {
                    groups.union(rx, ra, decision);
                    out.must.push((anchor.min(x), anchor.max(x), decision));
                    placed = true;
                }
                Some(by) => {
                    tally.dropped += 1;
                    tally.by.push(by);
                }
            }
        }
        if placed {
            tally.kept += 1;
        } else {
            anchors.push(x);
        }
    }
}

/// Keeps the two sides apart, except where newer must-links put them together. Records
/// the must-links so far hold in one group are kept apart through one of them (a split
/// of 1,000 records from 1,000 would otherwise be a million cannot-links): must-links in
/// force are joined before any merge, so the group's other records follow it.
fn part(
    groups: &mut Groups,
    (a, b): (&[i64], &[i64]),
    decision: i64,
    tally: &mut Tally,
    out: &mut Constraints,
) {
    let mut by_root = |side: &[i64]| -> Vec<(i64, i64)> {
        let mut reps: Vec<(i64, i64)> = Vec::new();
        for &x in side {
            let root = groups.find(x);
            if !reps.iter().any(|&(r, _)| r == root) {
                reps.push((root, x));
            }
        }
        reps
    };
    let (reps_a, reps_b) = (by_root(a), by_root(b));
    for &(ra, x) in &reps_a {
        for &(rb, y) in &reps_b {
            if ra == rb {
                tally.dropped += 1;
                let by = groups.joined_by.get(&ra).into_iter().flatten();
                tally.by.extend(by.filter(|&&d| d != decision).copied());
            } else {
                groups.add_cannot(x, y, decision);
                out.cannot.push((x.min(y), x.max(y), decision));
                tally.kept += 1;
            }
        }
    }
}

/// Joins the records reviewers' must-links name and registers their cannot-links, before
/// any scored pair; each join is a merge with the pair's own evidence beside the decision.
pub(super) fn apply(
    records: &[MatchRecord],
    constraints: &Constraints,
    clusters: &mut super::cluster::Clusters,
    weights: &Weights,
    tf_u: &dyn Fn(u32) -> Option<f64>,
    merges: &mut Vec<super::Merge>,
) {
    let named: rustc_hash::FxHashSet<i64> = constraints
        .must
        .iter()
        .chain(&constraints.cannot)
        .flat_map(|&(a, b, _)| [a, b])
        .collect();
    let index: HashMap<i64, u32> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| named.contains(&r.record_id))
        .map(|(i, r)| (r.record_id, i as u32))
        .collect();
    let both = |&(a, b, d): &(i64, i64, i64)| Some((*index.get(&a)?, *index.get(&b)?, d));
    for (a, b, _) in constraints.cannot.iter().filter_map(both) {
        clusters.keep_apart(a, b);
    }
    for (a, b, d) in constraints.must.iter().filter_map(both) {
        if clusters.join_anyway(records, a, b) {
            let cmp = super::compare::compare(&records[a as usize], &records[b as usize]);
            let e = super::Compared::new(&cmp, None).evidence(tf_u(a));
            merges.push((weights.probability(&e), a, b, e, Some(d)));
        }
    }
}

/// The comparison levels of the given record pairs (those both in `records`).
pub(super) fn levels_of(
    records: &[MatchRecord],
    pairs: &[(i64, i64)],
) -> Vec<[Option<u8>; super::model::FIELDS]> {
    let index: HashMap<i64, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.record_id, i))
        .collect();
    pairs
        .iter()
        .filter_map(|(a, b)| Some((&records[*index.get(a)?], &records[*index.get(b)?])))
        .map(|(a, b)| super::model::levels(&super::compare::compare(a, b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: i64, kind: DecisionKind, a: &[i64], b: &[i64]) -> Decision {
        Decision {
            id,
            kind,
            records_a: a.to_vec(),
            records_b: b.to_vec(),
        }
    }

    #[test]
    fn a_merge_joins_both_sides() {
        let r = resolve(&[d(1, DecisionKind::Merge, &[1, 2], &[3])], |_| true);
        assert_eq!(r.constraints.must, vec![(1, 2, 1), (1, 3, 1)]);
        assert!(r.constraints.cannot.is_empty());
        assert_eq!(r.standing[&1], Standing::InForce);
    }

    #[test]
    fn a_split_parts_the_sides_and_keeps_the_split_off_records_together() {
        let r = resolve(&[d(1, DecisionKind::Split, &[3, 4], &[1, 2])], |_| true);
        assert_eq!(r.constraints.must, vec![(3, 4, 1)]);
        // 3 and 4 are joined: one of them stands for both.
        assert_eq!(r.constraints.cannot, vec![(1, 3, 1), (2, 3, 1)]);
    }

    /// A merge of two leads, then one record split off: the split wins for that record,
    /// the merge still holds the rest together.
    #[test]
    fn a_newer_split_supersedes_part_of_an_older_merge() {
        let r = resolve(
            &[
                d(1, DecisionKind::Merge, &[1, 2], &[3, 4]),
                d(2, DecisionKind::Split, &[1], &[2, 3, 4]),
            ],
            |_| true,
        );
        assert_eq!(r.constraints.must, vec![(2, 3, 1), (2, 4, 1)]);
        assert_eq!(r.constraints.cannot.len(), 3);
        assert_eq!(
            r.standing[&1],
            Standing::PartlySuperseded { by: vec![2] },
            "{:?}",
            r.standing
        );
        assert_eq!(r.standing[&2], Standing::InForce);
    }

    /// "Different", then "same" on the same pair: the newer label wins whole.
    #[test]
    fn a_newer_label_supersedes_an_older_one() {
        let r = resolve(
            &[
                d(5, DecisionKind::Different, &[1], &[2]),
                d(9, DecisionKind::Same, &[1], &[2]),
            ],
            |_| true,
        );
        assert_eq!(r.constraints.must, vec![(1, 2, 9)]);
        assert!(r.constraints.cannot.is_empty());
        assert_eq!(r.standing[&5], Standing::Superseded { by: vec![9] });
        let r = resolve(
            &[
                d(5, DecisionKind::Same, &[1], &[2]),
                d(9, DecisionKind::Different, &[1], &[2]),
            ],
            |_| true,
        );
        assert!(r.constraints.must.is_empty());
        assert_eq!(r.standing[&5], Standing::Superseded { by: vec![9] });
    }

    /// A chain of newer must-links decides an older cannot-link between its ends.
    #[test]
    fn must_links_chain_against_older_cannot_links() {
        let r = resolve(
            &[
                d(1, DecisionKind::Different, &[1], &[3]),
                d(2, DecisionKind::Same, &[1], &[2]),
                d(3, DecisionKind::Same, &[2], &[3]),
            ],
            |_| true,
        );
        assert_eq!(r.standing[&1], Standing::Superseded { by: vec![2, 3] });
        // And a cannot-link blocks an older chain at its link.
        let r = resolve(
            &[
                d(1, DecisionKind::Same, &[1], &[2]),
                d(2, DecisionKind::Same, &[2], &[3]),
                d(3, DecisionKind::Different, &[1], &[3]),
            ],
            |_| true,
        );
        assert_eq!(r.standing[&2], Standing::InForce);
        assert_eq!(r.standing[&1], Standing::Superseded { by: vec![3] });
    }

    #[test]
    fn erased_records_leave_a_decision_moot() {
        let r = resolve(&[d(1, DecisionKind::Same, &[1], &[2])], |id| id != 2);
        assert_eq!(r.standing[&1], Standing::Moot);
        assert!(r.constraints.is_empty());
    }

    /// Through the clustering: a cannot-link holds against a third record that matches
    /// both, and a must-link joins records a veto would keep apart.
    #[test]
    fn clustering_honours_both_kinds() {
        use crate::dedupe::{link, test_record, DedupeInput, DedupeSettings};
        let mut records: Vec<_> = (1..=3)
            .map(|i| {
                let mut r = test_record("Сидоров", "Алексей", "+79165550011", "");
                r.record_id = i;
                r
            })
            .collect();
        let mut woman = test_record("Смирнова", "Анна", "+79052003040", "");
        woman.record_id = 4;
        woman.gender = Some(crate::normalise::name::Gender::Female);
        let mut man = test_record("Смирнов", "Анн", "+79031002030", "");
        man.record_id = 5;
        man.gender = Some(crate::normalise::name::Gender::Male);
        records.extend([woman, man]);
        let constraints = Constraints {
            must: vec![(4, 5, 2)],
            cannot: vec![(1, 2, 1)],
        };
        let out = link(
            DedupeInput {
                records: &records,
                sizes: None,
                constraints: Some(&constraints),
                labelled_same: &[],
            },
            &DedupeSettings::default(),
            None,
            1,
        );
        let l = &out.lead_of;
        assert_ne!(l[0], l[1]);
        assert!(l[2] == l[0] || l[2] == l[1]);
        assert_eq!(l[3], l[4]);
        let forced = out.links.iter().find(|k| k.decision == Some(2)).unwrap();
        assert_eq!((forced.record_a, forced.record_b), (4, 5));
        assert!(out
            .refusals
            .iter()
            .any(|r| r.veto == crate::dedupe::compare::Veto::ReviewersSaidDifferent));
    }

    proptest::proptest! {
        /// Whatever the decisions, the constraints in force never ask for a pair to be
        /// joined and kept apart at once, even through chains of must-links; and the
        /// newest decision is always wholly in force.
        #[test]
        fn resolved_constraints_never_contradict(
            picks in proptest::collection::vec(
                (0usize..4, proptest::collection::vec(0i64..8, 1..4),
                 proptest::collection::vec(0i64..8, 1..4)),
                1..12)
        ) {
            let decisions: Vec<Decision> = picks
                .iter()
                .enumerate()
                .map(|(i, (k, a, b))| {
                    let b: Vec<i64> = b.iter().copied().filter(|x| !a.contains(x)).collect();
                    d(i as i64 + 1, DecisionKind::ALL[*k], a, &b)
                })
                .collect();
            let r = resolve(&decisions, |_| true);
            let mut parent: HashMap<i64, i64> = HashMap::default();
            fn root(p: &HashMap<i64, i64>, mut x: i64) -> i64 {
                while let Some(&y) = p.get(&x) { if y == x { break } x = y; }
                x
            }
            for &(a, b, _) in &r.constraints.must {
                let (ra, rb) = (root(&parent, a), root(&parent, b));
                if ra != rb { parent.insert(ra, rb); }
            }
            for &(a, b, _) in &r.constraints.cannot {
                proptest::prop_assert_ne!(root(&parent, a), root(&parent, b));
            }
            let newest = decisions.last().unwrap();
            let s = &r.standing[&newest.id];
            proptest::prop_assert!(
                matches!(s, Standing::InForce | Standing::Moot), "{:?}", s
            );
        }
    }
}
