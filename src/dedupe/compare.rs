//! Field-by-field comparison of two records into discrete agreement levels (what the
//! Fellegi–Sunter model weighs), plus the vetoes that keep hard negatives apart.
//! Everything here is char-based (Cyrillic-safe): names are compared on their Latin keys.

use super::MatchRecord;
use strsim::jaro_winkler;

/// Similarity above which two surname keys count as the same, allowing a typo.
const SURNAME_FUZZY: f64 = 0.92;
/// Similarity below which two full first names are different people's names.
const FIRST_NAME_CLASH: f64 = 0.85;

/// How two records' names agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameLevel {
    /// Same surname and first name (diminutives and spellings resolved).
    Exact = 0,
    /// Same surname; one first name is an initial that fits the other.
    Initial = 1,
    /// Surname within a typo; first names compatible.
    Fuzzy = 2,
    /// Same surname, one side has no first name.
    SurnameOnly = 3,
    /// Both named, and the names disagree.
    Differ = 4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneLevel {
    Equal = 0,
    Differ = 1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailLevel {
    Equal = 0,
    /// Equal once a typo domain is corrected (ivanov@mial.ru ~ ivanov@mail.ru), or the
    /// same mailbox name at domains a typo or two apart.
    Typo = 1,
    Differ = 2,
}

/// Patronymics: a strong tie-breaker between namesakes (Иван Петрович vs Иван Сергеевич).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MiddleLevel {
    Equal = 0,
    /// One is an initial that fits the other.
    Initial = 1,
    Differ = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CityLevel {
    Equal = 0,
    Differ = 1,
}

/// The comparison vector of one pair; `None` where either side lacks the field (no
/// evidence either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Comparison {
    pub name: Option<NameLevel>,
    pub middle: Option<MiddleLevel>,
    pub phone: Option<PhoneLevel>,
    pub email: Option<EmailLevel>,
    pub city: Option<CityLevel>,
}

/// Why a pair must never be merged, whatever the score.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Veto {
    /// Both have full first names and they are different names (Иван vs Мария): the
    /// family-landline and company-switchboard cases. A shared phone alone is not identity.
    FirstNamesDiffer,
    /// Known genders differ.
    GenderDiffers,
}

/// Are two first-name keys the same name? Keys hold every canonical form, `|`-separated
/// (Саша → "aleksandr|aleksandra|sasha"), so this is a set intersection.
pub fn first_names_compatible(a: &str, b: &str) -> bool {
    a.split('|').any(|x| b.split('|').any(|y| x == y))
}

fn is_initial(k: &str) -> bool {
    k.len() == 1
}

fn initial_fits(initial: &str, full: &str) -> bool {
    full.split('|').any(|f| f.starts_with(initial))
}

pub fn compare_names(a: &MatchRecord, b: &MatchRecord) -> Option<NameLevel> {
    let (la, lb) = (a.last_key.as_deref()?, b.last_key.as_deref()?);
    let same_surname = la == lb;
    let close_surname = same_surname || jaro_winkler(la, lb) >= SURNAME_FUZZY;
    let level = match (a.first_key.as_deref(), b.first_key.as_deref()) {
        (None, None) | (None, Some(_)) | (Some(_), None) => {
            if same_surname {
                NameLevel::SurnameOnly
            } else if close_surname {
                NameLevel::Fuzzy
            } else {
                NameLevel::Differ
            }
        }
        (Some(fa), Some(fb)) => {
            let initials = is_initial(fa) || is_initial(fb);
            let fits = if is_initial(fa) && is_initial(fb) {
                fa == fb
            } else if is_initial(fa) {
                initial_fits(fa, fb)
            } else if is_initial(fb) {
                initial_fits(fb, fa)
            } else {
                first_names_compatible(fa, fb)
            };
            match (same_surname, close_surname, fits, initials) {
                (true, _, true, false) => NameLevel::Exact,
                (true, _, true, true) => NameLevel::Initial,
                (false, true, true, _) => NameLevel::Fuzzy,
                _ => NameLevel::Differ,
            }
        }
    };
    Some(level)
}

