-- Decisions are made from memory (issue 14). Every change to what they read notifies
-- every instance on this schema's event channel (see tg-store/src/signals.rs), from
-- inside the writing transaction, so the signal is delivered when (and only if) it
-- commits. Server-side: no write can forget it, it costs no extra round trip, and rows
-- edited by hand are heard too. Payloads as tg-service/src/state_signals.rs parses them.
CREATE FUNCTION tg_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER agents_state_changed AFTER UPDATE OR DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION tg_state_changed('agent', 'id');
CREATE TRIGGER agent_trust_state_changed AFTER UPDATE OR DELETE ON agent_trust
    FOR EACH ROW EXECUTE FUNCTION tg_state_changed('agent', 'agent_id');
CREATE TRIGGER accounts_state_changed AFTER UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION tg_state_changed('account', 'id');
CREATE TRIGGER api_keys_state_changed AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION tg_state_changed('key', 'id');
CREATE TRIGGER policy_documents_state_changed AFTER INSERT OR UPDATE OR DELETE ON policy_documents
    FOR EACH ROW EXECUTE FUNCTION tg_state_changed('policy');
