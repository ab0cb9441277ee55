DROP TRIGGER agents_raise_version;
DROP TRIGGER agent_trust_raise_version;
