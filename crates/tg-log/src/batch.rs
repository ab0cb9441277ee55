//! Inclusion proofs of many leaves in one tree, as an export proves a page of receipts.
//!
//! Two things are shared between the proofs of a batch:
//! - **the tiles to fetch.** Above its own 256-leaf block, every leaf of a block walks the
//!   same path down from the root: while a range holds more than 256 leaves its split
//!   point is a multiple of 256, so no split separates two leaves of one block, and once
//!   the range holds 256 or fewer it lies inside the block, whose nodes are all in the
//!   block's level-0 tile. So one dry run per block names every tile the block's proofs
//!   read ([`inclusion_tiles`]).
//! - **the ragged subtrees.** A sibling on the tree's right edge is not a perfect subtree:
//!   its hash is built from several nodes each time it is asked for. A [`Prover`] builds
//!   each one once.

use std::collections::{BTreeSet, HashMap};

use crate::LogError;
use crate::hash::Hash;
use crate::proof::{Nodes, Wanted, inclusion_path, subtree};
use crate::tiles::TileId;

/// Leaves per level-0 tile, as a shift.
const BLOCK_BITS: u32 = 8;

/// The tiles the inclusion proofs of `indexes` in the tree of `size` leaves read.
pub fn inclusion_tiles(
    indexes: impl IntoIterator<Item = u64>,
    size: u64,
) -> Result<Vec<TileId>, LogError> {
    let wanted = Wanted::default();
    let mut blocks = BTreeSet::new();
    for index in indexes {
        if index >= size {
            return Err(LogError::Range);
        }
        if blocks.insert(index >> BLOCK_BITS) {
            crate::proof::inclusion_proof(&wanted, index, size)?;
        }
    }
    wanted.tiles()
}

/// Inclusion proofs in one tree of `size` leaves, each ragged right-edge sibling hashed
/// once for the whole batch.
#[derive(Debug)]
pub struct Prover<'n, N> {
    nodes: &'n N,
    size: u64,
    ragged: HashMap<(u64, u64), Hash>,
}

impl<'n, N: Nodes> Prover<'n, N> {
    pub fn new(nodes: &'n N, size: u64) -> Self {
        Self {
            nodes,
            size,
            ragged: HashMap::new(),
        }
    }

    /// PATH(index, D[0:size]), lowest sibling first: what
    /// [`crate::inclusion_proof`] answers.
    pub fn prove(&mut self, index: u64) -> Result<Vec<Hash>, LogError> {
        let (nodes, ragged) = (self.nodes, &mut self.ragged);
        inclusion_path(index, self.size, &mut |start, end| {
            let n = end - start;
            if n.is_power_of_two() && start.is_multiple_of(n) {
                return subtree(nodes, start, end);
            }
            if let Some(h) = ragged.get(&(start, end)) {
                return Ok(*h);
            }
            let h = subtree(nodes, start, end)?;
            ragged.insert((start, end), h);
            Ok(h)
        })
    }
}
