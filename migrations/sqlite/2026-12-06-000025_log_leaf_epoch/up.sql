-- Inclusion proofs are asked for by leaf hash, and leaf hashes are random. The index on the
-- hash's first 8 bytes (migration 000019) put each new leaf on a random page of an index as
-- deep as the log: past ~100 000 leaves every leaf of an integration wrote a page of its
-- own, and the pages a checkpoint (or a WAL checkpoint) writes out grew with the log
-- (docs/PERFORMANCE.md). The index now leads with the leaf's epoch, `log_index / 65536`:
-- new leaves land among the current epoch's at most 65 536 entries, a few hundred pages
-- however long the log is. A lookup probes each epoch below the tree size it is asked
-- about (16 at a million leaves), by the same expression (`tg_store::log::EPOCH_OF`).
CREATE INDEX log_entries_leaf_epoch ON log_entries ((log_index / 65536), leaf_key);
DROP INDEX log_entries_leaf_key;
