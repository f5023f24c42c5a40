-- The audit log: every change made through the admin API (later the console too),
-- who made it, from which address, and the object as answered before and after.
-- Each entry keeps the SHA-256 of the entry before it together with its own
-- content, so an entry changed or removed behind Kopek's back breaks the chain,
-- which `kopek audit verify` walks.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    address TEXT,
    action TEXT NOT NULL,
    status BIGINT NOT NULL,
    before_state TEXT,
    after_state TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- The chain's end (the last entry's position and hash), and how far the chain was
-- last found whole. An append updates this one row first, so appenders take turns
-- (several processes on PostgreSQL included) and the chain never forks.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    verified_seq BIGINT NOT NULL,
    verified_at BIGINT
);
INSERT INTO audit_head (id, seq, hash, verified_seq, verified_at)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0, NULL);
