//! Bulk landing through an Arrow table function:
//! `INSERT INTO t (cols) SELECT * FROM leadpipe_batches(token)`.
//!
//! One INSERT lands many batches (128k rows) at once, inside the run's
//! transaction. Against duckdb-rs's Appender it skips one copy of every cell (the
//! appender buffers chunks in a collection of its own before appending them), and the
//! batches can be built on other threads while the previous ones land.
//!
//! Each vector's worth of rows is handed to DuckDB's own Arrow conversion
//! (`duckdb_data_chunk_from_arrow`), which references the Arrow buffers instead of
//! copying every string cell through one FFI call each as duckdb-rs's
//! `record_batch_to_duckdb_data_chunk` does (~10% of the 1M-row run's CPU).

use duckdb::arrow::array::{Array, StructArray};
use duckdb::arrow::datatypes::{DataType, Field};
use duckdb::arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::ffi;
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::collections::HashMap;
use std::ffi::CStr;
use std::ptr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};

/// The SQL name of the table function.
pub const FUNCTION: &str = "leadpipe_batches";

/// Arrow field metadata naming an extension type; text columns marked `arrow.json` are
/// declared as DuckDB's JSON type (VARCHAR aliased JSON), so inserting them into a JSON
/// column needs no cast.
const EXTENSION_KEY: &str = "ARROW:extension:name";
const JSON_EXTENSION: &str = "arrow.json";

/// Marks a text field as JSON text (see [`EXTENSION_KEY`]).
pub fn json_field(field: Field) -> Field {
    field.with_metadata(HashMap::from([(
        EXTENSION_KEY.to_string(),
        JSON_EXTENSION.to_string(),
    )]))
}

pub(super) fn is_json(field: &Field) -> bool {
    field.metadata().get(EXTENSION_KEY).map(String::as_str) == Some(JSON_EXTENSION)
}

/// Types whose DuckDB type id (checked in `bind`) pins down the whole type; lists of them
/// are taken too. Nested ones (struct, map, decimal width) would need a deeper check.
fn plain_type(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Boolean
            | DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Date32
            | DataType::Utf8
            | DataType::Timestamp(_, _)
    )
}

/// Every batch is converted with the first one's schema and DuckDB does not check an
/// array against it, so batches that differ, or types outside [`plain_type`], are refused.
fn check_loadable(batches: &[RecordBatch]) -> Result<(), String> {
    let first = batches.first().ok_or("no batches to land")?;
    if let Some(other) = batches.iter().find(|b| b.schema() != first.schema()) {
        return Err(format!(
            "batches to land differ in schema: {:?} and {:?}",
            first.schema(),
            other.schema()
        ));
    }
    for f in first.schema().fields() {
        let supported = match f.data_type() {
            DataType::List(item) => plain_type(item.data_type()),
            // Dictionary-encoded text: DuckDB reads it as VARCHAR.
            DataType::Dictionary(key, value) => {
                **key == DataType::Int32 && **value == DataType::Utf8
            }
            t => plain_type(t),
        };
        if !supported {
            return Err(format!(
                "column {} has a type the bulk loader does not take: {}",
                f.name(),
                f.data_type()
            ));
        }
    }
    Ok(())
}

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

/// A connection to a private in-memory DuckDB, used only for its Arrow conversion
/// settings (`duckdb_data_chunk_from_arrow` wants a connection; the chunks it makes
/// belong to no database, so any connection will do). Opened once per process.
struct Converter(ffi::duckdb_connection);

// SAFETY: the conversion only keeps a reference to the connection's context, which it
// uses for Arrow extension types with conversion callbacks; `bind` refuses every type but
// plain ones, lists of them and dictionary-encoded text (none of which has one), so
// concurrent calls only read. Never closed.
unsafe impl Send for Converter {}
unsafe impl Sync for Converter {}

