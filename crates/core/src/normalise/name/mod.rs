//! Person names: split a free-text cell (or Фамилия / Имя / Отчество columns)
//! into surname, first name and patronymic, guess gender, and build a
//! script-independent matching key so "Ivan Ivanov" meets "Иванов Иван".
//!
//! Word lists and spelling folds live in `data/names/` so they can be tuned
//! without touching code. Runs on millions of rows: no regex, data parsed once.
//!
//! `data` parses the lists, `tokens` reads a cell into words and initials, `order`
//! decides which word is the surname, first name and patronymic, and `key` builds the
//! matching keys. The tests here hold the whole reading to generated names.

mod data;
mod key;
mod order;
mod tokens;

pub use data::{diminutives, is_known_first_name_key};
pub use key::{first_last_key, fold, name_key, translit};
pub use order::from_parts;
use order::parse_tokens;
pub(crate) use tokens::name_evidence;
use tokens::tokenize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameParts {
    /// Surname, canonical case ("Иванов", "Петрова-Водкина").
    pub last: Option<String>,
    /// First name ("Иван") or an initial ("И.").
    pub first: Option<String>,
    /// Patronymic ("Иванович") or an initial ("И.").
    pub middle: Option<String>,
    pub gender: Option<Gender>,
    /// Sorted, space-joined folded Latin words of all parts; empty if no name.
    pub translit_key: String,
}

/// Parse one free-text full-name cell ("Иванов Иван Иванович",
/// "иван иванович иванов", "ИВАНОВ И.И.", "Ivan Ivanov", "Петрова-Водкина Анна").
pub fn parse_full_name(raw: &str) -> NameParts {
    parse_tokens(&tokenize(raw))
}

#[cfg(test)]
mod tests {
    use super::data::{data_rows, gender_code, FIRST_NAMES, FIRST_NAMES_TSV};
    use super::tokens::is_cyrillic;
    use super::*;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    const SURNAMES_M: &[&str] = &[
        "Иванов",
        "Смирнов",
        "Кузнецов",
        "Попов",
        "Соколов",
        "Лебедев",
        "Козлов",
        "Новиков",
        "Морозов",
        "Соловьёв",
        "Васильев",
        "Зайцев",
        "Семёнов",
        "Ильин",
        "Гусев",
        "Сорокин",
        "Никитин",
        "Щукин",
        "Журавлёв",
        "Калинин",
        "Фомин",
        "Птицын",
        "Чайковский",
        "Вяземский",
        "Трубецкой",
        "Петров-Водкин",
        "Римский-Корсаков",
    ];
    const SURNAMES_F: &[&str] = &[
        "Иванова",
        "Смирнова",
        "Кузнецова",
        "Попова",
        "Соколова",
        "Лебедева",
        "Козлова",
        "Новикова",
        "Морозова",
        "Соловьёва",
        "Васильева",
        "Зайцева",
        "Семёнова",
        "Ильина",
        "Гусева",
        "Сорокина",
        "Никитина",
        "Щукина",
        "Журавлёва",
        "Калинина",
        "Фомина",
        "Птицына",
        "Чайковская",
        "Вяземская",
        "Трубецкая",
        "Петрова-Водкина",
        "Римская-Корсакова",
    ];
    const PATRONYMICS: &[(&str, &str)] = &[
        ("Иванович", "Ивановна"),
        ("Петрович", "Петровна"),
        ("Сергеевич", "Сергеевна"),
        ("Александрович", "Александровна"),
        ("Николаевич", "Николаевна"),
        ("Юрьевич", "Юрьевна"),
        ("Дмитриевич", "Дмитриевна"),
        ("Михайлович", "Михайловна"),
        ("Фёдорович", "Фёдоровна"),
        ("Семёнович", "Семёновна"),
        ("Ильич", "Ильинична"),
        ("Кузьмич", "Кузьминична"),
        ("Никитич", "Никитична"),
        ("Фомич", "Фоминична"),
        ("Лукич", "Лукинична"),
        ("Саввич", "Саввична"),
    ];

