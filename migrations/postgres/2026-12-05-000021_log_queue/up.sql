-- The sequencer's queue (docs/LOG.md): one row per receipt not yet in the log, written in
-- the receipt's own transaction and deleted in the one that integrates it. It replaces
-- `receipts.log_index` and its partial index: setting that column rewrote every receipt a
-- second time (an indexed column's update, never in place), with a new entry in each of
-- the table's indexes. A receipt's log index is now read from `log_entries`.
CREATE TABLE log_queue (
    ts BIGINT NOT NULL,
    agent_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (ts, agent_id, seq)
);
INSERT INTO log_queue (ts, agent_id, seq)
    SELECT ts, agent_id, seq FROM receipts WHERE log_index IS NULL;
DROP INDEX receipts_unlogged;
ALTER TABLE receipts DROP COLUMN log_index;
