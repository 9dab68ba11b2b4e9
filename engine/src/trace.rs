//! `trace`: the chain behind one access key id, request id, identity or IP address, from the
//! correlation views ([`crate::correlate`]): issuance → assume / delegation chain → actions →
//! resources, and from an edge (API gateway, Envoy) request back to the workload identity and
//! its credential. The subject is always a bound parameter, never spliced into SQL.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use serde::Serialize;

use crate::analysis::{Analysis, AnalysisError};
use crate::store::{Snapshot, Store};
use crate::time::Micros;

/// What the subject turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    Credential,
    Request,
    Identity,
    Address,
}

/// One line of a trace: `depth` nests it under the line above with a smaller depth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub depth: usize,
    /// credential, identity, issued, minted, refused (an issuance the provider refused),
    /// session, action, request, actor, seen.
    pub kind: String,
    pub text: String,
    /// Where the evidence is (`file:line` of the raw record), when it comes from a log.
    pub evidence: Option<String>,
}

/// A whole trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub subject: String,
    pub kind: SubjectKind,
    pub steps: Vec<Step>,
}

/// How far up an assume-role chain a trace follows.
const MAX_HOPS: usize = 8;
/// Action groups shown per credential or identity.
const MAX_ACTIONS: usize = 25;

type Rows = Vec<Vec<Option<String>>>;

