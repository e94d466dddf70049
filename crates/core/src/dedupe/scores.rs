//! How well a clustering matches ground truth, pair by pair (the evaluation tools and the
//! benchmarks use it).

use rustc_hash::FxHashMap as HashMap;

/// Pairwise precision / recall / F1 of a clustering against ground truth.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct PairwiseScores {
    pub true_pairs: u64,
    pub predicted_pairs: u64,
    pub correct_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Counts pairs without enumerating them: for each (truth, predicted) cell of size k,
/// k·(k−1)/2 pairs are correct.
pub fn pairwise_scores(truth: &[u64], predicted: &[i64]) -> PairwiseScores {
    fn pairs(k: u64) -> u64 {
        k * k.saturating_sub(1) / 2
    }
    let mut by_truth: HashMap<u64, u64> = HashMap::default();
    let mut by_pred: HashMap<i64, u64> = HashMap::default();
    let mut by_both: HashMap<(u64, i64), u64> = HashMap::default();
    for (&t, &p) in truth.iter().zip(predicted) {
        *by_truth.entry(t).or_default() += 1;
        *by_pred.entry(p).or_default() += 1;
        *by_both.entry((t, p)).or_default() += 1;
    }
    let true_pairs: u64 = by_truth.values().map(|&k| pairs(k)).sum();
    let predicted_pairs: u64 = by_pred.values().map(|&k| pairs(k)).sum();
    let correct_pairs: u64 = by_both.values().map(|&k| pairs(k)).sum();
    let precision = if predicted_pairs == 0 {
        1.0
    } else {
        correct_pairs as f64 / predicted_pairs as f64
    };
    let recall = if true_pairs == 0 {
        1.0
    } else {
        correct_pairs as f64 / true_pairs as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    PairwiseScores {
        true_pairs,
        predicted_pairs,
        correct_pairs,
        precision,
        recall,
        f1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_scores_count_pairs() {
        let s = pairwise_scores(&[1, 1, 1, 2, 2], &[7, 7, 8, 9, 9]);
        assert_eq!(
            (s.true_pairs, s.predicted_pairs, s.correct_pairs),
            (4, 2, 2)
        );
        assert!((s.precision - 1.0).abs() < 1e-9 && (s.recall - 0.5).abs() < 1e-9);
    }
}
