//! RFC 6962 / RFC 9162 §2.1 Merkle trees: leaf and node hashes, tree heads,
//! inclusion and consistency proofs (making and checking), and the complete
//! subtrees ("stored nodes") a log keeps so that any proof costs O(log n)
//! reads (docs/transparency.md §3).
//!
//! A stored node `(level, index)` is the hash of the complete subtree over
//! leaves `[index·2^level, (index+1)·2^level)`. Level 0 is the leaf hashes;
//! the C2SP tiles of level `L` are the stored nodes of level `8·L`.

use super::LogError;
use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// The largest number of hashes a proof can have (a tree of at most 2^63 leaves).
pub const MAX_PROOF_LEN: usize = 63;

/// The hash of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Where a log's complete subtree hashes come from (memory, a database, tiles).
pub trait NodeReader {
    /// The stored node at `level`, `index`; fails when the reader does not have it.
    fn node(&self, level: u8, index: u64) -> Result<Hash, LogError>;
}

/// The largest power of two strictly below `n` (for `n ≥ 2`).
fn split(n: u64) -> u64 {
    if n < 2 {
        return 0;
    }
    1u64 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[start..end])` for a range whose start is aligned to the
/// enclosing power of two (every range the RFC's recursion visits is).
pub fn subtree_hash(r: &impl NodeReader, start: u64, end: u64) -> Result<Hash, LogError> {
    let n = end.checked_sub(start).ok_or_else(|| LogError::proof("a subtree ends before it starts"))?;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let level = u8::try_from(n.trailing_zeros()).map_err(|_| LogError::proof("a subtree too tall"))?;
        return r.node(level, start / n);
    }
    let k = split(n);
    let left = subtree_hash(r, start, start + k)?;
    let right = subtree_hash(r, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The tree head (root hash) of the first `size` leaves.
pub fn tree_hash(r: &impl NodeReader, size: u64) -> Result<Hash, LogError> {
    subtree_hash(r, 0, size)
}

/// The inclusion proof (RFC 9162 `PATH`) of leaf `index` in the tree of `size` leaves, leaf to root.
pub fn inclusion_proof(r: &impl NodeReader, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
    if index >= size {
        return Err(LogError::proof(format!("leaf {index} is not in a tree of {size}")));
    }
    let mut path = Vec::new();
    let (mut start, mut end) = (0u64, size);
    let mut siblings = Vec::new();
    while end - start > 1 {
        let k = split(end - start);
        if index - start < k {
            siblings.push((start + k, end));
            end = start + k;
        } else {
            siblings.push((start, start + k));
            start += k;
        }
    }
    for (a, b) in siblings.into_iter().rev() {
        path.push(subtree_hash(r, a, b)?);
    }
    Ok(path)
}

/// The consistency proof (RFC 9162 `PROOF`) from the tree of `old` leaves to the tree of `new` leaves.
/// Empty when `old` is 0 or equals `new`.
pub fn consistency_proof(r: &impl NodeReader, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
    if old > new {
        return Err(LogError::proof(format!("a tree of {new} cannot extend one of {old}")));
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[start..end], b), unrolled; the hashes are collected root-side first.
    let mut out = Vec::new();
    let (mut m, mut start, mut end, mut whole) = (old, 0u64, new, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(subtree_hash(r, start, end)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            out.push(subtree_hash(r, start + k, end)?);
            end = start + k;
        } else {
            out.push(subtree_hash(r, start, start + k)?);
            m -= k;
            start += k;
            whole = false;
        }
    }
    out.reverse();
    Ok(out)
}

/// Checks that `proof` shows leaf `index` with hash `leaf` in the tree of `size` leaves with head `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), LogError> {
    if index >= size {
        return Err(LogError::proof(format!("leaf {index} is not in a tree of {size}")));
    }
    if proof.len() > MAX_PROOF_LEN {
        return Err(LogError::proof("the inclusion proof is too long"));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(LogError::proof("the inclusion proof is too long for the tree"));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(LogError::proof("the inclusion proof is too short for the tree"));
    }
    if r != *root {
        return Err(LogError::proof("the inclusion proof does not lead to the tree head"));
    }
    Ok(())
}

/// Checks that `proof` shows the tree of `new` leaves with head `new_root` extends the tree of `old`
/// leaves with head `old_root` (RFC 9162 §2.1.4.2). Equal sizes need equal heads and an empty proof;
/// any tree extends the empty one.
pub fn verify_consistency(
    old: u64, new: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash],
) -> Result<(), LogError> {
    if old > new {
        return Err(LogError::proof(format!("a tree of {new} cannot extend one of {old}")));
    }
    if proof.len() > MAX_PROOF_LEN {
        return Err(LogError::proof("the consistency proof is too long"));
    }
    if old == new {
        if !proof.is_empty() {
            return Err(LogError::proof("a consistency proof between equal sizes must be empty"));
        }
        return if old_root == new_root { Ok(()) } else { Err(LogError::proof("two different heads for one size")) };
    }
    if old == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(LogError::proof("a consistency proof from the empty tree must be empty"))
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(LogError::proof("the consistency proof is empty"));
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(LogError::proof("the consistency proof is too long for the trees"));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(LogError::proof("the consistency proof is too short for the trees"));
    }
    if fr != *old_root || sr != *new_root {
        return Err(LogError::proof("the consistency proof does not lead to both tree heads"));
    }
    Ok(())
}

