//! Spend: what a source cost over a period (a purchased list's price, a campaign's budget),
//! for acquisition cost per source and cost per callable lead.

use super::values::{parse_amount, parse_currency, parse_date};
use crate::record::RawRow;
use crate::sources::headers::fold_header;
use chrono::{FixedOffset, NaiveDate};

/// What a spend column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpendField {
    Source,
    Period,
    From,
    To,
    Amount,
    Currency,
    Note,
}

fn spend_field(header: &str) -> Option<SpendField> {
    Some(match fold_header(header).as_str() {
        "source" | "источник" | "канал" | "channel" | "список" | "list" | "кампания"
        | "campaign" | "utmsource" => SpendField::Source,
        "period" | "период" | "месяц" | "month" | "date" | "дата" => {
            SpendField::Period
        }
        "from" | "start" | "periodstart" | "с" | "начало" | "датаначала" => {
            SpendField::From
        }
        "to" | "end" | "periodend" | "по" | "конец" | "датаокончания" => {
            SpendField::To
        }
        "amount" | "cost" | "spend" | "сумма" | "стоимость" | "расход" | "расходы" | "бюджет"
        | "budget" | "цена" | "price" => SpendField::Amount,
        "currency" | "валюта" => SpendField::Currency,
        "note" | "comment" | "комментарий" | "примечание" => SpendField::Note,
        _ => return None,
    })
}

/// Spend file columns, by position.
#[derive(Debug, Clone)]
pub struct SpendColumns(Vec<Option<SpendField>>, Vec<std::sync::Arc<str>>);

impl SpendColumns {
    /// Maps a header row; a spend file needs a source, an amount and a period (one column,
    /// or from and to).
    pub fn map(headers: &[String]) -> Result<SpendColumns, String> {
        let mut seen = Vec::new();
        let fields: Vec<Option<SpendField>> = headers
            .iter()
            .map(|h| {
                spend_field(h).filter(|f| {
                    let first = !seen.contains(f);
                    seen.push(*f);
                    first
                })
            })
            .collect();
        let has = |f| fields.contains(&Some(f));
        let missing = if !has(SpendField::Source) {
            Some("source (Источник, source)")
        } else if !has(SpendField::Amount) {
            Some("amount (Сумма, cost)")
        } else if !has(SpendField::Period) && !has(SpendField::From) {
            Some("period (Период 2026-03, or С and По dates)")
        } else {
            None
        };
        match missing {
            Some(m) => Err(format!(
                "no {m} column among the headers {}",
                headers
                    .iter()
                    .map(|h| format!("{h:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => Ok(SpendColumns(
                fields,
                crate::sources::headers::unique_headers(headers),
            )),
        }
    }
}

/// What a source cost from `start` to `end` (both days included).
#[derive(Debug, Clone, PartialEq)]
pub struct Spend {
    pub source_row: u64,
    pub source: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub amount: f64,
    pub currency: String,
    pub note: Option<String>,
}

/// A month written `2026-03`, `03.2026`, `03/2026` or `2026.03`: its first and last day.
pub fn parse_month(raw: &str) -> Option<(NaiveDate, NaiveDate)> {
    let s = raw.trim();
    let (y, m) = if let Some((a, b)) = s.split_once(['-', '.', '/']) {
        if a.len() == 4 {
            (a.parse().ok()?, b.parse().ok()?)
        } else if b.len() == 4 {
            (b.parse().ok()?, a.parse().ok()?)
        } else {
            return None;
        }
    } else {
        return None;
    };
    let start = NaiveDate::from_ymd_opt(y, m, 1)?;
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)?
    };
    Some((start, next.pred_opt()?))
}

/// Reads one spend row: `Err((field, reason))` names the column at fault.
pub fn read_spend(
    columns: &SpendColumns,
    row: &RawRow,
    offset: FixedOffset,
    currency: &str,
) -> Result<Spend, (Option<String>, String)> {
    if let Some(p) = &row.problem {
        return Err((p.field.clone(), p.reason.clone()));
    }
    // By the cell's key, not its position: JSONL lines order their keys as they like.
    let get = |f: SpendField| {
        row.cells.iter().find_map(|c| {
            let field = columns
                .1
                .iter()
                .position(|k| **k == *c.key)
                .and_then(|i| columns.0[i]);
            (field == Some(f) && !c.value.trim().is_empty())
                .then(|| (c.key.to_string(), c.value.trim().to_string()))
        })
    };
    let bad = |(k, v): (String, String), what: &str| (Some(k), format!("{v:?} is not {what}"));
    let source = get(SpendField::Source)
        .ok_or((None, "no source".to_string()))?
        .1;
    let (amount, marked) = match get(SpendField::Amount) {
        Some(cell) => parse_amount(&cell.1).ok_or_else(|| bad(cell, "an amount"))?,
        None => return Err((None, "no amount".into())),
    };
    if amount < 0.0 {
        return Err((None, format!("negative spend {amount}")));
    }
    let day =
        |cell: (String, String)| parse_date(&cell.1, offset).ok_or_else(|| bad(cell, "a date"));
    let (start, end) = match (get(SpendField::Period), get(SpendField::From)) {
        (_, Some(from)) => {
            let start = day(from)?;
            let end = match get(SpendField::To) {
                Some(to) => day(to)?,
                None => start,
            };
            (start, end)
        }
        (Some(p), None) => match parse_month(&p.1) {
            Some(m) => m,
            None => {
                let d = day(p)?;
                (d, d)
            }
        },
        (None, None) => return Err((None, "no period".into())),
    };
    if end < start {
        return Err((
            None,
            format!("the period ends ({end}) before it starts ({start})"),
        ));
    }
    let currency = match get(SpendField::Currency) {
        Some(cell) => parse_currency(&cell.1).ok_or_else(|| bad(cell, "a currency"))?,
        None => marked.unwrap_or_else(|| currency.to_string()),
    };
    Ok(Spend {
        source_row: row.source_row,
        source,
        start,
        end,
        amount,
        currency,
        note: get(SpendField::Note).map(|c| c.1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_in_the_usual_shapes() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            parse_month("2026-02"),
            Some((d(2026, 2, 1), d(2026, 2, 28)))
        );
        assert_eq!(
            parse_month("12.2025"),
            Some((d(2025, 12, 1), d(2025, 12, 31)))
        );
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("march"), None);
    }
}
