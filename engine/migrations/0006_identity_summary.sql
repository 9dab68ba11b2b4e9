-- nhiscope store, schema version 6: the dashboard's per-identity summary of the current
-- snapshot, derived (never a source of truth) and rebuilt after each scan and evaluation
-- (`engine/src/store/summary.rs`). `identity_summary_state` records what it was built from;
-- readers compare that fingerprint with the store and fall back to the aggregate-first path
-- when it does not match.

CREATE TABLE identity_summary (
    provider VARCHAR NOT NULL,
    tenant VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    identity_id VARCHAR NOT NULL,
    unique_id VARCHAR,
    created BIGINT,                    -- epoch micros
    last_used BIGINT,                  -- identity's or any credential's, epoch micros
    active_keys BIGINT NOT NULL,
    oldest_key BIGINT,                 -- creation of the oldest active access key, epoch micros
    owners VARCHAR,                    -- owner candidates, ', '-joined
    open_findings BIGINT NOT NULL,     -- open and not suppressed when built
    max_rank BIGINT,                   -- worst open severity: 0 info .. 4 critical
    -- Position in each sort order of the inventory (ties broken by tenant, identity id).
    r_name BIGINT NOT NULL,
    r_kind BIGINT NOT NULL,
    r_created BIGINT NOT NULL,
    r_last_used BIGINT NOT NULL,
    r_key_age BIGINT NOT NULL,
    r_findings BIGINT NOT NULL
);

-- Where the identity page's rows are: row ids in the model tables (of the current snapshot,
-- or of every scan for its history), with their counts checked on read (a row id list that no
-- longer matches is ignored). Stored in `key_hash` order: DuckDB's zone maps keep only a short
-- prefix of a string, too short to tell ARNs apart, so lookups go by the hash.
CREATE TABLE identity_rows (
    key_hash UBIGINT NOT NULL,         -- hash(tenant, identity_id)
    tenant VARCHAR NOT NULL,
    identity_id VARCHAR NOT NULL,
    identity_rowids BIGINT[],
    history_identity_rowids BIGINT[],
    history_credential_rowids BIGINT[],
    credential_rowids BIGINT[],
    grant_rowids BIGINT[],
    trust_rowids BIGINT[],
    ownership_rowids BIGINT[],
    finding_rowids BIGINT[]
);

-- Credential id to holder, in `id_hash` order (access-key-id search).
CREATE TABLE credential_lookup (
    id_hash UBIGINT NOT NULL,          -- hash(credential_id)
    credential_id VARCHAR NOT NULL,
    tenant VARCHAR NOT NULL,
    identity_id VARCHAR NOT NULL
);

CREATE TABLE identity_summary_state (
    build_id BIGINT NOT NULL,
    fingerprint VARCHAR NOT NULL,
    built_now BIGINT NOT NULL,         -- the `now` suppressions were judged at
    built_at TIMESTAMP NOT NULL,
    identities BIGINT NOT NULL,
    selection VARCHAR NOT NULL         -- the current snapshot: 'scan_id:collector', ','-joined
);
