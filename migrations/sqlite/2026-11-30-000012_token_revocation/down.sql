ALTER TABLE agents DROP COLUMN token_epoch;
DROP TABLE revoked_tokens;
