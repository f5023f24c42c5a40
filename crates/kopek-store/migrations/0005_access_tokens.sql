-- Short-lived access tokens exchanged for an API key (IamTokenService.Create).

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);
