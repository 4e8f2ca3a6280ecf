//! A client's replica kept in step with the relay's checkpoints
//! (docs/transparency.md §4.2, §5): which entry bundles to fetch to reach a
//! verified checkpoint, and the step that applies them under the log's rules
//! and accepts the checkpoint only when the rebuilt tree head equals its root.
//! A smaller checkpoint is a rollback, one the entries do not lead to is a
//! fork; either leaves the replica as it was. No I/O: the CLI, the browser
//! and the Python SDK fetch and store; this decides.

use super::LogError;
use super::checkpoint::{TrustPolicy, VerifiedCheckpoint};
use super::entry::{Entry, decode_bundle};
use super::state::LogState;
use super::tile::{TILE_WIDTH, Tile, TileKind};

/// One entry the replica applied. What a number entry changed follows from the rules: a
/// bound number was held by no one before, a released one by the entry's org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The entry's index in the log.
    pub index: u64,
    /// The decoded entry.
    pub entry: Entry,
}

/// The entries with indices `from..to` out of the entry bundles fetched for
/// [`Replica::tiles_needed`] (each with its tile), in index order: what a client appends to
/// the entries it stores once [`Replica::advance`] took the bundles from size `from` to `to`.
pub fn entries_between(bundles: &[(Tile, Vec<u8>)], from: u64, to: u64) -> Result<Vec<Vec<u8>>, LogError> {
    let mut out = Vec::new();
    for (tile, bytes) in bundles {
        let first = tile.index.saturating_mul(TILE_WIDTH);
        for (index, entry) in (first..).zip(decode_bundle(bytes)?) {
            if (from..to).contains(&index) {
                out.push(entry);
            }
        }
    }
    Ok(out)
}

/// The replica: every entry up to the last accepted checkpoint, applied in order.
#[derive(Clone, Debug, Default)]
pub struct Replica {
    state: LogState,
    checkpoint: Option<VerifiedCheckpoint>,
}

impl Replica {
    /// An empty replica that has seen no checkpoint.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a replica from what a client stored: the entries in index order and the
    /// last checkpoint note it accepted. Entries beyond the checkpoint's size (a write cut
    /// off before the checkpoint was saved) are ignored; the entries must lead to the
    /// checkpoint's root. The note's signatures are checked against `policy` but not its
    /// age: it was verified fresh when it was accepted. The entries are held to every rule
    /// of §2.1 but the bundles' signatures: they were verified when the entries were first
    /// applied, and the root, under the log's signature, shows these are those entries
    /// (re-verifying them made restoring a 10,000-org log take seconds).
    pub fn restore(policy: &TrustPolicy, entries: &[Vec<u8>], note: Option<&str>) -> Result<Replica, LogError> {
        let mut replica = Replica::new();
        let Some(note) = note else {
            return Ok(replica);
        };
        let cp = policy.verify_signatures(note)?;
        let size = usize::try_from(cp.checkpoint.size).map_err(|_| LogError::proof("the stored log is too large"))?;
        if entries.len() < size {
            return Err(LogError::proof(format!(
                "the stored replica holds {} entries, its checkpoint {}",
                entries.len(),
                cp.checkpoint.size
            )));
        }
        for e in &entries[..size] {
            replica.state.apply_stored(e)?;
        }
        if replica.state.root() != cp.checkpoint.root {
            return Err(LogError::proof("the stored entries do not lead to the stored checkpoint"));
        }
        replica.checkpoint = Some(cp);
        Ok(replica)
    }

    /// The entries applied.
    pub fn size(&self) -> u64 {
        self.state.size()
    }

    /// What the log says so far.
    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// The last checkpoint accepted.
    pub fn checkpoint(&self) -> Option<&VerifiedCheckpoint> {
        self.checkpoint.as_ref()
    }

    /// Refuses `next` when it is smaller than the checkpoint seen (a rollback) or of the
    /// same size with another root (a fork).
    fn check_not_behind(&self, next: &VerifiedCheckpoint) -> Result<(), LogError> {
        let Some(seen) = &self.checkpoint else {
            return Ok(());
        };
        let (a, b) = (&seen.checkpoint, &next.checkpoint);
        if a.origin != b.origin {
            return Err(LogError::malformed("checkpoint", "the two checkpoints are of different logs"));
        }
        if b.size < a.size {
            return Err(LogError::Rollback { seen: seen.note.clone(), offered: next.note.clone() });
        }
        if b.size == a.size && b.root != a.root {
            return Err(LogError::Fork { seen: seen.note.clone(), offered: next.note.clone() });
        }
        Ok(())
    }

    /// The entry bundles to fetch to reach `next`, in order (full tiles where the tree has
    /// them, a partial last one). Refuses a rollback or a same-size fork first.
    pub fn tiles_needed(&self, next: &VerifiedCheckpoint) -> Result<Vec<Tile>, LogError> {
        self.check_not_behind(next)?;
        let (from, to) = (self.size(), next.checkpoint.size);
        let mut tiles = Vec::new();
        let mut index = from / TILE_WIDTH;
        while index.saturating_mul(TILE_WIDTH) < to {
            let width = (to - index * TILE_WIDTH).min(TILE_WIDTH);
            tiles.push(Tile { kind: TileKind::Entries, index, width });
            index += 1;
        }
        Ok(tiles)
    }

    /// Applies the entry bundles for `tiles` (as [`Replica::tiles_needed`] named them, with
    /// each bundle's bytes) and accepts `next` when the rebuilt head equals its root.
    /// Returns the entries newly applied. On any failure the replica is unchanged: a broken
    /// rule is [`LogError::InvalidEntry`], entries that do not lead to `next`'s root are a
    /// [`LogError::Fork`] with the two notes (or a [`LogError::Proof`] on a first sync).
    pub fn advance(&mut self, next: VerifiedCheckpoint, bundles: &[(Tile, Vec<u8>)]) -> Result<Vec<Applied>, LogError> {
        self.check_not_behind(&next)?;
        let to = next.checkpoint.size;
        let mut state = self.state.clone();
        let mut applied = Vec::new();
        for (tile, bytes) in bundles {
            let entries = decode_bundle(bytes)?;
            if u64::try_from(entries.len()).ok() != Some(tile.width) || tile.kind != TileKind::Entries {
                return Err(LogError::proof(format!(
                    "entry bundle {} does not hold {} entries",
                    tile.path(),
                    tile.width
                )));
            }
            let first = tile.index.saturating_mul(TILE_WIDTH);
            for (offset, bytes) in (0u64..).zip(&entries) {
                let index = first.saturating_add(offset);
                if index < state.size() || index >= to {
                    continue;
                }
                if index != state.size() {
                    return Err(LogError::proof(format!("entry {} is missing from the bundles", state.size())));
                }
                let entry = state.apply(bytes)?;
                applied.push(Applied { index, entry });
            }
        }
        if state.size() != to {
            return Err(LogError::proof(format!("the bundles end at entry {}, the checkpoint at {to}", state.size())));
        }
        if state.root() != next.checkpoint.root {
            return Err(match &self.checkpoint {
                Some(seen) => LogError::Fork { seen: seen.note.clone(), offered: next.note.clone() },
                None => LogError::proof("the log's entries do not lead to its checkpoint's root"),
            });
        }
        self.state = state;
        self.checkpoint = Some(next);
        Ok(applied)
    }
}
