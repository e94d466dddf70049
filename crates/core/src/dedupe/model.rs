//! Fellegi–Sunter scoring: each field's agreement level carries a weight log2(m/u).
//! `u` (how often non-matches agree this way) comes from random pairs; `m` (how often true
//! matches do) and the match prior come from EM on the blocked pairs, without labels.
//! Exact name agreement is term-frequency adjusted: sharing a rare name says more than
//! sharing "Иванов Александр".

use super::compare::Comparison;
use serde::{Deserialize, Serialize};

/// Number of levels per field, in `Comparison` order: name, middle name, phone, email,
/// city, company, ИНН.
pub const LEVELS: [usize; FIELDS] = [7, 4, 2, 3, 2, 3, 2];
pub const FIELD_NAMES: [&str; FIELDS] = [
    "name",
    "middle_name",
    "phone",
    "email",
    "city",
    "company",
    "inn",
];
pub const FIELDS: usize = 7;
/// Level names per field, for explanations (same order as the enums in `compare`).
pub const LEVEL_NAMES: [&[&str]; FIELDS] = [
    &[
        "exact",
        "initial",
        "fuzzy",
        "partial",
        "surname_only",
        "first_only",
        "differ",
    ],
    &["equal", "initial", "typo", "differ"],
    &["equal", "differ"],
    &["equal", "typo", "differ"],
    &["equal", "differ"],
    &["equal", "fuzzy", "differ"],
    &["equal", "differ"],
];
/// Field indices, for sessions.
pub const PHONE: usize = 2;
pub const EMAIL: usize = 3;
pub const COMPANY: usize = 5;
pub const INN: usize = 6;

const EM_ITERATIONS: usize = 25;
const PROB_FLOOR: f64 = 1e-6;
/// Least `m` EM may give a level: for the same person a city, an e-mail or a patronymic
/// differs at least this often in real lists (moves, second addresses, typing), and a
/// base where one never varies would otherwise teach the model a veto (−20 bits for a
/// different city). Vetoes are explicit (`compare::veto`), never learnt.
const M_FLOOR: f64 = 0.005;

/// Comparison as level indices (None = no evidence). One byte each: a 1M-row run holds
/// millions of pairs' levels, and `usize` levels tripled that memory and its copying.
pub fn levels(c: &Comparison) -> [Option<u8>; FIELDS] {
    [
        c.name.map(|l| l as u8),
        c.middle.map(|l| l as u8),
        c.phone.map(|l| l as u8),
        c.email.map(|l| l as u8),
        c.city.map(|l| l as u8),
        c.company.map(|l| l as u8),
        c.inn.map(|l| l as u8),
    ]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// m[field][level]
    pub m: Vec<Vec<f64>>,
    /// u[field][level]
    pub u: Vec<Vec<f64>>,
    /// Prior probability that a blocked pair is a match.
    pub lambda: f64,
}

impl Default for Weights {
    /// Starting values for EM (and the model used when there is too little data to fit):
    /// plausible for lead lists, deliberately not tuned to any test set.
    fn default() -> Self {
        Weights {
            m: vec![
                vec![0.70, 0.08, 0.08, 0.03, 0.04, 0.03, 0.04],
                vec![0.83, 0.08, 0.04, 0.05],
                vec![0.90, 0.10],
                vec![0.80, 0.10, 0.10],
                vec![0.90, 0.10],
                vec![0.85, 0.05, 0.10],
                vec![0.95, 0.05],
            ],
            u: vec![
                vec![0.001, 0.001, 0.002, 0.002, 0.01, 0.02, 0.964],
                vec![0.03, 0.01, 0.01, 0.95],
                vec![0.0001, 0.9999],
                vec![0.0001, 0.0001, 0.9998],
                vec![0.1, 0.9],
                vec![0.001, 0.002, 0.997],
                vec![0.0001, 0.9999],
            ],
            // Prior that two records match: small, so a shared name or phone alone is not enough.
            lambda: 1e-4,
        }
    }
}

/// A pair as the model sees it: levels plus the term-frequency `u` for exact names.
#[derive(Debug, Clone, Copy)]
pub struct PairEvidence {
    pub levels: [Option<u8>; FIELDS],
    /// Frequency of the shared name among all records, for the name-exact level.
    pub tf_u: Option<f64>,
}

