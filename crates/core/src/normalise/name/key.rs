//! Matching keys: names folded into one Latin alphabet (transliteration, ё → е, the
//! spelling folds of `key_fold.tsv`) so "Ivan Ivanov" meets "Иванов Иван", and the sorted
//! key of a whole name.

use super::data::{Anchor, FIRST_NAMES, KEY_FOLD, TRANSLIT};
use super::tokens::Token;
use super::NameParts;

/// Lowercase + ё→е for one char, with fast paths for ASCII and Cyrillic.
#[inline]
fn fold_char(c: char, mut emit: impl FnMut(char)) {
    match c {
        'a'..='z' | 'а'..='я' => emit(c),
        'A'..='Z' => emit(c.to_ascii_lowercase()),
        'ё' | 'Ё' => emit('е'),
        _ => {
            for l in c.to_lowercase() {
                emit(if l == 'ё' { 'е' } else { l });
            }
        }
    }
}

/// ё/е folding + lowercase, for comparison keys.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char(c, |l| out.push(l));
    }
    out
}

/// What one folded char contributes to the Latin key alphabet.
enum KeyChar {
    Latin(&'static str),
    Ascii(u8),
    /// Letter with no Latin form (ь, ъ, apostrophe, other scripts): skip.
    Drop,
    /// Anything else splits words.
    Break,
}

#[inline]
fn key_char(l: char) -> KeyChar {
    if l.is_ascii_lowercase() {
        return KeyChar::Ascii(l as u8);
    }
    let idx = (l as u32).wrapping_sub(0x400) as usize;
    if let Some(Some(latin)) = TRANSLIT.get(idx) {
        return KeyChar::Latin(latin);
    }
    if l.is_alphabetic() || matches!(l, '\'' | '’' | 'ʼ' | '`' | '\u{0300}'..='\u{036f}') {
        KeyChar::Drop
    } else {
        KeyChar::Break
    }
}

/// Transliterate Cyrillic to the Latin key alphabet (lowercase) — exposed for
/// dedupe. ASCII letters and digits pass through, ё reads as е, any other run
/// of non-letters becomes one space. No spelling folds (see [`name_key`]).
pub fn translit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut pending_space = false;
    for c in s.chars() {
        fold_char(c, |l| {
            let mut emit = |piece: &str| {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push_str(piece);
            };
            match key_char(l) {
                KeyChar::Latin("") | KeyChar::Drop => {}
                KeyChar::Latin(t) => emit(t),
                KeyChar::Ascii(b) => emit(char::from(b).encode_utf8(&mut [0; 4])),
                KeyChar::Break if l.is_ascii_digit() => emit(l.encode_utf8(&mut [0; 4])),
                KeyChar::Break => pending_space = !out.is_empty(),
            }
        });
    }
    out
}

/// Apply the key_fold.tsv rules to one lowercase ASCII word.
fn fold_word_into(word: &[u8], out: &mut String) {
    let rules = &*KEY_FOLD;
    let mut i = 0;
    'pos: while i < word.len() {
        let b = word[i];
        if let Some(bucket) = rules.get(usize::from(b)) {
            for r in bucket {
                let end = i + r.pat.len();
                let anchored = match r.anchor {
                    Anchor::Any => true,
                    Anchor::Start => i == 0,
                    Anchor::End => end == word.len(),
                };
                if anchored && word.get(i..end) == Some(r.pat) {
                    out.push_str(r.rep);
                    i = end;
                    continue 'pos;
                }
            }
        }
        out.push(char::from(b));
        i += 1;
    }
}

/// Append the folded key words of `s` to `out`, space-separated.
/// `word` is scratch space, reused to avoid per-word allocation.
pub(super) fn push_key(s: &str, out: &mut String, word: &mut Vec<u8>) {
    word.clear();
    let flush = |word: &mut Vec<u8>, out: &mut String| {
        if !word.is_empty() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            fold_word_into(word, out);
            word.clear();
        }
    };
    for c in s.chars() {
        let mut brk = false;
        fold_char(c, |l| match key_char(l) {
            KeyChar::Latin(t) => word.extend_from_slice(t.as_bytes()),
            KeyChar::Ascii(b) => word.push(b),
            KeyChar::Drop => {}
            KeyChar::Break => brk = true,
        });
        if brk {
            flush(word, out);
        }
    }
    flush(word, out);
}

/// Transliterate and spelling-fold a name string into its matching words,
/// in original order ("Aleksandr Yurievich" -> "alexandr iurievich").
pub fn name_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    push_key(s, &mut out, &mut Vec::with_capacity(24));
    out
}

/// [`build_key`] from the tokens' own key words: the same key without transliterating
/// every part a second time (~5% of an import's CPU). `keys_from_tokens_match_build_key`
/// holds the two together.
pub(super) fn key_of_tokens(
    last: &[&Token],
    first: Option<&Token>,
    middle: Option<&Token>,
) -> String {
    let mut words: Vec<&str> = Vec::with_capacity(6);
    for t in last {
        words.extend(t.key.split(' '));
    }
    if let Some(t) = first {
        let canon = (!t.initial)
            .then(|| FIRST_NAMES.get(t.key.as_str()))
            .flatten()
            .and_then(|e| e.canon.as_deref());
        words.extend(canon.unwrap_or(&t.key).split(' '));
    }
    if let Some(t) = middle {
        words.extend(t.key.split(' '));
    }
    words.retain(|w| !w.is_empty());
    words.sort_unstable();
    words.join(" ")
}

