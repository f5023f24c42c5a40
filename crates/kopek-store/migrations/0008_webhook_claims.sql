-- Deliveries are claimed one endpoint at a time (so a slow endpoint holds only its
-- own share of the worker), oldest due first: the due index leads with the endpoint.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, state, next_attempt_at);
