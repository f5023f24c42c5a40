-- The console overview's sums per settled UTC day (days since the epoch), kept so
-- that the overview reads a few thousand rows rather than a year of invoices. A
-- day is settled from the day after tomorrow on; only a refund changes one after
-- that, and it drops the day's rows so they are summed again.
CREATE TABLE daily_totals (
    day BIGINT NOT NULL,
    -- payments (amount per currency), issued and paid (invoice counts), and
    -- paid_by_period (totals of paid, unrefunded invoices per period and currency)
    kind TEXT NOT NULL,
    period_in_months BIGINT NOT NULL,
    currency TEXT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (day, kind, period_in_months, currency)
);

-- The days whose sums are in daily_totals (a day with nothing has no rows there).
CREATE TABLE daily_totals_days (
    day BIGINT PRIMARY KEY
);

-- One row that summing and dropping a day both lock first, so a day dropped by a
-- refund is never written back from a read taken before the refund.
CREATE TABLE daily_totals_lock (
    id INTEGER PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO daily_totals_lock (id, generation) VALUES (1, 0);

-- The settled days and the live ones are found by time, across organizations.
CREATE INDEX invoices_by_created_at ON invoices (created_at);
CREATE INDEX invoices_by_paid_at ON invoices (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX payments_by_created_at ON payments (created_at);
