//! Filter pushdown into the DuckDB scan. The simple predicates a rule puts on a model table
//! (`column op literal`, `column op column` of one type, `IN` lists, `IS [NOT] NULL`, boolean columns, and AND/OR/NOT of
//! those) are translated into a DuckDB `WHERE` clause so only matching rows cross the Arrow
//! export. Column names come from the model's closed schema and every literal is a bound
//! parameter: nothing from the rule text is spliced into SQL. Pushdown is *inexact*:
//! DataFusion still applies each filter, so a translation can only ever save work.

use datafusion::arrow::datatypes::Schema;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use duckdb::types::{TimeUnit, Value};

/// A translated predicate: SQL with `?` placeholders and their values, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Predicate {
    pub sql: String,
    pub values: Vec<Value>,
}

/// A literal as a DuckDB value, when it has a plain equivalent.
fn value_of(v: &ScalarValue) -> Option<Value> {
    Some(match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Value::Text(s.clone()),
        ScalarValue::Boolean(Some(b)) => Value::Boolean(*b),
        ScalarValue::Int64(Some(i)) => Value::BigInt(*i),
        ScalarValue::Int32(Some(i)) => Value::BigInt(i64::from(*i)),
        ScalarValue::Int16(Some(i)) => Value::BigInt(i64::from(*i)),
        ScalarValue::Int8(Some(i)) => Value::BigInt(i64::from(*i)),
        ScalarValue::Float64(Some(f)) => Value::Double(*f),
        ScalarValue::TimestampMicrosecond(Some(t), None) => {
            Value::Timestamp(TimeUnit::Microsecond, *t)
        }
        ScalarValue::TimestampMillisecond(Some(t), None) => {
            Value::Timestamp(TimeUnit::Millisecond, *t)
        }
        ScalarValue::TimestampSecond(Some(t), None) => Value::Timestamp(TimeUnit::Second, *t),
        _ => return None,
    })
}

/// The quoted name of a column of `schema`, when `e` is one.
fn column_of(e: &Expr, schema: &Schema) -> Option<String> {
    match e {
        Expr::Column(c) => schema
            .field_with_name(&c.name)
            .ok()
            .map(|f| format!("t.\"{}\"", f.name())),
        _ => None,
    }
}

fn flip(op: Operator) -> Option<Operator> {
    Some(match op {
        Operator::Eq => Operator::Eq,
        Operator::NotEq => Operator::NotEq,
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        _ => return None,
    })
}

fn comparison(op: Operator) -> Option<&'static str> {
    Some(match op {
        Operator::Eq => "=",
        Operator::NotEq => "<>",
        Operator::Lt => "<",
        Operator::LtEq => "<=",
        Operator::Gt => ">",
        Operator::GtEq => ">=",
        _ => return None,
    })
}

/// Translates `e` over a table of `schema`, or `None` when it is not a simple predicate.
pub fn translate(e: &Expr, schema: &Schema) -> Option<Predicate> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And | Operator::Or => {
                let (l, r) = (translate(left, schema)?, translate(right, schema)?);
                let word = if *op == Operator::And { "AND" } else { "OR" };
                let mut values = l.values;
                values.extend(r.values);
                Some(Predicate {
                    sql: format!("({} {word} {})", l.sql, r.sql),
                    values,
                })
            }
            _ => {
                // Two columns of the same type (`via = identity_id`).
                if let (Expr::Column(l), Expr::Column(r)) = (left.as_ref(), right.as_ref()) {
                    let (lf, rf) = (
                        schema.field_with_name(&l.name).ok()?,
                        schema.field_with_name(&r.name).ok()?,
                    );
                    if lf.data_type() != rf.data_type() {
                        return None;
                    }
                    return Some(Predicate {
                        sql: format!(
                            "{} {} {}",
                            column_of(left, schema)?,
                            comparison(*op)?,
                            column_of(right, schema)?
                        ),
                        values: Vec::new(),
                    });
                }
                let (column, op, literal) = match (left.as_ref(), right.as_ref()) {
                    (c, Expr::Literal(v, _)) => (column_of(c, schema)?, *op, v),
                    (Expr::Literal(v, _), c) => (column_of(c, schema)?, flip(*op)?, v),
                    _ => return None,
                };
                Some(Predicate {
                    sql: format!("{column} {} ?", comparison(op)?),
                    values: vec![value_of(literal)?],
                })
            }
        },
        Expr::InList(list) => {
            let column = column_of(&list.expr, schema)?;
            let values = list
                .list
                .iter()
                .map(|item| match item {
                    Expr::Literal(v, _) => value_of(v),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            if values.is_empty() {
                return None;
            }
            let marks = vec!["?"; values.len()].join(", ");
            let not = if list.negated { "NOT " } else { "" };
            Some(Predicate {
                sql: format!("{column} {not}IN ({marks})"),
                values,
            })
        }
        Expr::IsNull(inner) => Some(Predicate {
            sql: format!("{} IS NULL", column_of(inner, schema)?),
            values: Vec::new(),
        }),
        Expr::IsNotNull(inner) => Some(Predicate {
            sql: format!("{} IS NOT NULL", column_of(inner, schema)?),
            values: Vec::new(),
        }),
        Expr::Not(inner) => {
            let p = translate(inner, schema)?;
            Some(Predicate {
                sql: format!("(NOT {})", p.sql),
                values: p.values,
            })
        }
        Expr::Column(_) => {
            let column = column_of(e, schema)?;
            let boolean = schema
                .field_with_name(&column_name(e)?)
                .ok()
                .is_some_and(|f| f.data_type() == &datafusion::arrow::datatypes::DataType::Boolean);
            boolean.then(|| Predicate {
                sql: column,
                values: Vec::new(),
            })
        }
        _ => None,
    }
}

