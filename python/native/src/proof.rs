//! Proofs of delivery (docs/proof.md): `proof_make` builds and checks a
//! `.fxeproof`, `proof_verify` verifies one offline. `fxe_protocol::proof` does
//! all of it; a failed check raises `VerificationError` whose `code` is the
//! check's name (docs/proof.md §3).

use crate::errors::{OrRaise, VerificationError, invalid, with_code};
use crate::seal::key32;
use fxe_protocol::bundle::Bundle;
use fxe_protocol::envelope::Envelope;
use fxe_protocol::proof::{self, Outcome, Party, Proof, ProofError};
use fxe_protocol::receipt::{Receipt, Refusal};
use pyo3::prelude::*;

fn refused(e: &ProofError) -> PyErr {
    match e {
        ProofError::Io(_) => with_code::<crate::errors::FxeError>("io_error", e.to_string()),
        _ => with_code::<VerificationError>(
            e.code(),
            format!("the proof does not verify: check {} failed: {e}", e.code()),
        ),
    }
}

/// The `.fxeproof` JSON of a delivered (`receipt_json`) or refused (`refusal_json`) fax, with
/// the content key `cek` when given; verified before it is returned.
#[pyfunction]
#[pyo3(signature = (envelope_json, sender_identity_pub, sender_bundle_json, recipient_identity_pub, recipient_bundle_json, *, receipt_json = None, refusal_json = None, cek = None))]
#[allow(clippy::too_many_arguments)]
pub fn proof_make(
    envelope_json: &str, sender_identity_pub: &[u8], sender_bundle_json: &str, recipient_identity_pub: &[u8],
    recipient_bundle_json: &str, receipt_json: Option<&str>, refusal_json: Option<&str>, cek: Option<&[u8]>,
) -> PyResult<String> {
    let env = Envelope::from_json(envelope_json).or_raise()?;
    let sender = Party {
        identity_pub: key32("sender_identity_pub", sender_identity_pub)?,
        bundle: Bundle::from_json(sender_bundle_json).or_raise()?,
    };
    let recipient = Party {
        identity_pub: key32("recipient_identity_pub", recipient_identity_pub)?,
        bundle: Bundle::from_json(recipient_bundle_json).or_raise()?,
    };
    let outcome = match (receipt_json, refusal_json) {
        (Some(r), None) => Outcome::Receipt(Receipt::from_json(r).or_raise()?),
        (None, Some(r)) => Outcome::Refusal(Refusal::from_json(r).or_raise()?),
        _ => return Err(invalid("give exactly one of receipt_json and refusal_json")),
    };
    let mut p = Proof::new(env, sender, recipient, outcome);
    if let Some(k) = cek {
        p = p.with_opening(&key32("cek", k)?);
    }
    proof::verify(&p, None).map_err(|e| refused(&e))?;
    Ok(p.to_json())
}

/// Verifies a `.fxeproof` (its bytes) offline, and with `document_path` that the file
/// is the fax (read one chunk at a time, without the GIL); returns the statement as JSON.
#[pyfunction]
#[pyo3(signature = (proof_bytes, document_path = None))]
pub fn proof_verify(py: Python<'_>, proof_bytes: &[u8], document_path: Option<std::path::PathBuf>) -> PyResult<String> {
    let p = Proof::from_json(proof_bytes).map_err(|e| refused(&e))?;
    let statement = py.detach(|| match document_path {
        None => proof::verify(&p, None),
        Some(path) => {
            let f = std::fs::File::open(&path)
                .map_err(|e| ProofError::Io(format!("cannot read {}: {e}", path.display())))?;
            proof::verify_reader(&p, Some(std::io::BufReader::with_capacity(1 << 20, f)))
        }
    });
    let statement = statement.map_err(|e| refused(&e))?;
    serde_json::to_string(&statement).map_err(|e| invalid(e.to_string()))
}
