//! The relay's key transparency log as the SDK checks it (docs/transparency.md
//! §4, §5, §6): a trust policy read and fingerprinted, a directory answer's
//! proof verified under it and against the last checkpoint the SDK kept, and
//! the SDK's replica of the log, which says whether the answer is the latest.

use crate::errors::VerificationError;
use crate::errors::{OrRaise, with_code};
use crate::seal::key32;
use fxe_protocol::api::DirectoryEntry;
use fxe_protocol::bundle::Bundle;
use fxe_protocol::transparency::entry::{decode_bundle, encode_bundle};
use fxe_protocol::transparency::tile::Tile;
use fxe_protocol::transparency::{
    LogError, Replica, TrustPolicy, VerifiedCheckpoint, check_not_behind, entries_between, inclusion,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

fn log_err(e: LogError) -> PyErr {
    let code = e.code();
    let err = with_code::<VerificationError>(
        code,
        format!("the relay's transparency log does not back its answer: {e}; nothing was sent or opened"),
    );
    if let LogError::Rollback { seen, offered } | LogError::Fork { seen, offered } = &e {
        // The two signed checkpoints are the evidence that the relay showed two views.
        Python::attach(|py| {
            let _ = err.value(py).setattr("evidence", (seen.clone(), offered.clone()));
        });
    }
    err
}

fn policy(policy_json: &str) -> PyResult<TrustPolicy> {
    let p: TrustPolicy = serde_json::from_str(policy_json).map_err(|e| {
        with_code::<VerificationError>("log_policy", format!("the transparency log policy is malformed: {e}"))
    })?;
    p.log_key().map_err(log_err)?;
    p.witness_keys().map_err(log_err)?;
    Ok(p)
}

/// A trust policy (JSON) checked; its fingerprint, to compare out of band (§4.1).
#[pyfunction]
pub fn log_policy_fingerprint(policy_json: &str) -> PyResult<String> {
    Ok(policy(policy_json)?.fingerprint())
}

/// Verifies the `log` proof of directory answer `entry_json` under `policy_json` at `now`
/// (unix seconds), and against `seen` (the last checkpoint note kept, if any): a rollback or
/// fork is refused. Returns the answer's checkpoint note when it is newer than `seen` (keep
/// it), else `None`.
#[pyfunction]
#[pyo3(signature = (policy_json, entry_json, seen, now))]
pub fn log_check(policy_json: &str, entry_json: &str, seen: Option<&str>, now: u64) -> PyResult<Option<String>> {
    let policy = policy(policy_json)?;
    let entry: DirectoryEntry = serde_json::from_str(entry_json)
        .map_err(|e| with_code::<VerificationError>("bad_directory_answer", format!("directory answer: {e}")))?;
    let Some(proof) = &entry.log else {
        return Err(log_err(LogError::NotInLog { reason: "the answer carries no transparency log proof".into() }));
    };
    let next = inclusion::verify_directory(&policy, &entry, proof, now).map_err(log_err)?;
    if let Some(seen) = seen
        && let Ok(prev) = policy.verify_signatures(seen)
        && !check_not_behind(&prev, &next).map_err(log_err)?
    {
        return Ok(None);
    }
    Ok(Some(next.note))
}

/// Verifies checkpoint `note` under `policy_json` at `now` and against `seen` (the last
/// checkpoint note kept, if any): a rollback or fork is refused, with both notes as the
/// error's `evidence`. Returns `note` when it is newer than `seen` (keep it), else `None`.
#[pyfunction]
#[pyo3(signature = (policy_json, note, seen, now))]
pub fn log_checkpoint_check(policy_json: &str, note: &str, seen: Option<&str>, now: u64) -> PyResult<Option<String>> {
    let policy = policy(policy_json)?;
    let next = policy.verify(note, now).map_err(log_err)?;
    if let Some(seen) = seen
        && let Ok(prev) = policy.verify_signatures(seen)
        && !check_not_behind(&prev, &next).map_err(log_err)?
    {
        return Ok(None);
    }
    Ok(Some(next.note))
}

/// The SDK's replica of the relay's log (docs/transparency.md §5): which tiles to fetch to
/// reach the relay's newest checkpoint, the step that applies them under the log's rules
/// (every entry checked, the rebuilt root against the checkpoint's), and the check that a
/// directory answer is what the log holds now. No I/O: `fxe` fetches and stores.
#[pyclass(module = "fxe._native")]
pub struct LogReplica {
    policy: TrustPolicy,
    replica: Replica,
    /// Every entry of the replica, in order.
    entries: Vec<Vec<u8>>,
    /// The checkpoint the last `tiles_needed` verified and the tiles it named, until
    /// `advance` applies them.
    next: Option<(VerifiedCheckpoint, Vec<Tile>)>,
}

#[pymethods]
impl LogReplica {
    /// A replica under `policy_json`, restored from `entries` (an entry bundle) and `note`
    /// (its checkpoint) when they still check; an empty one otherwise (the replica is a
    /// cache: the rollback check also rests on the checkpoint the SDK keeps).
    #[new]
    #[pyo3(signature = (policy_json, entries = None, note = None))]
    fn new(policy_json: &str, entries: Option<&[u8]>, note: Option<&str>) -> PyResult<LogReplica> {
        let policy = policy(policy_json)?;
        let empty = |policy| LogReplica { policy, replica: Replica::new(), entries: Vec::new(), next: None };
        let Some(mut decoded) = entries.and_then(|b| decode_bundle(b).ok()) else { return Ok(empty(policy)) };
        match Replica::restore(&policy, &decoded, note) {
            Ok(replica) => {
                // Entries kept past the checkpoint (cut off before it was saved) are dropped.
                decoded.truncate(usize::try_from(replica.size()).unwrap_or(usize::MAX));
                Ok(LogReplica { policy, replica, entries: decoded, next: None })
            }
            Err(_) => Ok(empty(policy)),
        }
    }

    /// How many entries the replica holds.
    #[getter]
    fn size(&self) -> u64 {
        self.replica.size()
    }

    /// The replica's checkpoint note, once it has one.
    #[getter]
    fn note(&self) -> Option<String> {
        self.replica.checkpoint().map(|c| c.note.clone())
    }

    /// Verifies `note` (the relay's newest checkpoint) under the policy at `now` (unix
    /// seconds) and returns the tile paths to fetch (below `/transparency/`), in order;
    /// `advance` applies them. A rollback or fork raises (`log_rollback`, `log_fork`).
    fn tiles_needed(&mut self, note: &str, now: u64) -> PyResult<Vec<String>> {
        let cp = self.policy.verify(note, now).map_err(log_err)?;
        let tiles = self.replica.tiles_needed(&cp).map_err(log_err)?;
        let paths = tiles.iter().map(Tile::path).collect();
        self.next = Some((cp, tiles));
        Ok(paths)
    }

    /// Applies the bodies of the tiles the last `tiles_needed` named, in its order, and
    /// accepts its checkpoint; the number of entries applied. On any failure the replica is
    /// unchanged (`log_invalid`, `log_fork`, `log_proof`).
    fn advance(&mut self, py: Python<'_>, tiles: Vec<Vec<u8>>) -> PyResult<u64> {
        let Some((cp, named)) = self.next.take() else {
            return Err(with_code::<VerificationError>("log_proof", "advance needs tiles_needed first".to_owned()));
        };
        if named.len() != tiles.len() {
            return Err(with_code::<VerificationError>(
                "log_proof",
                format!("{} tiles were named and {} given", named.len(), tiles.len()),
            ));
        }
        let bundles: Vec<(Tile, Vec<u8>)> = named.into_iter().zip(tiles).collect();
        let from = self.replica.size();
        let replica = &mut self.replica;
        let applied = py.detach(|| replica.advance(cp, &bundles)).map_err(log_err)?;
        self.entries.extend(entries_between(&bundles, from, self.replica.size()).map_err(log_err)?);
        Ok(u64::try_from(applied.len()).unwrap_or(u64::MAX))
    }

    /// The replica's entries as one entry bundle, to keep beside its `note`.
    fn entries_bundle<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = encode_bundle(&self.entries).map_err(log_err)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Checks directory answer `entry_json` against the replica: the number bound to that
    /// org now, with that identity, and the bundle its current one (`not_in_log` if not).
    fn check_directory(&self, entry_json: &str) -> PyResult<()> {
        let entry: DirectoryEntry = serde_json::from_str(entry_json)
            .map_err(|e| with_code::<VerificationError>("bad_directory_answer", format!("directory answer: {e}")))?;
        self.replica.state().check_directory(&entry).map_err(|e| {
            with_code::<VerificationError>(
                "not_in_log",
                format!(
                    "the relay's answer is not what its transparency log holds now: {e}; nothing was sent or opened"
                ),
            )
        })
    }

    /// Checks an org's keys as the relay gave them by id against the replica: the org is
    /// logged with identity `identity_pub` and `bundle_json` is one of its logged bundles
    /// (`not_in_log` if not).
    fn check_org_bundle(&self, org_id: &str, identity_pub: &[u8], bundle_json: &str) -> PyResult<()> {
        let identity = key32("identity_pub", identity_pub)?;
        let bundle = Bundle::from_json(bundle_json).or_raise()?;
        self.replica.state().check_org_bundle(org_id, &identity, &bundle).map_err(|e| {
            with_code::<VerificationError>(
                "not_in_log",
                format!("org {org_id}'s keys are not what the relay's transparency log holds: {e}; nothing was opened"),
            )
        })
    }
}
