//! Place filters (`call-list --city`, `--region`): what a user's text stands for. A city is
//! found by its canonical name or any name or abbreviation the gazetteer knows (СПб, Питер,
//! Saint Petersburg), a region by name, short form or code (`RU-MOW`, `MOW`), ignoring case,
//! ё/е and punctuation. Typos are not guessed: a value the gazetteer does not know is
//! matched as written, with a warning that names it (and the closest known name, if any).

use super::cities::CITIES;
use super::index::Hit;
use super::regions::REGIONS;
use super::text::{norm, strip_city_type};

/// Which kind of place a filter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaceKind {
    City,
    Region,
}

impl PlaceKind {
    /// The command-line option that takes it.
    pub fn option(self) -> &'static str {
        match self {
            PlaceKind::City => "--city",
            PlaceKind::Region => "--region",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            PlaceKind::City => "city",
            PlaceKind::Region => "region",
        }
    }
}

/// What one filter value stands for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Wanted {
    /// As the user wrote it.
    pub text: String,
    /// Canonical city names or region codes (`RU-MOW`) it names; empty when the gazetteer
    /// does not know it. A name several towns share stands for them all by that name.
    pub places: Vec<String>,
    /// For an unknown value: why it may have missed (the closest known name, or that it
    /// names the other kind of place).
    pub hint: Option<String>,
}

impl Wanted {
    /// The warning for a value the gazetteer does not know.
    pub fn warning(&self, kind: PlaceKind) -> Option<String> {
        if !self.places.is_empty() {
            return None;
        }
        let mut w = format!(
            "{} {:?}: no such {} in the gazetteer (matched as written)",
            kind.option(),
            self.text,
            kind.noun()
        );
        if let Some(hint) = &self.hint {
            w.push_str("; ");
            w.push_str(hint);
        }
        Some(w)
    }
}

/// Filter values resolved against the gazetteer.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlaceFilter {
    /// What a lead's place must equal for the filter to keep it (see [`place_matches`]):
    /// the canonical names or region codes the values name, and each value as written.
    pub values: Vec<String>,
    /// One line per value the gazetteer does not know.
    pub warnings: Vec<String>,
}

/// Resolves each of `texts` (one filter option's values) with [`resolve_place`].
pub fn resolve_place_filter(kind: PlaceKind, texts: &[String]) -> PlaceFilter {
    let mut filter = PlaceFilter::default();
    for text in texts {
        let wanted = resolve_place(kind, text);
        filter.warnings.extend(wanted.warning(kind));
        for v in wanted.places.into_iter().chain([wanted.text]) {
            if !filter.values.iter().any(|w| norm(w) == norm(&v)) {
                filter.values.push(v);
            }
        }
    }
    filter
}

/// What `text` names as a `kind` of place.
pub fn resolve_place(kind: PlaceKind, text: &str) -> Wanted {
    let (places, hint) = match kind {
        PlaceKind::City => city_places(text),
        PlaceKind::Region => region_places(text),
    };
    Wanted {
        text: text.trim().to_string(),
        places,
        hint,
    }
}

/// True when no value is wanted, or one of a lead's `values` (its canonical and written
/// place, its region code) equals a wanted one, ignoring case, ё/е and punctuation. A
/// region code is also wanted by its part after the country (`MOW` for `RU-MOW`).
pub fn place_matches<'a>(
    wanted: &[String],
    values: impl IntoIterator<Item = Option<&'a str>>,
) -> bool {
    if wanted.is_empty() {
        return true;
    }
    let wanted: Vec<String> = wanted.iter().map(|w| norm(w)).collect();
    values.into_iter().flatten().any(|v| {
        let v = norm(v);
        let after_country = v.strip_prefix("ru ");
        wanted
            .iter()
            .any(|w| *w == v || Some(w.as_str()) == after_country)
    })
}

/// Canonical names for a city text, or a hint why none.
fn city_places(text: &str) -> (Vec<String>, Option<String>) {
    let g = &*CITIES;
    match g.exact(text) {
        Some(Hit::One(i)) => (
            g.places
                .get(i)
                .map(|p| p.city.clone())
                .into_iter()
                .collect(),
            None,
        ),
        // Towns sharing the name: it stands for them all.
        Some(Hit::Ambiguous) => (vec![text.trim().to_string()], None),
        None => {
            let hint = if matches!(REGIONS.exact(text), Some(Hit::One(_))) {
                Some(format!("{:?} is a region: use --region", text.trim()))
            } else {
                let fuzzy = match g.fuzzy(text) {
                    Some(Hit::One(i)) => g.places.get(i).map(|p| p.city.as_str()),
                    _ => None,
                };
                fuzzy
                    .or_else(|| nearest(text, g.places.iter().map(|p| p.city.as_str())))
                    .map(did_you_mean)
            };
            (Vec::new(), hint)
        }
    }
}

