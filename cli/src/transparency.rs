//! The org's view of the relay's transparency log (docs/transparency.md):
//! the trust policy pinned at redemption, the replica kept in the state
//! folder and synced before a directory answer is believed, and the
//! evidence kept when the relay rolls back or forks its log. The decisions
//! are fxe-protocol's (`Replica`, `TrustPolicy`, `LogState`); this module
//! fetches and stores.
//!
//! Files, in `<state dir>/fxe-log/`:
//! * `policy.json`: the pinned trust policy (§4.1), written once.
//! * `entries`: every entry of the replica, as an entry bundle (`u16be(len) || entry` each),
//!   appended and fsynced before `checkpoint` names them.
//! * `checkpoint`: the last accepted checkpoint note (§4.2).
//! * `evidence/<unix time>-<rollback|fork>.txt`: the two signed checkpoints, kept.

use crate::error::{CliError, Result, exit, io_err};
use crate::files;
use crate::http::Relay;
use fxe_protocol::transparency::entry::{decode_bundle, encode_bundle};
use fxe_protocol::transparency::tile::Tile;
use fxe_protocol::transparency::{Applied, LogError, Replica, TrustPolicy, entries_between};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Below `API_PREFIX`.
pub const LOG_PATH: &str = "/transparency";
pub const LOG_DIR: &str = "fxe-log";

/// The pinned policy and the replica.
pub struct Log {
    dir: PathBuf,
    pub policy: TrustPolicy,
    pub replica: Replica,
}

fn log_error(e: LogError) -> CliError {
    CliError::new(exit::PIN, e.code(), e.to_string()).with_hint(
        "the relay's transparency log does not back what it says: nothing was sent or opened. \
         Tell your relay operator and the other member orgs; keep the fxe-log folder",
    )
}

/// The log's folder in the state folder.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join(LOG_DIR)
}

/// The relay's policy, as it offers it now (not trusted until pinned).
pub fn offered_policy(relay: &Relay) -> Result<TrustPolicy> {
    let policy: TrustPolicy = relay.get(&format!("{LOG_PATH}/policy"))?;
    policy.witness_keys().map_err(log_error)?;
    policy.log_key().map_err(log_error)?;
    Ok(policy)
}

/// Pins `policy` in `state_dir`; refuses to replace a different pinned one.
pub fn pin(state_dir: &Path, policy: &TrustPolicy) -> Result<()> {
    let d = dir(state_dir);
    if let Some(existing) = load_policy(&d)? {
        if &existing == policy {
            return Ok(());
        }
        return Err(CliError::new(
            exit::PIN,
            "log_policy_pinned",
            format!("another trust policy is pinned already (fingerprint {})", existing.fingerprint()),
        )
        .with_hint("a pinned policy is never replaced from a relay's answer; if your operator changed it, move the fxe-log folder aside and pin again"));
    }
    std::fs::create_dir_all(&d).map_err(io_err(format!("cannot create {}", d.display())))?;
    let json =
        serde_json::to_vec_pretty(policy).map_err(|e| CliError::msg(format!("cannot encode the policy: {e}")))?;
    files::write_atomic(&d.join("policy.json"), &json, false)
}

fn load_policy(d: &Path) -> Result<Option<TrustPolicy>> {
    let path = d.join("policy.json");
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            CliError::new(exit::PIN, "log_state_unreadable", format!("{}: {e}", path.display()))
                .with_hint("the pinned policy is damaged; restore the fxe-log folder from a backup")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::msg(format!("cannot read {}: {e}", path.display()))),
    }
}

impl Log {
    /// The pinned policy and the stored replica; `None` when no policy is pinned.
    pub fn load(state_dir: &Path) -> Result<Option<Log>> {
        let d = dir(state_dir);
        let Some(policy) = load_policy(&d)? else {
            return Ok(None);
        };
        let read = |name: &str| match std::fs::read(d.join(name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::msg(format!("cannot read {}: {e}", d.join(name).display()))),
        };
        let note = read("checkpoint")?.map(|b| String::from_utf8_lossy(&b).into_owned());
        let entries = match read("entries")? {
            Some(b) => decode_bundle(&b).map_err(log_error)?,
            None => Vec::new(),
        };
        let replica = Replica::restore(&policy, &entries, note.as_deref()).map_err(|e| {
            CliError::new(exit::PIN, "log_state_unreadable", format!("the stored log replica does not check: {e}"))
                .with_hint("restore the fxe-log folder from a backup, or move it aside and pin the policy again")
        })?;
        // Entries written past the checkpoint (cut off before it was saved) are dropped.
        if u64::try_from(entries.len()).ok() != Some(replica.size()) {
            let keep = usize::try_from(replica.size()).unwrap_or(usize::MAX).min(entries.len());
            let bytes = encode_bundle(&entries[..keep]).map_err(log_error)?;
            files::write_atomic(&d.join("entries"), &bytes, true)?;
        }
        Ok(Some(Log { dir: d, policy, replica }))
    }

