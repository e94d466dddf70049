//! Deals and orders: what customers bought, read from CRM and shop exports (`leadpipe
//! deals import`), and what acquiring them cost (`spend`). A deal names its customer by
//! phone, e-mail, lead id or a CRM customer id; the analysis links it to leads through the
//! normalised contacts, and counts customers who are not (yet) leads too.

pub mod spend;
pub mod values;

use crate::normalise::{email::normalise_email, Normaliser};
use crate::record::{Field, RawRow};
use crate::sources::headers::{fold_header, Mapper};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::LazyLock;
pub use values::{parse_amount, parse_currency, parse_date, DealStatus};

/// What a deal column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DealField {
    DealRef,
    Date,
    Amount,
    Currency,
    Status,
    CustomerRef,
    LeadId,
    Phone,
    Email,
    Name,
    Product,
    Category,
    Quantity,
    Channel,
}

impl DealField {
    /// How many fields there are (the size of a row's cell table).
    const COUNT: usize = 14;

    pub fn from_name(name: &str) -> Option<DealField> {
        Some(match name {
            "deal_ref" => DealField::DealRef,
            "date" => DealField::Date,
            "amount" => DealField::Amount,
            "currency" => DealField::Currency,
            "status" => DealField::Status,
            "customer_ref" => DealField::CustomerRef,
            "lead_id" => DealField::LeadId,
            "phone" => DealField::Phone,
            "email" => DealField::Email,
            "name" => DealField::Name,
            "product" => DealField::Product,
            "category" => DealField::Category,
            "quantity" => DealField::Quantity,
            "channel" => DealField::Channel,
            _ => return None,
        })
    }

    const NAMES: &'static str = "deal_ref, date, amount, currency, status, customer_ref, lead_id, phone, email, name, product, category, quantity, channel";
}

static SYNONYMS: LazyLock<HashMap<String, DealField>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for line in include_str!("../../data/deal_headers.tsv").lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((field, header)) = line.trim_end().split_once('\t') {
            if let Some(field) = DealField::from_name(field) {
                map.entry(fold_header(header)).or_insert(field);
            }
        }
    }
    map
});

/// The field a header names: a deal header first (`data/deal_headers.tsv`), then the
/// contact headers lead files use (phone, e-mail, name).
pub fn deal_field(header: &str) -> Option<DealField> {
    let folded = fold_header(header);
    if let Some(f) = SYNONYMS.get(&folded) {
        return Some(*f);
    }
    match Mapper::default().field(header)? {
        Field::Phone => Some(DealField::Phone),
        Field::Email => Some(DealField::Email),
        Field::FullName | Field::LastName | Field::FirstName => Some(DealField::Name),
        Field::CreatedAt => Some(DealField::Date),
        _ => None,
    }
}

/// A deals file whose header lacks what every deal needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DealColumnsError {
    #[error("no {missing} column among the headers {found}; name it (e.g. {example}) or map it with --column \"HEADER=FIELD\" (fields: {known})", known = DealField::NAMES)]
    Missing {
        missing: &'static str,
        example: &'static str,
        found: String,
    },
    #[error("--column {given:?}: {problem} (fields: {known})", known = DealField::NAMES)]
    BadOverride { given: String, problem: String },
}

/// Which column feeds which deal field: the first column naming a field wins; the others
/// are kept with the deal as they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealColumns {
    pub fields: Vec<Option<DealField>>,
    /// Each column's key as the readers name cells (`unique_headers`), and the field by
    /// key: a JSONL line lists its keys in its own order and may leave some out, so a cell
    /// whose position does not hold its key is placed by key.
    keys: Vec<std::sync::Arc<str>>,
    by_key: HashMap<String, Option<DealField>>,
}

