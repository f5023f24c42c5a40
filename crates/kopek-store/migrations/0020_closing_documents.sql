-- Closing documents (УПД and their corrections, УКД) made for paid invoices.

-- The organization's details a closing document needs beyond its company.
ALTER TABLE organizations ADD COLUMN legal_address TEXT;
ALTER TABLE organizations ADD COLUMN edo_id TEXT;

-- What is still to be documented of a paid invoice: its period, split as its
-- product's schedule says, and the next part the scheduler issues when due.
CREATE TABLE closing_schedules (
    invoice_guid TEXT PRIMARY KEY REFERENCES invoices (guid),
    schedule TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    paid_at BIGINT NOT NULL,
    parts BIGINT NOT NULL,
    next_part BIGINT NOT NULL,
    -- NULL once every part is issued or the invoice was refunded.
    next_due BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX closing_schedules_due ON closing_schedules (next_due);

CREATE TABLE closing_documents (
    id TEXT PRIMARY KEY,
    -- upd (a document) or ukd (a correction of one)
    kind TEXT NOT NULL,
    number TEXT NOT NULL UNIQUE,
    year BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    invoice_guid TEXT NOT NULL REFERENCES invoices (guid),
    organization_guid TEXT NOT NULL REFERENCES organizations (guid),
    part BIGINT NOT NULL,
    -- 0 for the document, 1 for its correction: each is made once.
    revision BIGINT NOT NULL,
    corrects TEXT REFERENCES closing_documents (id),
    service_start BIGINT NOT NULL,
    service_end BIGINT NOT NULL,
    -- The document's date (YYYY-MM-DD): the day the service is rendered.
    issued_on TEXT NOT NULL,
    currency TEXT NOT NULL,
    -- Lines with their amounts (minor units); for a correction, before and after.
    lines TEXT NOT NULL,
    total BIGINT NOT NULL,
    vat BIGINT NOT NULL,
    vat_basis_points BIGINT NOT NULL,
    -- The seller and the buyer as they were when the document was made.
    seller TEXT NOT NULL,
    buyer TEXT NOT NULL,
    -- The GUID of its XML's file id (ИдФайл), which also names the parties.
    file_guid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (invoice_guid, part, revision),
    UNIQUE (year, seq)
);
CREATE INDEX closing_documents_by_organization ON closing_documents (organization_guid, created_at);
CREATE INDEX closing_documents_by_created_at ON closing_documents (created_at);
