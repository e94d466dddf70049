//! One settings resolution for every command: what the pipeline file says ⊕ what the base
//! stored (each setting as the last pipeline that gave it left it) ⊕ the built-in defaults.
//!
//! `leadpipe import b.csv` into a base whose pipeline said `default_region = "BY"` reads
//! `8 029 …` as Belarusian and rebuilds golden records with that pipeline's origin
//! priority; `call-list`, `consent withdraw` and `serve` read numbers the same way.
//! How long a command waits for a base another one holds, and DuckDB's memory, come from
//! the environment (`LEADPIPE_LOCK_WAIT`, `LEADPIPE_DUCKDB_MEMORY`, `LEADPIPE_HOLD_MB`) and
//! are read where the base is opened (`leadpipe_store`).

use crate::analysis::segments::SegmentSettings;
use crate::dedupe::DedupeSettings;
use crate::lang::Lang;
use crate::normalise::{phone::PhoneNormaliser, Normaliser};
use crate::record::Origin;
use crate::store::{Store, StoreError};
use crate::warmth::WarmthSettings;
use chrono::FixedOffset;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The keys under which a run stores the settings it was given (`leadpipe_meta`).
const REGION: &str = "normalise.default_region";
const NAIVE_OFFSET: &str = "normalise.naive_time_offset";
const THRESHOLD: &str = "dedupe.threshold";
const ORIGIN_PRIORITY: &str = "dedupe.origin_priority";
const WARMTH: &str = "warmth.settings";
const SEGMENTS: &str = "segments.settings";
const LANG: &str = "output.lang";

/// Settings as a pipeline file (or the base) gives them: each one may be missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GivenSettings {
    /// Region assumed for phone numbers written without `+` (ISO code, default RU).
    pub default_region: Option<String>,
    /// Offset for timestamps written without a zone, like "+03:00" (default Moscow).
    pub naive_time_offset: Option<String>,
    /// Match probability at or above which two records are one lead (default 0.95).
    pub threshold: Option<f64>,
    /// Which origin's data wins in the golden record (default form, purchased, open).
    pub origin_priority: Option<Vec<Origin>>,
    pub warmth: Option<WarmthSettings>,
    /// Life-cycle thresholds, the analysis currency and the user's segments.
    pub segments: Option<SegmentSettings>,
    /// Language of people-facing output (default Russian).
    pub lang: Option<Lang>,
}

/// The pipeline file's `[output]` table: how people-facing output reads.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    pub lang: Option<Lang>,
}

/// The pipeline file's `[normalise]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormaliseSection {
    pub default_region: Option<String>,
    pub naive_time_offset: Option<String>,
}

/// The pipeline file's `[dedupe]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeSection {
    pub threshold: Option<f64>,
    pub origin_priority: Option<Vec<Origin>>,
}

