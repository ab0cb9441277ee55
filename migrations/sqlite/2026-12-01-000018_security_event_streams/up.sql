-- Shared Signals streams (issue 17): an endpoint with a stream configuration (JSON:
-- events_requested, description) is sent Security Event Tokens instead of Standard
-- Webhooks. NULL: a webhook endpoint.
ALTER TABLE webhook_endpoints ADD COLUMN stream TEXT;
