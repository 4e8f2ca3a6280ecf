//! Checks of what the relay says: envelopes, directory and org answers (then
//! the pins, PROTOCOL.md §3), receipts and refusals, webhook signatures; and
//! the small helpers (numbers, ids, fingerprints).

use crate::errors::{KeyChangedError, OrRaise, invalid, unverifiable, with_code};
use crate::seal::key32;
use fxe_protocol::api::{DirectoryEntry, OrgBundles, OrgPublic};
use fxe_protocol::bundle::Bundle;
use fxe_protocol::envelope::Envelope;
use fxe_protocol::pins::{PinStatus, PinStore};
use fxe_protocol::receipt::{Receipt, Refusal};
use fxe_protocol::webhook::{self, WebhookSecret};
use fxe_protocol::{Error, directory, e164, encoding, ids};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

fn json_err(what: &'static str) -> impl FnOnce(serde_json::Error) -> PyErr {
    move |e| crate::errors::protocol(Error::Json { what, reason: e.to_string() })
}

/// The envelope's header fields (strictly parsed and shape-checked) with its `envelope_hash`.
#[pyfunction]
pub fn parse_envelope<'py>(py: Python<'py>, envelope_json: &str) -> PyResult<Bound<'py, PyDict>> {
    let env = Envelope::from_json(envelope_json).or_raise()?;
    env.check_shape().or_raise()?;
    let d = PyDict::new(py);
    d.set_item("message_id", &env.message_id)?;
    d.set_item("created_at", env.created_at)?;
    d.set_item("sender_org_id", &env.sender_org_id)?;
    d.set_item("sender_bundle_id", &env.sender_bundle_id)?;
    d.set_item("recipient_org_id", &env.recipient_org_id)?;
    d.set_item("recipient_bundle_id", &env.recipient_bundle_id)?;
    d.set_item("from_number", &env.from_number)?;
    d.set_item("from_name", &env.from_name)?;
    d.set_item("to_number", &env.to_number)?;
    d.set_item("content_type", &env.content_type)?;
    d.set_item("chunk_size", env.chunk_size)?;
    d.set_item("ciphertext_len", env.ciphertext_len)?;
    d.set_item("envelope_hash", env.hash_hex())?;
    Ok(d)
}

/// `GET /directory/{number}`'s answer verified for `asked`: identity → org id,
/// identity → bundle. Not yet pinned (`pins_check`).
#[pyfunction]
pub fn verify_directory_entry<'py>(py: Python<'py>, asked: &str, entry_json: &str) -> PyResult<Bound<'py, PyDict>> {
    let entry: DirectoryEntry = serde_json::from_str(entry_json).map_err(json_err("directory answer"))?;
    let owner = directory::verify_entry(asked, entry).map_err(|e| unverifiable(asked, e))?;
    let d = PyDict::new(py);
    d.set_item("number", &owner.number)?;
    d.set_item("org_id", &owner.org_id)?;
    d.set_item("org_name", &owner.org_name)?;
    d.set_item("fingerprint", owner.fingerprint())?;
    d.set_item("identity_pub", PyBytes::new(py, &owner.identity_pub))?;
    d.set_item("bundle_id", &owner.bundle.bundle_id)?;
    d.set_item("bundle_created_at", owner.bundle.created_at)?;
    d.set_item("bundle_json", owner.bundle.to_json())?;
    Ok(d)
}

/// `GET /orgs/{id}` and `/orgs/{id}/bundles` verified: every bundle signed by
/// the identity, which hashes to `org_id`. `bundles` maps id → JSON.
#[pyfunction]
pub fn verify_org<'py>(
    py: Python<'py>, org_id: &str, org_json: &str, bundles_json: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let org: OrgPublic = serde_json::from_str(org_json).map_err(json_err("org answer"))?;
    let bundles: OrgBundles = serde_json::from_str(bundles_json).map_err(json_err("bundles answer"))?;
    let what = format!("org {org_id}");
    let keys = directory::verify_org(org_id, org, bundles).map_err(|e| unverifiable(&what, e))?;
    let newest = keys.newest_active().map_err(|e| unverifiable(&what, e))?;
    let d = PyDict::new(py);
    d.set_item("org_id", &keys.org_id)?;
    d.set_item("org_name", &keys.org_name)?;
    d.set_item("fingerprint", keys.fingerprint())?;
    d.set_item("identity_pub", PyBytes::new(py, &keys.identity_pub))?;
    d.set_item("newest_bundle_json", newest.to_json())?;
    let all = PyDict::new(py);
    for (b, _) in &keys.bundles {
        all.set_item(&b.bundle_id, b.to_json())?;
    }
    d.set_item("bundles", all)?;
    Ok(d)
}

fn load_pins(pins_json: Option<&str>) -> PyResult<PinStore> {
    match pins_json {
        None => Ok(PinStore::new()),
        Some(s) => PinStore::from_json(s).map_err(|e| {
            with_code::<KeyChangedError>(
                "pin_store_unreadable",
                format!("the pin store is damaged ({e}); restore it from a backup rather than deleting it"),
            )
        }),
    }
}

