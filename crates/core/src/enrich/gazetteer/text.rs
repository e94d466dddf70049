//! Place names as keys: a cell's words lowercased with ё → е and stress marks dropped,
//! a city without the type words around it ("г.", "город", "пгт"), a region with its
//! type words ("обл.", "Респ.", "АО") read as classes and the words sorted.

/// Words around a city name that only say what kind of place it is.
const CITY_TYPE_WORDS: &[&str] = &[
    "г",
    "гор",
    "город",
    "пгт",
    "рп",
    "п",
    "пос",
    "поселок",
    "с",
    "село",
    "д",
    "дер",
    "деревня",
    "ст",
    "станица",
    "х",
    "хутор",
    "city",
    "gorod",
    "g",
];

/// Lowercase words of letters and digits joined by single spaces; ё→е,
/// stress marks dropped, everything else separates words.
pub(super) fn norm(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut gap = false;
    for c in raw.chars() {
        match c {
            // Stress marks and a decomposed ё's diaeresis.
            '\u{0300}' | '\u{0301}' | '\u{0308}' => continue,
            // Decomposed й.
            '\u{0306}' => {
                if out.ends_with('и') {
                    out.pop();
                    out.push('й');
                }
                continue;
            }
            _ => {}
        }
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            for l in c.to_lowercase() {
                out.push(if l == 'ё' { 'е' } else { l });
            }
        } else {
            gap = true;
        }
    }
    out
}

/// `key` without city type words at either end ("г москва", "москва г").
pub(super) fn strip_leading_city_type(key: &str) -> &str {
    let mut s = key;
    while let Some((first, rest)) = s.split_once(' ') {
        if !CITY_TYPE_WORDS.contains(&first) {
            break;
        }
        s = rest;
    }
    s
}

pub(super) fn strip_city_type(key: &str) -> &str {
    let mut s = key;
    loop {
        let before = s;
        if let Some((first, rest)) = s.split_once(' ') {
            if CITY_TYPE_WORDS.contains(&first) {
                s = rest;
            }
        }
        if let Some((rest, last)) = s.rsplit_once(' ') {
            if CITY_TYPE_WORDS.contains(&last) {
                s = rest;
            }
        }
        if s == before {
            return s;
        }
    }
}

/// What a region type word stands for; the class keeps "Altai Krai" and
/// "Altai Republic" apart while "Алтайский край" and "Алтайский кр." meet.
/// Keep the word list in step with TYPE_WORDS in tools/make_phone_prefixes.py.
fn region_type(word: &str) -> Option<&'static str> {
    Some(match word {
        "область" | "обл" | "области" | "oblast" | "obl" | "region" => "обл",
        "край" | "кр" | "края" | "krai" | "kray" | "territory" => "край",
        "республика" | "респ" | "республики" | "republic" | "resp" => {
            "респ"
        }
        "автономный"
        | "автономная"
        | "автономной"
        | "автономного"
        | "округ"
        | "ао"
        | "autonomous"
        | "okrug"
        | "district" => "ао",
        "аобл" => "ао обл",
        "г" | "город" | "федерального" | "значения" | "city" | "gorod" => {
            "г"
        }
        "of" | "the" => "",
        _ => return None,
    })
}

/// (key with type classes, key without them, whether there were any);
/// both sorted so word order does not matter ("Татарстан Респ").
pub(super) fn region_keys(raw: &str) -> (String, String, bool) {
    let key = norm(raw);
    let mut words: Vec<&str> = Vec::new();
    let mut types: Vec<&str> = Vec::new();
    for w in key.split(' ').filter(|w| !w.is_empty()) {
        match region_type(w) {
            Some(class) => types.extend(class.split(' ').filter(|c| !c.is_empty())),
            None => words.push(w),
        }
    }
    words.sort_unstable();
    let bare = words.join(" ");
    let had_types = !types.is_empty();
    types.sort_unstable();
    types.dedup();
    words.extend(types);
    words.sort_unstable();
    (words.join(" "), bare, had_types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(norm("  Г.  Москва!! "), "г москва");
        assert_eq!(norm("Орёл"), "орел");
        assert_eq!(norm("Оре\u{0308}л"), "орел");
        assert_eq!(norm("Луга\u{0301}нская"), "луганская");
        assert_eq!(norm("Кии\u{0306}"), "кий");
        assert_eq!(norm("Ростов-на-Дону"), "ростов на дону");
        assert_eq!(strip_city_type("г москва"), "москва");
        assert_eq!(strip_city_type("москва г"), "москва");
        assert_eq!(strip_city_type("пгт г москва"), "москва");
        assert_eq!(strip_city_type("г"), "г");
        assert_eq!(region_keys("Респ. Татарстан").0, "респ татарстан");
        assert_eq!(region_keys("Татарстан Республика").1, "татарстан");
        assert_eq!(region_keys("Еврейская аобл").0, "ао еврейская обл");
    }
}
