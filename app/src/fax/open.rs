//! Opening a fax: each sealed chunk is opened with WebCrypto as soon as it
//! has arrived whole. The plaintext becomes a Blob only after every chunk's
//! tag, the final chunk and the ciphertext's length and hash verified: a fax
//! that fails any check is never shown.

use fxe_protocol::envelope::{Opener, PlannedOpen};
use fxe_protocol::error::OpenError;
use fxe_protocol::stream::PlannedChunk;
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;

use super::webcrypto::{self, Direction, InFlight, PayloadKey, Pieces};
use crate::browser::transfer::{self, Download};

/// The first `n` bytes of `blob` (fewer if it is shorter).
pub async fn head(blob: &web_sys::Blob, n: u64) -> Result<Vec<u8>, String> {
    transfer::slice(blob, 0, n.min(crate::number::count(blob.size()))).await
}

/// Why a fax did not open.
#[derive(Debug)]
pub enum OpenFailure {
    /// The fax itself fails verification: a signed refusal (`cannot_open`) is in order.
    Verification(fxe_protocol::Error),
    /// The transfer or the browser failed: nothing is wrong with the fax, try again.
    Local(String),
}

/// Opens the sealed bytes `source` yields with `opener` into a Blob typed
/// `mime`: each chunk of the protocol's chunk plan is opened with WebCrypto
/// AES-256-GCM (a few at once, off the main thread) as soon as it has arrived
/// whole, the ciphertext is kept in one buffer of the envelope's length and
/// hashed with WebCrypto SHA-256, and the Blob is made only once the protocol
/// accepted every tag, the final chunk, the length and the hash.
/// `progress(done, total)` counts sealed bytes.
pub async fn open_source(
    opener: Opener, source: &mut Pieces, mime: &str, progress: impl Fn(u64, u64),
) -> Result<web_sys::Blob, OpenFailure> {
    let mut planned = opener.plan().map_err(OpenFailure::Verification)?;
    let total = planned.plan().ciphertext_len();
    let key = PayloadKey::import(planned.plan().payload_key(), Direction::Open).await.map_err(OpenFailure::Local)?;
    let sealed = Uint8Array::new_with_length(webcrypto::index(total).map_err(OpenFailure::Local)?);
    let chunks: Vec<PlannedChunk> = planned.plan().chunks().collect();
    let parts = js_sys::Array::new();
    let mut in_flight = InFlight::default();
    let place = |planned: &mut PlannedOpen, chunk: PlannedChunk, answer: Result<Uint8Array, JsValue>| {
        let bytes = answer.map_err(|_| OpenFailure::Verification(OpenError::ChunkTag.into()))?;
        planned.opened(&chunk, bytes.length() as usize).map_err(OpenFailure::Verification)?;
        // The buffer WebCrypto answered with joins the parts as it is: one
        // Blob constructor copies them all once every check passed.
        parts.push(&bytes);
        progress(chunk.ciphertext_offset + chunk.ciphertext_len as u64, total);
        Ok::<(), OpenFailure>(())
    };
    for chunk in chunks {
        let (at, want) = webcrypto::sealed_range(&chunk).map_err(OpenFailure::Local)?;
        if source.read_into(&sealed, at, want).await.map_err(OpenFailure::Local)? != want {
            return Err(OpenFailure::Verification(OpenError::MissingFinalChunk.into()));
        }
        let op = key.decrypt(&chunk, &sealed.subarray(at, at + want)).map_err(OpenFailure::Local)?;
        if let Some((done, answer)) = in_flight.push(chunk, op).await {
            place(&mut planned, done, answer)?;
        }
    }
    while let Some((done, answer)) = in_flight.next().await {
        place(&mut planned, done, answer)?;
    }
    if !source.at_end().await.map_err(OpenFailure::Local)? {
        source.cancel();
        return Err(OpenFailure::Verification(OpenError::TrailingData.into()));
    }
    let hash = webcrypto::sha256(&sealed).map_err(OpenFailure::Local)?.finish().await.map_err(OpenFailure::Local)?;
    planned.finish(total, hash).map_err(OpenFailure::Verification)?;
    transfer::blob(&parts, mime).map_err(OpenFailure::Local)
}

/// Downloads the sealed payload at `path` into a Blob (the browser holds it,
/// nothing is opened); fails unless exactly `len` bytes arrived.
/// `progress(done, total)` counts bytes.
pub async fn download_sealed(path: &str, len: u64, progress: impl Fn(u64, u64)) -> Result<web_sys::Blob, String> {
    let mut download = Download::start(path).await.map_err(|f| f.message)?;
    let parts = js_sys::Array::new();
    let mut done = 0u64;
    while let Some(piece) = download.next().await.map_err(|f| f.message)? {
        done += piece.len() as u64;
        if done > len {
            download.cancel();
            break;
        }
        parts.push(&js_sys::Uint8Array::from(piece.as_slice()));
        progress(done, len);
    }
    if done != len {
        return Err("The download did not have the fax's length (interrupted?). Try again.".into());
    }
    transfer::blob(&parts, "application/octet-stream")
}

/// Opens a sealed payload kept in `sealed` into a Blob (untyped: see `fax::sniff`).
pub async fn open_blob(
    opener: Opener, sealed: &web_sys::Blob, progress: impl Fn(u64, u64),
) -> Result<web_sys::Blob, OpenFailure> {
    let mut source = Pieces::of_blob(sealed).map_err(OpenFailure::Local)?;
    open_source(opener, &mut source, "application/octet-stream", progress).await
}
