-- Users provisioned by outside billing systems, and counters for integer ids.

CREATE TABLE sequences (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    login TEXT NOT NULL,
    login_key TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    name TEXT,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    billing_info TEXT NOT NULL,
    billing_properties TEXT NOT NULL,
    permissions TEXT NOT NULL,
    can_update_password BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
-- A login is unique among users that are not deleted; a deleted login may return.
CREATE UNIQUE INDEX users_live_login ON users (login_key) WHERE deleted_at IS NULL;
