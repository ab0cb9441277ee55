-- The state signal (migration 000016) reads the changed row's id as a column instead of
-- converting the whole row to `jsonb` for it. The conversion was most of the trigger's
-- cost: every record commit updates `agent_trust`, a wide row, and fires it once
-- (docs/PERFORMANCE.md). A key column other than `id` and `agent_id` still goes through
-- `jsonb`.
CREATE OR REPLACE FUNCTION tg_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_id text;
BEGIN
    IF TG_NARGS < 2 THEN
        row_id := NULL;
    ELSIF TG_ARGV[1] = 'agent_id' THEN
        IF TG_OP = 'DELETE' THEN row_id := OLD.agent_id; ELSE row_id := NEW.agent_id; END IF;
    ELSIF TG_ARGV[1] = 'id' THEN
        IF TG_OP = 'DELETE' THEN row_id := OLD.id; ELSE row_id := NEW.id; END IF;
    ELSIF TG_OP = 'DELETE' THEN
        row_id := to_jsonb(OLD) ->> TG_ARGV[1];
    ELSE
        row_id := to_jsonb(NEW) ->> TG_ARGV[1];
    END IF;
    PERFORM pg_notify('tg_events_' || left(md5(current_schema()), 16),
                      'state:' || TG_ARGV[0] || coalesce(':' || row_id, ''));
    RETURN NULL;
END
$$;
