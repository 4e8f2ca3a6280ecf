//! `fxe._native`: the fxe protocol for Python, compiled from `fxe-protocol`.
//!
//! Only protocol operations live here (keys.zip, sealing and opening as
//! streaming objects that release the GIL, signed requests, envelope, receipt,
//! refusal, directory and pin checks, webhook signatures, proofs of delivery). HTTP, files and the
//! typed API are in the pure-Python package `fxe`. Every failure is a typed
//! Python exception (`errors`), never a panic.

mod errors;
mod keys;
mod proof;
mod seal;
mod transparency;
mod verify;

#[pyo3::pymodule]
mod _native {
    #[pymodule_export]
    use crate::keys::{Keys, Signer};
    #[pymodule_export]
    use crate::proof::{proof_make, proof_verify};
    #[pymodule_export]
    use crate::seal::{Opener, Sealer};
    #[pymodule_export]
    use crate::transparency::{LogReplica, log_check, log_checkpoint_check, log_policy_fingerprint};
    #[pymodule_export]
    use crate::verify::{
        fingerprint, new_message_id, normalize_number, parse_envelope, pins_check, pins_trust, validate_message_id,
        verify_directory_entry, verify_org, verify_receipt, verify_refusal, verify_webhook,
    };
    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        crate::errors::register(m)?;
        m.add("MAX_CIPHERTEXT_LEN", fxe_protocol::MAX_CIPHERTEXT_LEN)?;
        m.add("CHUNK_SIZE", fxe_protocol::stream::V1_CHUNK_SIZE)?;
        m.add("CONTENT_TYPE_PDF", fxe_protocol::envelope::CONTENT_TYPE_PDF)?;
        m.add("ECHO_NUMBER", fxe_protocol::api::ECHO_NUMBER)?;
        m.add("API_PREFIX", fxe_protocol::api::API_PREFIX)?;
        m.add("EVENT_TYPES", fxe_protocol::webhook::EVENT_TYPES.to_vec())?;
        m.add("SCOPES", fxe_protocol::apikey::SCOPES.to_vec())?;
        m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
        Ok(())
    }
}
