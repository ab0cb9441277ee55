-- GET /stats counts the receipts of the last 24 hours (V2's recent_actions).
CREATE INDEX receipts_ts ON receipts (ts);
