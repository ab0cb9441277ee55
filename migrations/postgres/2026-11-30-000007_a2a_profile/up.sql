-- The agent's A2A endpoint and self-description (JSON), behind its public agent card.
ALTER TABLE agents ADD COLUMN a2a TEXT;
