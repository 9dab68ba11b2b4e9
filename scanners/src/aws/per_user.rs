//! Runs one async task per user with bounded concurrency and gathers their rows; the first
//! error stops the collector (its rows are then discarded as a whole).

use std::future::Future;

use futures::{StreamExt, TryStreamExt};
use nhiscope_engine::RowSet;

use super::context::UserRef;
use crate::collector::CollectorError;

/// Applies `task` to every user, at most `concurrency` at a time.
pub async fn for_each_user<F, Fut>(
    users: impl IntoIterator<Item = UserRef>,
    concurrency: usize,
    task: F,
) -> Result<RowSet, CollectorError>
where
    F: Fn(UserRef) -> Fut,
    Fut: Future<Output = Result<RowSet, CollectorError>>,
{
    futures::stream::iter(users.into_iter().map(task))
        .buffer_unordered(concurrency.max(1))
        .try_fold(RowSet::default(), |mut acc, rows| async move {
            acc.append(rows);
            Ok(acc)
        })
        .await
}
