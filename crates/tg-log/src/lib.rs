//! The receipts' transparency log, as pure functions and one storage port.
//!
//! - [`hash`]: RFC 9162 leaf and node hashes.
//! - [`proof`]: tree heads, inclusion and consistency proofs from perfect-subtree hashes.
//! - [`batch`]: inclusion proofs of many leaves sharing their tiles and ragged subtrees.
//! - [`verify`]: proof verification (RFC 9162 §2.1.3.2, §2.1.4.2).
//! - [`tiles`]: the tree as C2SP tlog-tiles, appending to it, tile paths.
//! - [`note`]: C2SP signed notes, checkpoints, vkeys, cosignatures.
//! - [`store`]: the `LogStore` port.

pub mod batch;
pub mod hash;
pub mod note;
pub mod proof;
pub mod store;
pub mod tiles;
pub mod verify;

pub use batch::{Prover, inclusion_tiles};
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
pub use note::{Checkpoint, Cosigner, Note, NoteSigner, Verifier};
pub use proof::{Leaves, Nodes, Wanted, consistency_proof, inclusion_proof, root};
pub use store::{LogEntry, LogKey, LogStore, StoredCheckpoint};
pub use tiles::{MemoTiles, TileId, TilePath, Tiles};
pub use verify::{verify_consistency, verify_inclusion};

/// What can go wrong computing over or reading the log.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogError {
    /// An index or size outside the tree.
    #[error("index or size out of range")]
    Range,
    /// A perfect subtree the computation needs is not in the tiles it was given.
    #[error("node at level {level}, index {index} is missing")]
    MissingNode { level: u8, index: u64 },
    /// A right-edge tile is not stored.
    #[error("tile {0:?} is missing")]
    MissingTile(TileId),
    #[error("key: {0}")]
    Key(String),
    #[error("note: {0}")]
    Note(String),
    #[error("the signature by `{0}` does not verify")]
    Signature(String),
}

/// The README's usage, run as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
