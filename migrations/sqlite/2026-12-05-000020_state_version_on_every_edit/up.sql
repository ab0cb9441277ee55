-- Every change to an agent's rows raises its state version, whoever makes it (issue 14).
-- The service raises it in each writing transaction; these triggers raise it for an update
-- that did not (an edit by hand, or from another program). A batch of receipts decided
-- from the instance's memory of the agent commits only while the version it began from is
-- current, so no edit of the agent's rows can go unseen by it.
CREATE TRIGGER agent_trust_raise_version AFTER UPDATE ON agent_trust
    FOR EACH ROW WHEN NEW.state_version = OLD.state_version
BEGIN
    UPDATE agent_trust SET state_version = OLD.state_version + 1 WHERE agent_id = NEW.agent_id;
END;

CREATE TRIGGER agents_raise_version AFTER UPDATE ON agents
    FOR EACH ROW
BEGIN
    UPDATE agent_trust SET state_version = state_version + 1 WHERE agent_id = NEW.id;
END;