    /// Cyrillic dictionary names whose gender is `g` or unisex.
    fn dict_names(g: Gender) -> Vec<&'static str> {
        data_rows(FIRST_NAMES_TSV)
            .map(|r| r[0])
            .filter(|n| n.chars().any(is_cyrillic))
            .filter(|n| {
                FIRST_NAMES
                    .get(name_key(n).as_str())
                    .is_some_and(|e| e.gender.is_none_or(|eg| eg == g))
            })
            .collect()
    }

    static MALE_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| dict_names(Gender::Male));
    static FEMALE_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| dict_names(Gender::Female));

    fn initial(s: &str) -> String {
        let mut out: String = s.chars().take(1).flat_map(char::to_uppercase).collect();
        out.push('.');
        out
    }

    fn display(n: &NameParts) -> String {
        [&n.last, &n.first, &n.middle]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Every dictionary first name, in every supported order, with a few
    /// surnames and patronymics of the matching gender.
    #[test]
    fn every_dictionary_name_in_every_order() {
        let mut fails = Vec::new();
        for female in [false, true] {
            let g = Some(if female { Gender::Female } else { Gender::Male });
            let firsts: &[&str] = if female { &FEMALE_NAMES } else { &MALE_NAMES };
            let lasts = if female { SURNAMES_F } else { SURNAMES_M };
            for &first in firsts {
                for (k, &last) in lasts.iter().enumerate().step_by(9) {
                    let pat = PATRONYMICS[k % PATRONYMICS.len()];
                    let middle = if female { pat.1 } else { pat.0 };
                    let (i1, i2) = (initial(first), initial(middle));
                    let (i1, i2) = (i1.as_str(), i2.as_str());
                    let full = (Some(last), Some(first), Some(middle));
                    let no_mid = (Some(last), Some(first), None);
                    for (raw, want) in [
                        (format!("{last} {first} {middle}"), full),
                        (format!("{first} {middle} {last}"), full),
                        (format!("{last} {first}"), no_mid),
                        (format!("{first} {last}"), no_mid),
                        (
                            format!("{first} {middle}"),
                            (None, Some(first), Some(middle)),
                        ),
                        (format!("{last} {i1}{i2}"), (Some(last), Some(i1), Some(i2))),
                        (
                            format!("{last} {first} {i2}"),
                            (Some(last), Some(first), Some(i2)),
                        ),
                    ] {
                        let n = parse_full_name(&raw);
                        let got = (n.last.as_deref(), n.first.as_deref(), n.middle.as_deref());
                        if got != want || n.gender != g || parse_full_name(&display(&n)) != n {
                            fails.push(format!("{raw:?} -> {got:?} {:?}", n.gender));
                        }
                    }
                }
            }
        }
        for (first, g) in data_rows(FIRST_NAMES_TSV)
            .filter(|r| r[0].is_ascii())
            .map(|r| (r[0], gender_code(r[1])))
        {
            let (last, middle) = match g {
                Some(Gender::Female) => ("Petrova", "Sergeevna"),
                _ => ("Petrov", "Sergeevich"),
            };
            for (raw, want) in [
                (format!("{first} {last}"), (Some(last), Some(first), None)),
                (format!("{last} {first}"), (Some(last), Some(first), None)),
                (
                    format!("{last} {first} {middle}"),
                    (Some(last), Some(first), Some(middle)),
                ),
            ] {
                let n = parse_full_name(&raw);
                let got = (n.last.as_deref(), n.first.as_deref(), n.middle.as_deref());
                if got != want || (g.is_some() && n.gender != g) {
                    fails.push(format!("{raw:?} -> {got:?} {:?}", n.gender));
                }
            }
        }
        assert!(
            fails.is_empty(),
            "{} failures: {:#?}",
            fails.len(),
            &fails[..fails.len().min(30)]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_and_key_is_ascii(s in "\\PC{0,60}", a in ".{0,20}", b in ".{0,20}") {
            for n in [parse_full_name(&s), from_parts(&s, &a, &b), parse_full_name(&a)] {
                let k = &n.translit_key;
                prop_assert!(k.bytes().all(|c| c.is_ascii_lowercase() || c == b' '), "{k:?}");
                prop_assert!(!k.starts_with(' ') && !k.ends_with(' ') && !k.contains("  "));
                let fl = first_last_key(&n);
                prop_assert!(fl.bytes().all(|c| c.is_ascii_lowercase() || c == b' '));
            }
            let t = translit(&s);
            prop_assert!(t.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b' '));
            let _ = fold(&s);
        }

        #[test]
        fn generated_names_parse_and_reparse(
            female in any::<bool>(),
            fi in any::<prop::sample::Index>(),
            si in any::<prop::sample::Index>(),
            pi in any::<prop::sample::Index>(),
            layout in 0usize..9,
            case in 0usize..3,
        ) {
            let g = if female { Gender::Female } else { Gender::Male };
            let firsts: &[&str] = if female { &FEMALE_NAMES } else { &MALE_NAMES };
            let first = *fi.get(firsts);
            let last = *si.get(if female { SURNAMES_F } else { SURNAMES_M });
            let pat = pi.get(PATRONYMICS);
            let middle = if female { pat.1 } else { pat.0 };
            let (i1, i2) = (initial(first), initial(middle));
            let (raw, want) = match layout {
                0 => (format!("{last} {first} {middle}"), (Some(last), Some(first), Some(middle))),
                1 => (format!("{first} {middle} {last}"), (Some(last), Some(first), Some(middle))),
                2 => (format!("{last}, {first}"), (Some(last), Some(first), None)),
                3 => (format!("{first}  {last}"), (Some(last), Some(first), None)),
                4 => (format!("{first} {middle}"), (None, Some(first), Some(middle))),
                5 => (format!("{last} {i1}{i2}"), (Some(last), Some(i1.as_str()), Some(i2.as_str()))),
                6 => (format!("{i1} {i2} {last}"), (Some(last), Some(i1.as_str()), Some(i2.as_str()))),
                7 => (format!("{last} {first} {i2}"), (Some(last), Some(first), Some(i2.as_str()))),
                _ => (format!("г-н {last} {first} {middle}"), (Some(last), Some(first), Some(middle))),
            };
            let raw = match case {
                0 => raw.to_uppercase(),
                1 => raw.to_lowercase(),
                _ => raw,
            };
            let n = parse_full_name(&raw);
            let got = (n.last.as_deref(), n.first.as_deref(), n.middle.as_deref());
            prop_assert_eq!(got, want, "input {:?}", raw);
            prop_assert_eq!(n.gender, Some(g), "input {:?}", raw);
            // Idempotent on its own canonical output.
            prop_assert_eq!(&parse_full_name(&display(&n)), &n);
            prop_assert!(!n.translit_key.is_empty());
        }
    }
}
