-- Single-use nonces an X509-SVID's key signs to prove possession (120 s, per account).
CREATE TABLE attestation_nonces (
    nonce TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX attestation_nonces_account ON attestation_nonces (account_id, expires_at);
-- Whether the agent proved its SPIFFE ID (JWT-SVID, or X509-SVID with proof of
-- possession). Only holders are unique; an unproven claim never blocks a proof.
-- Agents registered before proof of possession keep the hold their SVID gave them.
ALTER TABLE agents ADD COLUMN spiffe_held BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE agents SET spiffe_held = (spiffe_id IS NOT NULL AND attestation_type IN ('x509', 'jwt'));
DROP INDEX agents_spiffe_id_unrevoked;
CREATE UNIQUE INDEX agents_spiffe_id_held ON agents (spiffe_id) WHERE spiffe_held AND status <> 'revoked';
CREATE INDEX agents_spiffe_id_claims ON agents (spiffe_id) WHERE spiffe_id IS NOT NULL;
