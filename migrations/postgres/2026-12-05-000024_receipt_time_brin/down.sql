DROP INDEX receipts_ts;
CREATE INDEX receipts_ts ON receipts (ts);
