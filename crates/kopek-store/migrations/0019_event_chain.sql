-- Events join a hash chain of their own, as the audit log's entries do: each
-- sealed event keeps its place in the chain and the SHA-256 of the event sealed
-- before it together with its own content. Events are sealed shortly after they
-- are written (by the scheduler, in batches, in the order their transactions
-- committed), so the chain adds nothing to the transactions that write them.
ALTER TABLE events ADD COLUMN chain_seq BIGINT;
ALTER TABLE events ADD COLUMN chain_prev TEXT;
ALTER TABLE events ADD COLUMN chain_hash TEXT;
CREATE UNIQUE INDEX events_by_chain_seq ON events (chain_seq);
CREATE INDEX events_unsealed ON events (id) WHERE chain_seq IS NULL;

CREATE TABLE event_chain_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    verified_seq BIGINT NOT NULL,
    verified_at BIGINT
);
INSERT INTO event_chain_head (id, seq, hash, verified_seq, verified_at)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0, NULL);
