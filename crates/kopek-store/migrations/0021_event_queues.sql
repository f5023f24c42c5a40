-- (After the tables and the trigger of 0021_event_queues.<backend>.sql.)
-- An event was written three times: made, then marked fanned out, then sealed,
-- each a new version of a wide row (the subject's data, the payload, six indexes).
-- The chain's links and the work still owed on an event now live in narrow tables
-- of their own, and the event row is written once. A trigger queues each new
-- event for the sealer and the fan-out, so writing one stays a single statement.
INSERT INTO event_links (seq, event_id, prev_hash, hash)
SELECT chain_seq, id, chain_prev, chain_hash FROM events WHERE chain_seq IS NOT NULL;
INSERT INTO event_seal_queue (event_id) SELECT id FROM events WHERE chain_seq IS NULL;
INSERT INTO event_fan_out_queue (event_id) SELECT id FROM events WHERE fanned_out = 0;

DROP INDEX events_by_chain_seq;
DROP INDEX events_unsealed;
DROP INDEX events_to_fan_out;
ALTER TABLE events DROP COLUMN chain_seq;
ALTER TABLE events DROP COLUMN chain_prev;
ALTER TABLE events DROP COLUMN chain_hash;
ALTER TABLE events DROP COLUMN fanned_out;
