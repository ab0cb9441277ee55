ALTER TABLE delegations DROP COLUMN accepted_at;
ALTER TABLE agent_trust DROP COLUMN weighted_witnessed_violation;
ALTER TABLE agent_trust DROP COLUMN weighted_proven;
ALTER TABLE agent_trust DROP COLUMN delegated;
ALTER TABLE agent_trust DROP COLUMN witnessed;
ALTER TABLE agent_trust DROP COLUMN self_reported;
DROP INDEX receipts_witness_token;
ALTER TABLE receipts DROP COLUMN witness_token;
ALTER TABLE receipts DROP COLUMN witness_account;
