ALTER TABLE agents DROP COLUMN attestation_expires_at;
