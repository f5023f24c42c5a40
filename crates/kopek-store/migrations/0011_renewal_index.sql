-- The scheduler reads the subscriptions still to renew, soonest first; those whose
-- renewal invoice is issued leave this index, so a pass never reads them again
-- (with one index on the end alone, each pass read past every renewed one).
ALTER TABLE subscriptions ADD COLUMN renewal_issued BIGINT NOT NULL DEFAULT 0;
UPDATE subscriptions SET renewal_issued = 1 WHERE EXISTS (SELECT 1 FROM renewals r
    WHERE r.subscription_id = subscriptions.id AND r.period_start = subscriptions.current_period_end);
-- The terms are not indexable by the status index below, so that a planner without
-- statistics (SQLite's) takes this one and its order.
CREATE INDEX subscriptions_to_renew ON subscriptions (current_period_end, id)
    WHERE renewal_issued = 0 AND cancel_at_period_end = 0
    AND status NOT IN ('expired', 'canceled');
-- Ended and reminded subscriptions are read by status, then end.
CREATE INDEX subscriptions_by_status_end ON subscriptions (status, current_period_end, id);
DROP INDEX subscriptions_by_end;
