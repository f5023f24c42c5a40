-- Sign-in attempts are counted before the password is verified: a row per attempt
-- in flight or failed, so concurrent guesses cannot all pass the check at once.
DROP TABLE sign_in_failures;
CREATE TABLE sign_in_attempts (
    id TEXT PRIMARY KEY,
    login_key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX sign_in_attempts_by_login ON sign_in_attempts (login_key, at);

-- The reseller that serves an organization: the one billing account other than the
-- organization's own that its invoices may name as payer.
ALTER TABLE organizations ADD COLUMN reseller_id TEXT REFERENCES billing_accounts (id);
