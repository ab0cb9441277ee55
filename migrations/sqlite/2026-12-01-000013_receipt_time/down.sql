DROP INDEX receipts_ts;
