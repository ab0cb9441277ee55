-- The transparency log (docs/LOG.md): every receipt's hash as a leaf of an RFC 9162 Merkle
-- tree, in the order the sequencer integrated them.
-- A receipt's place in the log; NULL until the sequencer has integrated it. The partial
-- index is the sequencer's queue.
ALTER TABLE receipts ADD COLUMN log_index BIGINT;
CREATE INDEX receipts_unlogged ON receipts (ts, agent_id, seq) WHERE log_index IS NULL;
-- The log's own copy of its entries, with whose receipt each one is (not hashed).
CREATE TABLE log_entries (
    log_index BIGINT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    receipt_hash BLOB NOT NULL,
    -- SHA-256(0x00 || receipt_hash): what inclusion proofs are asked for.
    leaf_hash BLOB NOT NULL
);
CREATE UNIQUE INDEX log_entries_receipt ON log_entries (agent_id, seq);
CREATE INDEX log_entries_leaf ON log_entries (leaf_hash);
-- C2SP tiles: up to 256 hashes of tree level 8*level, from index*256 on; partial tiles grow.
CREATE TABLE log_tiles (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);
-- Every signed checkpoint, one per integrated size.
CREATE TABLE log_checkpoints (
    size BIGINT PRIMARY KEY NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- Witnesses' cosignature lines, per checkpoint size.
CREATE TABLE log_cosignatures (
    size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (size, witness)
);
-- Checkpoint-signing keys: Ed25519 PKCS#8 sealed under SECRET_KEY; the newest signs.
CREATE TABLE log_keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    sealed BLOB NOT NULL,
    public_key BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
-- HMAC over the recorded chain head (agent, seq, hash): a rewritten head does not carry it.
-- NULL for heads recorded before this migration, until the agent's next receipt.
ALTER TABLE agent_trust ADD COLUMN chain_mac BLOB;
