//! Sealing and opening as streaming objects: `feed` bytes in any pieces,
//! get sealed (or authenticated plaintext) bytes back, then `finish`. One chunk
//! (1 MiB) is buffered at most; the AES-GCM and SHA-256 work runs with the GIL
//! released, so other Python threads keep running.

use crate::errors::{FxeError, OrRaise, invalid, protocol, with_code};
use crate::keys::Keys;
use fxe_protocol::bundle::Bundle;
use fxe_protocol::envelope::{self, Envelope, Recipient, SealRandomness, SealRequest};
use fxe_protocol::error::OpenError;
use fxe_protocol::{Error, MAX_CIPHERTEXT_LEN, stream};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use zeroize::{Zeroize, Zeroizing};

/// 32 bytes from a Python `bytes`, or a typed error.
pub fn key32(field: &str, b: &[u8]) -> PyResult<[u8; 32]> {
    b.try_into().map_err(|_| invalid(format!("{field} must be 32 bytes, got {}", b.len())))
}

fn used_up() -> PyErr {
    with_code::<FxeError>("finished", "this object is finished (or failed) and cannot be used again".to_owned())
}

/// Seals one fax chunk by chunk; `finish` returns the last bytes and the signed envelope.
#[pyclass(module = "fxe._native")]
pub struct Sealer {
    sealer: Option<envelope::Sealer>,
    /// The fax's content key, for the sender to keep (`content_key`, proofs of delivery).
    cek: Zeroizing<[u8; 32]>,
    pending: Zeroizing<Vec<u8>>,
    /// What the current `feed` returns (buffers swapped, not copied, for one chunk).
    ready: Zeroizing<Vec<u8>>,
    chunk: usize,
    written: u64,
    plaintext: u64,
}

#[pymethods]
impl Sealer {
    #[new]
    #[pyo3(signature = (keys, recipient_identity_pub, recipient_bundle_json, *, message_id, created_at, from_number, from_name, to_number, content_type = envelope::CONTENT_TYPE_PDF))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        keys: &Keys, recipient_identity_pub: &[u8], recipient_bundle_json: &str, message_id: &str, created_at: u64,
        from_number: &str, from_name: &str, to_number: &str, content_type: &str,
    ) -> PyResult<Sealer> {
        let identity = key32("recipient_identity_pub", recipient_identity_pub)?;
        let bundle = Bundle::from_json(recipient_bundle_json).or_raise()?;
        let req = SealRequest {
            message_id,
            created_at,
            sender: keys.inner.active_bundle().or_raise()?,
            recipient_identity_pub: &identity,
            recipient_bundle: &bundle,
            from_number,
            from_name,
            to_number,
            content_type,
            chunk_size: stream::V1_CHUNK_SIZE,
        };
        let rnd = SealRandomness::random().or_raise()?;
        let cek = rnd.cek.clone();
        let sealer = envelope::Sealer::new(&req, rnd).or_raise()?;
        let chunk = sealer.chunk_size();
        Ok(Sealer {
            sealer: Some(sealer),
            cek,
            pending: Zeroizing::new(Vec::with_capacity(chunk + 16)),
            ready: Zeroizing::new(Vec::with_capacity(chunk + 16)),
            chunk,
            written: 0,
            plaintext: 0,
        })
    }

    /// The fax's content key (32 bytes): kept by the sender to export a proof
    /// with the document (docs/proof.md §6). It decrypts this one fax only.
    #[getter]
    fn content_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.cek.as_slice())
    }

    /// The plaintext bytes fed so far.
    #[getter]
    fn plaintext_len(&self) -> u64 {
        self.plaintext
    }

    /// Seals what can be sealed of `data` (every full chunk followed by more bytes).
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let Some(sealer) = self.sealer.as_mut() else { return Err(used_up()) };
        let (pending, ready, chunk, written) = (&mut self.pending, &mut self.ready, self.chunk, &mut self.written);
        let result = py.detach(|| -> Result<(), Error> {
            ready.clear();
            let mut data = data;
            loop {
                let need = chunk - pending.len();
                if data.len() <= need {
                    pending.extend_from_slice(data);
                    return Ok(());
                }
                pending.extend_from_slice(&data[..need]);
                data = &data[need..];
                *written += (chunk as u64) + stream::TAG_LEN;
                if *written + stream::TAG_LEN + 1 > MAX_CIPHERTEXT_LEN {
                    return Err(too_large());
                }
                sealer.seal_in_place(pending, false)?;
                take_into(ready, pending);
            }
        });
        match result {
            Ok(()) => {
                self.plaintext += data.len() as u64;
                Ok(PyBytes::new(py, &self.ready))
            }
            Err(e) => {
                self.sealer = None;
                Err(protocol(e))
            }
        }
    }

    /// Seals the final chunk and signs the envelope: `(last_bytes, envelope_json)`.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<(Bound<'py, PyBytes>, String)> {
        let Some(mut sealer) = self.sealer.take() else { return Err(used_up()) };
        let pending = &mut self.pending;
        if self.written + pending.len() as u64 + stream::TAG_LEN > MAX_CIPHERTEXT_LEN {
            return Err(protocol(too_large()));
        }
        let env = py
            .detach(|| -> Result<Envelope, Error> {
                sealer.seal_in_place(pending, true)?;
                sealer.finish()
            })
            .or_raise()?;
        let last = PyBytes::new(py, pending);
        pending.clear();
        Ok((last, env.to_json()))
    }
}

