//! Company names and registration numbers: the legal form, a name key for
//! matching, and ИНН / ОГРН checksums.
//!
//! Legal forms live in `data/enrich/legal_forms.tsv` (`canonical<TAB>variant`),
//! embedded at compile time.

use std::collections::HashMap;
use std::sync::LazyLock;

const LEGAL_FORMS_TSV: &str = include_str!("../../data/enrich/legal_forms.tsv");

/// Variants are at most this many words ("федеральное государственное
/// бюджетное образовательное учреждение" is 5); checked by the data test.
const MAX_FORM_WORDS: usize = 6;

/// Forms are stripped from both ends at most this often ("ИП глава КФХ ...").
const MAX_FORMS_STRIPPED: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CompanyInfo {
    /// Canonical short form ("ООО", "АО", "ИП", ...), if one was found at
    /// either end of the name.
    pub legal_form: Option<String>,
    /// Lowercase, ё→е, quotes and legal forms removed, punctuation other
    /// than `-`, `&`, `+` read as spaces, whitespace collapsed.
    pub name_normalised: String,
    /// ИП / индивидуальный предприниматель.
    pub is_sole_trader: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum InnKind {
    /// 10 digits: an organisation.
    Legal,
    /// 12 digits: a person (incl. sole traders).
    Person,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum OgrnKind {
    /// ОГРН, 13 digits.
    Legal,
    /// ОГРНИП, 15 digits.
    SoleTrader,
}

/// Split a company name into legal form and normalised name. `None` when
/// nothing but punctuation and spaces is left.
pub fn parse_company(raw: &str) -> Option<CompanyInfo> {
    let words = words(raw);
    if words.is_empty() {
        return None;
    }
    let forms = &*LEGAL_FORMS;
    // Folded once; the matcher only slices it.
    let folded: Vec<String> = words
        .iter()
        .map(|w| w.chars().map(fold_lookalike).collect())
        .collect();
    let mut buf = String::new();
    let mut start = 0;
    let mut end = words.len();
    let mut found: Vec<&'static str> = Vec::new();
    // Prefix first: "ООО Ромашка" is far commoner than "Ромашка ООО".
    for _ in 0..MAX_FORMS_STRIPPED {
        let rest = folded.get(start..end).unwrap_or_default();
        let (form, n, at_start) = match forms.match_prefix(rest, &mut buf) {
            Some((form, n)) => (form, n, true),
            None => match forms.match_suffix(rest, &mut buf) {
                Some((form, n)) => (form, n, false),
                None => break,
            },
        };
        // A second form must leave a name: in "ООО НП" the НП is the name.
        if !found.is_empty() && n >= rest.len() {
            break;
        }
        found.push(form);
        if at_start {
            start += n;
        } else {
            end -= n;
        }
    }
    let legal_form = found.first().map(|f| (*f).to_owned());
    Some(CompanyInfo {
        is_sole_trader: found.contains(&"ИП"),
        legal_form,
        name_normalised: words.get(start..end).unwrap_or_default().join(" "),
    })
}

/// Stems of legal forms written out in words (общество, предприятие …), lower case.
const SPELLED_OUT_FORMS: [&str; 7] = [
    "обществ",
    "товарищ",
    "предприят",
    "учрежден",
    "кооператив",
    "хозяйств",
    "фонд",
];

/// Could this text carry a legal form? A cheap test before [`parse_company`] on cells that
/// are usually person names: forms are short capitalised abbreviations (ООО, ПАО, LLC),
/// quoted names, or spelled out (общество, предприятие, учреждение …).
pub fn may_name_a_company(s: &str) -> bool {
    if s.contains(['"', '«', '»', '“', '”', '„']) {
        return true;
    }
    let abbreviation = s
        .split(|c: char| !is_letter(c))
        .any(|w| (2..=6).contains(&w.chars().count()) && w.chars().all(is_capital));
    abbreviation || {
        // Only А–Я lower into the words looked for, so only they are lowered.
        let lower: String = s
            .chars()
            .map(|c| match c {
                'А'..='Я' => char::from_u32(c as u32 + 0x20).unwrap_or(c),
                c => c,
            })
            .collect();
        SPELLED_OUT_FORMS.iter().any(|w| lower.contains(w))
    }
}

// `char::is_alphabetic` and `char::is_uppercase` look Cyrillic up in Unicode's tables (3 %
// of an import's CPU, this test runs on every name cell); the Russian alphabet is answered
// first. The tests compare both with the standard library over every char.
fn is_letter(c: char) -> bool {
    matches!(c, 'А'..='я' | 'Ё' | 'ё') || c.is_alphabetic()
}

fn is_capital(c: char) -> bool {
    match c {
        'А'..='Я' | 'Ё' => true,
        'а'..='я' | 'ё' => false,
        c => c.is_uppercase(),
    }
}

/// Check an ИНН: 10 digits (organisation) or 12 (person), with the ФНС
/// check digits. Surrounding whitespace is ignored.
pub fn validate_inn(s: &str) -> Result<InnKind, String> {
    const W10: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

    let d = digits(s, "ИНН")?;
    if d.iter().all(|&x| x == 0) {
        return Err("ИНН is all zeros".to_owned());
    }
    match d.len() {
        10 => {
            check_digit("ИНН", &d, &W10, 9)?;
            Ok(InnKind::Legal)
        }
        12 => {
            check_digit("ИНН", &d, &W11, 10)?;
            check_digit("ИНН", &d, &W12, 11)?;
            Ok(InnKind::Person)
        }
        n => Err(format!("ИНН has {n} digits, expected 10 or 12")),
    }
}

/// Check an ОГРН (13 digits, starts with 1 or 5) or ОГРНИП (15 digits,
/// starts with 3): the last digit is the rest as a number mod 11 (mod 13 for
/// ОГРНИП), mod 10.
pub fn validate_ogrn(s: &str) -> Result<OgrnKind, String> {
    let d = digits(s, "ОГРН")?;
    let (kind, modulus, first_ok) = match d.len() {
        13 => (OgrnKind::Legal, 11, matches!(d[0], 1 | 5)),
        15 => (OgrnKind::SoleTrader, 13, d[0] == 3),
        n => return Err(format!("ОГРН has {n} digits, expected 13 or 15")),
    };
    if !first_ok {
        return Err(format!(
            "ОГРН of {} digits cannot start with {}",
            d.len(),
            d[0]
        ));
    }
    let (body, check) = d.split_at(d.len() - 1);
    // At most 14 digits: fits u64 with room to spare.
    let number = body.iter().fold(0u64, |acc, &x| acc * 10 + u64::from(x));
    let expected = (number % modulus) % 10;
    if check.first().map(|&c| u64::from(c)) == Some(expected) {
        Ok(kind)
    } else {
        Err(format!("ОГРН check digit mismatch (expected {expected})"))
    }
}

/// Digits of a trimmed number string, or why it is not one.
fn digits(s: &str, what: &str) -> Result<Vec<u8>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("{what} is empty"));
    }
    // Longest valid number is 15 digits; don't walk megabytes of junk.
    if t.len() > 32 {
        return Err(format!("{what} is too long"));
    }
    t.bytes()
        .map(|b| {
            if b.is_ascii_digit() {
                Ok(b - b'0')
            } else {
                Err(format!("{what} must contain only digits"))
            }
        })
        .collect()
}

