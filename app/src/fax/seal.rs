//! Sealing a file the person chose: read one chunk at a time from the File
//! (the browser keeps it on disk), seal it in WASM, and hand the sealed chunk
//! to the browser. The sealed parts become one Blob for the upload, so the
//! page holds the ciphertext once, plus the chunk being sealed.

use fxe_protocol::envelope::{Envelope, Sealer};
use fxe_protocol::{MAX_CIPHERTEXT_LEN, stream};

use crate::browser::transfer;

/// A sealed fax, ready to upload.
pub struct Sealed {
    pub envelope: Envelope,
    pub ciphertext: web_sys::Blob,
}

/// Whether a fax of `len` bytes fits the relay's limit once sealed.
pub fn fits(len: u64, chunk_size: u64) -> bool {
    stream::ciphertext_len(len, chunk_size) <= MAX_CIPHERTEXT_LEN
}

/// Seals `file` with `sealer`. `progress(done, total)` after each chunk;
/// `cancelled()` is asked between chunks.
pub async fn seal_file(
    mut sealer: Sealer,
    file: &web_sys::Blob,
    progress: impl Fn(u64, u64),
    cancelled: impl Fn() -> bool,
) -> Result<Sealed, String> {
    let total = crate::number::count(file.size());
    let cs = sealer.chunk_size() as u64;
    if !fits(total, cs) {
        return Err(format!("The file is too large: a sealed fax may be at most {} MiB.", MAX_CIPHERTEXT_LEN >> 20));
    }
    let parts = js_sys::Array::new();
    let mut offset = 0u64;
    loop {
        let end = (offset + cs).min(total);
        let mut chunk = transfer::slice(file, offset, end).await?;
        if chunk.len() as u64 != end - offset {
            return Err("The file changed while it was being read. Choose it again.".into());
        }
        let last = end >= total;
        sealer.seal_in_place(&mut chunk, last).map_err(|e| format!("Sealing failed: {e}"))?;
        parts.push(&js_sys::Uint8Array::from(chunk.as_slice()));
        offset = end;
        progress(offset, total);
        if last {
            break;
        }
        super::breathe().await;
        if cancelled() {
            return Err("Cancelled. Nothing was sent.".into());
        }
    }
    let envelope = sealer.finish().map_err(|e| format!("Sealing failed: {e}"))?;
    let ciphertext = transfer::blob(&parts, "application/octet-stream")?;
    Ok(Sealed { envelope, ciphertext })
}
