-- The Ed25519 keys offline license tokens are signed with: one active (the newest),
-- and the retired ones, published until the last token each signed has expired.
-- The private key is kept as the server needs it to sign (PKCS#8, base64), like
-- webhook secrets: protect the database's backups.
CREATE TABLE license_keys (
    kid TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    signed_until BIGINT NOT NULL
);
CREATE UNIQUE INDEX license_keys_one_active ON license_keys (active) WHERE active = 1;

-- Tokens cut short (a refund, a cancel now): listed until they would have expired.
CREATE TABLE license_revocations (
    token_id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    reason TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX license_revocations_by_expiry ON license_revocations (expires_at);

-- The invoice whose payment bought the current period: refunding it takes the
-- period back.
ALTER TABLE subscriptions ADD COLUMN period_invoice_guid TEXT;