fn column_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Column(c) => Some(c.name.clone()),
        _ => None,
    }
}

/// The conjunction of the translatable `filters` (`None` when there is none).
pub fn conjunction(filters: &[Expr], schema: &Schema) -> Option<Predicate> {
    let parts: Vec<Predicate> = filters
        .iter()
        .filter_map(|f| translate(f, schema))
        .collect();
    if parts.is_empty() {
        return None;
    }
    let sql = parts
        .iter()
        .map(|p| p.sql.as_str())
        .collect::<Vec<_>>()
        .join(" AND ");
    Some(Predicate {
        sql,
        values: parts.into_iter().flat_map(|p| p.values).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field};
    use datafusion::prelude::{col, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("kind", DataType::Utf8, false),
            Field::new("status", DataType::Utf8, true),
            Field::new("service_linked", DataType::Boolean, false),
            Field::new("max_session_seconds", DataType::Int64, true),
        ])
    }

    #[test]
    fn simple_predicates_become_bound_sql() {
        let s = schema();
        let e = col("kind")
            .eq(lit("access_key"))
            .and(col("status").in_list(vec![lit("active"), lit("x'); DROP TABLE t; --")], false));
        let p = translate(&e, &s).expect("translated");
        assert_eq!(p.sql, "(t.\"kind\" = ? AND t.\"status\" IN (?, ?))");
        assert_eq!(
            p.values,
            vec![
                Value::Text("access_key".into()),
                Value::Text("active".into()),
                Value::Text("x'); DROP TABLE t; --".into())
            ]
        );
        let p = translate(&lit(3600i64).lt(col("max_session_seconds")), &s).expect("flipped");
        assert_eq!(p.sql, "t.\"max_session_seconds\" > ?");
        let p = translate(&std::ops::Not::not(col("service_linked")), &s).expect("not");
        assert_eq!(p.sql, "(NOT t.\"service_linked\")");
        let p = translate(&col("kind").eq(col("status")), &s).expect("column to column");
        assert_eq!(p.sql, "t.\"kind\" = t.\"status\"");
        assert!(p.values.is_empty());
        assert_eq!(
            translate(&col("status").is_null(), &s).map(|p| p.sql),
            Some("t.\"status\" IS NULL".into())
        );
    }

    #[test]
    fn anything_else_stays_in_datafusion() {
        let s = schema();
        // Unknown column, columns of different types, function calls, a non-boolean bare
        // column.
        assert!(translate(&col("nope").eq(lit("a")), &s).is_none());
        assert!(translate(&col("kind").eq(col("max_session_seconds")), &s).is_none());
        assert!(translate(&col("kind").eq(col("nope")), &s).is_none());
        assert!(translate(&col("kind").like(lit("a%")), &s).is_none());
        assert!(translate(&col("kind"), &s).is_none());
        // An OR with one untranslatable side is not translated at all.
        assert!(translate(
            &col("kind").eq(lit("a")).or(col("kind").like(lit("b%"))),
            &s
        )
        .is_none());
        // Of a conjunction, the translatable parts are pushed.
        let both = conjunction(&[col("kind").eq(lit("a")), col("kind").like(lit("b%"))], &s)
            .expect("one part");
        assert_eq!(both.sql, "t.\"kind\" = ?");
    }
}
