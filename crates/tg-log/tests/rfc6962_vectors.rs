//! The RFC 6962 reference vectors (the Certificate Transparency test inputs, roots and
//! proofs), and every proof of small trees built from tiles checked against the leaves.

mod common;

use common::{leaf, tiled};
use tg_log::{
    EMPTY_ROOT, Hash, Leaves, Tiles, Wanted, consistency_proof, inclusion_proof, leaf_hash, root,
    verify_consistency, verify_inclusion,
};

const INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(hex_str: &str) -> Hash {
    hex::decode(hex_str)
        .ok()
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| unreachable!("bad vector {hex_str}"))
}

fn leaves(n: usize) -> Leaves {
    Leaves(
        INPUTS
            .iter()
            .take(n)
            .map(|i| leaf_hash(&hex::decode(i).unwrap_or_default()))
            .collect(),
    )
}

fn hexes(path: &[Hash]) -> Vec<String> {
    path.iter().map(hex::encode).collect()
}

#[test]
fn roots_match_the_reference_roots() {
    assert_eq!(root(&Leaves::default(), 0), Ok(EMPTY_ROOT));
    for (n, expected) in ROOTS.iter().enumerate() {
        let size = n as u64 + 1;
        assert_eq!(root(&leaves(n + 1), size), Ok(h(expected)), "size {size}");
    }
}

#[test]
fn inclusion_proofs_match_the_reference_proofs() {
    let tree = leaves(8);
    let cases: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, expected) in cases {
        let path = inclusion_proof(&tree, index, size).unwrap_or_default();
        assert_eq!(hexes(&path), expected, "leaf {index} of {size}");
        let leaf = tree.0.get(index as usize).copied().unwrap_or_default();
        let r = root(&tree, size).unwrap_or_default();
        assert!(verify_inclusion(&leaf, index, size, &path, &r));
    }
}

#[test]
fn consistency_proofs_match_the_reference_proofs() {
    let tree = leaves(8);
    let cases: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (first, second, expected) in cases {
        let proof = consistency_proof(&tree, first, second).unwrap_or_default();
        assert_eq!(hexes(&proof), expected, "{first} → {second}");
        let (r1, r2) = (root(&tree, first), root(&tree, second));
        let (r1, r2) = (r1.unwrap_or_default(), r2.unwrap_or_default());
        assert!(verify_consistency(first, second, &r1, &r2, &proof));
    }
}

#[test]
fn tiles_built_by_appending_give_the_roots_and_proofs_of_the_leaves() {
    let n = 70_000;
    let tiles = tiled(n, 977);
    let flat = Leaves((0..n).map(leaf).collect());
    for size in [1, 2, 255, 256, 257, 65_537, 70_000] {
        assert_eq!(root(&tiles, size), root(&flat, size), "root of {size}");
        for index in [0, size / 3, size - 1] {
            assert_eq!(
                inclusion_proof(&tiles, index, size),
                inclusion_proof(&flat, index, size),
                "leaf {index} of {size}"
            );
        }
        for first in [1, size / 2] {
            assert_eq!(
                consistency_proof(&tiles, first, size),
                consistency_proof(&flat, first, size),
                "{first} → {size}"
            );
        }
    }
    // Tiles at level 1 and 2 exist, partial on the right edge: 273 full level-0 tiles.
    assert_eq!(
        tiles
            .0
            .get(&tg_log::TileId { level: 1, index: 1 })
            .map(Vec::len),
        Some(17)
    );
    assert_eq!(
        tiles
            .0
            .get(&tg_log::TileId { level: 2, index: 0 })
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn a_proof_reads_only_the_tiles_it_names() {
    let size = 70_000;
    let tiles = tiled(size, 4096);
    let wanted = Wanted::default();
    let _ = inclusion_proof(&wanted, 12_345, size);
    let ids = tg_log::tiles::tiles_for(&wanted.into_nodes()).unwrap_or_default();
    assert!(ids.len() <= 6, "{ids:?}");
    let mut some = Tiles::default();
    for id in ids {
        if let Some(t) = tiles.0.get(&id) {
            some.0.insert(id, t.clone());
        }
    }
    assert_eq!(
        inclusion_proof(&some, 12_345, size),
        inclusion_proof(&tiles, 12_345, size)
    );
}

#[test]
fn every_proof_of_small_trees_verifies_and_a_wrong_one_does_not() {
    let flat = Leaves((0..40).map(leaf).collect());
    for size in 1..=40u64 {
        let r = root(&flat, size).unwrap_or_default();
        for index in 0..size {
            let path = inclusion_proof(&flat, index, size).unwrap_or_default();
            assert!(verify_inclusion(&leaf(index), index, size, &path, &r));
            assert!(!verify_inclusion(&leaf(index + 1), index, size, &path, &r));
        }
        for first in 1..=size {
            let r1 = root(&flat, first).unwrap_or_default();
            let proof = consistency_proof(&flat, first, size).unwrap_or_default();
            assert!(
                verify_consistency(first, size, &r1, &r, &proof),
                "{first} → {size}"
            );
            if first < size {
                assert!(!verify_consistency(first, size, &leaf(999), &r, &proof));
            }
        }
    }
}
