//! Deals and spend as loaded (`deal_files`, `deals`, `deal_rejects`, `spend`). Rows are
//! only ever appended; a file whose bytes were loaded before is not loaded again, and a
//! deal re-exported under the same reference is read as the latest file has it
//! (`deals_current`).

use crate::landing::{batch, text_column};
use crate::{db, Store, StoreError};
use chrono::{NaiveDate, Utc};
use duckdb::arrow::array::{ArrayRef, Date32Builder, Float64Builder, Int64Builder};
use duckdb::params;
use leadpipe_core::deals::spend::Spend;
use leadpipe_core::deals::{Deal, DealReject};
use std::sync::Arc;

pub(crate) const DEAL_TABLES: &str = r#"CREATE TABLE IF NOT EXISTS deal_files (
    file_id BIGINT NOT NULL,
    -- deals or spend
    kind VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_rejected BIGINT
);
CREATE TABLE IF NOT EXISTS deals (
    deal_id BIGINT NOT NULL,
    file_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    deal_ref VARCHAR,
    deal_date DATE NOT NULL,
    amount DOUBLE NOT NULL,
    currency VARCHAR NOT NULL,
    -- won, lost, refunded or open
    status VARCHAR NOT NULL,
    customer_ref VARCHAR,
    given_lead_id BIGINT,
    phone_e164 VARCHAR,
    email VARCHAR,
    customer_name VARCHAR,
    product VARCHAR,
    category VARCHAR,
    quantity DOUBLE,
    channel VARCHAR,
    -- cells no field took, or a field could not use: nothing in the file is lost
    extra JSON
);
CREATE TABLE IF NOT EXISTS deal_rejects (
    file_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    field VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS spend (
    file_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    amount DOUBLE NOT NULL,
    currency VARCHAR NOT NULL,
    note VARCHAR
);
-- Rows a later file re-exported (the same deal_ref): filled when that file is loaded, so
-- reading the current deals is an anti-join rather than a grouping of every reference.
CREATE TABLE IF NOT EXISTS deal_superseded (
    deal_id BIGINT NOT NULL,
    by_file_id BIGINT NOT NULL
);
-- A deal exported again (same reference in a later file) is as the latest file has it:
-- all of that file's rows for it (an order of several products is several rows), none of
-- the earlier files'; a status that went from won to refunded counts as refunded. Deals
-- without a reference are all kept. IF NOT EXISTS: every writable open runs the schema and
-- must write nothing when it is there (a full disk still lets a run be marked failed);
-- bases made before `deal_superseded` get this definition once (`fill_deal_superseded`).
CREATE VIEW IF NOT EXISTS deals_current AS
SELECT d.* FROM deals d ANTI JOIN deal_superseded s USING (deal_id);
"#;

/// What kind of file `deal_files` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealFileKind {
    Deals,
    Spend,
}

impl DealFileKind {
    fn as_str(self) -> &'static str {
        match self {
            DealFileKind::Deals => "deals",
            DealFileKind::Spend => "spend",
        }
    }
}

/// `leadpipe_meta` key: the last deals file whose re-exported rows are in
/// `deal_superseded`.
const SUPERSEDED_THROUGH: &str = "deal_superseded_through";

fn days(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32 // NaiveDate::default() is 1970-01-01
}

impl Store {
    /// The file loaded before with these bytes, as `kind`, if any.
    pub fn deal_file_loaded(
        &self,
        kind: DealFileKind,
        content_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM deal_files WHERE kind = ? AND content_hash = ? LIMIT 1")
            .map_err(db("looking up a deals file"))?;
        let mut rows = stmt
            .query(params![kind.as_str(), content_hash])
            .map_err(db("looking up a deals file"))?;
        match rows.next().map_err(db("looking up a deals file"))? {
            Some(r) => Ok(Some(r.get(0).map_err(db("looking up a deals file"))?)),
            None => Ok(None),
        }
    }

