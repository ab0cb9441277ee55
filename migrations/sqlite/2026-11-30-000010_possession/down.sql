DROP INDEX agents_spiffe_id_claims;
DROP INDEX agents_spiffe_id_held;
CREATE UNIQUE INDEX agents_spiffe_id_unrevoked ON agents (spiffe_id) WHERE spiffe_id IS NOT NULL AND status <> 'revoked';
ALTER TABLE agents DROP COLUMN spiffe_held;
DROP TABLE attestation_nonces;
