//! The log's storage port.

use tg_core::{AgentId, StoreError, Timestamp};

use crate::hash::Hash;
use crate::tiles::{TileId, Tiles};

/// One log entry: a receipt's hash, with whose receipt it is (kept beside the log, not
/// hashed into it: it lets a cut chain name its first missing receipt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub agent_id: AgentId,
    pub seq: u64,
    /// The leaf data: the receipt's 32-byte `receipt_hash`.
    pub receipt_hash: Hash,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The whole signed note.
    pub note: String,
    pub created_at: Timestamp,
}

/// A checkpoint-signing key: the Ed25519 PKCS#8 document sealed under `SECRET_KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    pub key_id: String,
    pub sealed: Vec<u8>,
    pub public_key: [u8; 32],
    pub created_at: Timestamp,
}

/// Storage of the transparency log.
///
/// Contract:
/// - `unlogged_receipts` answers receipts that have no log index yet, in server time
///   order (then agent, seq), at most `limit`.
/// - `append_log_entries` stores `entries` at indexes `first…` and gives each receipt its
///   index, all or nothing; an index already taken is a [`StoreError::Conflict`].
/// - `put_tiles` writes each tile whole (insert or replace).
/// - `tiles` answers the stored tiles among `ids` (absent ones are left out).
/// - `add_checkpoint` fails with a conflict when a checkpoint of that size exists.
/// - `agent_log_head` answers the highest seq of the agent's receipts in the log, and its
///   index.
/// - `log_entries_without_receipt` counts the indexes in `from..to` whose entry or whose
///   receipt is gone.
#[async_trait::async_trait]
pub trait LogStore: Send {
    async fn unlogged_receipts(&mut self, limit: u32) -> Result<Vec<LogEntry>, StoreError>;
    async fn append_log_entries(
        &mut self,
        first: u64,
        entries: &[LogEntry],
    ) -> Result<(), StoreError>;
    async fn log_entries(&mut self, from: u64, limit: u32) -> Result<Vec<LogEntry>, StoreError>;
    async fn put_tiles(&mut self, tiles: &[(TileId, Vec<Hash>)]) -> Result<(), StoreError>;
    async fn tiles(&mut self, ids: &[TileId]) -> Result<Tiles, StoreError>;
    async fn add_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), StoreError>;
    async fn latest_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, StoreError>;
    async fn checkpoint_at(&mut self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError>;
    async fn agent_log_head(
        &mut self,
        agent: &AgentId,
    ) -> Result<Option<(u64, u64, Hash)>, StoreError>;
    /// `(seq, index)` of the agent's entries with seq in `after+1..=through` and an index
    /// below `size`, in seq order, at most `limit`.
    async fn agent_log_indexes(
        &mut self,
        agent: &AgentId,
        after: u64,
        through: u64,
        size: u64,
        limit: u32,
    ) -> Result<Vec<(u64, u64)>, StoreError>;
    /// The index of the entry whose leaf hash is `leaf_hash`, looked for among the first
    /// `size` entries (an entry past them may or may not be found).
    async fn leaf_index(&mut self, leaf_hash: &Hash, size: u64) -> Result<Option<u64>, StoreError>;
    async fn log_entries_without_receipt(&mut self, from: u64, to: u64) -> Result<u64, StoreError>;
    /// Every checkpoint key, oldest first (by `created_at`, then `key_id`).
    async fn log_keys(&mut self) -> Result<Vec<LogKey>, StoreError>;
    /// Inserts `key` only if there is none (several instances starting together end with
    /// one); answers the keys then stored.
    async fn insert_log_key_if_none(&mut self, key: &LogKey) -> Result<Vec<LogKey>, StoreError>;
    async fn add_log_key(&mut self, key: &LogKey) -> Result<(), StoreError>;
    /// Stores (or replaces) `witness`'s cosignature line for the checkpoint of `size`.
    async fn put_cosignature(
        &mut self,
        size: u64,
        witness: &str,
        line: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn cosignatures(&mut self, size: u64) -> Result<Vec<String>, StoreError>;
    /// The newest checkpoint that has at least one cosignature.
    async fn latest_cosigned_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, StoreError>;
}