impl DealColumns {
    /// Maps `headers`, with `overrides` (`HEADER=FIELD`, or `HEADER=` to ignore) first.
    pub fn map(headers: &[String], overrides: &[String]) -> Result<DealColumns, DealColumnsError> {
        let mut forced: HashMap<String, Option<DealField>> = HashMap::new();
        for given in overrides {
            let (header, field) =
                given
                    .split_once('=')
                    .ok_or_else(|| DealColumnsError::BadOverride {
                        given: given.clone(),
                        problem: "write HEADER=FIELD".into(),
                    })?;
            let field = match field.trim() {
                "" | "ignore" => None,
                name => Some(DealField::from_name(name).ok_or_else(|| {
                    DealColumnsError::BadOverride {
                        given: given.clone(),
                        problem: format!("no field {name:?}"),
                    }
                })?),
            };
            forced.insert(fold_header(header), field);
        }
        let mut taken = std::collections::HashSet::new();
        let fields: Vec<Option<DealField>> = headers
            .iter()
            .map(|h| {
                let f = match forced.get(&fold_header(h)) {
                    Some(f) => *f,
                    None => deal_field(h),
                };
                f.filter(|f| taken.insert(*f))
            })
            .collect();
        let has = |f: DealField| fields.contains(&Some(f));
        let found = || {
            headers
                .iter()
                .map(|h| format!("{h:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let missing = |missing, example| DealColumnsError::Missing {
            missing,
            example,
            found: found(),
        };
        if !has(DealField::Date) {
            return Err(missing("date", "Дата, date"));
        }
        if !has(DealField::Amount) {
            return Err(missing("amount", "Сумма, amount"));
        }
        let who = [
            DealField::CustomerRef,
            DealField::LeadId,
            DealField::Phone,
            DealField::Email,
        ];
        if !who.iter().any(|f| has(*f)) {
            return Err(missing(
                "customer (phone, e-mail, lead id or customer id)",
                "Телефон, E-mail, Клиент, customer_id",
            ));
        }
        let keys = crate::sources::headers::unique_headers(headers);
        let by_key = keys
            .iter()
            .map(|k| k.to_string())
            .zip(fields.iter().copied())
            .collect();
        Ok(DealColumns {
            fields,
            keys,
            by_key,
        })
    }
}

/// One deal as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub source_row: u64,
    pub deal_ref: Option<String>,
    pub date: NaiveDate,
    /// Positive; a negative amount in the file is a refund of that much.
    pub amount: f64,
    pub currency: String,
    pub status: DealStatus,
    pub customer_ref: Option<String>,
    pub lead_id: Option<i64>,
    pub phone_e164: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub product: Option<String>,
    pub category: Option<String>,
    pub quantity: Option<f64>,
    pub channel: Option<String>,
    /// The cells no field took, and those a field could not use, as a JSON object (so
    /// nothing in the file is lost); `None` when there are none.
    pub extra: Option<String>,
}

/// A row that gave no deal, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct DealReject {
    pub source_row: u64,
    pub field: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

/// Reads deal rows of one file.
pub struct DealReader<'a> {
    pub columns: &'a DealColumns,
    pub normaliser: &'a Normaliser,
    /// The currency of amounts that name none (`--currency`, RUB by default).
    pub currency: &'a str,
}

/// One row's cells by the field they feed, and those no field takes.
struct RowCells<'r> {
    source_row: u64,
    /// (header, value) by `DealField as usize`: a table, not a map (5M rows a file).
    fields: [Option<(&'r str, &'r str)>; DealField::COUNT],
    /// Cells kept with the deal as JSON: no field takes them, or their field could not
    /// use them (an invalid phone beside a customer id).
    extra: Vec<(&'r str, &'r str)>,
}