/// Runs `sql` with `$1` bound to `value`; every column as text.
async fn rows(a: &Analysis, sql: &str, value: &str) -> Result<Rows, AnalysisError> {
    let batches: Vec<RecordBatch> = a
        .ctx()
        .sql(sql)
        .await?
        .with_param_values(vec![ScalarValue::Utf8(Some(value.to_string()))])?
        .collect()
        .await?;
    let mut out = Vec::new();
    for b in &batches {
        let cols: Vec<_> = b
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8))
            .collect::<Result<_, _>>()
            .map_err(datafusion::error::DataFusionError::from)?;
        for i in 0..b.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| {
                        let s = c.as_string::<i32>();
                        (!s.is_null(i)).then(|| s.value(i).to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

fn v(row: &[Option<String>], i: usize) -> &str {
    row.get(i).and_then(|x| x.as_deref()).unwrap_or("-")
}

/// Traces `subject` over the current state of `store` at `now`.
pub async fn trace(store: &Store, now: Micros, subject: &str) -> Result<Trace, AnalysisError> {
    let a = Analysis::new(store, Snapshot::Current, now, false).await?;
    let subject = subject.trim();
    // A GCP key's full resource name traces as its key id (how events and the model name it).
    let subject = match subject.split_once("/keys/") {
        Some((_, key)) if !key.is_empty() && !key.contains('/') => key,
        _ => subject,
    };
    let known_credential = !rows(
        &a,
        "SELECT 1 FROM events WHERE credential_id = $1 OR issued_credential_id = $1
         UNION ALL SELECT 1 FROM credentials WHERE credential_id = $1 LIMIT 1",
        subject,
    )
    .await?
    .is_empty();
    let mut steps = Vec::new();
    let kind = if known_credential {
        credential(&a, subject, 0, &mut steps).await?;
        SubjectKind::Credential
    } else if !rows(
        &a,
        "SELECT 1 FROM events WHERE request_id = $1 LIMIT 1",
        subject,
    )
    .await?
    .is_empty()
    {
        request(&a, subject, &mut steps).await?;
        SubjectKind::Request
    } else if subject.parse::<std::net::IpAddr>().is_ok() {
        address(&a, subject, &mut steps).await?;
        SubjectKind::Address
    } else {
        identity(&a, subject, 0, &mut steps).await?;
        SubjectKind::Identity
    };
    Ok(Trace {
        subject: subject.to_string(),
        kind,
        steps,
    })
}

/// A credential: what it is, who issued it (up the chain), what it did, what it minted.
async fn credential(
    a: &Analysis,
    id: &str,
    depth: usize,
    steps: &mut Vec<Step>,
) -> Result<(), AnalysisError> {
    let inv = rows(
        a,
        "SELECT kind, status, identity_id, CAST(created_at AS VARCHAR) AS created_at_text FROM credentials
         WHERE credential_id = $1",
        id,
    )
    .await?;
    let text = match inv.first() {
        Some(r) => format!(
            "credential {id}: {} ({}) of {}, created {}",
            v(r, 0),
            v(r, 1),
            v(r, 2),
            v(r, 3)
        ),
        None => format!("credential {id} (seen in logs, not in the inventory)"),
    };
    steps.push(Step {
        depth,
        kind: "credential".into(),
        text,
        evidence: None,
    });
    if let Some(holder) = inv.first().and_then(|r| r.get(2).cloned().flatten()) {
        owners(a, &holder, depth + 1, steps).await?;
    }
    // Up the chain: who issued this credential, with which credential, and so on.
    let mut current = id.to_string();
    let mut seen = vec![current.clone()];
    for hop in 0..MAX_HOPS {
        let issued = rows(
            a,
            "SELECT action, CAST(event_time AS VARCHAR) AS event_time_text, coalesce(actor_id, actor), credential_id,
                    target, raw_ref, coalesce(outcome = 'failure', false) AS refused
             FROM events WHERE issued_credential_id = $1
             ORDER BY coalesce(outcome = 'failure', false), event_time LIMIT 1",
            &current,
        )
        .await?;
        let Some(r) = issued.first() else { break };
        // An attempt the provider refused issued nothing: shown as such, and the chain ends.
        let refused = v(r, 6) == "true";
        steps.push(Step {
            depth: depth + 1 + hop,
            kind: match (refused, hop) {
                (true, _) => "refused",
                (false, 0) => "issued",
                (false, _) => "minted",
            }
            .into(),
            text: format!(
                "{} {} by {} using {} (for {})",
                v(r, 0),
                v(r, 1),
                v(r, 2),
                v(r, 3),
                v(r, 4)
            ),
            evidence: r.get(5).cloned().flatten(),
        });
        match r.get(3).cloned().flatten() {
            Some(_) if refused => break,
            Some(parent) if !seen.contains(&parent) => {
                seen.push(parent.clone());
                current = parent;
            }
            _ => break,
        }
    }
    actions(a, ActedBy::Credential, id, depth + 1, steps).await?;
    // Sessions this credential minted, and what they did.
    let minted = rows(
        a,
        "SELECT credential_id, action, role, CAST(issued_at AS VARCHAR) AS issued_at_text, raw_ref
         FROM session_issuance WHERE issued_by_credential = $1 ORDER BY issued_at",
        id,
    )
    .await?;
    for r in minted {
        let session = v(&r, 0).to_string();
        steps.push(Step {
            depth: depth + 1,
            kind: "session".into(),
            text: format!("{} {} -> {} as {}", v(&r, 1), v(&r, 3), session, v(&r, 2)),
            evidence: r.get(4).cloned().flatten(),
        });
        if depth < 3 {
            actions(a, ActedBy::Credential, &session, depth + 2, steps).await?;
        }
    }
    Ok(())
}

/// What action groups are keyed by: a closed set of `event_identities` columns.
#[derive(Debug, Clone, Copy)]
enum ActedBy {
    Credential,
    Identity,
}

impl ActedBy {
    fn column(self) -> &'static str {
        match self {
            ActedBy::Credential => "credential_id",
            ActedBy::Identity => "identity_id",
        }
    }
}

/// Action groups: `action target ×n first..last [identity] (formats)`.
async fn actions(
    a: &Analysis,
    by: ActedBy,
    subject: &str,
    depth: usize,
    steps: &mut Vec<Step>,
) -> Result<(), AnalysisError> {
    // The column comes from a closed set; the subject is a bound parameter.
    let sql = format!(
        "SELECT action, coalesce(target, '-'), count(*), CAST(min(event_time) AS VARCHAR),
                CAST(max(event_time) AS VARCHAR), min(raw_ref), min(identity_id),
                array_to_string(array_agg(DISTINCT source_format), ',')
         FROM event_identities WHERE {} = $1
         GROUP BY action, coalesce(target, '-') ORDER BY count(*) DESC, action LIMIT 25",
        by.column()
    );
    for r in rows(a, &sql, subject).await?.into_iter().take(MAX_ACTIONS) {
        steps.push(Step {
            depth,
            kind: "action".into(),
            text: format!(
                "{} on {} x{} {}..{} as {} ({})",
                v(&r, 0),
                v(&r, 1),
                v(&r, 2),
                v(&r, 3),
                v(&r, 4),
                v(&r, 6),
                v(&r, 7)
            ),
            evidence: r.get(5).cloned().flatten(),
        });
    }
    Ok(())
}

/// A request id: each event carrying it (edge access logs and the provider's audit log), then
/// the credential or identity behind it.
async fn request(a: &Analysis, id: &str, steps: &mut Vec<Step>) -> Result<(), AnalysisError> {
    let events = rows(
        a,
        "SELECT e.source_format, CAST(e.event_time AS VARCHAR) AS event_time_text, e.action, e.credential_id,
                coalesce(i.identity_id, e.actor_id, e.actor), e.source_ip, e.raw_ref
         FROM events e LEFT JOIN event_identities i USING (event_id)
         WHERE e.request_id = $1 ORDER BY e.event_time",
        id,
    )
    .await?;
    let mut followed: Vec<String> = Vec::new();
    for r in &events {
        steps.push(Step {
            depth: 0,
            kind: "request".into(),
            text: format!(
                "{} {} {} from {} by {} with {}",
                v(r, 0),
                v(r, 1),
                v(r, 2),
                v(r, 5),
                v(r, 4),
                v(r, 3)
            ),
            evidence: r.get(6).cloned().flatten(),
        });
    }
    for r in &events {
        if let Some(c) = r.get(3).cloned().flatten() {
            if !followed.contains(&c) {
                followed.push(c.clone());
                Box::pin(credential(a, &c, 1, steps)).await?;
            }
        } else if let Some(i) = r.get(4).cloned().flatten() {
            if !followed.contains(&i) {
                followed.push(i.clone());
                Box::pin(identity(a, &i, 1, steps)).await?;
            }
        }
    }
    Ok(())
}

/// An identity: inventory row, issuance, credentials seen, actions.
async fn identity(
    a: &Analysis,
    id: &str,
    depth: usize,
    steps: &mut Vec<Step>,
) -> Result<(), AnalysisError> {
    let inv = rows(
        a,
        "SELECT kind, name, CAST(created_at AS VARCHAR) AS created_at_text FROM identities WHERE identity_id = $1",
        id,
    )
    .await?;
    steps.push(Step {
        depth,
        kind: "identity".into(),
        text: match inv.first() {
            Some(r) => format!(
                "identity {id}: {} {}, created {}",
                v(r, 0),
                v(r, 1),
                v(r, 2)
            ),
            None => format!("identity {id} (seen in logs, not in the inventory)"),
        },
        evidence: None,
    });
    owners(a, id, depth + 1, steps).await?;
    for r in rows(
        a,
        "SELECT action, CAST(issued_at AS VARCHAR) AS issued_at_text, issued_by, raw_ref FROM issuance
         WHERE subject_id = $1 OR issued_for = $1 ORDER BY issued_at",
        id,
    )
    .await?
    {
        steps.push(Step {
            depth: depth + 1,
            kind: "issued".into(),
            text: format!("{} {} by {}", v(&r, 0), v(&r, 1), v(&r, 2)),
            evidence: r.get(3).cloned().flatten(),
        });
    }
    for r in rows(
        a,
        "SELECT credential_id, count(*), CAST(max(event_time) AS VARCHAR) FROM event_identities
         WHERE identity_id = $1 AND credential_id IS NOT NULL
         GROUP BY credential_id ORDER BY credential_id",
        id,
    )
    .await?
    {
        steps.push(Step {
            depth: depth + 1,
            kind: "credential".into(),
            text: format!("uses {} ({} events, last {})", v(&r, 0), v(&r, 1), v(&r, 2)),
            evidence: None,
        });
    }
    actions(a, ActedBy::Identity, id, depth + 1, steps).await
}

/// Owner candidates of an identity (tags, team groups, creators from issuance logs).
async fn owners(
    a: &Analysis,
    identity: &str,
    depth: usize,
    steps: &mut Vec<Step>,
) -> Result<(), AnalysisError> {
    for r in rows(
        a,
        "SELECT owner, source, evidence FROM ownership WHERE identity_id = $1 ORDER BY source, owner",
        identity,
    )
    .await?
    {
        steps.push(Step {
            depth,
            kind: "owner".into(),
            text: format!("{} ({}: {})", v(&r, 0), v(&r, 1), v(&r, 2)),
            evidence: None,
        });
    }
    Ok(())
}

/// An address: who acted from it, with which credentials.
async fn address(a: &Analysis, ip: &str, steps: &mut Vec<Step>) -> Result<(), AnalysisError> {
    steps.push(Step {
        depth: 0,
        kind: "address".into(),
        text: format!("address {ip}"),
        evidence: None,
    });
    for r in rows(
        a,
        "SELECT identity_id, coalesce(credential_id, '-'), count(*), CAST(min(event_time) AS VARCHAR),
                CAST(max(event_time) AS VARCHAR), array_to_string(array_agg(DISTINCT source_format), ',')
         FROM event_identities WHERE source_ip = $1
         GROUP BY identity_id, coalesce(credential_id, '-') ORDER BY count(*) DESC",
        ip,
    )
    .await?
    {
        steps.push(Step {
            depth: 1,
            kind: "seen".into(),
            text: format!(
                "{} with {} x{} {}..{} ({})",
                v(&r, 0),
                v(&r, 1),
                v(&r, 2),
                v(&r, 3),
                v(&r, 4),
                v(&r, 5)
            ),
            evidence: None,
        });
    }
    Ok(())
}
