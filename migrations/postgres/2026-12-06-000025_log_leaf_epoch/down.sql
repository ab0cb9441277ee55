DROP INDEX log_entries_leaf_epoch;
CREATE INDEX log_entries_leaf_key ON log_entries (leaf_key);
