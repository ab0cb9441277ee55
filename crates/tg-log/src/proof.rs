//! Tree heads and proofs (RFC 9162 §2.1), computed from the hashes of perfect subtrees.
//!
//! Every range the RFC's recursion visits splits into perfect subtrees — a left part
//! aligned on its own size and a right part that splits again — so a [`Nodes`] source
//! answering "the hash of the perfect subtree at `level` and `index`" is all a tree head or
//! a proof needs: O(log n) of them. Which ones does not depend on their values, so a
//! caller can first run the computation over a [`Wanted`] recorder, fetch exactly those,
//! and run it again.

use std::cell::RefCell;
use std::collections::BTreeSet;

use crate::LogError;
use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Hashes of perfect subtrees: `node(level, index)` is MTH of leaves
/// `[index·2^level, (index+1)·2^level)`.
pub trait Nodes {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LogError>;
}

/// A [`Nodes`] that answers zeros and remembers what was asked.
#[derive(Debug, Default)]
pub struct Wanted(RefCell<BTreeSet<(u8, u64)>>);

impl Wanted {
    pub fn into_nodes(self) -> BTreeSet<(u8, u64)> {
        self.0.into_inner()
    }
}

impl Nodes for Wanted {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LogError> {
        self.0.borrow_mut().insert((level, index));
        Ok([0; 32])
    }
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[start:end]) for a range the recursion reaches (start aligned on the largest
/// power of two ≤ its size).
pub fn subtree(nodes: &impl Nodes, start: u64, end: u64) -> Result<Hash, LogError> {
    let n = end.checked_sub(start).ok_or(LogError::Range)?;
    if n == 0 {
        return Ok(EMPTY_ROOT);
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        // trailing_zeros of a u64 is at most 63: fits a u8.
        return nodes.node(n.trailing_zeros() as u8, start / n);
    }
    let k = split(n);
    let left = subtree(nodes, start, start + k)?;
    let right = subtree(nodes, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the tree of the first `size` leaves.
pub fn root(nodes: &impl Nodes, size: u64) -> Result<Hash, LogError> {
    subtree(nodes, 0, size)
}

/// PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), lowest sibling first.
pub fn inclusion_proof(nodes: &impl Nodes, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
    inclusion_path(index, size, &mut |start, end| subtree(nodes, start, end))
}

/// PATH(index, D[0:size]) with each sibling's hash from `sibling(start, end)`: the
/// RFC's recursion walked down from the root.
pub(crate) fn inclusion_path(
    index: u64,
    size: u64,
    sibling: &mut impl FnMut(u64, u64) -> Result<Hash, LogError>,
) -> Result<Vec<Hash>, LogError> {
    if index >= size {
        return Err(LogError::Range);
    }
    let (mut start, mut end) = (0u64, size);
    let mut path = Vec::new();
    while end - start > 1 {
        let k = split(end - start);
        if index < start + k {
            path.push(sibling(start + k, end)?);
            end = start + k;
        } else {
            path.push(sibling(start, start + k)?);
            start += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// PROOF(first, D[0:second]) (RFC 9162 §2.1.4.1); empty when `first` is 0 or equals
/// `second`.
pub fn consistency_proof(
    nodes: &impl Nodes,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, LogError> {
    if first > second {
        return Err(LogError::Range);
    }
    if first == 0 || first == second {
        return Ok(Vec::new());
    }
    let (mut m, mut start, mut end, mut whole) = (first, 0u64, second, true);
    let mut proof = Vec::new();
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(subtree(nodes, start, end)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(subtree(nodes, start + k, end)?);
            end = start + k;
        } else {
            proof.push(subtree(nodes, start, start + k)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Leaves held in memory: the reference source (tests, exports).
#[derive(Debug, Clone, Default)]
pub struct Leaves(pub Vec<Hash>);

impl Nodes for Leaves {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LogError> {
        let width = 1usize
            .checked_shl(u32::from(level))
            .ok_or(LogError::Range)?;
        let start = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_mul(width))
            .ok_or(LogError::Range)?;
        let slice = self
            .0
            .get(start..start + width)
            .ok_or(LogError::MissingNode { level, index })?;
        crate::hash::perfect_root(slice).ok_or(LogError::Range)
    }
}
