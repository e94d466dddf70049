//! Bulk landing through an Arrow table function:
//! `INSERT INTO t (cols) SELECT * FROM leadpipe_batches(token)`.
//!
//! One INSERT lands many batches (128k rows) at once, inside the run's
//! transaction. Against duckdb-rs's Appender it skips one copy of every cell (the
//! appender buffers chunks in a collection of its own before appending them), and the
//! batches can be built on other threads while the previous ones land.

use duckdb::arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};

/// The SQL name of the table function.
pub const FUNCTION: &str = "leadpipe_batches";

/// Batches waiting to be scanned, by token (a table function cannot take Rust values).
static WAITING: LazyLock<Mutex<HashMap<u64, Vec<RecordBatch>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// Batches registered for one INSERT; removed from the registry when dropped.
pub struct Registered(pub u64);

impl Registered {
    /// Registers batches that share one schema.
    pub fn new(batches: Vec<RecordBatch>) -> Registered {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        WAITING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token, batches);
        Registered(token)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        WAITING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}

pub struct BatchScan;

pub struct ScanBind {
    batches: Vec<RecordBatch>,
    /// (batch, offset, rows): one DuckDB vector's worth each.
    slices: Vec<(usize, usize, usize)>,
}

pub struct ScanInit {
    next: AtomicUsize,
}

impl VTab for BatchScan {
    type BindData = ScanBind;
    type InitData = ScanInit;

    fn bind(bind: &BindInfo) -> Result<ScanBind, Box<dyn std::error::Error>> {
        let token = bind.get_parameter(0).to_int64() as u64;
        let batches = WAITING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&token)
            .cloned()
            .ok_or("no batches registered under this token")?;
        let first = batches.first().ok_or("no batches to land")?;
        for f in first.schema().fields() {
            let logical = duckdb::vtab::to_duckdb_logical_type_for_field(f)?;
            bind.add_result_column(f.name(), logical);
        }
        // SAFETY: returns DuckDB's compile-time vector size; no pointers involved.
        let vector = unsafe { duckdb::ffi::duckdb_vector_size() } as usize;
        let mut slices = Vec::new();
        for (i, b) in batches.iter().enumerate() {
            let mut offset = 0;
            while offset < b.num_rows() {
                let len = vector.min(b.num_rows() - offset);
                slices.push((i, offset, len));
                offset += len;
            }
        }
        Ok(ScanBind { batches, slices })
    }

    fn init(init: &InitInfo) -> Result<ScanInit, Box<dyn std::error::Error>> {
        // Slices are independent, so DuckDB may convert them on several threads.
        init.set_max_threads(64);
        Ok(ScanInit {
            next: AtomicUsize::new(0),
        })
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let bind = func.get_bind_data();
        let i = func.get_init_data().next.fetch_add(1, Ordering::Relaxed);
        match bind.slices.get(i) {
            Some(&(b, offset, len)) => duckdb::vtab::record_batch_to_duckdb_data_chunk(
                &bind.batches[b].slice(offset, len),
                output,
            )?,
            None => output.set_len(0),
        }
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::Bigint)])
    }
}
