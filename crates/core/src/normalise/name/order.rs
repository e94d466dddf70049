//! Which word is which: the ФИО layout of a cell (surname, first name, patronymic in any
//! of the usual orders, or initials) chosen by scoring every reading, and the same from
//! separate Фамилия / Имя / Отчество columns.

use super::key::{build_key, key_of_tokens};
use super::tokens::{tokenize, Token};
use super::{Gender, NameParts};

/// More words than this in one cell is prose, not a name; the rest is ignored
/// so the order search stays tiny.
const MAX_WORDS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Lfm,
    Fml,
    Lf,
    Fl,
    Fm,
    Other,
}

/// Order preference. The usual orders differ by less than 10 so they only
/// break ties between readings that fit the words equally well.
fn prior(shape: Shape, latin: bool) -> i32 {
    match (shape, latin) {
        (Shape::Lfm, false) | (Shape::Fml, true) => 9,
        (Shape::Lf, false) | (Shape::Fl, true) => 8,
        (Shape::Fm, _) => 7,
        (Shape::Fml, false) | (Shape::Lfm, true) => 6,
        (Shape::Fl, false) | (Shape::Lf, true) => 5,
        // Patronymic before the first name, or a surname between them, is not
        // a Russian order: "Бабич Ольга" is surname + name, not name + "Бабич".
        (Shape::Other, _) => -50,
    }
}

/// How well "words[f] is the first name, words[m] the patronymic, the rest
/// the surname" fits. Word evidence is in multiples of 10 and independent of
/// position, so re-parsing canonical output picks the same reading.
fn score(words: &[&Token], f: usize, m: Option<usize>, latin: bool) -> i32 {
    let tf = words[f];
    let mut s = 0;
    if tf.first.is_some() {
        s += 30;
    }
    if tf.patronymic.is_some() {
        s -= 30;
    }
    if let Some(m) = m {
        let tm = words[m];
        s += if tm.patronymic.is_some() { 30 } else { -10 };
        if tm.first.is_some() {
            s -= 10;
        }
        if let (Some(g1), Some(g2)) = (tf.first.and_then(|e| e.gender), tm.patronymic) {
            s += if g1 == g2 { 10 } else { -10 };
        }
    }
    let (mut l_count, mut l_first, mut l_last) = (0usize, None, 0usize);
    for (i, t) in words.iter().enumerate() {
        if i == f || Some(i) == m {
            continue;
        }
        l_count += 1;
        l_first.get_or_insert(i);
        l_last = i;
        if t.first.is_some() {
            s -= 20;
        }
        if t.patronymic.is_some() {
            s -= 10;
        }
        if t.surname.is_some() {
            s += 10;
        }
    }
    match l_first {
        None => s -= 10,
        Some(l0) => {
            s -= 20 * (l_count as i32 - 1);
            if l_last - l0 + 1 != l_count {
                s -= 20; // surname split around the first name
            }
        }
    }
    let shape = match (m, l_first) {
        (Some(m), Some(l)) if l < f && f < m => Shape::Lfm,
        (Some(m), Some(l)) if f < m && m < l => Shape::Fml,
        (Some(m), None) if f < m => Shape::Fm,
        (None, Some(l)) if l < f => Shape::Lf,
        (None, Some(_)) => Shape::Fl,
        _ => Shape::Other,
    };
    s + prior(shape, latin)
}

/// Best (first, patronymic) word indexes; every other word is surname.
fn best_reading(words: &[&Token], latin: bool) -> (usize, Option<usize>) {
    let n = words.len();
    let mut best = (i32::MIN, 0, None);
    for f in 0..n {
        for m in std::iter::once(None).chain((0..n).filter(|&i| i != f).map(Some)) {
            let s = score(words, f, m, latin);
            if s > best.0 {
                best = (s, f, m);
            }
        }
    }
    (best.1, best.2)
}

fn join_display<'a>(tokens: impl Iterator<Item = &'a Token>) -> Option<String> {
    let mut out = String::new();
    for t in tokens {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t.display);
    }
    (!out.is_empty()).then_some(out)
}

