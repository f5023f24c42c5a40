-- The people who run Kopek through its console, apart from API keys. An operator
-- is made with a one-time setup link (its token's hash kept until used) and signs
-- in with a password (argon2id). Sessions keep only their token's hash.
CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT,
    setup_token_hash TEXT UNIQUE,
    setup_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);

CREATE TABLE operator_sessions (
    id TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    token_hash TEXT NOT NULL UNIQUE,
    address TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX operator_sessions_by_operator ON operator_sessions (operator_id);
