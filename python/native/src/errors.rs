//! The exceptions of `fxe._native`, and how `fxe_protocol::Error` maps to them.
//! Each carries a stable snake_case `code` (the CLI's error kinds).

use fxe_protocol::Error;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(_native, FxeError, PyException, "Base class of every fxe error; `code` names the failure.");
pyo3::create_exception!(_native, InvalidInputError, FxeError, "An argument, file or object is malformed.");
pyo3::create_exception!(
    _native,
    VerificationError,
    FxeError,
    "A signature, envelope, receipt or answer does not verify."
);
pyo3::create_exception!(_native, KeyChangedError, FxeError, "A pinned key changed: trust the new fingerprint first.");
pyo3::create_exception!(_native, KeysError, FxeError, "keys.zip cannot be read, or lacks what the call needs.");

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = py.get_type::<FxeError>();
    base.setattr("code", "error")?;
    m.add("FxeError", base)?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    let verification = py.get_type::<VerificationError>();
    // A transparency log rollback or fork: the checkpoint seen before and the one offered now.
    verification.setattr("evidence", py.None())?;
    // Where the SDK kept that evidence (`fxe-log/evidence/…`), set by the `fxe` package.
    verification.setattr("evidence_path", py.None())?;
    m.add("VerificationError", verification)?;
    let changed = py.get_type::<KeyChangedError>();
    changed.setattr("fingerprint", "")?;
    m.add("KeyChangedError", changed)?;
    m.add("KeysError", py.get_type::<KeysError>())?;
    Ok(())
}

/// An exception of type `T` with `code` set.
pub fn with_code<T: pyo3::type_object::PyTypeInfo>(code: &str, message: String) -> PyErr {
    Python::attach(|py| {
        let err = PyErr::new::<T, _>(message);
        // Setting an attribute on a fresh exception instance cannot fail in practice;
        // if it did, the exception keeps the class default code.
        let _ = err.value(py).setattr("code", code);
        err
    })
}

/// The Python exception for a protocol error.
pub fn protocol(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Invalid { .. } | Error::Json { .. } => with_code::<InvalidInputError>("invalid_input", msg),
        Error::BadSignature(_) => with_code::<VerificationError>("bad_signature", msg),
        Error::BadBundle(_) => with_code::<VerificationError>("bad_bundle", msg),
        Error::Open(_) => with_code::<VerificationError>("cannot_open", msg),
        Error::Request(r) => with_code::<VerificationError>(r.code(), msg),
        Error::KeysZip(_) => with_code::<KeysError>("bad_keys", msg),
        Error::PassphraseRequired => with_code::<KeysError>("passphrase_required", msg),
        Error::WrongPassphrase => with_code::<KeysError>("wrong_passphrase", msg),
        Error::IdentitySecretMissing => with_code::<KeysError>("machine_keys", msg),
        Error::Pin(_) => with_code::<KeyChangedError>("pin_mismatch", msg),
        Error::Io(_) => with_code::<FxeError>("io_error", msg),
        Error::Seal(_) => with_code::<FxeError>("seal_error", msg),
        Error::Rng => with_code::<FxeError>("rng_error", msg),
        Error::Transparency(_) => with_code::<VerificationError>("transparency", msg),
    }
}

/// A directory or org answer that does not verify (nothing to trust).
pub fn unverifiable(what: &str, e: Error) -> PyErr {
    with_code::<VerificationError>(
        "bad_directory_answer",
        format!("the relay's answer for {what} does not verify: {e}; the relay may be faulty or hostile"),
    )
}

pub fn invalid(message: impl Into<String>) -> PyErr {
    with_code::<InvalidInputError>("invalid_input", message.into())
}

/// `?` for protocol results.
pub trait OrRaise<T> {
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(protocol)
    }
}
