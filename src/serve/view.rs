//! What every page of the review server shares: the frame (a header with the search box,
//! the page's own small stylesheet), tables, and values as people read them, in the page's
//! language and the base's zone. Codes stored in the base (`granted`, `checkbox`, `form`)
//! are shown by a label where one is known, else as they are.

use crate::lang::Lang;
pub use crate::lang::{consent_status_label, label, labels, View};
use crate::report::esc;
use axum::response::Html;
use std::fmt::Write as _;

/// The stylesheet, inline in every page (the Content-Security-Policy allows inline styles
/// and nothing from elsewhere: no web fonts, no scripts).
const STYLE: &str = include_str!("style.css");

impl View {
    /// A whole page: the header with the search box (holding `query`), then `body` (HTML).
    pub fn page_with_query(self, title: &str, query: &str, body: &str) -> Html<String> {
        let lang = self.lang.as_str();
        let hint = self.pick(
            "ФИО, телефон, e-mail, компания или город",
            "name, phone, e-mail, company or city",
        );
        let button = self.pick("Найти", "Search");
        let label = self.pick("Поиск лида", "Find a lead");
        Html(format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} — leadpipe</title><style>{STYLE}</style></head><body>\
             <header><div class=\"bar\"><a class=\"brand\" href=\"/\">leadpipe</a>\
             <form action=\"/search\" role=\"search\"><input name=\"q\" id=\"q\" type=\"search\" \
             value=\"{query}\" placeholder=\"{hint}\" aria-label=\"{label}\"> \
             <button>{button}</button></form></div></header><main>{body}</main></body></html>",
            title = esc(title),
            query = esc(query),
        ))
    }

    pub fn page(self, title: &str, body: &str) -> Html<String> {
        self.page_with_query(title, "", body)
    }

    /// A time as the base's JSON gives it (`2026-10-31 21:00:00+00`), shown like
    /// [`View::time`]; text that does not read as a time is shown as it is.
    pub fn stored_time(self, text: &str) -> String {
        match crate::report::parse_stored_time(text) {
            Some(t) => self.time(t),
            None => text.to_string(),
        }
    }
}

/// A table whose cells are HTML already (escape text with [`esc`]). On a phone each row
/// becomes a card of "header: value" lines (`data-label`); on a wide screen a table that is
/// still too wide scrolls inside its box, not the page.
pub fn table(id: &str, head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let id = if id.is_empty() {
        String::new()
    } else {
        format!(" id=\"{id}\"")
    };
    let mut out = format!("<div class=\"scroll\"><table class=\"stack\"{id}><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let label = head.get(i).copied().unwrap_or("");
            let _ = write!(
                out,
                "<td data-label=\"{}\"><span class=\"v\">{cell}</span></td>",
                esc(label)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A two-column table of (label, value HTML); rows with an empty value are left out.
pub fn fields_table(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<div class=\"scroll\"><table class=\"kv\"><tbody>");
    for (label, value) in rows.iter().filter(|(_, v)| !v.is_empty()) {
        let _ = write!(out, "<tr><th>{}</th><td>{value}</td></tr>", esc(label));
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A phone as people write it: `+7 916 123-45-67` for Russian and Kazakh numbers, others
/// as stored (E.164).
pub fn phone(e164: &str) -> String {
    let digits = e164.strip_prefix("+7").unwrap_or("");
    if digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!(
            "+7 {} {}-{}-{}",
            &digits[..3],
            &digits[3..6],
            &digits[6..8],
            &digits[8..]
        )
    } else {
        e164.to_string()
    }
}

/// The current call consent of a lead as a badge: colour, a sign and words, so it reads
/// without colour too. Only `granted` lets a lead be called for advertising.
pub fn consent_badge(lang: Lang, status: &str) -> String {
    let (class, sign) = match status {
        "granted" => ("ok", "✓"),
        "claimed" => ("wait", "✕"),
        _ => ("no", "✕"),
    };
    format!(
        "<span class=\"st {class}\" data-status=\"{}\">{sign} {}</span>",
        esc(status),
        esc(&consent_status_label(lang, status))
    )
}

/// A consent event (given, withdrawn …) as a badge like [`consent_badge`].
pub fn event_badge(lang: Lang, status: &str) -> String {
    let (class, sign, ru, en) = match status {
        "granted" => ("ok", "✓", "согласие дано", "consent given"),
        "withdrawn" => ("no", "✕", "отзыв согласия", "withdrawal"),
        "expired" => ("no", "✕", "согласие истекло", "expiry"),
        "claimed" => ("wait", "?", "со слов продавца базы", "vendor's claim"),
        _ => ("no", "✕", "без согласия", "no consent"),
    };
    format!(
        "<span class=\"st {class}\" data-status=\"{}\">{sign} {}</span>",
        esc(status),
        lang.pick(ru, en)
    )
}

/// A count with its thousands grouped: `38 740` (a no-break space) or `38,740`.
pub fn number(lang: Lang, n: u64) -> String {
    let digits = n.to_string();
    let sep = lang.pick("\u{a0}", ",");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_read_in_groups_and_other_numbers_stay_as_stored() {
        assert_eq!(phone("+79161234567"), "+7 916 123-45-67");
        assert_eq!(phone("+375291234567"), "+375291234567");
        assert_eq!(phone("+7916"), "+7916");
    }

    #[test]
    fn stored_times_show_in_the_bases_zone_with_the_offset() {
        let view = View {
            lang: Lang::Ru,
            zone: chrono::FixedOffset::east_opt(3 * 3600).unwrap(),
        };
        assert_eq!(
            view.stored_time("2026-10-31 21:00:00+00"),
            "01.11.2026 00:00 (+03:00)"
        );
        assert_eq!(
            view.stored_time("2026-10-31T21:00:00Z"),
            "01.11.2026 00:00 (+03:00)"
        );
        assert_eq!(view.stored_time("soon"), "soon");
    }

    #[test]
    fn counts_group_thousands() {
        assert_eq!(number(Lang::En, 1234567), "1,234,567");
        assert_eq!(number(Lang::Ru, 38740), "38\u{a0}740");
        assert_eq!(number(Lang::Ru, 740), "740");
    }

    #[test]
    fn the_badge_says_the_status_in_words() {
        assert!(consent_badge(Lang::Ru, "granted").contains("✓ согласие есть"));
        assert!(consent_badge(Lang::En, "withdrawn").contains("✕ consent withdrawn"));
        assert!(consent_badge(Lang::En, "").contains("class=\"st no\""));
    }
}
