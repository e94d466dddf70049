//! Suppression lists: `suppression_lists` (each list file loaded: where from, why, what was
//! refused) and `suppressions` (their contacts, plain and as salted hashes; erased
//! people's contacts only as hashes, on the list `erasure`), with the salt, kept in
//! `leadpipe_meta`, that the hashes are made with.

use crate::landing::{batch, str_col, ts_col};
use crate::{db, Store, StoreError};
use chrono::{DateTime, Utc};
use duckdb::arrow::array::{ArrayRef, Int64Array, Int64Builder};
use duckdb::params;
use leadpipe_core::consent::contacts::ContactList;
use leadpipe_core::consent::gate::{SuppressionEntry, Suppressions};
use leadpipe_core::consent::{Channel, ContactHasher, ContactKind};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// Each list file loaded into a list, with its content hash (the same file loaded again
/// is a no-op) and the rows refused.
pub(crate) const SUPPRESSION_LISTS: &str = r#"CREATE TABLE IF NOT EXISTS suppression_lists (
    list_name VARCHAR NOT NULL,
    path VARCHAR,
    content_hash VARCHAR,
    reason VARCHAR NOT NULL,
    channel VARCHAR,
    loaded_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR,
    rows_read BIGINT,
    contacts BIGINT,
    rows_rejected BIGINT,
    rejects JSON
);
"#;

/// Every listed contact; `value` is NULL for an erased person's (only the hash is kept).
pub(crate) const SUPPRESSIONS: &str = r#"CREATE TABLE IF NOT EXISTS suppressions (
    list_name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    value VARCHAR,
    value_hash VARCHAR NOT NULL,
    channel VARCHAR,
    reason VARCHAR NOT NULL,
    source_row BIGINT,
    listed_at TIMESTAMPTZ,
    loaded_at TIMESTAMPTZ NOT NULL
);
"#;

/// The suppression list erased people's hashes go to.
pub const ERASURE_LIST: &str = "erasure";

/// One loaded suppression list.
#[derive(Debug, Clone, Serialize)]
pub struct SuppressionListLoad {
    pub list: String,
    pub reason: String,
    pub channel: Option<String>,
    pub rows_read: u64,
    pub contacts: u64,
    pub rows_rejected: u64,
    /// (row, why) for rows with no usable contact.
    pub rejects: Vec<(u64, String)>,
    /// True when the same file was already loaded into this list.
    pub unchanged: bool,
}

/// A loaded suppression list, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    pub list: String,
    pub reason: String,
    pub channel: Option<String>,
    pub loaded_at: String,
    pub contacts: i64,
    pub rows_rejected: i64,
    pub path: Option<String>,
}

/// One contact put on a list by a command or a call result (not a list file).
#[derive(Debug, Clone)]
pub struct Suppression {
    pub list: &'static str,
    pub reason: &'static str,
    pub kind: ContactKind,
    pub value: String,
    pub channel: Option<Channel>,
    /// When it was asked for.
    pub at: DateTime<Utc>,
}

/// A listed contact: kind, value, the list file's row, and when it was listed.
type ListEntry = (ContactKind, String, u64, Option<DateTime<Utc>>);

impl Store {
    /// The salt for erased people's hashes: made once per database from the OS's random
    /// source and kept in `leadpipe_meta`.
    pub fn contact_hasher(&self) -> Result<ContactHasher, StoreError> {
        let found = self.meta("erasure_salt")?;
        let salt = match found {
            Some(hex_salt) => hex::decode(hex_salt).map_err(|e| StoreError::Batch {
                table: "leadpipe_meta",
                message: format!("erasure_salt is not hex: {e}"),
            })?,
            None => {
                let salt = random_salt().map_err(|e| StoreError::Batch {
                    table: "leadpipe_meta",
                    message: format!("cannot read /dev/urandom for the erasure salt: {e}"),
                })?;
                // A reader of a base with no salt yet: nothing was ever hashed with one, so
                // any salt matches nothing, and this one need not be kept.
                if self.read_only {
                    return Ok(ContactHasher::new(salt));
                }
                self.conn
                    .execute(
                        "INSERT INTO leadpipe_meta VALUES ('erasure_salt', ?)",
                        params![hex::encode(&salt)],
                    )
                    .map_err(db("storing the erasure salt"))?;
                salt
            }
        };
        Ok(ContactHasher::new(salt))
    }

