ALTER TABLE agent_trust DROP COLUMN state_version;
