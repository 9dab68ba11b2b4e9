//! Repeated text of the derived tables an evaluation holds, stored once. `permissions` names
//! the same identity and policy ARN on many rows (3.3 M rows for 600 k identities and 3 k
//! policies at the 1M-identity benchmark); as Arrow's plain strings every row carries its
//! own copy. A text column is kept instead as string views (16 bytes a row, values of up to
//! 12 bytes inline) over its distinct values stored once, when that is smaller. Rules read
//! such columns as text: DataFusion compares, joins and groups views directly, and casts
//! them where a function takes plain strings.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, StringViewBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;

/// Views are kept when they take at most this share of the plain column's bytes.
pub(crate) const WORTH: f64 = 0.6;

/// The rows held plain before the text columns long enough to gain are chosen (the first
/// rows of the table); every later batch's text goes straight to the views.
pub(crate) const SAMPLE_ROWS: usize = 65_536;

/// Columns whose values average fewer bytes than this stay plain: up to 12 bytes a view
/// holds its value inline, so short text gains little.
const MIN_AVERAGE_LEN: usize = 16;

/// A held table after [`Compactor::finish`]: its schema, rows and size in memory.
pub(crate) struct Compacted {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Bytes in memory, buffers shared by several batches counted once.
    pub bytes: usize,
}

/// Takes a table's batches as they are computed and stores each text column as views over
/// its distinct values when, over the whole table, those take at most `worth` of its plain
/// bytes (see the module doc); a column that does not gain is cast back. A plain batch's
/// text is dropped once it went to the views, so the table is not held twice.
pub(crate) struct Compactor {
    schema: SchemaRef,
    worth: f64,
    sample_rows: usize,
    /// Batches held plain until `sample_rows` rows tell which columns are long enough.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    /// Once chosen, per column: the builder of its views, or none when it stays plain.
    builders: Option<Vec<Option<StringViewBuilder>>>,
    /// Per batch taken: its rows, and its columns kept plain (none for a view column).
    taken: Vec<(usize, Vec<Option<ArrayRef>>)>,
    /// Per column, the bytes of the batches taken, as they came.
    plain: Vec<usize>,
}

impl Compactor {
    pub(crate) fn new(schema: SchemaRef, worth: f64, sample_rows: usize) -> Compactor {
        Compactor {
            plain: vec![0; schema.fields().len()],
            schema,
            worth,
            sample_rows,
            pending: Vec::new(),
            pending_rows: 0,
            builders: None,
            taken: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, batch: RecordBatch) {
        if self.builders.is_some() {
            return self.take(batch);
        }
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= self.sample_rows {
            self.choose();
        }
    }

    /// Starts views for each text column whose values, over the pending rows, are long
    /// enough to gain; then takes those rows.
    fn choose(&mut self) {
        let builders = self
            .schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let parts: Vec<ArrayRef> =
                    self.pending.iter().map(|b| b.column(i).clone()).collect();
                (field.data_type() == &DataType::Utf8 && long_enough(&parts)).then(|| {
                    StringViewBuilder::with_capacity(self.pending_rows).with_deduplicate_strings()
                })
            })
            .collect();
        self.builders = Some(builders);
        for batch in std::mem::take(&mut self.pending) {
            self.take(batch);
        }
    }

    fn take(&mut self, batch: RecordBatch) {
        let builders = self.builders.as_mut().expect("chosen");
        let kept = builders
            .iter_mut()
            .zip(batch.columns())
            .zip(self.plain.iter_mut())
            .map(|((builder, column), plain)| {
                *plain += column.get_array_memory_size();
                match builder {
                    Some(b) => {
                        b.extend(column.as_string::<i32>().iter());
                        None
                    }
                    None => Some(column.clone()),
                }
            })
            .collect();
        self.taken.push((batch.num_rows(), kept));
    }

    /// The table: every batch taken, in order, each view column sliced from one array.
    pub(crate) fn finish(mut self) -> Result<Compacted, ArrowError> {
        if self.builders.is_none() {
            self.choose();
        }
        let builders = self.builders.take().expect("chosen");
        let mut bytes = 0usize;
        let mut fields: Vec<Arc<Field>> = self.schema.fields().iter().cloned().collect();
        // Per column built as views: the views, and whether they gain over the whole
        // table (if not, each batch's slice is cast back to plain text).
        let mut views: Vec<Option<(ArrayRef, bool)>> = Vec::with_capacity(builders.len());
        for (i, builder) in builders.into_iter().enumerate() {
            views.push(builder.map(|mut b| {
                let array = b.finish();
                let size = array.get_array_memory_size();
                let gains = (size as f64) <= self.worth * self.plain[i] as f64;
                if gains {
                    bytes += size;
                    let field = fields[i].as_ref().clone();
                    fields[i] = Arc::new(field.with_data_type(DataType::Utf8View));
                }
                (Arc::new(array) as ArrayRef, gains)
            }));
        }
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            self.schema.metadata().clone(),
        ));
        let mut batches = Vec::with_capacity(self.taken.len());
        let mut offset = 0;
        for (rows, kept) in self.taken {
            let columns = kept
                .into_iter()
                .zip(&views)
                .map(|(plain, view)| {
                    let column = match (plain, view) {
                        (Some(c), _) => c,
                        (None, Some((v, true))) => return Ok(v.slice(offset, rows)),
                        (None, Some((v, false))) => cast(&v.slice(offset, rows), &DataType::Utf8)?,
                        (None, None) => unreachable!("a column is plain or views"),
                    };
                    bytes += column.get_array_memory_size();
                    Ok(column)
                })
                .collect::<Result<Vec<ArrayRef>, ArrowError>>()?;
            let options = RecordBatchOptions::new().with_row_count(Some(rows));
            batches.push(RecordBatch::try_new_with_options(
                schema.clone(),
                columns,
                &options,
            )?);
            offset += rows;
        }
        Ok(Compacted {
            schema,
            batches,
            bytes,
        })
    }
}