/// Moves the bytes of `from` to the end of `into` (swapping buffers when
/// `into` is empty, so a single chunk is never copied), leaving `from` empty.
fn take_into(into: &mut Vec<u8>, from: &mut Vec<u8>) {
    if into.is_empty() {
        std::mem::swap(into, from);
    } else {
        into.extend_from_slice(from);
    }
    from.clear();
}

fn too_large() -> Error {
    Error::Invalid {
        field: "plaintext",
        reason: format!("too large: the sealed fax would exceed {MAX_CIPHERTEXT_LEN} bytes"),
    }
}

/// Opens one fax chunk by chunk after every header check passed (sender chain,
/// signature, recipient, decapsulation, unwrap, commitment). `feed` returns
/// only authenticated plaintext; `finish` fails unless the final chunk came and
/// the ciphertext hash matches. On any error, discard what was returned.
#[pyclass(module = "fxe._native")]
pub struct Opener {
    opener: Option<envelope::Opener>,
    pending: Zeroizing<Vec<u8>>,
    /// What the current `feed` returns (plaintext: zeroized when dropped).
    ready: Zeroizing<Vec<u8>>,
}

#[pymethods]
impl Opener {
    #[new]
    fn new(
        keys: &Keys, numbers: Vec<String>, envelope_json: &str, sender_identity_pub: &[u8], sender_bundle_json: &str,
    ) -> PyResult<Opener> {
        let env = Envelope::from_json(envelope_json).or_raise()?;
        let identity = key32("sender_identity_pub", sender_identity_pub)?;
        let bundle = Bundle::from_json(sender_bundle_json).or_raise()?;
        let recipient = Recipient { org_id: &keys.inner.org_id, numbers: &numbers, bundles: &keys.inner.bundles };
        let opener = envelope::Opener::new(&env, &identity, &bundle, &recipient).or_raise()?;
        let cap = usize::try_from(env.chunk_size + stream::TAG_LEN).unwrap_or(usize::MAX).min(1 << 25);
        Ok(Opener {
            opener: Some(opener),
            pending: Zeroizing::new(Vec::with_capacity(cap)),
            ready: Zeroizing::new(Vec::with_capacity(cap)),
        })
    }

    /// Opens every complete chunk in what was fed so far; returns its plaintext.
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let Some(opener) = self.opener.as_mut() else { return Err(used_up()) };
        let (pending, ready) = (&mut self.pending, &mut self.ready);
        let result = py.detach(|| -> Result<(), Error> {
            ready.clear();
            let mut data = data;
            loop {
                let Some(want) = opener.next_chunk_len() else {
                    if data.is_empty() {
                        return Ok(());
                    }
                    return Err(OpenError::TrailingData.into());
                };
                let need = want.saturating_sub(pending.len());
                if data.len() < need {
                    pending.extend_from_slice(data);
                    return Ok(());
                }
                pending.extend_from_slice(&data[..need]);
                data = &data[need..];
                opener.open_in_place(pending)?;
                take_into(ready, pending);
            }
        });
        match result {
            Ok(()) => Ok(PyBytes::new(py, &self.ready)),
            Err(e) => {
                self.opener = None;
                self.ready.zeroize();
                Err(protocol(e))
            }
        }
    }

    /// Checks that the whole payload arrived and matches the envelope's hash.
    fn finish(&mut self) -> PyResult<()> {
        let Some(opener) = self.opener.take() else { return Err(used_up()) };
        if opener.next_chunk_len().is_some() {
            return Err(protocol(OpenError::MissingFinalChunk.into()));
        }
        opener.finish().or_raise()
    }
}
