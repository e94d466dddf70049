//! The survivorship rules over one lead's members, given best-ranked first: majority votes
//! (ties to the best-ranked member), and the fullest, correctly spelt name. Pure functions
//! over borrowed text, so `golden` runs them once per lead without copying.

/// Equal up to case and ё/е: how two members' values are counted as one in a vote.
pub fn same_text(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    folded(a).eq(folded(b))
}

/// `s` lowercased, ё as е.
fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|l| if l == 'ё' { 'е' } else { l })
}

/// A vote among a lead's members: `ballots` holds each member's value in rank order (best
/// first), `None` for a member without one. The value most members gave wins; among
/// values given equally often, the one the best-ranked member gave. Returns the position
/// of the best-ranked ballot with the winning value (`None` when nobody voted).
pub fn majority<T: Copy>(
    ballots: impl IntoIterator<Item = Option<T>>,
    same: impl Fn(T, T) -> bool,
) -> Option<usize> {
    // (value, votes, first ballot), in order of first ballot: a lead has few distinct
    // values, kept on the stack; more spill over.
    const INLINE: usize = 8;
    let mut inline: [Option<(T, u32, usize)>; INLINE] = [None; INLINE];
    let mut spill: Vec<(T, u32, usize)> = Vec::new();
    for (i, ballot) in ballots.into_iter().enumerate() {
        let Some(v) = ballot else { continue };
        let found = inline
            .iter_mut()
            .map_while(Option::as_mut)
            .chain(spill.iter_mut())
            .find(|(w, _, _)| same(*w, v));
        match found {
            Some(entry) => entry.1 += 1,
            None => match inline.iter_mut().find(|e| e.is_none()) {
                Some(slot) => *slot = Some((v, 1, i)),
                None => spill.push((v, 1, i)),
            },
        }
    }
    // In order of first ballot, so a strict `>` keeps the best-ranked among equals.
    let mut best: Option<(u32, usize)> = None;
    for &(_, votes, first) in inline.iter().flatten().chain(&spill) {
        if best.is_none_or(|(b, _)| votes > b) {
            best = Some((votes, first));
        }
    }
    best.map(|(_, first)| first)
}

/// One member's name: the full text and its parsed parts.
#[derive(Debug, Clone, Copy, Default)]
pub struct NameParts<'a> {
    pub full: &'a str,
    pub last: Option<&'a str>,
    pub first: Option<&'a str>,
    pub middle: Option<&'a str>,
}

/// Full parts, then Cyrillic script: greater is a better name.
pub type NameQuality = (u8, bool);

/// A first name or patronymic written out, not an initial ("И." or "И"): two letters or
/// more, not counting punctuation and spaces (names hold no digits or symbols).
fn written_out(part: Option<&str>) -> bool {
    part.is_some_and(|p| {
        p.chars()
            .filter(|c| !(c.is_ascii_punctuation() || c.is_whitespace()))
            .nth(1)
            .is_some()
    })
}

/// How full a name is (a surname, a first name and a patronymic each written out, not as
/// initials), then whether it is written in Cyrillic.
pub fn name_quality(name: &NameParts) -> NameQuality {
    let parts =
        name.last.is_some() as u8 + written_out(name.first) as u8 + written_out(name.middle) as u8;
    let cyrillic = name
        .full
        .chars()
        .any(|c| matches!(c, 'А'..='я' | 'Ё' | 'ё'));
    (parts, cyrillic)
}

fn yo_count(s: &str) -> usize {
    // One memchr-driven search per letter: this runs on every name of every lead.
    s.matches('ё').count() + s.matches('Ё').count()
}