/// Per-field contribution to a pair's score, for explanations.
#[derive(Debug, Clone, Serialize)]
pub struct FieldWeight {
    pub field: &'static str,
    /// Agreement level, or None when either record lacks the field.
    pub level: Option<&'static str>,
    pub weight: f64,
}

impl Weights {
    /// Do these weights have this model's fields and levels? Weights stored by an older
    /// version (fewer fields or levels) do not, and are refitted instead of misread.
    pub fn fits_model(&self) -> bool {
        let shaped = |t: &Vec<Vec<f64>>| {
            t.len() == FIELDS && t.iter().zip(LEVELS).all(|(v, n)| v.len() == n)
        };
        shaped(&self.m) && shaped(&self.u)
    }

    fn field_u(&self, f: usize, level: usize, e: &PairEvidence) -> f64 {
        match (f, level, e.tf_u) {
            (0, 0, Some(tf)) => tf.max(PROB_FLOOR),
            _ => self.u[f][level],
        }
    }

    /// log2 Bayes factor per field.
    pub fn field_weights(&self, e: &PairEvidence) -> [FieldWeight; FIELDS] {
        std::array::from_fn(|f| {
            let weight = match e.levels[f].map(usize::from) {
                Some(l) => (self.m[f][l].max(PROB_FLOOR) / self.field_u(f, l, e)).log2(),
                None => 0.0,
            };
            FieldWeight {
                field: FIELD_NAMES[f],
                level: e.levels[f].and_then(|l| LEVEL_NAMES[f].get(usize::from(l)).copied()),
                weight,
            }
        })
    }

    /// Total match weight (log2 odds) including the prior.
    pub fn match_weight(&self, e: &PairEvidence) -> f64 {
        let prior = (self.lambda / (1.0 - self.lambda)).log2();
        prior + self.field_weights(e).iter().map(|w| w.weight).sum::<f64>()
    }

    pub fn probability(&self, e: &PairEvidence) -> f64 {
        1.0 / (1.0 + (-self.match_weight(e)).exp2())
    }

    /// Estimates `u` from comparison levels of random (almost surely non-matching) pairs,
    /// with add-one smoothing so unseen agreement is rare, not impossible.
    pub fn estimate_u(&mut self, random_pairs: &[[Option<u8>; FIELDS]]) {
        for f in 0..FIELDS {
            let mut counts = vec![1.0; LEVELS[f]];
            for p in random_pairs {
                if let Some(l) = p[f] {
                    counts[usize::from(l)] += 1.0;
                }
            }
            let total: f64 = counts.iter().sum();
            self.u[f] = counts.iter().map(|c| c / total).collect();
        }
    }

    /// Moves `m` towards what reviewers' "same person" pairs show: per field, each level's
    /// share among the labelled pairs that have the field, with the fitted `m` counted as
    /// `prior` pairs (with fewer labels than that, the fit still weighs more). Labelled
    /// pairs are few and chosen near the threshold, so they refine `m` rather than replace
    /// it; `u` (from random pairs) is untouched.
    pub fn blend_m_with_labels(&mut self, same: &[[Option<u8>; FIELDS]], prior: f64) {
        for f in 0..FIELDS {
            let mut counts = vec![0.0; LEVELS[f]];
            for p in same {
                if let Some(l) = p[f] {
                    counts[usize::from(l)] += 1.0;
                }
            }
            let n: f64 = counts.iter().sum();
            if n == 0.0 {
                continue;
            }
            for (m, c) in self.m[f].iter_mut().zip(&counts) {
                *m = (c + prior * *m) / (n + prior);
            }
        }
    }

    /// Sets how often two random records agree exactly on field `f` (see
    /// `chance_agreement`), rescaling its other levels so they still sum to one. For
    /// sparse, high-cardinality fields (ИНН, company) random pairs rarely both hold a
    /// value, and a sample's add-one smoothing would put `u` orders of magnitude too high.
    pub fn set_u_equal(&mut self, f: usize, p: f64) {
        let p = p.clamp(1e-9, 0.5);
        let rest: f64 = self.u[f][1..].iter().sum();
        if rest > 0.0 {
            for u in &mut self.u[f][1..] {
                *u *= (1.0 - p) / rest;
            }
        }
        self.u[f][0] = p;
    }

