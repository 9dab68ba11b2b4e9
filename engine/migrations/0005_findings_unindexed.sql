-- Findings without the primary-key index. An ART index over millions of finding ids cost
-- gigabytes of memory and most of the time of recording an evaluation at a million
-- identities; ids stay unique through the lifecycle's set-based writes (update the findings
-- seen again, insert the others), and lookups by id are scans DuckDB does in milliseconds.
CREATE TABLE findings_v5 (
    finding_id VARCHAR NOT NULL,
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

INSERT INTO findings_v5 SELECT * FROM findings;
DROP TABLE findings;
ALTER TABLE findings_v5 RENAME TO findings;