/// The golden name among `n` members (`name(i)` is the name of the `i`-th best-ranked,
/// if it has one): the fullest (see [`name_quality`]), among equals the best-ranked; then,
/// among the members whose name differs from it only by ё/е (or case), the one with the
/// most ё, since ё is the correct spelling (Семёнов, not Семенов). Returns its position.
pub fn best_name<'a>(n: usize, name: impl Fn(usize) -> Option<NameParts<'a>>) -> Option<usize> {
    let mut best: Option<(NameQuality, usize, &str)> = None;
    for i in 0..n {
        let Some(name) = name(i) else { continue };
        let q = name_quality(&name);
        if best.is_none_or(|(b, _, _)| q > b) {
            best = Some((q, i, name.full));
        }
    }
    let (quality, mut pick, chosen) = best?;
    if pick + 1 == n {
        return Some(pick);
    }
    let mut most_yo = yo_count(chosen);
    for i in pick + 1..n {
        let Some(name) = name(i) else { continue };
        if name.full == chosen {
            continue;
        }
        let yo = yo_count(name.full);
        if yo > most_yo && name_quality(&name) == quality && same_text(name.full, chosen) {
            (pick, most_yo) = (i, yo);
        }
    }
    Some(pick)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(full: &str) -> Option<NameParts<'_>> {
        let words: Vec<&str> = full.split(' ').collect();
        Some(NameParts {
            full,
            last: words.first().copied(),
            first: words.get(1).copied(),
            middle: words.get(2).copied(),
        })
    }

    #[test]
    fn text_is_the_same_up_to_case_and_yo() {
        assert!(same_text("Семёнов", "семенов"));
        assert!(same_text("МОСКВА", "москва"));
        assert!(!same_text("Москва", "Moscow"));
        assert!(!same_text("Семенов", "Семенова"));
    }

    #[test]
    fn the_majority_wins_and_ties_go_to_the_best_ranked() {
        let same = |a: &str, b: &str| same_text(a, b);
        // Ranked best first: the best-ranked member says Moscow, two others Москва.
        assert_eq!(
            majority([Some("Moscow"), Some("Москва"), Some("москва")], same),
            Some(1)
        );
        // One each: the best-ranked.
        assert_eq!(majority([Some("Тула"), Some("Омск")], same), Some(0));
        // Members without a value do not vote.
        assert_eq!(majority([None, Some("Омск"), None], same), Some(1));
        assert_eq!(majority([None::<&str>, None], same), None);
        // Two against two: the value the best-ranked member gave.
        assert_eq!(
            majority(
                [None, Some("Омск"), Some("Тула"), Some("Тула"), Some("Омск")],
                same
            ),
            Some(1)
        );
        // More distinct values than fit on the stack.
        let many: Vec<Option<String>> = (0..20).map(|i| Some(format!("{}", i % 11))).collect();
        assert_eq!(majority(many.iter().map(|v| v.as_deref()), same), Some(0));
        let mut spilled = many.clone();
        spilled.extend([Some("10".into()), Some("10".into())]);
        assert_eq!(
            majority(spilled.iter().map(|v| v.as_deref()), same),
            Some(10)
        );
        // Three against two, whoever ranks first.
        assert_eq!(
            majority(
                [
                    Some("Омск"),
                    Some("Тула"),
                    Some("Тула"),
                    Some("Омск"),
                    Some("тула")
                ],
                same
            ),
            Some(1)
        );
    }

    #[test]
    fn the_fullest_name_wins_not_the_best_ranked() {
        let names = [
            name("Семенов Дмитрий О."),
            name("Семёнов Дмитрий Олегович"),
            name("Семёнов Д. О."),
        ];
        assert_eq!(best_name(names.len(), |i| names[i]), Some(1));
        // An initial is not a name part; a two-letter name is.
        assert_eq!(name_quality(&name("Иванов И. И.").unwrap()).0, 1);
        assert_eq!(name_quality(&name("Иванов И И").unwrap()).0, 1);
        assert_eq!(name_quality(&name("Ёлкин Ян").unwrap()).0, 2);
    }

    #[test]
    fn yo_is_preferred_when_names_differ_only_by_it() {
        let names = [
            None,
            name("Семенов Дмитрий Олегович"),
            name("Семёнов Дмитрий Олегович"),
        ];
        assert_eq!(best_name(names.len(), |i| names[i]), Some(2));
        // Not when the names differ otherwise: then the best-ranked full name.
        let names = [
            name("Семенов Дмитрий Олегович"),
            name("Семёнова Дарья Олеговна"),
        ];
        assert_eq!(best_name(names.len(), |i| names[i]), Some(0));
        // Nor over a fuller name.
        let names = [name("Семенов Дмитрий Олегович"), name("Семёнов Дмитрий")];
        assert_eq!(best_name(names.len(), |i| names[i]), Some(0));
    }

    #[test]
    fn cyrillic_beats_latin_among_equally_full_names() {
        let names = [
            name("Semenov Dmitry Olegovich"),
            name("Семенов Дмитрий Олегович"),
        ];
        assert_eq!(best_name(names.len(), |i| names[i]), Some(1));
        let names = [name("Semenov Dmitry Olegovich"), name("Семенов Дмитрий")];
        assert_eq!(best_name(names.len(), |i| names[i]), Some(0));
    }
}
