DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE event_outbox;
DROP TABLE webhook_endpoints;
