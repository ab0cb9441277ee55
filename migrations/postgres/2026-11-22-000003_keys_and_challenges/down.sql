DROP TABLE challenges;
ALTER TABLE agents DROP COLUMN key_verified_at;
ALTER TABLE agents DROP COLUMN public_key;
