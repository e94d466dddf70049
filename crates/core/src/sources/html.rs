//! Open-web directory pages: each lead is an element (a company card, a table row) found
//! by a CSS selector, with fields read by selectors inside it. Phones and e-mails are also
//! looked for in the element's free text (libphonenumber's matcher), so a number written
//! in a description is not missed. Pages are saved files here; every row keeps the page it
//! came from and that page's SHA-256, so a reviewer can see where a contact came from.

use super::headers::Field;
use super::{OpenedSource, SourceError, SourceSpec};
use crate::record::{Cell, RawRow, RowProblem};
use rlibphonenumber::phonenumber_matcher::{Leniency, PHONE_MATCHER_FACTORY};
use rlibphonenumber::PhoneNumberFormat;
use scraper::{ElementRef, Html, Selector};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Extraction rules for an `html` source (`[sources.html]` in the pipeline file).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlRules {
    /// CSS selector of one lead on a page; without it the whole page is one lead.
    pub item: Option<String>,
    /// Field name (company, full_name, phone, email, address, city, website …) → CSS
    /// selector inside the item.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// Compiled rules.
struct Rules {
    item: Option<Selector>,
    fields: Vec<(Arc<str>, Option<Field>, Selector)>,
}

fn selector(path: &Path, what: &str, css: &str) -> Result<Selector, SourceError> {
    Selector::parse(css).map_err(|e| SourceError::Html {
        path: path.to_path_buf(),
        message: format!("{what}: {css:?} is not a CSS selector ({e:?})"),
    })
}

fn compile(path: &Path, rules: &HtmlRules) -> Result<Rules, SourceError> {
    let item = match &rules.item {
        Some(css) => Some(selector(path, "item", css)?),
        None => None,
    };
    let mut fields = Vec::new();
    for (name, css) in &rules.fields {
        let field = Field::from_name(name);
        if field.is_none() {
            return Err(SourceError::Html {
                path: path.to_path_buf(),
                message: format!(
                    "field {name:?} is not a field leadpipe knows; known: {}",
                    Field::ALL.map(Field::name).join(", ")
                ),
            });
        }
        fields.push((Arc::from(name.as_str()), field, selector(path, name, css)?));
    }
    Ok(Rules { item, fields })
}

/// The saved pages of a source: one `.html`/`.htm` file, or every such file in a folder
/// (sorted by name, so row numbers are stable).
fn page_files(path: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| super::file_error(path, e))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !meta.is_dir() {
        super::check_regular(path, &meta)?; // a device, a FIFO…: refused, never read
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| SourceError::Io {
            path: path.to_path_buf(),
            source: e,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SourceError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(files)
}

/// Opens an `html` source over fetched pages (see `fetch`). Pages that gave no HTML (an
/// error, robots.txt, another content type, not fetched at all) become one rejected row
/// each, with the reason, so the crawl's gaps are in `rejects` too. A redirect the crawler
/// followed is no row: the page it led to stands for it (a chain that failed is one
/// rejected row, naming its hops).
pub fn open_fetched(
    spec: &SourceSpec,
    rules: &HtmlRules,
    pages: &[super::fetch::Page],
) -> Result<OpenedSource, SourceError> {
    let compiled = compile(&spec.path, rules)?;
    let mut all = Sha256::new();
    let mut rows = Vec::new();
    let mut next_row = 1u64;
    for page in pages {
        all.update(page.url.as_bytes());
        all.update(page.body.as_deref().unwrap_or_default());
        if page.redirect_to.is_some() && page.error.is_none() {
            continue;
        }
        let extracted = if page.is_html() {
            // In the charset the server declared (or detected); extraction sees UTF-8.
            let text = super::fetch::decode_body(page);
            let hash = hex::encode(Sha256::digest(page.body.as_deref().unwrap_or_default()));
            extract_page(&page.url, text.as_bytes(), Some(hash), &compiled)
        } else {
            let (code, reason) = match (&page.error, page.status, &page.content_type) {
                (Some(e), _, _) if e.starts_with(super::fetch::DISALLOWED) => {
                    ("robots_disallowed", e.clone())
                }
                (Some(e), _, _) if e.starts_with(super::fetch::NOT_FETCHED) => {
                    ("not_fetched", e.clone())
                }
                (Some(e), _, _) => ("fetch_failed", e.clone()),
                (None, Some(s), _) if !(200..300).contains(&s) => {
                    ("fetch_failed", format!("HTTP {s}"))
                }
                (None, _, ct) => (
                    "not_html",
                    format!("content type {:?} is not HTML", ct.as_deref().unwrap_or("")),
                ),
            };
            vec![RawRow {
                source_row: 0,
                cells: vec![Cell {
                    key: Arc::from("_page"),
                    field: None,
                    value: page.url.clone(),
                }],
                problem: Some(RowProblem {
                    code,
                    field: None,
                    reason: format!("{}: {reason}", page.url),
                }),
            }]
        };
        for mut row in extracted {
            row.source_row = next_row;
            next_row += 1;
            rows.push(row);
        }
    }
    Ok(OpenedSource {
        sheet: None,
        content_hash: hex::encode(all.finalize()),
        headers: Vec::new(),
        encoding: Some("UTF-8"),
        delimiter: None,
        rows: Box::new(rows.into_iter()),
    })
}

/// Opens an `html` source over saved pages. Every page is read and hashed up front (the
/// source's hash covers all pages and their names), one at a time; rows are extracted
/// page by page as they are wanted, so only one page is in memory at once.
pub fn open(spec: &SourceSpec, rules: &HtmlRules) -> Result<OpenedSource, SourceError> {
    let compiled = compile(&spec.path, rules)?;
    let files = page_files(&spec.path)?;
    let mut all = Sha256::new();
    for f in &files {
        let bytes = read_page(f)?;
        all.update(
            f.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        all.update(&bytes);
    }
    let mut headers: Vec<String> = vec!["_page".into(), "_page_sha256".into()];
    headers.extend(compiled.fields.iter().map(|(k, _, _)| k.to_string()));
    headers.extend(["_text_phones".into(), "_text_emails".into()]);
    let mut next_row = 0u64;
    let rows = files.into_iter().flat_map(move |f| {
        let name = f.display().to_string();
        let rows = match read_page(&f) {
            Ok(bytes) => extract_page(&name, &bytes, None, &compiled),
            // Read when hashed a moment ago: gone or changed since. Said, not skipped.
            Err(e) => vec![RawRow {
                source_row: 0,
                cells: vec![Cell {
                    key: Arc::from("_page"),
                    field: None,
                    value: name.clone(),
                }],
                problem: Some(RowProblem {
                    code: "unreadable_row",
                    field: None,
                    reason: e.to_string(),
                }),
            }],
        };
        let mut rows = rows;
        for row in &mut rows {
            next_row += 1;
            row.source_row = next_row;
        }
        rows
    });
    Ok(OpenedSource {
        sheet: None,
        content_hash: hex::encode(all.finalize()),
        headers,
        encoding: Some("UTF-8"),
        delimiter: None,
        rows: Box::new(rows),
    })
}

/// One saved page: a regular file (a FIFO or device is refused, never waited on), at most
/// [`super::MAX_HTML_PAGE_BYTES`].
fn read_page(path: &Path) -> Result<Vec<u8>, SourceError> {
    super::read_capped(path, "saved HTML page", super::MAX_HTML_PAGE_BYTES)
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value a field selector points at: a `mailto:`/`tel:` link's target, else the text.
fn value_of(el: ElementRef) -> String {
    if let Some(href) = el.value().attr("href") {
        for scheme in ["mailto:", "tel:"] {
            if let Some(v) = href.strip_prefix(scheme) {
                return v.split('?').next().unwrap_or(v).trim().to_string();
            }
        }
    }
    collapse(&el.text().collect::<String>())
}

/// Valid numbers written anywhere in `text`, E.164, in order, once each.
pub fn phones_in_text(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in PHONE_MATCHER_FACTORY.create_matcher(
        text,
        Leniency::Valid,
        u64::MAX,
        Some(rlibphonenumber::Region::RU),
    ) {
        let e = m.number.format_as(PhoneNumberFormat::E164).into_owned();
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// Addresses written anywhere in `text` (a token with an `@` that normalises), once each.
pub fn emails_in_text(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || ",;<>()[]\"'".contains(c)) {
        if !token.contains('@') {
            continue;
        }
        let token = token
            .trim_matches(|c: char| c == '.' || c == ':')
            .trim_start_matches("mailto:");
        if let Ok(info) = crate::normalise::email::normalise_email(token) {
            if !out.contains(&info.email) {
                out.push(info.email);
            }
        }
    }
    out
}

/// Rows of one page. `hash` is the SHA-256 of the page as stored (the fetched body, or the
/// saved file); `None` computes it from `bytes`.
fn extract_page(name: &str, bytes: &[u8], hash: Option<String>, rules: &Rules) -> Vec<RawRow> {
    let hash = hash.unwrap_or_else(|| hex::encode(Sha256::digest(bytes)));
    let base = |problem: Option<RowProblem>| RawRow {
        source_row: 0,
        cells: vec![
            Cell {
                key: Arc::from("_page"),
                field: None,
                value: name.to_string(),
            },
            Cell {
                key: Arc::from("_page_sha256"),
                field: None,
                value: hash.clone(),
            },
        ],
        problem,
    };
    // A page that is not text (a PDF saved as .html) is one rejected row, never a panic.
    if bytes.iter().take(64 * 1024).any(|&b| b == 0) {
        return vec![base(Some(RowProblem {
            code: "not_html",
            field: None,
            reason: format!("{name}: not an HTML page (binary content)"),
        }))];
    }
    // Saved pages in any encoding (windows-1251 is common on .ru directories).
    let text = match super::text::decode(Path::new(name), bytes, None) {
        Ok(d) => d.text,
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    let doc = Html::parse_document(&text);
    let items: Vec<ElementRef> = match &rules.item {
        Some(sel) => doc.select(sel).collect(),
        None => vec![doc.root_element()],
    };
    if items.is_empty() {
        return vec![base(Some(RowProblem {
            code: "no_items",
            field: None,
            reason: format!("{name}: the item selector matched nothing on this page"),
        }))];
    }
    items
        .into_iter()
        .map(|item| item_row(base(None), item, rules))
        .collect()
}

/// One item's row: `row` (the page's cells) with a cell per field selector, then the
/// phones and e-mails written anywhere in the item.
fn item_row(mut row: RawRow, item: ElementRef, rules: &Rules) -> RawRow {
    let mut has_phone = false;
    let mut has_email = false;
    for (key, field, sel) in &rules.fields {
        let values: Vec<String> = item
            .select(sel)
            .map(value_of)
            .filter(|v| !v.is_empty())
            .collect();
        let value = values.join(", ");
        has_phone |= *field == Some(Field::Phone) && !value.is_empty();
        has_email |= *field == Some(Field::Email) && !value.is_empty();
        row.cells.push(Cell {
            key: key.clone(),
            field: *field,
            value,
        });
    }
    let free = free_text(item);
    let phones = phones_in_text(&free).join(", ");
    let emails = emails_in_text(&free).join(", ");
    // Found in text: used when no selector gave that field, kept raw otherwise.
    row.cells.push(Cell {
        key: Arc::from("_text_phones"),
        field: (!has_phone && !phones.is_empty()).then_some(Field::Phone),
        value: phones,
    });
    row.cells.push(Cell {
        key: Arc::from("_text_emails"),
        field: (!has_email && !emails.is_empty()).then_some(Field::Email),
        value: emails,
    });
    super::check_cells(&mut row, None);
    row
}

/// An item's text, and the targets of its mailto:/tel: links.
fn free_text(item: ElementRef) -> String {
    let mut free = collapse(&item.text().collect::<String>());
    for a in item.select(&LINKS) {
        if let Some(href) = a.value().attr("href") {
            free.push(' ');
            free.push_str(
                href.trim_start_matches("mailto:")
                    .trim_start_matches("tel:"),
            );
        }
    }
    free
}

static LINKS: std::sync::LazyLock<Selector> = std::sync::LazyLock::new(|| {
    Selector::parse("a[href^='mailto:'], a[href^='tel:']").expect("a valid selector")
});

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(item: &str, fields: &[(&str, &str)]) -> Rules {
        compile(
            Path::new("t"),
            &HtmlRules {
                item: Some(item.into()),
                fields: fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        )
        .unwrap()
    }

    #[test]
    fn cards_become_rows_with_free_text_contacts() {
        let page = r#"<html><body>
            <div class="card"><h2 class="name">ООО «Ромашка»</h2>
              <p class="city">Москва</p>
              <p>Звоните: 8 (495) 765-43-21, пишите <a href="mailto:info@romashka.ru">нам</a></p></div>
            <div class="card"><h2 class="name">ИП Петров</h2><span class="phone">+7 916 123-45-67</span>
              <p>Также +7 903 111 22 33</p></div>
            <div class="card"><h2 class="name">Broken <b>unclosed
            </body></html>"#;
        let r = rules(
            ".card",
            &[("company", ".name"), ("city", ".city"), ("phone", ".phone")],
        );
        let rows = extract_page("p1.html", page.as_bytes(), None, &r);
        assert_eq!(rows.len(), 3, "malformed HTML still parses");
        let get = |row: &RawRow, k: &str| {
            row.cells
                .iter()
                .find(|c| &*c.key == k)
                .map(|c| (c.value.clone(), c.field))
                .unwrap()
        };
        assert_eq!(get(&rows[0], "company").0, "ООО «Ромашка»");
        // No phone selector matched: the number in the text is the phone.
        assert_eq!(
            get(&rows[0], "_text_phones"),
            ("+74957654321".to_string(), Some(Field::Phone))
        );
        assert_eq!(
            get(&rows[0], "_text_emails"),
            ("info@romashka.ru".to_string(), Some(Field::Email))
        );
        // A selector gave the phone: the free-text numbers stay raw, not mapped.
        assert_eq!(get(&rows[1], "phone").0, "+7 916 123-45-67");
        let (text, field) = get(&rows[1], "_text_phones");
        assert_eq!(text, "+79161234567, +79031112233");
        assert_eq!(field, None);
        assert_eq!(get(&rows[0], "_page").0, "p1.html");
    }

    #[test]
    fn binary_and_empty_pages_are_rejected_rows() {
        let r = rules(".card", &[("company", ".name")]);
        let rows = extract_page("x.html", b"%PDF\0\0binary", None, &r);
        assert_eq!(rows[0].problem.as_ref().unwrap().code, "not_html");
        let rows = extract_page("y.html", b"<html><p>nothing here</p></html>", None, &r);
        assert_eq!(rows[0].problem.as_ref().unwrap().code, "no_items");
    }

    #[test]
    fn bad_rules_are_named() {
        let err = compile(
            Path::new("t"),
            &HtmlRules {
                item: Some("div[".into()),
                fields: BTreeMap::new(),
            },
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("item"));
        let err = compile(
            Path::new("t"),
            &HtmlRules {
                item: None,
                fields: [("telephone".to_string(), ".x".to_string())].into(),
            },
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("telephone"));
    }

    proptest::proptest! {
        /// Any bytes make rows or rejected rows, never a panic.
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let r = rules("div", &[("company", "b")]);
            let rows = extract_page("z.html", &bytes, None, &r);
            proptest::prop_assert!(!rows.is_empty());
        }
    }
}
