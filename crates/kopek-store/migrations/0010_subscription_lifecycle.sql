-- Who is told about an organization's renewals, and in which language.
ALTER TABLE organizations ADD COLUMN billing_email TEXT;
ALTER TABLE organizations ADD COLUMN language TEXT NOT NULL DEFAULT 'ru';

-- A downgrade waits for the period's end: the next renewal is for this plan and
-- quantity.
ALTER TABLE subscriptions ADD COLUMN next_plan_guid TEXT;
ALTER TABLE subscriptions ADD COLUMN next_quantity BIGINT;

-- Paying an invoice finds out whether it renews a period.
CREATE INDEX renewals_by_invoice ON renewals (invoice_guid);

-- The reminders sent about a renewal invoice (3 and 1 days before the end): each
-- once, whichever process sends it.
CREATE TABLE renewal_reminders (
    invoice_guid TEXT NOT NULL REFERENCES invoices (guid),
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (invoice_guid, kind)
);

-- The invoice of an upgrade: the prorated difference for the rest of the period
-- ending at period_end. Paying it switches the subscription to the invoice's plan
-- and quantity.
CREATE TABLE plan_changes (
    invoice_guid TEXT PRIMARY KEY REFERENCES invoices (guid),
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    period_end BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Every change to a subscription is written only over the version it was read at,
-- so of two racing changes (a payment, the scheduler, the operator) one wins and
-- the other reads again.
ALTER TABLE subscriptions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