    /// EM for `m` with `u` held fixed, in sessions (the Splink recipe): each session is the
    /// pairs found by one blocking key, and the field that key is made of is not estimated
    /// there (pairs that share a phone say nothing about how often matches share phones).
    /// Estimates from sessions are averaged per field. Then `lambda`, the prior that two
    /// random records match, is set from the expected number of matches among the pairs
    /// sharing a phone or e-mail, over all possible pairs: a name shared by chance among
    /// millions must not outweigh that. Returns the total EM iterations.
    pub fn fit(
        &mut self,
        sessions: &[Session],
        strong_pairs: &[PairEvidence],
        n_records: usize,
    ) -> usize {
        let mut iterations = 0;
        let mut sums: Vec<Vec<f64>> = LEVELS.iter().map(|&n| vec![0.0; n]).collect();
        let mut used = [0usize; FIELDS];
        let mut lambdas = Vec::new();
        for session in sessions {
            if session.pairs.len() < 50 {
                continue; // too little data: keep the defaults for what it would estimate
            }
            let (m, lambda, its) = self.em_session(session);
            iterations += its;
            lambdas.push(lambda);
            for f in 0..FIELDS {
                if f != session.fixed_field {
                    used[f] += 1;
                    for l in 0..LEVELS[f] {
                        sums[f][l] += m[f][l];
                    }
                }
            }
        }
        for f in 0..FIELDS {
            if used[f] > 0 {
                self.m[f] = sums[f].iter().map(|s| s / used[f] as f64).collect();
            }
        }
        if !lambdas.is_empty() && n_records > 1 {
            let local = Weights {
                lambda: lambdas.iter().sum::<f64>() / lambdas.len() as f64,
                ..self.clone()
            };
            let expected: f64 = aggregate(strong_pairs)
                .iter()
                .map(|(e, count)| local.probability(e) * count)
                .sum();
            let all_pairs = n_records as f64 * (n_records as f64 - 1.0) / 2.0;
            self.lambda = (expected / all_pairs).clamp(1e-12, 0.5);
        }
        iterations
    }

    fn em_session(&self, session: &Session) -> (Vec<Vec<f64>>, f64, usize) {
        let mut w = self.clone();
        w.lambda = 0.5;
        let mut iterations = 0;
        // Millions of pairs fall into a few thousand distinct evidence patterns.
        let patterns = aggregate(&session.pairs);
        for _ in 0..EM_ITERATIONS {
            iterations += 1;
            let mut m_acc: Vec<Vec<f64>> = LEVELS.iter().map(|&n| vec![0.0; n]).collect();
            let mut p_sum = 0.0;
            for (e, count) in &patterns {
                let p = w.probability(e) * count;
                p_sum += p;
                for (acc, level) in m_acc.iter_mut().zip(e.levels) {
                    if let Some(l) = level {
                        acc[usize::from(l)] += p;
                    }
                }
            }
            let new_lambda = (p_sum / session.pairs.len() as f64).clamp(1e-4, 1.0 - 1e-4);
            let mut delta: f64 = (new_lambda - w.lambda).abs();
            for f in (0..FIELDS).filter(|&f| f != session.fixed_field) {
                let total: f64 = m_acc[f].iter().sum::<f64>() + LEVELS[f] as f64 * 1e-3;
                for (acc, old) in m_acc[f].iter().zip(w.m[f].iter_mut()) {
                    let m = ((acc + 1e-3) / total).clamp(M_FLOOR, 1.0 - M_FLOOR);
                    delta = delta.max((m - *old).abs());
                    *old = m;
                }
            }
            w.lambda = new_lambda;
            if delta < 1e-5 {
                break;
            }
        }
        (w.m, w.lambda, iterations)
    }
}

