//! Match keys: what deduplication knows of a record, computed once per record (while
//! normalising for new records, from the Arrow columns for the base's): Latin name keys with
//! every form of the first name, the city's canonical key, the company without its legal
//! form, and the ИНН that is the subject's own.

use crate::memo::{self, cached};
use crate::normalise::name::{self, Gender};
use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::sync::LazyLock;

thread_local! {
    // Surnames, first names and cities repeat across a list: their keys are computed
    // once per thread (see `memo`; ~8% of a 1M-row import's CPU before).
    static NAME_KEYS: RefCell<memo::Table<Option<String>>> = RefCell::new(memo::Table::default());
    static FIRST_NAME_KEYS: RefCell<memo::Table<Option<(String, bool)>>> =
        RefCell::new(memo::Table::default());
    static COMPANY_KEYS: RefCell<memo::Table<Option<String>>> =
        RefCell::new(memo::Table::default());
    static CITY_KEYS: RefCell<memo::Table<Option<String>>> = RefCell::new(memo::Table::default());
}

/// One record as deduplication sees it: match keys only, precomputed once.
#[derive(Debug, Clone, Default)]
pub struct MatchRecord {
    pub record_id: i64,
    /// The lead this record already belongs to (from an earlier run), if any.
    pub lead_id: Option<i64>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    /// The e-mail with its typo domain corrected, when it has one.
    pub email_alt: Option<String>,
    pub last_key: Option<String>,
    /// Folded Latin keys of every form of the first name, `|`-joined and sorted
    /// (Саша → "aleksandr|aleksandra|sasha"); a single letter for an initial.
    pub first_key: Option<String>,
    /// The first name is a known name (or a form of one), not a misspelling: two known
    /// names that differ are two people even a letter apart (Мария / Марина).
    pub first_known: bool,
    pub middle_key: Option<String>,
    pub gender: Option<Gender>,
    pub city_key: Option<String>,
    /// Company name without its legal form, as a Latin key (ООО «Ромашка», Romashka LLC
    /// → "romashka").
    pub company_key: Option<String>,
    /// ИНН that identifies this subject, when it passed its check digits: a person's own
    /// (12 digits), or a company record's. A company's 10-digit ИНН on a person's row
    /// names their employer, not them, and is left out (colleagues share it).
    pub inn: Option<String>,
}

impl MatchRecord {
    /// A company's own record: a company named and no person.
    pub fn company_only(&self) -> bool {
        self.company_key.is_some() && !self.names_person()
    }

    /// The record names a person (a surname or a first name).
    pub fn names_person(&self) -> bool {
        self.last_key.is_some() || self.first_key.is_some()
    }
}

/// The ИНН a record may be matched on: a valid one that is the subject's own. A 12-digit
/// ИНН on the row of a person who names an employer may be the employer's (an ИП's), so
/// it counts only on the ИП's own row or when no employer is named; 10-digit ones are
/// kept for company records only (`MatchRecord::from_fields`).
pub fn own_inn<'a>(
    inn: Option<&'a str>,
    valid: bool,
    has_company: bool,
    subject_type: Option<&str>,
) -> Option<&'a str> {
    inn.filter(|i| valid && (i.len() != 12 || !has_company || subject_type == Some("sole_trader")))
}

/// Matching key of a company name already stripped of its legal form (`company_key` of
/// `records`): transliterated and spelling-folded like person names, so Cyrillic and
/// Latin spellings of one firm meet.
pub fn company_match_key(company_key: &str) -> Option<String> {
    cached(&COMPANY_KEYS, company_key, |k| {
        Some(name::name_key(k)).filter(|k| !k.is_empty())
    })
}

/// Everyday name forms → full names (data/names/diminutives.tsv), by folded key.
static DIMINUTIVES: LazyLock<HashMap<String, Vec<String>>> = LazyLock::new(|| {
    let mut map: HashMap<String, Vec<String>> = HashMap::default();
    for (form, fulls) in name::diminutives() {
        let form = name::name_key(form);
        for full in fulls {
            let full = name::name_key(full);
            if !full.is_empty() && !form.is_empty() {
                map.entry(form.clone()).or_default().push(full);
            }
        }
    }
    map
});