/// Sorted key words of the parts; the first name goes through the dictionary
/// so irregular spellings (Ludmila) use their canonical key.
pub(super) fn build_key(p: &NameParts, with_middle: bool) -> String {
    let mut buf = String::with_capacity(48);
    let mut scratch = Vec::with_capacity(24);
    let middle = if with_middle {
        p.middle.as_deref()
    } else {
        None
    };
    for (part, is_first) in [
        (p.last.as_deref(), false),
        (p.first.as_deref(), true),
        (middle, false),
    ] {
        let Some(part) = part else { continue };
        if !buf.is_empty() && !buf.ends_with(' ') {
            buf.push(' ');
        }
        let start = buf.len();
        push_key(part, &mut buf, &mut scratch);
        if part.ends_with('.') {
            // Initial: its first key letter ("Ю." -> "i", like Latin "Y.").
            buf.truncate((start + 1).min(buf.len()));
        } else if is_first {
            if let Some(canon) = FIRST_NAMES
                .get(&buf[start..])
                .and_then(|e| e.canon.as_deref())
            {
                buf.truncate(start);
                buf.push_str(canon);
            }
        }
    }
    let mut words: Vec<&str> = buf.split(' ').filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words.join(" ")
}

/// Key of surname + first name only, for matching a full Russian name
/// against a Latin "First Last" that has no patronymic.
pub fn first_last_key(p: &NameParts) -> String {
    build_key(p, false)
}

#[cfg(test)]
mod tests {
    use super::super::parse_full_name;
    use super::*;
    use proptest::prelude::*;

    fn key(raw: &str) -> String {
        parse_full_name(raw).translit_key
    }

    fn fl_key(raw: &str) -> String {
        first_last_key(&parse_full_name(raw))
    }

    #[test]
    fn keys_meet_across_scripts_and_spellings() {
        assert_eq!(key("Иванов Иван Иванович"), "ivan ivanov ivanovich");
        assert_eq!(key("Иванов Иван Иванович"), key("Ivanov Ivan Ivanovich"));
        assert_eq!(key("Иванов Иван Иванович"), key("IVANOV IVAN IVANOVICH"));
        assert_ne!(key("Иванов Иван Иванович"), key("Ivan Ivanov"));
        assert_eq!(fl_key("Иванов Иван Иванович"), fl_key("Ivan Ivanov"));
        assert_eq!(fl_key("Иванов Иван Иванович"), "ivan ivanov");

        let a = key("Александр Петров");
        assert_eq!(a, key("Aleksandr Petrov"));
        assert_eq!(a, key("Alexander Petrov"));
        assert_eq!(a, key("Petrov Alexandr"));

        let y = key("Юрий");
        assert_eq!(y, key("Yuriy"));
        assert_eq!(y, key("Yuri"));
        assert_eq!(y, key("Yury"));
        assert_eq!(y, key("Jurij"));

        assert_eq!(key("Наталья"), key("Natalya"));
        assert_eq!(key("Наталья"), key("Natalia"));
        assert_eq!(key("Наталья"), key("Наталия"));

        let pairs = [
            ("Алексей Сергеевич Ковалёв", "Aleksey Sergeyevich Kovalyov"),
            ("Алексей", "Alexei"),
            ("Дмитрий Хабаров", "Dmitry Khabarov"),
            ("Евгений", "Yevgeniy"),
            ("Фёдор", "Fyodor"),
            ("Максим", "Maxim"),
            ("Ксения", "Xenia"),
            ("Татьяна", "Tatiana"),
            ("Мария", "Mariya"),
            ("Юлия", "Julia"),
            ("Людмила", "Ludmila"),
            ("Виктор", "Victor"),
            ("Щукин", "Shchukin"),
            ("Чайковский", "Tchaikovsky"),
            ("Николай Толстой", "Nikolay Tolstoy"),
            ("Петрова-Водкина Анна", "Anna Petrova-Vodkina"),
            ("Ёлкин", "Елкин"),
            ("Иванов И.И.", "Ivanov I. I."),
        ];
        for (a, b) in pairs {
            assert_eq!(key(a), key(b), "{a} vs {b}");
        }
        assert_eq!(key(""), "");
    }

    #[test]
    fn public_helpers() {
        assert_eq!(fold("ЁЖИК Ёлкин"), "ежик елкин");
        assert_eq!(translit("Щука, ёж!"), "shchuka ezh");
        assert_eq!(translit("Юрий Ильич 2-й"), "yurii ilich 2 i");
        assert_eq!(translit("ООО «Ромашка»"), "ooo romashka");
        assert_eq!(name_key("Юрий Александрович"), "iuri alexandrovich");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn keys_from_tokens_match_build_key(s in "\\PC{0,40}", words in proptest::collection::vec(
            "[A-Za-zА-Яа-яЁё]{1,9}|[А-ЯA-Z]\\.|оглы|кызы|[ьъ]{1,2}|Ю\\.|Ludmila|Людмила", 0..5)) {
            for raw in [s, words.join(" "), words.join("-"), words.join(".")] {
                let parts = parse_full_name(&raw);
                prop_assert_eq!(&parts.translit_key, &build_key(&parts, true), "{:?}", raw);
            }
        }
    }
}
