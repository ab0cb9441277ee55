-- The fan-out's queue (docs/ARCHITECTURE.md, "Webhooks"): one row per outbox event not yet
-- fanned out, added by a trigger with the event (its `seq` is the database's) and deleted
-- by the fan-out pass that routes it. It replaces `event_outbox.fanned_out` and its index
-- (as on PostgreSQL, where marking rewrote the event's row).
CREATE TABLE outbox_queue (seq INTEGER PRIMARY KEY NOT NULL);
INSERT INTO outbox_queue (seq) SELECT seq FROM event_outbox WHERE NOT fanned_out;
DROP INDEX event_outbox_unfanned;
ALTER TABLE event_outbox DROP COLUMN fanned_out;

CREATE TRIGGER event_outbox_enqueue AFTER INSERT ON event_outbox
BEGIN
    INSERT INTO outbox_queue (seq) VALUES (NEW.seq);
END;
