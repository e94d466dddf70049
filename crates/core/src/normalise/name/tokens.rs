//! Reading a cell into tokens: words in canonical case and initials, with their key and
//! what the name lists say about them (a first name, a patronymic or surname ending);
//! noise words dropped, particles joined to the word before them.

use super::data::{suffix_gender, FirstName, FIRST_NAMES, NOISE, PARTICLES, SUFFIXES};
use super::key::push_key;
use super::Gender;

/// Bounds work on pathological cells (a pasted paragraph).
const MAX_TOKENS: usize = 16;

#[derive(Debug, Clone)]
pub(super) struct Token {
    /// Canonical-case display form; initials as "И.".
    pub(super) display: String,
    /// Folded Latin key words; a single letter for initials.
    pub(super) key: String,
    pub(super) initial: bool,
    pub(super) cyrillic: bool,
    pub(super) first: Option<&'static FirstName>,
    pub(super) patronymic: Option<Gender>,
    pub(super) surname: Option<Gender>,
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | ';'
                | ':'
                | '|'
                | '/'
                | '\\'
                | '('
                | ')'
                | '['
                | ']'
                | '"'
                | '«'
                | '»'
                | '“'
                | '”'
        )
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '‐' | '‑' | '‒' | '–' | '—' | '_')
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`')
}

pub(super) fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04ff}')
}

// Fast paths for the letters of nearly every name (ASCII, basic Cyrillic and Ё/ё): the
// Unicode tables behind `char::is_alphabetic` and case mapping took ~4% of an import's
// CPU. Other chars take the standard route; `case_fast_paths_match_std` checks them all.
#[inline]
fn is_letter(c: char) -> bool {
    matches!(c, 'a'..='z' | 'A'..='Z' | 'А'..='я' | 'Ё' | 'ё')
        || (!c.is_ascii() && c.is_alphabetic())
}

#[inline]
fn push_upper(c: char, out: &mut String) {
    match c {
        'A'..='Z' | 'А'..='Я' | 'Ё' => out.push(c),
        'a'..='z' => out.push(c.to_ascii_uppercase()),
        'а'..='я' => out.push(char::from_u32(c as u32 - 0x20).unwrap_or(c)),
        'ё' => out.push('Ё'),
        _ => out.extend(c.to_uppercase()),
    }
}

#[inline]
fn push_lower(c: char, out: &mut String) {
    match c {
        'a'..='z' | 'а'..='я' | 'ё' => out.push(c),
        'A'..='Z' => out.push(c.to_ascii_lowercase()),
        'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
        'Ё' => out.push('ё'),
        _ => out.extend(c.to_lowercase()),
    }
}

/// Tokens of one cell: words and initials, noise dropped, particles merged.
pub(super) fn tokenize(raw: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(4);
    for chunk in raw.split(is_separator) {
        // An e-mail in the name cell is not a name part.
        if chunk.is_empty() || chunk.contains('@') {
            continue;
        }
        // "И.И.Иванов" / "Иванов.И" — dots separate initials from words.
        for seg in chunk.split('.') {
            if out.len() >= MAX_TOKENS {
                return out;
            }
            push_segment(seg, &mut out);
        }
    }
    out
}

/// What one segment of a name cell is, on its own.
#[derive(Debug, Clone)]
enum Segment {
    /// No letters, or a noise word ("тел", "гражданин").
    Nothing,
    /// A word or an initial.
    Word(Token),
    /// "оглы", "кызы": joins the word before it.
    Particle {
        display: String,
        key: String,
        gender: Gender,
    },
}

thread_local! {
    // Name words repeat across a list far more than whole names do: each distinct
    // segment is read once per thread (see `memo`).
    static SEGMENTS: std::cell::RefCell<crate::memo::Table<Segment>> =
        std::cell::RefCell::new(crate::memo::Table::default());
}

fn push_segment(seg: &str, out: &mut Vec<Token>) {
    if seg.is_empty() {
        return;
    }
    match crate::memo::cached(&SEGMENTS, seg, read_segment) {
        Segment::Nothing => {}
        Segment::Word(token) => out.push(token),
        Segment::Particle {
            display,
            key,
            gender,
        } => {
            // "Гусейн оглы": the particle belongs to the preceding word.
            if let Some(prev) = out.last_mut().filter(|t| !t.initial) {
                prev.display.push(' ');
                prev.display.push_str(&display);
                prev.key.push(' ');
                prev.key.push_str(&key);
                prev.patronymic = Some(gender);
                prev.first = None;
                prev.surname = None;
            }
        }
    }
}

/// A segment's letters as displayed: each hyphen part capitalised, an apostrophe or hyphen
/// kept only between letters, decomposed й / ё composed.
struct Letters {
    display: String,
    /// How many letters (1: an initial).
    count: usize,
    cyrillic: bool,
}

fn read_letters(seg: &str) -> Letters {
    let mut display = String::with_capacity(seg.len());
    let mut letters = 0usize;
    let mut cyrillic = false;
    let mut part_start = true;
    let mut pending: Option<char> = None;
    for c in seg.chars() {
        if is_letter(c) {
            if let Some(p) = pending.take() {
                display.push(p);
            }
            if part_start {
                push_upper(c, &mut display);
            } else {
                push_lower(c, &mut display);
            }
            part_start = false;
            letters += 1;
            cyrillic |= is_cyrillic(c);
        } else if letters > 0 && is_hyphen(c) {
            pending = Some('-');
            part_start = true;
        } else if letters > 0 && is_apostrophe(c) && pending.is_none() {
            pending = Some('\'');
        } else if matches!(c, '\u{0306}' | '\u{0308}') {
            compose_mark(&mut display, c);
        }
        // Digits and other symbols are dropped: "Иванов1" is a typo.
    }
    Letters {
        display,
        count: letters,
        cyrillic,
    }
}

/// Decomposed й / ё (и + breve, е + diaeresis) from some exports: the mark joins the
/// letter before it.
fn compose_mark(display: &mut String, mark: char) {
    let composed = match (display.chars().last(), mark) {
        (Some('и'), '\u{0306}') => Some('й'),
        (Some('И'), '\u{0306}') => Some('Й'),
        (Some('е'), '\u{0308}') => Some('ё'),
        (Some('Е'), '\u{0308}') => Some('Ё'),
        _ => None,
    };
    if let Some(k) = composed {
        display.pop();
        display.push(k);
    }
}

/// Reads one segment (pure in `seg`, so its result can be remembered).
fn read_segment(seg: &str) -> Segment {
    let Letters {
        mut display,
        count: letters,
        cyrillic,
    } = read_letters(seg);
    if letters == 0 {
        return Segment::Nothing;
    }
    let mut key = String::with_capacity(display.len() + 4);
    push_key(&display, &mut key, &mut Vec::with_capacity(24));

    if letters == 1 {
        display.push('.');
        key.truncate(1);
        return Segment::Word(Token {
            display,
            key,
            initial: true,
            cyrillic,
            first: None,
            patronymic: None,
            surname: None,
        });
    }
    if NOISE.contains(key.as_str()) {
        return Segment::Nothing;
    }
    if let Some(&gender) = PARTICLES.get(key.as_str()) {
        return Segment::Particle {
            display: display.to_lowercase(),
            key,
            gender,
        };
    }
    // Suffix checks look at the last hyphen part: "Петрова-Водкина".
    let tail = key.rsplit(' ').next().unwrap_or("");
    let suffixes = &*SUFFIXES;
    let patronymic = suffix_gender(tail, &suffixes.patronymic);
    let surname = suffix_gender(tail, &suffixes.surname);
    let first = FIRST_NAMES.get(key.as_str());
    Segment::Word(Token {
        display,
        key,
        initial: false,
        cyrillic,
        first,
        patronymic,
        surname,
    })
}

/// Words of a cell that read as parts of a Russian name: known first names, patronymics,
/// surnames by their endings.
pub(crate) fn name_evidence(s: &str) -> usize {
    tokenize(s)
        .iter()
        .filter(|t| {
            !t.initial && (t.first.is_some() || t.patronymic.is_some() || t.surname.is_some())
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::super::{parse_full_name, NameParts};
    use super::*;

    #[test]
    fn remembered_segments_read_as_fresh_ones() {
        // Particles change the word before them, initials and noise are special: a
        // cell read with every segment remembered must give what a cold read gives.
        let names = [
            "Мамедов Гусейн оглы",
            "оглы Мамедов",
            "Алиева Айгюль кызы",
            "Иванов И. И.",
            "И.И.Иванов",
            "Петрова-Водкина Мария",
            "тел Иванов Иван",
            "Иванов1 Иван Иванович",
            "ivan petrov",
            "Ё\u{0308}лкин Йо\u{0306}ган",
        ];
        let cold: Vec<NameParts> = std::thread::spawn(move || names.map(parse_full_name).to_vec())
            .join()
            .unwrap();
        for _ in 0..2 {
            let warm: Vec<NameParts> = names.map(parse_full_name).to_vec();
            assert_eq!(warm, cold);
        }
    }

    #[test]
    fn case_fast_paths_match_std() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(is_letter(c), c.is_alphabetic(), "{c:?}");
            let (mut up, mut low) = (String::new(), String::new());
            push_upper(c, &mut up);
            push_lower(c, &mut low);
            assert_eq!(up, c.to_uppercase().collect::<String>(), "{c:?}");
            assert_eq!(low, c.to_lowercase().collect::<String>(), "{c:?}");
        }
    }

    #[test]
    fn decomposed_letters_are_composed() {
        // "Юрий" with и + U+0306, "Семён" with е + U+0308.
        let n = parse_full_name("Юри\u{0438}\u{0306} Семе\u{0308}нов");
        assert_eq!(n.first.as_deref(), Some("Юрий"));
        assert_eq!(n.last.as_deref(), Some("Семёнов"));
    }
}
