//! Webhook signatures (API.md, Webhooks): `X-FXE-Signature: v1=<hex HMAC-SHA256(key, "<ts>.<body>")>`
//! and the Standard Webhooks `webhook-signature: v1,<b64 HMAC(key, "<id>.<ts>.<body>")>`.
//! During a secret rotation several values are space-separated.

use crate::{Error, Result, encoding};
use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A `whsec_` secret: 32 bytes, standard base64 with padding after the prefix.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<[u8; 32]>);

impl WebhookSecret {
    /// A new secret from the system's randomness; fails only with [`Error::Rng`].
    pub fn generate() -> Result<Self> {
        Ok(WebhookSecret(Zeroizing::new(crate::random_bytes()?)))
    }

    /// The secret with these 32 bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        WebhookSecret(Zeroizing::new(b))
    }

    /// The secret's 32 bytes (the HMAC key).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses `whsec_<base64>`; fails with [`Error::Invalid`] when the prefix, the encoding or the length is wrong.
    pub fn parse(s: &str) -> Result<Self> {
        let b64 = s
            .trim()
            .strip_prefix("whsec_")
            .ok_or_else(|| Error::invalid("webhook secret", "must start with whsec_"))?;
        let v = Zeroizing::new(encoding::b64_std_decode("webhook secret", b64)?);
        let b: [u8; 32] =
            v.as_slice().try_into().map_err(|_| Error::invalid("webhook secret", "must hold 32 bytes"))?;
        Ok(WebhookSecret(Zeroizing::new(b)))
    }

    /// The `whsec_…` form shown to the endpoint's owner once.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("whsec_{}", encoding::b64_std_encode(&*self.0)))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC pads a key shorter than the hash's block (64 bytes) with zeros
        // (RFC 2104, step 1): keyed with the padded block, the MAC is the same,
        // and the fixed-size key needs no fallible length check.
        let mut key = Zeroizing::new([0u8; 64]);
        key[..32].copy_from_slice(&*self.0);
        let mut m = <HmacSha256 as KeyInit>::new(&(*key).into());
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// `v1=<hex>` over `"<timestamp>.<body>"`.
    pub fn fxe_signature(&self, timestamp: u64, body: &[u8]) -> String {
        format!("v1={}", encoding::hex_encode(&self.mac(&[timestamp.to_string().as_bytes(), b".", body])))
    }

    /// `v1,<base64>` over `"<id>.<timestamp>.<body>"` (Standard Webhooks).
    pub fn standard_signature(&self, event_id: &str, timestamp: u64, body: &[u8]) -> String {
        let m = self.mac(&[event_id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", body]);
        format!("v1,{}", encoding::b64_std_encode(&m))
    }
}

/// The `X-FXE-Signature` header for all current secrets (new first).
pub fn fxe_signature_header(secrets: &[WebhookSecret], timestamp: u64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.fxe_signature(timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// The `webhook-signature` header for all current secrets (new first).
pub fn standard_signature_header(secrets: &[WebhookSecret], event_id: &str, timestamp: u64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.standard_signature(event_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Parses the timestamp header `field`; fails with [`Error::Invalid`] if it is malformed or more than `tolerance` seconds from `now`.
fn fresh_timestamp(field: &'static str, timestamp: &str, now: u64, tolerance: u64) -> Result<u64> {
    let ts = encoding::parse_timestamp(field, timestamp)?;
    if ts.abs_diff(now) > tolerance {
        return Err(Error::invalid(field, format!("{ts} is more than {tolerance} s from now ({now})")));
    }
    Ok(ts)
}

/// Succeeds if one of the space-separated values of a signature header is `want` (compared in constant time);
/// fails with [`Error::BadSignature`] naming `what`.
fn check_contains(header: &str, want: &str, what: &'static str) -> Result<()> {
    if header.split(' ').any(|v| subtle::ConstantTimeEq::ct_eq(v.as_bytes(), want.as_bytes()).into()) {
        Ok(())
    } else {
        Err(Error::BadSignature(what))
    }
}

/// Verifies an `X-FXE-Signature` header: one of its values must match, and the
/// timestamp must be within `tolerance` seconds of `now`.
/// Fails with [`Error::Invalid`] for a malformed or stale timestamp, or [`Error::BadSignature`].
pub fn verify_fxe(
    secret: &WebhookSecret, timestamp: &str, signature_header: &str, body: &[u8], now: u64, tolerance: u64,
) -> Result<()> {
    let ts = fresh_timestamp("X-FXE-Timestamp", timestamp, now, tolerance)?;
    check_contains(signature_header, &secret.fxe_signature(ts, body), "webhook X-FXE-Signature")
}

/// Verifies the Standard Webhooks headers: one of the `webhook-signature` values
/// must match, and `webhook-timestamp` must be within `tolerance` seconds of `now`.
/// Fails with [`Error::Invalid`] for a malformed or stale timestamp, or [`Error::BadSignature`].
pub fn verify_standard(
    secret: &WebhookSecret, id: &str, timestamp: &str, signature_header: &str, body: &[u8], now: u64, tolerance: u64,
) -> Result<()> {
    let ts = fresh_timestamp("webhook-timestamp", timestamp, now, tolerance)?;
    check_contains(signature_header, &secret.standard_signature(id, ts, body), "webhook-signature")
}

/// Every webhook event type (API.md, Webhooks), in the order people are shown them.
pub const EVENT_TYPES: [&str; 8] = [
    "message.received",
    "message.delivered",
    "message.rejected",
    "message.expired",
    "org.user.added",
    "org.user.removed",
    "bundle.rotated",
    "ping",
];

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn sign_and_verify_both_schemes() {
        let s = WebhookSecret::from_bytes([3; 32]);
        let old = WebhookSecret::from_bytes([4; 32]);
        let parsed = WebhookSecret::parse(&s.to_secret_string()).unwrap();
        assert_eq!(parsed.as_bytes(), s.as_bytes());
        let body = br#"{"id":"e"}"#;
        let h = fxe_signature_header(&[s.clone(), old.clone()], 1000, body);
        assert_eq!(h.split(' ').count(), 2);
        verify_fxe(&s, "1000", &h, body, 1010, 300).unwrap();
        verify_fxe(&old, "1000", &h, body, 1010, 300).unwrap();
        assert!(verify_fxe(&s, "1000", &h, b"x", 1010, 300).is_err());
        assert!(verify_fxe(&s, "1000", &h, body, 2000, 300).is_err());
        let st = standard_signature_header(std::slice::from_ref(&s), "msg_1", 1000, body);
        verify_standard(&s, "msg_1", "1000", &st, body, 1000, 300).unwrap();
        assert!(verify_standard(&s, "msg_2", "1000", &st, body, 1000, 300).is_err());
        assert!(WebhookSecret::parse("whsec_AAAA").is_err());
        assert!(WebhookSecret::parse("sk_x").is_err());
    }
}
