CREATE OR REPLACE FUNCTION tg_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_id text := CASE
        WHEN TG_NARGS < 2 THEN NULL
        WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ->> TG_ARGV[1]
        ELSE to_jsonb(NEW) ->> TG_ARGV[1]
    END;
BEGIN
    PERFORM pg_notify('tg_events_' || left(md5(current_schema()), 16),
                      'state:' || TG_ARGV[0] || coalesce(':' || row_id, ''));
    RETURN NULL;
END
$$;
