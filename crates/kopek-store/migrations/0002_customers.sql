-- Customers of resellers, their invitations, long-running operations and events.

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    reseller_id TEXT NOT NULL REFERENCES billing_accounts (id),
    billing_account_id TEXT NOT NULL UNIQUE REFERENCES billing_accounts (id),
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    person TEXT NOT NULL,
    invitation_email TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX customers_by_reseller ON customers (reseller_id, id);
CREATE INDEX billing_accounts_by_reseller ON billing_accounts (reseller_id, id);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    token_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    superseded_at BIGINT,
    delivery_state TEXT NOT NULL,
    delivered_at BIGINT,
    delivery_error TEXT
);
CREATE INDEX invitations_by_customer ON invitations (customer_id, created_at);

CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    done BIGINT NOT NULL,
    metadata TEXT NOT NULL,
    response TEXT,
    error TEXT,
    reseller_id TEXT
);

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_by_subject ON events (subject, id);
