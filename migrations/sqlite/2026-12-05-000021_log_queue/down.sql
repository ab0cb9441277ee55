ALTER TABLE receipts ADD COLUMN log_index BIGINT;
UPDATE receipts SET log_index = (
    SELECT e.log_index FROM log_entries e
    WHERE e.agent_id = receipts.agent_id AND e.seq = receipts.seq
);
CREATE INDEX receipts_unlogged ON receipts (ts, agent_id, seq) WHERE log_index IS NULL;
DROP TABLE log_queue;
