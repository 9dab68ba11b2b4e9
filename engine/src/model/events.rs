//! Normalised log events: [`EventRow`], one per audit-log record of any provider, and
//! [`EventBatchBuilder`], which appends rows straight into one Arrow builder per column of
//! [`Table::Events`] (no serde round trip: ingestion is the hot path).
//!
//! Unlike the inventory tables, an event's `provider` and `tenant` vary row by row (one
//! CloudTrail file may span accounts), so the builder takes them from the row, and only
//! `scan_id` and `collector` from the ingest run.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::error::ArrowError;
use serde::{Deserialize, Serialize};

use super::Table;
use crate::time::{de_opt_micros, Micros};

/// One normalised event. Field order is the schema's column order after the stamp.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EventRow {
    /// aws, azure, gcp, github, k8s, or `gateway` for access logs (stamp column; rule
    /// fixtures may set it, the collection's stamp fills it otherwise).
    #[serde(skip_serializing)]
    pub provider: String,
    /// Account, tenant, project, org or cluster (stamp column; empty when the record has none).
    #[serde(skip_serializing)]
    pub tenant: String,
    /// The provider's event id, or a digest of the record when it has none.
    pub event_id: String,
    #[serde(serialize_with = "ser_micros", deserialize_with = "de_micros")]
    pub event_time: Micros,
    /// cloudtrail, entra_signin, entra_audit, azure_activity, gcp_audit, github_audit,
    /// k8s_audit, apigw_access, envoy_access.
    pub source_format: String,
    /// The service that logged the call (`iam.amazonaws.com`, `iam.googleapis.com`, ...).
    pub event_source: Option<String>,
    /// The operation (`CreateAccessKey`, `google.iam.admin.v1.CreateServiceAccountKey`, `get`).
    pub action: String,
    /// The provider's kind of actor (`IAMUser`, `AssumedRole`, `ServicePrincipal`, ...).
    pub actor_type: Option<String>,
    /// The actor as the log names it (ARN, email, user name, JWT subject, SPIFFE id).
    pub actor: Option<String>,
    /// The model identity the actor is (an ARN, SA email, `system:serviceaccount:ns:name`,
    /// service principal id) when the record says so directly.
    pub actor_id: Option<String>,
    /// The credential used: access key id, SA key name, client credential, token id.
    pub credential_id: Option<String>,
    /// access_key, session, sa_key, client_secret, certificate, token, pat, oauth, ...
    pub credential_kind: Option<String>,
    /// For sessions: the identity that issued them (the role of an assumed-role session).
    pub session_issuer: Option<String>,
    /// Delegation / impersonation chain, outermost first (GCP delegation, k8s impersonation).
    pub chain: Vec<String>,
    /// The resource acted on.
    pub target: Option<String>,
    pub region: Option<String>,
    /// The caller's address as logged (an IP, or a service name such as `ec2.amazonaws.com`).
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// True for an interactive (human) sign-in or console use, false when the log says it is
    /// not, unknown otherwise.
    pub interactive: Option<bool>,
    /// success, failure or unknown.
    pub outcome: String,
    pub error_code: Option<String>,
    pub request_id: Option<String>,
    /// A credential this call created (the key of `CreateAccessKey`, the `ASIA` key of an
    /// `AssumeRole` response, a new SA key): the issuance link used by correlation.
    pub issued_credential_id: Option<String>,
    /// Where the raw record is: `file:line` (or `file:line#index` inside a wrapper).
    pub raw_ref: String,
    /// Format-specific extras as a JSON object (redacted; never a secret).
    pub attributes: Option<String>,
}

fn ser_micros<S: serde::Serializer>(t: &Micros, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(*t)
}

fn de_micros<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Micros, D::Error> {
    de_opt_micros(d)?.ok_or_else(|| serde::de::Error::custom("event_time is required"))
}

/// Appends [`EventRow`]s to one Arrow builder per column of [`Table::Events`].
pub struct EventBatchBuilder {
    scan_id: i64,
    collector: String,
    scan: Int64Builder,
    coll: StringBuilder,
    text: Vec<StringBuilder>,
    time: TimestampMicrosecondBuilder,
    chain: ListBuilder<StringBuilder>,
    interactive: BooleanBuilder,
    rows: usize,
}

/// Text columns, in schema order with `event_time`, `chain` and `interactive` taken out.
const TEXT_COLUMNS: usize = 22;