/// Checks a verified answer against the pin store (the CLI's `fxe-pins.json`
/// text, or None when there is none yet) and records it. Returns the new pin
/// store text and whether this was first contact; a changed key raises
/// `KeyChangedError` (with `fingerprint`, the offered one).
#[pyfunction]
#[pyo3(signature = (pins_json, number, identity_pub, bundle_json))]
pub fn pins_check(
    py: Python<'_>, pins_json: Option<&str>, number: Option<&str>, identity_pub: &[u8], bundle_json: &str,
) -> PyResult<(String, bool)> {
    let mut pins = load_pins(pins_json)?;
    let identity = key32("identity_pub", identity_pub)?;
    let bundle = Bundle::from_json(bundle_json).or_raise()?;
    bundle.verify(&identity).or_raise()?;
    match pins.check_and_record(number, &identity, &bundle) {
        Ok(status) => Ok((pins.to_json(), status == PinStatus::FirstContact)),
        Err(e) => {
            let err = with_code::<KeyChangedError>("pin_mismatch", e.to_string());
            err.value(py).setattr("fingerprint", ids::fingerprint(&identity))?;
            Err(err)
        }
    }
}

/// A person confirmed `fingerprint` out of band: the pins for `number` (if any)
/// and the org take the offered identity and bundle. Returns the new pin store text.
#[pyfunction]
#[pyo3(signature = (pins_json, number, identity_pub, bundle_json, fingerprint))]
pub fn pins_trust(
    pins_json: Option<&str>, number: Option<&str>, identity_pub: &[u8], bundle_json: &str, fingerprint: &str,
) -> PyResult<String> {
    let mut pins = load_pins(pins_json)?;
    let identity = key32("identity_pub", identity_pub)?;
    let bundle = Bundle::from_json(bundle_json).or_raise()?;
    bundle.verify(&identity).or_raise()?;
    pins.trust(number, &identity, &bundle, fingerprint).map_err(|e| {
        with_code::<KeyChangedError>(
            "fingerprint_mismatch",
            format!("{e}: the relay offers {}", ids::fingerprint(&identity)),
        )
    })?;
    Ok(pins.to_json())
}

/// Verifies a receipt against the envelope and the bundle it was sealed to; returns `received_at`.
#[pyfunction]
pub fn verify_receipt(receipt_json: &str, envelope_json: &str, recipient_bundle_json: &str) -> PyResult<u64> {
    let r = Receipt::from_json(receipt_json).or_raise()?;
    let env = Envelope::from_json(envelope_json).or_raise()?;
    let bundle = Bundle::from_json(recipient_bundle_json).or_raise()?;
    r.verify(&env, &bundle).or_raise()?;
    Ok(r.received_at)
}

/// Verifies a refusal; returns `(refused_at, reason)`.
#[pyfunction]
pub fn verify_refusal(refusal_json: &str, envelope_json: &str, recipient_bundle_json: &str) -> PyResult<(u64, String)> {
    let r = Refusal::from_json(refusal_json).or_raise()?;
    let env = Envelope::from_json(envelope_json).or_raise()?;
    let bundle = Bundle::from_json(recipient_bundle_json).or_raise()?;
    r.verify(&env, &bundle).or_raise()?;
    Ok((r.refused_at, r.reason.as_str().to_owned()))
}

/// Verifies a webhook delivery: without `webhook_id`, the `X-FXE-Timestamp` and
/// `X-FXE-Signature` headers; with it, the Standard Webhooks headers
/// (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Any one of the
/// space-separated signature values may match (secret rotation).
#[pyfunction]
#[pyo3(signature = (secret, timestamp, signature, body, now, tolerance, webhook_id = None))]
pub fn verify_webhook(
    secret: &str, timestamp: &str, signature: &str, body: &[u8], now: u64, tolerance: u64, webhook_id: Option<&str>,
) -> PyResult<()> {
    let secret = WebhookSecret::parse(secret).or_raise()?;
    match webhook_id {
        None => webhook::verify_fxe(&secret, timestamp, signature, body, now, tolerance),
        Some(id) => webhook::verify_standard(&secret, id, timestamp, signature, body, now, tolerance),
    }
    .map_err(webhook_refused)
}

/// A delivery that does not verify: a wrong signature, or a timestamp that is
/// malformed or outside the tolerance (a replay), both `VerificationError`.
fn webhook_refused(e: Error) -> PyErr {
    let code = if matches!(e, Error::BadSignature(_)) { "bad_signature" } else { "bad_timestamp" };
    with_code::<crate::errors::VerificationError>(code, e.to_string())
}

/// A loosely written number (`+1 (555) 123-4567`) in E.164.
#[pyfunction]
pub fn normalize_number(number: &str) -> PyResult<String> {
    e164::normalize(number).map_err(|e| with_code::<crate::errors::InvalidInputError>("invalid_number", e.to_string()))
}

/// A fresh message id (random UUIDv4).
#[pyfunction]
pub fn new_message_id() -> PyResult<String> {
    encoding::new_uuid_v4().or_raise()
}

/// Raises InvalidInputError unless `message_id` is a lowercase UUIDv4.
#[pyfunction]
pub fn validate_message_id(message_id: &str) -> PyResult<()> {
    encoding::validate_uuid_v4("message_id", message_id)
        .map_err(|e| with_code::<crate::errors::InvalidInputError>("invalid_message_id", e.to_string()))
}

/// The fingerprint people compare (8 groups of 8 hex characters).
#[pyfunction]
pub fn fingerprint(identity_pub: &[u8]) -> PyResult<String> {
    let id = identity_pub.try_into().map_err(|_| invalid("identity_pub must be 32 bytes"))?;
    Ok(ids::fingerprint(&id))
}
