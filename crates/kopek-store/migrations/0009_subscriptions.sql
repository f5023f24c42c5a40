-- One subscription per organization and product, made when the first invoice for
-- the product is paid; its current period is the organization's license.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    organization_guid TEXT NOT NULL REFERENCES organizations (guid),
    product_guid TEXT NOT NULL,
    plan_guid TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    period_in_months BIGINT NOT NULL,
    current_period_start BIGINT NOT NULL,
    current_period_end BIGINT NOT NULL,
    status TEXT NOT NULL,
    cancel_at_period_end BIGINT NOT NULL,
    payer_type TEXT NOT NULL,
    payer_guid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (organization_guid, product_guid)
);
CREATE INDEX subscriptions_by_end ON subscriptions (current_period_end, id);

-- The renewal invoice of each subscription period: at most one, whichever process
-- issues it.
CREATE TABLE renewals (
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    period_start BIGINT NOT NULL,
    invoice_guid TEXT NOT NULL REFERENCES invoices (guid),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, period_start)
);

-- The test clock (KOPEK_TEST_MODE only): how far Kopek's time is ahead of the
-- real one, shared by every process on the database. One row, id 1.
CREATE TABLE test_clock (
    id BIGINT PRIMARY KEY,
    offset_micros BIGINT NOT NULL
);