static CONVERTER: LazyLock<Result<Converter, String>> = LazyLock::new(|| {
    let mut db: ffi::duckdb_database = ptr::null_mut();
    let mut con: ffi::duckdb_connection = ptr::null_mut();
    // SAFETY: plain C API calls with valid out-pointers; a null path is an in-memory db.
    unsafe {
        if ffi::duckdb_open(ptr::null(), &mut db) != ffi::DuckDBSuccess {
            return Err("could not open DuckDB's in-memory Arrow converter".into());
        }
        if ffi::duckdb_connect(db, &mut con) != ffi::DuckDBSuccess {
            ffi::duckdb_close(&mut db);
            return Err("could not connect to DuckDB's in-memory Arrow converter".into());
        }
        // It never runs a query of its own: no worker threads for it.
        let mut result: ffi::duckdb_result = std::mem::zeroed();
        ffi::duckdb_query(con, c"SET threads = 1".as_ptr(), &mut result);
        ffi::duckdb_destroy_result(&mut result);
    }
    Ok(Converter(con))
});

/// Turns a DuckDB error-data result into a Rust error (and frees it).
fn check(mut error: ffi::duckdb_error_data, doing: &str) -> Result<(), String> {
    if error.is_null() {
        return Ok(());
    }
    // SAFETY: `error` is a live error-data handle from the C API; destroyed once here.
    unsafe {
        let failed = ffi::duckdb_error_data_has_error(error);
        let message = if failed {
            let text = ffi::duckdb_error_data_message(error);
            if text.is_null() {
                String::new()
            } else {
                CStr::from_ptr(text).to_string_lossy().into_owned()
            }
        } else {
            String::new()
        };
        ffi::duckdb_destroy_error_data(&mut error);
        if failed {
            Err(format!("{doing}: {message}"))
        } else {
            Ok(())
        }
    }
}

/// DuckDB's reading of the batches' Arrow schema.
struct ConvertedSchema(ffi::duckdb_arrow_converted_schema);

// SAFETY: the converted schema is immutable after creation; DuckDB only reads it.
unsafe impl Send for ConvertedSchema {}
unsafe impl Sync for ConvertedSchema {}

impl Drop for ConvertedSchema {
    fn drop(&mut self) {
        // SAFETY: created by duckdb_schema_from_arrow and destroyed only here.
        unsafe { ffi::duckdb_destroy_arrow_converted_schema(&mut self.0) }
    }
}

/// Converts `rows` rows of `batch` from `offset` into a DuckDB data chunk whose
/// vectors reference the Arrow buffers. The caller destroys the chunk.
fn to_chunk(
    converter: &Converter,
    schema: &ConvertedSchema,
    batch: &RecordBatch,
    offset: usize,
    rows: usize,
) -> Result<ffi::duckdb_data_chunk, String> {
    let rows = StructArray::from(batch.slice(offset, rows)).into_data();
    let mut array = FFI_ArrowArray::new(&rows);
    let mut chunk: ffi::duckdb_data_chunk = ptr::null_mut();
    // SAFETY: `array` is a valid exported Arrow array whose ownership DuckDB takes
    // (it clears `release`, so dropping `array` afterwards does nothing); the layouts
    // of arrow-rs's FFI structs and DuckDB's are both the Arrow C data interface.
    let error = unsafe {
        ffi::duckdb_data_chunk_from_arrow(
            converter.0,
            (&mut array as *mut FFI_ArrowArray).cast(),
            schema.0,
            &mut chunk,
        )
    };
    check(error, "converting an Arrow batch")?;
    Ok(chunk)
}

/// Whether DuckDB's conversion gives the column type the bind declared (checked once
/// per INSERT, so a type the two mappings disagree on is an error, not bad memory).
fn same_type(declared: &LogicalTypeHandle, mut actual: ffi::duckdb_logical_type) -> bool {
    // SAFETY: `actual` is an owned logical type; it (and any child) is destroyed here.
    unsafe {
        let id = ffi::duckdb_get_type_id(actual);
        let mut same = declared.raw_id() == id as u32;
        if same && id == ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST {
            let child = ffi::duckdb_list_type_child_type(actual);
            same = same_type(&declared.child(0), child);
        }
        ffi::duckdb_destroy_logical_type(&mut actual);
        same
    }
}

pub struct BatchScan;

