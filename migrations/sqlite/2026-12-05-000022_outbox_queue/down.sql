DROP TRIGGER event_outbox_enqueue;
ALTER TABLE event_outbox ADD COLUMN fanned_out BOOLEAN NOT NULL DEFAULT 1;
UPDATE event_outbox SET fanned_out = 0 WHERE seq IN (SELECT seq FROM outbox_queue);
CREATE INDEX event_outbox_unfanned ON event_outbox (fanned_out, seq);
DROP TABLE outbox_queue;
