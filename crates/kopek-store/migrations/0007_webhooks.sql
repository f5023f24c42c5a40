-- The event feed: each event names its subject's type, the tenant whose keys may
-- read it, and carries the subject as its API showed it when the event happened.
ALTER TABLE events ADD COLUMN subject_type TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN tenant_type TEXT;
ALTER TABLE events ADD COLUMN tenant_id TEXT;
ALTER TABLE events ADD COLUMN data TEXT;
CREATE INDEX events_by_tenant ON events (tenant_type, tenant_id, id);

-- Where events are delivered. `scope_type` is all, reseller or organization; the
-- signing keys are kept as the server uses them (base64), the previous one until
-- `previous_secret_until` after a rotation.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    scope_type TEXT NOT NULL,
    scope_id TEXT,
    description TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_success_at BIGINT,
    disabled_reason TEXT
);
CREATE INDEX webhook_endpoints_by_scope ON webhook_endpoints (scope_type, scope_id);

-- One event for one endpoint, made in the transaction of the event: its own queue
-- with leases (as the outbox), so a slow endpoint holds only its own rows.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id TEXT NOT NULL REFERENCES events (id),
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    give_up_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    latency_ms BIGINT NOT NULL,
    http_status BIGINT,
    error TEXT,
    response_excerpt TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