pub fn compare(a: &MatchRecord, b: &MatchRecord) -> Comparison {
    let phone = if a.phones.is_empty() || b.phones.is_empty() {
        None
    } else if a.phones.iter().any(|p| b.phones.contains(p)) {
        Some(PhoneLevel::Equal)
    } else {
        Some(PhoneLevel::Differ)
    };
    let email = match (&a.email, &b.email) {
        (Some(x), Some(y)) if x == y => Some(EmailLevel::Equal),
        (Some(x), Some(y)) => {
            let fixed = |e: &str, alt: &Option<String>| alt.as_deref().unwrap_or(e).to_string();
            if fixed(x, &a.email_alt) == fixed(y, &b.email_alt) || same_mailbox(x, y) {
                Some(EmailLevel::Typo)
            } else {
                Some(EmailLevel::Differ)
            }
        }
        _ => None,
    };
    let city = match (&a.city_key, &b.city_key) {
        (Some(x), Some(y)) if x == y => Some(CityLevel::Equal),
        (Some(_), Some(_)) => Some(CityLevel::Differ),
        _ => None,
    };
    let middle = match (a.middle_key.as_deref(), b.middle_key.as_deref()) {
        (Some(x), Some(y)) if x == y => Some(MiddleLevel::Equal),
        (Some(x), Some(y))
            if (x.len() == 1 && y.starts_with(x)) || (y.len() == 1 && x.starts_with(y)) =>
        {
            Some(MiddleLevel::Initial)
        }
        (Some(_), Some(_)) => Some(MiddleLevel::Differ),
        _ => None,
    };
    Comparison {
        name: compare_names(a, b),
        middle,
        phone,
        email,
        city,
    }
}

/// Same local part (at least 4 chars, so `info@` and `a@` do not count) at domains at most
/// two edits apart: `ivanov@mail.ru` and `ivanov@mail.ry`.
fn same_mailbox(x: &str, y: &str) -> bool {
    match (x.split_once('@'), y.split_once('@')) {
        (Some((lx, dx)), Some((ly, dy))) => {
            lx == ly && lx.chars().count() >= 4 && strsim::damerau_levenshtein(dx, dy) <= 2
        }
        _ => false,
    }
}

/// Hard constraints checked before any score: these pairs are different people.
pub fn veto(a: &MatchRecord, b: &MatchRecord) -> Option<Veto> {
    if let (Some(ga), Some(gb)) = (a.gender, b.gender) {
        if ga != gb {
            return Some(Veto::GenderDiffers);
        }
    }
    if let (Some(fa), Some(fb)) = (a.first_key.as_deref(), b.first_key.as_deref()) {
        if !is_initial(fa)
            && !is_initial(fb)
            && !first_names_compatible(fa, fb)
            && max_similarity(fa, fb) < FIRST_NAME_CLASH
        {
            return Some(Veto::FirstNamesDiffer);
        }
    }
    None
}

fn max_similarity(a: &str, b: &str) -> f64 {
    a.split('|')
        .flat_map(|x| b.split('|').map(move |y| jaro_winkler(x, y)))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(last: &str, first: &str, phone: &str, email: &str) -> MatchRecord {
        crate::dedupe::test_record(last, first, phone, email)
    }

    #[test]
    fn names_across_scripts_and_diminutives() {
        let a = rec("Петров", "Иван", "", "");
        let b = rec("Petrov", "Ivan", "", "");
        assert_eq!(compare_names(&a, &b), Some(NameLevel::Exact));
        let c = rec("Петров", "Ваня", "", "");
        assert_eq!(compare_names(&a, &c), Some(NameLevel::Exact));
        let d = rec("Петров", "И.", "", "");
        assert_eq!(compare_names(&a, &d), Some(NameLevel::Initial));
        let e = rec("Петрвов", "Иван", "", "");
        assert_eq!(compare_names(&a, &e), Some(NameLevel::Fuzzy));
        let f = rec("Наталия", "", "", "");
        assert_eq!(compare_names(&a, &f), Some(NameLevel::Differ));
        let g = rec("Смирнова", "Наталия", "", "");
        let h = rec("Смирнова", "Наталья", "", "");
        assert_eq!(compare_names(&g, &h), Some(NameLevel::Exact));
        let i = rec("Петров", "Саша", "", "");
        let j = rec("Петров", "Александр", "", "");
        assert_eq!(compare_names(&i, &j), Some(NameLevel::Exact));
    }

    #[test]
    fn family_landline_is_vetoed() {
        let ivan = rec("Петров", "Иван", "+74951234567", "");
        let maria = rec("Петрова", "Мария", "+74951234567", "");
        assert_eq!(compare(&ivan, &maria).phone, Some(PhoneLevel::Equal));
        assert!(veto(&ivan, &maria).is_some());
        let ivan2 = rec("Петров", "Ivan", "+74951234567", "");
        assert_eq!(veto(&ivan, &ivan2), None);
    }

    #[test]
    fn email_typo_equivalence() {
        let mut a = rec("Иванов", "Иван", "", "ivanov@mial.ru");
        a.email_alt = Some("ivanov@mail.ru".into());
        let b = rec("Иванов", "Иван", "", "ivanov@mail.ru");
        assert_eq!(compare(&a, &b).email, Some(EmailLevel::Typo));
        let c = rec("Иванов", "Иван", "", "other@mail.ru");
        assert_eq!(compare(&a, &c).email, Some(EmailLevel::Differ));
    }
}
