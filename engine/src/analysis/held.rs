//! The tables an evaluation holds in memory (materialized derived tables, cached model
//! tables) and their lifetimes: each is released as soon as the last rule that reads it has
//! run, and rules run in an order that lets the largest go first (the rules reading the
//! largest held table, then those reading the next, ...). At the 1M-identity benchmark the
//! held tables are over a gigabyte, while the finding stage grows with every rule: holding
//! them all to the end put both at their largest at once.
//!
//! Rules that read a table DuckDB computes with much of its memory
//! ([`derived::NEED_STORE_MEMORY`]) run before all others: once they have run, DuckDB's cap
//! can be lowered for the rest of the evaluation ([`Analysis::evaluate`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::prelude::DataFrame;

use super::evaluate::scanned_tables;
use super::{derived, Analysis};
use crate::rules::Rule;

/// Held tables by name: whether they are in memory yet (cached tables are read on their
/// first scan, [`super::cache`]) and their size (bytes once in memory, rows until then).
pub(crate) type Held = Arc<Mutex<HashMap<String, (bool, usize)>>>;

/// The order to run rules in, and the readers left of each held table.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    /// Positions in the rule slice, in running order.
    pub order: Vec<usize>,
    /// The held tables each rule reads, by position.
    pub reads: Vec<Vec<String>>,
    /// Rules left to run that read each held table, and each table of
    /// [`derived::NEED_STORE_MEMORY`].
    readers: Mutex<HashMap<String, usize>>,
}

impl Schedule {
    /// Whether some rule left to run reads a table of [`derived::NEED_STORE_MEMORY`].
    pub fn needs_store_memory(&self) -> bool {
        self.readers.lock().is_ok_and(|r| {
            derived::NEED_STORE_MEMORY
                .iter()
                .any(|t| r.get(*t).is_some_and(|n| *n > 0))
        })
    }
}

/// The tables a rule's query needs: those it names (planning resolves them even when the
/// optimiser then removes their scan, as for a filter known to be false), those behind the
/// views it names, and those its optimised plan scans.
fn read_tables(df: DataFrame) -> Vec<String> {
    let mut tables = scanned_tables(df.logical_plan());
    let behind_views: Vec<String> = tables
        .iter()
        .flat_map(|t| {
            crate::correlate::view_sources(t)
                .iter()
                .map(|s| s.to_string())
        })
        .collect();
    tables.extend(behind_views);
    if let Ok(optimised) = df.into_optimized_plan() {
        tables.extend(scanned_tables(&optimised));
    }
    tables.sort();
    tables.dedup();
    tables
}

impl Analysis {
    /// Records that `name` is held in memory (`bytes` large), or will be on its first scan
    /// (`loaded` false, `size` its rows).
    pub(crate) fn hold(&self, name: &str, loaded: bool, size: usize) {
        if let Ok(mut held) = self.held.lock() {
            held.insert(name.to_string(), (loaded, size));
        }
    }

