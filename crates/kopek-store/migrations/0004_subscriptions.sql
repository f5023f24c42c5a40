-- Catalog versions, organizations and their members, sign-in sessions, invoices,
-- payments and licenses.

CREATE TABLE catalog_versions (
    version BIGINT PRIMARY KEY,
    document TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE organizations (
    guid TEXT PRIMARY KEY,
    alias TEXT NOT NULL UNIQUE,
    company_name TEXT NOT NULL,
    inn TEXT NOT NULL,
    kpp TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE organization_members (
    organization_guid TEXT NOT NULL REFERENCES organizations (guid),
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (organization_guid, user_id)
);
CREATE INDEX organization_members_by_user ON organization_members (user_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE sign_in_failures (
    login_key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_by_login ON sign_in_failures (login_key, at);

CREATE TABLE invoices (
    guid TEXT PRIMARY KEY,
    organization_guid TEXT NOT NULL REFERENCES organizations (guid),
    seq BIGINT NOT NULL,
    number TEXT NOT NULL,
    catalog_version BIGINT NOT NULL REFERENCES catalog_versions (version),
    product_guid TEXT NOT NULL,
    plan_guid TEXT NOT NULL,
    period_in_months BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    company TEXT NOT NULL,
    positions TEXT NOT NULL,
    currency TEXT NOT NULL,
    total BIGINT NOT NULL,
    vat BIGINT NOT NULL,
    vat_basis_points BIGINT NOT NULL,
    status TEXT NOT NULL,
    payer_type TEXT NOT NULL,
    payer_guid TEXT NOT NULL,
    meta TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    paid_at BIGINT,
    UNIQUE (organization_guid, seq)
);
CREATE INDEX invoices_by_created ON invoices (organization_guid, created_at, guid);
CREATE INDEX invoices_by_updated ON invoices (organization_guid, updated_at);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    invoice_guid TEXT NOT NULL REFERENCES invoices (guid),
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    reference TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX payments_by_invoice ON payments (invoice_guid);

CREATE TABLE licenses (
    organization_guid TEXT NOT NULL REFERENCES organizations (guid),
    product_guid TEXT NOT NULL,
    plan_guid TEXT NOT NULL,
    plan_name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (organization_guid, product_guid)
);
