//! The relay's key transparency log as the SDK checks it (docs/transparency.md
//! §4, §6): a trust policy read and fingerprinted, and a directory answer's
//! proof verified under it and against the last checkpoint the SDK kept.

use crate::errors::VerificationError;
use crate::errors::with_code;
use fxe_protocol::api::DirectoryEntry;
use fxe_protocol::transparency::{LogError, TrustPolicy, check_not_behind, inclusion};
use pyo3::prelude::*;

fn log_err(e: LogError) -> PyErr {
    let code = match &e {
        LogError::Rollback { .. } => "log_rollback",
        LogError::Fork { .. } => "log_fork",
        LogError::InvalidEntry { .. } => "log_invalid",
        LogError::NotInLog { .. } => "not_in_log",
        LogError::Stale { .. } => "log_stale",
        LogError::Quorum { .. } => "log_quorum",
        LogError::Signature(_) => "log_signature",
        LogError::Proof(_) | LogError::Malformed { .. } => "log_proof",
    };
    with_code::<VerificationError>(
        code,
        format!("the relay's transparency log does not back its answer: {e}; nothing was sent or opened"),
    )
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
