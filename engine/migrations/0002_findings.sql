-- nhiscope store, schema version 2: finding lifecycle, suppressions, evaluation history, and
-- the tables each successful collection wrote (so a finding resolves only after a scan in which
-- every collector feeding its rule succeeded).

ALTER TABLE scan_collectors ADD COLUMN tables VARCHAR[];

CREATE SEQUENCE evaluation_ids START 1;

CREATE TABLE evaluations (
    evaluation_id BIGINT PRIMARY KEY,
    evaluated_at TIMESTAMP NOT NULL,
    rules BIGINT NOT NULL,
    failed_rules BIGINT NOT NULL,
    findings BIGINT NOT NULL,
    opened BIGINT NOT NULL,
    reopened BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    tool_version VARCHAR NOT NULL,
    errors VARCHAR
);

CREATE TABLE findings (
    finding_id VARCHAR PRIMARY KEY,
    rule_id VARCHAR NOT NULL,
    owasp VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    tenant VARCHAR NOT NULL,
    resource VARCHAR NOT NULL,
    identity_id VARCHAR,
    message VARCHAR NOT NULL,
    evidence VARCHAR,
    status VARCHAR NOT NULL,           -- open | resolved (suppression is an overlay)
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    first_evaluation BIGINT NOT NULL,
    last_evaluation BIGINT NOT NULL
);

CREATE SEQUENCE suppression_ids START 1;

CREATE TABLE suppressions (
    suppression_id BIGINT PRIMARY KEY,
    finding_id VARCHAR,                -- one finding, or
    rule_id VARCHAR,                   -- a rule id (or '*') and
    resource VARCHAR,                  -- a resource pattern (`*` wildcards)
    reason VARCHAR NOT NULL,
    author VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    origin VARCHAR NOT NULL,           -- cli | config:<file>
    revoked_at TIMESTAMP,
    revoked_by VARCHAR
);

CREATE TABLE finding_events (
    finding_id VARCHAR NOT NULL,
    event_at TIMESTAMP NOT NULL,
    event VARCHAR NOT NULL,            -- opened | reopened | resolved | suppressed | unsuppressed
    actor VARCHAR NOT NULL,
    detail VARCHAR
);
