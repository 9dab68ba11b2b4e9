//! Reading a few rows of a large table by their row ids. DuckDB turns `rowid IN (...)` into a
//! scan of every row between the smallest and the largest id (with the query's other filters
//! evaluated on each), which for an identity whose grants or findings are spread over a table
//! of millions of rows is most of it. When the ids are spread, a union of one narrow
//! `rowid BETWEEN` range per cluster of nearby ids reads only the vectors holding them.

/// Ids closer than this share one range (DuckDB reads whole vectors of 2048 rows anyway).
/// Unit tests read every row id apart, so their small estates take the union path too.
const GAP: i64 = if cfg!(test) { 1 } else { 2048 };
/// Ids spanning more rows than this are read range by range.
const SPREAD: i64 = if cfg!(test) { 1 } else { 16 * GAP };

/// Sorted, merged `[lo, hi]` ranges covering `ids`.
pub(crate) fn ranges(ids: &[i64]) -> Vec<(i64, i64)> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for id in sorted {
        match out.last_mut() {
            Some((_, hi)) if id <= *hi + GAP => *hi = (*hi).max(id),
            _ => out.push((id, id)),
        }
    }
    out
}

/// `sql` with its first `FROM {table} t` (then a space or a line break) read through the row
/// ids `ids`: when they are spread, the table becomes a union of range scans, bound as
/// parameters from `$first` on (the values, in order, are returned). Either way its rows
/// carry their row id as `rid`.
pub(crate) fn through(sql: &str, table: &str, first: usize, ids: &[i64]) -> (String, Vec<i64>) {
    let spans = ranges(ids);
    let spread = match (spans.first(), spans.last()) {
        (Some((lo, _)), Some((_, hi))) => hi - lo > SPREAD && spans.len() > 1,
        _ => false,
    };
    let mut values = Vec::new();
    let source = if spread {
        let branches: Vec<String> = spans
            .into_iter()
            .enumerate()
            .map(|(k, (lo, hi))| {
                values.extend([lo, hi]);
                format!(
                    "SELECT *, rowid AS rid FROM {table} WHERE rowid BETWEEN ${} AND ${}",
                    first + 2 * k,
                    first + 2 * k + 1
                )
            })
            .collect();
        branches.join(" UNION ALL ")
    } else {
        format!("SELECT *, rowid AS rid FROM {table}")
    };
    let needle = format!("FROM {table} t");
    let at = sql.match_indices(&needle).map(|(i, _)| i).find(|i| {
        sql[i + needle.len()..]
            .chars()
            .next()
            .is_some_and(char::is_whitespace)
    });
    let sql = match at {
        Some(i) => format!("{}FROM ({source}) t{}", &sql[..i], &sql[i + needle.len()..]),
        None => sql.to_string(),
    };
    (sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_ids_are_read_range_by_range() {
        assert_eq!(
            ranges(&[90_000, 5, 6, 2000, 1_000_000]),
            vec![
                (5, 6),
                (2000, 2000),
                (90_000, 90_000),
                (1_000_000, 1_000_000)
            ]
        );
        let (sql, values) = through("SELECT a FROM g t WHERE x", "g", 3, &[1, 500_000]);
        assert_eq!(
            sql,
            "SELECT a FROM (SELECT *, rowid AS rid FROM g WHERE rowid BETWEEN $3 AND $4 UNION ALL \
             SELECT *, rowid AS rid FROM g WHERE rowid BETWEEN $5 AND $6) t WHERE x"
        );
        assert_eq!(values, vec![1, 1, 500_000, 500_000]);
        let (sql, values) = through("SELECT a FROM g t\n WHERE x", "g", 3, &[1, 2]);
        assert_eq!(
            sql,
            "SELECT a FROM (SELECT *, rowid AS rid FROM g) t\n WHERE x"
        );
        assert!(values.is_empty());
    }
}