fn check_digit(what: &str, d: &[u8], weights: &[u32], pos: usize) -> Result<(), String> {
    let sum: u32 = d.iter().zip(weights).map(|(&x, &w)| u32::from(x) * w).sum();
    let expected = (sum % 11) % 10;
    match d.get(pos) {
        Some(&actual) if u32::from(actual) == expected => Ok(()),
        _ => Err(format!(
            "{what} check digit {} mismatch (expected {expected})",
            pos + 1
        )),
    }
}

// --- names --------------------------------------------------------------------

/// Lowercased, ё-folded words; quotes and punctuation split words.
fn words(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_letter = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let keep = if c.is_alphanumeric() || matches!(c, '-' | '&' | '+') {
            Some(c)
        } else if matches!(c, '\'' | '’' | 'ʼ') {
            // An apostrophe inside a word (O'Key) is dropped; as a quote it
            // splits like any other.
            let next_letter = chars.peek().is_some_and(|n| n.is_alphabetic());
            if prev_letter && next_letter {
                prev_letter = false;
                continue;
            }
            None
        } else {
            None
        };
        match keep {
            Some(c) => {
                for l in c.to_lowercase() {
                    cur.push(if l == 'ё' { 'е' } else { l });
                }
                prev_letter = c.is_alphabetic();
            }
            None => {
                flush_word(&mut cur, &mut out);
                prev_letter = false;
            }
        }
    }
    flush_word(&mut cur, &mut out);
    out
}

