//! Segments: where a lead stands in the customer life cycle (thresholds in the pipeline
//! file's `[segments]`), and the segments users define there as SQL over `leads`.

use serde::{Deserialize, Serialize};

/// Life-cycle stages. A lead with no purchase is a `Lead`; a customer is `New` after one
/// purchase day and `Repeat` after more, until no purchase for `sleeping_after_days`
/// makes them `Sleeping`, and `lost_after_days` makes them `Lost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LifeCycle {
    Lead,
    NewCustomer,
    Repeat,
    Sleeping,
    Lost,
}

impl LifeCycle {
    pub const ALL: [LifeCycle; 5] = [
        LifeCycle::Lead,
        LifeCycle::NewCustomer,
        LifeCycle::Repeat,
        LifeCycle::Sleeping,
        LifeCycle::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifeCycle::Lead => "lead",
            LifeCycle::NewCustomer => "new_customer",
            LifeCycle::Repeat => "repeat",
            LifeCycle::Sleeping => "sleeping",
            LifeCycle::Lost => "lost",
        }
    }
}

/// A segment a user defines: a name and an SQL predicate over a lead (the columns of
/// `leads`, and `life_cycle`, `rfm_segment`, `rfm_r`, `rfm_f`, `rfm_m`, `orders`,
/// `revenue`, `last_purchase`, `warmth_now`, `warmth_tier_now`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSegment {
    pub name: String,
    #[serde(rename = "where")]
    pub predicate: String,
}

/// The pipeline file's `[segments]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegmentSettings {
    /// A customer with no purchase for this many days is sleeping (default 90: a quarter,
    /// the usual re-activation horizon for retail and services).
    pub sleeping_after_days: u32,
    /// ... and lost after this many (default 365: a year without buying).
    pub lost_after_days: u32,
    /// The currency the analysis counts in (deals in others are listed, not converted);
    /// unset: the currency most won deals are in.
    pub currency: Option<String>,
    #[serde(rename = "custom")]
    pub custom: Vec<CustomSegment>,
}

impl Default for SegmentSettings {
    fn default() -> Self {
        SegmentSettings {
            sleeping_after_days: 90,
            lost_after_days: 365,
            currency: None,
            custom: Vec::new(),
        }
    }
}

impl SegmentSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.sleeping_after_days == 0 || self.lost_after_days <= self.sleeping_after_days {
            return Err(format!(
                "segments: sleeping_after_days ({}) must be at least 1 and below lost_after_days ({})",
                self.sleeping_after_days, self.lost_after_days
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for c in &self.custom {
            if c.name.trim().is_empty() || c.predicate.trim().is_empty() {
                return Err("segments.custom: each needs a name and a where".into());
            }
            if !names.insert(c.name.trim().to_lowercase()) {
                return Err(format!(
                    "segments.custom: two segments are named {:?}",
                    c.name
                ));
            }
            if c.predicate.contains(';') {
                return Err(format!(
                    "segments.custom {:?}: the where is one SQL condition, without ';'",
                    c.name
                ));
            }
        }
        Ok(())
    }

    /// The stage of a customer with `purchase_days` days of purchases, the last
    /// `days_since_last` days ago.
    pub fn life_cycle(&self, purchase_days: u64, days_since_last: i64) -> LifeCycle {
        if purchase_days == 0 {
            LifeCycle::Lead
        } else if days_since_last >= i64::from(self.lost_after_days) {
            LifeCycle::Lost
        } else if days_since_last >= i64::from(self.sleeping_after_days) {
            LifeCycle::Sleeping
        } else if purchase_days == 1 {
            LifeCycle::NewCustomer
        } else {
            LifeCycle::Repeat
        }
    }
}

/// Russia's eight federal districts by federal subject code (as in `leads.region_code`),
/// since the 2018 move of Buryatia and Zabaykalsky Krai to the Far East.
pub const FEDERAL_DISTRICTS: [(&str, &[&str]); 8] = [
    (
        "Центральный",
        &[
            "RU-BEL", "RU-BRY", "RU-VLA", "RU-VOR", "RU-IVA", "RU-KLU", "RU-KOS", "RU-KRS",
            "RU-LIP", "RU-MOS", "RU-ORL", "RU-RYA", "RU-SMO", "RU-TAM", "RU-TVE", "RU-TUL",
            "RU-YAR", "RU-MOW",
        ],
    ),
    (
        "Северо-Западный",
        &[
            "RU-KR", "RU-KO", "RU-ARK", "RU-NEN", "RU-VLG", "RU-KGD", "RU-LEN", "RU-MUR", "RU-NGR",
            "RU-PSK", "RU-SPE",
        ],
    ),
    (
        "Южный",
        &[
            "RU-AD", "RU-KL", "RU-CR", "RU-KDA", "RU-AST", "RU-VGG", "RU-ROS", "RU-SEV",
        ],
    ),
    (
        "Северо-Кавказский",
        &[
            "RU-DA", "RU-IN", "RU-KB", "RU-KC", "RU-SE", "RU-CE", "RU-STA",
        ],
    ),
    (
        "Приволжский",
        &[
            "RU-BA", "RU-ME", "RU-MO", "RU-TA", "RU-UD", "RU-CU", "RU-PER", "RU-KIR", "RU-NIZ",
            "RU-ORE", "RU-PNZ", "RU-SAM", "RU-SAR", "RU-ULY",
        ],
    ),
    (
        "Уральский",
        &["RU-KGN", "RU-SVE", "RU-TYU", "RU-KHM", "RU-YAN", "RU-CHE"],
    ),
    (
        "Сибирский",
        &[
            "RU-AL", "RU-TY", "RU-KK", "RU-ALT", "RU-KYA", "RU-IRK", "RU-KEM", "RU-NVS", "RU-OMS",
            "RU-TOM",
        ],
    ),
    (
        "Дальневосточный",
        &[
            "RU-BU", "RU-SA", "RU-ZAB", "RU-KAM", "RU-PRI", "RU-KHA", "RU-AMU", "RU-MAG", "RU-SAK",
            "RU-YEV", "RU-CHU",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_federal_subject_is_in_one_district() {
        let codes: Vec<&str> = include_str!("../../data/enrich/regions.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split('\t').next())
            .collect();
        assert_eq!(codes.len(), 85);
        for code in &codes {
            let n = FEDERAL_DISTRICTS
                .iter()
                .filter(|(_, members)| members.contains(code))
                .count();
            assert_eq!(n, 1, "{code} is in {n} districts");
        }
        let listed: usize = FEDERAL_DISTRICTS.iter().map(|(_, m)| m.len()).sum();
        assert_eq!(listed, 85);
    }

    #[test]
    fn life_cycle_follows_the_thresholds() {
        let s = SegmentSettings::default();
        assert_eq!(s.life_cycle(0, 0), LifeCycle::Lead);
        assert_eq!(s.life_cycle(1, 10), LifeCycle::NewCustomer);
        assert_eq!(s.life_cycle(3, 89), LifeCycle::Repeat);
        assert_eq!(s.life_cycle(3, 90), LifeCycle::Sleeping);
        assert_eq!(s.life_cycle(1, 365), LifeCycle::Lost);
        let bad = SegmentSettings {
            lost_after_days: 30,
            ..SegmentSettings::default()
        };
        assert!(bad.validate().is_err());
    }
}
