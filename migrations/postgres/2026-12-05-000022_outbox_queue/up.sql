-- The fan-out's queue (docs/ARCHITECTURE.md, "Webhooks"): one row per outbox event not yet
-- fanned out, added by a trigger in the event's own statement (its `seq` is the
-- database's) and deleted by the fan-out pass that routes it. It replaces
-- `event_outbox.fanned_out` and its index: marking an event rewrote its row, payload and
-- all, with a new entry in each of the table's three indexes, where a queue row's delete
-- touches no index.
CREATE TABLE outbox_queue (seq BIGINT PRIMARY KEY NOT NULL);
INSERT INTO outbox_queue (seq) SELECT seq FROM event_outbox WHERE NOT fanned_out;
DROP INDEX event_outbox_unfanned;
ALTER TABLE event_outbox DROP COLUMN fanned_out;

CREATE FUNCTION tg_outbox_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_queue (seq) SELECT seq FROM added;
    RETURN NULL;
END
$$;

CREATE TRIGGER event_outbox_enqueue AFTER INSERT ON event_outbox
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION tg_outbox_enqueue();
