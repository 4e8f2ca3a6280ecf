//! keys.zip (`Keys`) and API keys that sign requests (`Signer`, PROTOCOL.md §6).

use crate::errors::{KeysError, OrRaise, invalid, with_code};
use fxe_protocol::apikey::{self, ApiKey};
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::encoding::b64u_encode;
use fxe_protocol::envelope::Envelope;
use fxe_protocol::keyszip::{self, OrgKeys, StoredApiKey};
use fxe_protocol::receipt::{Receipt, Refusal, RefusalReason};
use fxe_protocol::request::{self, Body};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// An org's keys, read from keys.zip (secrets stay inside this object).
#[pyclass(module = "fxe._native", frozen)]
pub struct Keys {
    pub(crate) inner: OrgKeys,
}

#[pymethods]
impl Keys {
    /// Whether a keys.zip needs a passphrase.
    #[staticmethod]
    fn is_protected(data: &[u8]) -> PyResult<bool> {
        keyszip::is_protected(data).or_raise()
    }

    /// Reads and validates a keys.zip (its bytes).
    #[staticmethod]
    #[pyo3(signature = (data, passphrase = None))]
    fn load(py: Python<'_>, data: &[u8], passphrase: Option<&str>) -> PyResult<Keys> {
        let inner = py.detach(|| keyszip::read(data, passphrase)).or_raise()?;
        Ok(Keys { inner })
    }

    /// The keys.zip bytes (protected with `passphrase` when given).
    #[pyo3(signature = (passphrase = None))]
    fn to_zip<'py>(&self, py: Python<'py>, passphrase: Option<&str>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| keyszip::write(&self.inner, passphrase)).or_raise()?;
        Ok(PyBytes::new(py, &bytes))
    }

    #[getter]
    fn org_id(&self) -> &str {
        &self.inner.org_id
    }

    #[getter]
    fn org_name(&self) -> &str {
        &self.inner.org_name
    }

    #[getter]
    fn relay_url(&self) -> &str {
        &self.inner.relay_url
    }

    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }

    #[getter]
    fn identity_pub<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.identity_pub)
    }

    /// True for a machine keys.zip (no identity secret).
    #[getter]
    fn is_machine(&self) -> bool {
        self.inner.is_machine()
    }

    /// Every bundle id, oldest first (the last is the active one).
    #[getter]
    fn bundle_ids(&self) -> Vec<String> {
        self.inner.bundles.iter().map(|b| b.bundle.bundle_id.clone()).collect()
    }

    /// The JSON form of one of this org's bundles, or None.
    fn bundle_json(&self, bundle_id: &str) -> Option<String> {
        self.inner.bundles.iter().find(|b| b.bundle.bundle_id == bundle_id).map(|b| b.bundle.to_json())
    }

    /// The JSON form of the active bundle.
    fn active_bundle_json(&self) -> PyResult<String> {
        Ok(self.inner.active_bundle().or_raise()?.bundle.to_json())
    }

    /// `(key_id, scopes)` of every API key held, oldest first.
    #[getter]
    fn api_keys(&self) -> Vec<(String, Vec<String>)> {
        self.inner.api_keys.iter().map(|k| (k.key.key_id().to_owned(), k.scopes.clone())).collect()
    }

    /// The signer for `scope`: the last API key with that scope, else the last key.
    fn signer(&self, scope: &str) -> PyResult<Signer> {
        let stored = self.inner.api_key_with_scope(scope).or_else(|| self.inner.api_keys.last());
        match stored {
            Some(k) => Ok(Signer { key: k.key.clone() }),
            None => Err(with_code::<KeysError>("no_api_key", "keys.zip holds no API key".to_owned())),
        }
    }

    /// A copy without the identity secret (for gateways).
    fn machine(&self) -> Keys {
        Keys { inner: self.inner.machine() }
    }

    /// New keys with a fresh bundle created at `created_at` (needs the identity
    /// secret); returns `(keys, bundle_json)`. Publish the bundle, then save the keys.
    fn with_new_bundle(&self, created_at: u64) -> PyResult<(Keys, String)> {
        let identity = self.inner.identity().or_raise()?;
        let newest = self.inner.active_bundle().or_raise()?.bundle.created_at;
        let new = BundleKeys::generate(identity, created_at.max(newest.saturating_add(1))).or_raise()?;
        let bundle = new.bundle.to_json();
        let mut inner = self.inner.clone();
        inner.bundles.push(new);
        Ok((Keys { inner }, bundle))
    }

    /// New keys with a fresh API key for `scopes` (needs the identity secret);
    /// returns `(keys, key_id, {"public_key", "scopes", "proof"})` for `POST /api-keys`.
    fn with_new_api_key<'py>(
        &self, py: Python<'py>, scopes: Vec<String>,
    ) -> PyResult<(Keys, String, Bound<'py, PyDict>)> {
        self.inner.identity().or_raise()?;
        apikey::validate_scopes(&scopes).or_raise()?;
        let key = ApiKey::generate().or_raise()?;
        let body = PyDict::new(py);
        body.set_item("public_key", b64u_encode(&key.public()))?;
        body.set_item("scopes", scopes.clone())?;
        body.set_item("proof", b64u_encode(&key.registration_proof(&self.inner.org_id, &scopes)))?;
        let key_id = key.key_id().to_owned();
        let mut inner = self.inner.clone();
        inner.api_keys.push(StoredApiKey { key, scopes });
        Ok((Keys { inner }, key_id, body))
    }

    /// New keys without the API key `key_id` (after revoking it).
    fn without_api_key(&self, key_id: &str) -> Keys {
        let mut inner = self.inner.clone();
        inner.api_keys.retain(|k| k.key.key_id() != key_id);
        Keys { inner }
    }

    /// A signed receipt (JSON) for an envelope sealed to one of these bundles.
    fn make_receipt(&self, envelope_json: &str, received_at: u64) -> PyResult<String> {
        let env = Envelope::from_json(envelope_json).or_raise()?;
        Ok(Receipt::make(&env, &self.inner.bundles, received_at).or_raise()?.to_json())
    }

    /// A signed refusal (JSON); `reason` is cannot_open, not_a_pdf, policy or other.
    fn make_refusal(&self, envelope_json: &str, refused_at: u64, reason: &str) -> PyResult<String> {
        let env = Envelope::from_json(envelope_json).or_raise()?;
        let reason = RefusalReason::parse(reason).or_raise()?;
        Ok(Refusal::make(&env, &self.inner.bundles, refused_at, reason).or_raise()?.to_json())
    }

    /// The content key of an envelope sealed to one of these bundles, unwrapped again
    /// and checked against its commitment (for a proof with the document).
    fn unwrap_cek<'py>(&self, py: Python<'py>, envelope_json: &str) -> PyResult<Bound<'py, PyBytes>> {
        let env = Envelope::from_json(envelope_json).or_raise()?;
        let cek = fxe_protocol::envelope::unwrap_cek(&env, &self.inner.bundles).or_raise()?;
        Ok(PyBytes::new(py, cek.as_slice()))
    }

    fn __repr__(&self) -> String {
        format!(
            "<fxe Keys org {} ({}), {} bundle(s)>",
            self.inner.org_id,
            self.inner.org_name,
            self.inner.bundles.len()
        )
    }
}