pub struct ScanBind {
    batches: Vec<RecordBatch>,
    /// (batch, offset, rows): one DuckDB vector's worth each.
    slices: Vec<(usize, usize, usize)>,
    schema: ConvertedSchema,
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
        check_loadable(&batches)?;
        let first = &batches[0];
        let converter = CONVERTER.as_ref().map_err(Clone::clone)?;
        let mut arrow_schema =
            FFI_ArrowSchema::try_from(&DataType::Struct(first.schema().fields().clone()))?;
        let mut converted: ffi::duckdb_arrow_converted_schema = ptr::null_mut();
        // SAFETY: a valid exported schema (released by its own drop) and out-pointer.
        let error = unsafe {
            ffi::duckdb_schema_from_arrow(
                converter.0,
                (&mut arrow_schema as *mut FFI_ArrowSchema).cast(),
                &mut converted,
            )
        };
        check(error, "reading the batches' Arrow schema")?;
        let schema = ConvertedSchema(converted);
        let mut declared = Vec::new();
        for f in first.schema().fields() {
            let declare = || -> Result<LogicalTypeHandle, Box<dyn std::error::Error>> {
                let mut logical = duckdb::vtab::to_duckdb_logical_type_for_field(f)?;
                if is_json(f) {
                    logical.set_alias("JSON");
                }
                Ok(logical)
            };
            bind.add_result_column(f.name(), declare()?);
            declared.push(declare()?);
        }
        let mut probe = to_chunk(converter, &schema, first, 0, 0)?;
        // SAFETY: `probe` is a live chunk with one vector per declared column.
        let agree = declared.iter().enumerate().all(|(i, logical)| unsafe {
            let vector = ffi::duckdb_data_chunk_get_vector(probe, i as u64);
            same_type(logical, ffi::duckdb_vector_get_column_type(vector))
        });
        // SAFETY: destroyed once, not used afterwards.
        unsafe { ffi::duckdb_destroy_data_chunk(&mut probe) };
        if !agree {
            return Err(
                "DuckDB reads the batches' Arrow types differently from the declared columns"
                    .into(),
            );
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
        Ok(ScanBind {
            batches,
            slices,
            schema,
        })
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
        let Some(&(b, offset, len)) = bind.slices.get(i) else {
            output.set_len(0);
            return Ok(());
        };
        let converter = CONVERTER.as_ref().map_err(Clone::clone)?;
        let mut chunk = to_chunk(converter, &bind.schema, &bind.batches[b], offset, len)?;
        // SAFETY: both chunks have the same column types (checked in bind); the output
        // vectors take shared ownership of the converted buffers (and through them of
        // the Arrow data), so the converted chunk can be destroyed right away.
        unsafe {
            for column in 0..output.num_columns() as u64 {
                ffi::duckdb_vector_reference_vector(
                    ffi::duckdb_data_chunk_get_vector(output.get_ptr(), column),
                    ffi::duckdb_data_chunk_get_vector(chunk, column),
                );
            }
            ffi::duckdb_destroy_data_chunk(&mut chunk);
        }
        output.set_len(len);
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::Bigint)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::arrow::array::{ArrayRef, Int64Array, ListBuilder, StringArray, StringBuilder};
    use duckdb::arrow::datatypes::Schema;
    use std::sync::Arc;

    fn connection() -> duckdb::Connection {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        conn.register_table_function::<BatchScan>(FUNCTION).unwrap();
        conn.execute_batch("CREATE TABLE t (id BIGINT, name VARCHAR, tags VARCHAR[], doc JSON)")
            .unwrap();
        conn
    }

