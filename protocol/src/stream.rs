//! The STREAM payload (PROTOCOL.md §4 step 7): fixed-size chunks sealed with
//! AES-256-GCM under `payload_key`, nonce `u88be(i) || flag` (flag 0x01 on the
//! last chunk), empty aad; every chunk but the last is full, the last is
//! non-empty unless the plaintext is empty.

use crate::error::OpenError;
use crate::{Error, Result};
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use sha2::Digest;

/// The chunk size v1 senders use: 1 MiB.
pub const V1_CHUNK_SIZE: u64 = 1 << 20;
/// The smallest chunk size a receiver accepts: 16 KiB.
pub const MIN_CHUNK_SIZE: u64 = 16 * 1024;
/// The largest chunk size a receiver accepts: 16 MiB.
pub const MAX_CHUNK_SIZE: u64 = 16 * 1024 * 1024;
/// The AES-GCM tag each sealed chunk ends with, in bytes.
pub const TAG_LEN: u64 = 16;
/// [`TAG_LEN`] as a buffer length.
pub(crate) const TAG_SIZE: usize = 16;

/// Receivers accept powers of two from 16 KiB to 16 MiB.
pub fn valid_chunk_size(chunk_size: u64) -> bool {
    chunk_size.is_power_of_two() && (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size)
}

/// The canonical ciphertext length of a plaintext of `plaintext_len` bytes
/// (meaningless, but no panic, for an invalid `chunk_size`).
pub fn ciphertext_len(plaintext_len: u64, chunk_size: u64) -> u64 {
    let chunks = if plaintext_len == 0 { 1 } else { plaintext_len.div_ceil(chunk_size.max(1)) };
    plaintext_len.saturating_add(chunks.saturating_mul(TAG_LEN))
}

/// The plaintext length for a canonical ciphertext length, or an error for any other.
pub fn plaintext_len(ciphertext_len: u64, chunk_size: u64) -> Result<u64> {
    if !valid_chunk_size(chunk_size) {
        return Err(Error::invalid("chunk_size", "must be a power of two from 16384 to 16777216"));
    }
    if ciphertext_len == TAG_LEN {
        return Ok(0);
    }
    let full = chunk_size + TAG_LEN;
    if ciphertext_len < TAG_LEN + 1 {
        return Err(Error::invalid("ciphertext_len", "shorter than one sealed chunk"));
    }
    let n_full = (ciphertext_len - (TAG_LEN + 1)) / full;
    let last = ciphertext_len - n_full * full;
    if !(TAG_LEN + 1..=full).contains(&last) {
        return Err(Error::invalid("ciphertext_len", "not a canonical length for this chunk size"));
    }
    Ok(ciphertext_len - (n_full + 1) * TAG_LEN)
}

/// The nonce of chunk `index`: `u88be(index) || flag`, flag 0x01 on the last chunk.
fn nonce_bytes(index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

fn nonce(index: u64, last: bool) -> aes_gcm::aead::Nonce<Aes256Gcm> {
    nonce_bytes(index, last).into()
}

/// One chunk of a STREAM payload, as a caller that runs the AES-256-GCM step
/// itself (the browser, through WebCrypto) needs it: where the chunk lies in
/// the plaintext and in the ciphertext, its nonce and its (empty) AAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedChunk {
    /// The chunk's position, from 0.
    pub index: u64,
    /// Whether this is the final chunk (its nonce's flag is 0x01).
    pub last: bool,
    /// The AES-GCM nonce (96 bits).
    pub nonce: [u8; 12],
    /// Where the chunk's plaintext starts.
    pub plaintext_offset: u64,
    /// How many plaintext bytes it has.
    pub plaintext_len: usize,
    /// Where the sealed chunk starts in the ciphertext.
    pub ciphertext_offset: u64,
    /// How many bytes the sealed chunk has (`plaintext_len` + the 16-byte tag).
    pub ciphertext_len: usize,
}

impl PlannedChunk {
    /// The AES-GCM additional data of every chunk: none.
    pub const AAD: &'static [u8] = &[];
    /// The AES-GCM tag length, in bits.
    pub const TAG_BITS: u8 = 128;
}

