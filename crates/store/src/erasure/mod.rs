//! Erasure (152-FZ art. 21): finding every trace of a person and removing it from every
//! table, then rewriting the file so no free block keeps the bytes. Owns no table: it
//! reaches into every table that can hold personal data ([`ERASED_TABLES`]).

use crate::consent::ERASURE_LIST;
use crate::{db, ids_sql, split_list, strs_sql, Store, StoreError};
use chrono::Utc;
use duckdb::params;
use leadpipe_core::consent::ContactKind;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod deals;
use deals::deal_erasure_steps;

/// What an erasure will remove (`--dry-run` prints this) and did remove.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErasurePlan {
    pub lead_ids: Vec<i64>,
    pub record_ids: Vec<i64>,
    pub raw_ids: Vec<i64>,
    /// Every contact of the erased people; hashed into `suppressions`, never printed.
    #[serde(skip)]
    pub phones: Vec<String>,
    #[serde(skip)]
    pub emails: Vec<String>,
    pub phones_hashed: usize,
    pub emails_hashed: usize,
    /// ИНН of the erased records (a sole trader's ИНН identifies the person; provider
    /// answers cached under it go too).
    #[serde(skip)]
    pub inns: Vec<String>,
}

/// What a plan has found so far (see [`Store::plan_erasure`]).
#[derive(Default)]
struct Traces {
    phones: BTreeSet<String>,
    emails: BTreeSet<String>,
    leads: BTreeSet<i64>,
    records: BTreeSet<i64>,
    raw_ids: BTreeSet<i64>,
    inns: BTreeSet<String>,
}

impl Store {
    /// Finds everything an erasure must remove: the leads holding the contact (also where
    /// an address sits in a raw row only: records keep one e-mail), all their records and
    /// raw rows, and any other raw row (a reject, a comment field) where one of the
    /// person's numbers or addresses appears in any spelling.
    pub fn plan_erasure(
        &self,
        phone: Option<&str>,
        email: Option<&str>,
    ) -> Result<ErasurePlan, StoreError> {
        let mut found = Traces {
            phones: phone.map(str::to_string).into_iter().collect(),
            emails: email.map(str::to_string).into_iter().collect(),
            ..Traces::default()
        };
        // Grow the set until nothing new turns up: a lead brings its other numbers and
        // addresses, an address found in a raw row brings that record's lead.
        for _round in 0..5 {
            let before = (found.leads.len(), found.phones.len(), found.emails.len());
            self.grow_traces(&mut found)?;
            if before == (found.leads.len(), found.phones.len(), found.emails.len()) {
                break;
            }
        }
        let Traces {
            phones,
            emails,
            leads,
            mut records,
            mut raw_ids,
            inns,
        } = found;
        let phones: Vec<String> = phones.into_iter().collect();
        let emails: Vec<String> = emails.into_iter().collect();
        // Any other raw row that mentions a contact (a reject, someone else's comment
        // field, another person's record with a shared number) goes, with its record.
        raw_ids.extend(self.raw_mentioning(&phones, &emails)?);
        let raws: Vec<i64> = raw_ids.into_iter().collect();
        for (rec, _) in self.records_and_leads(&format!(
            "SELECT record_id, NULL::BIGINT FROM records WHERE raw_id IN ({})",
            ids_sql(&raws)
        ))? {
            records.insert(rec);
        }
        Ok(ErasurePlan {
            lead_ids: leads.into_iter().collect(),
            record_ids: records.into_iter().collect(),
            raw_ids: raws,
            phones_hashed: phones.len(),
            emails_hashed: emails.len(),
            phones,
            emails,
            inns: inns.into_iter().collect(),
        })
    }