fn flush_word(cur: &mut String, out: &mut Vec<String>) {
    // Lone dashes are separators ("Ромашка - ООО"), not words.
    if !cur.is_empty() && !cur.chars().all(|c| c == '-') {
        out.push(std::mem::take(cur));
    }
    cur.clear();
}

/// Join already-folded words into `buf` (reused: this runs per row).
fn join_into<'b>(words: &[String], buf: &'b mut String) -> &'b str {
    buf.clear();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            buf.push(' ');
        }
        buf.push_str(w);
    }
    buf
}

/// Matching key of a word run: Latin look-alikes folded to Cyrillic, so a
/// Latin-typed "OOO" or "AO" matches.
fn form_key(words: &[String]) -> String {
    let folded: Vec<String> = words
        .iter()
        .map(|w| w.chars().map(fold_lookalike).collect())
        .collect();
    folded.join(" ")
}

fn fold_lookalike(c: char) -> char {
    match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        _ => c,
    }
}

struct LegalForms {
    /// form_key(variant words) -> canonical.
    by_key: HashMap<String, &'static str>,
    /// Word counts that occur, longest first.
    lengths: Vec<usize>,
}

impl LegalForms {
    /// Longest form that makes up the first words of `folded`.
    fn match_prefix(&self, folded: &[String], buf: &mut String) -> Option<(&'static str, usize)> {
        self.lengths.iter().find_map(|&n| {
            let head = folded.get(..n)?;
            self.by_key.get(join_into(head, buf)).map(|f| (*f, n))
        })
    }

    /// Longest form that makes up the last words of `folded`.
    fn match_suffix(&self, folded: &[String], buf: &mut String) -> Option<(&'static str, usize)> {
        self.lengths.iter().find_map(|&n| {
            let tail = folded.get(folded.len().checked_sub(n)?..)?;
            self.by_key.get(join_into(tail, buf)).map(|f| (*f, n))
        })
    }
}

static LEGAL_FORMS: LazyLock<LegalForms> = LazyLock::new(|| {
    let mut by_key = HashMap::new();
    let mut lengths = Vec::new();
    for (canonical, variant) in legal_form_lines() {
        let w = words(variant);
        if w.is_empty() || w.len() > MAX_FORM_WORDS {
            continue; // rejected by the data test
        }
        if !lengths.contains(&w.len()) {
            lengths.push(w.len());
        }
        by_key.insert(form_key(&w), canonical);
    }
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    LegalForms { by_key, lengths }
});