    /// Hashes of erased people's contacts: an import refuses rows that carry one.
    pub fn erased_hashes(&self) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT value_hash FROM suppressions WHERE value IS NULL")
            .map_err(db("reading erased hashes"))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db("reading erased hashes"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("reading erased hashes"))
    }

    /// Every suppression list entry, plain and hashed.
    pub fn suppressions(&self) -> Result<Suppressions, StoreError> {
        let mut out = Suppressions::new(self.contact_hasher()?);
        let mut stmt = self
            .conn
            .prepare("SELECT list_name, kind, value, value_hash, channel, reason FROM suppressions")
            .map_err(db("reading suppressions"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(db("reading suppressions"))?;
        for row in rows {
            let (list, kind, value, hash, channel, reason) =
                row.map_err(db("reading suppressions"))?;
            let entry = SuppressionEntry {
                list,
                number_only: reason == "wrong_number",
                reason,
                channel: channel.as_deref().and_then(Channel::parse),
            };
            let kind = if kind == "email" {
                ContactKind::Email
            } else {
                ContactKind::Phone
            };
            match value {
                Some(v) => out.add_plain(kind, &v, entry),
                None => out.add_hash(&hash, entry),
            }
        }
        Ok(out)
    }

    /// True when some lead holds this number or address.
    pub fn contact_known(&self, kind: ContactKind, value: &str) -> Result<bool, StoreError> {
        let sql = match kind {
            ContactKind::Phone => {
                "SELECT count(*) FROM records WHERE phone_e164 = ?1 OR list_contains(phones_extra, ?1)"
            }
            ContactKind::Email => "SELECT count(*) FROM records WHERE email = ?1",
        };
        let n: i64 = self
            .conn
            .query_row(sql, params![value], |r| r.get(0))
            .map_err(db("looking up a contact"))?;
        Ok(n > 0)
    }

    /// Loads a list's contacts. The same file loaded again into the same list is a no-op.
    #[allow(clippy::too_many_arguments)]
    pub fn load_suppression_list(
        &self,
        list: &str,
        reason: &str,
        channel: Option<Channel>,
        path: &Path,
        contacts: &ContactList,
        actor: &str,
    ) -> Result<SuppressionListLoad, StoreError> {
        let rejects: Vec<(u64, String)> = contacts
            .rows
            .iter()
            .filter_map(|r| r.problem.clone().map(|p| (r.row, p)))
            .collect();
        let mut load = SuppressionListLoad {
            list: list.to_string(),
            reason: reason.to_string(),
            channel: channel.map(|c| c.as_str().to_string()),
            rows_read: contacts.rows.len() as u64,
            contacts: 0,
            rows_rejected: rejects.len() as u64,
            rejects,
            unchanged: false,
        };
        let seen: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM suppression_lists WHERE list_name = ? AND content_hash = ?",
                params![list, contacts.content_hash],
                |r| r.get(0),
            )
            .map_err(db("looking up a suppression list"))?;
        if seen > 0 {
            load.unchanged = true;
            return Ok(load);
        }
        let hasher = self.contact_hasher()?;
        let entries = list_entries(contacts);
        load.contacts = entries.len() as u64;
        self.land_list_entries(&load, &entries, &hasher)?;
        self.record_list_load(&load, path, &contacts.content_hash, actor)?;
        Ok(load)
    }

    /// Lands a list's contacts in `suppressions`, each with its salted hash.
    fn land_list_entries(
        &self,
        load: &SuppressionListLoad,
        rows: &[ListEntry],
        hasher: &ContactHasher,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let n = rows.len();
        if n == 0 {
            return Ok(());
        }
        let (list, reason) = (load.list.as_str(), load.reason.as_str());
        let channel = load.channel.as_deref();
        let mut src_row = Int64Builder::with_capacity(n);
        for r in rows {
            src_row.append_value(r.2 as i64);
        }
        let hashes: Vec<String> = rows.iter().map(|r| hasher.hash(r.0, &r.1)).collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("list_name", str_col(rows.iter().map(|_| Some(list)), n)),
            ("kind", str_col(rows.iter().map(|r| Some(r.0.as_str())), n)),
            ("value", str_col(rows.iter().map(|r| Some(r.1.as_str())), n)),
            (
                "value_hash",
                str_col(hashes.iter().map(|h| Some(h.as_str())), n),
            ),
            ("channel", str_col(rows.iter().map(|_| channel), n)),
            ("reason", str_col(rows.iter().map(|_| Some(reason)), n)),
            ("source_row", Arc::new(src_row.finish())),
            ("listed_at", ts_col(rows.iter().map(|r| r.3), n)),
            ("loaded_at", ts_col(rows.iter().map(|_| Some(now)), n)),
        ];
        self.append("suppressions", batch("suppressions", cols)?)
    }

    /// Notes a loaded list in `suppression_lists`, with the rows it refused.
    fn record_list_load(
        &self,
        load: &SuppressionListLoad,
        path: &Path,
        content_hash: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let rejects_json = serde_json::to_string(
            &load
                .rejects
                .iter()
                .map(|(row, why)| serde_json::json!({"row": row, "reason": why}))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into());
        self.conn
            .execute(
                "INSERT INTO suppression_lists VALUES (?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?)",
                params![
                    load.list,
                    path.display().to_string(),
                    content_hash,
                    load.reason,
                    load.channel,
                    actor,
                    load.rows_read as i64,
                    load.contacts as i64,
                    load.rows_rejected as i64,
                    rejects_json
                ],
            )
            .map_err(db("recording a suppression list"))?;
        Ok(())
    }

    /// Puts single contacts on lists (a withdrawal, a call outcome), each with its own
    /// list, reason, channel and time, in one batch: a file of thousands of "do not call"
    /// results is one append, not thousands of inserts.
    pub fn suppress_many(&self, entries: &[Suppression]) -> Result<(), StoreError> {
        let n = entries.len();
        if n == 0 {
            return Ok(());
        }
        let hasher = self.contact_hasher()?;
        let now = Utc::now();
        let hashes: Vec<String> = entries
            .iter()
            .map(|e| hasher.hash(e.kind, &e.value))
            .collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "list_name",
                str_col(entries.iter().map(|e| Some(e.list)), n),
            ),
            (
                "kind",
                str_col(entries.iter().map(|e| Some(e.kind.as_str())), n),
            ),
            (
                "value",
                str_col(entries.iter().map(|e| Some(e.value.as_str())), n),
            ),
            (
                "value_hash",
                str_col(hashes.iter().map(|h| Some(h.as_str())), n),
            ),
            (
                "channel",
                str_col(entries.iter().map(|e| e.channel.map(Channel::as_str)), n),
            ),
            ("reason", str_col(entries.iter().map(|e| Some(e.reason)), n)),
            ("source_row", Arc::new(Int64Array::new_null(n))),
            ("listed_at", ts_col(entries.iter().map(|e| Some(e.at)), n)),
            ("loaded_at", ts_col(entries.iter().map(|_| Some(now)), n)),
        ];
        self.append("suppressions", batch("suppressions", cols)?)
    }

    pub fn suppression_lists(&self) -> Result<Vec<ListRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT list_name, reason, channel, loaded_at::VARCHAR, contacts, rows_rejected, path
                 FROM suppression_lists ORDER BY loaded_at",
            )
            .map_err(db("reading suppression lists"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ListRow {
                    list: r.get(0)?,
                    reason: r.get(1)?,
                    channel: r.get(2)?,
                    loaded_at: r.get(3)?,
                    contacts: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                    rows_rejected: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                    path: r.get(6)?,
                })
            })
            .map_err(db("reading suppression lists"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("reading suppression lists"))
    }
}

/// Every contact of a list: each number and address of each usable row.
fn list_entries(contacts: &ContactList) -> Vec<ListEntry> {
    let mut rows: Vec<ListEntry> = Vec::new();
    for r in &contacts.rows {
        for p in &r.phones {
            rows.push((ContactKind::Phone, p.clone(), r.row, r.at));
        }
        for e in &r.emails {
            rows.push((ContactKind::Email, e.clone(), r.row, r.at));
        }
    }
    rows
}

fn random_salt() -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut salt = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut salt)?;
    Ok(salt)
}
