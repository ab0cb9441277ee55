//! C2SP tlog-tiles: the tree stored and served as tiles of 256 hashes.
//!
//! The tile at level `L` and index `N` holds the hashes of tree level `8·L` from
//! `N·256` on: at level 0 leaf hashes, above that the roots of full tiles below. The
//! levels between are rebuilt by hashing inside a tile. Tiles only ever grow at their
//! right end, so the partial tile of an older tree is a prefix of today's tile.

use std::collections::{BTreeSet, HashMap};

use crate::LogError;
use crate::hash::{Hash, perfect_root};
use crate::proof::Nodes;

/// Hashes per full tile.
pub const TILE_WIDTH: usize = 256;
const TILE_BITS: u32 = 8;

/// A tile's place: hash tiles at `level` 0…, or (in [`TilePath`]) the entry bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
}

/// What a `tile/…` path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePath {
    /// `None` for `tile/entries/…`.
    pub level: Option<u8>,
    pub index: u64,
    /// The width of a partial tile (1–255); `None` for a full one.
    pub partial: Option<u16>,
}

impl TilePath {
    /// The hashes (or entries) this path serves.
    pub fn width(&self) -> usize {
        self.partial.map_or(TILE_WIDTH, usize::from)
    }

    /// `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, `N` in zero-padded
    /// three-digit elements, all but the last prefixed `x`.
    pub fn render(&self) -> String {
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        groups.reverse();
        let last = groups.len() - 1;
        let index = groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                if i == last {
                    format!("{g:03}")
                } else {
                    format!("x{g:03}")
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let level = self
            .level
            .map_or_else(|| "entries".to_owned(), |l| l.to_string());
        let partial = self.partial.map(|w| format!(".p/{w}")).unwrap_or_default();
        format!("tile/{level}/{index}{partial}")
    }

    /// Parses what follows `tile/`. Only the canonical spelling is accepted: it is
    /// rendered back and compared.
    pub fn parse(rest: &str) -> Option<TilePath> {
        let mut parts = rest.split('/');
        let level = match parts.next()? {
            "entries" => None,
            l => Some(l.parse::<u8>().ok().filter(|l| *l < 64)?),
        };
        let mut index: u64 = 0;
        let mut partial = None;
        let mut ended = false;
        for part in parts.by_ref() {
            let (digits, last) = match part.strip_prefix('x') {
                Some(d) => (d, false),
                None => (part.strip_suffix(".p").unwrap_or(part), true),
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            index = index
                .checked_mul(1000)?
                .checked_add(digits.parse::<u64>().ok()?)?;
            if last {
                if part.ends_with(".p") {
                    partial = Some(
                        parts
                            .next()?
                            .parse::<u16>()
                            .ok()
                            .filter(|w| (1..256).contains(w))?,
                    );
                }
                ended = true;
                break;
            }
        }
        if !ended || parts.next().is_some() {
            return None;
        }
        let path = TilePath {
            level,
            index,
            partial,
        };
        (path.render() == format!("tile/{rest}")).then_some(path)
    }
}

/// Tiles in memory, keyed by level and index; a stored tile may be wider than a tree
/// of interest needs.
#[derive(Debug, Clone, Default)]
pub struct Tiles(pub HashMap<TileId, Vec<Hash>>);

/// The tile holding the hashes a perfect subtree is built from.
fn tile_of(level: u8, index: u64) -> Result<(TileId, usize, usize), LogError> {
    let tile_level = level / TILE_BITS as u8;
    let r = u32::from(level % TILE_BITS as u8);
    let start = index
        .checked_shl(r)
        .filter(|s| s >> r == index)
        .ok_or(LogError::Range)?;
    let id = TileId {
        level: tile_level,
        index: start >> TILE_BITS,
    };
    // Both below 256.
    Ok((id, (start & 0xff) as usize, 1usize << r))
}

impl crate::Wanted {
    /// The tiles holding every node the dry run asked for: what to fetch before the run.
    pub fn tiles(self) -> Result<Vec<TileId>, LogError> {
        Ok(tiles_for(&self.into_nodes())?.into_iter().collect())
    }
}

/// The tiles that hold `nodes` (as [`crate::Wanted`] recorded them).
pub fn tiles_for(nodes: &BTreeSet<(u8, u64)>) -> Result<BTreeSet<TileId>, LogError> {
    nodes
        .iter()
        .map(|(level, index)| tile_of(*level, *index).map(|(id, _, _)| id))
        .collect()
}

impl Nodes for Tiles {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LogError> {
        let (id, offset, width) = tile_of(level, index)?;
        let hashes = self
            .0
            .get(&id)
            .and_then(|t| t.get(offset..offset + width))
            .ok_or(LogError::MissingNode { level, index })?;
        perfect_root(hashes).ok_or(LogError::Range)
    }
}

/// The number of hashes at tile level `level` in a tree of `size` leaves.
fn hashes_at(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(level) * TILE_BITS).unwrap_or(0)
}

/// The partial tiles on the right edge of a tree of `size` leaves (all an append reads).
pub fn right_edge(size: u64) -> Vec<TileId> {
    (0u8..8)
        .map(|level| (level, hashes_at(size, level)))
        .take_while(|(_, count)| *count > 0)
        .filter(|(_, count)| !count.is_multiple_of(TILE_WIDTH as u64))
        .map(|(level, count)| TileId {
            level,
            index: count >> TILE_BITS,
        })
        .collect()
}

/// Appends `leaves` (leaf hashes) to the tree of `size` leaves whose right edge is in
/// `edge`. Answers every tile that changed, with its full content: each filled tile,
/// and the new partial tile of each level that grew.
pub fn append(
    size: u64,
    edge: &Tiles,
    leaves: &[Hash],
) -> Result<Vec<(TileId, Vec<Hash>)>, LogError> {
    let mut open: Vec<(TileId, Vec<Hash>)> = Vec::new();
    for level in 0u8..8 {
        let count = hashes_at(size, level);
        let id = TileId {
            level,
            index: count >> TILE_BITS,
        };
        let width = (count & 0xff) as usize;
        let hashes = if width == 0 {
            Vec::new()
        } else {
            let stored = edge.0.get(&id).ok_or(LogError::MissingTile(id))?;
            stored
                .get(..width)
                .ok_or(LogError::MissingTile(id))?
                .to_vec()
        };
        open.push((id, hashes));
    }
    let mut out: Vec<(TileId, Vec<Hash>)> = Vec::new();
    let mut touched = [false; 8];
    for leaf in leaves {
        let mut carry = Some(*leaf);
        for (slot, grew) in open.iter_mut().zip(touched.iter_mut()) {
            let Some(hash) = carry.take() else { break };
            let (id, hashes) = slot;
            hashes.push(hash);
            *grew = true;
            if hashes.len() == TILE_WIDTH {
                carry = perfect_root(hashes);
                out.push((*id, std::mem::take(hashes)));
                *id = TileId {
                    level: id.level,
                    index: id.index + 1,
                };
                *grew = false;
            }
        }
        if carry.is_some() {
            return Err(LogError::Range);
        }
    }
    for ((id, hashes), grew) in open.into_iter().zip(touched) {
        if grew && !hashes.is_empty() {
            out.push((id, hashes));
        }
    }
    out.sort_by_key(|(id, _)| *id);
    Ok(out)
}

/// Entries as a C2SP entry bundle: each one a big-endian uint16 length and its bytes.
pub fn entry_bundle(entries: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 34);
    for e in entries {
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// Tile bytes: the hashes concatenated.
pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flatten().copied().collect()
}

/// Hashes back from stored tile bytes.
pub fn tile_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    bytes
        .chunks_exact(32)
        .map(|c| <Hash>::try_from(c).ok())
        .collect()
}

/// [`Tiles`] with the nodes between tile levels remembered once computed: proofs for
/// many leaves of the same tiles (an export) hash each interior node once.
#[derive(Debug)]
pub struct MemoTiles<'a> {
    tiles: &'a Tiles,
    memo: std::cell::RefCell<HashMap<(u8, u64), Hash>>,
}

impl<'a> MemoTiles<'a> {
    pub fn new(tiles: &'a Tiles) -> Self {
        Self {
            tiles,
            memo: std::cell::RefCell::new(HashMap::new()),
        }
    }
}

impl Nodes for MemoTiles<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LogError> {
        if level.is_multiple_of(TILE_BITS as u8) {
            return self.tiles.node(level, index);
        }
        if let Some(h) = self.memo.borrow().get(&(level, index)) {
            return Ok(*h);
        }
        let left = self.node(level - 1, index.checked_mul(2).ok_or(LogError::Range)?)?;
        let right = self.node(level - 1, index * 2 + 1)?;
        let h = crate::hash::node_hash(&left, &right);
        self.memo.borrow_mut().insert((level, index), h);
        Ok(h)
    }
}
