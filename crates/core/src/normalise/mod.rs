//! The normalise stage: one raw row in, one clean record (or a reject reason) out.
//! Each kind of value has its own module; this one only routes cells to them.

pub mod company;
pub mod datetime;
pub mod email;
pub mod layout;
pub mod name;
pub mod phone;

use crate::record::Field;
use crate::record::{CleanRecord, RawRow};
use chrono::FixedOffset;
use phone::PhoneNormaliser;

/// Answers a form's consent checkbox can hold. Anything else is kept raw, status unknown.
const CONSENT_YES: [&str; 14] = [
    "1",
    "true",
    "yes",
    "y",
    "on",
    "checked",
    "да",
    "д",
    "+",
    "v",
    "✓",
    "✔",
    "согласен",
    "согласна",
];
const CONSENT_NO: [&str; 9] = [
    "0",
    "false",
    "no",
    "n",
    "off",
    "нет",
    "н",
    "-",
    "не согласен",
];

/// Settings for the stage, from the pipeline file.
#[derive(Debug, Clone, Copy)]
pub struct Normaliser {
    pub phone: PhoneNormaliser,
    /// Offset assumed for timestamps written without a zone.
    pub naive_offset: FixedOffset,
}

impl Default for Normaliser {
    fn default() -> Self {
        Normaliser {
            phone: PhoneNormaliser::default(),
            naive_offset: FixedOffset::east_opt(datetime::MOSCOW_OFFSET_SECONDS)
                .unwrap_or(FixedOffset::east_opt(0).expect("zero offset is valid")),
        }
    }
}

/// Why a row was not accepted: the field at fault (if one) and a reason a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRefusal {
    pub code: &'static str,
    pub field: Option<&'static str>,
    pub reason: String,
}