/// The first-name key (every form, `|`-joined) and whether any form is a known name.
fn first_name_key(first: &str) -> Option<(String, bool)> {
    let trimmed = first.trim().trim_end_matches('.');
    let key = name::name_key(trimmed);
    if key.is_empty() {
        return None;
    }
    if trimmed.chars().count() == 1 {
        return key.chars().next().map(|c| (c.to_string(), false));
    }
    let mut forms = vec![key.clone()];
    if let Some(fulls) = DIMINUTIVES.get(&key) {
        forms.extend(fulls.iter().cloned());
    }
    forms.sort();
    forms.dedup();
    let known = forms.iter().any(|f| name::is_known_first_name_key(f));
    Some((forms.join("|"), known))
}

/// City key: the gazetteer's canonical name when it knows the place (СПб, Питер and
/// Санкт-Петербург are one city), else the folded text without the "г." prefix.
pub fn city_key(city: &str) -> Option<String> {
    if let Some(place) = crate::enrich::gazetteer::lookup_city(city) {
        return Some(name::fold(&place.city));
    }
    let folded = name::fold(city);
    let trimmed = folded
        .trim()
        .trim_start_matches("город ")
        .trim_start_matches("г.")
        .trim_start_matches("г ")
        .trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

impl MatchRecord {
    #[allow(clippy::too_many_arguments)]
    pub fn from_fields(
        record_id: i64,
        lead_id: Option<i64>,
        phones: Vec<String>,
        email: Option<String>,
        email_alt: Option<String>,
        last: Option<&str>,
        first: Option<&str>,
        middle: Option<&str>,
        gender: Option<&str>,
        city: Option<&str>,
        company_key: Option<&str>,
        inn: Option<&str>,
    ) -> MatchRecord {
        let key = |s: Option<&str>| {
            s.and_then(|s| {
                cached(&NAME_KEYS, s, |s| {
                    Some(name::name_key(s)).filter(|k| !k.is_empty())
                })
            })
        };
        // A patronymic initial keys as one letter, like a first-name initial: «Ю.» is
        // "iu" letter for letter, and would read as a different patronymic.
        let middle_key = |s: Option<&str>| {
            let k = key(s)?;
            match s.map(|s| s.trim().trim_end_matches('.').chars().count()) {
                Some(1) => k.chars().next().map(String::from),
                _ => Some(k),
            }
        };
        let first = first.and_then(|f| cached(&FIRST_NAME_KEYS, f, first_name_key));
        let first_known = first.as_ref().is_some_and(|f| f.1);
        let mut r = MatchRecord {
            record_id,
            lead_id,
            phones,
            email,
            email_alt,
            last_key: key(last),
            first_key: first.map(|f| f.0),
            first_known,
            middle_key: middle_key(middle),
            gender: match gender {
                Some("male") => Some(Gender::Male),
                Some("female") => Some(Gender::Female),
                _ => None,
            },
            city_key: city.and_then(|c| cached(&CITY_KEYS, c, city_key)),
            company_key: company_key.and_then(company_match_key),
            inn: None,
        };
        r.inn = inn
            .filter(|i| i.len() == 12 || r.company_only())
            .map(str::to_string);
        r
    }

    /// Match keys of a clean record that has no lead yet.
    pub fn from_clean(record_id: i64, r: &crate::record::CleanRecord) -> MatchRecord {
        let mut phones: Vec<String> = r.phone_e164.iter().cloned().collect();
        phones.extend(r.phones_extra.iter().cloned());
        MatchRecord::from_fields(
            record_id,
            None,
            phones,
            r.email.clone(),
            r.email_suggestion.clone(),
            r.last_name.as_deref(),
            r.first_name.as_deref(),
            r.middle_name.as_deref(),
            r.gender.as_deref(),
            r.city.as_deref(),
            r.enriched.company_key.as_deref(),
            own_inn(
                r.inn.as_deref(),
                r.enriched.inn_valid == Some(true),
                r.enriched.company_key.is_some(),
                r.enriched.subject_type.as_deref(),
            ),
        )
    }

    /// The value term-frequency adjustment counts: surname + main first-name form.
    pub fn name_value(&self) -> Option<String> {
        let first = self.first_key.as_deref()?;
        if first.len() <= 1 {
            return None;
        }
        Some(format!("{}|{}", self.last_key.as_deref()?, first))
    }
}