impl GivenSettings {
    /// Every problem with the given values, each a sentence naming the setting.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(m) = self.normaliser() {
            problems.extend(m);
        }
        if let Some(t) = self.threshold {
            if !(0.5..1.0).contains(&t) {
                problems.push(format!(
                    "dedupe.threshold {t} must be at least 0.5 and below 1"
                ));
            }
        }
        if self.origin_priority.as_ref().is_some_and(Vec::is_empty) {
            problems.push(
                "dedupe.origin_priority is empty; list the origins in the order their data wins, e.g. [\"form\", \"purchased\", \"open\"]"
                    .to_string(),
            );
        }
        if let Some(w) = &self.warmth {
            if let Err(m) = w.validate() {
                problems.push(m);
            }
        }
        if let Some(s) = &self.segments {
            if let Err(m) = s.validate() {
                problems.push(m);
            }
        }
        problems
    }

    /// The phone and time reading these settings ask for (defaults where unset).
    fn normaliser(&self) -> Result<Normaliser, Vec<String>> {
        let mut n = Normaliser::default();
        let mut problems = Vec::new();
        if let Some(region) = &self.default_region {
            match PhoneNormaliser::for_region(region) {
                Some(phone) => n.phone = phone,
                None => problems.push(format!(
                    "normalise.default_region {region:?} is not a known region code (e.g. RU, KZ, BY)"
                )),
            }
        }
        if let Some(off) = &self.naive_time_offset {
            match off.parse::<FixedOffset>() {
                Ok(offset) => n.naive_offset = offset,
                Err(_) => problems.push(format!(
                    "normalise.naive_time_offset {off:?} must look like \"+03:00\""
                )),
            }
        }
        if problems.is_empty() {
            Ok(n)
        } else {
            Err(problems)
        }
    }

    /// What a run that was given these settings stores for later commands.
    pub fn to_meta(&self) -> BTreeMap<&'static str, String> {
        let mut meta = BTreeMap::new();
        if let Some(r) = &self.default_region {
            meta.insert(REGION, r.clone());
        }
        if let Some(o) = &self.naive_time_offset {
            meta.insert(NAIVE_OFFSET, o.clone());
        }
        if let Some(t) = self.threshold {
            meta.insert(THRESHOLD, t.to_string());
        }
        if let Some(order) = &self.origin_priority {
            let order: Vec<&str> = order.iter().map(|o| o.as_str()).collect();
            meta.insert(ORIGIN_PRIORITY, order.join(","));
        }
        if let Some(w) = &self.warmth {
            meta.insert(WARMTH, serde_json::to_string(w).unwrap_or_default());
        }
        if let Some(s) = &self.segments {
            meta.insert(SEGMENTS, serde_json::to_string(s).unwrap_or_default());
        }
        if let Some(lang) = self.lang {
            meta.insert(LANG, lang.as_str().to_string());
        }
        meta
    }

    /// What the base stored. Each stored value is read and checked on its own, by the
    /// rules a pipeline file's value meets; one that no longer reads (hand-edited meta) is
    /// left out with a warning, so its default applies.
    pub fn stored_in(store: &Store) -> Result<GivenSettings, StoreError> {
        let mut stored = GivenSettings::default();
        for key in [
            REGION,
            NAIVE_OFFSET,
            THRESHOLD,
            ORIGIN_PRIORITY,
            WARMTH,
            SEGMENTS,
            LANG,
        ] {
            let Some(raw) = store.meta(key)? else {
                continue;
            };
            match GivenSettings::from_meta(key, &raw).filter(|one| one.problems().is_empty()) {
                Some(one) => stored = one.or(stored),
                None => tracing::warn!(
                    "the base stores a {key} that does not read; the default is used (run a pipeline that sets it to store a good one)"
                ),
            }
        }
        Ok(stored)
    }

    /// The one setting `key` as [`Self::to_meta`] wrote it, or `None` when it does not parse.
    fn from_meta(key: &str, raw: &str) -> Option<GivenSettings> {
        let mut one = GivenSettings::default();
        match key {
            REGION => one.default_region = Some(raw.to_string()),
            NAIVE_OFFSET => one.naive_time_offset = Some(raw.to_string()),
            THRESHOLD => one.threshold = Some(raw.parse().ok()?),
            ORIGIN_PRIORITY => {
                one.origin_priority = Some(
                    raw.split(',')
                        .map(|o| serde_json::from_value(serde_json::Value::String(o.into())).ok())
                        .collect::<Option<_>>()?,
                )
            }
            WARMTH => one.warmth = Some(serde_json::from_str(raw).ok()?),
            SEGMENTS => one.segments = Some(serde_json::from_str(raw).ok()?),
            LANG => one.lang = Some(Lang::parse(raw)?),
            _ => return None,
        }
        Some(one)
    }

    /// Each setting from `self` where given, else from `fallback`.
    pub fn or(self, fallback: GivenSettings) -> GivenSettings {
        GivenSettings {
            default_region: self.default_region.or(fallback.default_region),
            naive_time_offset: self.naive_time_offset.or(fallback.naive_time_offset),
            threshold: self.threshold.or(fallback.threshold),
            origin_priority: self.origin_priority.or(fallback.origin_priority),
            warmth: self.warmth.or(fallback.warmth),
            segments: self.segments.or(fallback.segments),
            lang: self.lang.or(fallback.lang),
        }
    }
}

