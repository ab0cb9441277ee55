-- Who stands behind each receipt: a witnessing account and the agent's token it presented
-- (both NULL for a self-reported receipt).
ALTER TABLE receipts ADD COLUMN witness_account TEXT;
ALTER TABLE receipts ADD COLUMN witness_token TEXT;
-- How many reports one witness made with one token (bounded per token).
CREATE INDEX receipts_witness_token ON receipts (agent_id, witness_token, witness_account)
    WHERE witness_token IS NOT NULL;
-- Evidence by provenance. Everything recorded before provenance existed was reported by
-- the agent's own account (or its delegators' unaccepted outcomes): self.
ALTER TABLE agent_trust ADD COLUMN self_reported BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_trust ADD COLUMN witnessed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_trust ADD COLUMN delegated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_trust ADD COLUMN weighted_proven DOUBLE NOT NULL DEFAULT 0;
ALTER TABLE agent_trust ADD COLUMN weighted_witnessed_violation DOUBLE NOT NULL DEFAULT 0;
UPDATE agent_trust SET self_reported = successes + failures + violations;
-- A delegation to another account's agent counts once that account accepts it.
ALTER TABLE delegations ADD COLUMN accepted_at BIGINT;
