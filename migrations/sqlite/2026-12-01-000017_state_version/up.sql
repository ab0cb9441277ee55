-- The agent's state version (issue 14): raised by every write that changes what decisions
-- read of the agent (its row or its score state), in the writing transaction. Answers
-- carry it; a caller may demand an answer decided on at least a version it saw.
ALTER TABLE agent_trust ADD COLUMN state_version BIGINT NOT NULL DEFAULT 0;