/// Every chunk of one payload: the payload key and, for each chunk, its
/// nonce, offsets and lengths ([`PlannedChunk`]). Made by the protocol from a
/// checked envelope or sealer, so a caller that seals or opens the chunks
/// with another AES-GCM implementation cannot get them wrong.
pub struct ChunkPlan {
    payload_key: zeroize::Zeroizing<[u8; 32]>,
    chunk_size: u64,
    plaintext_len: u64,
    chunks: u64,
}

impl ChunkPlan {
    /// The plan of a `plaintext_len`-byte payload in `chunk_size` chunks.
    /// Fails with [`Error::Invalid`] for an invalid chunk size or a ciphertext over `max_ciphertext_len`.
    pub(crate) fn new(
        payload_key: &[u8; 32], chunk_size: u64, plaintext_len: u64, max_ciphertext_len: u64,
    ) -> Result<Self> {
        if !valid_chunk_size(chunk_size) {
            return Err(Error::invalid("chunk_size", "must be a power of two from 16384 to 16777216"));
        }
        // A chunk is at most 16 MiB, so its lengths fit a usize on every target.
        usize::try_from(chunk_size + TAG_LEN).map_err(|_| Error::invalid("chunk_size", "too large here"))?;
        if ciphertext_len(plaintext_len, chunk_size) > max_ciphertext_len {
            return Err(Error::invalid(
                "plaintext",
                format!("too large: the sealed fax would exceed {max_ciphertext_len} bytes"),
            ));
        }
        let chunks = if plaintext_len == 0 { 1 } else { plaintext_len.div_ceil(chunk_size) };
        Ok(ChunkPlan { payload_key: zeroize::Zeroizing::new(*payload_key), chunk_size, plaintext_len, chunks })
    }

    /// The AES-256-GCM key of every chunk. Keep it out of reach (a non-extractable WebCrypto key).
    pub fn payload_key(&self) -> &[u8; 32] {
        &self.payload_key
    }

    /// The plaintext chunk size.
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// The payload's plaintext length.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// The sealed payload's (canonical) length.
    pub fn ciphertext_len(&self) -> u64 {
        ciphertext_len(self.plaintext_len, self.chunk_size)
    }

    /// How many chunks the payload has (at least one).
    pub fn chunk_count(&self) -> u64 {
        self.chunks
    }

    /// Chunk `index`, `None` past the last.
    pub fn chunk(&self, index: u64) -> Option<PlannedChunk> {
        if index >= self.chunks {
            return None;
        }
        let last = index + 1 == self.chunks;
        let plaintext_offset = index * self.chunk_size;
        let len = if last { self.plaintext_len - plaintext_offset } else { self.chunk_size };
        // len <= chunk_size, checked to fit a usize in `new`.
        let plaintext_len = usize::try_from(len).unwrap_or(usize::MAX - TAG_SIZE);
        Some(PlannedChunk {
            index,
            last,
            nonce: nonce_bytes(index, last),
            plaintext_offset,
            plaintext_len,
            ciphertext_offset: index * (self.chunk_size + TAG_LEN),
            ciphertext_len: plaintext_len + TAG_SIZE,
        })
    }

    /// Every chunk, in order.
    pub fn chunks(&self) -> impl Iterator<Item = PlannedChunk> + '_ {
        (0..self.chunks).filter_map(|i| self.chunk(i))
    }
}

/// Where a caller running the AES-GCM step itself is in a [`ChunkPlan`]: it
/// reports each chunk's result in order, and the protocol refuses one out of
/// order, of the wrong length, or a finish before the final chunk.
pub(crate) struct PlanProgress {
    plan: ChunkPlan,
    done: u64,
}

impl PlanProgress {
    pub fn new(plan: ChunkPlan) -> Self {
        PlanProgress { plan, done: 0 }
    }

    pub fn plan(&self) -> &ChunkPlan {
        &self.plan
    }

    /// Records that `chunk` gave `len` bytes, where `expected` says how many it must give.
    pub fn record(
        &mut self, chunk: &PlannedChunk, len: usize, expected: usize,
    ) -> std::result::Result<(), &'static str> {
        if self.plan.chunk(chunk.index).as_ref() != Some(chunk) {
            return Err("a chunk that is not the plan's");
        }
        if chunk.index != self.done {
            return Err("a chunk out of order");
        }
        if len != expected {
            return Err("a chunk of the wrong length");
        }
        self.done += 1;
        Ok(())
    }

    pub fn is_complete(&self) -> bool {
        self.done == self.plan.chunks
    }
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(&(*key).into())
}