impl<'r> RowCells<'r> {
    fn of(row: &'r RawRow, columns: &DealColumns) -> RowCells<'r> {
        let mut cells = RowCells {
            source_row: row.source_row,
            fields: [None; DealField::COUNT],
            extra: Vec::new(),
        };
        for (i, cell) in row.cells.iter().enumerate() {
            let value = cell.value.trim();
            if value.is_empty() {
                continue;
            }
            let field = match columns.keys.get(i) {
                Some(k) if **k == *cell.key => columns.fields[i],
                _ => columns.by_key.get(&*cell.key).copied().flatten(),
            };
            match field {
                Some(f) => cells.fields[f as usize] = Some((&cell.key, value)),
                None => cells.extra.push((&cell.key, value)),
            }
        }
        cells
    }

    fn get(&self, f: DealField) -> Option<(&'r str, &'r str)> {
        self.fields[f as usize]
    }

    fn text(&self, f: DealField) -> Option<String> {
        self.get(f).map(|(_, v)| v.to_string())
    }

    fn reject(&self, cell: Option<(&str, &str)>, reason: impl Into<String>) -> DealReject {
        DealReject {
            source_row: self.source_row,
            field: cell.map(|c| c.0.to_string()),
            value: cell.map(|c| c.1.to_string()),
            reason: reason.into(),
        }
    }

    /// A field the deal cannot do without: missing or unreadable rejects the row.
    fn required<T>(
        &self,
        f: DealField,
        parse: impl Fn(&str) -> Option<T>,
        missing: &str,
        unreadable: &str,
    ) -> Result<T, DealReject> {
        let Some(cell) = self.get(f) else {
            return Err(self.reject(None, missing));
        };
        parse(cell.1).ok_or_else(|| self.reject(Some(cell), unreadable))
    }

    /// A field the deal can do without: unreadable, its cell is kept in `extra`.
    fn optional<T>(&mut self, f: DealField, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let cell = self.get(f)?;
        let parsed = parse(cell.1);
        if parsed.is_none() {
            self.extra.push(cell);
        }
        parsed
    }
}

impl DealReader<'_> {
    pub fn read(&self, row: &RawRow) -> Result<Deal, DealReject> {
        let mut cells = RowCells::of(row, self.columns);
        if let Some(p) = &row.problem {
            return Err(DealReject {
                source_row: row.source_row,
                field: p.field.clone(),
                value: None,
                reason: p.reason.clone(),
            });
        }
        let offset = self.normaliser.naive_offset;
        let date = cells.required(
            DealField::Date,
            |v| parse_date(v, offset),
            "no date",
            "not a date (use 2026-03-05, 05.03.2026 or 20260305)",
        )?;
        let (mut amount, marked) = cells.required(
            DealField::Amount,
            parse_amount,
            "no amount",
            "not an amount (use 1234.50, 1 234,50 or 1234 ₽)",
        )?;
        let mut status = match cells.get(DealField::Status).is_some() {
            false => DealStatus::Won,
            true => cells.required(DealField::Status, DealStatus::parse, "", "unknown status: use won, lost, refunded or open (or успешно, отказ, возврат, в работе)")?,
        };
        if amount < 0.0 {
            amount = -amount;
            status = DealStatus::Refunded;
        }
        let currency = match cells.get(DealField::Currency).is_some() {
            false => marked.unwrap_or_else(|| self.currency.to_string()),
            true => cells.required(
                DealField::Currency,
                parse_currency,
                "",
                "unknown currency (use an ISO code such as RUB, USD)",
            )?,
        };
        let first_unusable = cells.extra.len();
        let phone = &self.normaliser.phone;
        let phone_e164 = cells.optional(DealField::Phone, |v| phone.normalise(v).ok()?.e164);
        let email = cells.optional(DealField::Email, |v| {
            normalise_email(v).ok().map(|e| e.email)
        });
        let lead_id = cells.optional(DealField::LeadId, |v| v.parse::<i64>().ok());
        let quantity = cells.optional(DealField::Quantity, |v| match parse_amount(v) {
            Some((q, None)) => Some(q),
            _ => None,
        });
        let customer_ref = cells.text(DealField::CustomerRef);
        if customer_ref.is_none() && lead_id.is_none() && phone_e164.is_none() && email.is_none() {
            let cell = cells.extra.get(first_unusable).copied();
            return Err(cells.reject(
                cell,
                "no customer: no valid phone or e-mail, no lead id, no customer id",
            ));
        }
        Ok(Deal {
            source_row: row.source_row,
            deal_ref: cells.text(DealField::DealRef),
            date,
            amount,
            currency,
            status,
            customer_ref,
            lead_id,
            phone_e164,
            email,
            name: cells.text(DealField::Name),
            product: cells.text(DealField::Product),
            category: cells.text(DealField::Category),
            quantity,
            channel: cells.text(DealField::Channel),
            extra: (!cells.extra.is_empty()).then(|| json_object(&cells.extra)),
        })
    }
}

