-- The events' chain links and work queues (0021_event_queues.sql says why).
CREATE TABLE event_links (
    seq BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE event_seal_queue (event_id TEXT PRIMARY KEY);
CREATE TABLE event_fan_out_queue (event_id TEXT PRIMARY KEY);

-- Once a statement, however many events it writes (renewals write hundreds).
CREATE FUNCTION events_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_seal_queue (event_id) SELECT id FROM written;
    INSERT INTO event_fan_out_queue (event_id) SELECT id FROM written;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_queued AFTER INSERT ON events
REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION events_queued();