fn gender_of(last: &[&Token], first: Option<&Token>, middle: Option<&Token>) -> Option<Gender> {
    middle
        .and_then(|t| t.patronymic)
        .or_else(|| first.and_then(|t| t.first).and_then(|e| e.gender))
        .or_else(|| last.iter().rev().find_map(|t| t.surname))
}

pub(super) fn parse_tokens(tokens: &[Token]) -> NameParts {
    let words: Vec<&Token> = tokens
        .iter()
        .filter(|t| !t.initial)
        .take(MAX_WORDS)
        .collect();
    let mut initials = tokens.iter().filter(|t| t.initial);
    let has_initials = tokens.iter().any(|t| t.initial);
    let latin = !tokens.iter().any(|t| t.cyrillic);

    let mut last: Vec<&Token> = Vec::with_capacity(2);
    let (mut first, mut middle) = (None, None);
    match words.len() {
        0 => {}
        // "Иванов И.И." — a lone word next to initials is the surname.
        1 if has_initials || words[0].first.is_none() => last.push(words[0]),
        1 => first = Some(words[0]),
        _ => {
            let (f, m) = best_reading(&words, latin);
            first = Some(words[f]);
            middle = m.map(|m| words[m]);
            // Only the first run of leftover words is the surname; a stray
            // word after the name ("…, менеджер") is not.
            let mut prev: Option<usize> = None;
            for (i, t) in words.iter().enumerate() {
                if i == f || Some(i) == m {
                    continue;
                }
                if prev.is_some_and(|p| i != p + 1) {
                    break;
                }
                last.push(*t);
                prev = Some(i);
            }
        }
    }
    if first.is_none() {
        first = initials.next();
    }
    if middle.is_none() {
        middle = initials.next();
    }
    NameParts {
        last: join_display(last.iter().copied()),
        first: first.map(|t| t.display.clone()),
        middle: middle.map(|t| t.display.clone()),
        gender: gender_of(&last, first, middle),
        translit_key: key_of_tokens(&last, first, middle),
    }
}

/// Build from separate Фамилия / Имя / Отчество columns; any may be empty.
/// Display keeps ё as typed (canonical case); the key folds ё to е.
pub fn from_parts(last: &str, first: &str, middle: &str) -> NameParts {
    let mut lt = tokenize(last);
    let mut ft = tokenize(first);
    let mut mt = tokenize(middle);
    // Фамилия and Имя swapped (a vendor's columns mislabelled, or filled the other way
    // round): a known first name in the surname column and a word that is not one in the
    // first-name column trade places.
    // A surname is never an initial either: «С.» / «Баранова» are swapped too.
    if let ([l], [f]) = (lt.as_slice(), ft.as_slice()) {
        if !f.initial && f.first.is_none() && (l.initial || l.first.is_some()) {
            std::mem::swap(&mut lt, &mut ft);
        }
    }
    let looks_like_full = |ts: &[Token]| {
        ts.len() >= 2
            && ts
                .iter()
                .any(|t| t.initial || t.first.is_some() || t.patronymic.is_some())
    };
    // Whole name typed into one column.
    if ft.is_empty() && mt.is_empty() && looks_like_full(&lt) {
        return parse_tokens(&lt);
    }
    if lt.is_empty() && mt.is_empty() && looks_like_full(&ft) {
        return parse_tokens(&ft);
    }
    // "Иван Иванович" / "Иван И." in the Имя column.
    if mt.is_empty() && ft.len() == 2 && (ft[1].initial || ft[1].patronymic.is_some()) {
        mt.extend(ft.pop());
    }
    let last_words: Vec<&Token> = lt.iter().collect();
    let first_tok = ft.first().filter(|t| !t.initial);
    let middle_tok = mt.first().filter(|t| !t.initial);
    let mut parts = NameParts {
        last: join_display(lt.iter()),
        first: join_display(ft.iter()),
        middle: join_display(mt.iter()),
        gender: gender_of(&last_words, first_tok, middle_tok),
        translit_key: String::new(),
    };
    parts.translit_key = build_key(&parts, true);
    parts
}

#[cfg(test)]
mod tests {
    use super::super::parse_full_name;
    use super::*;

