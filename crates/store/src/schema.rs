//! The schema registry: every stage's DDL, in the order a base is built, run on each
//! writable open, and the fingerprint that tells a reader whether the base has every table
//! and column this build asks for. Owns no table: each DDL constant lives beside the
//! queries of the stage that owns the table.

use crate::{analysis, consent, db, dedupe, enrich, import, runs, warmth, Store, StoreError, META};
use duckdb::Connection;

/// The `leadpipe_meta` key holding [`fingerprint`] of the last writer.
const SCHEMA_META_KEY: &str = "schema_fingerprint";

/// The schema as one script: every table (and the `ALTER TABLE`s that extend one, after
/// it), in creation order. Columns are only ever added, never renamed. The tables are in
/// groups, as the schema grew (the base, consent, warmth, place names), each opening on a new
/// line as the one constant it once was: the text of an unchanged schema, and so its
/// [`fingerprint`], stays what older builds wrote.
pub(crate) fn script() -> String {
    let (records, leads) = (import::records::ddl(), dedupe::leads::ddl());
    let groups: [&[&str]; 7] = [
        &[
            runs::RUNS,
            import::SOURCE_FILES,
            import::RAW_RECORDS,
            &records,
            &leads,
            dedupe::LEAD_LINKS,
            dedupe::MATCH_REFUSALS,
            dedupe::LEAD_MERGES,
            dedupe::MATCH_WEIGHTS,
            dedupe::index::MATCH_KEYS,
            dedupe::index::MATCH_NAMES,
            enrich::ENRICHMENT_CACHE,
            import::pages::PAGES,
            import::REJECTS,
        ],
        &[
            META,
            consent::events::CONSENTS,
            consent::refresh::CONSENT_STATUS,
            consent::audit::CONSENT_AUDIT,
            consent::suppress::SUPPRESSION_LISTS,
            consent::suppress::SUPPRESSIONS,
            consent::refresh::LEADS_CONSENT_COLUMNS,
        ],
        &[warmth::ENGAGEMENTS, warmth::LEADS_WARMTH_COLUMNS],
        &[dedupe::leads::LEADS_PLACE_COLUMNS],
        &[
            dedupe::decisions::MATCH_DECISIONS,
            dedupe::review::MATCH_CANDIDATES,
        ],
        &[
            analysis::deals::DEAL_TABLES,
            analysis::segments::SEGMENT_TABLES,
            analysis::value::CUSTOMER_VALUE,
        ],
        &[dedupe::index::MATCH_OVERSIZED_BLOCKS],
    ];
    let mut script = String::new();
    for group in groups {
        script.push('\n');
        for ddl in group {
            script.push_str(ddl);
        }
    }
    script
}

/// `CREATE TABLE IF NOT EXISTS` for `table` with `columns` (name, type and constraints,
/// comment lines shown above the column), one per line, as a table's DDL is written here.
pub(crate) fn create_table<'a>(
    table: &str,
    columns: impl Iterator<Item = (&'a str, &'a str, &'a [&'a str])>,
) -> String {
    let lines: Vec<String> = columns
        .map(|(name, sql, note)| {
            let mut line: String = note.iter().map(|l| format!("    -- {l}\n")).collect();
            line.push_str(&format!("    {name} {sql}"));
            line
        })
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (\n{}\n);\n",
        lines.join(",\n")
    )
}

/// Creates whatever the base lacks (every statement is `IF NOT EXISTS`).
pub(crate) fn create(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&script()).map_err(db("creating schema"))
}

/// A hash of every table definition this build creates: it changes whenever a table or
/// column is added, without anyone having to remember to bump a version number.
fn fingerprint() -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(script().as_bytes())[..8])
}

impl Store {
    /// True when the base was last opened for writing by a build with this schema, so a
    /// reader finds every table and column it asks for.
    pub(crate) fn schema_current(&self) -> Result<bool, StoreError> {
        Ok(
            self.has_meta_table()?
                && self.meta(SCHEMA_META_KEY)?.as_deref() == Some(&fingerprint()),
        )
    }

    /// Notes this build's schema as the base's (after [`create`]).
    pub(crate) fn mark_schema_current(&self) -> Result<(), StoreError> {
        if !self.schema_current()? {
            self.set_meta(SCHEMA_META_KEY, &fingerprint())?;
        }
        Ok(())
    }
}