    /// Brings the replica up to the relay's newest checkpoint; returns the entries applied.
    /// A rollback or fork is kept as evidence and refused.
    pub fn sync(&mut self, relay: &Relay) -> Result<Vec<Applied>> {
        let note = relay.get_text(&format!("{LOG_PATH}/checkpoint"))?;
        let cp = self.policy.verify(&note, crate::now()).map_err(log_error)?;
        let tiles = match self.replica.tiles_needed(&cp) {
            Ok(t) => t,
            Err(e) => return Err(self.evidence(e)),
        };
        let mut bundles = Vec::with_capacity(tiles.len());
        for t in tiles {
            let bytes = relay.get_bytes(&format!("{LOG_PATH}/{}", t.path()))?;
            bundles.push((t, bytes));
        }
        let before = self.replica.size();
        let applied = self.replica.advance(cp, &bundles).map_err(|e| self.evidence(e))?;
        if !applied.is_empty() {
            self.append(before, &bundles)?;
        }
        if let Some(cp) = self.replica.checkpoint() {
            files::write_atomic(&self.dir.join("checkpoint"), cp.note.as_bytes(), true)?;
        }
        Ok(applied)
    }

    /// Appends the entries from index `from` up to the replica's size, taken from the
    /// bundles just applied, to the stored entries, and fsyncs them.
    fn append(&self, from: u64, bundles: &[(Tile, Vec<u8>)]) -> Result<()> {
        let new = entries_between(bundles, from, self.replica.size()).map_err(log_error)?;
        let bytes = encode_bundle(&new).map_err(log_error)?;
        let path = self.dir.join("entries");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(format!("cannot write {}", path.display())))?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(io_err(format!("cannot write {}", path.display())))
    }

    /// Keeps a rollback's or fork's two checkpoints; returns the error to show.
    fn evidence(&self, e: LogError) -> CliError {
        if let LogError::Rollback { seen, offered } | LogError::Fork { seen, offered } = &e {
            let kind = if matches!(e, LogError::Rollback { .. }) { "rollback" } else { "fork" };
            let d = self.dir.join("evidence");
            let path = d.join(format!("{}-{kind}.txt", crate::now()));
            let text = format!("seen before:\n{seen}\noffered now:\n{offered}");
            let kept = std::fs::create_dir_all(&d).is_ok() && files::write_atomic(&path, text.as_bytes(), true).is_ok();
            let err = log_error(e.clone());
            return if kept {
                CliError { message: format!("{} (evidence: {})", err.message, path.display()), ..err }
            } else {
                err
            };
        }
        log_error(e)
    }

    /// Checks a directory answer against the replica (synced by the caller).
    pub fn check_directory(&self, answer: &fxe_protocol::api::DirectoryEntry) -> Result<()> {
        self.replica.state().check_directory(answer).map_err(log_error)
    }

    /// Checks an org's identity and one of its bundles against the replica.
    pub fn check_org_bundle(
        &self, org_id: &str, identity_pub: &[u8; 32], bundle: &fxe_protocol::bundle::Bundle,
    ) -> Result<()> {
        self.replica.state().check_org_bundle(org_id, identity_pub, bundle).map_err(log_error)
    }
}

/// How long a client waits before it asks again about a fact the log does not hold yet: the
/// relay sequences entries within 2 s (docs/transparency.md §2.2), plus a margin.
pub const BATCH_WAIT: Duration = Duration::from_millis(2500);

/// A replica synced this recently is used as it is for the next check of the same run.
const FRESH: Duration = Duration::from_secs(2);

/// The log of one run of the client: loaded once, synced before checks (at most every
/// [`FRESH`]), so a `receive` of many faxes reads the stored replica once.
#[derive(Default)]
pub struct LogCache {
    slot: RefCell<Option<Option<Log>>>,
    synced: Cell<Option<Instant>>,
}

impl LogCache {
    /// Runs `check` on the synced replica; `Ok(false)` when the org pinned no policy (an org
    /// that redeemed before the relay had a log: `fxe-client log pin` pins one). With `force`
    /// the replica is synced even when it is fresh.
    pub fn check(
        &self, state_dir: &Path, relay: &Relay, force: bool, check: impl Fn(&Log) -> Result<()>,
    ) -> Result<bool> {
        let mut slot = self.slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(Log::load(state_dir)?);
        }
        let Some(Some(log)) = slot.as_mut() else {
            return Ok(false);
        };
        if force || self.synced.get().is_none_or(|t| t.elapsed() >= FRESH) {
            log.sync(relay)?;
            self.synced.set(Some(Instant::now()));
        }
        check(log)?;
        Ok(true)
    }
}
