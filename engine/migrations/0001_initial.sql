-- nhiscope store, schema version 1. Data tables mirror engine/src/model/schema.rs exactly
-- (the test `store_tables_match_arrow_schemas` checks it). Timestamps are naive UTC.

CREATE SEQUENCE scan_ids START 1;

CREATE TABLE scans (
    scan_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    tenant VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,
    api_calls BIGINT,
    tool_version VARCHAR NOT NULL,
    summary VARCHAR
);

CREATE TABLE scan_collectors (
    scan_id BIGINT NOT NULL,
    collector VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    items BIGINT NOT NULL,
    api_calls BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    error VARCHAR,
    PRIMARY KEY (scan_id, collector)
);

CREATE TABLE identities (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    identity_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    unique_id VARCHAR,
    path VARCHAR,
    display_name VARCHAR,
    created_at TIMESTAMP,
    permissions_boundary VARCHAR,
    last_used_at TIMESTAMP,
    last_used_region VARCHAR,
    last_used_service VARCHAR,
    max_session_seconds BIGINT,
    service_linked BOOLEAN NOT NULL,
    description VARCHAR,
    attributes VARCHAR
);

CREATE TABLE credentials (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    credential_id VARCHAR NOT NULL,
    identity_id VARCHAR,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    created_at TIMESTAMP,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    last_used_service VARCHAR,
    last_used_region VARCHAR,
    fingerprint VARCHAR,
    redacted_prefix VARCHAR,
    description VARCHAR,
    attributes VARCHAR
);

CREATE TABLE policies (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    policy_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    owner_id VARCHAR,
    default_version VARCHAR,
    attachment_count BIGINT,
    document VARCHAR,
    created_at TIMESTAMP,
    updated_at TIMESTAMP,
    description VARCHAR
);

CREATE TABLE grants (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    identity_id VARCHAR NOT NULL,
    policy_id VARCHAR NOT NULL,
    relation VARCHAR NOT NULL,
    via VARCHAR NOT NULL,
    statement_index BIGINT NOT NULL,
    sid VARCHAR,
    effect VARCHAR NOT NULL,
    actions VARCHAR[] NOT NULL,
    not_actions VARCHAR[] NOT NULL,
    resources VARCHAR[] NOT NULL,
    not_resources VARCHAR[] NOT NULL,
    conditions VARCHAR
);

CREATE TABLE trusts (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    identity_id VARCHAR NOT NULL,
    statement_index BIGINT NOT NULL,
    sid VARCHAR,
    effect VARCHAR NOT NULL,
    principal_type VARCHAR NOT NULL,
    principal VARCHAR NOT NULL,
    actions VARCHAR[] NOT NULL,
    condition_keys VARCHAR[] NOT NULL,
    conditions VARCHAR
);

CREATE TABLE ownership (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    identity_id VARCHAR NOT NULL,
    owner VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    evidence VARCHAR
);

CREATE TABLE tags (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    resource_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);

CREATE TABLE memberships (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    member_id VARCHAR NOT NULL,
    group_id VARCHAR NOT NULL,
    relation VARCHAR NOT NULL
);

CREATE TABLE federation_providers (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    federation_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    url VARCHAR,
    audiences VARCHAR[] NOT NULL,
    thumbprints VARCHAR[] NOT NULL,
    created_at TIMESTAMP,
    valid_until TIMESTAMP
);

-- Which snapshot of each (source, collector) is in force. With `scan` set: that scan's
-- successful collectors. Otherwise the latest finished scan (complete or partial) in which the
-- collector succeeded, at or before `as_of` when it is set. A collector that failed never
-- replaces earlier data, so a failed or partial scan cannot make anything look deleted.
CREATE MACRO collections_at(as_of, scan) AS TABLE
    SELECT s.source, s.provider, s.tenant, c.collector, max(s.scan_id) AS scan_id
    FROM scans s JOIN scan_collectors c ON c.scan_id = s.scan_id
    WHERE c.status = 'ok'
      AND CASE WHEN scan IS NOT NULL THEN s.scan_id = scan
               ELSE s.status IN ('complete', 'partial') AND (as_of IS NULL OR s.finished_at <= as_of) END
    GROUP BY s.source, s.provider, s.tenant, c.collector;

CREATE VIEW current_collections AS SELECT * FROM collections_at(NULL, NULL);

-- Current state and point-in-time views, one pair per data table.
CREATE VIEW current_identities AS SELECT t.* FROM identities t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO identities_as_of(ts) AS TABLE SELECT t.* FROM identities t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE VIEW current_credentials AS SELECT t.* FROM credentials t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO credentials_as_of(ts) AS TABLE SELECT t.* FROM credentials t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE VIEW current_policies AS SELECT t.* FROM policies t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO policies_as_of(ts) AS TABLE SELECT t.* FROM policies t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE VIEW current_grants AS SELECT t.* FROM grants t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO grants_as_of(ts) AS TABLE SELECT t.* FROM grants t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE VIEW current_trusts AS SELECT t.* FROM trusts t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO trusts_as_of(ts) AS TABLE SELECT t.* FROM trusts t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE VIEW current_ownership AS SELECT t.* FROM ownership t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO ownership_as_of(ts) AS TABLE SELECT t.* FROM ownership t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE VIEW current_tags AS SELECT t.* FROM tags t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO tags_as_of(ts) AS TABLE SELECT t.* FROM tags t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE VIEW current_memberships AS SELECT t.* FROM memberships t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO memberships_as_of(ts) AS TABLE SELECT t.* FROM memberships t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE VIEW current_federation_providers AS SELECT t.* FROM federation_providers t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO federation_providers_as_of(ts) AS TABLE SELECT t.* FROM federation_providers t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
