//! Opening a fax as it downloads: each sealed chunk is opened in WASM as soon
//! as it has arrived whole, and only authenticated plaintext is handed to the
//! browser. The plaintext becomes a Blob only after the final chunk and the
//! ciphertext hash verified: a fax that fails any check is never shown.

use fxe_protocol::envelope::Opener;
use fxe_protocol::error::OpenError;
use zeroize::Zeroizing;

use crate::browser::http::ApiFailure;
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

/// Where sealed bytes come from: the relay's download, or (for the
/// benchmark) a Blob in the page.
#[allow(async_fn_in_trait)]
pub trait Source {
    async fn next(&mut self) -> Result<Option<Vec<u8>>, ApiFailure>;
}

impl Source for Download {
    async fn next(&mut self) -> Result<Option<Vec<u8>>, ApiFailure> {
        Download::next(self).await
    }
}

/// Reads a Blob one chunk at a time.
pub struct BlobSource {
    pub blob: web_sys::Blob,
    pub offset: u64,
}

impl Source for BlobSource {
    async fn next(&mut self) -> Result<Option<Vec<u8>>, ApiFailure> {
        let total = crate::number::count(self.blob.size());
        if self.offset >= total {
            return Ok(None);
        }
        let end = (self.offset + (1 << 20)).min(total);
        let bytes = transfer::slice(&self.blob, self.offset, end).await.map_err(|m| ApiFailure::local("read", m))?;
        self.offset = end;
        Ok(Some(bytes))
    }
}

/// Opens what `source` yields with `opener` into a Blob typed `mime`.
/// `progress(done, total)` counts sealed bytes.
pub async fn open_source(
    mut opener: Opener,
    source: &mut impl Source,
    mime: &str,
    progress: impl Fn(u64, u64),
) -> Result<web_sys::Blob, OpenFailure> {
    let total = opener.envelope().ciphertext_len;
    let parts = js_sys::Array::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut done = 0u64;
    let mut ended = false;
    while let Some(want) = opener.next_chunk_len() {
        while pending.len() < want && !ended {
            match source.next().await.map_err(|f| OpenFailure::Local(f.message))? {
                Some(piece) => pending.extend_from_slice(&piece),
                None => ended = true,
            }
        }
        if pending.len() < want {
            return Err(OpenFailure::Verification(OpenError::MissingFinalChunk.into()));
        }
        let rest = pending.split_off(want);
        let mut chunk = Zeroizing::new(std::mem::replace(&mut pending, rest));
        opener.open_in_place(&mut chunk).map_err(OpenFailure::Verification)?;
        parts.push(&js_sys::Uint8Array::from(chunk.as_slice()));
        done += want as u64;
        progress(done, total);
        super::breathe().await;
    }
    if !pending.is_empty()
        || (!ended && source.next().await.map_err(|f| OpenFailure::Local(f.message))?.is_some_and(|p| !p.is_empty()))
    {
        return Err(OpenFailure::Verification(OpenError::TrailingData.into()));
    }
    opener.finish().map_err(OpenFailure::Verification)?;
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
    opener: Opener,
    sealed: &web_sys::Blob,
    progress: impl Fn(u64, u64),
) -> Result<web_sys::Blob, OpenFailure> {
    open_source(opener, &mut BlobSource { blob: sealed.clone(), offset: 0 }, "application/octet-stream", progress).await
}
