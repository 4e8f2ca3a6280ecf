//! C2SP tlog-tiles paths and contents: `tile/<L>/<N>[.p/<W>]` holds the stored
//! nodes of binary level `8·L`, `tile/entries/<N>[.p/<W>]` the entries.

use super::LogError;
use super::merkle::{Hash, NodeReader};

/// Hashes in a full tile, entries in a full bundle.
pub const TILE_WIDTH: u64 = 256;

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// Merkle tree hashes at tile level `L` (0–63).
    Hashes(u8),
    /// An entry bundle.
    Entries,
}

/// One tile: its kind, index within its level, and width (256 for a full tile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    /// Hashes (with their level) or entries.
    pub kind: TileKind,
    /// The tile's index within its level.
    pub index: u64,
    /// How many hashes or entries it holds (1–256).
    pub width: u64,
}

fn bad(why: &str) -> LogError {
    LogError::malformed("tile path", why.to_owned())
}

/// `1234067` → `x001/x234/067`.
pub fn format_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

impl Tile {
    /// The path below the log's prefix.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes(l) => l.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut p = format!("tile/{level}/{}", format_index(self.index));
        if self.width < TILE_WIDTH {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }

    /// Parses a path below the log's prefix; only the canonical form is accepted.
    pub fn parse(path: &str) -> Result<Tile, LogError> {
        let rest = path.strip_prefix("tile/").ok_or_else(|| bad("must start with tile/"))?;
        let (level, rest) = rest.split_once('/').ok_or_else(|| bad("no level"))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            let l: u8 = level.parse().map_err(|_| bad("the level is not a number"))?;
            if l > 63 || level != l.to_string() {
                return Err(bad("the level must be 0–63 without leading zeros"));
            }
            TileKind::Hashes(l)
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let width: u64 = w.parse().map_err(|_| bad("the width is not a number"))?;
                if !(1..TILE_WIDTH).contains(&width) || w != width.to_string() {
                    return Err(bad("a partial width must be 1–255 without leading zeros"));
                }
                (i, width)
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let mut index: u64 = 0;
        for (i, g) in groups.iter().enumerate() {
            let digits = if i + 1 < groups.len() {
                g.strip_prefix('x').ok_or_else(|| bad("inner index groups start with x"))?
            } else {
                g
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index groups are three digits"));
            }
            let d: u64 = digits.parse().map_err(|_| bad("index groups are three digits"))?;
            index =
                index.checked_mul(1000).and_then(|x| x.checked_add(d)).ok_or_else(|| bad("the index is too large"))?;
        }
        let t = Tile { kind, index, width };
        if t.path() != path {
            return Err(bad("not the canonical path (leading zero groups?)"));
        }
        Ok(t)
    }

    /// The binary tree level of this tile's hashes (`8·L`) and the first stored node's index.
    fn first_node(&self) -> Option<(u8, u64)> {
        match self.kind {
            TileKind::Hashes(l) => Some((l.checked_mul(8)?, self.index.checked_mul(TILE_WIDTH)?)),
            TileKind::Entries => None,
        }
    }

    /// Whether a tree of `size` entries has all of this tile's hashes or entries.
    pub fn within(&self, size: u64) -> bool {
        let (shift, start) = match self.first_node() {
            Some((level, start)) => (u32::from(level), start),
            None => (0, self.index.saturating_mul(TILE_WIDTH)),
        };
        let available = if shift >= 64 { 0 } else { size >> shift };
        start.checked_add(self.width).is_some_and(|end| end <= available)
    }

    /// The tile's bytes: its `width` stored nodes, 32 bytes each. Fails for an entry bundle.
    pub fn hashes(&self, r: &impl NodeReader) -> Result<Vec<u8>, LogError> {
        let (level, start) = self.first_node().ok_or_else(|| bad("an entry bundle holds entries, not hashes"))?;
        let mut out = Vec::with_capacity(32 * usize::try_from(self.width).unwrap_or(0));
        for i in 0..self.width {
            let h: Hash = r.node(level, start + i)?;
            out.extend_from_slice(&h);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transparency::merkle::{MemoryTree, leaf_hash, node_hash};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn paths_are_canonical() {
        assert_eq!(format_index(1_234_067), "x001/x234/067");
        assert_eq!(format_index(0), "000");
        for (path, t) in [
            ("tile/0/x001/x234/067", Tile { kind: TileKind::Hashes(0), index: 1_234_067, width: 256 }),
            ("tile/1/000.p/17", Tile { kind: TileKind::Hashes(1), index: 0, width: 17 }),
            ("tile/entries/273.p/112", Tile { kind: TileKind::Entries, index: 273, width: 112 }),
        ] {
            assert_eq!(Tile::parse(path).unwrap(), t);
            assert_eq!(t.path(), path);
        }
        for bad in [
            "tile/0/1",
            "tile/00/001",
            "tile/64/001",
            "tile/0/x000/001",
            "tile/0/001.p/256",
            "tile/0/001.p/0",
            "tile/0/001.p/017",
            "tile/0/001/",
            "tiles/0/001",
            "tile/0/x001",
            "tile/entries/001.p/x",
        ] {
            assert!(Tile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tiles_hold_the_stored_nodes_of_their_level() {
        // C2SP's example: a tree of 70,000 has 273 full level-0 tiles, a partial one of 112,
        // one full level-1 tile and a partial one of 17, and a partial level-2 tile of 1.
        let size = 70_000u64;
        assert!(Tile { kind: TileKind::Hashes(0), index: 272, width: 256 }.within(size));
        assert!(!Tile { kind: TileKind::Hashes(0), index: 273, width: 256 }.within(size));
        assert!(Tile { kind: TileKind::Hashes(0), index: 273, width: 112 }.within(size));
        assert!(!Tile { kind: TileKind::Hashes(0), index: 273, width: 113 }.within(size));
        assert!(Tile { kind: TileKind::Hashes(1), index: 0, width: 256 }.within(size));
        assert!(Tile { kind: TileKind::Hashes(1), index: 1, width: 17 }.within(size));
        assert!(!Tile { kind: TileKind::Hashes(1), index: 1, width: 18 }.within(size));
        assert!(Tile { kind: TileKind::Hashes(2), index: 0, width: 1 }.within(size));
        assert!(Tile { kind: TileKind::Entries, index: 273, width: 112 }.within(size));

        let mut t = MemoryTree::new();
        let leaves: Vec<_> = (0..600u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for l in &leaves {
            t.push(*l);
        }
        let l0 = Tile { kind: TileKind::Hashes(0), index: 1, width: 256 }.hashes(&t).unwrap();
        assert_eq!(&l0[..32], &leaves[256]);
        let l1 = Tile { kind: TileKind::Hashes(1), index: 0, width: 2 }.hashes(&t).unwrap();
        // A level-1 hash is the head of a full level-0 tile.
        let mut level: Vec<_> = leaves[256..512].to_vec();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        }
        assert_eq!(&l1[32..], &level[0]);
        assert!(Tile { kind: TileKind::Hashes(1), index: 0, width: 3 }.hashes(&t).is_err());
    }
}