/// The region code for a region text (`MOW` read as `RU-MOW`), or a hint why none.
fn region_places(text: &str) -> (Vec<String>, Option<String>) {
    let r = &*REGIONS;
    let bare_code = text.trim();
    let hit = r.exact(text).or_else(|| {
        (bare_code.len() <= 3 && bare_code.chars().all(|c| c.is_ascii_alphabetic()))
            .then(|| r.exact(&format!("RU-{bare_code}")))
            .flatten()
    });
    match hit {
        Some(Hit::One(i)) => (
            r.regions
                .get(i)
                .map(|p| p.code.clone())
                .into_iter()
                .collect(),
            None,
        ),
        Some(Hit::Ambiguous) => (vec![bare_code.to_string()], None),
        None => {
            let hint = if let Some(Hit::One(i)) = CITIES.exact(text) {
                CITIES
                    .places
                    .get(i)
                    .map(|p| format!("{:?} is a city in {}: use --city", p.city, p.region_name))
            } else {
                let fuzzy = match r.fuzzy(text) {
                    Some(Hit::One(i)) => r.regions.get(i).map(|p| p.name.as_str()),
                    _ => None,
                };
                fuzzy
                    .or_else(|| nearest(text, r.regions.iter().map(|p| p.name.as_str())))
                    .map(did_you_mean)
            };
            (Vec::new(), hint)
        }
    }
}

fn did_you_mean(name: &str) -> String {
    format!("did you mean {name:?}?")
}

/// The name closest to `text` within two edits (a quarter of its letters at most), if
/// one is closest.
fn nearest<'a>(text: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let key = norm(text);
    let key = strip_city_type(&key);
    let limit = (key.chars().count() / 4).min(2);
    if limit == 0 {
        return None;
    }
    let mut best: Option<(usize, &str, bool)> = None;
    for name in names {
        let d = strsim::damerau_levenshtein(key, &norm(name));
        match best {
            Some((b, _, _)) if d > b => {}
            Some((b, other, unique)) if d == b => {
                best = Some((b, other, unique && norm(other) == norm(name)));
            }
            _ => best = Some((d, name, true)),
        }
    }
    best.filter(|&(d, _, unique)| d <= limit && unique)
        .map(|(_, name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(kind: PlaceKind, text: &str) -> Vec<String> {
        resolve_place(kind, text).places
    }

    #[test]
    fn a_city_is_found_by_any_name_the_gazetteer_knows() {
        for text in [
            "Санкт-Петербург",
            "санкт петербург",
            "СПб",
            "Питер",
            "Saint Petersburg",
            "г. Санкт-Петербург",
        ] {
            assert_eq!(places(PlaceKind::City, text), ["Санкт-Петербург"], "{text}");
        }
        for text in ["Москва", "МОСКВА", "Moscow", "мск"] {
            assert_eq!(places(PlaceKind::City, text), ["Москва"], "{text}");
        }
        assert_eq!(places(PlaceKind::City, "Орёл"), ["Орел"]);
    }

    #[test]
    fn a_region_is_found_by_name_short_form_or_code() {
        for text in [
            "Москва",
            "moscow",
            "RU-MOW",
            "ru-mow",
            "MOW",
            "mow",
            "г. Москва",
        ] {
            assert_eq!(places(PlaceKind::Region, text), ["RU-MOW"], "{text}");
        }
        for text in ["Свердловская обл.", "Свердловская область", "SVE", "RU-SVE"]
        {
            assert_eq!(places(PlaceKind::Region, text), ["RU-SVE"], "{text}");
        }
    }

    #[test]
    fn unknown_values_warn_with_the_closest_name() {
        let typo = resolve_place(PlaceKind::City, "Санкт-Питербург");
        assert!(typo.places.is_empty());
        assert_eq!(
            typo.warning(PlaceKind::City).as_deref(),
            Some(
                "--city \"Санкт-Питербург\": no such city in the gazetteer (matched as \
                 written); did you mean \"Санкт-Петербург\"?"
            )
        );
        // Two edits away.
        let two = resolve_place(PlaceKind::City, "Новасибирскк ");
        assert_eq!(two.hint.as_deref(), Some("did you mean \"Новосибирск\"?"));
        let nothing = resolve_place(PlaceKind::City, "Атлантида");
        assert!(nothing.places.is_empty());
        assert_eq!(nothing.hint, None);
        let region = resolve_place(PlaceKind::City, "Свердловская обл.");
        assert!(region.hint.is_some_and(|h| h.contains("--region")));
        let city = resolve_place(PlaceKind::Region, "Екатеринбург");
        assert!(city.places.is_empty());
        assert!(city.hint.is_some_and(|h| h.contains("--city")));
        assert_eq!(
            resolve_place(PlaceKind::City, "Москва").warning(PlaceKind::City),
            None
        );
    }

    #[test]
    fn a_filter_keeps_canonical_names_and_what_was_written() {
        let f = resolve_place_filter(
            PlaceKind::City,
            &[
                "СПб".to_string(),
                "Питер".to_string(),
                "Атлантида".to_string(),
            ],
        );
        assert_eq!(f.values, ["Санкт-Петербург", "СПб", "Питер", "Атлантида"]);
        assert_eq!(f.warnings.len(), 1);
        assert!(f.warnings[0].contains("\"Атлантида\""));
    }

    #[test]
    fn matching_ignores_case_yo_punctuation_and_the_country_prefix() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(place_matches(
            &w(&["Санкт-Петербург"]),
            [None, Some("санкт петербург")]
        ));
        assert!(place_matches(&w(&["Орел"]), [Some("Орёл")]));
        assert!(place_matches(&w(&["MOW"]), [Some("RU-MOW")]));
        assert!(!place_matches(&w(&["MOW"]), [Some("RU-MOS")]));
        assert!(!place_matches(
            &w(&["Москва"]),
            [None, Some("Санкт-Петербург")]
        ));
        assert!(place_matches(&[], [None]));
        assert!(!place_matches(&w(&["Москва"]), [None]));
    }
}
