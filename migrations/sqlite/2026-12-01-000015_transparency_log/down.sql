ALTER TABLE agent_trust DROP COLUMN chain_mac;
DROP TABLE log_keys;
DROP TABLE log_cosignatures;
DROP TABLE log_checkpoints;
DROP TABLE log_tiles;
DROP TABLE log_entries;
DROP INDEX receipts_unlogged;
ALTER TABLE receipts DROP COLUMN log_index;
