//! [`View`]: one instance's copy of the stored log, replayed under the
//! log's rules, with the newest published checkpoint; what it serves
//! (checkpoint, tiles) and what it says a directory answer is covered by.

use std::collections::HashMap;

use fxe_protocol::api::DirectoryEntry;
use fxe_protocol::bundle::Bundle;
use fxe_protocol::transparency::entry::{Entry, encode_bundle};
use fxe_protocol::transparency::inclusion::{LogProof, ProvenEntry};
use fxe_protocol::transparency::merkle;
use fxe_protocol::transparency::tile::{TILE_WIDTH, Tile, TileKind};
use fxe_protocol::transparency::{LogError, LogState, TrustPolicy};

/// The log as this instance last read it.
#[derive(Clone, Debug, Default)]
pub struct View {
    state: LogState,
    entries: Vec<Vec<u8>>,
    /// Each logged bundle's entry index.
    bundles: HashMap<String, u64>,
    /// The newest published checkpoint: its size and note.
    published: Option<(u64, String)>,
}

impl View {
    /// Entries stored (published or not).
    pub fn size(&self) -> u64 {
        self.state.size()
    }

    /// The log's state over every stored entry.
    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// The published checkpoint's size (0 before the first).
    pub fn published_size(&self) -> u64 {
        self.published.as_ref().map_or(0, |(s, _)| *s)
    }

    /// The published checkpoint note, as served.
    pub fn published_note(&self) -> Option<&str> {
        self.published.as_ref().map(|(_, n)| n.as_str())
    }

    /// Applies stored entries after the last one; on a broken rule nothing of the batch
    /// after it is applied.
    pub fn append(&mut self, entries: Vec<Vec<u8>>) -> Result<(), LogError> {
        for bytes in entries {
            let index = self.state.size();
            if let Entry::Bundle { bundle, .. } = self.state.apply(&bytes)? {
                self.bundles.insert(bundle.bundle_id, index);
            }
            self.entries.push(bytes);
        }
        Ok(())
    }

    /// Publishes `note` if it is the log's (signature, and a quorum under `policy`, not
    /// its age) and its root is the stored entries' head at its size.
    pub fn publish(&mut self, policy: &TrustPolicy, note: &str) -> Result<(), LogError> {
        let cp = policy.verify_signatures(note)?;
        let size = cp.checkpoint.size;
        if size < self.published_size() {
            return Err(LogError::Rollback {
                seen: self.published_note().unwrap_or_default().into(),
                offered: note.into(),
            });
        }
        if size > self.size() || self.state.tree().root_at(size)? != cp.checkpoint.root {
            return Err(LogError::Proof("the checkpoint's root is not the stored entries' head".into()));
        }
        self.published = Some((size, note.to_owned()));
        Ok(())
    }

    /// Whether the published log says what `answer` says: the number bound to the org,
    /// the org's identity and its current bundle, each under the published checkpoint.
    pub fn covers_directory(&self, answer: &DirectoryEntry) -> bool {
        let under = self.published_size();
        self.state.check_directory(answer).is_ok()
            && self.state.number(&answer.number).is_some_and(|n| n.index < under)
            && self.state.org(&answer.org_id).is_some_and(|o| o.registered_at < under)
            && self.bundles.get(&answer.bundle.bundle_id).is_some_and(|i| *i < under)
    }

    /// The proof of a covered `answer` (§6): the published checkpoint, and the number's
    /// binding, the org's identity and the bundle's entries with their inclusion proofs.
    pub fn proof(&self, answer: &DirectoryEntry) -> Option<LogProof> {
        let (size, note) = self.published.as_ref()?;
        let indices = [
            self.state.number(&answer.number)?.index,
            self.state.org(&answer.org_id)?.registered_at,
            *self.bundles.get(&answer.bundle.bundle_id)?,
        ];
        let mut entries = Vec::with_capacity(indices.len());
        for i in indices {
            let bytes = self.entries.get(usize::try_from(i).ok()?)?;
            let path = merkle::inclusion_proof(self.state.tree(), i, *size).ok()?;
            entries.push(ProvenEntry::new(i, bytes, &path));
        }
        Some(LogProof { checkpoint: note.clone(), entries })
    }

    /// Whether the published log holds the org's identity `identity_pub` (b64u, as the
    /// directory answers it).
    pub fn covers_org(&self, org_id: &str, identity_pub: &str) -> bool {
        self.state.org(org_id).is_some_and(|o| {
            o.registered_at < self.published_size()
                && fxe_protocol::encoding::b64u_encode(&o.identity_pub) == identity_pub
        })
    }

    /// Whether the published log holds each of `bundles`.
    pub fn covers_bundles<'a>(&self, bundles: impl IntoIterator<Item = &'a Bundle>) -> bool {
        let under = self.published_size();
        bundles.into_iter().all(|b| {
            self.bundles.get(&b.bundle_id).is_some_and(|i| *i < under)
                && self.state.org(&b.org_id).is_some_and(|o| o.bundles.iter().any(|x| x == b))
        })
    }

    /// Whether bundle `bundle_id` is logged (published or not).
    pub fn has_bundle(&self, bundle_id: &str) -> bool {
        self.bundles.contains_key(bundle_id)
    }

    /// A tile's bytes (§7), if the published checkpoint covers it.
    pub fn tile(&self, tile: &Tile) -> Option<Vec<u8>> {
        if !tile.within(self.published_size()) {
            return None;
        }
        match tile.kind {
            TileKind::Hashes(_) => tile.hashes(self.state.tree()).ok(),
            TileKind::Entries => {
                let start = usize::try_from(tile.index.checked_mul(TILE_WIDTH)?).ok()?;
                let end = start.checked_add(usize::try_from(tile.width).ok()?)?;
                encode_bundle(self.entries.get(start..end)?).ok()
            }
        }
    }
}
