-- nhiscope store, schema version 4: normalised log events (`nhiscope ingest`) and the records
-- an ingest run quarantined. `events` mirrors engine/src/model/schema.rs exactly (the test
-- `store_tables_match_arrow_schemas` checks it). Timestamps are naive UTC.
--
-- Events are append-only: every ingest run is a scan of source `logs` whose one collector is
-- named `ingest:<scan id>`, unique to the run, so `collections_at` keeps every run in force.
-- An event is stored once per (provider, event_id, event_time): later runs skip what is already stored.

CREATE TABLE events (
    scan_id BIGINT NOT NULL, collector VARCHAR NOT NULL, provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    event_time TIMESTAMP NOT NULL,
    source_format VARCHAR NOT NULL,
    event_source VARCHAR,
    action VARCHAR NOT NULL,
    actor_type VARCHAR,
    actor VARCHAR,
    actor_id VARCHAR,
    credential_id VARCHAR,
    credential_kind VARCHAR,
    session_issuer VARCHAR,
    chain VARCHAR[] NOT NULL,
    target VARCHAR,
    region VARCHAR,
    source_ip VARCHAR,
    user_agent VARCHAR,
    interactive BOOLEAN,
    outcome VARCHAR NOT NULL,
    error_code VARCHAR,
    request_id VARCHAR,
    issued_credential_id VARCHAR,
    raw_ref VARCHAR NOT NULL,
    attributes VARCHAR
);

-- Records an ingest run could not normalise: where they are and why (never their content,
-- which may hold a secret).
CREATE TABLE ingest_quarantine (
    scan_id BIGINT NOT NULL,
    file VARCHAR NOT NULL,
    line BIGINT NOT NULL,
    source_format VARCHAR,
    reason VARCHAR NOT NULL
);

CREATE VIEW current_events AS SELECT t.* FROM events t SEMI JOIN current_collections c ON t.scan_id = c.scan_id AND t.collector = c.collector;
CREATE MACRO events_as_of(ts) AS TABLE SELECT t.* FROM events t SEMI JOIN collections_at(ts, NULL) c ON t.scan_id = c.scan_id AND t.collector = c.collector;