/// An API key that signs requests (PROTOCOL.md §6).
#[pyclass(module = "fxe._native", frozen)]
pub struct Signer {
    key: ApiKey,
}

#[pymethods]
impl Signer {
    /// From the secret string `fxe_sk_…`.
    #[new]
    fn new(secret: &str) -> PyResult<Signer> {
        Ok(Signer { key: ApiKey::parse_secret(secret).or_raise()? })
    }

    #[getter]
    fn key_id(&self) -> &str {
        self.key.key_id()
    }

    /// The five X-FXE headers for `method` and `path_and_query` (the request
    /// target exactly as sent). `body` None signs `UNSIGNED-PAYLOAD` (the
    /// ciphertext upload only).
    fn sign<'py>(
        &self, py: Python<'py>, method: &str, path_and_query: &str, body: Option<&[u8]>, timestamp: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        if !path_and_query.starts_with('/') {
            return Err(invalid(format!("the request target must start with '/': {path_and_query:?}")));
        }
        let body = match body {
            Some(b) => Body::Bytes(b),
            None => Body::Unsigned,
        };
        let headers =
            py.detach(|| request::sign_request(&self.key, method, path_and_query, timestamp, body)).or_raise()?;
        let out = PyDict::new(py);
        for (k, v) in headers.pairs() {
            out.set_item(k, v)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!("<fxe Signer {}>", self.key.key_id())
    }
}
