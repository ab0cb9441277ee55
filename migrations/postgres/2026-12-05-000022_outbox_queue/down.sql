DROP TRIGGER event_outbox_enqueue ON event_outbox;
DROP FUNCTION tg_outbox_enqueue();
ALTER TABLE event_outbox ADD COLUMN fanned_out BOOLEAN NOT NULL DEFAULT true;
UPDATE event_outbox SET fanned_out = false WHERE seq IN (SELECT seq FROM outbox_queue);
CREATE INDEX event_outbox_unfanned ON event_outbox (fanned_out, seq);
DROP TABLE outbox_queue;
