-- Inclusion proofs are asked for by leaf hash. The index on the 32-byte hash put every new
-- leaf on a random page of a B-tree of 43 MiB at 1M leaves, so each integration dirtied
-- about one page per leaf and its cost grew with the log. The index now holds the hash's
-- first 8 bytes as an integer (`leaf_key`, big-endian, two's complement): a third of the
-- size. A lookup matches `leaf_key` and then the full `leaf_hash`, so a shared prefix
-- never answers for another leaf.
-- SQLite adds a NOT NULL column only with a default; every insert gives the key.
ALTER TABLE log_entries ADD COLUMN leaf_key BIGINT NOT NULL DEFAULT 0;
UPDATE log_entries SET leaf_key = (SELECT
    ((instr('0123456789ABCDEF', substr(h, 1, 1)) - 1) << 60) |
    ((instr('0123456789ABCDEF', substr(h, 2, 1)) - 1) << 56) |
    ((instr('0123456789ABCDEF', substr(h, 3, 1)) - 1) << 52) |
    ((instr('0123456789ABCDEF', substr(h, 4, 1)) - 1) << 48) |
    ((instr('0123456789ABCDEF', substr(h, 5, 1)) - 1) << 44) |
    ((instr('0123456789ABCDEF', substr(h, 6, 1)) - 1) << 40) |
    ((instr('0123456789ABCDEF', substr(h, 7, 1)) - 1) << 36) |
    ((instr('0123456789ABCDEF', substr(h, 8, 1)) - 1) << 32) |
    ((instr('0123456789ABCDEF', substr(h, 9, 1)) - 1) << 28) |
    ((instr('0123456789ABCDEF', substr(h, 10, 1)) - 1) << 24) |
    ((instr('0123456789ABCDEF', substr(h, 11, 1)) - 1) << 20) |
    ((instr('0123456789ABCDEF', substr(h, 12, 1)) - 1) << 16) |
    ((instr('0123456789ABCDEF', substr(h, 13, 1)) - 1) << 12) |
    ((instr('0123456789ABCDEF', substr(h, 14, 1)) - 1) << 8) |
    ((instr('0123456789ABCDEF', substr(h, 15, 1)) - 1) << 4) |
    ((instr('0123456789ABCDEF', substr(h, 16, 1)) - 1) << 0)
    FROM (SELECT hex(log_entries.leaf_hash) AS h));
DROP INDEX log_entries_leaf;
CREATE INDEX log_entries_leaf_key ON log_entries (leaf_key);