    /// One round of the plan: the records holding a contact found so far or belonging to
    /// a lead found so far (also through an address in their raw row), and those records'
    /// leads, raw rows, contacts and ИНН.
    fn grow_traces(&self, found: &mut Traces) -> Result<(), StoreError> {
        let p: Vec<String> = found.phones.iter().cloned().collect();
        let m: Vec<String> = found.emails.iter().cloned().collect();
        for (rec, lead) in self.records_and_leads(&format!(
            "SELECT record_id, lead_id FROM records
             WHERE phone_e164 IN ({ps}) OR list_has_any(phones_extra, [{ps}]::VARCHAR[])
                OR email IN ({ms}) OR lead_id IN ({ls})",
            ps = strs_sql(&p),
            ms = strs_sql(&m),
            ls = ids_sql(&found.leads.iter().copied().collect::<Vec<_>>()),
        ))? {
            found.records.insert(rec);
            found.leads.extend(lead);
        }
        // Addresses in raw rows only (a second e-mail column): their records' leads.
        let by_email = self.raw_mentioning(&[], &m)?;
        if !by_email.is_empty() {
            for (rec, lead) in self.records_and_leads(&format!(
                "SELECT record_id, lead_id FROM records WHERE raw_id IN ({})",
                ids_sql(&by_email)
            ))? {
                found.records.insert(rec);
                found.leads.extend(lead);
            }
        }
        let sql = format!(
            "SELECT raw_id, phone_e164, array_to_string(phones_extra, chr(31)), email, inn
             FROM records WHERE record_id IN ({})",
            ids_sql(&found.records.iter().copied().collect::<Vec<_>>())
        );
        let mut stmt = self.conn.prepare(&sql).map_err(db("planning an erasure"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(db("planning an erasure"))?;
        for row in rows {
            let (raw, p, extra, em, inn) = row.map_err(db("planning an erasure"))?;
            found.raw_ids.insert(raw);
            found.phones.extend(p);
            found.phones.extend(split_list(extra.as_deref()));
            found.emails.extend(em);
            found.inns.extend(inn);
        }
        self.grow_traces_by_deals(found)
    }

    /// (record_id, lead_id) pairs of a query.
    fn records_and_leads(&self, sql: &str) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(db("planning an erasure"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db("planning an erasure"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("planning an erasure"))
    }

    /// Raw rows where one value holds one of the numbers (by the digits of its national
    /// number) or one of the addresses (any case, the domain in punycode or in Unicode).
    fn raw_mentioning(&self, phones: &[String], emails: &[String]) -> Result<Vec<i64>, StoreError> {
        let needles: Vec<String> = phones.iter().map(|p| national_digits(p)).collect();
        let spellings = email_spellings(emails);
        if needles.is_empty() && spellings.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT raw_id, raw_values::VARCHAR FROM raw_records WHERE {}",
            mentions_sql("raw_values::VARCHAR", &needles, &spellings)
        );
        let mut stmt = self.conn.prepare(&sql).map_err(db("planning an erasure"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(db("planning an erasure"))?;
        let mut out = Vec::new();
        for row in rows {
            let (raw_id, json) = row.map_err(db("planning an erasure"))?;
            if raw_mentions(&json, &needles, &spellings) {
                out.push(raw_id);
            }
        }
        Ok(out)
    }

    /// Removes everything in `plan` from every table that can hold personal data (see
    /// [`ERASED_TABLES`]), and keeps only salted hashes of the contacts in `suppressions`
    /// (list `erasure`) so the person is never imported again silently. Marks the file as
    /// needing a rewrite: [`Store::compact`] after the commit clears the mark, and a
    /// command that finds the mark redoes the rewrite first.
    pub fn erase(&self, plan: &ErasurePlan, actor: &str) -> Result<ErasureReport, StoreError> {
        let hasher = self.contact_hasher()?;
        let mut report = ErasureReport::default();
        let renamed = self.sources_naming(plan)?;
        for step in erasure_steps(plan)
            .into_iter()
            .chain(renaming_steps(plan, &renamed))
        {
            let changed = self.conn.execute(&step.sql, []).map_err(db("erasing"))?;
            if changed > 0 {
                *report.rows_by_table.entry(step.table).or_default() += changed;
            }
        }
        let now = Utc::now();
        let to_hash = plan
            .phones
            .iter()
            .map(|p| (ContactKind::Phone, p))
            .chain(plan.emails.iter().map(|m| (ContactKind::Email, m)));
        for (kind, value) in to_hash {
            self.conn
                .execute(
                    "INSERT INTO suppressions VALUES (?, ?, NULL, ?, NULL, 'erasure', NULL, ?::TIMESTAMPTZ, now())",
                    params![ERASURE_LIST, kind.as_str(), hasher.hash(kind, value), now.to_rfc3339()],
                )
                .map_err(db("keeping the erased hash"))?;
        }
        self.audit_action(
            actor,
            None,
            &format!(
                "erased {} lead(s), {} record(s), {} raw row(s); {} phone(s) and {} e-mail(s) kept as salted hashes; rows removed or redacted: {}",
                plan.lead_ids.len(),
                plan.record_ids.len(),
                plan.raw_ids.len(),
                plan.phones.len(),
                plan.emails.len(),
                report.summary()
            ),
        )?;
        self.set_meta(COMPACTION_PENDING, &now.to_rfc3339())?;
        Ok(report)
    }
}

/// What an erasure removed (deleted rows) or redacted (rows whose text was blanked), per
/// table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErasureReport {
    pub rows_by_table: BTreeMap<&'static str, usize>,
}

impl ErasureReport {
    /// `records 3, raw_records 3, …`, or `nothing`.
    pub fn summary(&self) -> String {
        if self.rows_by_table.is_empty() {
            return "nothing".into();
        }
        self.rows_by_table
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Tables that can hold a person's data, each with how erasure clears it. A test checks
/// that every table in the base is here or in [`TABLES_WITHOUT_PERSONAL_DATA`], so a new
/// table cannot be forgotten.
pub const ERASED_TABLES: &[&str] = &[
    "lead_links",
    "match_candidates",
    // The reviewer's reason may name the person: it is blanked, the decision kept.
    "match_decisions",
    "match_keys",
    // A block's size with its hashed key and surname: the erased records' blocks go (the
    // index is rebuilt by the next run anyway).
    "match_oversized_blocks",
    "match_refusals",
    "records",
    "rejects",
    "raw_records",
    "leads",
    "consent_audit",
    "consents",
    "consent_status",
    "suppressions",
    "enrichment_cache",
    "pages",
    "suppression_lists",
    "engagements",
    "runs",
    // Only a file or source named after the person (`Иванов 89161234567.csv`): renamed.
    "source_files",
    // The person's deals stay (revenue is the business's) with who bought erased: one
    // anonymous customer per erasure.
    "deals",
    "deal_rejects",
    "deal_files",
    "spend",
    // Derived from deals and leads by the segment stage and `analyse`: rows of the
    // person's customer go (the next segment stage counts the anonymous one).
    "deal_owners",
    "customers",
    "customer_rfm",
    "customer_value",
];

/// Tables that never hold a contact, a name or free text from a person, and why.
pub const TABLES_WITHOUT_PERSONAL_DATA: &[(&str, &str)] = &[
    ("leadpipe_meta", "settings and the hashing salt"),
    ("lead_merges", "lead ids only"),
    ("deal_superseded", "deal and file ids only"),
    ("match_weights", "the model's weights only"),
    ("record_successors", "record ids only"),
    (
        "match_names",
        "the model's name frequencies: a count per hashed name, with no record, contact or name",
    ),
];

/// The `leadpipe_meta` key set while an erased file still needs rewriting.
pub const COMPACTION_PENDING: &str = "compaction_pending_since";

impl Store {
    /// Source names, and file paths, that name one of the person's contacts (a file saved
    /// as `Иванов 89161234567.csv` becomes a source of that name): each gets a new name,
    /// the same in every table.
    fn sources_naming(&self, plan: &ErasurePlan) -> Result<Vec<(String, String)>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT source FROM (
                 SELECT source FROM source_files UNION ALL SELECT path FROM source_files
                 UNION ALL SELECT DISTINCT source FROM raw_records
                 UNION ALL SELECT DISTINCT unnest(sources) FROM leads
                 UNION ALL SELECT DISTINCT source FROM pages
                 UNION ALL SELECT DISTINCT source FROM engagements) t(source)
             WHERE source IS NOT NULL AND ({})
             ORDER BY 1",
            plan.mentions_sql("source")
        );
        let mut stmt = self.conn.prepare(&sql).map_err(db("planning an erasure"))?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db("planning an erasure"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db("planning an erasure"))?;
        let stamp = Utc::now().timestamp_micros();
        Ok(names
            .into_iter()
            .enumerate()
            .map(|(i, old)| (old, format!("erased-source-{stamp:x}-{}", i + 1)))
            .collect())
    }
}

/// Renames `renamed` sources everywhere, and redacts run commands and summaries that
/// quote them.
fn renaming_steps(plan: &ErasurePlan, renamed: &[(String, String)]) -> Vec<Step> {
    let mentions = |text: &str| plan.mentions_sql(text);
    let q = |v: &str| format!("'{}'", v.replace('\'', "''"));
    let mut steps = Vec::new();
    for (old, new) in renamed {
        let (old, new) = (q(old), q(new));
        for table in [
            "source_files",
            "raw_records",
            "records",
            "rejects",
            "pages",
            "engagements",
        ] {
            steps.push(Step {
                table,
                sql: format!("UPDATE {table} SET source = {new} WHERE source = {old}"),
            });
        }
        steps.push(Step {
            table: "leads",
            sql: format!(
                "UPDATE leads SET sources = list_transform(sources, lambda x: CASE WHEN x = {old} THEN {new} ELSE x END)
                 WHERE list_contains(sources, {old})"
            ),
        });
        // Summaries quote source names as JSON strings.
        steps.push(Step {
            table: "runs",
            sql: format!(
                "UPDATE runs SET summary = replace(summary::VARCHAR, to_json({old})::VARCHAR, to_json({new})::VARCHAR)::JSON
                 WHERE contains(summary::VARCHAR, to_json({old})::VARCHAR)"
            ),
        });
    }
    steps.push(Step {
        table: "source_files",
        sql: format!(
            "UPDATE source_files SET path = '[erased]' WHERE {}",
            mentions("coalesce(path, '')")
        ),
    });
    steps.push(Step {
        table: "runs",
        sql: format!(
            "UPDATE runs SET command = '[erased]' WHERE {}",
            mentions("coalesce(command, '') || ' ' || coalesce(pipeline, '')")
        ),
    });
    // Whatever a summary still quotes (a file's path): the summary goes.
    steps.push(Step {
        table: "runs",
        sql: format!(
            "UPDATE runs SET summary = '{{\"redacted\": \"after an erasure\"}}' WHERE {}",
            mentions("coalesce(summary::VARCHAR, '')")
        ),
    });
    steps
}

struct Step {
    table: &'static str,
    sql: String,
}

/// The statements that clear `plan` from every table in [`ERASED_TABLES`], in an order
/// where each still finds what it needs (consent_audit before consents).
fn erasure_steps(plan: &ErasurePlan) -> Vec<Step> {
    let recs = ids_sql(&plan.record_ids);
    let raws = ids_sql(&plan.raw_ids);
    let leads = ids_sql(&plan.lead_ids);
    let phones = strs_sql(&plan.phones);
    let emails = strs_sql(&plan.emails);
    let contacts = strs_sql(&[plan.phones.clone(), plan.emails.clone()].concat());
    let inns = strs_sql(&plan.inns);
    let mentions = |text: &str| plan.mentions_sql(text);
    let by_contact = format!("phone_e164 IN ({phones}) OR email IN ({emails})");
    let step = |table: &'static str, sql: String| Step { table, sql };
    vec![
        step("lead_links", format!("DELETE FROM lead_links WHERE record_a IN ({recs}) OR record_b IN ({recs})")),
        step("match_candidates", format!("DELETE FROM match_candidates WHERE record_a IN ({recs}) OR record_b IN ({recs})")),
        step("match_decisions", format!(
            "UPDATE match_decisions SET reason = '[erased]'
             WHERE reason <> '[erased]' AND list_has_any(records_a || records_b,
                 [{recs}]::BIGINT[] || (SELECT coalesce(list(old_record_id), []::BIGINT[])
                                      FROM record_successors WHERE new_record_id IN ({recs})))"
        )),
        step("match_oversized_blocks", format!(
            "DELETE FROM match_oversized_blocks
             WHERE key IN (SELECT key FROM match_keys WHERE record_id IN ({recs}))"
        )),
        step("match_keys", format!("DELETE FROM match_keys WHERE record_id IN ({recs})")),
        step("match_refusals", format!(
            "DELETE FROM match_refusals WHERE record_a IN ({recs}) OR record_b IN ({recs})
                 OR conflict_a IN ({recs}) OR conflict_b IN ({recs})"
        )),
        step("records", format!("DELETE FROM records WHERE record_id IN ({recs}) OR raw_id IN ({raws})")),
        step("rejects", format!("DELETE FROM rejects WHERE raw_id IN ({raws})")),
        step("raw_records", format!("DELETE FROM raw_records WHERE raw_id IN ({raws})")),
        step("leads", format!("DELETE FROM leads WHERE lead_id IN ({leads})")),
        // The trail keeps what changed and when; the wording could hold an IP.
        step("consent_audit", format!(
            "UPDATE consent_audit SET detail = '[erased]' WHERE detail IS DISTINCT FROM '[erased]' AND (
                 lead_id IN ({leads}) OR consent_id IN (
                     SELECT consent_id FROM consents WHERE record_id IN ({recs}) OR {by_contact}))"
        )),
        step("consents", format!("DELETE FROM consents WHERE record_id IN ({recs}) OR {by_contact}")),
        step("consent_status", format!("DELETE FROM consent_status WHERE lead_id IN ({leads})")),
        step("suppressions", format!("DELETE FROM suppressions WHERE value IN ({contacts})")),
        // A provider's answer may quote the contact in its body; so may kept web pages
        // (bytes, searched as text) and the rejected cells a suppression list kept.
        step("enrichment_cache", format!(
            "DELETE FROM enrichment_cache WHERE lookup_key IN ({contacts}) OR lookup_key IN ({inns})
                 OR {}",
            mentions("coalesce(body, '')")
        )),
        step("pages", format!(
            "DELETE FROM pages WHERE {}",
            mentions("coalesce(body::VARCHAR, '') || ' ' || url || ' ' || coalesce(error, '')")
        )),
        step("suppression_lists", format!(
            "UPDATE suppression_lists SET rejects = '[{{\"row\": null, \"reason\": \"redacted after an erasure\"}}]'
             WHERE {}",
            mentions("coalesce(rejects::VARCHAR, '')")
        )),
        // Visits, opens, replies and call outcomes are keyed by the contact itself.
        step("engagements", format!("DELETE FROM engagements WHERE {by_contact}")),
        // A call result on another number may name the person in its note or wording.
        step("engagements", format!(
            "UPDATE engagements SET note = '[erased]', outcome_text = '[erased]' WHERE {}",
            mentions("coalesce(note, '') || ' ' || coalesce(outcome_text, '')")
        )),
        // A failed run's message may quote a value.
        step("runs", format!(
            "UPDATE runs SET error = '[erased]' WHERE {}",
            mentions("coalesce(error, '')")
        )),
    ]
    .into_iter()
    .chain(deal_erasure_steps(plan))
    .collect()
}

/// The digits a person would type for this number at home: the national number for
/// Russian numbers (`9161234567` for `+79161234567`), all digits otherwise.
pub fn national_digits(e164: &str) -> String {
    let d: String = e164.chars().filter(char::is_ascii_digit).collect();
    match d.strip_prefix('7') {
        Some(rest) if d.len() == 11 => rest.to_string(),
        _ => d,
    }
}

impl ErasurePlan {
    /// SQL true when `text` (an expression) mentions one of the plan's numbers or
    /// addresses (see [`mentions_sql`]).
    fn mentions_sql(&self, text: &str) -> String {
        let digits: Vec<String> = self.phones.iter().map(|p| national_digits(p)).collect();
        mentions_sql(text, &digits, &self.emails)
    }
}

/// SQL true when `text` (an expression) mentions one of the numbers (by the digits of its
/// national number, separators ignored) or one of the addresses (any letter case);
/// `false` when there is nothing to look for.
fn mentions_sql(text: &str, digits: &[String], emails: &[String]) -> String {
    let conds: Vec<String> = digits
        .iter()
        .map(|d| format!("regexp_replace({text}, '[^0-9]', '', 'g') LIKE '%{d}%'"))
        .chain(
            emails
                .iter()
                .map(|m| format!("contains(lower({text}), '{}')", m.replace('\'', "''"))),
        )
        .collect();
    if conds.is_empty() {
        "false".to_string()
    } else {
        conds.join(" OR ")
    }
}

/// Every spelling of the addresses worth searching for: as stored (domain in punycode),
/// and with the domain in Unicode (`почта.рф`), all lower case.
fn email_spellings(emails: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in emails {
        out.push(m.to_lowercase());
        if let Some((local, domain)) = m.rsplit_once('@') {
            let (unicode, result) = idna::domain_to_unicode(domain);
            if result.is_ok() && unicode != domain {
                out.push(format!("{}@{}", local, unicode).to_lowercase());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// True when one value of the raw JSON row holds one of the numbers (by digits) or one of
/// the addresses (any case).
fn raw_mentions(json: &str, phone_digits: &[String], emails: &[String]) -> bool {
    let Ok(leadpipe_core::record::OrderedObject(obj)) = serde_json::from_str(json) else {
        // Not an object (should not happen): judge the whole text.
        let digits: String = json.chars().filter(char::is_ascii_digit).collect();
        let lower = json.to_lowercase();
        return phone_digits.iter().any(|d| digits.contains(d.as_str()))
            || emails.iter().any(|m| lower.contains(m.as_str()));
    };
    obj.iter().any(|(_, v)| {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let lower = text.to_lowercase();
        phone_digits.iter().any(|d| digits.contains(d.as_str()))
            || emails.iter().any(|m| lower.contains(m.as_str()))
    })
}

impl Store {
    /// Rewrites the database file from scratch (`COPY FROM DATABASE` into a new file, then
    /// a rename), so pages that held erased data are gone from the disk, not just unused.
    /// Safe to kill at any point: until the rename the old file keeps its
    /// [`COMPACTION_PENDING`] mark and the next command redoes the rewrite; the copy has
    /// the mark removed before it replaces the old file.
    pub fn compact(self, path: &Path) -> Result<(), StoreError> {
        // The file itself, not a symlink to it: the link is kept, the target rewritten.
        let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let tmp = compacting_path(path);
        remove_with_wal(&tmp);
        let failed = |message: String| StoreError::Batch {
            table: "(file)",
            message,
        };
        // A copy that fills the disk would leave a half file behind and the disk full:
        // refuse up front when the copy cannot fit (it is at most the size of the file).
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if let Some(free) = free_bytes(path.parent().unwrap_or(Path::new("."))) {
            if free < size + size / 10 {
                return Err(failed(format!(
                    "rewriting {} after an erasure needs about {} MB free beside it; {} MB are free",
                    path.display(),
                    (size + size / 10) >> 20,
                    free >> 20
                )));
            }
        }
        let current: String = self
            .conn
            .query_row("SELECT current_database()", [], |r| r.get(0))
            .map_err(db("compacting the database"))?;
        let copied = self.conn.execute_batch(&format!(
            "CHECKPOINT;
             ATTACH '{}' AS leadpipe_compact;
             COPY FROM DATABASE \"{}\" TO leadpipe_compact;
             DELETE FROM leadpipe_compact.leadpipe_meta WHERE key = '{COMPACTION_PENDING}';
             DETACH leadpipe_compact;",
            tmp.display().to_string().replace('\'', "''"),
            current.replace('"', "\"\"")
        ));
        if let Err(e) = copied {
            let _ = self
                .conn
                .execute_batch("DETACH DATABASE IF EXISTS leadpipe_compact");
            remove_with_wal(&tmp);
            return Err(StoreError::Db {
                context: "compacting the database",
                source: e,
            });
        }
        drop(self);
        // The copy gets the old file's permissions (a base kept private stays private)
        // and, where allowed, its owner.
        if let Ok(meta) = std::fs::metadata(path) {
            let _ = std::fs::set_permissions(&tmp, meta.permissions());
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let _ = std::os::unix::fs::chown(&tmp, Some(meta.uid()), Some(meta.gid()));
            }
        }
        // The old file was checkpointed and closed, so its WAL (if any) holds nothing the
        // copy lacks; removed before the rename, it can never be replayed onto the copy.
        let _ = std::fs::remove_file(wal_path(path));
        let replaced = std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = replaced {
            remove_with_wal(&tmp);
            return Err(failed(format!(
                "replacing {} with its compacted copy: {e}",
                path.display()
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }

    /// True when an erasure committed but the file was not rewritten yet.
    pub fn compaction_pending(&self) -> Result<bool, StoreError> {
        Ok(self.has_meta_table()? && self.meta(COMPACTION_PENDING)?.is_some())
    }
}

/// Where the compacted copy of `path` is written before it replaces it.
pub fn compacting_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("compacting.duckdb")
}

fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".wal");
    std::path::PathBuf::from(p)
}

/// Free bytes on the file system holding `dir`, when the system says.
fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs is plain data; all zeroes is a valid value to be overwritten.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is a valid NUL-terminated path and `stat` a writable statvfs.
        if unsafe { libc::statvfs(c.as_ptr(), &mut stat) } != 0 {
            return None;
        }
        Some(stat.f_bavail as u64 * stat.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

fn remove_with_wal(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(wal_path(path));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_digits_strip_the_russian_country_code() {
        assert_eq!(national_digits("+79161234567"), "9161234567");
        assert_eq!(national_digits("+375291234567"), "375291234567");
    }

    #[test]
    fn raw_mentions_looks_inside_single_values() {
        let json = r#"{"Телефон":"8 (916) 123-45-67","Почта":"X@Y.RU"}"#;
        assert!(raw_mentions(json, &["9161234567".into()], &[]));
        assert!(raw_mentions(json, &[], &["x@y.ru".into()]));
        // Digits split across two cells are not a match.
        let split = r#"{"a":"916123","b":"4567"}"#;
        assert!(!raw_mentions(split, &["9161234567".into()], &[]));
    }
}
