//! Warmth's rule has two forms in `leadpipe_core::warmth`: the scoring SQL the store runs
//! over every lead, and the Rust pieces (`recency_points`, `tier`) that say what a score
//! means. On the demo base, under random settings and random "now"s, every lead the SQL
//! scored must agree with the Rust form: recency from its last touch, the tier from its
//! score, and the score as the sum of its parts kept within 0–100.

mod common;

use common::{ok, root, run, s};
use leadpipe::store::Store;
use leadpipe::warmth::WarmthSettings;
use proptest::prelude::*;

fn demo_base() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.duckdb");
    let demo = root().join("pipelines/demo.toml");
    ok(run(&["run", s(&demo), "--db", s(&db), "-q"]));
    (dir, db)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_sql_scores_as_the_rust_rule_says(
        recency in 0i32..60,
        half_life_days in 1.0f64..400.0,
        warm in 0i32..60,
        gap in 0i32..=40,
        days_later in 0i64..900,
    ) {
        static BASE: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
            std::sync::OnceLock::new();
        let (_, db) = BASE.get_or_init(demo_base);
        let settings = WarmthSettings {
            recency,
            half_life_days,
            warm,
            hot: warm + gap,
            ..WarmthSettings::default()
        };
        prop_assert!(settings.validate().is_ok(), "{:?}", settings.validate());
        let now = chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z").unwrap().to_utc()
            + chrono::Duration::days(days_later);
        let store = Store::open(db).unwrap();
        store.begin().unwrap();
        store.score_warmth(&settings, now).unwrap();
        let mut stmt = store
            .connection()
            .prepare(
                "SELECT lead_id, epoch_us(warmth_last_touch_at), warmth_recency, warmth_score,
                        warmth_tier, warmth_origin + warmth_recency + warmth_frequency
                          + warmth_engagement + warmth_completeness
                   FROM leads ORDER BY lead_id",
            )
            .unwrap();
        let rows: Vec<(i64, Option<i64>, i32, i32, String, i32)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        drop(stmt);
        store.rollback();
        prop_assert!(!rows.is_empty());
        for (lead, touch_us, recency_sql, score, tier, parts) in rows {
            if let Some(touch_us) = touch_us {
                let age_days = (now.timestamp_micros() - touch_us) as f64 / 86_400e6;
                let expected = settings.recency_points(age_days);
                // Days are fractional: one point of rounding either way at a .5 boundary.
                prop_assert!(
                    (recency_sql - expected).abs() <= 1,
                    "lead {lead}: SQL recency {recency_sql}, Rust {expected} (age {age_days:.3} d)"
                );
            }
            prop_assert_eq!(tier.as_str(), settings.tier(score), "lead {}", lead);
            prop_assert_eq!(
                parts.clamp(0, 100),
                score,
                "lead {}: score is not the sum of its parts (kept within 0–100)",
                lead
            );
        }
    }

    /// Readers decay recency themselves (`WarmthSettings::read_sql`) from points stored
    /// at an earlier scoring: what they read `days_later` must be what scoring again at
    /// that time writes, for every lead whose engagement points did not change between.
    #[test]
    fn warmth_read_later_is_warmth_scored_later(
        recency in 1i32..60,
        half_life_days in 1.0f64..400.0,
        days_later in 0i64..900,
    ) {
        static BASE: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
            std::sync::OnceLock::new();
        let (_, db) = BASE.get_or_init(demo_base);
        let settings = WarmthSettings { recency, half_life_days, ..WarmthSettings::default() };
        let scored_at = chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z").unwrap().to_utc();
        let later = scored_at + chrono::Duration::days(days_later);
        let store = Store::open(db).unwrap();
        store.begin().unwrap();
        let read = |store: &Store, sql: &str| -> Vec<(i64, i32, String, i32)> {
            let mut stmt = store.connection().prepare(sql).unwrap();
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows
        };
        store.score_warmth(&settings, scored_at).unwrap();
        let (recency_sql, score_sql, tier_sql) =
            settings.read_sql("l", later);
        let decayed = read(&store, &format!(
            "SELECT lead_id, ({score_sql})::INTEGER, ({tier_sql})::VARCHAR, ({recency_sql})::INTEGER
             FROM leads l WHERE warmth_engagement = 0 ORDER BY lead_id"));
        store.score_warmth(&settings, later).unwrap();
        let rescored = read(&store,
            "SELECT lead_id, warmth_score, warmth_tier, warmth_recency
             FROM leads WHERE warmth_engagement = 0 ORDER BY lead_id");
        store.rollback();
        prop_assert!(!decayed.is_empty());
        prop_assert_eq!(decayed, rescored);
    }
}
