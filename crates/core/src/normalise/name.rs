//! Person names: split a free-text cell (or Фамилия / Имя / Отчество columns)
//! into surname, first name and patronymic, guess gender, and build a
//! script-independent matching key so "Ivan Ivanov" meets "Иванов Иван".
//!
//! Word lists and spelling folds live in `data/names/` so they can be tuned
//! without touching code. Runs on millions of rows: no regex, data parsed once.

// Fx hashing: the std SipHash was ~3% of normalising CPU on these small-key lookups.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::LazyLock;

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

const FIRST_NAMES_TSV: &str = include_str!("../../data/names/first_names.tsv");
const TRANSLIT_TSV: &str = include_str!("../../data/names/translit.tsv");
const KEY_FOLD_TSV: &str = include_str!("../../data/names/key_fold.tsv");
const NOISE_TXT: &str = include_str!("../../data/names/noise.txt");
const PARTICLES_TSV: &str = include_str!("../../data/names/particles.tsv");
const SUFFIXES_TSV: &str = include_str!("../../data/names/suffixes.tsv");

/// More words than this in one cell is prose, not a name; the rest is ignored
/// so the order search stays tiny.
const MAX_WORDS: usize = 6;
/// Bounds work on pathological cells (a pasted paragraph).
const MAX_TOKENS: usize = 16;

/// Non-empty, non-comment lines of a data file, split on tabs.
fn data_rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::trim).collect())
}

fn gender_code(code: &str) -> Option<Gender> {
    match code {
        "m" => Some(Gender::Male),
        "f" => Some(Gender::Female),
        _ => None,
    }
}

// ---------------------------------------------------------------- data ----

/// Cyrillic block U+0400..U+04FF (lowercase entries only) -> Latin.
static TRANSLIT: LazyLock<[Option<&'static str>; 256]> = LazyLock::new(|| {
    let mut table = [None; 256];
    for row in data_rows(TRANSLIT_TSV) {
        let mut chars = row[0].chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            let latin = row.get(1).copied().unwrap_or("");
            let idx = (c as u32).wrapping_sub(0x400) as usize;
            if idx < table.len() && latin.bytes().all(|b| b.is_ascii_lowercase()) {
                table[idx] = Some(latin);
            }
        }
    }
    table
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Any,
    Start,
    End,
}

#[derive(Debug)]
struct FoldRule {
    pat: &'static [u8],
    rep: &'static str,
    anchor: Anchor,
}

/// Fold rules bucketed by first byte so each position checks only a few.
static KEY_FOLD: LazyLock<Vec<Vec<FoldRule>>> = LazyLock::new(|| {
    let mut by_first: Vec<Vec<FoldRule>> = (0..128).map(|_| Vec::new()).collect();
    for row in data_rows(KEY_FOLD_TSV) {
        let pat = row[0];
        let rep = row.get(1).copied().unwrap_or("");
        let anchor = match row.get(2).copied() {
            Some("end") => Anchor::End,
            Some("start") => Anchor::Start,
            _ => Anchor::Any,
        };
        // Keys must stay lowercase ASCII; a bad data line is skipped, not fatal.
        let ok = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase());
        if pat.is_empty() || !ok(pat) || !ok(rep) {
            continue;
        }
        by_first[usize::from(pat.as_bytes()[0])].push(FoldRule {
            pat: pat.as_bytes(),
            rep,
            anchor,
        });
    }
    by_first
});

#[derive(Debug)]
struct FirstName {
    /// None for names used by both sexes (Саша, Женя).
    gender: Option<Gender>,
    /// Key of the canonical spelling for irregular romanisations.
    canon: Option<Box<str>>,
}

/// First names by folded key, so Latin spellings hit their Cyrillic entry.
static FIRST_NAMES: LazyLock<HashMap<Box<str>, FirstName>> = LazyLock::new(|| {
    let mut map: HashMap<Box<str>, FirstName> = HashMap::default();
    for row in data_rows(FIRST_NAMES_TSV) {
        let key = name_key(row[0]);
        if key.is_empty() {
            continue;
        }
        let gender = row.get(1).and_then(|g| gender_code(g));
        let canon = row
            .get(2)
            .map(|c| name_key(c))
            .filter(|c| !c.is_empty() && *c != key)
            .map(String::into_boxed_str);
        map.entry(key.into_boxed_str())
            .and_modify(|e| {
                // Two spellings folding together with different sexes: unisex.
                if e.gender != gender {
                    e.gender = None;
                }
                if e.canon.is_none() {
                    e.canon.clone_from(&canon);
                }
            })
            .or_insert(FirstName { gender, canon });
    }
    map
});

static NOISE: LazyLock<HashSet<Box<str>>> = LazyLock::new(|| {
    data_rows(NOISE_TXT)
        .map(|row| name_key(row[0]).into_boxed_str())
        .filter(|k| !k.is_empty())
        .collect()
});

static PARTICLES: LazyLock<HashMap<Box<str>, Gender>> = LazyLock::new(|| {
    data_rows(PARTICLES_TSV)
        .filter_map(|row| {
            let g = gender_code(row.get(1)?)?;
            Some((name_key(row[0]).into_boxed_str(), g))
        })
        .collect()
});

