//! What exports to CRMs read: each golden record's full contact card (name parts, every
//! number and address, dates). Read-only over `leads`.

use crate::landing::BatchCols;
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};

/// One lead as a CRM gets it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactCard {
    pub lead_id: i64,
    pub full_name: Option<String>,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    /// Every number of the lead, main first.
    pub phones: Vec<String>,
    /// Every address of the lead, main first.
    pub emails: Vec<String>,
    pub company: Option<String>,
    pub inn: Option<String>,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
}

/// `main` first, then the others in their order, each once.
fn main_first(main: Option<String>, all: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = main.into_iter().collect();
    for v in all.unwrap_or_default().split('\u{1f}') {
        if !v.is_empty() && !out.iter().any(|o| o == v) {
            out.push(v.to_string());
        }
    }
    out
}

impl Store {
    /// Contact cards of every lead whose last record was seen in [`since`, `until`)
    /// (either bound optional), by lead id.
    pub fn contact_cards(
        &self,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<ContactCard>, StoreError> {
        let micros = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_micros());
        let batches = self.read_arrow(
            "SELECT lead_id, full_name, last_name, first_name, middle_name, phone_e164,
                    array_to_string(phones, chr(31)), email, array_to_string(emails, chr(31)),
                    company, inn, first_seen_at, last_seen_at
             FROM leads
             WHERE (?1::BIGINT IS NULL OR epoch_us(last_seen_at) >= ?1::BIGINT)
               AND (?2::BIGINT IS NULL OR epoch_us(last_seen_at) < ?2::BIGINT)
             ORDER BY lead_id",
            duckdb::params![micros(since), micros(until)],
            "reading leads for export",
        )?;
        let mut out = Vec::new();
        for b in &batches {
            let c = BatchCols(b);
            for i in 0..b.num_rows() {
                let Some(lead_id) = c.i64(0, i) else { continue };
                out.push(ContactCard {
                    lead_id,
                    full_name: c.string(1, i),
                    last_name: c.string(2, i),
                    first_name: c.string(3, i),
                    middle_name: c.string(4, i),
                    phones: main_first(c.string(5, i), c.str(6, i)),
                    emails: main_first(c.string(7, i), c.str(8, i)),
                    company: c.string(9, i),
                    inn: c.string(10, i),
                    first_seen: c.ts(11, i),
                    last_seen: c.ts(12, i),
                });
            }
        }
        Ok(out)
    }
}
