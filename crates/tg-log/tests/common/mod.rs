//! Trees for the tests: pseudo-random leaves, tiles built as the sequencer builds them.

use tg_log::tiles::{append, right_edge};
use tg_log::{Hash, Tiles, leaf_hash};

/// A pseudo-random leaf for tree building (xorshift, no extra dependency).
pub fn leaf(i: u64) -> Hash {
    leaf_hash(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes())
}

/// The tree of `n` leaves built through `append` in uneven batches, as the sequencer does.
pub fn tiled(n: u64, batch: u64) -> Tiles {
    let mut tiles = Tiles::default();
    let mut size = 0;
    while size < n {
        let take = batch.min(n - size);
        let new: Vec<Hash> = (size..size + take).map(leaf).collect();
        let mut edge = Tiles::default();
        for id in right_edge(size) {
            if let Some(t) = tiles.0.get(&id) {
                edge.0.insert(id, t.clone());
            }
        }
        for (id, hashes) in append(size, &edge, &new).unwrap_or_default() {
            tiles.0.insert(id, hashes);
        }
        size += take;
    }
    tiles
}
