//! Arrow batches into and out of DuckDB: landing batches in a table with one INSERT
//! (through the table function in `scan`), the helpers stages build their batches with,
//! and bulk reads. Owns no table.

use crate::{db, scan, Setting, Store, StoreError};
use chrono::{DateTime, Utc};
use duckdb::arrow::array::{Array, ArrayRef, AsArray, StringBuilder, TimestampMicrosecondBuilder};
use duckdb::arrow::datatypes::{Field as ArrowField, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use std::sync::Arc;

impl Store {
    /// Lands one batch (see [`Store::land`]).
    pub(crate) fn append(&self, table: &'static str, batch: RecordBatch) -> Result<(), StoreError> {
        self.land(table, vec![batch])
    }

    /// Runs DuckDB on this thread alone until the guard drops. For the import's INSERTs:
    /// they run on one thread anyway (insertion order is kept), and with a second DuckDB
    /// thread the calling thread spins on the executor's mutex while the worker inserts
    /// (~11% of the import's CPU samples; README, Benchmarks).
    pub fn one_thread(&self) -> Result<Setting<'_>, StoreError> {
        self.set_until_dropped("threads", "1", "limiting DuckDB to one thread")
    }

    /// Lands batches of one schema in `table` with one INSERT on all of DuckDB's threads,
    /// rows in any order. For one big INSERT: each thread leaves one row group partly
    /// filled (many small INSERTs would leave many; see [`Store::without_vacuum`]).
    pub fn land_in_parallel(
        &self,
        table: &'static str,
        batches: Vec<RecordBatch>,
    ) -> Result<(), StoreError> {
        let _in_any_order = self.in_any_order()?;
        self.land(table, batches)
    }

    /// Lets DuckDB run INSERTs on all its threads, rows in any order, until the guard
    /// drops.
    pub(crate) fn in_any_order(&self) -> Result<Setting<'_>, StoreError> {
        self.set_until_dropped("preserve_insertion_order", "false", "landing in parallel")
    }

    /// Lands batches of one schema in `table` with one INSERT (see `scan`).
    pub fn land(&self, table: &'static str, batches: Vec<RecordBatch>) -> Result<(), StoreError> {
        let batches: Vec<RecordBatch> = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
        let Some(first) = batches.first() else {
            return Ok(());
        };
        // Columns that are NULL throughout (consent fields in a purchased list, say) are
        // left out: DuckDB fills them with NULL itself, without a per-cell conversion.
        let schema = first.schema();
        let mut keep: Vec<usize> = Vec::new();
        // Text the same on every row (source, file hash, origin) goes in as one SQL
        // parameter instead of a string per cell through the scan.
        let mut constants: Vec<(usize, String)> = Vec::new();
        for i in 0..first.num_columns() {
            if batches
                .iter()
                .all(|b| b.column(i).null_count() == b.num_rows())
            {
                continue;
            }
            match constant_text(&batches, i) {
                Some(v) => constants.push((i, v)),
                None => keep.push(i),
            }
        }
        if keep.is_empty() {
            // A table function needs a column: keep them all (a one-row batch of text).
            keep.extend(constants.drain(..).map(|(i, _)| i));
        }
        let names: Vec<String> = keep
            .iter()
            .chain(constants.iter().map(|(i, _)| i))
            .map(|&i| format!("\"{}\"", schema.field(i).name()))
            .collect();
        let dense = batches
            .iter()
            .map(|b| b.project(&keep))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Batch {
                table,
                message: e.to_string(),
            })?;
        let registered = scan::Registered::new(dense);
        let mut select = vec!["*"];
        select.extend(constants.iter().map(|_| "?::VARCHAR"));
        let mut values: Vec<duckdb::types::Value> = constants
            .into_iter()
            .map(|(_, v)| duckdb::types::Value::Text(v))
            .collect();
        values.push(duckdb::types::Value::BigInt(registered.0 as i64));
        // Insertion order is kept unless the caller says otherwise (`land_in_parallel`):
        // many 128k-row INSERTs out of order on both threads each left partly filled row
        // groups, which moved work to the checkpoint and left the file 50% larger.
        self.conn
            .execute(
                &format!(
                    "INSERT INTO {table} ({}) SELECT {} FROM {}(?)",
                    names.join(", "),
                    select.join(", "),
                    scan::FUNCTION
                ),
                duckdb::params_from_iter(values),
            )
            .map_err(db("landing a batch"))?;
        Ok(())
    }

    /// Fills the temp table `name` (one BIGINT column `column`) with `values`: the ids a
    /// query then joins against.
    pub(crate) fn temp_ids(
        &self,
        name: &'static str,
        column: &'static str,
        values: impl Iterator<Item = i64>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE {name} ({column} BIGINT)"
            ))
            .map_err(db("preparing a lookup"))?;
        let ids: ArrayRef = Arc::new(duckdb::arrow::array::Int64Array::from_iter_values(values));
        self.append(name, batch(name, vec![(column, ids)])?)
    }

    /// Runs a query and collects its result as Arrow batches. Streamed: DuckDB's
    /// materialised result copied every string once more before converting it (reading
    /// 950k lead members took 0.95 s that way, 0.55 s streamed).
    pub(crate) fn read_arrow(
        &self,
        sql: &str,
        params: impl duckdb::Params,
        context: &'static str,
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(db(context))?;
        let batches = stmt
            .stream_arrow(params)
            .map_err(db(context))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db(context));
        batches
    }
}

