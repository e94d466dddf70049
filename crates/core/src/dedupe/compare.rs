//! Field-by-field comparison of two records into discrete agreement levels (what the
//! Fellegi–Sunter model weighs), plus the vetoes that keep hard negatives apart.
//! Everything here is char-based (Cyrillic-safe): names are compared on their Latin keys.
//!
//! Name parts are graded (same / typo / different), not gated: a misspelt first name
//! («Эмиия» for «Эмилия») is weak evidence the model can outweigh with a shared phone and
//! e-mail, while a *different name* (Мария vs Марина, Тимурович vs Денисович) is a veto.
//! What separates the two is [`PartMatch`]; clustering uses the same [`veto`], so a lead
//! can never hold two records that this module calls different people.

use super::MatchRecord;
use strsim::jaro_winkler;

/// Similarity above which two surname keys count as one surname misspelt (Jaro–Winkler
/// rewards a shared beginning, which typos in long surnames keep).
const SURNAME_FUZZY: f64 = 0.92;

/// How two name parts (surname, first name or patronymic keys) relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartMatch {
    /// The same name (for first names: one of the forms agrees, Саша ~ Александр).
    Same,
    /// One side is an initial that fits the other.
    Initial,
    /// Within a typing error of each other, and not two different known names.
    Typo,
    /// Clearly different.
    Clash,
}

/// Are two keys one typing error apart? One edit (insert, delete, substitute, swap) for
/// keys up to 5 letters, two for longer ones: a Cyrillic letter can become two Latin ones
/// (ж → zh), and people mistype long names more. Keys under 4 letters never count: one
/// edit turns Ян into Яна or Ия into Ян.
pub fn typo_close(a: &str, b: &str) -> bool {
    let (la, lb) = (a.len(), b.len());
    if la.min(lb) < 4 {
        return false;
    }
    let allowed = if la.max(lb) <= 5 { 1 } else { 2 };
    let (a, b) = (a.as_bytes(), b.as_bytes());
    la.abs_diff(lb) <= allowed && letters_apart(a, b) <= allowed && osa_distance(a, b) <= allowed
}

/// A lower bound on the edit distance, cheap enough to skip most distances: one edit adds
/// or removes at most one letter of each kind, so the letters one key has and the other
/// lacks (counted with repeats) cannot outnumber the edits.
fn letters_apart(a: &[u8], b: &[u8]) -> usize {
    let mut count = [0i16; 128];
    for &c in a {
        count[usize::from(c & 127)] += 1;
    }
    for &c in b {
        count[usize::from(c & 127)] -= 1;
    }
    let (mut extra, mut missing) = (0i16, 0i16);
    for &c in a.iter().chain(b) {
        let n = &mut count[usize::from(c & 127)];
        if *n > 0 {
            extra += *n;
        } else {
            missing -= *n;
        }
        *n = 0;
    }
    extra.max(missing) as usize
}

/// Optimal string alignment distance on bytes (keys are ASCII), without allocating: this
/// runs for millions of candidate pairs. Keys of 48 bytes or more count as far apart.
fn osa_distance(a: &[u8], b: &[u8]) -> usize {
    const MAX: usize = 48;
    if a.len() >= MAX || b.len() >= MAX {
        // Long company names: never a typo of each other here (and no unbounded table).
        return usize::MAX;
    }
    let (mut two_ago, mut prev, mut cur) = ([0usize; MAX], [0usize; MAX], [0usize; MAX]);
    for (j, p) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *p = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(two_ago[j - 2] + 1);
            }
            cur[j] = d;
        }
        two_ago = prev;
        prev = cur;
    }
    prev[b.len()]
}

/// How two records' names agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameLevel {
    /// Same surname and first name (diminutives and spellings resolved).
    Exact = 0,
    /// Same surname; one first name is an initial that fits the other.
    Initial = 1,
    /// One of surname and first name misspelt, the other the same.
    Fuzzy = 2,
    /// Both misspelt, or a misspelt surname with an initial or no first name.
    Partial = 3,
    /// Same surname, one side has no first name.
    SurnameOnly = 4,
    /// Same first name, one side (or both) has no surname: a form that asked for a first
    /// name only.
    FirstOnly = 5,
    /// Both named, and the names disagree.
    Differ = 6,
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
    /// Within a typing error.
    Typo = 2,
    Differ = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CityLevel {
    Equal = 0,
    Differ = 1,
}