/// `pairs` as a JSON object, in order.
fn json_object(pairs: &[(&str, &str)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Cell;
    use std::sync::Arc;

    fn row(headers: &[&str], values: &[&str]) -> RawRow {
        RawRow {
            source_row: 1,
            cells: headers
                .iter()
                .zip(values)
                .map(|(h, v)| Cell {
                    key: Arc::from(*h),
                    field: None,
                    value: v.to_string(),
                })
                .collect(),
            problem: None,
        }
    }

    fn read(headers: &[&str], values: &[&str]) -> Result<Deal, DealReject> {
        let owned: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let columns = DealColumns::map(&owned, &[]).expect("columns map");
        let normaliser = Normaliser::default();
        DealReader {
            columns: &columns,
            normaliser: &normaliser,
            currency: "RUB",
        }
        .read(&row(headers, values))
    }

    #[test]
    fn the_cell_table_has_a_place_for_every_field() {
        assert_eq!(DealField::Channel as usize + 1, DealField::COUNT);
    }

    #[test]
    fn russian_headers_map_and_a_row_reads() {
        let d = read(
            &[
                "Номер заказа",
                "Дата",
                "Клиент",
                "Телефон",
                "Сумма",
                "Статус",
                "Товар",
                "Склад",
            ],
            &[
                "A-17",
                "05.03.2026",
                "ООО Ромашка",
                "8 (916) 123-45-67",
                "12 500,00 ₽",
                "Успешно",
                "Диван",
                "Север",
            ],
        )
        .unwrap();
        assert_eq!(d.deal_ref.as_deref(), Some("A-17"));
        assert_eq!(d.amount, 12500.0);
        assert_eq!(d.currency, "RUB");
        assert_eq!(d.status, DealStatus::Won);
        assert_eq!(d.phone_e164.as_deref(), Some("+79161234567"));
        assert_eq!(d.customer_ref.as_deref(), Some("ООО Ромашка"));
        assert_eq!(d.extra.as_deref(), Some(r#"{"Склад":"Север"}"#));
    }

    #[test]
    fn rows_without_a_customer_or_with_bad_values_are_rejected_by_field() {
        let r = read(&["date", "amount", "phone"], &["2026-03-05", "10", "12"]).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("phone"));
        let r = read(&["date", "amount", "email"], &["yesterday", "10", "a@b.ru"]).unwrap_err();
        assert_eq!(
            (r.field.as_deref(), r.value.as_deref()),
            (Some("date"), Some("yesterday"))
        );
        let r = read(
            &["date", "amount", "email"],
            &["2026-03-05", "ten", "a@b.ru"],
        )
        .unwrap_err();
        assert_eq!(r.field.as_deref(), Some("amount"));
        let d = read(
            &["date", "amount", "email"],
            &["2026-03-05", "-10", "a@b.ru"],
        )
        .unwrap();
        assert_eq!((d.amount, d.status), (10.0, DealStatus::Refunded));
    }

    #[test]
    fn a_file_without_date_amount_or_customer_is_refused_with_its_headers() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = DealColumns::map(&h(&["Клиент", "Сумма"]), &[]).unwrap_err();
        assert!(e.to_string().contains("no date column"), "{e}");
        let e = DealColumns::map(&h(&["Дата", "Сумма", "Склад"]), &[]).unwrap_err();
        assert!(e.to_string().contains("no customer"), "{e}");
        let ok = DealColumns::map(
            &h(&["when", "Сумма", "Склад"]),
            &["when=date".into(), "склад=customer_ref".into()],
        );
        assert!(ok.is_ok());
    }
}