/// `(canonical, variant)` pairs; malformed lines are skipped (the data test
/// rejects them).
fn legal_form_lines() -> impl Iterator<Item = (&'static str, &'static str)> {
    LEGAL_FORMS_TSV
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(c, v)| (c.trim(), v.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn the_fast_letter_tests_agree_with_the_standard_library_on_every_char() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(is_letter(c), c.is_alphabetic(), "{c:?}");
            assert_eq!(is_capital(c), c.is_uppercase(), "{c:?}");
        }
    }

    /// The test as it was, with the whole text lowered by the standard library.
    fn may_name_a_company_reference(s: &str) -> bool {
        if s.contains(['"', '«', '»', '“', '”', '„']) {
            return true;
        }
        let lower = s.to_lowercase();
        s.split(|c: char| !c.is_alphabetic())
            .any(|w| (2..=6).contains(&w.chars().count()) && w.chars().all(char::is_uppercase))
            || SPELLED_OUT_FORMS.iter().any(|w| lower.contains(w))
    }

    proptest! {
        #[test]
        fn may_name_a_company_answers_as_the_standard_library_would(
            s in "[А-ЯЁа-яёA-Za-z \"«İẞΣ0-9-]{0,40}|(ОБЩЕСТВО|Товарищество|ФОНД|ооо|İİ|Ёж) [А-Яа-я]{0,12}"
        ) {
            prop_assert_eq!(may_name_a_company(&s), may_name_a_company_reference(&s));
        }
    }

    fn info(form: Option<&str>, name: &str, sole: bool) -> CompanyInfo {
        CompanyInfo {
            legal_form: form.map(str::to_owned),
            name_normalised: name.to_owned(),
            is_sole_trader: sole,
        }
    }

    #[test]
    fn company_names() {
        let cases: &[(&str, Option<&str>, &str, bool)] = &[
            ("ООО \"Ромашка\"", Some("ООО"), "ромашка", false),
            ("ООО «Ромашка»", Some("ООО"), "ромашка", false),
            ("ооо ромашка", Some("ООО"), "ромашка", false),
            ("ООО\"Ромашка\"", Some("ООО"), "ромашка", false),
            ("О.О.О. „Ромашка“", Some("ООО"), "ромашка", false),
            ("OOO Romashka", Some("ООО"), "romashka", false), // Latin O's
            ("Romashka LLC", Some("ООО"), "romashka", false),
            ("Ромашка, ООО", Some("ООО"), "ромашка", false),
            ("«Ромашка» ООО", Some("ООО"), "ромашка", false),
            (
                "Общество с ограниченной ответственностью «Рога и копыта»",
                Some("ООО"),
                "рога и копыта",
                false,
            ),
            (
                "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ЁЛКИ-ПАЛКИ\"",
                Some("ООО"),
                "елки-палки",
                false,
            ),
            ("АО «Вектор»", Some("АО"), "вектор", false),
            (
                "Акционерное общество \"Вектор\"",
                Some("АО"),
                "вектор",
                false,
            ),
            ("ПАО Сбербанк", Some("ПАО"), "сбербанк", false),
            (
                "Публичное акционерное общество «Сбербанк России»",
                Some("ПАО"),
                "сбербанк россии",
                false,
            ),
            ("ЗАО 'Стройинвест'", Some("ЗАО"), "стройинвест", false),
            ("ОАО РЖД", Some("ОАО"), "ржд", false),
            ("ИП Петров Иван", Some("ИП"), "петров иван", true),
            ("ИП Сидоров", Some("ИП"), "сидоров", true),
            (
                "Индивидуальный предприниматель Петров Иван Иванович",
                Some("ИП"),
                "петров иван иванович",
                true,
            ),
            ("Петров И.И. ИП", Some("ИП"), "петров и и", true),
            ("ИП глава КФХ Иванов", Some("ИП"), "иванов", true),
            ("Глава К(Ф)Х Иванов И.И.", Some("КФХ"), "иванов и и", false),
            ("ФГУП «Почта России»", Some("ФГУП"), "почта россии", false),
            ("МУП Водоканал", Some("МУП"), "водоканал", false),
            (
                "АНО ДПО «Учебный центр»",
                Some("АНО"),
                "дпо учебный центр",
                false,
            ),
            ("ТСЖ \"Наш дом\"", Some("ТСЖ"), "наш дом", false),
            ("Ромашка", None, "ромашка", false),
            ("  Рога   и\tкопыта  ", None, "рога и копыта", false),
            ("O'Key", None, "okey", false),
            ("Магазин Ёлочка", None, "магазин елочка", false),
            ("Johnson & Johnson", None, "johnson & johnson", false),
            ("ООО", Some("ООО"), "", false),
            ("ООО НП", Some("ООО"), "нп", false),
            // A form in the middle is part of the name.
            ("Дом ООО Мир", None, "дом ооо мир", false),
        ];
        let mut failures = Vec::new();
        for &(raw, form, name, sole) in cases {
            let got = parse_company(raw);
            let want = info(form, name, sole);
            if got.as_ref() != Some(&want) {
                failures.push(format!("{raw:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn empty_names() {
        for raw in ["", "   ", "\"\"", "«»", " - ", "..."] {
            assert_eq!(parse_company(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn inn_checksums() {
        let cases: &[(&str, Result<InnKind, ()>)] = &[
            ("7707083893", Ok(InnKind::Legal)), // Сбербанк
            ("7736050003", Ok(InnKind::Legal)),
            ("7812014560", Ok(InnKind::Legal)),
            ("500100732259", Ok(InnKind::Person)),
            (" 7707083893 ", Ok(InnKind::Legal)),
            ("7707083894", Err(())), // last digit changed
            ("7707083803", Err(())), // a middle digit changed
            ("7736050004", Err(())),
            ("500100732258", Err(())), // 12th digit changed
            ("500100732269", Err(())), // 11th digit changed
            ("500100732250", Err(())),
            ("0000000000", Err(())),
            ("000000000000", Err(())),
            ("770708389", Err(())),
            ("77070838931", Err(())),
            ("7707-083893", Err(())),
            ("7707 083893", Err(())),
            ("77O7083893", Err(())), // Latin O
            ("", Err(())),
            ("   ", Err(())),
            ("７７０７０８３８９３", Err(())), // full-width digits
        ];
        for &(s, want) in cases {
            assert_eq!(validate_inn(s).map_err(|_| ()), want, "{s:?}");
        }
    }

    #[test]
    fn ogrn_checksums() {
        let cases: &[(&str, Result<OgrnKind, ()>)] = &[
            ("1027700132195", Ok(OgrnKind::Legal)), // Сбербанк
            ("1027739642281", Ok(OgrnKind::Legal)),
            ("304500116000157", Ok(OgrnKind::SoleTrader)),
            ("311774600100904", Ok(OgrnKind::SoleTrader)),
            (" 1027700132195\t", Ok(OgrnKind::Legal)),
            ("1027700132196", Err(())), // check digit changed
            ("1027700142195", Err(())), // a middle digit changed
            ("1027739642282", Err(())),
            ("304500116000158", Err(())),
            ("304500116000257", Err(())),
            ("3027700132195", Err(())), // 13 digits must start with 1 or 5
            ("104500116000157", Err(())), // 15 digits must start with 3
            ("102770013219", Err(())),
            ("10277001321950", Err(())),
            ("1027700132195a", Err(())),
            ("", Err(())),
        ];
        for &(s, want) in cases {
            assert_eq!(validate_ogrn(s).map_err(|_| ()), want, "{s:?}");
        }
    }

    #[test]
    fn error_messages_say_why() {
        let msg = validate_inn("7707083894").unwrap_err();
        assert!(msg.contains("check digit"), "{msg}");
        let msg = validate_inn("123").unwrap_err();
        assert!(msg.contains("3 digits"), "{msg}");
        let msg = validate_ogrn("x").unwrap_err();
        assert!(msg.contains("only digits"), "{msg}");
    }

    #[test]
    fn legal_forms_data_is_clean() {
        let mut seen = HashSet::new();
        let mut canonicals = HashSet::new();
        let mut count = 0;
        for line in LEGAL_FORMS_TSV.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            count += 1;
            let Some((canonical, variant)) = line.split_once('\t') else {
                panic!("no tab in {line:?}");
            };
            assert!(!variant.contains('\t'), "extra column in {line:?}");
            let w = words(variant);
            assert!(!w.is_empty(), "empty variant in {line:?}");
            assert!(w.len() <= MAX_FORM_WORDS, "too long: {line:?}");
            assert!(
                seen.insert(form_key(&w)),
                "duplicate variant (after folding) {variant:?}"
            );
            assert!(
                canonical
                    .chars()
                    .all(|c| ('А'..='Я').contains(&c) || c == 'Ё'),
                "canonical must be upper-case Cyrillic: {canonical:?}"
            );
            canonicals.insert(canonical);
        }
        assert_eq!(LEGAL_FORMS.by_key.len(), count, "a line was skipped");
        // Short forms too ambiguous to match on their own ("ПК" = computer).
        const LONG_ONLY: [&str; 1] = ["ПК"];
        for c in canonicals.into_iter().filter(|c| !LONG_ONLY.contains(c)) {
            // Every canonical form is also a variant of itself.
            let w = words(c);
            assert_eq!(LEGAL_FORMS.by_key.get(&form_key(&w)), Some(&c), "{c}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse_company(&s);
            let _ = validate_inn(&s);
            let _ = validate_ogrn(&s);
        }

        #[test]
        fn digit_strings_never_panic(s in "[0-9 ]{0,20}") {
            let _ = validate_inn(&s);
            let _ = validate_ogrn(&s);
        }

        /// Any legal form in front of a quoted name gives that form and the
        /// bare name.
        #[test]
        fn form_prefix_is_stripped(
            form in prop::sample::select(vec!["ООО", "АО", "ПАО", "ЗАО", "ОАО", "ИП", "АНО", "МУП"]),
            // 4+ letters: a random word is then almost never a form itself.
            name in "[А-Яа-я]{4,10}( [А-Яа-я]{4,10}){0,2}",
        ) {
            let got = parse_company(&format!("{form} «{name}»"));
            prop_assert!(got.is_some());
            if let Some(info) = got {
                prop_assert_eq!(info.legal_form.as_deref(), Some(form));
                prop_assert_eq!(info.is_sole_trader, form == "ИП");
                let words: Vec<String> = words(&name);
                prop_assert!(info.name_normalised.ends_with(&words[words.len() - 1]));
            }
        }

        /// A valid 10-digit ИНН built from random digits always validates,
        /// and changing its check digit always fails.
        #[test]
        fn generated_inn10(body in prop::collection::vec(0u8..10, 9)) {
            prop_assume!(body.iter().any(|&d| d != 0));
            let w = [2u32, 4, 10, 3, 5, 9, 4, 6, 8];
            let sum: u32 = body.iter().zip(w).map(|(&d, w)| u32::from(d) * w).sum();
            let check = (sum % 11) % 10;
            let s: String = body.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert_eq!(validate_inn(&format!("{s}{check}")), Ok(InnKind::Legal));
            let wrong = (check + 1) % 10;
            let bad = format!("{s}{wrong}");
            prop_assert!(validate_inn(&bad).is_err());
        }

        /// Same for ОГРН.
        #[test]
        fn generated_ogrn(rest in 0u64..100_000_000_000) {
            let body = 100_000_000_000 + rest; // 12 digits starting with 1
            let check = (body % 11) % 10;
            prop_assert_eq!(validate_ogrn(&format!("{body}{check}")), Ok(OgrnKind::Legal));
            let bad = format!("{body}{}", (check + 1) % 10);
            prop_assert!(validate_ogrn(&bad).is_err());
        }
    }
}
