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
    // (value, votes, first ballot); leads have few members and fewer distinct values.
    let mut tally: Vec<(T, u32, usize)> = Vec::new();
    for (i, ballot) in ballots.into_iter().enumerate() {
        let Some(v) = ballot else { continue };
        match tally.iter_mut().find(|(w, _, _)| same(*w, v)) {
            Some(entry) => entry.1 += 1,
            None => tally.push((v, 1, i)),
        }
    }
    // In order of first ballot, so a strict `>` keeps the best-ranked among equals.
    let mut best: Option<(u32, usize)> = None;
    for &(_, votes, first) in &tally {
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

/// A first name or patronymic written out, not an initial ("И." or "И").
fn written_out(part: Option<&str>) -> bool {
    part.is_some_and(|p| p.chars().filter(|c| c.is_alphabetic()).nth(1).is_some())
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
    s.chars().filter(|&c| c == 'ё' || c == 'Ё').count()
}

/// The golden name among `names` (in rank order, `None` for members without a name): the
/// fullest (see [`name_quality`]), among equals the best-ranked; then, among the members
/// whose name differs from it only by ё/е (or case), the one with the most ё, since ё is
/// the correct spelling (Семёнов, not Семенов). Returns its position.
pub fn best_name<'a>(names: impl Iterator<Item = Option<NameParts<'a>>> + Clone) -> Option<usize> {
    let mut best: Option<(NameQuality, usize)> = None;
    for (i, name) in names.clone().enumerate() {
        let Some(name) = name else { continue };
        let q = name_quality(&name);
        if best.is_none_or(|(b, _)| q > b) {
            best = Some((q, i));
        }
    }
    let (quality, mut pick) = best?;
    let chosen = names.clone().nth(pick).flatten()?.full;
    let mut most_yo = yo_count(chosen);
    for (i, name) in names.enumerate().skip(pick + 1) {
        let Some(name) = name else { continue };
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
        assert_eq!(best_name(names.iter().copied()), Some(1));
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
        assert_eq!(best_name(names.iter().copied()), Some(2));
        // Not when the names differ otherwise: then the best-ranked full name.
        let names = [
            name("Семенов Дмитрий Олегович"),
            name("Семёнова Дарья Олеговна"),
        ];
        assert_eq!(best_name(names.iter().copied()), Some(0));
        // Nor over a fuller name.
        let names = [name("Семенов Дмитрий Олегович"), name("Семёнов Дмитрий")];
        assert_eq!(best_name(names.iter().copied()), Some(0));
    }

    #[test]
    fn cyrillic_beats_latin_among_equally_full_names() {
        let names = [
            name("Semenov Dmitry Olegovich"),
            name("Семенов Дмитрий Олегович"),
        ];
        assert_eq!(best_name(names.iter().copied()), Some(1));
        let names = [name("Semenov Dmitry Olegovich"), name("Семенов Дмитрий")];
        assert_eq!(best_name(names.iter().copied()), Some(0));
    }
}
