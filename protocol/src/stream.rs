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

fn nonce(index: u64, last: bool) -> aes_gcm::aead::Nonce<Aes256Gcm> {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n.into()
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
