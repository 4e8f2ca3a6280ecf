//! Sealing a file the person chose: read it as a stream (the browser keeps it
//! on disk), seal each chunk of the protocol's chunk plan with WebCrypto
//! AES-256-GCM (a few chunks at once, off the main thread) into one buffer
//! of the ciphertext's exact length, hash that buffer with WebCrypto SHA-256,
//! and let the protocol sign the envelope. The ciphertext then becomes a
//! Blob for the upload: at most two copies of it exist at once.

use fxe_protocol::envelope::{Envelope, PlannedSeal, Sealer};
use fxe_protocol::stream::PlannedChunk;
use fxe_protocol::{MAX_CIPHERTEXT_LEN, stream};
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;

use super::webcrypto::{self, Direction, InFlight, PayloadKey, Pieces};

/// A sealed fax, ready to upload.
pub struct Sealed {
    pub envelope: Envelope,
    pub ciphertext: web_sys::Blob,
}

/// Whether a fax of `len` bytes fits the relay's limit once sealed.
pub fn fits(len: u64, chunk_size: u64) -> bool {
    stream::ciphertext_len(len, chunk_size) <= MAX_CIPHERTEXT_LEN
}

const CHANGED: &str = "The file changed while it was being read. Choose it again.";

/// Seals `file` with `sealer`. `progress(done, total)` after each chunk;
/// `cancelled()` is asked between chunks.
pub async fn seal_file(
    sealer: Sealer, file: &web_sys::Blob, progress: impl Fn(u64, u64), cancelled: impl Fn() -> bool,
) -> Result<Sealed, String> {
    let total = crate::number::count(file.size());
    if !fits(total, sealer.chunk_size() as u64) {
        return Err(format!("The file is too large: a sealed fax may be at most {} MiB.", MAX_CIPHERTEXT_LEN >> 20));
    }
    let failed = |e: fxe_protocol::Error| format!("Sealing failed: {e}");
    let mut planned = sealer.plan(total).map_err(failed)?;
    let key = PayloadKey::import(planned.plan().payload_key(), Direction::Seal).await?;
    let sealed = Uint8Array::new_with_length(webcrypto::index(planned.plan().ciphertext_len())?);
    let chunks: Vec<PlannedChunk> = planned.plan().chunks().collect();
    let mut file_bytes = Pieces::of_blob(file)?;
    let mut in_flight = InFlight::default();
    let place = |planned: &mut PlannedSeal, chunk: PlannedChunk, answer: Result<Uint8Array, JsValue>| {
        let bytes = answer.map_err(|_| "Sealing failed: the browser could not encrypt.".to_string())?;
        planned.sealed(&chunk, bytes.length() as usize).map_err(failed)?;
        sealed.set(&bytes, webcrypto::sealed_range(&chunk)?.0);
        progress(chunk.plaintext_offset + chunk.plaintext_len as u64, total);
        Ok::<(), String>(())
    };
    for chunk in chunks {
        let plaintext = file_bytes.take(webcrypto::index(chunk.plaintext_len)?).await?.ok_or(CHANGED)?;
        if let Some((done, answer)) = in_flight.push(chunk, key.encrypt(&chunk, &plaintext)?).await {
            place(&mut planned, done, answer)?;
        }
        if cancelled() {
            file_bytes.cancel();
            return Err("Cancelled. Nothing was sent.".into());
        }
    }
    while let Some((done, answer)) = in_flight.next().await {
        place(&mut planned, done, answer)?;
    }
    if !file_bytes.at_end().await? {
        return Err(CHANGED.into());
    }
    // The hash runs off the main thread while the Blob for the upload is made.
    let digest = webcrypto::sha256(&sealed)?;
    let ciphertext = webcrypto::blob_of(&sealed, "application/octet-stream")?;
    let envelope = planned.finish(digest.finish().await?).map_err(failed)?;
    Ok(Sealed { envelope, ciphertext })
}
