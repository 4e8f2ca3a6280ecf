//! The ciphertext store. Encrypted faxes are files, never database rows.
//!
//! Writing is two-step so that nothing half-written or unverified is ever
//! visible: [`BlobStore::stage`] streams a body into a temporary object while
//! counting its length and computing its SHA-256, then the caller checks those
//! against what the envelope promised and either [`BlobStore::publish`]es the
//! staged object under its key (an atomic, no-clobber rename) or drops it,
//! which deletes it. Temporaries left behind by a crash are found with
//! [`BlobStore::list_temp`] and removed by [`BlobStore::sweep_temp`] (run at
//! every start).
//!
//! [`LocalBlobStore`] keeps everything under one folder (`<data-dir>/blobs/`):
//! `tmp/<random>.part` while staging, `objects/<first two chars of the key>/<key>`
//! once published. Both are on the same file system, so publishing is a
//! rename; files and directories are synced so that a published blob survives
//! a power cut.
//!
//! [`S3BlobStore`] (`--blob-store s3://bucket/prefix`) keeps them in an
//! S3-compatible bucket shared by several relay instances; see its module.

use std::{
    fmt, io,
    ops::Range,
    path::{Path, PathBuf},
    pin::Pin,
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

mod local;
mod s3;

pub use local::{LocalBlobStore, create_private_dir};
pub use s3::{DEFAULT_S3_REGION, PART_SIZE, PARTS_IN_FLIGHT, S3BlobStore, S3Settings};

/// A body being written to, or read from, the store.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'static>>;

/// Size of the chunks a read yields.
const READ_CHUNK: usize = 64 * 1024;
/// Longest key accepted.
const MAX_KEY_LEN: usize = 128;

/// The name of a published blob: 1 to 128 characters from `[a-z0-9_-]`
/// (a `message_id` is one), so it is always a safe file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn new(key: impl Into<String>) -> Result<Self, BlobError> {
        let key = key.into();
        let valid = !key.is_empty()
            && key.len() <= MAX_KEY_LEN
            && key.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'));
        if valid { Ok(BlobKey(key)) } else { Err(BlobError::InvalidKey) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a temporary (staging) object, as listed by
/// [`BlobStore::list_temp`]. Same alphabet as [`BlobKey`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TempId(String);

impl TempId {
    pub fn new(id: impl Into<String>) -> Result<Self, BlobError> {
        BlobKey::new(id).map(|key| TempId(key.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which bytes of a blob to read, as in an HTTP `Range: bytes=` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// The whole blob.
    Full,
    /// From this offset to the end (`bytes=500-`).
    From(u64),
    /// From the first to the last offset, both included (`bytes=0-499`).
    Inclusive(u64, u64),
    /// The last n bytes (`bytes=-500`).
    Suffix(u64),
}

impl ByteRange {
    /// The half-open byte range this selects in a blob of `len` bytes, or
    /// `None` if it selects nothing (HTTP 416). `Full` always resolves.
    pub fn resolve(self, len: u64) -> Option<Range<u64>> {
        match self {
            ByteRange::Full => Some(0..len),
            ByteRange::From(start) => (start < len).then_some(start..len),
            ByteRange::Inclusive(start, last) => {
                (start <= last && start < len).then(|| start..last.saturating_add(1).min(len))
            }
            ByteRange::Suffix(n) => (n > 0 && len > 0).then(|| len - n.min(len)..len),
        }
    }
}

/// What went wrong with a blob operation.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such blob")]
    NotFound,
    #[error("a blob with this key already exists")]
    AlreadyExists,
    #[error("the body is larger than {max} bytes")]
    TooLarge { max: u64 },
    #[error("the requested range is not satisfiable (the blob has {len} bytes)")]
    RangeNotSatisfiable { len: u64 },
    #[error("invalid blob key")]
    InvalidKey,
    /// Reading the incoming body failed (the client went away, a timeout).
    #[error("reading the body failed: {0}")]
    Body(#[source] io::Error),
    /// The store itself failed (disk full, permissions…).
    #[error("blob storage failed: {0}")]
    Io(#[from] io::Error),
}

/// What every backend's `stage` does with each chunk of a body: counts it
/// against the caller's limit and hashes it, so both stores refuse the same
/// bodies and report the same length and SHA-256.
pub(crate) struct Metered {
    hasher: Sha256,
    len: u64,
    max_len: u64,
}

impl Metered {
    pub(crate) fn new(max_len: u64) -> Self {
        Metered { hasher: Sha256::new(), len: 0, max_len }
    }

    /// Counts and hashes `chunk`; [`BlobError::TooLarge`] once the body passes `max_len`.
    pub(crate) fn take(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        self.len = self.len.saturating_add(chunk.len() as u64);
        if self.len > self.max_len {
            return Err(BlobError::TooLarge { max: self.max_len });
        }
        self.hasher.update(chunk);
        Ok(())
    }

    /// The body's length and SHA-256.
    pub(crate) fn finish(self) -> (u64, [u8; 32]) {
        (self.len, self.hasher.finalize().into())
    }
}

/// A staged body: written, synced, measured, not yet visible under a key.
/// Dropping it without [`BlobStore::publish`] deletes it.
pub struct StagedBlob {
    id: TempId,
    len: u64,
    sha256: [u8; 32],
    discard: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl StagedBlob {
    /// Builds a staged blob for a [`BlobStore`] implementation; `discard`
    /// runs on drop unless the store disarms it when publishing.
    pub fn new(id: TempId, len: u64, sha256: [u8; 32], discard: Box<dyn FnOnce() + Send + Sync>) -> Self {
        StagedBlob { id, len, sha256, discard: Some(discard) }
    }

    pub fn temp_id(&self) -> &TempId {
        &self.id
    }

    /// Number of bytes received.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// SHA-256 of the bytes received.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// For stores: the object has been moved, do not delete it on drop.
    pub fn disarm(&mut self) {
        self.discard = None;
    }
}

impl fmt::Debug for StagedBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StagedBlob")
            .field("id", &self.id)
            .field("len", &self.len)
            .field("sha256", &hex::encode(self.sha256))
            .finish()
    }
}

impl Drop for StagedBlob {
    fn drop(&mut self) {
        if let Some(discard) = self.discard.take() {
            discard();
        }
    }
}

/// A blob opened for reading.
pub struct BlobRead {
    /// Length of the whole blob.
    pub total_len: u64,
    /// The bytes `body` yields (half-open).
    pub range: Range<u64>,
    pub body: ByteStream,
}

impl fmt::Debug for BlobRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobRead")
            .field("total_len", &self.total_len)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// A temporary object found by [`BlobStore::list_temp`].
#[derive(Clone, Debug)]
pub struct TempBlob {
    pub id: TempId,
    pub len: u64,
    pub modified: SystemTime,
}

/// Where ciphertext lives. Implementations must make [`publish`](Self::publish)
/// atomic: a reader sees either nothing or the whole, verified blob.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Streams `body` into a new temporary object, failing with
    /// [`BlobError::TooLarge`] as soon as it exceeds `max_len` bytes. On any
    /// error (or if the future is dropped) nothing is left behind.
    async fn stage(&self, body: ByteStream, max_len: u64) -> Result<StagedBlob, BlobError>;

    /// Makes a staged object visible under `key`. Fails with
    /// [`BlobError::AlreadyExists`] (and discards the staged object) if the
    /// key is taken: blobs are never overwritten.
    async fn publish(&self, staged: StagedBlob, key: &BlobKey) -> Result<(), BlobError>;

    /// Opens `key` for reading `range` of it.
    async fn open(&self, key: &BlobKey, range: ByteRange) -> Result<BlobRead, BlobError>;

    /// The length of a published blob.
    async fn len(&self, key: &BlobKey) -> Result<u64, BlobError>;

    /// Deletes a published blob; `Ok(false)` if there was none.
    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError>;

    /// Temporary objects currently present (in-flight uploads and leftovers
    /// of crashes).
    async fn list_temp(&self) -> Result<Vec<TempBlob>, BlobError>;

    /// Deletes a temporary object; `Ok(false)` if there was none.
    async fn remove_temp(&self, id: &TempId) -> Result<bool, BlobError>;

    /// Checks that the store accepts writes right now (for `/readyz`).
    async fn check_writable(&self) -> Result<(), BlobError>;

    /// This relay process's id in the store.
    fn instance(&self) -> &str;

    /// Whether the relay instance `id` is still running (its lock is held).
    async fn instance_alive(&self, id: &str) -> bool;

    /// Removes partial uploads whose writer is known to be gone (see [`LocalBlobStore`]).
    async fn sweep_orphans(&self) -> Result<usize, BlobError> {
        Ok(0)
    }

    /// Stages and publishes in one go, returning the length and SHA-256.
    async fn put(&self, key: &BlobKey, body: ByteStream, max_len: u64) -> Result<(u64, [u8; 32]), BlobError> {
        let staged = self.stage(body, max_len).await?;
        let summary = (staged.len(), *staged.sha256());
        self.publish(staged, key).await?;
        Ok(summary)
    }

    /// Removes temporary objects not modified for `older_than` (uploads
    /// abandoned by a crash); returns how many were removed.
    async fn sweep_temp(&self, older_than: Duration) -> Result<usize, BlobError> {
        let now = SystemTime::now();
        let mut removed = 0;
        for temp in self.list_temp().await? {
            let age = now.duration_since(temp.modified).unwrap_or_default();
            if age >= older_than && self.remove_temp(&temp.id).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
