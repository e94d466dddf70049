//! Outputs people work from: the call list (CSV for now; the full telemarketing export
//! with windows, operators and XLSX comes with warmth scoring).

use crate::consent::commands::{CallList, CommandError};
use crate::store::Store;
use std::io::Write;
use std::path::Path;

/// Text from lead files is opened in spreadsheets: a cell starting with `=`, `+`, `-` or
/// `@` would run as a formula (CSV injection), so such text gets a leading apostrophe.
pub fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Writes callable numbers as CSV (UTF-8 with a BOM so Excel reads Cyrillic), one row per
/// number, with the consent basis a reviewer can check.
pub fn write_call_list_csv(store: &Store, list: &CallList, out: &Path) -> Result<(), CommandError> {
    let ids: Vec<i64> = list.callable.iter().map(|d| d.lead_id).collect();
    let cards = store.lead_cards(&ids)?;
    let io = |source| CommandError::Io {
        path: out.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(out).map_err(io)?;
    let mut buf = std::io::BufWriter::new(file);
    buf.write_all("\u{feff}".as_bytes()).map_err(io)?;
    let mut w = csv::Writer::from_writer(buf);
    let csv_err = |e: csv::Error| CommandError::Io {
        path: out.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    w.write_record([
        "lead_id",
        "phone_e164",
        "full_name",
        "company",
        "city",
        "subject_type",
        "consent_since",
        "consent_expires_at",
        "consent_id",
        "consent_basis",
    ])
    .map_err(csv_err)?;
    for d in &list.callable {
        let card = cards.get(&d.lead_id).cloned().unwrap_or_default();
        let ts = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default()
        };
        w.write_record([
            d.lead_id.to_string(),
            d.phone.clone(),
            spreadsheet_safe(&card.full_name.unwrap_or_default()),
            spreadsheet_safe(&card.company.unwrap_or_default()),
            spreadsheet_safe(&card.city.unwrap_or_default()),
            card.subject_type.unwrap_or_default(),
            ts(d.consent.since),
            ts(d.consent.expires_at),
            d.grant_id.map(|i| i.to_string()).unwrap_or_default(),
            spreadsheet_safe(&d.basis.clone().unwrap_or_default()),
        ])
        .map_err(csv_err)?;
    }
    w.flush().map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("Иванов"), "Иванов");
    }
}