/// Trims and folds runs of whitespace (incl. NBSP and newlines) into one space.
pub fn clean_text(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c == '\u{a0}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

pub fn parse_consent(raw: &str) -> Option<bool> {
    let v = raw.trim().to_lowercase();
    if CONSENT_YES.contains(&v.as_str()) {
        Some(true)
    } else if CONSENT_NO.contains(&v.as_str()) {
        Some(false)
    } else {
        None
    }
}

impl Normaliser {
    /// Normalises one row. A row is accepted when it has a valid phone or a valid email:
    /// without either nobody can be contacted, so it is refused with the reasons.
    pub fn normalise(&self, row: &RawRow) -> Result<CleanRecord, RowRefusal> {
        let mut rec = CleanRecord {
            source_row: row.source_row,
            ..CleanRecord::default()
        };
        self.phones(row, &mut rec);
        emails(row, &mut rec);
        let text = |f: Field| row.first(f).and_then(clean_text);
        rec.company = text(Field::Company);
        names(row, &mut rec);

        rec.position = text(Field::Position);
        rec.city = text(Field::City);
        rec.region = text(Field::Region);
        rec.address = text(Field::Address);
        rec.inn = row
            .first(Field::Inn)
            .map(|v| v.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|v| !v.is_empty());
        rec.ogrn = row
            .first(Field::Ogrn)
            .map(|v| v.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|v| !v.is_empty());
        rec.website = text(Field::Website);
        rec.comment = text(Field::Comment);
        rec.created_at = row
            .first(Field::CreatedAt)
            .and_then(|v| datetime::parse_timestamp(v, self.naive_offset));
        rec.consent_raw = text(Field::Consent);
        rec.consent_given = rec.consent_raw.as_deref().and_then(parse_consent);
        rec.consent_at = row
            .first(Field::ConsentAt)
            .and_then(|v| datetime::parse_timestamp(v, self.naive_offset));
        rec.consent_text_version = text(Field::ConsentTextVersion);
        rec.form_url = text(Field::FormUrl);
        rec.ip = text(Field::Ip);
        rec.user_agent = text(Field::UserAgent);

        if rec.phone_e164.is_some() || rec.email.is_some() {
            return Ok(rec);
        }
        Err(refusal(&rec))
    }

    fn phones(&self, row: &RawRow, rec: &mut CleanRecord) {
        let mut raws = Vec::new();
        for cell in row.all(Field::Phone) {
            raws.push(cell);
            for (part, result) in self.phone.normalise_cell(cell) {
                match result {
                    Ok(info) => {
                        let Some(e164) = info.e164 else { continue };
                        if rec.phone_e164.is_none() {
                            rec.phone_e164 = Some(e164);
                            rec.phone_type = Some(info.line_type.as_str().to_string());
                            rec.phone_ext = info.extension;
                            rec.phone_region = info.region;
                        } else if rec.phone_e164.as_deref() != Some(e164.as_str())
                            && !rec.phones_extra.contains(&e164)
                        {
                            rec.phones_extra.push(e164);
                        }
                    }
                    Err(e) => {
                        if rec.phone_problem.is_none() {
                            rec.phone_problem = Some(match e {
                                phone::PhoneError::Invalid(_) => {
                                    format!("{part:?} is not a valid phone number")
                                }
                                other => other.to_string(),
                            });
                        }
                    }
                }
            }
        }
        if !raws.is_empty() {
            rec.phone_raw = Some(raws.join(" | "));
        }
        if rec.phone_e164.is_some() {
            rec.phone_problem = None;
        } else if rec.phone_raw.is_some() && rec.phone_problem.is_none() {
            rec.phone_problem = Some("no digits that could be a phone number".to_string());
        }
    }
}

fn emails(row: &RawRow, rec: &mut CleanRecord) {
    let mut raws = Vec::new();
    for cell in row.all(Field::Email) {
        raws.push(cell);
        for part in email::split_emails(cell) {
            match email::normalise_email(part) {
                Ok(info) if rec.email.is_none() => {
                    rec.email = Some(info.email);
                    rec.email_is_role = info.is_role;
                    rec.email_is_disposable = info.is_disposable;
                    rec.email_suggestion = info.suggestion;
                }
                Ok(_) => {}
                Err(e) => {
                    if rec.email_problem.is_none() {
                        rec.email_problem = Some(e.to_string());
                    }
                }
            }
        }
    }
    if !raws.is_empty() {
        rec.email_raw = Some(raws.join(" | "));
    }
    if rec.email.is_some() {
        rec.email_problem = None;
    }
}

fn names(row: &RawRow, rec: &mut CleanRecord) {
    use std::borrow::Cow;
    // A name typed with the keyboard in the Latin layout is read back as the Cyrillic the
    // same keys give (recorded in `enrichment_source`, never silently).
    let mut relaid = false;
    let mut cell = |field: Field| {
        row.first(field)
            .map(|value| match layout::repair_layout(value) {
                Some(fixed) => {
                    relaid = true;
                    Cow::Owned(fixed)
                }
                None => Cow::Borrowed(value),
            })
    };
    let last = cell(Field::LastName);
    let first = cell(Field::FirstName);
    let middle = cell(Field::MiddleName);
    let parts = if last.is_some() || first.is_some() || middle.is_some() {
        name::from_parts(
            last.as_deref().unwrap_or(""),
            first.as_deref().unwrap_or(""),
            middle.as_deref().unwrap_or(""),
        )
    } else if let Some(full) = cell(Field::FullName) {
        let full = full.as_ref();
        // «ПАО "Кулакова"» in a form's name field is a company, not a person called Пао
        // Кулакова. A sole trader (ИП Иванов Иван) is a person and keeps the name.
        let company = company::may_name_a_company(full)
            .then(|| company::parse_company(full))
            .flatten()
            .filter(|c| {
                c.legal_form.is_some() && !c.is_sole_trader && !c.name_normalised.is_empty()
            });
        if company.is_some() {
            if rec.company.is_none() {
                rec.company = clean_text(full);
                rec.enriched.sources.push(("company", "full_name"));
            }
            return;
        }
        name::parse_full_name(full)
    } else if let Some(person) = sole_trader_name(rec.company.as_deref()) {
        // A sole trader's company name is the person's name («ИП Майорова Злата Егоровна»):
        // an ИП is a private person (for consent too), matched as one.
        rec.enriched.sources.push(("full_name", "company_name"));
        person
    } else {
        return;
    };
    if relaid {
        rec.enriched.sources.push(("full_name", "keyboard_layout"));
    }
    let display: Vec<&str> = [&parts.last, &parts.first, &parts.middle]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    rec.full_name = (!display.is_empty()).then(|| display.join(" "));
    rec.gender = parts.gender.map(|g| match g {
        name::Gender::Male => "male".to_string(),
        name::Gender::Female => "female".to_string(),
    });
    rec.name_key = (!parts.translit_key.is_empty()).then(|| parts.translit_key.clone());
    rec.last_name = parts.last;
    rec.first_name = parts.first;
    rec.middle_name = parts.middle;
}

/// The person behind «ИП Фамилия Имя Отчество», when the company names one.
fn sole_trader_name(company: Option<&str>) -> Option<name::NameParts> {
    let info = company::parse_company(company?)?;
    if !info.is_sole_trader {
        return None;
    }
    let parts = name::parse_full_name(&info.name_normalised);
    (parts.last.is_some() && parts.first.is_some()).then_some(parts)
}

fn refusal(rec: &CleanRecord) -> RowRefusal {
    match (&rec.phone_problem, &rec.email_problem) {
        (None, None) => RowRefusal {
            code: "no_contact",
            field: None,
            reason: if rec.full_name.is_some() || rec.company.is_some() {
                "no phone and no email: nothing to contact".to_string()
            } else {
                "row has no phone, email, name or company".to_string()
            },
        },
        (Some(p), None) => RowRefusal {
            code: "invalid_phone",
            field: Some("phone"),
            reason: format!("{p}; no email either"),
        },
        (None, Some(e)) => RowRefusal {
            code: "invalid_email",
            field: Some("email"),
            reason: format!("{e}; no phone either"),
        },
        (Some(p), Some(e)) => RowRefusal {
            code: "invalid_contacts",
            field: Some("phone"),
            reason: format!("{p}; {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Cell;
    use std::sync::Arc;

    fn row(cells: &[(&str, Field, &str)]) -> RawRow {
        RawRow {
            source_row: 7,
            cells: cells
                .iter()
                .map(|(k, f, v)| Cell {
                    key: Arc::from(*k),
                    field: Some(*f),
                    value: v.to_string(),
                })
                .collect(),
            problem: None,
        }
    }

    #[test]
    fn a_company_in_the_name_field_is_a_company() {
        let rec = Normaliser::default()
            .normalise(&row(&[
                ("name", Field::FullName, "ПАО \"Кулакова\""),
                ("phone", Field::Phone, "+7 495 123-45-67"),
            ]))
            .unwrap();
        assert_eq!(rec.full_name, None);
        assert_eq!(rec.company.as_deref(), Some("ПАО \"Кулакова\""));
        assert!(rec.enriched.sources.contains(&("company", "full_name")));
        // A sole trader is a person and keeps the name; so does an ИП named only as a
        // company.
        let named = Normaliser::default()
            .normalise(&row(&[
                ("Компания", Field::Company, "ИП Майорова Злата Егоровна"),
                ("phone", Field::Phone, "+7 495 123-45-67"),
            ]))
            .unwrap();
        assert_eq!(named.last_name.as_deref(), Some("Майорова"));
        assert_eq!(named.middle_name.as_deref(), Some("Егоровна"));
        let ip = Normaliser::default()
            .normalise(&row(&[
                ("name", Field::FullName, "ИП Иванов Иван Иванович"),
                ("phone", Field::Phone, "+7 495 123-45-67"),
            ]))
            .unwrap();
        assert_eq!(ip.last_name.as_deref(), Some("Иванов"));
    }

    #[test]
    fn a_name_typed_in_the_wrong_layout_is_read_back_and_says_so() {
        let rec = Normaliser::default()
            .normalise(&row(&[
                ("name", Field::FullName, "Rjhybkjdf Ghfcrjdmz"),
                ("phone", Field::Phone, "+7 916 123-45-67"),
            ]))
            .unwrap();
        assert_eq!(rec.full_name.as_deref(), Some("Корнилова Прасковья"));
        assert!(rec
            .enriched
            .sources
            .contains(&("full_name", "keyboard_layout")));
        let latin = Normaliser::default()
            .normalise(&row(&[
                ("name", Field::FullName, "Ivan Petrov"),
                ("phone", Field::Phone, "+7 916 123-45-67"),
            ]))
            .unwrap();
        assert!(!latin
            .enriched
            .sources
            .iter()
            .any(|s| s.1 == "keyboard_layout"));
    }

    #[test]
    fn accepts_a_typical_purchased_row() {
        let rec = Normaliser::default()
            .normalise(&row(&[
                ("ФИО", Field::FullName, "ИВАНОВ иван иванович"),
                (
                    "Телефон",
                    Field::Phone,
                    "8 (916) 123-45-67, 8 495 123 45 67",
                ),
                ("E-mail", Field::Email, " IVANOV@MAIL.RU "),
                ("Город", Field::City, "  г. Москва "),
                ("ИНН", Field::Inn, "7707 083893"),
            ]))
            .unwrap();
        assert_eq!(rec.phone_e164.as_deref(), Some("+79161234567"));
        assert_eq!(rec.phone_type.as_deref(), Some("mobile"));
        assert_eq!(rec.phones_extra, vec!["+74951234567"]);
        assert_eq!(rec.email.as_deref(), Some("ivanov@mail.ru"));
        assert_eq!(rec.last_name.as_deref(), Some("Иванов"));
        assert_eq!(rec.first_name.as_deref(), Some("Иван"));
        assert_eq!(rec.middle_name.as_deref(), Some("Иванович"));
        assert_eq!(rec.gender.as_deref(), Some("male"));
        assert_eq!(rec.city.as_deref(), Some("г. Москва"));
        assert_eq!(rec.inn.as_deref(), Some("7707083893"));
    }

    #[test]
    fn invalid_phone_with_valid_email_is_kept_with_problem() {
        let rec = Normaliser::default()
            .normalise(&row(&[
                ("phone", Field::Phone, "12345"),
                ("email", Field::Email, "a@example.ru"),
            ]))
            .unwrap();
        assert_eq!(rec.phone_e164, None);
        assert_eq!(rec.phone_raw.as_deref(), Some("12345"));
        assert!(rec.phone_problem.is_some());
    }

    #[test]
    fn no_contact_is_refused_with_reasons() {
        let n = Normaliser::default();
        let r = n
            .normalise(&row(&[
                ("phone", Field::Phone, "12345"),
                ("email", Field::Email, "user@domain"),
            ]))
            .unwrap_err();
        assert_eq!(r.field, Some("phone"));
        assert!(
            r.reason.contains("12345") && r.reason.contains("user@domain"),
            "{}",
            r.reason
        );
        let r = n
            .normalise(&row(&[("ФИО", Field::FullName, "Иванов Иван")]))
            .unwrap_err();
        assert!(r.reason.contains("no phone and no email"));
    }

    #[test]
    fn form_consent_fields() {
        let rec = Normaliser::default()
            .normalise(&row(&[
                ("phone", Field::Phone, "+79161234567"),
                ("consent", Field::Consent, "Да"),
                ("consent_at", Field::ConsentAt, "2026-11-20 13:15:00"),
            ]))
            .unwrap();
        assert_eq!(rec.consent_given, Some(true));
        assert_eq!(
            rec.consent_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-11-20T10:15:00+00:00")
        );
        assert_eq!(parse_consent("нет"), Some(false));
        assert_eq!(parse_consent("maybe"), None);
    }

    #[test]
    fn separate_name_columns_win_over_full_name() {
        let rec = Normaliser::default()
            .normalise(&row(&[
                ("Фамилия", Field::LastName, "петрова"),
                ("Имя", Field::FirstName, "мария"),
                ("phone", Field::Phone, "+79161234567"),
            ]))
            .unwrap();
        assert_eq!(rec.full_name.as_deref(), Some("Петрова Мария"));
        assert_eq!(rec.gender.as_deref(), Some("female"));
    }
}