    /// Registers a file being loaded and returns its id (counts are set when it is done).
    pub fn begin_deal_file(
        &self,
        kind: DealFileKind,
        path: &str,
        content_hash: &str,
        actor: &str,
    ) -> Result<i64, StoreError> {
        let id = self.next_id("SELECT coalesce(max(file_id), 0) + 1 FROM deal_files")?;
        self.conn
            .execute(
                "INSERT INTO deal_files (file_id, kind, path, content_hash, loaded_at, actor)
                 VALUES (?, ?, ?, ?, ?, ?)",
                params![id, kind.as_str(), path, content_hash, Utc::now(), actor],
            )
            .map_err(db("registering a deals file"))?;
        Ok(id)
    }

    /// Notes how many rows a file gave.
    pub fn finish_deal_file(
        &self,
        file_id: i64,
        read: u64,
        loaded: u64,
        rejected: u64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE deal_files SET rows_read = ?, rows_loaded = ?, rows_rejected = ?
                 WHERE file_id = ?",
                params![read as i64, loaded as i64, rejected as i64, file_id],
            )
            .map_err(db("counting a deals file"))?;
        Ok(())
    }

    /// Marks the rows of earlier files that file `file_id` re-exported (same `deal_ref`)
    /// as superseded; call once its deals have landed.
    pub fn supersede_earlier_deals(&self, file_id: i64) -> Result<u64, StoreError> {
        let n = self
            .conn
            .execute(
                "INSERT INTO deal_superseded
                 SELECT d.deal_id, ? FROM deals d
                 WHERE d.file_id < ? AND d.deal_ref IN (
                           SELECT deal_ref FROM deals WHERE file_id = ? AND deal_ref IS NOT NULL)
                   AND d.deal_id NOT IN (SELECT deal_id FROM deal_superseded)",
                params![file_id, file_id, file_id],
            )
            .map_err(db("marking re-exported deals"))?;
        self.set_meta(SUPERSEDED_THROUGH, &file_id.to_string())?;
        Ok(n as u64)
    }

    /// Keeps `deal_superseded` up to date on open: deals files loaded since the last one
    /// marked (by an older build, which marks nothing; or into a base made before the
    /// table existed, whose `deals_current` is then made again from the schema) are marked
    /// in the order they were loaded. Reads one meta key and one maximum otherwise.
    pub(crate) fn fill_deal_superseded(&self) -> Result<(), StoreError> {
        const CONTEXT: &str = "marking re-exported deals";
        let latest: i64 = self
            .conn
            .query_row(
                "SELECT coalesce(max(file_id), 0) FROM deal_files WHERE kind = 'deals'",
                [],
                |r| r.get(0),
            )
            .map_err(db(CONTEXT))?;
        let through: Option<i64> = self.meta(SUPERSEDED_THROUGH)?.and_then(|v| v.parse().ok());
        if through.is_some_and(|t| t >= latest) {
            return Ok(());
        }
        if through.is_none() {
            // The view an older build made groups every deal number: the schema's reads
            // this table.
            self.conn
                .execute_batch("DELETE FROM deal_superseded; DROP VIEW IF EXISTS deals_current")
                .map_err(db(CONTEXT))?;
            crate::schema::create(&self.conn)?;
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT file_id FROM deal_files WHERE kind = 'deals' AND file_id > ?
                 ORDER BY file_id",
            )
            .map_err(db(CONTEXT))?;
        let files = stmt
            .query_map([through.unwrap_or(0)], |r| r.get::<_, i64>(0))
            .map_err(db(CONTEXT))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db(CONTEXT))?;
        for f in files {
            self.supersede_earlier_deals(f)?;
        }
        // A base without deals files: the mark says so, and the next open reads only.
        self.set_meta(SUPERSEDED_THROUGH, &latest.to_string())
    }

    /// Appends deals of file `file_id`, numbered on from the base's last deal id.
    pub fn land_deals(&self, file_id: i64, deals: &[Deal]) -> Result<(), StoreError> {
        if deals.is_empty() {
            return Ok(());
        }
        let first = self.next_id("SELECT coalesce(max(deal_id), 0) + 1 FROM deals")?;
        let n = deals.len();
        let mut ids = Int64Builder::with_capacity(n);
        let mut rows = Int64Builder::with_capacity(n);
        let mut dates = Date32Builder::with_capacity(n);
        let mut amounts = Float64Builder::with_capacity(n);
        let mut leads = Int64Builder::with_capacity(n);
        let mut quantities = Float64Builder::with_capacity(n);
        for (i, d) in deals.iter().enumerate() {
            ids.append_value(first + i as i64);
            rows.append_value(d.source_row as i64);
            dates.append_value(days(d.date));
            amounts.append_value(d.amount);
            leads.append_option(d.lead_id);
            quantities.append_option(d.quantity);
        }
        let mut files = Int64Builder::with_capacity(n);
        files.append_value_n(file_id, n);
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("deal_id", Arc::new(ids.finish())),
            ("file_id", Arc::new(files.finish())),
            ("source_row", Arc::new(rows.finish())),
            ("deal_ref", text_column(deals, |d| d.deal_ref.as_deref())),
            ("deal_date", Arc::new(dates.finish())),
            ("amount", Arc::new(amounts.finish())),
            (
                "currency",
                text_column(deals, |d| Some(d.currency.as_str())),
            ),
            ("status", text_column(deals, |d| Some(d.status.as_str()))),
            (
                "customer_ref",
                text_column(deals, |d| d.customer_ref.as_deref()),
            ),
            ("given_lead_id", Arc::new(leads.finish())),
            (
                "phone_e164",
                text_column(deals, |d| d.phone_e164.as_deref()),
            ),
            ("email", text_column(deals, |d| d.email.as_deref())),
            ("customer_name", text_column(deals, |d| d.name.as_deref())),
            ("product", text_column(deals, |d| d.product.as_deref())),
            ("category", text_column(deals, |d| d.category.as_deref())),
            ("quantity", Arc::new(quantities.finish())),
            ("channel", text_column(deals, |d| d.channel.as_deref())),
            ("extra", text_column(deals, |d| d.extra.as_deref())),
        ];
        self.append("deals", batch("deals", cols)?)
    }

    /// Appends the rows of file `file_id` that gave no deal or spend.
    pub fn land_deal_rejects(
        &self,
        file_id: i64,
        rejects: &[DealReject],
    ) -> Result<(), StoreError> {
        if rejects.is_empty() {
            return Ok(());
        }
        let n = rejects.len();
        let mut files = Int64Builder::with_capacity(n);
        files.append_value_n(file_id, n);
        let mut rows = Int64Builder::with_capacity(n);
        for r in rejects {
            rows.append_value(r.source_row as i64);
        }
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("file_id", Arc::new(files.finish())),
            ("source_row", Arc::new(rows.finish())),
            ("field", text_column(rejects, |r| r.field.as_deref())),
            ("value", text_column(rejects, |r| r.value.as_deref())),
            ("reason", text_column(rejects, |r| Some(r.reason.as_str()))),
        ];
        self.append("deal_rejects", batch("deal_rejects", cols)?)
    }

    /// Appends spend rows of file `file_id`.
    pub fn land_spend(&self, file_id: i64, spend: &[Spend]) -> Result<(), StoreError> {
        if spend.is_empty() {
            return Ok(());
        }
        let n = spend.len();
        let mut files = Int64Builder::with_capacity(n);
        files.append_value_n(file_id, n);
        let mut rows = Int64Builder::with_capacity(n);
        let mut starts = Date32Builder::with_capacity(n);
        let mut ends = Date32Builder::with_capacity(n);
        let mut amounts = Float64Builder::with_capacity(n);
        for s in spend {
            rows.append_value(s.source_row as i64);
            starts.append_value(days(s.start));
            ends.append_value(days(s.end));
            amounts.append_value(s.amount);
        }
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("file_id", Arc::new(files.finish())),
            ("source_row", Arc::new(rows.finish())),
            ("source", text_column(spend, |s| Some(s.source.as_str()))),
            ("period_start", Arc::new(starts.finish())),
            ("period_end", Arc::new(ends.finish())),
            ("amount", Arc::new(amounts.finish())),
            (
                "currency",
                text_column(spend, |s| Some(s.currency.as_str())),
            ),
            ("note", text_column(spend, |s| s.note.as_deref())),
        ];
        self.append("spend", batch("spend", cols)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadpipe_core::deals::DealStatus;

    fn deal(row: u64, deal_ref: &str, amount: f64) -> Deal {
        Deal {
            source_row: row,
            deal_ref: Some(deal_ref.into()),
            date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            amount,
            currency: "RUB".into(),
            status: DealStatus::Won,
            customer_ref: Some("C-1".into()),
            lead_id: None,
            phone_e164: None,
            email: None,
            name: None,
            product: None,
            category: None,
            quantity: None,
            channel: None,
            extra: None,
        }
    }

    fn current(store: &Store) -> Vec<(String, f64)> {
        let mut stmt = store
            .conn
            .prepare("SELECT deal_ref, amount FROM deals_current ORDER BY deal_ref, amount")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Loads file 1 (A, B as two rows) and file 2 (B again, one row, and C).
    fn load_two_files(store: &Store, supersede: bool) {
        for (hash, deals) in [
            (
                "one",
                vec![deal(1, "A", 10.0), deal(2, "B", 20.0), deal(3, "B", 5.0)],
            ),
            ("two", vec![deal(1, "B", 30.0), deal(2, "C", 40.0)]),
        ] {
            let file = store
                .begin_deal_file(DealFileKind::Deals, hash, hash, "test")
                .unwrap();
            store.land_deals(file, &deals).unwrap();
            if supersede {
                store.supersede_earlier_deals(file).unwrap();
            }
        }
    }

    #[test]
    fn a_later_file_replaces_every_earlier_row_of_a_deal_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("b.duckdb")).unwrap();
        load_two_files(&store, true);
        let want: Vec<(String, f64)> =
            vec![("A".into(), 10.0), ("B".into(), 30.0), ("C".into(), 40.0)];
        assert_eq!(current(&store), want);
        // The same file's numbers again replace nothing more.
        assert_eq!(store.supersede_earlier_deals(2).unwrap(), 0);
    }

    #[test]
    fn a_base_loaded_before_the_superseded_table_is_worked_out_once_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.duckdb");
        {
            let store = Store::open(&path).unwrap();
            load_two_files(&store, false);
            // As an older build left it: no mark, and the view grouping every number.
            store.forget_meta(SUPERSEDED_THROUGH).unwrap();
            store
                .conn
                .execute_batch("CREATE OR REPLACE VIEW deals_current AS SELECT * FROM deals")
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let want: Vec<(String, f64)> =
            vec![("A".into(), 10.0), ("B".into(), 30.0), ("C".into(), 40.0)];
        assert_eq!(current(&store), want);
    }

    #[test]
    fn files_an_older_build_loaded_are_marked_on_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.duckdb");
        {
            let store = Store::open(&path).unwrap();
            // An older build loaded both files into a base that had the table: nothing
            // marked, the mark where this build left it.
            load_two_files(&store, false);
            assert_eq!(
                store.meta(SUPERSEDED_THROUGH).unwrap().as_deref(),
                Some("0")
            );
        }
        let store = Store::open(&path).unwrap();
        let want: Vec<(String, f64)> =
            vec![("A".into(), 10.0), ("B".into(), 30.0), ("C".into(), 40.0)];
        assert_eq!(current(&store), want);
        assert_eq!(
            store.meta(SUPERSEDED_THROUGH).unwrap().as_deref(),
            Some("2")
        );
    }
}
