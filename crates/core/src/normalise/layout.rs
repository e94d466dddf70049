//! Names typed with the keyboard left in the Latin layout («Rjhybkjdf Ghfcrjdmz» for
//! «Корнилова Прасковья»), read back as the Cyrillic the same keys give.

use super::name::name_evidence;

/// The Cyrillic letter a key of the standard Russian (ЙЦУКЕН) layout gives, for the
/// character the same key gives on QWERTY.
fn layout_char(c: char) -> Option<char> {
    const LOWER: &str = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`";
    const UPPER: &str = "QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~";
    const CYR_LOWER: &str = "йцукенгшщзхъфывапролджэячсмитьбюё";
    const CYR_UPPER: &str = "ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ";
    if let Some(i) = LOWER.chars().position(|k| k == c) {
        return CYR_LOWER.chars().nth(i);
    }
    UPPER
        .chars()
        .position(|k| k == c)
        .and_then(|i| CYR_UPPER.chars().nth(i))
}

/// A name typed with the keyboard left in the Latin layout («Rjhybkjdf Ghfcrjdmz» for
/// «Корнилова Прасковья», or one word of it: «Александрова Fkbyf»): each Latin word is read
/// as the Cyrillic the same keys give when that reads as a name part and the word as typed
/// does not. `None` leaves the cell as it is. Two guards keep real Latin names (Ivan
/// Petrov, Kirby) as they are: the word must not read as a name already, and at most 15%
/// of its letters may be Latin vowels (Cyrillic vowels sit on Latin consonant keys, so
/// slipped text has almost none; Latin names have a third or more).
pub fn repair_layout(raw: &str) -> Option<String> {
    if !raw.chars().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    // Nothing is allocated for the usual cell, where no word slipped.
    if !raw.split_whitespace().any(|w| relaid_word(w).is_some()) {
        return None;
    }
    let words: Vec<String> = raw
        .split_whitespace()
        .map(|w| relaid_word(w).unwrap_or_else(|| w.to_string()))
        .collect();
    Some(words.join(" "))
}

fn relaid_word(word: &str) -> Option<String> {
    let letters = word.chars().filter(char::is_ascii_alphabetic).count();
    if letters < 2 || word.chars().any(|c| !c.is_ascii() || c == '@') {
        return None;
    }
    let vowels = word
        .chars()
        .filter(|c| matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u'))
        .count();
    if vowels * 100 > letters * 15 {
        return None;
    }
    let mut out = String::with_capacity(word.len() * 2);
    for c in word.chars() {
        match layout_char(c) {
            Some(cyr) => out.push(cyr),
            None if c == '-' => out.push(c),
            None => return None,
        }
    }
    (name_evidence(&out) > name_evidence(word)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_keyboard_layout_is_read_back() {
        assert_eq!(
            repair_layout("Rjhybkjdf Ghfcrjdmz Fafyfcmtdyf").as_deref(),
            Some("Корнилова Прасковья Афанасьевна")
        );
        assert_eq!(
            repair_layout("Ctvtyjd Lvbnhbq").as_deref(),
            Some("Семенов Дмитрий")
        );
        assert_eq!(repair_layout(">kbz").as_deref(), Some("Юлия"));
        // Real Latin names, Cyrillic, and e-mails stay as they are.
        assert_eq!(repair_layout("Ivan Petrov"), None);
        assert_eq!(repair_layout("Иван Петров"), None);
        assert_eq!(repair_layout("ivan@mail.ru"), None);
        assert_eq!(repair_layout("John Smith"), None);
        assert_eq!(repair_layout("Kirby"), None);
        // One slipped word among Cyrillic ones.
        assert_eq!(
            repair_layout("Александрова Fkbyf Валентиновна").as_deref(),
            Some("Александрова Алина Валентиновна")
        );
    }
}
