//! The bulk of a fax through the browser's WebCrypto (`crypto.subtle`): the
//! AES-256-GCM of each STREAM chunk and the SHA-256 of the whole ciphertext.
//! What to run comes from `fxe_protocol`'s chunk plan (key, nonce, AAD and
//! lengths of every chunk) and every result goes back to it; KEM, signatures,
//! key derivation and every check stay in the protocol crate.
//!
//! WebCrypto runs each operation off the main thread, so a few chunks are kept
//! in flight at once ([`InFlight`]) and the page stays responsive: each
//! await hands the event loop back.

use std::collections::VecDeque;

use fxe_protocol::stream::PlannedChunk;
use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How many chunks (1 MiB each) are sealed or opened at once.
const IN_FLIGHT: usize = 4;

const BROWSER: &str = "This browser cannot seal or open faxes (WebCrypto is unavailable).";

fn subtle() -> Result<web_sys::SubtleCrypto, String> {
    let crypto = web_sys::window().ok_or(BROWSER)?.crypto().map_err(|_| BROWSER.to_string())?;
    Ok(crypto.subtle())
}

fn aes_gcm() -> Object {
    let algorithm = Object::new();
    let _ = js_sys::Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into());
    algorithm
}

/// A payload key imported into WebCrypto, non-extractable, for one direction.
pub struct PayloadKey {
    subtle: web_sys::SubtleCrypto,
    key: web_sys::CryptoKey,
}

/// Which way a [`PayloadKey`] works.
#[derive(Clone, Copy)]
pub enum Direction {
    Seal,
    Open,
}

impl PayloadKey {
    /// Imports the plan's `payload_key` (its JS copy is wiped once imported).
    pub async fn import(payload_key: &[u8; 32], direction: Direction) -> Result<PayloadKey, String> {
        let subtle = subtle()?;
        let raw = Uint8Array::from(payload_key.as_slice());
        let usage = match direction {
            Direction::Seal => "encrypt",
            Direction::Open => "decrypt",
        };
        let imported = subtle
            .import_key_with_object("raw", &raw, &aes_gcm(), false, &Array::of1(&usage.into()))
            .map(JsFuture::from);
        let key = match imported {
            Ok(pending) => pending.await,
            Err(e) => Err(e),
        };
        raw.fill(0, 0, raw.length());
        let key = key.and_then(|k| k.dyn_into::<web_sys::CryptoKey>());
        Ok(PayloadKey { subtle, key: key.map_err(|_| BROWSER.to_string())? })
    }

    fn params(chunk: &PlannedChunk) -> web_sys::AesGcmParams {
        let params = web_sys::AesGcmParams::new("AES-GCM", &Uint8Array::from(chunk.nonce.as_slice()));
        params.set_additional_data(&Uint8Array::from(PlannedChunk::AAD));
        params.set_tag_length(PlannedChunk::TAG_BITS);
        params
    }

    /// Starts sealing `plaintext`, the bytes of `chunk` (WebCrypto copies them now).
    pub fn encrypt(&self, chunk: &PlannedChunk, plaintext: &Uint8Array) -> Result<JsFuture, String> {
        self.subtle
            .encrypt_with_object_and_js_u8_array(&Self::params(chunk), &self.key, plaintext)
            .map(JsFuture::from)
            .map_err(|_| "Sealing failed: the browser refused to encrypt.".to_string())
    }

    /// Starts opening `sealed`, the bytes of `chunk` (WebCrypto copies them now).
    /// The answer is an error when the chunk's tag does not verify.
    pub fn decrypt(&self, chunk: &PlannedChunk, sealed: &Uint8Array) -> Result<JsFuture, String> {
        self.subtle
            .decrypt_with_object_and_js_u8_array(&Self::params(chunk), &self.key, sealed)
            .map(JsFuture::from)
            .map_err(|_| "Opening failed: the browser refused to decrypt.".to_string())
    }
}

/// Starts the SHA-256 of `bytes` (WebCrypto copies them now, then hashes off the main thread).
pub fn sha256(bytes: &Uint8Array) -> Result<Digest, String> {
    let pending = subtle()?.digest_with_str_and_js_u8_array("SHA-256", bytes).map_err(|_| BROWSER.to_string())?;
    Ok(Digest(JsFuture::from(pending)))
}

/// A SHA-256 under way.
pub struct Digest(JsFuture);

impl Digest {
    /// The hash.
    pub async fn finish(self) -> Result<[u8; 32], String> {
        let hash = self.0.await.map_err(|_| BROWSER.to_string())?;
        let mut out = [0u8; 32];
        let hash = Uint8Array::new(&hash);
        if hash.length() != 32 {
            return Err(BROWSER.to_string());
        }
        hash.copy_to(&mut out);
        Ok(out)
    }
}