    #[test]
    fn swapped_surname_and_first_name_columns_are_put_right() {
        let p = from_parts("Маргарита", "Денисова", "Борисовна");
        assert_eq!(p.last.as_deref(), Some("Денисова"));
        assert_eq!(p.first.as_deref(), Some("Маргарита"));
        let p = from_parts("Sergei", "Lebedev", "");
        assert_eq!(p.last.as_deref(), Some("Lebedev"));
        // A surname that is not a first name stays where it is.
        let p = from_parts("Петров", "Иван", "");
        assert_eq!(p.last.as_deref(), Some("Петров"));
        let p = from_parts("С.", "Баранова", "С.");
        assert_eq!(p.last.as_deref(), Some("Баранова"));
        assert_eq!(p.first.as_deref(), Some("С."));
    }

    /// "last | first | middle | gender" with empty slots, for compact tables.
    fn show(n: &NameParts) -> String {
        let g = match n.gender {
            Some(Gender::Male) => "m",
            Some(Gender::Female) => "f",
            None => "",
        };
        let part = |p: &Option<String>| p.clone().unwrap_or_default();
        format!(
            "{} | {} | {} | {g}",
            part(&n.last),
            part(&n.first),
            part(&n.middle)
        )
    }

    #[test]
    fn orders_and_forms() {
        #[rustfmt::skip]
        let cases: &[(&str, &str)] = &[
            ("Иванов Иван Иванович", "Иванов | Иван | Иванович | m"),
            ("иван иванович иванов", "Иванов | Иван | Иванович | m"),
            ("ИВАНОВ ИВАН ИВАНОВИЧ", "Иванов | Иван | Иванович | m"),
            ("  Иванов ,  Иван,,Иванович ", "Иванов | Иван | Иванович | m"),
            ("Петров Сергей", "Петров | Сергей |  | m"),
            ("Анна Петрова", "Петрова | Анна |  | f"),
            ("Иван Петрович", " | Иван | Петрович | m"),
            ("Петрович Иван Сергеевич", "Петрович | Иван | Сергеевич | m"),
            ("Иван Сергеевич Петрович", "Петрович | Иван | Сергеевич | m"),
            ("ИВАНОВ И.И.", "Иванов | И. | И. | m"),
            ("Иванов И. И.", "Иванов | И. | И. | m"),
            ("Иванов И И", "Иванов | И. | И. | m"),
            ("И.И. Иванов", "Иванов | И. | И. | m"),
            ("И.И.Иванов", "Иванов | И. | И. | m"),
            ("Иванова Е.В.", "Иванова | Е. | В. | f"),
            ("Иванов Иван И.", "Иванов | Иван | И. | m"),
            ("Ivan Ivanov", "Ivanov | Ivan |  | m"),
            ("Ivanov Ivan", "Ivanov | Ivan |  | m"),
            ("IVANOV IVAN", "Ivanov | Ivan |  | m"),
            ("Ivan Ivanovich Ivanov", "Ivanov | Ivan | Ivanovich | m"),
            ("Ivanova Natalya Sergeevna", "Ivanova | Natalya | Sergeevna | f"),
            ("Aristarkh Smirnov", "Smirnov | Aristarkh |  | m"),
            ("Smirnov Aristarkh", "Smirnov | Aristarkh |  | m"),
            ("Ким Ли", "Ким | Ли |  | "),
            ("Петрова-Водкина Анна", "Петрова-Водкина | Анна |  | f"),
            ("петрова-водкина анна сергеевна", "Петрова-Водкина | Анна | Сергеевна | f"),
            ("Семёнова Алёна Петровна", "Семёнова | Алёна | Петровна | f"),
            ("Мария Ильинична Ульянова", "Ульянова | Мария | Ильинична | f"),
            ("Минина Ольга Кузьминична", "Минина | Ольга | Кузьминична | f"),
            ("Ульянов Владимир Ильич", "Ульянов | Владимир | Ильич | m"),
            ("Мамедов Али Гусейн оглы", "Мамедов | Али | Гусейн оглы | m"),
            ("Алиева Лейла Гусейн кызы", "Алиева | Лейла | Гусейн кызы | f"),
            ("Саша Иванова", "Иванова | Саша |  | f"),
            ("Женя Петров", "Петров | Женя |  | m"),
            ("Лебедь Мария", "Лебедь | Мария |  | f"),
            ("г-н Иванов Иван", "Иванов | Иван |  | m"),
            ("Г-жа Петрова Анна", "Петрова | Анна |  | f"),
            ("Mr. Ivan Ivanov", "Ivanov | Ivan |  | m"),
            ("тов. Петров", "Петров |  |  | m"),
            ("Иванов Иван 89161234567 ivan@mail.ru", "Иванов | Иван |  | m"),
            ("Иванов", "Иванов |  |  | m"),
            ("Ольга", " | Ольга |  | f"),
            ("Юрий", " | Юрий |  | m"),
            ("Иванов (Иван)", "Иванов | Иван |  | m"),
            ("Ivanov I.I.", "Ivanov | I. | I. | m"),
            ("Anna Petrova-Vodkina", "Petrova-Vodkina | Anna |  | f"),
            ("Семенов Петр", "Семенов | Петр |  | m"),
            // -ич surnames are not patronymics when they come before the name.
            ("Бабич Ольга", "Бабич | Ольга |  | f"),
            ("Лукашевич Олег", "Лукашевич | Олег |  | m"),
            ("Лукашевич Олег Петрович", "Лукашевич | Олег | Петрович | m"),
            ("Иван Иванов Иванович", "Иванов | Иван | Иванович | m"),
            ("ИП Иванов Иван Иванович", "Иванов | Иван | Иванович | m"),
            ("Иванов Иван Иванович, менеджер", "Иванов | Иван | Иванович | m"),
            ("Иванов Иван Иванович проверка", "Иванов | Иван | Иванович | m"),
        ];
        for (raw, want) in cases {
            assert_eq!(show(&parse_full_name(raw)), *want, "input {raw:?}");
        }
    }

