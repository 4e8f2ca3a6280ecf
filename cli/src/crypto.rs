//! The two heavy code paths, shared by `send`/`receive` and the bench: sealing
//! a file into a ciphertext file, and opening a ciphertext stream into a file
//! that appears (atomically) only when every check passed. Both stream: one
//! chunk (1 MiB) in memory at a time, whatever the file size.

use crate::error::{CliError, Result, io_err};
use crate::files;
use crate::output::ProgressReader;
use fxe_protocol::bundle::Bundle;
use fxe_protocol::envelope::{self, Envelope, Recipient, SealRandomness, SealRequest};
use indicatif::ProgressBar;
use std::io::{BufReader, BufWriter, Read};
use std::path::Path;

/// Seals `plaintext` into `out` (a file) with `rnd` (its content key is the caller's to
/// keep, see `State::keep_sent_cek`); returns the signed envelope.
pub fn seal_file(
    req: &SealRequest<'_>, rnd: SealRandomness, plaintext: &Path, out: &std::fs::File, bar: ProgressBar,
) -> Result<Envelope> {
    let file = std::fs::File::open(plaintext).map_err(io_err(format!("cannot read {}", plaintext.display())))?;
    let reader = ProgressReader { inner: BufReader::with_capacity(1 << 20, file), bar };
    let writer = BufWriter::with_capacity(1 << 20, out);
    let env = envelope::seal_stream(req, rnd, reader, writer)?;
    out.sync_all().map_err(io_err("cannot write the sealed file"))?;
    Ok(env)
}

/// Why a message did not open.
#[derive(Debug)]
pub enum OpenFailure {
    /// The message itself fails verification (a signed refusal is in order).
    Verification(fxe_protocol::Error),
    /// Something on this side failed (network, disk): try again later.
    Local(CliError),
}

impl From<OpenFailure> for CliError {
    fn from(f: OpenFailure) -> CliError {
        match f {
            OpenFailure::Verification(e) => CliError::new(crate::error::exit::ERROR, "cannot_open", e.to_string()),
            OpenFailure::Local(e) => e,
        }
    }
}

/// Opens the ciphertext read from `reader` into `dest`. The plaintext goes to
/// a temporary file next to `dest` and is renamed into place only after the
/// final chunk and the ciphertext hash verified: never a partial file. An
/// existing `dest` is never overwritten.
pub fn open_to_file(
    env: &Envelope, sender_identity: &[u8; 32], sender_bundle: &Bundle, recipient: &Recipient<'_>, reader: impl Read,
    dest: &Path,
) -> Result<(), OpenFailure> {
    let tmp = files::temp_next_to(dest).map_err(OpenFailure::Local)?;
    let writer = BufWriter::with_capacity(1 << 20, tmp.as_file());
    let reader = BufReader::with_capacity(1 << 20, reader);
    match envelope::open_stream(env, sender_identity, sender_bundle, recipient, reader, writer) {
        Ok(()) => {}
        Err(fxe_protocol::Error::Io(e)) => {
            return Err(OpenFailure::Local(CliError::msg(format!("transfer failed: {e}"))));
        }
        Err(e) => return Err(OpenFailure::Verification(e)),
    }
    files::publish(tmp, dest, false).map_err(OpenFailure::Local)
}
