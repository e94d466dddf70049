//! RFM scores and segments against an independent implementation: pandas `qcut` over
//! `rank(method="first")` for the scores, and the segment grid written out again in
//! Python (README, Analysis). Random customers with many ties (small integer values),
//! several sizes.
//!
//! Needs python3 with pandas (`.ci/run` installs it and sets `LEADPIPE_REQUIRE_PANDAS=1`);
//! without it the test says so and passes.

use leadpipe_core::analysis::rfm::{score, RfmInput};
use std::process::Command;

const ORACLE: &str = r#"
import sys, pandas as pd
df = pd.read_csv(sys.argv[1])
def q(s):
    return (pd.qcut(s.rank(method="first"), 5, labels=False) + 1).astype(int)
r, f, m = q(-df.recency), q(df.frequency), q(df.monetary)
grid = {
    1: ["Lost", "Lost", "Hibernating", "At Risk", "Can't Lose Them"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    3: ["About To Sleep", "Need Attention", "Need Attention", "Loyal Customers", "Loyal Customers"],
    4: ["Promising", "Potential Loyalist", "Potential Loyalist", "Loyal Customers", "Champions"],
    5: ["New Customers", "Promising", "Potential Loyalist", "Champions", "Champions"],
}
for a, b, c in zip(r, f, m):
    fm = -(-(b + c) // 2)
    print(f"{a},{b},{c},{grid[a][fm - 1]}")
"#;

fn pandas() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pandas"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("LEADPIPE_REQUIRE_PANDAS").as_deref() != Ok("1"),
            "pandas is required (LEADPIPE_REQUIRE_PANDAS=1) but python3 cannot import it"
        );
        eprintln!("python3 with pandas not found: the RFM comparison is skipped");
    }
    ok
}

#[test]
fn rfm_scores_and_segments_match_pandas() {
    if !pandas() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = leadpipe_core::gen::Rng::new(24);
    for n in [5usize, 7, 13, 100, 1000, 4321] {
        let customers: Vec<RfmInput> = (0..n)
            .map(|_| RfmInput {
                recency_days: rng.below(400) as f64,
                frequency: 1.0 + rng.below(6) as f64,
                monetary: (rng.below(50) * 100) as f64,
            })
            .collect();
        let csv = dir.path().join(format!("c{n}.csv"));
        let mut text = String::from("recency,frequency,monetary\n");
        for c in &customers {
            text.push_str(&format!(
                "{},{},{}\n",
                c.recency_days, c.frequency, c.monetary
            ));
        }
        std::fs::write(&csv, text).unwrap();
        let out = Command::new("python3")
            .args(["-c", ORACLE, csv.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let ours: Vec<String> = score(&customers)
            .iter()
            .map(|s| format!("{},{},{},{}", s.r, s.f, s.m, s.segment.name()))
            .collect();
        let differ: Vec<_> = ours
            .iter()
            .zip(&theirs)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .collect();
        assert!(
            ours.len() == theirs.len() && differ.is_empty(),
            "n = {n}: first differences (customer, ours, pandas): {differ:?}"
        );
    }
}
