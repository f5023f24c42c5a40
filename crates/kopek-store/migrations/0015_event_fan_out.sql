-- Events are fanned out to webhook endpoints by the webhook worker, not in the
-- event's own transaction, so a request never waits for the endpoint look-up.
-- The events still to fan out sit in an index of their own; those written before
-- were fanned out when they were written.
ALTER TABLE events ADD COLUMN fanned_out BIGINT NOT NULL DEFAULT 0;
UPDATE events SET fanned_out = 1;
CREATE INDEX events_to_fan_out ON events (id) WHERE fanned_out = 0;