impl EventBatchBuilder {
    /// A builder stamping every row with `scan_id` and `collector`.
    pub fn new(scan_id: i64, collector: &str) -> EventBatchBuilder {
        EventBatchBuilder {
            scan_id,
            collector: collector.to_string(),
            scan: Int64Builder::new(),
            coll: StringBuilder::new(),
            text: (0..TEXT_COLUMNS).map(|_| StringBuilder::new()).collect(),
            time: TimestampMicrosecondBuilder::new(),
            chain: ListBuilder::new(StringBuilder::new()),
            interactive: BooleanBuilder::new(),
            rows: 0,
        }
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row.
    pub fn push(&mut self, e: &EventRow) {
        self.scan.append_value(self.scan_id);
        self.coll.append_value(&self.collector);
        let texts: [Option<&str>; TEXT_COLUMNS] = [
            Some(&e.provider),
            Some(&e.tenant),
            Some(&e.event_id),
            Some(&e.source_format),
            e.event_source.as_deref(),
            Some(&e.action),
            e.actor_type.as_deref(),
            e.actor.as_deref(),
            e.actor_id.as_deref(),
            e.credential_id.as_deref(),
            e.credential_kind.as_deref(),
            e.session_issuer.as_deref(),
            e.target.as_deref(),
            e.region.as_deref(),
            e.source_ip.as_deref(),
            e.user_agent.as_deref(),
            Some(&e.outcome),
            e.error_code.as_deref(),
            e.request_id.as_deref(),
            e.issued_credential_id.as_deref(),
            Some(&e.raw_ref),
            e.attributes.as_deref(),
        ];
        for (b, v) in self.text.iter_mut().zip(texts) {
            b.append_option(v);
        }
        self.time.append_value(e.event_time);
        for c in &e.chain {
            self.chain.values().append_value(c);
        }
        self.chain.append(true);
        self.interactive.append_option(e.interactive);
        self.rows += 1;
    }

    /// The rows so far as one batch in [`Table::Events`]'s schema; the builder is empty after.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        // Each text builder starts the next batch with this one's sizes (growing from empty
        // re-copied every column about twenty times per batch).
        let mut t: Vec<ArrayRef> = self
            .text
            .iter_mut()
            .map(|b| {
                let sized = StringBuilder::with_capacity(self.rows, b.values_slice().len());
                Arc::new(std::mem::replace(b, sized).finish()) as ArrayRef
            })
            .collect();
        let mut take =
            |i: usize| std::mem::replace(&mut t[i], Arc::new(arrow::array::NullArray::new(0)));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.scan.finish()),
            Arc::new(self.coll.finish()),
            take(0), // provider
            take(1), // tenant
            take(2), // event_id
            Arc::new(self.time.finish()),
            take(3),  // source_format
            take(4),  // event_source
            take(5),  // action
            take(6),  // actor_type
            take(7),  // actor
            take(8),  // actor_id
            take(9),  // credential_id
            take(10), // credential_kind
            take(11), // session_issuer
            Arc::new(self.chain.finish()),
            take(12), // target
            take(13), // region
            take(14), // source_ip
            take(15), // user_agent
            Arc::new(self.interactive.finish()),
            take(16), // outcome
            take(17), // error_code
            take(18), // request_id
            take(19), // issued_credential_id
            take(20), // raw_ref
            take(21), // attributes
        ];
        self.rows = 0;
        RecordBatch::try_new(Table::Events.schema(), columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{to_record_batch, Stamp};

    fn row() -> EventRow {
        EventRow {
            provider: "aws".into(),
            tenant: "111122223333".into(),
            event_id: "e-1".into(),
            event_time: 1_700_000_000_000_000,
            source_format: "cloudtrail".into(),
            action: "CreateAccessKey".into(),
            actor_id: Some("arn:aws:iam::111122223333:user/ci".into()),
            chain: vec!["a".into(), "b".into()],
            interactive: Some(false),
            outcome: "success".into(),
            raw_ref: "f.json:1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn builder_batches_match_the_serde_path() {
        let mut b = EventBatchBuilder::new(3, "ingest:3");
        b.push(&row());
        assert_eq!(b.len(), 1);
        let fast = b.finish().expect("batch");
        assert!(b.is_empty());
        assert_eq!(fast.schema(), Table::Events.schema());
        let stamp = Stamp {
            scan_id: 3,
            collector: "ingest:3".into(),
            provider: "aws".into(),
            tenant: "111122223333".into(),
        };
        let slow = to_record_batch(Table::Events, &stamp, &[row()]).expect("serde batch");
        assert_eq!(slow.len(), 1);
        assert_eq!(fast, slow[0]);
    }
}
