DROP INDEX log_entries_leaf_key;
ALTER TABLE log_entries DROP COLUMN leaf_key;
CREATE INDEX log_entries_leaf ON log_entries (leaf_hash);
