-- Bank statements imported (1C exchange format): each file once, by its hash.
CREATE TABLE bank_statements (
    id TEXT PRIMARY KEY,
    file_sha256 TEXT NOT NULL UNIQUE,
    -- The statement's own accounts, comma-separated.
    accounts TEXT NOT NULL,
    period_from TEXT,
    period_to TEXT,
    imported_by TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);

-- Each document of a statement and what became of it, in the file's order.
CREATE TABLE bank_statement_lines (
    statement_id TEXT NOT NULL REFERENCES bank_statements (id),
    position BIGINT NOT NULL,
    file_line BIGINT NOT NULL,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    order_date TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    payer_inn TEXT NOT NULL,
    payer_name TEXT NOT NULL,
    payer_account TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL,
    invoice_guid TEXT,
    note TEXT NOT NULL,
    PRIMARY KEY (statement_id, position)
);

-- Each payment order once, whichever statement brought it first (statements of
-- overlapping periods repeat documents).
CREATE TABLE bank_payment_orders (
    order_key TEXT PRIMARY KEY,
    statement_id TEXT NOT NULL REFERENCES bank_statements (id),
    position BIGINT NOT NULL
);

-- A payment order names its invoice by number.
CREATE INDEX invoices_by_number ON invoices (number);
