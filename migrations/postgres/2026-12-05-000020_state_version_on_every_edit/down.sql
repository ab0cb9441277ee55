DROP TRIGGER agents_raise_version ON agents;
DROP FUNCTION tg_agent_edited();
DROP TRIGGER agent_trust_raise_version ON agent_trust;
DROP FUNCTION tg_raise_state_version();
