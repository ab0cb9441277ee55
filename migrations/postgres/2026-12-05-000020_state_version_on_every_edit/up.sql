-- Every change to an agent's rows raises its state version, whoever makes it (issue 14).
-- The service raises it in each writing transaction; these triggers raise it for an update
-- that did not (an edit by hand). A batch of receipts decided from an instance's memory of
-- the agent commits only while the version it began from is current, so no edit of the
-- agent's rows can go unseen by it.
CREATE FUNCTION tg_raise_state_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.state_version := OLD.state_version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER agent_trust_raise_version BEFORE UPDATE ON agent_trust
    FOR EACH ROW WHEN (NEW.state_version = OLD.state_version)
    EXECUTE FUNCTION tg_raise_state_version();

CREATE FUNCTION tg_agent_edited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agent_trust SET state_version = state_version + 1 WHERE agent_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER agents_raise_version AFTER UPDATE ON agents
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tg_agent_edited();