/// The stored nodes that appending a leaf at `index` with hash `leaf` completes: the leaf itself at
/// level 0, then each subtree it closes. `left(level, i)` reads an earlier stored node.
pub fn completed_nodes(
    index: u64, leaf: Hash, left: impl Fn(u8, u64) -> Result<Hash, LogError>,
) -> Result<Vec<(u8, u64, Hash)>, LogError> {
    let mut out = vec![(0u8, index, leaf)];
    let (mut level, mut i, mut h) = (0u8, index, leaf);
    while i & 1 == 1 {
        let sibling = left(level, i - 1)?;
        h = node_hash(&sibling, &h);
        level += 1;
        i >>= 1;
        out.push((level, i, h));
    }
    Ok(out)
}

/// Every stored node of a log held in memory (a client's replica, tests). About two hashes per leaf.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash; returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        // `completed_nodes` only reads nodes this tree holds (the left siblings of a closing subtree).
        let nodes = completed_nodes(index, leaf, |level, i| self.node(level, i)).unwrap_or_default();
        for (level, _, h) in nodes {
            let level = usize::from(level);
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(h);
        }
        index
    }

    /// The tree head of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, LogError> {
        if size > self.size() {
            return Err(LogError::proof(format!("the tree has {} leaves, not {size}", self.size())));
        }
        tree_hash(self, size)
    }

    /// The current tree head.
    pub fn root(&self) -> Hash {
        tree_hash(self, self.size()).unwrap_or_else(|_| empty_root())
    }
}

impl NodeReader for MemoryTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LogError> {
        self.levels
            .get(usize::from(level))
            .and_then(|l| usize::try_from(index).ok().and_then(|i| l.get(i)))
            .copied()
            .ok_or_else(|| LogError::proof(format!("no stored node at level {level}, index {index}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// MTH straight from RFC 6962's definition, over leaf hashes.
    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = ix(split(n as u64));
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    fn ix(n: u64) -> usize {
        usize::try_from(n).unwrap()
    }

    fn tree(n: u64) -> (MemoryTree, Vec<Hash>) {
        let mut t = MemoryTree::new();
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect();
        for l in &leaves {
            t.push(*l);
        }
        (t, leaves)
    }

    #[test]
    fn rfc6962_hashing_of_known_trees() {
        // The empty tree and RFC 6962's leaf/node prefixes.
        assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex::encode(leaf_hash(b"")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        // The eight leaves of RFC 6962's (and certificate-transparency-go's) reference test tree.
        let inputs: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
        ];
        let mut t = MemoryTree::new();
        for i in inputs {
            t.push(leaf_hash(i));
        }
        assert_eq!(hex::encode(t.root()), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
    }

    #[test]
    fn roots_match_the_definition_for_every_size() {
        let (t, leaves) = tree(70);
        for n in 0..=70u64 {
            assert_eq!(t.root_at(n).unwrap(), naive_root(&leaves[..ix(n)]), "size {n}");
        }
    }

    #[test]
    fn inclusion_proofs_verify_and_tampering_fails() {
        let (t, leaves) = tree(45);
        for size in 1..=45u64 {
            let root = t.root_at(size).unwrap();
            for i in 0..size {
                let p = inclusion_proof(&t, i, size).unwrap();
                verify_inclusion(i, size, &leaves[ix(i)], &p, &root).unwrap();
                assert!(verify_inclusion(i, size, &leaf_hash(b"other"), &p, &root).is_err());
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert!(verify_inclusion(i, size, &leaves[ix(i)], &bad, &root).is_err(), "{first:?}");
                    assert!(verify_inclusion(i, size, &leaves[ix(i)], &p[1..], &root).is_err());
                }
                let mut long = p.clone();
                long.push(root);
                assert!(verify_inclusion(i, size, &leaves[ix(i)], &long, &root).is_err());
                if size > 1 {
                    let other = (i + 1) % size;
                    if leaves[ix(other)] != leaves[ix(i)] {
                        assert!(verify_inclusion(other, size, &leaves[ix(i)], &p, &root).is_err());
                    }
                }
            }
            assert!(inclusion_proof(&t, size, size).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_tampering_fails() {
        let (t, _) = tree(40);
        for new in 0..=40u64 {
            let new_root = t.root_at(new).unwrap();
            for old in 0..=new {
                let old_root = t.root_at(old).unwrap();
                let p = consistency_proof(&t, old, new).unwrap();
                verify_consistency(old, new, &old_root, &new_root, &p).unwrap();
                if old > 0 && old < new {
                    let mut bad = p.clone();
                    bad[0][3] ^= 1;
                    assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
                    assert!(verify_consistency(old, new, &new_root, &new_root, &p).is_err(), "{old}->{new}");
                    assert!(verify_consistency(old, new, &old_root, &old_root, &p).is_err());
                    assert!(verify_consistency(old, new, &old_root, &new_root, &p[1..]).is_err());
                }
            }
        }
        assert!(verify_consistency(3, 3, &leaf_hash(b"a"), &leaf_hash(b"b"), &[]).is_err());
        assert!(verify_consistency(4, 3, &leaf_hash(b"a"), &leaf_hash(b"a"), &[]).is_err());
    }

    #[test]
    fn random_trees_proofs_agree_with_the_definition() {
        // A small deterministic generator: sizes and indexes spread over several tiles.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let (t, leaves) = tree(1100);
        for _ in 0..200 {
            let size = 1 + next(1100);
            let i = next(size);
            let root = naive_root(&leaves[..ix(size)]);
            let p = inclusion_proof(&t, i, size).unwrap();
            verify_inclusion(i, size, &leaves[ix(i)], &p, &root).unwrap();
            let old = next(size + 1);
            let c = consistency_proof(&t, old, size).unwrap();
            verify_consistency(old, size, &naive_root(&leaves[..ix(old)]), &root, &c).unwrap();
        }
    }
}