/// Chunk operations under way, answered in the order they started.
#[derive(Default)]
pub struct InFlight {
    pending: VecDeque<(PlannedChunk, JsFuture)>,
}

impl InFlight {
    /// Adds `chunk`'s operation; answers the oldest one once [`IN_FLIGHT`] are under way.
    pub async fn push(
        &mut self, chunk: PlannedChunk, op: JsFuture,
    ) -> Option<(PlannedChunk, Result<Uint8Array, JsValue>)> {
        self.pending.push_back((chunk, op));
        if self.pending.len() < IN_FLIGHT {
            return None;
        }
        self.next().await
    }

    /// The oldest operation's chunk and answer; `None` when none is under way.
    pub async fn next(&mut self) -> Option<(PlannedChunk, Result<Uint8Array, JsValue>)> {
        let (chunk, op) = self.pending.pop_front()?;
        Some((chunk, op.await.map(|buffer| Uint8Array::new(&buffer))))
    }
}

/// A stream of bytes (a Blob's, or a download's) read in whatever pieces it
/// comes in, handed out in the lengths the chunk plan asks for.
pub struct Pieces {
    reader: web_sys::ReadableStreamDefaultReader,
    held: Option<Uint8Array>,
    held_from: u32,
}

impl Pieces {
    /// Reads `reader`.
    pub fn new(reader: web_sys::ReadableStreamDefaultReader) -> Pieces {
        Pieces { reader, held: None, held_from: 0 }
    }

    /// Reads `blob` from its start.
    pub fn of_blob(blob: &web_sys::Blob) -> Result<Pieces, String> {
        let reader = blob
            .stream()
            .get_reader()
            .dyn_into::<web_sys::ReadableStreamDefaultReader>()
            .map_err(|_| "The browser could not read that file.".to_string())?;
        Ok(Pieces::new(reader))
    }

    async fn piece(&mut self) -> Result<Option<Uint8Array>, String> {
        if let Some(held) = self.held.take() {
            return Ok(Some(held));
        }
        self.held_from = 0;
        let unreadable = |_| "The browser could not read the file (was it moved or deleted?).".to_string();
        let step = JsFuture::from(self.reader.read()).await.map_err(unreadable)?;
        if js_sys::Reflect::get(&step, &"done".into()).map_err(unreadable)?.as_bool().unwrap_or(true) {
            return Ok(None);
        }
        let value = js_sys::Reflect::get(&step, &"value".into()).map_err(unreadable)?;
        Ok(Some(value.dyn_into::<Uint8Array>().map_err(unreadable)?))
    }

    /// Copies the next `len` bytes into `into` at `at`; returns how many there were
    /// (fewer than `len` only at the end of the stream).
    pub async fn read_into(&mut self, into: &Uint8Array, at: u32, len: u32) -> Result<u32, String> {
        let mut filled = 0;
        while filled < len {
            let Some(piece) = self.piece().await? else { break };
            let from = self.held_from;
            let n = (piece.length() - from).min(len - filled);
            into.set(&piece.subarray(from, from + n), at + filled);
            filled += n;
            if from + n < piece.length() {
                self.held_from = from + n;
                self.held = Some(piece);
            }
        }
        Ok(filled)
    }

    /// The next `len` bytes in a buffer of their own, `None` if the stream ends first.
    pub async fn take(&mut self, len: u32) -> Result<Option<Uint8Array>, String> {
        let buf = Uint8Array::new_with_length(len);
        Ok((self.read_into(&buf, 0, len).await? == len).then_some(buf))
    }

    /// Whether the stream has no more bytes.
    pub async fn at_end(&mut self) -> Result<bool, String> {
        while let Some(piece) = self.piece().await? {
            if piece.length() > self.held_from {
                self.held = Some(piece);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Stops reading (the rest is not fetched).
    pub fn cancel(&self) {
        let _ = self.reader.cancel();
    }
}

/// A Blob of `bytes`, typed `mime`: one Blob constructor over the buffer
/// (the browser copies it once, in native code), not a Blob per piece.
pub fn blob_of(bytes: &Uint8Array, mime: &str) -> Result<web_sys::Blob, String> {
    crate::browser::transfer::blob(&Array::of1(bytes), mime)
}

/// `n` as a JS array index or length: a fax's lengths are under the 100 MiB
/// cap (the protocol's plan checked it), far below `u32::MAX`.
pub fn index(n: impl TryInto<u32>) -> Result<u32, String> {
    n.try_into().map_err(|_| "The fax is too large for this browser.".to_string())
}

/// Where `chunk` lies in the ciphertext, as JS array indices: `(start, length)`.
pub fn sealed_range(chunk: &PlannedChunk) -> Result<(u32, u32), String> {
    Ok((index(chunk.ciphertext_offset)?, index(chunk.ciphertext_len)?))
}
