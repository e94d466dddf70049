//! What a reviewer is shown: one pair's evidence on demand, scored as a clustering would
//! score it (the review page's side-by-side view, and the matcher measured on reviewers'
//! labels), and the band of scores around the threshold worth a reviewer's look.

use super::compare::{self, Comparison, Veto};
use super::model::{FieldWeight, Weights, FIELDS};
use super::{Compared, MatchRecord, NameFrequencies};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct PairScore {
    pub probability: f64,
    pub match_weight: f64,
    pub fields: [FieldWeight; FIELDS],
    /// Why the pair could never be merged, whatever its score.
    pub veto: Option<Veto>,
    pub comparison: Comparison,
}

impl PairScore {
    /// Would the matcher merge the pair on its own (scored at or above `threshold`, no
    /// veto)?
    pub fn says_same(&self, threshold: f64) -> bool {
        self.veto.is_none() && self.probability >= threshold
    }
}

/// Scores `a` against `b` with the model (`names`: its name frequencies).
pub fn score_pair(
    a: &MatchRecord,
    b: &MatchRecord,
    weights: &Weights,
    names: &NameFrequencies,
) -> PairScore {
    let (comparison, veto) = compare::assess(a, b);
    let tf = a.name_value().and_then(|v| names.get(&v).copied());
    let e = Compared::new(&comparison, veto).evidence(tf);
    PairScore {
        probability: weights.probability(&e),
        match_weight: weights.match_weight(&e),
        fields: weights.field_weights(&e),
        veto,
        comparison,
    }
}

/// A pair the matcher left apart although its score came near the threshold: what a
/// reviewer should look at (with the merges just above it).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Candidate {
    pub record_a: i64,
    pub record_b: i64,
    pub probability: f64,
}

/// How far either side of the threshold, in match weight (log2 odds), a pair's score is
/// close enough to be worth a reviewer's look: 4 bits is an odds factor of 16, about what
/// one field's agreement weighs (a city ≈ 3, a first name ≈ 9). With the default
/// threshold 0.95: probabilities from 0.54 to 0.997.
pub const REVIEW_BAND_BITS: f64 = 4.0;

/// The (low, high) probabilities of the review band around `threshold`.
pub fn review_band(threshold: f64) -> (f64, f64) {
    let w = (threshold / (1.0 - threshold)).log2();
    let p = |w: f64| 1.0 / (1.0 + (-w).exp2());
    (p(w - REVIEW_BAND_BITS), p(w + REVIEW_BAND_BITS))
}

/// How the matcher's own verdict on reviewers' labelled pairs compares with theirs: does
/// it score the pair at or above the threshold, with no veto ([`PairScore::says_same`])?
/// Reviewed pairs are the hard ones (the queue shows pairs near the threshold first), so
/// these figures understate the matcher on the whole base.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LabelAgreement {
    pub pairs: u64,
    pub agreed: u64,
    /// Labelled one person.
    pub labelled_same: u64,
    /// Merged by the matcher's score alone.
    pub matcher_same: u64,
    /// Both.
    pub both_same: u64,
}

impl LabelAgreement {
    pub fn add(&mut self, labelled_same: bool, matcher_same: bool) {
        self.pairs += 1;
        self.agreed += u64::from(labelled_same == matcher_same);
        self.labelled_same += u64::from(labelled_same);
        self.matcher_same += u64::from(matcher_same);
        self.both_same += u64::from(labelled_same && matcher_same);
    }

    /// Share of pairs where the matcher agreed with the reviewer.
    pub fn agreement(&self) -> f64 {
        self.agreed as f64 / self.pairs.max(1) as f64
    }

    /// Of the pairs the matcher would merge, the share reviewers call one person.
    pub fn precision(&self) -> Option<f64> {
        (self.matcher_same > 0).then(|| self.both_same as f64 / self.matcher_same as f64)
    }

    /// Of the pairs reviewers call one person, the share the matcher would merge.
    pub fn recall(&self) -> Option<f64> {
        (self.labelled_same > 0).then(|| self.both_same as f64 / self.labelled_same as f64)
    }
}
