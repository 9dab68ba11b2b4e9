//! Arrow schemas: the single source of truth for every table. The store's migrations must
//! produce exactly these columns (a test checks it), and every reader and writer goes through
//! them.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The data tables of the model, listed explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Identities,
    Credentials,
    Policies,
    Grants,
    Trusts,
    Ownership,
    Tags,
    Memberships,
    FederationProviders,
    Events,
}

impl Table {
    /// Every data table, in write order.
    pub const ALL: [Table; 10] = [
        Table::Identities,
        Table::Credentials,
        Table::Policies,
        Table::Grants,
        Table::Trusts,
        Table::Ownership,
        Table::Tags,
        Table::Memberships,
        Table::FederationProviders,
        Table::Events,
    ];

    /// The table's name in the store.
    pub fn name(self) -> &'static str {
        match self {
            Table::Identities => "identities",
            Table::Credentials => "credentials",
            Table::Policies => "policies",
            Table::Grants => "grants",
            Table::Trusts => "trusts",
            Table::Ownership => "ownership",
            Table::Tags => "tags",
            Table::Memberships => "memberships",
            Table::FederationProviders => "federation_providers",
            Table::Events => "events",
        }
    }

    /// Columns that identify a row within one snapshot of one tenant (used by diffs).
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            Table::Identities => &["identity_id"],
            Table::Credentials => &["credential_id"],
            Table::Policies => &["policy_id"],
            Table::Grants => &[
                "identity_id",
                "policy_id",
                "relation",
                "via",
                "statement_index",
            ],
            Table::Trusts => &[
                "identity_id",
                "statement_index",
                "principal_type",
                "principal",
            ],
            Table::Ownership => &["identity_id", "owner", "source"],
            Table::Tags => &["resource_id", "key"],
            Table::Memberships => &["member_id", "group_id"],
            Table::FederationProviders => &["federation_id"],
            Table::Events => &["event_id"],
        }
    }

    /// The full schema: the stamp columns followed by the data columns.
    pub fn schema(self) -> SchemaRef {
        static SCHEMAS: OnceLock<Vec<SchemaRef>> = OnceLock::new();
        let all = SCHEMAS.get_or_init(|| {
            Table::ALL
                .iter()
                .map(|t| {
                    let mut fields = stamp_fields();
                    fields.extend(t.data_fields());
                    Arc::new(Schema::new(fields))
                })
                .collect()
        });
        let index = Table::ALL.iter().position(|t| *t == self).unwrap_or(0);
        all[index].clone()
    }

    /// The data columns only (what the row types serialise to).
    pub fn data_schema(self) -> SchemaRef {
        Arc::new(Schema::new(self.data_fields()))
    }

    fn data_fields(self) -> Vec<Field> {
        match self {
            Table::Identities => vec![
                text("identity_id"),
                text("name"),
                text("kind"),
                opt_text("unique_id"),
                opt_text("path"),
                opt_text("display_name"),
                opt_time("created_at"),
                opt_text("permissions_boundary"),
                opt_time("last_used_at"),
                opt_text("last_used_region"),
                opt_text("last_used_service"),
                opt_int("max_session_seconds"),
                flag("service_linked"),
                opt_text("description"),
                opt_text("attributes"),
            ],
            Table::Credentials => vec![
                text("credential_id"),
                opt_text("identity_id"),
                text("kind"),
                text("status"),
                opt_time("created_at"),
                opt_time("expires_at"),
                opt_time("last_used_at"),
                opt_text("last_used_service"),
                opt_text("last_used_region"),
                opt_text("fingerprint"),
                opt_text("redacted_prefix"),
                opt_text("description"),
                opt_text("attributes"),
            ],
            Table::Policies => vec![
                text("policy_id"),
                text("name"),
                text("kind"),
                opt_text("owner_id"),
                opt_text("default_version"),
                opt_int("attachment_count"),
                opt_text("document"),
                opt_time("created_at"),
                opt_time("updated_at"),
                opt_text("description"),
            ],
            Table::Grants => vec![
                text("identity_id"),
                text("policy_id"),
                text("relation"),
                text("via"),
                int("statement_index"),
                opt_text("sid"),
                text("effect"),
                list("actions"),
                list("not_actions"),
                list("resources"),
                list("not_resources"),
                opt_text("conditions"),
            ],
            Table::Trusts => vec![
                text("identity_id"),
                int("statement_index"),
                opt_text("sid"),
                text("effect"),
                text("principal_type"),
                text("principal"),
                list("actions"),
                list("condition_keys"),
                opt_text("conditions"),
            ],
            Table::Ownership => vec![
                text("identity_id"),
                text("owner"),
                text("source"),
                opt_text("evidence"),
            ],
            Table::Tags => vec![text("resource_id"), text("key"), text("value")],
            Table::Memberships => vec![text("member_id"), text("group_id"), text("relation")],
            Table::FederationProviders => vec![
                text("federation_id"),
                text("kind"),
                opt_text("url"),
                list("audiences"),
                list("thumbprints"),
                opt_time("created_at"),
                opt_time("valid_until"),
            ],
            // Normalised log events (see `model::events`): who did what, with which
            // credential, from where, and a pointer back to the raw record.
            Table::Events => vec![
                text("event_id"),
                time("event_time"),
                text("source_format"),
                opt_text("event_source"),
                text("action"),
                opt_text("actor_type"),
                opt_text("actor"),
                opt_text("actor_id"),
                opt_text("credential_id"),
                opt_text("credential_kind"),
                opt_text("session_issuer"),
                list("chain"),
                opt_text("target"),
                opt_text("region"),
                opt_text("source_ip"),
                opt_text("user_agent"),
                opt_flag("interactive"),
                text("outcome"),
                opt_text("error_code"),
                opt_text("request_id"),
                opt_text("issued_credential_id"),
                text("raw_ref"),
                opt_text("attributes"),
            ],
        }
    }
}

/// The stamp columns every data table starts with.
pub fn stamp_fields() -> Vec<Field> {
    vec![
        Field::new("scan_id", DataType::Int64, false),
        text("collector"),
        text("provider"),
        text("tenant"),
    ]
}

/// The Arrow type of every timestamp in the model (UTC, naive).
pub fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}
fn opt_text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}
fn time(name: &str) -> Field {
    Field::new(name, time_type(), false)
}
fn opt_flag(name: &str) -> Field {
    Field::new(name, DataType::Boolean, true)
}
fn opt_time(name: &str) -> Field {
    Field::new(name, time_type(), true)
}
fn opt_int(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}
fn int(name: &str) -> Field {
    Field::new(name, DataType::Int64, false)
}
fn flag(name: &str) -> Field {
    Field::new(name, DataType::Boolean, false)
}
fn list(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    )
}