/// Company names compared without their legal form (ООО «Ромашка» ~ Ромашка, ООО ~
/// OOO "Romashka").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyLevel {
    Equal = 0,
    Fuzzy = 1,
    Differ = 2,
}

/// ИНН (valid ones only): equal is strong evidence; different is a veto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InnLevel {
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
    pub company: Option<CompanyLevel>,
    pub inn: Option<InnLevel>,
}

/// Why a pair must never be merged, whatever the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Veto {
    /// Both have full first names and they are different names, not one misspelt (Иван
    /// vs Мария, Мария vs Марина): the family-landline and switchboard cases. A shared
    /// phone alone is not identity.
    FirstNamesDiffer,
    /// Both have full patronymics and they differ (Тимур Денисович and his son Тимур
    /// Тимурович on the home landline).
    PatronymicsDiffer,
    /// Known genders differ.
    GenderDiffers,
    /// Valid ИНН on both sides, and different: different taxpayers.
    InnDiffers,
    /// Two company records (no person named) whose company names clearly differ: firms
    /// sharing a business centre's switchboard.
    CompaniesDiffer,
    /// A company's own record and a person's: the switchboard, the company's ИНН and name
    /// on an employee's row do not make the employee the company (and consent follows the
    /// person, not the firm).
    PersonAndCompany,
    /// A reviewer said they are different people (`match_decisions`).
    ReviewersSaidDifferent,
}

impl Veto {
    /// A code from 1 (0 is "no veto" where a pair's comparison is stored compactly).
    pub fn code(self) -> u8 {
        match self {
            Veto::FirstNamesDiffer => 1,
            Veto::PatronymicsDiffer => 2,
            Veto::GenderDiffers => 3,
            Veto::InnDiffers => 4,
            Veto::CompaniesDiffer => 5,
            Veto::PersonAndCompany => 6,
            Veto::ReviewersSaidDifferent => 7,
        }
    }