    /// `rows` rows starting at id `from`: long and short strings, NULLs, lists.
    fn batch(from: i64, rows: i64) -> RecordBatch {
        let ids = Int64Array::from_iter_values(from..from + rows);
        let names: StringArray = (from..from + rows)
            .map(|i| match i % 3 {
                0 => None,
                1 => Some(format!("short{i}")),
                _ => Some(format!("a name long enough not to be inlined {i}")),
            })
            .collect();
        let mut tags = ListBuilder::new(StringBuilder::new());
        for i in from..from + rows {
            if i % 5 == 0 {
                tags.append_null();
            } else {
                for k in 0..(i % 4) {
                    tags.values().append_value(format!("tag{k}-{i}"));
                }
                tags.append(true);
            }
        }
        let docs: StringArray = (from..from + rows)
            .map(|i| Some(format!("{{\"i\":{i}}}")))
            .collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ids),
            Arc::new(names),
            Arc::new(tags.finish()),
            Arc::new(docs),
        ];
        let fields: Vec<Field> = ["id", "name", "tags", "doc"]
            .iter()
            .zip(&columns)
            .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
            .collect();
        let mut fields = fields;
        fields[3] = json_field(fields[3].clone());
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    #[test]
    fn batches_land_exactly_across_vector_slices() {
        let conn = connection();
        // 5,000 rows: slices of 2048 start at non-zero offsets inside the batch.
        let registered = Registered::new(vec![batch(0, 5_000), batch(5_000, 3)]);
        conn.execute(
            &format!("INSERT INTO t SELECT * FROM {FUNCTION}(?)"),
            [registered.0 as i64],
        )
        .unwrap();
        let got: (i64, i64, i64, i64, i64, String) = conn
            .query_row(
                "SELECT count(*), count(name), sum(len(tags)), count(tags),
                        sum((doc->>'i')::BIGINT), typeof(any_value(doc)) FROM t",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .unwrap();
        let n = 5_003i64;
        let names = (0..n).filter(|i| i % 3 != 0).count() as i64;
        let lists = (0..n).filter(|i| i % 5 != 0).count() as i64;
        let tags: i64 = (0..n).filter(|i| i % 5 != 0).map(|i| i % 4).sum();
        assert_eq!(got, (n, names, tags, lists, (0..n).sum(), "JSON".into()));
        // Spot checks at slice boundaries and in the second batch.
        for id in [0i64, 2047, 2048, 2049, 4095, 4096, 4999, 5000, 5002] {
            let (name, tags): (Option<String>, Option<String>) = conn
                .query_row(
                    "SELECT name, tags::VARCHAR FROM t WHERE id = ?",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            let want_name = match id % 3 {
                0 => None,
                1 => Some(format!("short{id}")),
                _ => Some(format!("a name long enough not to be inlined {id}")),
            };
            assert_eq!(name, want_name, "row {id}");
            let want_tags = (id % 5 != 0).then(|| {
                let items: Vec<String> = (0..id % 4).map(|k| format!("tag{k}-{id}")).collect();
                format!("[{}]", items.join(", "))
            });
            assert_eq!(tags, want_tags, "row {id}");
        }
    }

    /// Dictionary-encoded text (how deduplication holds low-cardinality record columns)
    /// lands as the text it encodes, NULLs included, across slices and batches.
    #[test]
    fn dictionary_text_lands_as_text() {
        use duckdb::arrow::array::DictionaryArray;
        use duckdb::arrow::datatypes::Int32Type;
        let conn = duckdb::Connection::open_in_memory().unwrap();
        conn.register_table_function::<BatchScan>(FUNCTION).unwrap();
        conn.execute_batch("CREATE TABLE d (id BIGINT, zone VARCHAR)")
            .unwrap();
        let zones = [
            "Europe/Moscow",
            "Asia/Yekaterinburg",
            "a zone name long enough not to be inlined",
        ];
        let make = |from: i64, rows: i64| {
            let ids = Int64Array::from_iter_values(from..from + rows);
            let zone: DictionaryArray<Int32Type> = (from..from + rows)
                .map(|i| (i % 4 != 3).then(|| zones[(i % 4) as usize]))
                .collect();
            let schema = Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("zone", zone.data_type().clone(), true),
            ]));
            RecordBatch::try_new(schema, vec![Arc::new(ids), Arc::new(zone)]).unwrap()
        };
        let registered = Registered::new(vec![make(0, 4_100), make(4_100, 7)]);
        conn.execute(
            &format!("INSERT INTO d SELECT * FROM {FUNCTION}(?)"),
            [registered.0 as i64],
        )
        .unwrap();
        let mut stmt = conn.prepare("SELECT id, zone FROM d ORDER BY id").unwrap();
        let got: Vec<(i64, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want: Vec<(i64, Option<String>)> = (0..4_107)
            .map(|i| (i, (i % 4 != 3).then(|| zones[(i % 4) as usize].to_string())))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn batches_of_different_schemas_are_refused() {
        let conn = connection();
        let narrow = RecordBatch::try_from_iter([(
            "id",
            Arc::new(Int64Array::from(vec![1i64])) as ArrayRef,
        )])
        .unwrap();
        let registered = Registered::new(vec![batch(0, 3), narrow]);
        let err = conn
            .execute(
                &format!("INSERT INTO t SELECT * FROM {FUNCTION}(?)"),
                [registered.0 as i64],
            )
            .unwrap_err();
        assert!(err.to_string().contains("differ in schema"), "{err}");
        assert_eq!(
            conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            0
        );
    }
}