/// Seals a payload chunk by chunk. Feed full chunks, then the last with `last = true`.
pub(crate) struct PayloadSealer {
    cipher: Aes256Gcm,
    chunk_size: usize,
    index: u64,
    finished: bool,
    hasher: CiphertextHasher,
}

impl PayloadSealer {
    pub fn new(payload_key: &[u8; 32], chunk_size: u64) -> Result<Self> {
        if !valid_chunk_size(chunk_size) {
            return Err(Error::invalid("chunk_size", "must be a power of two from 16384 to 16777216"));
        }
        Ok(PayloadSealer {
            cipher: cipher(payload_key),
            chunk_size: usize::try_from(chunk_size).map_err(|_| Error::invalid("chunk_size", "too large here"))?,
            index: 0,
            finished: false,
            hasher: CiphertextHasher::new(),
        })
    }

    /// The plaintext chunk size: every chunk but the last has exactly this many bytes.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Seals `buf` in place (the tag is appended). `buf` must hold exactly one full
    /// chunk, or for the last chunk 1..=chunk_size bytes (0 only when it is also the first).
    pub fn seal_in_place(&mut self, buf: &mut Vec<u8>, last: bool) -> Result<()> {
        if self.finished {
            return Err(Error::Seal("a chunk after the final chunk"));
        }
        if !last && buf.len() != self.chunk_size {
            return Err(Error::Seal("every chunk but the last must be full"));
        }
        if last && (buf.len() > self.chunk_size || (buf.is_empty() && self.index > 0)) {
            return Err(Error::Seal("the last chunk must be 1..=chunk_size bytes (empty only for an empty payload)"));
        }
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce(self.index, last), &[], buf.as_mut_slice().into())
            .map_err(|_| Error::Seal("chunk encryption failed"))?;
        buf.extend_from_slice(tag.as_slice());
        self.hasher.update(buf);
        self.index += 1;
        self.finished = last;
        Ok(())
    }

    /// Whether a chunk was sealed.
    pub fn started(&self) -> bool {
        self.index > 0
    }

    /// Returns `(ciphertext_len, H(ciphertext))`; fails if the last chunk was not sealed.
    pub fn finish(self) -> Result<(u64, [u8; 32])> {
        if !self.finished {
            return Err(Error::Seal("the payload was not finished with a last chunk"));
        }
        Ok(self.hasher.finish())
    }
}

/// Opens a payload chunk by chunk. The chunk boundaries follow from the
/// (canonical) ciphertext length, so the final chunk is known by position and
/// a truncated, extended or reordered payload fails authentication.
pub(crate) struct PayloadOpener {
    cipher: Aes256Gcm,
    /// A full sealed chunk's length (`chunk_size + TAG_LEN`), as a buffer length.
    sealed_chunk: usize,
    ciphertext_len: u64,
    offset: u64,
    index: u64,
    hasher: CiphertextHasher,
    /// False when the caller checked the whole ciphertext's hash before opening.
    hashing: bool,
}

impl PayloadOpener {
    pub fn new(payload_key: &[u8; 32], chunk_size: u64, ciphertext_len: u64) -> Result<Self> {
        plaintext_len(ciphertext_len, chunk_size)?;
        let sealed_chunk =
            usize::try_from(chunk_size + TAG_LEN).map_err(|_| Error::invalid("chunk_size", "too large here"))?;
        Ok(PayloadOpener {
            cipher: cipher(payload_key),
            sealed_chunk,
            ciphertext_len,
            offset: 0,
            index: 0,
            hasher: CiphertextHasher::new(),
            hashing: true,
        })
    }

    /// For a ciphertext whose length and SHA-256 were already checked as a whole:
    /// the chunks are not hashed a second time, and [`Self::finish`] returns the
    /// hash of nothing (the caller must not compare it).
    pub(crate) fn without_hashing(mut self) -> Self {
        self.hashing = false;
        self
    }

