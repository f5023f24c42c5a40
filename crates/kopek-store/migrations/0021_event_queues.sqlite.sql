-- The events' chain links and work queues (0021_event_queues.sql says why), each
-- one b-tree here: the queues are keyed by the event alone (WITHOUT ROWID) and a
-- link's place is its rowid, as every page a commit touches goes to the WAL again.
CREATE TABLE event_links (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE event_seal_queue (event_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE event_fan_out_queue (event_id TEXT PRIMARY KEY) WITHOUT ROWID;

CREATE TRIGGER events_queued AFTER INSERT ON events
BEGIN
    INSERT INTO event_seal_queue (event_id) VALUES (NEW.id);
    INSERT INTO event_fan_out_queue (event_id) VALUES (NEW.id);
END;