/// The settings a command works with, every one decided.
#[derive(Debug, Clone)]
pub struct Settings {
    pub normaliser: Normaliser,
    /// Match probability at or above which two records are one lead.
    pub threshold: f64,
    /// Origins in the order their data wins in golden records (`form`, `purchased`, `open`).
    pub origin_priority: Vec<String>,
    pub warmth: WarmthSettings,
    pub segments: SegmentSettings,
    /// Language of people-facing output.
    pub lang: Lang,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            normaliser: Normaliser::default(),
            threshold: DedupeSettings::default().threshold,
            origin_priority: vec!["form".into(), "purchased".into(), "open".into()],
            warmth: WarmthSettings::default(),
            segments: SegmentSettings::default(),
            lang: Lang::default(),
        }
    }
}

impl Settings {
    /// `given` (a pipeline file's settings) over what the base stored, over the defaults;
    /// and what the base stored alone (over the defaults), which a run compares its
    /// settings with (a changed threshold re-clusters every lead).
    pub fn resolve(
        given: &GivenSettings,
        store: &Store,
    ) -> Result<(Settings, Settings), StoreError> {
        let stored = GivenSettings::stored_in(store)?;
        Ok((
            Settings::from_given(given.clone().or(stored.clone())),
            Settings::from_given(stored),
        ))
    }

    /// The moment a user typed (read in this base's zone when it has none), else now.
    pub fn moment(&self, typed: Option<&TypedTime>) -> chrono::DateTime<chrono::Utc> {
        typed.map_or_else(chrono::Utc::now, |t| t.resolve(self))
    }

    /// The base's zone: where people-facing times are shown (and typed times read).
    pub fn zone(&self) -> FixedOffset {
        self.normaliser.naive_offset
    }

    /// For commands given no pipeline file: what the base stored, over the defaults.
    pub fn of_base(store: &Store) -> Result<Settings, StoreError> {
        Ok(Settings::from_given(GivenSettings::stored_in(store)?))
    }

    /// Checked settings (see [`GivenSettings::problems`]) with defaults where unset; an
    /// unreadable value falls back to its default.
    pub fn from_given(given: GivenSettings) -> Settings {
        let defaults = Settings::default();
        Settings {
            normaliser: given.normaliser().unwrap_or_default(),
            threshold: given.threshold.unwrap_or(defaults.threshold),
            origin_priority: given
                .origin_priority
                .map(|o| o.iter().map(|o| o.as_str().to_string()).collect())
                .unwrap_or(defaults.origin_priority),
            warmth: given.warmth.unwrap_or(defaults.warmth),
            segments: given.segments.unwrap_or(defaults.segments),
            lang: given.lang.unwrap_or(defaults.lang),
        }
    }
}

/// A time as a user typed it (`--as-of 23.11.2026`, `--at "2026-11-23 09:00"`). Without a
/// zone it is read in the base's zone (`normalise.naive_time_offset`), as times in the
/// base's files are; so it is kept as typed until the base's settings are known.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedTime {
    text: String,
    /// A date alone means the end of that day (a withdrawal dated today outranks any
    /// consent given earlier today), else its start.
    end_of_day: bool,
}

impl TypedTime {
    /// Checks that `text` reads as a time (`Err` says what would).
    pub fn parse(text: &str, end_of_day: bool) -> Result<TypedTime, String> {
        let typed = TypedTime {
            text: text.to_string(),
            end_of_day,
        };
        match typed.read(FixedOffset::east_opt(0).expect("UTC")) {
            Some(_) => Ok(typed),
            None => Err(format!(
                "{text:?} is not a time; use e.g. 2026-11-23T09:00:00+03:00 or 23.11.2026"
            )),
        }
    }

    /// The moment, a zone-less time read in the zone these settings give.
    pub fn resolve(&self, settings: &Settings) -> chrono::DateTime<chrono::Utc> {
        self.read(settings.normaliser.naive_offset)
            .expect("checked when parsed")
    }

