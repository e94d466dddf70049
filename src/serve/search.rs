//! Finding leads by what a reviewer remembers of them. Every word of the query must match
//! the lead, in any order: a part of the name, company, city or region (any case, ё and е
//! alike), a part of any of its e-mail addresses, or a part of any of its numbers written
//! any way (`916 123`, `8 (916) 123-45-67`, `+7916…`, the last digits). A city is also
//! found by its canonical name in the lead's records (`Санкт-Петербург` finds `СПб`).
//!
//! The typed text reaches the SQL only as parameters: as a regular expression in which it
//! is literal (every ASCII punctuation character escaped; RE2 runs in linear time), or as a
//! plain substring (`contains`). No pattern syntax typed in the box (`%`, `_`, `.`, `*`)
//! has a meaning.

use super::view::{self, View};
use crate::normalise::Normaliser;
use crate::report::esc;
use crate::store::Store;
use std::fmt::Write as _;

/// At most this many leads are listed; how many matched is counted in full.
pub const SHOWN: usize = 50;
/// Words of the query past this many are ignored (each costs a pass over the leads).
const MAX_WORDS: usize = 6;
/// Characters of the query past this many are ignored.
const MAX_CHARS: usize = 200;
/// A word with at least this many digits and nothing but digits and `+ - ( ) .` is (also)
/// part of a phone number.
const MIN_PHONE_DIGITS: usize = 3;

/// One word of the query, as the SQL matches it.
#[derive(Debug, Clone, PartialEq)]
struct Term {
    /// A case-insensitive RE2 pattern matching the word literally, ё and е alike; `None`
    /// for a query that is one phone number written with spaces.
    text: Option<String>,
    /// The word in lower case, matched as a substring of the e-mail addresses.
    lower: String,
    /// Ways the word may appear in a stored number (`+79161234567`), any of them a match;
    /// empty when the word is not part of a number.
    digits: Vec<String>,
}

/// What the query asks for.
#[derive(Debug, Clone, PartialEq)]
struct Query {
    /// The whole query read as one number or one address, matched exactly.
    phone: Option<String>,
    email: Option<String>,
    terms: Vec<Term>,
}

