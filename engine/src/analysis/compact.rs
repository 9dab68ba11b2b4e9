//! Repeated text of the derived tables an evaluation holds, stored once. `permissions` names
//! the same identity and policy ARN on many rows (3.3 M rows for 600 k identities and 3 k
//! policies at the 1M-identity benchmark); as Arrow's plain strings every row carries its
//! own copy. A text column is kept instead as string views (16 bytes a row, values of up to
//! 12 bytes inline) over its distinct values stored once, when that is smaller. Rules read
//! such columns as text: DataFusion compares, joins and groups views directly, and casts
//! them where a function takes plain strings.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringViewBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;

/// Views are kept when they take at most this share of the plain column's bytes.
pub(crate) const WORTH: f64 = 0.6;

/// Columns whose values average fewer bytes than this stay plain: up to 12 bytes a view
/// holds its value inline, so short text gains little.
const MIN_AVERAGE_LEN: usize = 16;

/// A held table after [`compact`]: its schema, rows and size in memory.
pub(crate) struct Compacted {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Bytes in memory, buffers shared by several batches counted once.
    pub bytes: usize,
}

/// `batches` (of `schema`) with each text column stored as views over its distinct values
/// when those take at most `worth` of its plain bytes (see the module doc).
pub(crate) fn compact(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    worth: f64,
) -> Result<Compacted, ArrowError> {
    if schema.fields().is_empty() {
        let bytes = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        return Ok(Compacted {
            schema,
            batches,
            bytes,
        });
    }
    let mut columns: Vec<Vec<ArrayRef>> = (0..schema.fields().len())
        .map(|i| batches.iter().map(|b| b.column(i).clone()).collect())
        .collect();
    let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    let mut bytes = 0usize;
    for (i, field) in schema.fields().iter().enumerate() {
        let plain: usize = columns[i].iter().map(|c| c.get_array_memory_size()).sum();
        let viewed = match field.data_type() {
            DataType::Utf8 => as_views(&columns[i]),
            _ => None,
        };
        match viewed {
            Some((views, size)) if (size as f64) <= worth * plain as f64 => {
                columns[i] = views;
                fields[i] = Arc::new(field.as_ref().clone().with_data_type(DataType::Utf8View));
                bytes += size;
            }
            _ => bytes += plain,
        }
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let batches = (0..batches.len())
        .map(|k| {
            let columns = columns.iter().map(|c| c[k].clone()).collect();
            RecordBatch::try_new(schema.clone(), columns)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Compacted {
        schema,
        batches,
        bytes,
    })
}

/// The text column `parts` (one array per batch) as views over its distinct values, one
/// array per batch all sharing the value buffers, and their size; `None` when its values
/// are too short to gain.
fn as_views(parts: &[ArrayRef]) -> Option<(Vec<ArrayRef>, usize)> {
    let rows: usize = parts.iter().map(|p| p.len()).sum();
    let text: usize = parts
        .iter()
        .map(|p| {
            let s = p.as_string::<i32>();
            let offsets = s.value_offsets();
            (offsets[offsets.len() - 1] - offsets[0]) as usize
        })
        .sum();
    if rows == 0 || text / rows < MIN_AVERAGE_LEN {
        return None;
    }
    let mut builder = StringViewBuilder::with_capacity(rows).with_deduplicate_strings();
    for part in parts {
        builder.extend(part.as_string::<i32>().iter());
    }
    let array = builder.finish();
    let size = array.get_array_memory_size();
    let mut out = Vec::with_capacity(parts.len());
    let mut offset = 0;
    for part in parts {
        out.push(Arc::new(array.slice(offset, part.len())) as ArrayRef);
        offset += part.len();
    }
    Some((out, size))
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
        let out = compact(schema.clone(), batches.clone(), WORTH).expect("compact");
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
        // Never worth it: nothing changes.
        let kept = compact(schema.clone(), batches.clone(), 0.0).expect("compact");
        assert_eq!(kept.schema, schema);
        assert_eq!(kept.batches, batches);
        assert_eq!(kept.bytes, plain);
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