    fn read(&self, offset: FixedOffset) -> Option<chrono::DateTime<chrono::Utc>> {
        use crate::normalise::datetime::{parse_timestamp, parse_timestamp_late};
        if self.end_of_day {
            parse_timestamp_late(&self.text, offset)
        } else {
            parse_timestamp(&self.text, offset)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named_at_once() {
        let given = GivenSettings {
            default_region: Some("XX".into()),
            naive_time_offset: Some("Moscow".into()),
            threshold: Some(1.5),
            origin_priority: Some(Vec::new()),
            ..Default::default()
        };
        let problems = given.problems();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[3].contains("origin_priority is empty"));
        assert!(problems[0].contains("default_region \"XX\""));
        assert!(problems[1].contains("naive_time_offset"));
        assert!(problems[2].contains("dedupe.threshold 1.5"));
    }

    #[test]
    fn given_settings_win_and_unset_ones_fall_back() {
        let given = GivenSettings {
            threshold: Some(0.9),
            ..Default::default()
        };
        let stored = GivenSettings {
            default_region: Some("BY".into()),
            threshold: Some(0.8),
            origin_priority: Some(vec![Origin::Purchased, Origin::Form, Origin::Open]),
            ..Default::default()
        };
        let s = Settings::from_given(given.or(stored));
        assert_eq!(s.threshold, 0.9);
        assert_eq!(s.origin_priority, ["purchased", "form", "open"]);
        let by = s.normaliser.phone.normalise("8 029 765 43 21").unwrap();
        assert_eq!(by.e164.as_deref(), Some("+375297654321"));
    }

    #[test]
    fn a_typed_time_is_read_in_the_bases_zone() {
        let vladivostok = Settings::from_given(GivenSettings {
            naive_time_offset: Some("+10:00".into()),
            ..Default::default()
        });
        let t = TypedTime::parse("2026-11-23 09:00", false).unwrap();
        assert_eq!(
            t.resolve(&vladivostok).to_rfc3339(),
            "2026-11-22T23:00:00+00:00"
        );
        assert_eq!(
            t.resolve(&Settings::default()).to_rfc3339(),
            "2026-11-23T06:00:00+00:00"
        );
        let zoned = TypedTime::parse("2026-11-23T09:00:00+03:00", false).unwrap();
        assert_eq!(
            zoned.resolve(&vladivostok).to_rfc3339(),
            "2026-11-23T06:00:00+00:00"
        );
        let late = TypedTime::parse("23.11.2026", true).unwrap();
        assert!(late.resolve(&vladivostok) > t.resolve(&vladivostok));
        assert!(TypedTime::parse("yesterday", false).is_err());
    }

    /// Every setting given, none at its default.
    fn every_setting_given() -> GivenSettings {
        GivenSettings {
            default_region: Some("KZ".into()),
            naive_time_offset: Some("+05:00".into()),
            threshold: Some(0.97),
            origin_priority: Some(vec![Origin::Open, Origin::Form, Origin::Purchased]),
            warmth: Some(WarmthSettings::default()),
            segments: Some(SegmentSettings {
                sleeping_after_days: 60,
                custom: vec![crate::analysis::segments::CustomSegment {
                    name: "VIP".into(),
                    predicate: "revenue > 100000".into(),
                }],
                ..SegmentSettings::default()
            }),
            lang: Some(Lang::En),
        }
    }

    #[test]
    fn stored_values_read_back_one_by_one_and_bad_ones_are_left_out() {
        let given = every_setting_given();
        let mut read = GivenSettings::default();
        for (key, raw) in given.to_meta() {
            read = GivenSettings::from_meta(key, &raw).unwrap().or(read);
        }
        assert_eq!(read, given);
        for (key, raw) in [
            (THRESHOLD, "high"),
            (ORIGIN_PRIORITY, ""),
            (ORIGIN_PRIORITY, "form,phone"),
            (WARMTH, "{"),
            (SEGMENTS, "{\"lost_after_days\": \"a year\"}"),
            (LANG, "de"),
        ] {
            assert!(
                GivenSettings::from_meta(key, raw).is_none(),
                "{key}={raw:?}"
            );
        }
        for (key, raw) in [(REGION, "XX"), (NAIVE_OFFSET, "Moscow"), (THRESHOLD, "1.5")] {
            let one = GivenSettings::from_meta(key, raw).unwrap();
            assert!(!one.problems().is_empty(), "{key}={raw:?}");
        }
    }

    #[test]
    fn what_is_stored_reads_back_the_same() {
        let given = every_setting_given();
        let meta = given.to_meta();
        assert_eq!(meta.len(), 7);
        assert_eq!(meta[LANG], "en");
        assert_eq!(meta[ORIGIN_PRIORITY], "open,form,purchased");
        assert_eq!(meta[THRESHOLD].parse::<f64>().unwrap(), 0.97);
    }
}