/// A literal, case-insensitive RE2 pattern for `word`, in which `е` and `ё` match each other.
fn pattern(word: &str) -> String {
    let mut out = String::from("(?i)");
    for c in word.chars() {
        match c {
            'е' | 'ё' | 'Е' | 'Ё' => out.push_str("[её]"),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `Some(digits)` when `word` is written like (part of) a phone number.
fn phone_digits(word: &str) -> Option<String> {
    let phone_chars = word
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits: String = word.chars().filter(char::is_ascii_digit).collect();
    (phone_chars && digits.len() >= MIN_PHONE_DIGITS).then_some(digits)
}

/// How the digits of `word` may appear in a stored number: as they are; from the start of
/// the number when typed with `+`; and a leading 8 as +7 (`8 916 …`, the Russian trunk
/// prefix).
fn digit_forms(word: &str, digits: &str) -> Vec<String> {
    if word.trim_start().starts_with('+') {
        return vec![format!("+{digits}")];
    }
    let mut forms = vec![digits.to_string()];
    if let Some(rest) = digits.strip_prefix('8') {
        forms.push(format!("+7{rest}"));
    }
    forms
}

impl Query {
    fn parse(q: &str, normaliser: &Normaliser) -> Query {
        let q: String = q
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_CHARS)
            .collect();
        let q = q.trim();
        let phone = normaliser.phone.normalise(q).ok().and_then(|i| i.e164);
        let email = crate::normalise::email::normalise_email(q)
            .ok()
            .map(|i| i.email);
        // A number typed with spaces (`8 (916) 123-45-67`) is one term, not five.
        let terms = match phone_digits(q) {
            Some(digits) => vec![Term {
                text: None,
                lower: String::new(),
                digits: digit_forms(q, &digits),
            }],
            None => q
                .split_whitespace()
                .take(MAX_WORDS)
                .map(|word| Term {
                    text: Some(pattern(word)),
                    lower: word.to_lowercase(),
                    digits: phone_digits(word)
                        .map(|d| digit_forms(word, &d))
                        .unwrap_or_default(),
                })
                .collect(),
        };
        Query {
            phone,
            email,
            terms,
        }
    }
}

/// A lead as the results list shows it.
struct Found {
    lead_id: i64,
    name: String,
    phones: String,
    emails: String,
    city: String,
    company: String,
    consent: String,
}

/// Folded for comparison: lower case, ё as е.
fn fold(text: &str) -> String {
    text.to_lowercase().replace('ё', "е")
}

/// For each term, the cities as the records wrote them (`СПб`) whose canonical name
/// (`Санкт-Петербург`) contains the term: a lead's city is one of its records' own.
fn cities_by_canonical(
    conn: &duckdb::Connection,
    query: &Query,
) -> Result<Vec<Vec<String>>, duckdb::Error> {
    let words: Vec<String> = query.terms.iter().map(|t| fold(&t.lower)).collect();
    if words.iter().all(String::is_empty) {
        return Ok(vec![Vec::new(); words.len()]);
    }
    let mut stmt = conn.prepare(
        "SELECT DISTINCT city, city_canonical FROM records
         WHERE city IS NOT NULL AND city_canonical IS NOT NULL AND city <> city_canonical",
    )?;
    let pairs = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(words
        .iter()
        .map(|w| {
            pairs
                .iter()
                .filter(|(_, canonical)| !w.is_empty() && fold(canonical).contains(w.as_str()))
                .map(|(city, _)| city.clone())
                .collect()
        })
        .collect())
}

/// The SQL of `query` (only `?n` placeholders, numbered in the order of the returned
/// parameters) and its parameters. `cities`: per term, the written cities its canonical
/// city name matches ([`cities_by_canonical`]); `city_canonical`: `leads` has that column.
fn sql(
    query: &Query,
    cities: &[Vec<String>],
    city_canonical: bool,
) -> (String, Vec<Option<String>>) {
    let mut params: Vec<Option<String>> = vec![query.phone.clone(), query.email.clone()];
    let next = |value: &str, params: &mut Vec<Option<String>>| {
        params.push(Some(value.to_string()));
        format!("?{}", params.len())
    };
    let mut clauses = Vec::new();
    for (i, term) in query.terms.iter().enumerate() {
        let mut any = Vec::new();
        if let Some(text) = &term.text {
            let p = next(text, &mut params);
            for col in ["full_name", "company", "city", "region"] {
                any.push(format!("regexp_matches(l.{col}, {p})"));
            }
            if city_canonical {
                any.push(format!("regexp_matches(l.city_canonical, {p})"));
            }
            let lower = next(&term.lower, &mut params);
            any.push(format!("contains(array_to_string(l.emails, ' '), {lower})"));
        }
        if let Some(written) = cities.get(i).filter(|c| !c.is_empty()) {
            // One parameter, the names separated by a character no city name holds.
            let p = next(&written.join("\u{1f}"), &mut params);
            any.push(format!(
                "l.city IN (SELECT unnest(string_split({p}, chr(31))))"
            ));
        }
        for form in &term.digits {
            let p = next(form, &mut params);
            any.push(format!("contains(array_to_string(l.phones, ' '), {p})"));
        }
        clauses.push(format!("({})", any.join(" OR ")));
    }
    let words = if clauses.is_empty() {
        "false".to_string()
    } else {
        clauses.join(" AND ")
    };
    let sql = format!(
        "SELECT l.lead_id, coalesce(l.full_name, ''), coalesce(array_to_string(l.phones, ', '), ''),
                coalesce(array_to_string(l.emails, ', '), ''), coalesce(l.city, ''),
                coalesce(l.company, ''), coalesce(l.call_consent, ''), count(*) OVER ()
         FROM leads l
         WHERE (?1 IS NOT NULL AND list_contains(l.phones, ?1))
            OR (?2 IS NOT NULL AND list_contains(l.emails, ?2))
            OR ({words})
         ORDER BY l.lead_id LIMIT {SHOWN}"
    );
    (sql, params)
}

/// The leads matching `q` (the first [`SHOWN`]) and how many match in all.
fn find(store: &Store, query: &Query) -> Result<(Vec<Found>, u64), duckdb::Error> {
    let conn = store.connection();
    let city_canonical: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_columns()
         WHERE table_name = 'leads' AND column_name = 'city_canonical'",
        [],
        |r| r.get(0),
    )?;
    let cities = if city_canonical > 0 {
        Vec::new()
    } else {
        cities_by_canonical(conn, query)?
    };
    let (sql, params) = sql(query, &cities, city_canonical > 0);
    let mut stmt = conn.prepare(&sql)?;
    let mut total = 0u64;
    let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
        total = r.get::<_, i64>(7)? as u64;
        Ok(Found {
            lead_id: r.get(0)?,
            name: r.get(1)?,
            phones: r.get(2)?,
            emails: r.get(3)?,
            city: r.get(4)?,
            company: r.get(5)?,
            consent: r.get(6)?,
        })
    })?;
    let found = rows.collect::<Result<Vec<_>, _>>()?;
    Ok((found, total))
}

/// The results page of `q` (already trimmed, not empty).
pub fn page(
    store: &Store,
    normaliser: &Normaliser,
    view: View,
    q: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let title = format!("{} «{}»", view.pick("Поиск", "Search"), q);
    let mut body = format!("<h1>{}</h1>", esc(&title));
    let (found, total) = match find(store, &Query::parse(q, normaliser)) {
        Ok(found) => found,
        Err(e) => {
            let _ = write!(
                body,
                "<p id=\"error\">{} {}</p>",
                view.pick("Поиск не удался:", "The search failed:"),
                esc(&e.to_string())
            );
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                view.page_with_query(&title, q, &body),
            )
                .into_response();
        }
    };
    if found.is_empty() {
        let _ = write!(
            body,
            "<p id=\"none\">{}</p>",
            view.pick(
                "Ничего не найдено. Можно искать по части ФИО в любом порядке слов, по части телефона или e-mail, по компании или городу.",
                "No lead matches. Search by part of a name (words in any order), part of a phone or e-mail, a company or a city."
            )
        );
    } else {
        count_line(&mut body, view, total, found.len());
        results_table(&mut body, view, &found);
    }
    view.page_with_query(&title, q, &body).into_response()
}

