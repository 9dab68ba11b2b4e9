//! The typed batch builder: row structs (serde) → Arrow `RecordBatch` in the table's schema,
//! with the stamp columns prepended. Uses arrow-json's serde decoder, so a row type and its
//! schema can never silently disagree: a mismatch is an error, not a wrong column.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::error::ArrowError;
use arrow::json::ReaderBuilder;
use serde::Serialize;

use super::Table;

/// Which snapshot, collector, provider and tenant produced a set of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub scan_id: i64,
    pub collector: String,
    pub provider: String,
    pub tenant: String,
}

/// Rows per batch: bounded so huge collections stream through the appender in pieces.
pub const BATCH_ROWS: usize = 65_536;

/// Converts `rows` of `table` into record batches of at most [`BATCH_ROWS`] rows.
pub fn to_record_batch<R: Serialize>(
    table: Table,
    stamp: &Stamp,
    rows: &[R],
) -> Result<Vec<RecordBatch>, ArrowError> {
    let mut out = Vec::with_capacity(rows.len().div_ceil(BATCH_ROWS));
    for chunk in rows.chunks(BATCH_ROWS) {
        let mut decoder = ReaderBuilder::new(table.data_schema())
            .with_batch_size(chunk.len())
            .build_decoder()?;
        decoder.serialize(chunk)?;
        let Some(data) = decoder.flush()? else {
            continue;
        };
        let n = data.num_rows();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![stamp.scan_id; n])),
            Arc::new(StringArray::from(vec![stamp.collector.as_str(); n])),
            Arc::new(StringArray::from(vec![stamp.provider.as_str(); n])),
            Arc::new(StringArray::from(vec![stamp.tenant.as_str(); n])),
        ];
        columns.extend(data.columns().iter().cloned());
        out.push(RecordBatch::try_new(table.schema(), columns)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CredentialRow, GrantRow};

    fn stamp() -> Stamp {
        Stamp {
            scan_id: 7,
            collector: "c".into(),
            provider: "aws".into(),
            tenant: "111122223333".into(),
        }
    }

    #[test]
    fn rows_become_batches_in_the_table_schema() {
        let rows = vec![CredentialRow {
            credential_id: "AKIAEXAMPLE".into(),
            identity_id: Some("arn:aws:iam::111122223333:user/ci".into()),
            kind: "access_key".into(),
            status: "active".into(),
            created_at: Some(1_700_000_000_000_000),
            ..Default::default()
        }];
        let batches = to_record_batch(Table::Credentials, &stamp(), &rows).expect("batch");
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].num_rows(), 1);
        assert_eq!(batches[0].schema(), Table::Credentials.schema());
    }

    #[test]
    fn list_columns_round_trip() {
        let rows = vec![GrantRow {
            identity_id: "i".into(),
            policy_id: "p".into(),
            relation: "attached".into(),
            via: "i".into(),
            effect: "Allow".into(),
            actions: vec!["s3:GetObject".into(), "iam:*".into()],
            resources: vec!["*".into()],
            ..Default::default()
        }];
        let batches = to_record_batch(Table::Grants, &stamp(), &rows).expect("batch");
        let actions = batches[0].column_by_name("actions").expect("actions");
        assert_eq!(actions.len(), 1);
    }
}