struct Suffixes {
    patronymic: Vec<(&'static str, Gender)>,
    surname: Vec<(&'static str, Gender)>,
}

static SUFFIXES: LazyLock<Suffixes> = LazyLock::new(|| {
    let mut s = Suffixes {
        patronymic: Vec::new(),
        surname: Vec::new(),
    };
    for row in data_rows(SUFFIXES_TSV) {
        let (Some(&suffix), Some(g)) = (row.get(1), row.get(2).and_then(|g| gender_code(g))) else {
            continue;
        };
        match row[0] {
            "patronymic" => s.patronymic.push((suffix, g)),
            "surname" => s.surname.push((suffix, g)),
            _ => {}
        }
    }
    s
});

fn suffix_gender(key_word: &str, table: &[(&'static str, Gender)]) -> Option<Gender> {
    table
        .iter()
        .find(|(suf, _)| key_word.len() >= suf.len() + 2 && key_word.ends_with(suf))
        .map(|&(_, g)| g)
}

// ------------------------------------------------------- key alphabet ----

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
fn push_key(s: &str, out: &mut String, word: &mut Vec<u8>) {
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

// ------------------------------------------------------------ tokens ----

#[derive(Debug, Clone)]
struct Token {
    /// Canonical-case display form; initials as "И.".
    display: String,
    /// Folded Latin key words; a single letter for initials.
    key: String,
    initial: bool,
    cyrillic: bool,
    first: Option<&'static FirstName>,
    patronymic: Option<Gender>,
    surname: Option<Gender>,
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

fn is_cyrillic(c: char) -> bool {
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
fn tokenize(raw: &str) -> Vec<Token> {
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

/// Reads one segment (pure in `seg`, so its result can be remembered).
fn read_segment(seg: &str) -> Segment {
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
            // Decomposed й / ё (и + breve, е + diaeresis) from some exports.
            let composed = match (display.chars().last(), c) {
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
        // Digits and other symbols are dropped: "Иванов1" is a typo.
    }
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

// ------------------------------------------------------------ ordering ----

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

fn parse_tokens(tokens: &[Token]) -> NameParts {
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

/// [`build_key`] from the tokens' own key words: the same key without transliterating
/// every part a second time (~5% of an import's CPU). `keys_from_tokens_match_build_key`
/// holds the two together.
fn key_of_tokens(last: &[&Token], first: Option<&Token>, middle: Option<&Token>) -> String {
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
fn build_key(p: &NameParts, with_middle: bool) -> String {
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

// -------------------------------------------------------------- public ----

/// Parse one free-text full-name cell ("Иванов Иван Иванович",
/// "иван иванович иванов", "ИВАНОВ И.И.", "Ivan Ivanov", "Петрова-Водкина Анна").
pub fn parse_full_name(raw: &str) -> NameParts {
    parse_tokens(&tokenize(raw))
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

/// Is this folded Latin key (see [`name_key`]) a first name the name list knows?
pub fn is_known_first_name_key(key: &str) -> bool {
    FIRST_NAMES.contains_key(key)
}

/// Everyday first-name forms and the full names they stand for, as written in
/// `data/names/diminutives.tsv` (Саша → [Александр, Александра]).
pub fn diminutives() -> impl Iterator<Item = (&'static str, Vec<&'static str>)> {
    include_str!("../../data/names/diminutives.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(form, fulls)| {
            (
                form.trim(),
                fulls
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .collect(),
            )
        })
}

/// Key of surname + first name only, for matching a full Russian name
/// against a Latin "First Last" that has no patronymic.
pub fn first_last_key(p: &NameParts) -> String {
    build_key(p, false)
}

#[cfg(test)]
mod tests {
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
    use proptest::prelude::*;

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
    fn decomposed_letters_are_composed() {
        // "Юрий" with и + U+0306, "Семён" with е + U+0308.
        let n = parse_full_name("Юри\u{0438}\u{0306} Семе\u{0308}нов");
        assert_eq!(n.first.as_deref(), Some("Юрий"));
        assert_eq!(n.last.as_deref(), Some("Семёнов"));
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

    #[test]
    fn data_files_parse_cleanly() {
        let rows = |t: &'static str| data_rows(t).count();
        assert_eq!(
            KEY_FOLD.iter().map(Vec::len).sum::<usize>(),
            rows(KEY_FOLD_TSV),
            "a key_fold.tsv line was rejected"
        );
        for row in data_rows(FIRST_NAMES_TSV) {
            assert!((2..=3).contains(&row.len()), "bad row {row:?}");
            assert!(matches!(row[1], "m" | "f" | "u"), "bad gender {row:?}");
        }
        for c in 'а'..='я' {
            assert!(TRANSLIT[(c as u32 - 0x400) as usize].is_some(), "{c}");
        }
        for row in data_rows(PARTICLES_TSV) {
            assert!(PARTICLES.contains_key(name_key(row[0]).as_str()), "{row:?}");
        }
        assert!(FIRST_NAMES.len() > 300);
        assert!(!NOISE.is_empty());
        let s = &*SUFFIXES;
        assert_eq!(s.patronymic.len() + s.surname.len(), rows(SUFFIXES_TSV));
    }

    // ------------------------------------------------------ properties ----

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
        fn keys_from_tokens_match_build_key(s in "\\PC{0,40}", words in proptest::collection::vec(
            "[A-Za-zА-Яа-яЁё]{1,9}|[А-ЯA-Z]\\.|оглы|кызы|[ьъ]{1,2}|Ю\\.|Ludmila|Людмила", 0..5)) {
            for raw in [s, words.join(" "), words.join("-"), words.join(".")] {
                let parts = parse_full_name(&raw);
                prop_assert_eq!(&parts.translit_key, &build_key(&parts, true), "{:?}", raw);
            }
        }

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