/// `batches` (of `schema`) through a [`Compactor`].
#[cfg(test)]
fn compact(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    worth: f64,
    sample_rows: usize,
) -> Result<Compacted, ArrowError> {
    let mut compactor = Compactor::new(schema, worth, sample_rows);
    for b in batches {
        compactor.push(b);
    }
    compactor.finish()
}

/// Whether the values of the text column `parts` (one array per batch) are long enough on
/// average for views to gain.
fn long_enough(parts: &[ArrayRef]) -> bool {
    let rows: usize = parts.iter().map(|p| p.len()).sum();
    let text: usize = parts
        .iter()
        .map(|p| {
            let s = p.as_string::<i32>();
            let offsets = s.value_offsets();
            (offsets[offsets.len() - 1] - offsets[0]) as usize
        })
        .sum();
    rows > 0 && text / rows >= MIN_AVERAGE_LEN
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::{compact, WORTH};
    use crate::analysis::Analysis;
    use crate::rules::load::builtin;
    use crate::store::Snapshot;

    /// Long repeated text becomes views over values stored once, with the same values and
    /// nulls in the same batches; short or distinct text and other types stay as they are.
    #[test]
    fn repeated_long_text_is_stored_once() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("identity_id", DataType::Utf8, true),
            Field::new("short", DataType::Utf8, false),
            Field::new("unique", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
        ]));
        let arn = |i: usize| {
            format!(
                "arn:aws:iam::111122223333:role/service-role/worker-{}",
                i % 7
            )
        };
        let batch = |from: usize| {
            let rows = from..from + 500;
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from_iter(
                        rows.clone().map(|i| (i % 11 != 0).then(|| arn(i))),
                    )),
                    Arc::new(StringArray::from_iter_values(rows.clone().map(|i| {
                        if i % 2 == 0 {
                            "aws"
                        } else {
                            "gcp"
                        }
                    }))),
                    Arc::new(StringArray::from_iter_values(
                        rows.clone().map(|i| format!("AKIA{i:016}-{i:020}")),
                    )),
                    Arc::new(Int64Array::from_iter_values(rows.map(|i| i as i64))),
                ],
            )
            .expect("batch")
        };
        let batches = vec![batch(0), batch(500), batch(1000)];
        let plain: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        // Decided over all rows, or over the first two batches (the third then taken as decided).
        for sample in [usize::MAX, 1000] {
            let out = compact(schema.clone(), batches.clone(), WORTH, sample).expect("compact");
            let types: Vec<&DataType> = out.schema.fields().iter().map(|f| f.data_type()).collect();
            assert_eq!(
                types,
                [
                    &DataType::Utf8View,
                    &DataType::Utf8,
                    &DataType::Utf8,
                    &DataType::Int64
                ]
            );
            let plain_ids: usize = batches
                .iter()
                .map(|b| b.column(0).get_array_memory_size())
                .sum();
            let ids = out.bytes - (plain - plain_ids);
            assert!(ids * 2 < plain_ids, "{ids} of {plain_ids}");
            assert_eq!(out.batches.len(), batches.len());
            for (before, after) in batches.iter().zip(&out.batches) {
                assert_eq!(after.num_rows(), before.num_rows());
                let (b, a) = (
                    before.column(0).as_string::<i32>(),
                    after.column(0).as_string_view(),
                );
                assert_eq!(a.null_count(), b.null_count());
                assert!(b.iter().eq(a.iter()));
                for c in 1..4 {
                    assert_eq!(before.column(c), after.column(c));
                }
            }
            // Never worth it: the same table (the text cast back to plain).
            let kept = compact(schema.clone(), batches.clone(), 0.0, sample).expect("compact");
            assert_eq!(kept.schema, schema);
            assert_eq!(kept.batches, batches);
            assert!(kept.bytes <= plain, "{} of {plain}", kept.bytes);
        }
    }

    /// The choice is made over the whole table, not its first rows: text distinct in the
    /// first batches and repeated after is stored as views; text that never repeats is
    /// cast back to plain.
    #[test]
    fn whether_views_gain_is_told_over_the_whole_table() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("repeated_later", DataType::Utf8, false),
            Field::new("distinct", DataType::Utf8, false),
        ]));
        let batch = |from: usize| {
            let value = |i: usize| {
                let n = if i < 500 { i } else { 0 };
                format!("arn:aws:iam::111122223333:user/ci-deployer-{n}")
            };
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from_iter_values((from..from + 500).map(value))),
                    Arc::new(StringArray::from_iter_values(
                        (from..from + 500).map(|i| format!("ASIA{i:016}-{i:020}")),
                    )),
                ],
            )
            .expect("batch")
        };
        let batches: Vec<RecordBatch> = (0..12).map(|k| batch(k * 500)).collect();
        let out = compact(schema.clone(), batches.clone(), WORTH, 500).expect("compact");
        let types: Vec<&DataType> = out.schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(types, [&DataType::Utf8View, &DataType::Utf8]);
        for (before, after) in batches.iter().zip(&out.batches) {
            let (b, a) = (
                before.column(0).as_string::<i32>(),
                after.column(0).as_string_view(),
            );
            assert!(b.iter().eq(a.iter()));
            assert_eq!(before.column(1).as_ref(), after.column(1).as_ref());
        }
    }

    /// The whole built-in pack finds the same over a fixture estate whether the held
    /// tables' text is stored as views wherever it can be or nowhere.
    #[tokio::test]
    async fn rules_find_the_same_over_views() {
        let (store, now) = crate::analysis::tests::escalation_fixture();
        let rules = builtin().expect("rules");
        let mut found = Vec::new();
        for worth in [f64::INFINITY, 0.0] {
            let analysis = Analysis::new_compacting(&store, Snapshot::Current, now, true, worth)
                .await
                .expect("analysis");
            let permissions = analysis
                .ctx
                .table_provider("permissions")
                .await
                .expect("held");
            let id = permissions
                .schema()
                .field_with_name("identity_id")
                .expect("id")
                .clone();
            let expected = if worth > 1.0 {
                DataType::Utf8View
            } else {
                DataType::Utf8
            };
            assert_eq!(id.data_type(), &expected);
            let evaluation = analysis.evaluate(&store, &rules).await.expect("evaluate");
            assert_eq!(evaluation.failed().count(), 0, "{:?}", evaluation.runs);
            let mut findings: Vec<String> = store
                .staged_findings(None)
                .expect("findings")
                .into_iter()
                .map(|f| {
                    format!(
                        "{} {} {} {}",
                        f.finding_id, f.resource, f.message, f.evidence
                    )
                })
                .collect();
            findings.sort();
            assert!(!findings.is_empty());
            found.push(findings);
        }
        assert_eq!(found[0], found[1]);
    }
}
