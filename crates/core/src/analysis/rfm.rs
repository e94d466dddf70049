//! RFM: each customer's recency, frequency and monetary value scored 1–5 by quintiles of
//! the base, and named by the usual eleven segments.
//!
//! Quintiles as pandas computes `qcut(values.rank(method="first"), 5, labels=[1..5])`:
//! ties are broken by input order, so every score holds a fifth of the customers (±1),
//! and the scores of a base can be checked against that one line. Recency is scored the
//! other way round: the most recent buyers get 5.

use serde::Serialize;

/// Scores 1–5 by quintile of `values` (higher value, higher score), ties broken by
/// position. With fewer than five values the scores still spread over 1–5 by rank.
pub fn quintiles(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    // Stable: equal values keep their input order, as `rank(method="first")`.
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut scores = vec![0u8; n];
    for (rank0, &i) in order.iter().enumerate() {
        scores[i] = quintile_of_rank(rank0 + 1, n);
    }
    scores
}

/// The bin of rank `rank` (1-based) among `n` under `qcut(.., 5)`: the edges are the
/// 0, 20 … 100 % quantiles of 1..n with linear interpolation, 1 + (n − 1)·k/5, and a
/// rank falls in the first bin whose upper edge it does not exceed.
fn quintile_of_rank(rank: usize, n: usize) -> u8 {
    if n <= 1 {
        return 1;
    }
    let r = rank as f64;
    (1..=5u8)
        .find(|&k| r <= 1.0 + (n as f64 - 1.0) * f64::from(k) / 5.0 + 1e-9)
        .unwrap_or(5)
}

/// The eleven segments, on the recency score (rows) and FM, the rounded-up mean of the
/// frequency and monetary scores (columns):
///
/// | R \ FM | 1 | 2 | 3 | 4 | 5 |
/// |---|---|---|---|---|---|
/// | 5 | New Customers | Promising | Potential Loyalist | Champions | Champions |
/// | 4 | Promising | Potential Loyalist | Potential Loyalist | Loyal Customers | Champions |
/// | 3 | About To Sleep | Need Attention | Need Attention | Loyal Customers | Loyal Customers |
/// | 2 | Hibernating | Hibernating | At Risk | At Risk | Can't Lose Them |
/// | 1 | Lost | Lost | Hibernating | At Risk | Can't Lose Them |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Segment {
    Champions,
    LoyalCustomers,
    PotentialLoyalist,
    NewCustomers,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CantLoseThem,
    Hibernating,
    Lost,
}

impl Segment {
    pub const ALL: [Segment; 11] = [
        Segment::Champions,
        Segment::LoyalCustomers,
        Segment::PotentialLoyalist,
        Segment::NewCustomers,
        Segment::Promising,
        Segment::NeedAttention,
        Segment::AboutToSleep,
        Segment::AtRisk,
        Segment::CantLoseThem,
        Segment::Hibernating,
        Segment::Lost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Segment::Champions => "Champions",
            Segment::LoyalCustomers => "Loyal Customers",
            Segment::PotentialLoyalist => "Potential Loyalist",
            Segment::NewCustomers => "New Customers",
            Segment::Promising => "Promising",
            Segment::NeedAttention => "Need Attention",
            Segment::AboutToSleep => "About To Sleep",
            Segment::AtRisk => "At Risk",
            Segment::CantLoseThem => "Can't Lose Them",
            Segment::Hibernating => "Hibernating",
            Segment::Lost => "Lost",
        }
    }

    /// The segment of scores `r`, `f`, `m` (each 1–5).
    pub fn of(r: u8, f: u8, m: u8) -> Segment {
        use Segment::*;
        const GRID: [[Segment; 5]; 5] = [
            // R = 1
            [Lost, Lost, Hibernating, AtRisk, CantLoseThem],
            [Hibernating, Hibernating, AtRisk, AtRisk, CantLoseThem],
            [
                AboutToSleep,
                NeedAttention,
                NeedAttention,
                LoyalCustomers,
                LoyalCustomers,
            ],
            [
                Promising,
                PotentialLoyalist,
                PotentialLoyalist,
                LoyalCustomers,
                Champions,
            ],
            [
                NewCustomers,
                Promising,
                PotentialLoyalist,
                Champions,
                Champions,
            ],
        ];
        let fm = (u16::from(f) + u16::from(m)).div_ceil(2) as usize;
        let (r, fm) = (usize::from(r.clamp(1, 5)), fm.clamp(1, 5));
        GRID[r - 1][fm - 1]
    }
}

/// One customer's RFM inputs: days since the last purchase, purchases, total spend.
#[derive(Debug, Clone, Copy)]
pub struct RfmInput {
    pub recency_days: f64,
    pub frequency: f64,
    pub monetary: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RfmScore {
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub segment: Segment,
}

/// Scores every customer against the others (same order as `customers`).
pub fn score(customers: &[RfmInput]) -> Vec<RfmScore> {
    // The most recent buyers score 5: rank by how long ago, reversed.
    let recency: Vec<f64> = customers.iter().map(|c| -c.recency_days).collect();
    let frequency: Vec<f64> = customers.iter().map(|c| c.frequency).collect();
    let monetary: Vec<f64> = customers.iter().map(|c| c.monetary).collect();
    let (r, f, m) = (
        quintiles(&recency),
        quintiles(&frequency),
        quintiles(&monetary),
    );
    (0..customers.len())
        .map(|i| RfmScore {
            r: r[i],
            f: f[i],
            m: m[i],
            segment: Segment::of(r[i], f[i], m[i]),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quintiles_hold_a_fifth_each_and_break_ties_by_position() {
        let values: Vec<f64> = (0..10).map(|i| f64::from(i / 4)).collect(); // 0,0,0,0,1,1,1,1,2,2
        assert_eq!(quintiles(&values), vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        // pandas 2: qcut(Series([6, 5, 4, 3, 2, 1, 0]).rank(method="first"), 5,
        // labels=False) + 1 gives [5, 5, 4, 3, 2, 1, 1].
        assert_eq!(
            quintiles(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0]),
            vec![5, 5, 4, 3, 2, 1, 1]
        );
        assert_eq!(quintiles(&[3.0]), vec![1]);
    }

    #[test]
    fn every_segment_has_a_cell_and_the_corners_are_right() {
        let mut seen = std::collections::BTreeSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen.insert(Segment::of(r, f, m));
                }
            }
        }
        assert_eq!(seen.len(), Segment::ALL.len());
        assert_eq!(Segment::of(5, 5, 5), Segment::Champions);
        assert_eq!(Segment::of(1, 1, 1), Segment::Lost);
        assert_eq!(Segment::of(5, 1, 1), Segment::NewCustomers);
        assert_eq!(Segment::of(1, 5, 5), Segment::CantLoseThem);
        assert_eq!(Segment::of(2, 4, 3), Segment::AtRisk); // FM = ⌈3.5⌉ = 4
    }

    #[test]
    fn recent_buyers_score_high_on_recency() {
        let c = |days, f, m| RfmInput {
            recency_days: days,
            frequency: f,
            monetary: m,
        };
        let s = score(&[c(1.0, 9.0, 900.0), c(400.0, 1.0, 10.0), c(30.0, 3.0, 90.0)]);
        assert_eq!((s[0].r, s[1].r), (5, 1));
        assert_eq!(s[0].segment, Segment::Champions);
        assert_eq!(s[1].segment, Segment::Lost);
    }
}