    /// The veto of a [`Veto::code`] (`None` for 0 or an unknown code).
    pub fn from_code(code: u8) -> Option<Veto> {
        [
            Veto::FirstNamesDiffer,
            Veto::PatronymicsDiffer,
            Veto::GenderDiffers,
            Veto::InnDiffers,
            Veto::CompaniesDiffer,
            Veto::PersonAndCompany,
            Veto::ReviewersSaidDifferent,
        ]
        .into_iter()
        .find(|v| v.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Veto::FirstNamesDiffer => "first_names_differ",
            Veto::PatronymicsDiffer => "patronymics_differ",
            Veto::GenderDiffers => "gender_differs",
            Veto::InnDiffers => "inn_differs",
            Veto::CompaniesDiffer => "companies_differ",
            Veto::PersonAndCompany => "person_and_company",
            Veto::ReviewersSaidDifferent => "reviewers_said_different",
        }
    }
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

fn surname_part(a: &str, b: &str) -> PartMatch {
    if a == b {
        PartMatch::Same
    } else if typo_close(a, b) || jaro_winkler(a, b) >= SURNAME_FUZZY {
        PartMatch::Typo
    } else {
        PartMatch::Clash
    }
}

/// First names. Two *known* names that are not forms of each other clash even when a
/// letter apart (Мария / Марина, Алена / Елена): a typo rarely lands on another real name,
/// so when both are real names they are two names. A typo is a name that is not known.
pub fn first_part(a: &MatchRecord, b: &MatchRecord) -> Option<PartMatch> {
    let (fa, fb) = (a.first_key.as_deref()?, b.first_key.as_deref()?);
    Some(match (is_initial(fa), is_initial(fb)) {
        (true, true) if fa == fb => PartMatch::Initial,
        (true, true) => PartMatch::Clash,
        (true, false) if initial_fits(fa, fb) => PartMatch::Initial,
        (false, true) if initial_fits(fb, fa) => PartMatch::Initial,
        (true, false) | (false, true) => PartMatch::Clash,
        (false, false) if first_names_compatible(fa, fb) => PartMatch::Same,
        (false, false) if a.first_known && b.first_known => PartMatch::Clash,
        (false, false) => {
            let close = fa
                .split('|')
                .any(|x| fb.split('|').any(|y| typo_close(x, y)));
            if close {
                PartMatch::Typo
            } else {
                PartMatch::Clash
            }
        }
    })
}

/// Patronymics: same, an initial, a typo, or different.
pub fn middle_part(a: &MatchRecord, b: &MatchRecord) -> Option<PartMatch> {
    let (x, y) = (a.middle_key.as_deref()?, b.middle_key.as_deref()?);
    Some(
        if x != y && ((is_initial(x) && y.starts_with(x)) || (is_initial(y) && x.starts_with(y))) {
            PartMatch::Initial
        } else {
            same_or_typo(x, y)
        },
    )
}

/// Two keys: the same, a typo apart, or clearly different.
fn same_or_typo(x: &str, y: &str) -> PartMatch {
    if x == y {
        PartMatch::Same
    } else if typo_close(x, y) {
        PartMatch::Typo
    } else {
        PartMatch::Clash
    }
}

fn company_part(a: &MatchRecord, b: &MatchRecord) -> Option<PartMatch> {
    let (x, y) = (a.company_key.as_deref()?, b.company_key.as_deref()?);
    // Company names are abbreviated or reordered more than misspelt: a typo is the fuzzy
    // level (a similarity score on every pair of firms cost more than it found).
    Some(same_or_typo(x, y))
}

/// The part comparisons both the levels and the vetoes read, made once per pair.
struct Parts {
    /// Surname and first name, read crosswise when one side's two words were taken in the
    /// wrong order (see `crosswise`).
    surname: Option<PartMatch>,
    first: Option<PartMatch>,
    middle: Option<PartMatch>,
    company: Option<PartMatch>,
}

fn parts(a: &MatchRecord, b: &MatchRecord) -> Parts {
    let surname = match (a.last_key.as_deref(), b.last_key.as_deref()) {
        (Some(x), Some(y)) => Some(surname_part(x, y)),
        _ => None,
    };
    let first = first_part(a, b);
    let (surname, first) = match (surname, first) {
        (Some(PartMatch::Clash), _) | (_, Some(PartMatch::Clash)) => {
            crosswise(a, b).unwrap_or((surname, first))
        }
        other => other,
    };
    Parts {
        surname,
        first,
        middle: middle_part(a, b),
        company: company_part(a, b),
    }
}

/// «Judin Mrtyn» read as first name Judin, surname Mrtyn (Latin names usually put the
/// first name first), against «Юдин Мартын»: when one side's first name is not a known
/// name and its two words match the other side's surname and first name crosswise (same
/// or a typo each), the pair is compared that way.
fn crosswise(a: &MatchRecord, b: &MatchRecord) -> Option<(Option<PartMatch>, Option<PartMatch>)> {
    let one_way = |x: &MatchRecord, y: &MatchRecord| {
        let (x_last, x_first) = (x.last_key.as_deref()?, x.first_key.as_deref()?);
        let (y_last, y_first) = (y.last_key.as_deref()?, y.first_key.as_deref()?);
        if x.first_known || x_first.contains('|') || is_initial(x_first) {
            return None;
        }
        let surname = surname_part(x_first, y_last);
        let first = if y_first.split('|').any(|f| f == x_last) {
            PartMatch::Same
        } else if y_first.split('|').any(|f| typo_close(f, x_last)) {
            PartMatch::Typo
        } else {
            PartMatch::Clash
        };
        (surname != PartMatch::Clash && first != PartMatch::Clash)
            .then_some((Some(surname), Some(first)))
    };
    one_way(a, b).or_else(|| one_way(b, a))
}

pub fn compare_names(a: &MatchRecord, b: &MatchRecord) -> Option<NameLevel> {
    let p = parts(a, b);
    names_level(p.surname, p.first)
}

fn names_level(surname: Option<PartMatch>, first: Option<PartMatch>) -> Option<NameLevel> {
    use PartMatch::*;
    let Some(surname) = surname else {
        // No surname on one side: the first names alone, when they are the same name or
        // clearly not (an initial or a misspelling alone is too little to weigh).
        return match first? {
            Same => Some(NameLevel::FirstOnly),
            Clash => Some(NameLevel::Differ),
            Initial | Typo => None,
        };
    };
    Some(match (surname, first) {
        (Clash, _) | (_, Some(Clash)) => NameLevel::Differ,
        (Same, None) => NameLevel::SurnameOnly,
        (Same, Some(Same)) => NameLevel::Exact,
        (Same, Some(Initial)) => NameLevel::Initial,
        (Same, Some(Typo)) | (Typo, Some(Same)) => NameLevel::Fuzzy,
        (Typo, _) => NameLevel::Partial,
        (Initial, _) => NameLevel::Partial, // surnames are never initials
    })
}

pub fn compare(a: &MatchRecord, b: &MatchRecord) -> Comparison {
    compare_with(a, b, &parts(a, b))
}

/// The comparison of a pair and the veto on it, if any, sharing the part comparisons.
pub fn assess(a: &MatchRecord, b: &MatchRecord) -> (Comparison, Option<Veto>) {
    let p = parts(a, b);
    (compare_with(a, b, &p), veto_with(a, b, &p))
}

fn compare_with<'a>(a: &'a MatchRecord, b: &'a MatchRecord, parts: &Parts) -> Comparison {
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
            let fixed = |e: &'a str, alt: &'a Option<String>| alt.as_deref().unwrap_or(e);
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
    let middle = parts.middle.map(|p| match p {
        PartMatch::Same => MiddleLevel::Equal,
        PartMatch::Initial => MiddleLevel::Initial,
        PartMatch::Typo => MiddleLevel::Typo,
        PartMatch::Clash => MiddleLevel::Differ,
    });
    let company = parts.company.map(|p| match p {
        PartMatch::Same => CompanyLevel::Equal,
        PartMatch::Typo | PartMatch::Initial => CompanyLevel::Fuzzy,
        PartMatch::Clash => CompanyLevel::Differ,
    });
    let inn = match (&a.inn, &b.inn) {
        (Some(x), Some(y)) if x == y => Some(InnLevel::Equal),
        (Some(_), Some(_)) => Some(InnLevel::Differ),
        _ => None,
    };
    Comparison {
        name: names_level(parts.surname, parts.first),
        middle,
        phone,
        email,
        city,
        company,
        inn,
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

/// Hard constraints checked before any score: these pairs are different people. The
/// same test guards clusters (`cluster`), so chains of pairs cannot get round it.
pub fn veto(a: &MatchRecord, b: &MatchRecord) -> Option<Veto> {
    veto_with(a, b, &parts(a, b))
}

fn veto_with(a: &MatchRecord, b: &MatchRecord, parts: &Parts) -> Option<Veto> {
    if let (Some(ga), Some(gb)) = (a.gender, b.gender) {
        if ga != gb {
            return Some(Veto::GenderDiffers);
        }
    }
    if let (Some(x), Some(y)) = (&a.inn, &b.inn) {
        if x != y {
            return Some(Veto::InnDiffers);
        }
    }
    let full = |k: &Option<String>| k.as_deref().is_some_and(|k| !is_initial(k));
    if full(&a.first_key) && full(&b.first_key) && parts.first == Some(PartMatch::Clash) {
        return Some(Veto::FirstNamesDiffer);
    }
    if full(&a.middle_key) && full(&b.middle_key) && middle_part(a, b) == Some(PartMatch::Clash) {
        return Some(Veto::PatronymicsDiffer);
    }
    match (a.company_only(), b.company_only()) {
        (true, true) if company_part(a, b) == Some(PartMatch::Clash) => Some(Veto::CompaniesDiffer),
        (true, false) if b.names_person() => Some(Veto::PersonAndCompany),
        (false, true) if a.names_person() => Some(Veto::PersonAndCompany),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veto_codes_read_back() {
        for code in 1..=7 {
            let veto = Veto::from_code(code).expect("a veto per code");
            assert_eq!(veto.code(), code);
        }
        assert_eq!(Veto::from_code(0), None);
        assert_eq!(Veto::from_code(8), None);
    }

    fn rec(last: &str, first: &str, phone: &str, email: &str) -> MatchRecord {
        crate::dedupe::test_record(last, first, phone, email)
    }

    fn with_middle(mut r: MatchRecord, middle: &str) -> MatchRecord {
        r.middle_key = Some(crate::normalise::name::name_key(middle));
        r
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
        let only_first = rec("", "Ваня", "", "");
        assert_eq!(compare_names(&a, &only_first), Some(NameLevel::FirstOnly));
        let g = rec("Смирнова", "Наталия", "", "");
        let h = rec("Смирнова", "Наталья", "", "");
        assert_eq!(compare_names(&g, &h), Some(NameLevel::Exact));
        let i = rec("Петров", "Саша", "", "");
        let j = rec("Петров", "Александр", "", "");
        assert_eq!(compare_names(&i, &j), Some(NameLevel::Exact));
    }

    #[test]
    fn typos_in_any_part_are_graded_not_refused() {
        let a = rec(
            "Никонова",
            "Эмилия",
            "+79066830351",
            "nikonova_e391@list.ru",
        );
        let b = rec("Нконова", "Эмиия", "+79066830351", "nikonova_e391@list.ru");
        assert_eq!(compare_names(&a, &b), Some(NameLevel::Partial));
        assert_eq!(veto(&a, &b), None);
        let c = rec("Гордеева", "Надежда", "", "");
        let d = rec("Гордеева", "Наджда", "", "");
        assert_eq!(compare_names(&c, &d), Some(NameLevel::Fuzzy));
        assert_eq!(veto(&c, &d), None);
        let e = rec("Фролов", "Борис", "", "");
        let f = rec("Фроолв", "Боуис", "", "");
        assert_eq!(compare_names(&e, &f), Some(NameLevel::Partial));
        let g = with_middle(rec("Фролов", "Борис", "", ""), "Гордеевич");
        let h = with_middle(rec("Фролов", "Борис", "", ""), "Гордевич");
        assert_eq!(compare(&g, &h).middle, Some(MiddleLevel::Typo));
        assert_eq!(veto(&g, &h), None);
    }

    #[test]
    fn different_real_names_a_letter_apart_still_clash() {
        for (x, y) in [("Мария", "Марина"), ("Алина", "Алла"), ("Ирина", "Арина")]
        {
            let a = rec("Петрова", x, "+74951234567", "");
            let b = rec("Петрова", y, "+74951234567", "");
            assert_eq!(veto(&a, &b), Some(Veto::FirstNamesDiffer), "{x} / {y}");
            assert_eq!(compare_names(&a, &b), Some(NameLevel::Differ));
        }
    }

    #[test]
    fn father_and_son_are_kept_apart_by_the_patronymic() {
        let father = with_middle(rec("Пономарев", "Тимур", "+74951234567", ""), "Денисович");
        let son = with_middle(rec("Пономарев", "Тимур", "+74951234567", ""), "Тимурович");
        assert_eq!(veto(&father, &son), Some(Veto::PatronymicsDiffer));
        let initial = with_middle(rec("Пономарев", "Тимур", "", ""), "Д.");
        assert_eq!(veto(&father, &initial), None);
        assert_eq!(veto(&son, &initial), None);
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
    fn companies_by_name_and_inn() {
        let company = |name: &str, inn: Option<&str>| {
            let mut r = crate::dedupe::test_record("", "", "+74951234567", "");
            r.last_key = None;
            r.company_key = crate::dedupe::company_match_key(name);
            r.inn = inn.map(str::to_string);
            r
        };
        let a = company("новикова порт", Some("7707083893"));
        let b = company("Новикова Порт", None);
        let c = company("novikova port", None);
        assert_eq!(compare(&a, &b).company, Some(CompanyLevel::Equal));
        assert_eq!(compare(&a, &c).company, Some(CompanyLevel::Equal));
        let other = company("вектор", None);
        assert_eq!(veto(&a, &other), Some(Veto::CompaniesDiffer));
        let other_inn = company("новикова порт", Some("7736050003"));
        assert_eq!(veto(&a, &other_inn), Some(Veto::InnDiffers));
        let employee = rec("Антонов", "Евстафий", "+74951234567", "");
        assert_eq!(veto(&a, &employee), Some(Veto::PersonAndCompany));
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

    proptest::proptest! {
        /// The allocation-free distance is the textbook one, and the letter count never
        /// says two keys are further apart than they are.
        #[test]
        fn osa_distance_is_strsims(a in "[a-e]{0,20}", b in "[a-e]{0,20}") {
            let d = strsim::osa_distance(&a, &b);
            proptest::prop_assert_eq!(osa_distance(a.as_bytes(), b.as_bytes()), d);
            proptest::prop_assert!(letters_apart(a.as_bytes(), b.as_bytes()) <= d);
        }
    }

    #[test]
    fn typo_distance_scales_with_length() {
        assert!(typo_close("boris", "bouis"));
        assert!(!typo_close("ian", "iana"));
        assert!(typo_close("emilia", "emiia"));
        assert!(!typo_close("denisovich", "timurovich"));
        assert!(typo_close("nikonova", "nkonova"));
    }
}
