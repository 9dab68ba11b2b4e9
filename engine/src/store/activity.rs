//! An identity's recent activity from the ingested logs, for its page: the latest events it
//! made (the log names it, one of its credentials signed the call, or it is the role behind
//! the session), with how many there are in all and their time span. Events of every ingest
//! run count (log runs are never superseded).

use duckdb::params;
use serde::{Deserialize, Serialize};

use super::{Result, Store};
use crate::time::Micros;

/// One event on the identity's timeline (what the log says; never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEvent {
    pub event_time: Micros,
    pub source_format: String,
    pub action: String,
    pub event_source: Option<String>,
    pub credential_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub region: Option<String>,
    pub outcome: String,
    pub error_code: Option<String>,
    pub request_id: Option<String>,
}

/// The identity's activity: the latest events, newest first, and all of them counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Activity {
    pub events: Vec<ActivityEvent>,
    pub total: i64,
    pub first: Option<Micros>,
    pub last: Option<Micros>,
}

/// Events an identity page shows (the in-memory pages hold as many).
pub const LATEST: usize = 50;

/// Separates credential ids in the one text parameter that carries them.
const SEP: &str = "\u{1f}";

impl Store {
    /// The activity of (`tenant`, `identity_id`), whose credentials in the current snapshot
    /// are `credentials`, with its `limit` latest events; `None` when no log was ingested at
    /// all (nothing to say). Served from the in-memory pages when they match the store.
    pub fn identity_activity(
        &self,
        tenant: &str,
        identity_id: &str,
        credentials: &[String],
        limit: usize,
        now: Micros,
    ) -> Result<Option<Activity>> {
        if limit == LATEST {
            if let Some(found) = self.identity_activity_in_memory(tenant, identity_id, now)? {
                return Ok(found);
            }
        }
        self.identity_activity_from_store(tenant, identity_id, credentials, limit)
    }

    /// [`Store::identity_activity`], read from the `events` table.
    pub(crate) fn identity_activity_from_store(
        &self,
        tenant: &str,
        identity_id: &str,
        credentials: &[String],
        limit: usize,
    ) -> Result<Option<Activity>> {
        if !self.has_events()? {
            return Ok(None);
        }
        let ids = credentials.join(SEP);
        // One equality (or key-list semi-join) per branch, so each branch is a scan of one
        // column with its filter pushed down; `UNION` drops an event two branches found.
        let mut stmt = self.conn().prepare(
            "WITH keys AS (SELECT unnest(string_split(nullif($3, ''), chr(31))) AS k),
             mine AS (
                 SELECT * FROM events WHERE tenant = $1 AND actor_id = $2
                 UNION
                 SELECT * FROM events WHERE tenant = $1 AND session_issuer = $2
                 UNION
                 SELECT * FROM events WHERE tenant = $1 AND credential_id IN (SELECT k FROM keys)),
             total AS (SELECT count(*) AS n, epoch_us(min(event_time)) AS first,
                              epoch_us(max(event_time)) AS last FROM mine)
             SELECT epoch_us(event_time), source_format, action, event_source, credential_id,
                    source_ip, user_agent, region, outcome, error_code, request_id,
                    (SELECT n FROM total), (SELECT first FROM total), (SELECT last FROM total)
             FROM mine ORDER BY event_time DESC, event_id LIMIT $4",
        )?;
        let mut activity = Activity::default();
        let rows = stmt.query_map(params![tenant, identity_id, ids, limit as i64], |r| {
            Ok((
                ActivityEvent {
                    event_time: r.get(0)?,
                    source_format: r.get(1)?,
                    action: r.get(2)?,
                    event_source: r.get(3)?,
                    credential_id: r.get(4)?,
                    source_ip: r.get(5)?,
                    user_agent: r.get(6)?,
                    region: r.get(7)?,
                    outcome: r.get(8)?,
                    error_code: r.get(9)?,
                    request_id: r.get(10)?,
                },
                r.get::<_, i64>(11)?,
                r.get::<_, Option<i64>>(12)?,
                r.get::<_, Option<i64>>(13)?,
            ))
        })?;
        for row in rows {
            let (event, total, first, last) = row?;
            activity.events.push(event);
            (activity.total, activity.first, activity.last) = (total, first, last);
        }
        Ok(Some(activity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_is_the_identitys_events_newest_first() {
        let store = Store::open_in_memory().expect("store");
        assert_eq!(
            store
                .identity_activity_from_store("1", "arn:aws:iam::1:user/a", &[], 10)
                .expect("activity"),
            None,
            "no logs: nothing to say"
        );
        store
            .conn()
            .execute_batch(
                "INSERT INTO events (scan_id, collector, provider, tenant, event_id, event_time,
                        source_format, action, actor_id, credential_id, session_issuer, chain,
                        outcome, raw_ref)
                 VALUES
                 (1, 'ingest:1', 'aws', '1', 'e1', make_timestamp(1000000), 'cloudtrail', 'ListBuckets',
                  'arn:aws:iam::1:user/a', 'AKIAA', NULL, [], 'success', 'f:1'),
                 (1, 'ingest:1', 'aws', '1', 'e2', make_timestamp(3000000), 'cloudtrail', 'GetObject',
                  NULL, 'AKIAA', NULL, [], 'failure', 'f:2'),
                 (1, 'ingest:1', 'aws', '1', 'e3', make_timestamp(2000000), 'cloudtrail', 'PutObject',
                  'arn:aws:sts::1:assumed-role/r/s', 'ASIAX', 'arn:aws:iam::1:role/r', [], 'success', 'f:3'),
                 (1, 'ingest:1', 'aws', '2', 'e4', make_timestamp(4000000), 'cloudtrail', 'ListBuckets',
                  'arn:aws:iam::1:user/a', 'AKIAA', NULL, [], 'success', 'f:4');",
            )
            .expect("events");
        store.forget_events_check();
        let a = store
            .identity_activity_from_store("1", "arn:aws:iam::1:user/a", &["AKIAA".into()], 10)
            .expect("activity")
            .expect("logs");
        let actions: Vec<&str> = a.events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["GetObject", "ListBuckets"],
            "by key or by name, newest first, one tenant"
        );
        assert_eq!(
            (a.total, a.first, a.last),
            (2, Some(1_000_000), Some(3_000_000))
        );
        let limited = store
            .identity_activity_from_store("1", "arn:aws:iam::1:user/a", &["AKIAA".into()], 1)
            .expect("activity")
            .expect("logs");
        assert_eq!((limited.events.len(), limited.total), (1, 2));
        let role = store
            .identity_activity_from_store("1", "arn:aws:iam::1:role/r", &[], 10)
            .expect("activity")
            .expect("logs");
        assert_eq!(
            role.events[0].action, "PutObject",
            "the role behind a session"
        );
        let none = store
            .identity_activity_from_store("1", "arn:aws:iam::1:user/b", &[], 10)
            .expect("activity")
            .expect("logs");
        assert_eq!((none.events.len(), none.total, none.last), (0, 0, None));
    }
}
