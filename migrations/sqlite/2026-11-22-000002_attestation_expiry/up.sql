ALTER TABLE agents ADD COLUMN attestation_expires_at BIGINT;
