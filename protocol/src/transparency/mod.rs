//! Key transparency (docs/transparency.md): the relay logs every directory
//! fact it attests (identities, bundles, number bindings and releases,
//! retirements) in an append-only RFC 6962 Merkle log published in the C2SP
//! formats (signed-note checkpoints, tlog-tiles, tlog-cosignature witnesses),
//! and every member client checks what it is told against it.
//!
//! * [`merkle`]: hashing, tree heads, inclusion and consistency proofs.
//! * [`note`]: signed notes, verifier keys, witness cosignatures.
//! * [`checkpoint`]: checkpoints, the pinned [`TrustPolicy`], rollback and fork checks.
//! * [`entry`]: the entries' canonical bytes and entry bundles.
//! * [`state`]: the rules and the directory a log implies.
//! * [`replica`]: a client's replica kept in step with verified checkpoints (rollback, fork).
//! * [`sequence`]: the relay's side: directory facts into the next valid entries.
//! * [`monitor`]: an org watching the log for changes about itself it did not make.
//! * [`tile`]: tile paths and contents.
//! * [`witness`]: the witness's `add-checkpoint` decision.
//! * [`inclusion`]: a directory answer's inclusion proofs under a witnessed checkpoint.
//!
//! The C2SP parts are written here rather than taken from `tlog_tiles` /
//! `signed_note` (Go ports): those pull a second ed25519-dalek, sha2 and
//! base64 generation plus `url`/ICU into the browser's WASM, and neither
//! has cosignatures; what fxe needs is small and tested against RFC 6962's
//! and Go's published examples.

pub mod checkpoint;
pub mod entry;
pub mod inclusion;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod replica;
pub mod sequence;
pub mod state;
pub mod tile;
pub mod witness;

pub use checkpoint::{Checkpoint, TrustPolicy, VerifiedCheckpoint, check_extends, check_not_behind};
pub use entry::Entry;
pub use merkle::Hash;
pub use note::{KeyKind, NoteKey, SignedNote};
pub use replica::{Applied, Replica, entries_between};
pub use sequence::{Fact, Sequenced};
pub use state::LogState;

/// Everything that can go wrong checking the log. A [`LogError::Fork`] or
/// [`LogError::Rollback`] carries both signed checkpoints: keep them, they are
/// the evidence that the relay showed two views.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LogError {
    /// A note, checkpoint, key, entry, tile path or proof is not well formed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A log signature or a witness cosignature does not verify.
    #[error("transparency log signature: {0}")]
    Signature(String),
    /// Fewer witnesses cosigned than the policy requires.
    #[error("only {have} of the {need} witnesses required cosigned the log's checkpoint")]
    Quorum {
        /// Valid cosignatures by distinct pinned witnesses.
        have: usize,
        /// The policy's quorum.
        need: usize,
    },
    /// The witnesses' quorum is older than the policy allows: the relay may be holding back the log.
    #[error("the log's checkpoint was last witnessed {age} s ago (at most {max_age} s allowed)")]
    Stale {
        /// Seconds since the quorum cosigned.
        age: u64,
        /// The policy's limit.
        max_age: u64,
    },
    /// A proof does not verify.
    #[error("transparency proof: {0}")]
    Proof(String),
    /// The relay offered a smaller log than one already seen.
    #[error("the relay rolled its transparency log back (evidence: both signed checkpoints)")]
    Rollback {
        /// The checkpoint seen before.
        seen: String,
        /// The smaller one offered now.
        offered: String,
    },
    /// Two checkpoints that cannot both be honest: the relay showed a split view.
    #[error("the relay's transparency log forked: two signed checkpoints are inconsistent (evidence kept)")]
    Fork {
        /// The checkpoint seen before.
        seen: String,
        /// The inconsistent one offered now.
        offered: String,
    },
    /// The log contains an entry that breaks its rules: the log itself is invalid.
    #[error("transparency log entry {index} is invalid: {reason}")]
    InvalidEntry {
        /// The entry's index.
        index: u64,
        /// The rule it breaks.
        reason: String,
    },
    /// A directory answer is not what the log says.
    #[error("the directory's answer is not in the transparency log: {reason}")]
    NotInLog {
        /// What differs.
        reason: String,
    },
}

impl LogError {
    /// The error's stable code, as clients report it (`fxe-client --json`,
    /// the Python SDK's `code`; docs/cli.md, docs/python.md): `log_rollback`,
    /// `log_fork`, `log_invalid`, `not_in_log`, `log_stale`, `log_quorum`,
    /// `log_signature` or `log_proof`.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            LogError::Rollback { .. } => "log_rollback",
            LogError::Fork { .. } => "log_fork",
            LogError::InvalidEntry { .. } => "log_invalid",
            LogError::NotInLog { .. } => "not_in_log",
            LogError::Stale { .. } => "log_stale",
            LogError::Quorum { .. } => "log_quorum",
            LogError::Signature(_) => "log_signature",
            LogError::Proof(_) | LogError::Malformed { .. } => "log_proof",
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        LogError::Malformed { what, reason: reason.into() }
    }

    pub(crate) fn signature(reason: impl Into<String>) -> Self {
        LogError::Signature(reason.into())
    }

    pub(crate) fn proof(reason: impl Into<String>) -> Self {
        LogError::Proof(reason.into())
    }
}
