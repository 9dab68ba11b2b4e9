//! `nhiscope_batch(id)`: a DuckDB table function that scans one Arrow batch handed over in
//! this process, so that a batch is stored with `INSERT INTO t SELECT * FROM
//! nhiscope_batch(?)`. The appender stores a batch by copying it into its own buffer first and
//! then into the table; the insert goes straight into the table (one copy of every string
//! fewer: measured on the 1M-event ingest benchmark, see BENCHMARKS.md).
//!
//! A batch is handed over with [`hand_over`], which returns the id to bind and a guard that
//! takes the batch back when dropped (after the statement has run, whatever its outcome).

use std::collections::HashMap;
use std::error::Error;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};

use arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{
    record_batch_to_duckdb_data_chunk, to_duckdb_logical_type_for_field, BindInfo, InitInfo,
    TableFunctionInfo, VTab,
};

/// The name the function is registered under.
pub const FUNCTION: &str = "nhiscope_batch";

/// Batches handed over and not yet taken back, by id.
static BATCHES: LazyLock<Mutex<HashMap<u64, RecordBatch>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Registers [`BatchScan`] in the database of `conn` (once per database: the catalog is
/// shared by its connections).
pub fn register(conn: &duckdb::Connection) -> duckdb::Result<()> {
    static REGISTERING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = REGISTERING.lock();
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_functions() WHERE function_name = ?",
        [FUNCTION],
        |r| r.get(0),
    )?;
    if !exists {
        conn.register_table_function::<BatchScan>(FUNCTION)?;
    }
    Ok(())
}

/// A batch handed over to [`BatchScan`]; dropping it takes the batch back.
pub struct Handed(u64);

impl Handed {
    /// The id to bind as the function's argument.
    pub fn id(&self) -> u64 {
        self.0
    }
}

impl Drop for Handed {
    fn drop(&mut self) {
        if let Ok(mut batches) = BATCHES.lock() {
            batches.remove(&self.0);
        }
    }
}

/// Hands `batch` over until the returned guard is dropped.
pub fn hand_over(batch: RecordBatch) -> Handed {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut batches) = BATCHES.lock() {
        batches.insert(id, batch);
    }
    Handed(id)
}

/// The table function (see the module doc).
pub struct BatchScan;

pub struct Bound {
    batch: RecordBatch,
}

pub struct Scanned {
    next_row: AtomicUsize,
}

impl VTab for BatchScan {
    type BindData = Bound;
    type InitData = Scanned;

    fn bind(bind: &BindInfo) -> Result<Bound, Box<dyn Error>> {
        let id = bind.get_parameter(0).to_uint64();
        let batch = BATCHES
            .lock()
            .map_err(|_| "batch registry poisoned")?
            .get(&id)
            .cloned()
            .ok_or_else(|| format!("{FUNCTION}: no batch handed over as {id}"))?;
        for field in batch.schema().fields() {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        Ok(Bound { batch })
    }

    fn init(_: &InitInfo) -> Result<Scanned, Box<dyn Error>> {
        Ok(Scanned {
            next_row: AtomicUsize::new(0),
        })
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn Error>> {
        let batch = &func.get_bind_data().batch;
        // Rows per call: what the output chunk holds (DuckDB's vector size).
        let vector_size = output.flat_vector(0).capacity().max(1);
        let start = func
            .get_init_data()
            .next_row
            .fetch_add(vector_size, Ordering::Relaxed);
        if start >= batch.num_rows() {
            output.set_len(0);
            return Ok(());
        }
        let len = vector_size.min(batch.num_rows() - start);
        record_batch_to_duckdb_data_chunk(&batch.slice(start, len), output)?;
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BooleanArray, Int64Array, ListBuilder, StringArray, StringBuilder,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    fn batch(first: i64, rows: usize) -> RecordBatch {
        let mut chain = ListBuilder::new(StringBuilder::new());
        for i in 0..rows {
            if i % 3 == 0 {
                chain.values().append_value(format!("hop-{i}"));
            }
            chain.append(true);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(first..first + rows as i64)),
            Arc::new(StringArray::from_iter(
                (0..rows).map(|i| (i % 5 != 0).then(|| format!("text-{i}-é"))),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                (0..rows as i64).map(|i| 1_700_000_000_000_000 + i),
            )),
            Arc::new(chain.finish()),
            Arc::new(BooleanArray::from_iter(
                (0..rows).map(|i| (i % 2 == 0).then_some(i % 4 == 0)),
            )),
        ];
        let schema = Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("t", DataType::Utf8, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            ),
            Field::new("chain", DataType::new_list(DataType::Utf8, true), false),
            Field::new("flag", DataType::Boolean, true),
        ]);
        RecordBatch::try_new(Arc::new(schema), columns).expect("batch")
    }

    #[test]
    fn batches_insert_whole_one_after_another_and_are_taken_back() {
        let conn = duckdb::Connection::open_in_memory().expect("open");
        register(&conn).expect("register");
        register(&conn.try_clone().expect("clone")).expect("registering again is harmless");
        conn.execute_batch(
            "CREATE TABLE t (n BIGINT, t VARCHAR, seen TIMESTAMP, chain VARCHAR[], flag BOOLEAN)",
        )
        .expect("create");
        // Longer than a DuckDB vector, then a second batch through the same connection.
        for (first, rows) in [(0, 5000), (5000, 7)] {
            let handed = hand_over(batch(first, rows));
            let id = handed.id();
            conn.execute_batch(&format!(
                "INSERT INTO t SELECT * FROM {FUNCTION}({id}::UBIGINT)"
            ))
            .expect("insert");
            drop(handed);
            assert!(!BATCHES.lock().expect("lock").contains_key(&id));
        }
        let got: (i64, i64, i64, i64, i64, String) = conn
            .query_row(
                "SELECT count(*), count(DISTINCT n), count(t), sum(len(chain)),
                        count(flag), max(t) FROM t",
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
            .expect("query");
        assert_eq!(got.0, 5007);
        assert_eq!(got.1, 5007);
        assert_eq!(got.2, 4000 + 5, "nulls kept: every fifth row of each batch");
        assert_eq!(got.3, 1667 + 3, "list elements");
        assert_eq!(got.4, 2500 + 4, "null flags kept");
        assert_eq!(got.5, "text-999-é");
        let err = conn
            .execute_batch(&format!("SELECT * FROM {FUNCTION}(0::UBIGINT)"))
            .expect_err("nothing handed over as 0");
        assert!(err.to_string().contains("no batch handed over"), "{err}");
    }
}