/// The value of text column `i` when it is the same, and not NULL, on every row.
fn constant_text(batches: &[RecordBatch], i: usize) -> Option<String> {
    let first = batches[0].column(i).as_string_opt::<i32>()?;
    if first.null_count() > 0 {
        return None;
    }
    let value = first.value(0);
    batches
        .iter()
        .all(|b| {
            b.column(i)
                .as_string_opt::<i32>()
                .is_some_and(|a| a.null_count() == 0 && a.iter().all(|v| v == Some(value)))
        })
        .then(|| value.to_string())
}

/// A text column with its value buffer sized exactly: a batch in flight holds ~45 text
/// columns, mostly short or empty, and a fixed guess per row over-reserved ~20 MB per
/// 32k-row batch (import's peak memory counts every batch waiting to land).
pub(crate) fn text_column<'a, T>(items: &'a [T], f: impl Fn(&'a T) -> Option<&'a str>) -> ArrayRef {
    let bytes = items.iter().map(|r| f(r).map_or(0, str::len)).sum();
    let mut b = StringBuilder::with_capacity(items.len(), bytes);
    for r in items {
        b.append_option(f(r));
    }
    Arc::new(b.finish())
}

/// `v` on each of `n` rows, as one dictionary entry when `dictionary`.
pub(crate) fn same_text(v: &str, n: usize, dictionary: bool) -> ArrayRef {
    if !dictionary {
        return repeat_str(v, n);
    }
    let keys = duckdb::arrow::array::Int32Array::from(vec![0; n]);
    let values: ArrayRef = Arc::new(duckdb::arrow::array::StringArray::from(vec![v]));
    Arc::new(duckdb::arrow::array::DictionaryArray::new(keys, values))
}

pub(crate) fn repeat_str(v: &str, n: usize) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(n, v.len() * n);
    for _ in 0..n {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

pub(crate) fn repeat_i64(v: i64, n: usize) -> ArrayRef {
    Arc::new(duckdb::arrow::array::Int64Array::from(vec![v; n]))
}

/// A timestamp column (UTC, microseconds) of `n` values.
pub(crate) fn ts_col(vals: impl Iterator<Item = Option<DateTime<Utc>>>, n: usize) -> ArrayRef {
    let mut b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    for v in vals {
        b.append_option(v.map(|d| d.timestamp_micros()));
    }
    Arc::new(b.finish())
}

/// A text column of `n` values (see [`text_column`] for one sized exactly).
pub(crate) fn str_col<'a>(vals: impl Iterator<Item = Option<&'a str>>, n: usize) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(n, n * 16);
    for v in vals {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

/// Columns the schema declares JSON. Their text comes from our own serialiser, so it is
/// marked as Arrow JSON and lands as DuckDB JSON without a cast that re-parses every value
/// (~0.3 s of a 1M-row import).
const JSON_COLUMNS: [&str; 3] = ["raw_values", "enrichment_source", "extra"];

/// A batch for `table` of the named columns, in the order given; [`JSON_COLUMNS`] are
/// marked as JSON text.
pub(crate) fn batch(
    table: &'static str,
    cols: Vec<(&str, ArrayRef)>,
) -> Result<RecordBatch, StoreError> {
    let fields: Vec<ArrowField> = cols
        .iter()
        .map(|(name, a)| {
            let field = ArrowField::new(*name, a.data_type().clone(), true);
            if JSON_COLUMNS.contains(name) {
                scan::json_field(field)
            } else {
                field
            }
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, cols.into_iter().map(|(_, a)| a).collect()).map_err(|e| {
        StoreError::Batch {
            table,
            message: e.to_string(),
        }
    })
}

/// Typed access to one column of an Arrow batch (bulk reads: the row API costs a call per
/// cell, which dominates when a million consent events are read).
pub(crate) struct BatchCols<'a>(pub(crate) &'a RecordBatch);

impl BatchCols<'_> {
    pub(crate) fn i64(&self, c: usize, i: usize) -> Option<i64> {
        use duckdb::arrow::array::{Array, AsArray};
        let col = self
            .0
            .column(c)
            .as_primitive::<duckdb::arrow::datatypes::Int64Type>();
        (!col.is_null(i)).then(|| col.value(i))
    }

    pub(crate) fn str(&self, c: usize, i: usize) -> Option<&str> {
        use duckdb::arrow::array::{Array, AsArray};
        let col = self.0.column(c).as_string::<i32>();
        (!col.is_null(i)).then(|| col.value(i))
    }

    pub(crate) fn string(&self, c: usize, i: usize) -> Option<String> {
        self.str(c, i).map(str::to_string)
    }

    pub(crate) fn ts(&self, c: usize, i: usize) -> Option<DateTime<Utc>> {
        use duckdb::arrow::array::{Array, AsArray};
        let col = self
            .0
            .column(c)
            .as_primitive::<duckdb::arrow::datatypes::TimestampMicrosecondType>();
        (!col.is_null(i))
            .then(|| DateTime::from_timestamp_micros(col.value(i)))
            .flatten()
    }
}
