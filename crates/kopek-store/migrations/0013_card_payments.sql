-- Card payments through an acquirer (YooKassa): each attempt to pay an invoice,
-- from before the acquirer is asked (its id is the Idempotence-Key, so a request
-- whose answer was lost is sent again as the same payment) to what the
-- acquirer's API last said about it.
CREATE TABLE card_payments (
    id TEXT PRIMARY KEY,
    invoice_guid TEXT NOT NULL REFERENCES invoices (guid),
    acquirer TEXT NOT NULL,
    -- creating (asked, no answer yet), pending, succeeded, canceled, or returned
    -- (money taken for an invoice that could no longer take it, given back).
    status TEXT NOT NULL,
    acquirer_payment_id TEXT UNIQUE,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    receipt_email TEXT NOT NULL,
    return_url TEXT NOT NULL,
    confirmation_url TEXT,
    cancel_party TEXT,
    cancel_reason TEXT,
    refund_id TEXT,
    refund_status TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- 1 while the attempt is open (creating or pending); at most one an invoice, so
    -- two clicks never make two payments.
    open BIGINT NOT NULL
);
CREATE UNIQUE INDEX card_payments_one_open ON card_payments (invoice_guid) WHERE open = 1;
CREATE INDEX card_payments_by_invoice ON card_payments (invoice_guid, created_at);