    #[test]
    fn empty_and_junk() {
        for raw in ["", "   ", ",,,", "123 456", "ivan@mail.ru", "-", "...", "—"] {
            assert_eq!(parse_full_name(raw), NameParts::default(), "input {raw:?}");
        }
        assert_eq!(from_parts("", "", ""), NameParts::default());
    }

    #[test]
    fn from_parts_cases() {
        #[rustfmt::skip]
        let cases: &[((&str, &str, &str), &str)] = &[
            (("ИВАНОВ", "иван", "иванович"), "Иванов | Иван | Иванович | m"),
            // ё kept for display, folded in the key (checked below).
            (("Семёнова", "алёна", ""), "Семёнова | Алёна |  | f"),
            (("петрова-водкина", "анна", ""), "Петрова-Водкина | Анна |  | f"),
            // Patronymic or initial typed into the Имя column.
            (("Петрова", "Анна Сергеевна", ""), "Петрова | Анна | Сергеевна | f"),
            (("Петров", "Иван С.", ""), "Петров | Иван | С. | m"),
            (("Иванов", "и", "И."), "Иванов | И. | И. | m"),
            (("", "Иван", ""), " | Иван |  | m"),
            (("", "", "Петровна"), " |  | Петровна | f"),
            // Whole name typed into one column.
            (("Иванов Иван Иванович", "", ""), "Иванов | Иван | Иванович | m"),
            (("", "Ivan Ivanov", ""), "Ivanov | Ivan |  | m"),
            (("Иванов И.И.", "", ""), "Иванов | И. | И. | m"),
            // …but a two-word surname alone stays a surname.
            (("Петрова Водкина", "", ""), "Петрова Водкина |  |  | f"),
            // Patronymic beats the first-name dictionary and the surname.
            (("Иванова", "Женя", "Петрович"), "Иванова | Женя | Петрович | m"),
            (("Кузнец", "", ""), "Кузнец |  |  | "),
            (("г-н Иванов", "Иван 1", ""), "Иванов | Иван |  | m"),
        ];
        for ((l, f, m), want) in cases {
            assert_eq!(show(&from_parts(l, f, m)), *want, "input {l:?} {f:?} {m:?}");
        }
        assert_eq!(
            from_parts("ИВАНОВ", "иван", "иванович"),
            parse_full_name("Иванов Иван Иванович")
        );
        assert_eq!(
            from_parts("Семёнова", "алёна", "").translit_key,
            "alena semenova"
        );
    }
}