/// Distinct evidence patterns with how many pairs show each.
fn aggregate(pairs: &[PairEvidence]) -> Vec<(PairEvidence, f64)> {
    let mut map: rustc_hash::FxHashMap<([u8; FIELDS], u64), (PairEvidence, f64)> =
        rustc_hash::FxHashMap::default();
    for e in pairs {
        let key = (
            e.levels.map(|l| l.unwrap_or(u8::MAX)),
            e.tf_u.map_or(u64::MAX, f64::to_bits),
        );
        map.entry(key).or_insert((*e, 0.0)).1 += 1.0;
    }
    map.into_values().collect()
}

/// The pairs one blocking key produced, and the field that key is made of.
pub struct Session {
    pub fixed_field: usize,
    pub pairs: Vec<PairEvidence>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_pull_m_towards_what_reviewers_saw() {
        let mut w = Weights::default();
        // 20 labelled pairs, all with different phones (level 1): as many as the prior.
        let pairs = vec![[None, None, Some(1), None, None, None, None]; 20];
        let before = w.m[PHONE][1];
        w.blend_m_with_labels(&pairs, 20.0);
        assert!((w.m[PHONE][1] - (20.0 + 20.0 * before) / 40.0).abs() < 1e-12);
        assert!((w.m[PHONE].iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(
            w.m[0],
            Weights::default().m[0],
            "fields without labels keep m"
        );
    }

    #[test]
    fn every_level_has_a_name() {
        for f in 0..FIELDS {
            assert_eq!(LEVEL_NAMES[f].len(), LEVELS[f], "{}", FIELD_NAMES[f]);
        }
        let w = Weights::default();
        assert!(w.fits_model());
    }

    #[test]
    fn weights_have_the_expected_signs() {
        let w = Weights::default();
        let agree = PairEvidence {
            levels: [Some(0), Some(0), Some(0), Some(0), Some(0), None, None],
            tf_u: None,
        };
        let disagree = PairEvidence {
            levels: [Some(6), Some(3), Some(1), Some(2), Some(1), None, None],
            tf_u: None,
        };
        assert!(w.probability(&agree) > 0.99);
        assert!(w.probability(&disagree) < 0.01);
        // A common name is weaker evidence than a rare one.
        let common = PairEvidence {
            levels: [Some(0), None, None, None, None, None, None],
            tf_u: Some(0.01),
        };
        let rare = PairEvidence {
            levels: [Some(0), None, None, None, None, None, None],
            tf_u: Some(0.00001),
        };
        assert!(w.match_weight(&rare) > w.match_weight(&common) + 5.0);
    }

    #[test]
    fn em_recovers_a_planted_model() {
        // Matches agree on everything 90% of the time; non-matches almost never.
        let mut pairs = Vec::new();
        for i in 0..2000 {
            let is_match = i % 2 == 0;
            let noisy = i % 10 == 1 || i % 10 == 2;
            let levels = if is_match {
                [
                    Some(if noisy { 1 } else { 0 }),
                    None,
                    Some(0),
                    Some(0),
                    Some(0),
                    None,
                    None,
                ]
            } else {
                [
                    Some(6),
                    None,
                    Some(1),
                    Some(if noisy { 0 } else { 2 }),
                    Some(1),
                    None,
                    None,
                ]
            };
            pairs.push(PairEvidence { levels, tf_u: None });
        }
        let mut w = Weights::default();
        // Random pairs are non-matches, drawn from the same distribution as above.
        let random: Vec<[Option<u8>; FIELDS]> = pairs
            .iter()
            .filter(|p| p.levels[0] == Some(6))
            .map(|p| p.levels)
            .collect();
        w.estimate_u(&random);
        let session = Session {
            fixed_field: 4,
            pairs: pairs.clone(),
        };
        let (m, lambda, _) = w.em_session(&session);
        assert!((lambda - 0.5).abs() < 0.05, "lambda {lambda}");
        assert!(m[2][0] > 0.95, "phone m {:?}", m[2]);
        assert!((m[0][1] - 0.2).abs() < 0.03, "name m {:?}", m[0]);
        // The global prior: 1000 expected matches among 2000·1999/2 possible pairs.
        w.fit(&[session], &pairs, 2000);
        assert!(
            (w.lambda - 1000.0 / 1_999_000.0).abs() < 1e-4,
            "{}",
            w.lambda
        );
    }
}