    /// How many sealed bytes the next chunk has; `None` once the final chunk is open.
    pub fn next_chunk_len(&self) -> Option<usize> {
        let remaining = self.ciphertext_len - self.offset;
        if remaining == 0 {
            return None;
        }
        // A remainder too large for usize is larger than any chunk.
        Some(usize::try_from(remaining).map_or(self.sealed_chunk, |r| r.min(self.sealed_chunk)))
    }

    pub fn is_complete(&self) -> bool {
        self.offset == self.ciphertext_len
    }

    /// Whether no chunk was opened yet.
    pub fn is_unstarted(&self) -> bool {
        self.index == 0
    }

    /// Opens the next chunk in place (the tag is removed). `buf` must be exactly
    /// [`Self::next_chunk_len`] bytes. On error `buf` is wiped: nothing unauthenticated is released.
    pub fn open_in_place(&mut self, buf: &mut Vec<u8>) -> Result<()> {
        let Some(expected) = self.next_chunk_len() else {
            return Err(OpenError::TrailingData.into());
        };
        if buf.len() != expected {
            return Err(OpenError::MissingFinalChunk.into());
        }
        if self.hashing {
            self.hasher.update(buf);
        }
        let last = self.offset + expected as u64 == self.ciphertext_len;
        let split = buf.len() - TAG_SIZE;
        let tag: [u8; 16] = buf[split..].try_into().map_err(|_| Error::Open(OpenError::ChunkTag))?;
        buf.truncate(split);
        let r =
            self.cipher.decrypt_inout_detached(&nonce(self.index, last), &[], buf.as_mut_slice().into(), &tag.into());
        if r.is_err() {
            zeroize::Zeroize::zeroize(buf);
            buf.clear();
            return Err(OpenError::ChunkTag.into());
        }
        self.offset += expected as u64;
        self.index += 1;
        Ok(())
    }

    /// Fails unless the final chunk was opened. Returns `(ciphertext_len, H(ciphertext))` as seen.
    pub fn finish(self) -> Result<(u64, [u8; 32])> {
        if !self.is_complete() {
            return Err(OpenError::MissingFinalChunk.into());
        }
        Ok(self.hasher.finish())
    }
}

/// Accumulates the length and SHA-256 of a ciphertext as its chunks pass.
#[derive(Clone, Default)]
pub struct CiphertextHasher {
    sha: sha2::Sha256,
    len: u64,
}

impl CiphertextHasher {
    /// A hasher that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds the next bytes of the ciphertext.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        self.len += bytes.len() as u64;
    }
    /// How many bytes it has seen.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Whether it has seen no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// `(length, SHA-256)` of everything seen.
    pub fn finish(self) -> (u64, [u8; 32]) {
        (self.len, self.sha.finalize().into())
    }
}

/// Reads until `buf` holds `want` bytes or the reader ends; returns how many were read.
pub(crate) fn read_up_to<R: std::io::Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> Result<usize> {
    buf.clear();
    buf.resize(want, 0);
    let mut filled = 0;
    while filled < want {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Io(e.to_string())),
        }
    }
    buf.truncate(filled);
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn canonical_lengths() {
        let c = 16384u64;
        assert_eq!(ciphertext_len(0, c), 16);
        assert_eq!(ciphertext_len(1, c), 17);
        assert_eq!(ciphertext_len(c, c), c + 16);
        assert_eq!(ciphertext_len(c + 1, c), c + 16 + 17);
        for p in [0, 1, 2, c - 1, c, c + 1, 3 * c, 3 * c + 5] {
            assert_eq!(plaintext_len(ciphertext_len(p, c), c).unwrap(), p, "{p}");
        }
        for bad in [0, 1, 15, 17 + c, c + 32, c + 16 + 16, 2 * (c + 16) + 16] {
            assert!(plaintext_len(bad, c).is_err(), "{bad}");
        }
        assert!(plaintext_len(100, 1000).is_err());
        assert!(plaintext_len(100, 8192).is_err());
        assert!(plaintext_len(100, 32 * 1024 * 1024).is_err());
        // Invalid chunk sizes give a meaningless length, never a panic.
        assert_eq!(ciphertext_len(5, 0), 5 + 5 * 16);
        assert_eq!(ciphertext_len(u64::MAX, 1), u64::MAX);
    }
}
