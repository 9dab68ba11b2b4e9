-- nhiscope store, schema version 3: the dashboard's accounts, sessions, API tokens and the
-- audit trail of web actions. Secrets (passwords, session ids, API tokens) are never stored:
-- passwords as argon2 PHC strings, session ids and tokens as SHA-256 hex digests.

CREATE TABLE web_users (
    name VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,    -- argon2id PHC string
    role VARCHAR NOT NULL,             -- viewer | admin
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE web_sessions (
    session_hash VARCHAR PRIMARY KEY,  -- sha256 of the cookie value
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    token_hash VARCHAR PRIMARY KEY,    -- sha256 of the token
    user_name VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE web_audit (
    event_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,           -- login | login_failed | logout | suppress | unsuppress | token
    target VARCHAR,
    detail VARCHAR,
    operation_id VARCHAR
);
