-- Portable SQL for SQLite and PostgreSQL: ids are TEXT, every integer (booleans
-- as 0/1, money in minor units, timestamps in unix microseconds) is BIGINT.

CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    scope TEXT,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE billing_accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    country_code TEXT NOT NULL,
    currency TEXT NOT NULL,
    active BIGINT NOT NULL,
    balance BIGINT NOT NULL,
    reseller_id TEXT REFERENCES billing_accounts (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX billing_accounts_by_kind ON billing_accounts (kind, id);

CREATE TABLE idempotency_keys (
    caller TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT,
    content_type TEXT,
    body TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (caller, idem_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE outbox_attempts (
    outbox_id TEXT NOT NULL REFERENCES outbox (id),
    attempt BIGINT NOT NULL,
    worker TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    error TEXT,
    PRIMARY KEY (outbox_id, attempt)
);