/// "Found 3 leads" or "Found 1 234 leads, showing the first 50".
fn count_line(body: &mut String, view: View, total: u64, shown: usize) {
    let total_text = view::number(view.lang, total);
    let line = if (shown as u64) < total {
        match view.lang {
            crate::lang::Lang::Ru => {
                format!("Найдено лидов: {total_text}, показаны первые {shown}.")
            }
            crate::lang::Lang::En => {
                format!("Found {total_text} leads, showing the first {shown}.")
            }
        }
    } else {
        match view.lang {
            crate::lang::Lang::Ru => format!("Найдено лидов: {total_text}."),
            crate::lang::Lang::En => format!("Found {total_text} leads."),
        }
    };
    let _ = write!(
        body,
        "<p class=\"count\" id=\"count\" data-total=\"{total}\">{}</p>",
        esc(&line)
    );
}

fn results_table(body: &mut String, view: View, found: &[Found]) {
    let head = [
        view.pick("Лид", "Lead"),
        view.pick("ФИО", "Name"),
        view.pick("Телефоны", "Phones"),
        "E-mail",
        view.pick("Город", "City"),
        view.pick("Компания", "Company"),
        view.pick("Согласие на звонки", "Call consent"),
    ];
    let rows = found.iter().map(|f| {
        vec![
            format!("<a class=\"lead\" href=\"/lead/{0}\">{0}</a>", f.lead_id),
            format!("<a href=\"/lead/{}\">{}</a>", f.lead_id, esc(&f.name)),
            some_of(view, &f.phones, view::phone),
            some_of(view, &f.emails, str::to_string),
            esc(&f.city),
            esc(&f.company),
            view::consent_badge(view.lang, &f.consent),
        ]
    });
    body.push_str(&view::table("results", &head, rows));
}

/// The first three items of a `, `-separated list, one per line, and how many more.
fn some_of(view: View, list: &str, show: fn(&str) -> String) -> String {
    let items: Vec<&str> = list.split(", ").filter(|s| !s.is_empty()).collect();
    let mut out = items
        .iter()
        .take(3)
        .map(|i| format!("<span class=\"nowrap\">{}</span>", esc(&show(i))))
        .collect::<Vec<_>>()
        .join("<br>");
    if items.len() > 3 {
        let _ = write!(
            out,
            "<span class=\"more\">{} {}</span>",
            view.pick("и ещё", "and"),
            items.len() - 3
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Query {
        Query::parse(q, &Normaliser::default())
    }

    #[test]
    fn words_are_literal_patterns_with_yo_folded() {
        assert_eq!(pattern("Семёнов"), "(?i)С[её]м[её]нов");
        assert_eq!(pattern("bk.ru"), "(?i)bk\\.ru");
        assert_eq!(pattern("100%"), "(?i)100\\%");
        assert_eq!(pattern("a_b\\"), "(?i)a\\_b\\\\");
        assert_eq!(pattern("(.*)"), "(?i)\\(\\.\\*\\)");
    }

    #[test]
    fn a_number_typed_with_spaces_is_one_term() {
        let q = parse("8 (916) 123-45-67");
        assert_eq!(q.phone.as_deref(), Some("+79161234567"));
        assert_eq!(q.terms.len(), 1);
        assert_eq!(q.terms[0].digits, ["89161234567", "+79161234567"]);
        assert_eq!(parse("+7 916").terms[0].digits, ["+7916"]);
        assert_eq!(parse("916 123").terms[0].digits, ["916123"]);
        assert_eq!(parse("4567").terms[0].digits, ["4567"]);
    }

    #[test]
    fn words_match_in_any_order_and_short_numbers_are_text() {
        let q = parse("Иван  Иванов");
        assert_eq!(q.terms.len(), 2);
        assert!(q.terms.iter().all(|t| t.digits.is_empty()));
        assert_eq!(q.terms[1].lower, "иванов");
        let q = parse("Проект 1");
        assert!(q.terms[1].digits.is_empty());
        let q = parse("Иванов 123-45-67");
        assert_eq!(q.terms[1].digits, ["1234567"]);
        assert!(q.terms[1].text.is_some());
        assert_eq!(parse("a b c d e f g h").terms.len(), MAX_WORDS);
    }

    #[test]
    fn typed_text_only_reaches_the_sql_as_parameters() {
        let q = parse("Robert'); DROP TABLE leads;-- bk.ru");
        let (sql, params) = sql(&q, &[], false);
        assert!(!sql.contains("DROP"));
        assert!(!sql.contains("bk"));
        assert!(params.iter().flatten().any(|p| p.contains("DROP")));
    }
}
