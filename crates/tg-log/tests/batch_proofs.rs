//! Proofs of many leaves at once (an export's page) against one proof at a time: the
//! same paths, read from only the tiles named once per 256-leaf block.

mod common;

use common::tiled;
use tg_log::{MemoTiles, Prover, Tiles, Wanted, inclusion_proof, inclusion_tiles};

const SIZES: [u64; 10] = [1, 2, 255, 256, 257, 300, 65_535, 65_536, 65_537, 70_000];

/// Every index of small trees; in large ones whole blocks at both ends, around 65 536,
/// and a stride through the middle.
fn indexes(size: u64) -> Vec<u64> {
    if size <= 1024 {
        return (0..size).collect();
    }
    let mut out: Vec<u64> = (0..512).collect();
    out.extend(size - 700..size);
    out.extend((65_280..65_792).filter(|i| *i < size));
    out.extend((512..size - 700).step_by(97));
    out.sort_unstable();
    out.dedup();
    out
}

fn tiles_of_one(index: u64, size: u64) -> Vec<tg_log::TileId> {
    let wanted = Wanted::default();
    inclusion_proof(&wanted, index, size).unwrap_or_default();
    wanted.tiles().unwrap_or_default()
}

#[test]
fn every_leaf_of_a_block_reads_the_tiles_its_first_leaf_reads() {
    for size in SIZES {
        for index in indexes(size) {
            assert_eq!(
                tiles_of_one(index, size),
                tiles_of_one(index & !0xff, size),
                "leaf {index} of {size}"
            );
        }
    }
}

#[test]
fn a_batch_proves_each_leaf_as_one_proof_does_from_only_the_tiles_it_names() {
    let all = tiled(70_000, 977);
    // The reference: one proof at a time, interior nodes remembered to keep debug builds quick.
    let reference = MemoTiles::new(&all);
    for size in SIZES {
        let batch = indexes(size);
        let ids = inclusion_tiles(batch.iter().copied(), size).unwrap_or_default();
        let mut some = Tiles::default();
        for id in &ids {
            if let Some(t) = all.0.get(id) {
                some.0.insert(*id, t.clone());
            }
        }
        let memo = MemoTiles::new(&some);
        let mut prover = Prover::new(&memo, size);
        for index in batch {
            assert_eq!(
                prover.prove(index),
                inclusion_proof(&reference, index, size),
                "leaf {index} of {size}"
            );
        }
    }
}

#[test]
fn a_batch_refuses_a_leaf_outside_the_tree() {
    let all = tiled(300, 300);
    assert!(inclusion_tiles([0, 300], 300).is_err());
    assert!(Prover::new(&all, 300).prove(300).is_err());
}