    /// Plans `rules` against the held tables and orders them (see the module doc). A rule
    /// that does not plan reads nothing held (it fails when run, before reading).
    pub(crate) async fn schedule(&self, rules: &[Rule]) -> Schedule {
        let held: HashMap<String, (bool, usize)> =
            self.held.lock().map(|h| h.clone()).unwrap_or_default();
        // Tables already in memory first (largest first), then those read on first scan.
        let mut largest_first: Vec<(&String, &(bool, usize))> = held.iter().collect();
        largest_first.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let rank = |name: &String| largest_first.iter().position(|(n, _)| *n == name);
        let mut reads = Vec::with_capacity(rules.len());
        let mut readers: HashMap<String, usize> = HashMap::new();
        for rule in rules {
            let tables: Vec<String> = match self.plan(rule).await {
                Ok((df, _)) => read_tables(df)
                    .into_iter()
                    .filter(|t| {
                        held.contains_key(t) || derived::NEED_STORE_MEMORY.contains(&t.as_str())
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
            for t in &tables {
                *readers.entry(t.clone()).or_default() += 1;
            }
            reads.push(tables);
        }
        let mut order: Vec<usize> = (0..rules.len()).collect();
        order.sort_by_key(|&i| {
            let needs_store_memory = reads[i]
                .iter()
                .any(|t| derived::NEED_STORE_MEMORY.contains(&t.as_str()));
            let largest = reads[i].iter().filter_map(rank).min().unwrap_or(usize::MAX);
            (!needs_store_memory, largest)
        });
        Schedule {
            order,
            reads,
            readers: Mutex::new(readers),
        }
    }

    /// Counts the rule at `position` as run: the held tables no rule left to run reads are
    /// released, with the correlation views over them.
    pub(crate) fn ran(&self, schedule: &Schedule, position: usize) {
        let Ok(mut readers) = schedule.readers.lock() else {
            return;
        };
        for table in &schedule.reads[position] {
            let Some(left) = readers.get_mut(table) else {
                continue;
            };
            *left -= 1;
            if *left > 0 {
                continue;
            }
            readers.remove(table);
            if derived::NEED_STORE_MEMORY.contains(&table.as_str()) {
                continue; // computed by DuckDB when scanned: nothing held
            }
            let _ = self.ctx.deregister_table(table.as_str());
            for (view, _) in crate::correlate::VIEWS {
                if crate::correlate::view_sources(view).contains(&table.as_str()) {
                    let _ = self.ctx.deregister_table(*view);
                }
            }
            let bytes = self
                .held
                .lock()
                .ok()
                .and_then(|mut h| h.remove(table))
                .filter(|(loaded, _)| *loaded)
                .map_or(0, |(_, bytes)| bytes);
            tracing::debug!(message = "Table released.", table = %table, bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::Analysis;
    use crate::rules::load::builtin;
    use crate::store::Snapshot;

    /// Over a fixture estate with the whole built-in pack: the rule reading what DuckDB
    /// computes with much memory runs first, then the rules reading the largest held table;
    /// a held table stays until its last reader has run and is gone after,
    /// and the evaluation still runs every rule.
    #[tokio::test]
    async fn held_tables_go_after_their_last_reader_largest_first() {
        let (store, now) = crate::analysis::tests::escalation_fixture();
        let rules = builtin().expect("rules");
        let analysis = Analysis::new(&store, Snapshot::Current, now, true)
            .await
            .expect("analysis");
        analysis.cache_tables(&rules).await.expect("cache");
        let held = analysis.held.lock().expect("held").clone();
        assert!(held.contains_key("permissions"), "{held:?}");
        assert!(held.contains_key("credentials"), "{held:?}");
        let schedule = analysis.schedule(&rules).await;
        // First the rule reading what DuckDB computes with much memory, then the largest.
        let first = schedule.order[0];
        assert!(
            schedule.reads[first].contains(&"direct_attachments".to_string()),
            "{:?}",
            schedule.reads[first]
        );
        assert!(schedule.needs_store_memory());
        analysis.ran(&schedule, first);
        assert!(!schedule.needs_store_memory());
        let largest = held
            .iter()
            .max_by_key(|(_, b)| **b) // in memory, then largest
            .expect("held")
            .0
            .clone();
        let second = schedule.order[1];
        assert!(
            schedule.reads[second].contains(&largest),
            "the second rule reads {largest}: {:?}",
            schedule.reads[second]
        );
        let readers: Vec<usize> = schedule
            .order
            .iter()
            .copied()
            .filter(|&i| schedule.reads[i].iter().any(|t| t == "credentials"))
            .collect();
        assert!(readers.len() >= 2, "{readers:?}");
        for (n, &i) in readers.iter().enumerate() {
            assert!(analysis.ctx.table_exist("credentials").expect("exists"));
            // The correlation views over credentials stay as long as it does.
            assert!(analysis.ctx.table_exist("last_used").expect("exists"));
            analysis.ran(&schedule, i);
            if n + 1 < readers.len() {
                continue;
            }
            assert!(!analysis.ctx.table_exist("credentials").expect("exists"));
            assert!(!analysis.ctx.table_exist("last_used").expect("exists"));
            assert!(!analysis
                .held
                .lock()
                .expect("held")
                .contains_key("credentials"));
        }
        let evaluation = Analysis::new(&store, Snapshot::Current, now, true)
            .await
            .expect("analysis")
            .evaluate(&store, &rules)
            .await
            .expect("evaluate");
        assert_eq!(evaluation.runs.len(), rules.len());
        assert_eq!(evaluation.failed().count(), 0, "{:?}", evaluation.runs);
        let ids: Vec<&str> = evaluation.runs.iter().map(|r| r.rule_id.as_str()).collect();
        let expected: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, expected, "runs are reported in the rules' order");
    }
}
