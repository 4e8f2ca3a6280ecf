//! Signed requests (PROTOCOL.md §6).
//!
//! `request_tbs = T("fxe/v1 request", METHOD, path_and_query, timestamp, nonce, content_sha256, key_id)`,
//! every field the ASCII string exactly as in its header.

use crate::apikey::{self, ApiKey};
use crate::error::RequestError;
use crate::transcript::{Transcript, sha256};
use crate::{Result, encoding, sign};

/// The header naming the API key (`ak_…`).
pub const HEADER_KEY: &str = "X-FXE-Key";
/// The header with the request time (unix seconds, decimal).
pub const HEADER_TIMESTAMP: &str = "X-FXE-Timestamp";
/// The header with the body's SHA-256 (lowercase hex) or [`UNSIGNED_PAYLOAD`].
pub const HEADER_CONTENT_SHA256: &str = "X-FXE-Content-SHA256";
/// The header with the request's 16-byte random nonce (b64u).
pub const HEADER_NONCE: &str = "X-FXE-Nonce";
/// The header with the signature, `v1=<b64u>`.
pub const HEADER_SIGNATURE: &str = "X-FXE-Request-Signature";
/// The content hash value of a request whose body is not signed (only the ciphertext upload).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The relay's clock window, in seconds.
pub const TIMESTAMP_WINDOW: u64 = 300;
/// How long a `(key_id, nonce)` pair is remembered, in seconds.
pub const REPLAY_WINDOW: u64 = 600;

/// `request_tbs`, the bytes an API key signs for one request (see the module's docs).
pub fn request_tbs(
    method: &str, path_and_query: &str, timestamp: &str, nonce: &str, content_sha256: &str, key_id: &str,
) -> Vec<u8> {
    Transcript::new("fxe/v1 request")
        .str(method)
        .str(path_and_query)
        .str(timestamp)
        .str(nonce)
        .str(content_sha256)
        .str(key_id)
        .finish()
}

/// What the content hash header covers.
#[derive(Clone, Copy, Debug)]
pub enum Body<'a> {
    /// The whole body (empty for none).
    Bytes(&'a [u8]),
    /// The SHA-256 of a body hashed elsewhere (streamed).
    Sha256([u8; 32]),
    /// `UNSIGNED-PAYLOAD`: only for the ciphertext upload.
    Unsigned,
}

impl Body<'_> {
    /// The value of [`HEADER_CONTENT_SHA256`] for this body.
    pub fn header_value(&self) -> String {
        match self {
            Body::Bytes(b) => encoding::hex_encode(&sha256(b)),
            Body::Sha256(h) => encoding::hex_encode(h),
            Body::Unsigned => UNSIGNED_PAYLOAD.to_owned(),
        }
    }
}

/// The five headers of a signed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    /// [`HEADER_KEY`]: the key id.
    pub key: String,
    /// [`HEADER_TIMESTAMP`].
    pub timestamp: String,
    /// [`HEADER_CONTENT_SHA256`].
    pub content_sha256: String,
    /// [`HEADER_NONCE`].
    pub nonce: String,
    /// [`HEADER_SIGNATURE`].
    pub signature: String,
}

impl SignedHeaders {
    /// The headers as `(name, value)` pairs, to add to a request.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            (HEADER_KEY, &self.key),
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_CONTENT_SHA256, &self.content_sha256),
            (HEADER_NONCE, &self.nonce),
            (HEADER_SIGNATURE, &self.signature),
        ]
    }

    /// The value of the header `name` (case-insensitive, as HTTP header names are), if it is one of the five;
    /// e.g. `RequestAuth::parse(|n| headers.get(n))`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs().into_iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
}

/// Signs a request with a fresh random nonce.
/// Fails only with [`crate::Error::Rng`].
pub fn sign_request(
    key: &ApiKey, method: &str, path_and_query: &str, timestamp: u64, body: Body<'_>,
) -> Result<SignedHeaders> {
    Ok(sign_request_with_nonce(key, method, path_and_query, timestamp, body, &crate::random_bytes()?))
}

/// Signs a request with the given nonce (known-answer vectors).
pub fn sign_request_with_nonce(
    key: &ApiKey, method: &str, path_and_query: &str, timestamp: u64, body: Body<'_>, nonce: &[u8; 16],
) -> SignedHeaders {
    let method = method.to_ascii_uppercase();
    let timestamp = timestamp.to_string();
    let nonce = encoding::b64u_encode(nonce);
    let content_sha256 = body.header_value();
    let t = request_tbs(&method, path_and_query, &timestamp, &nonce, &content_sha256, key.key_id());
    SignedHeaders {
        key: key.key_id().to_owned(),
        timestamp,
        content_sha256,
        nonce,
        signature: format!("v1={}", encoding::b64u_encode(&key.sign(&t))),
    }
}

/// The content hash a request claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimedBody {
    /// The body's SHA-256.
    Sha256([u8; 32]),
    /// [`UNSIGNED_PAYLOAD`].
    Unsigned,
}

/// Parsed, well-formed signed-request headers (nothing verified yet).
#[derive(Clone, Debug)]
pub struct RequestAuth {
    /// The API key that signed.
    pub key_id: String,
    /// The request time the headers state (unix seconds).
    pub timestamp: u64,
    timestamp_str: String,
    /// The nonce (b64u of 16 bytes), for replay checks.
    pub nonce: String,
    content_sha256_str: String,
    /// What the content hash header claims.
    pub content: ClaimedBody,
    signature: [u8; 64],
}

impl RequestAuth {
    /// Parses the five headers given a lookup by (case-insensitive) name.
    /// Returns `Ok(None)` when no `X-FXE-Key` is present (not a signed request).
    /// Fails with [`RequestError::MalformedHeaders`] when one is missing or malformed.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Option<RequestAuth>, RequestError> {
        let Some(key_id) = get(HEADER_KEY) else { return Ok(None) };
        let bad = RequestError::MalformedHeaders;
        apikey::validate_key_id(key_id).map_err(|_| bad)?;
        let ts = get(HEADER_TIMESTAMP).ok_or(bad)?;
        let timestamp = encoding::parse_timestamp("timestamp", ts).map_err(|_| bad)?;
        let nonce = get(HEADER_NONCE).ok_or(bad)?;
        encoding::b64u_fixed::<16>("nonce", nonce).map_err(|_| bad)?;
        let c = get(HEADER_CONTENT_SHA256).ok_or(bad)?;
        let content = if c == UNSIGNED_PAYLOAD {
            ClaimedBody::Unsigned
        } else {
            ClaimedBody::Sha256(encoding::hex_fixed::<32>("content", c).map_err(|_| bad)?)
        };
        let sig = get(HEADER_SIGNATURE).ok_or(bad)?;
        let sig = sig.strip_prefix("v1=").ok_or(bad)?;
        let signature = encoding::b64u_fixed::<64>("signature", sig).map_err(|_| bad)?;
        Ok(Some(RequestAuth {
            key_id: key_id.to_owned(),
            timestamp,
            timestamp_str: ts.to_owned(),
            nonce: nonce.to_owned(),
            content_sha256_str: c.to_owned(),
            content,
            signature,
        }))
    }

    /// Fails with [`RequestError::TimestampSkew`] unless the stated time is within [`TIMESTAMP_WINDOW`] of `now`.
    pub fn check_timestamp(&self, now: u64) -> Result<(), RequestError> {
        if self.timestamp.abs_diff(now) > TIMESTAMP_WINDOW {
            return Err(RequestError::TimestampSkew);
        }
        Ok(())
    }

    /// Verifies the signature over METHOD and the raw request target.
    /// Fails with [`RequestError::BadSignature`], also when `api_pub` is not the named key's.
    pub fn verify_signature(&self, api_pub: &[u8; 32], method: &str, path_and_query: &str) -> Result<(), RequestError> {
        if apikey::key_id(api_pub) != self.key_id {
            return Err(RequestError::BadSignature);
        }
        let t = request_tbs(
            method,
            path_and_query,
            &self.timestamp_str,
            &self.nonce,
            &self.content_sha256_str,
            &self.key_id,
        );
        sign::verify(api_pub, &t, &self.signature, "request").map_err(|_| RequestError::BadSignature)
    }

    /// Checks the body hash (`body_sha256` computed by the caller over the body as received).
    /// Fails with [`RequestError::BodyHashMismatch`], or [`RequestError::UnsignedPayloadNotAllowed`] for an unsigned body where `unsigned_allowed` is false.
    pub fn check_body(&self, body_sha256: &[u8; 32], unsigned_allowed: bool) -> Result<(), RequestError> {
        match self.content {
            ClaimedBody::Unsigned if unsigned_allowed => Ok(()),
            ClaimedBody::Unsigned => Err(RequestError::UnsignedPayloadNotAllowed),
            ClaimedBody::Sha256(h) if subtle::ConstantTimeEq::ct_eq(&h[..], &body_sha256[..]).into() => Ok(()),
            ClaimedBody::Sha256(_) => Err(RequestError::BodyHashMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn parse(h: &SignedHeaders) -> RequestAuth {
        RequestAuth::parse(|n| h.get(n)).unwrap().unwrap()
    }

    #[test]
    fn sign_verify_and_tamper() {
        let k = ApiKey::from_seed(&[1; 32]);
        let body = br#"{"a":1}"#;
        let h =
            sign_request_with_nonce(&k, "POST", "/api/v1/messages?x=%2B1", 1_700_000_000, Body::Bytes(body), &[7; 16]);
        let a = parse(&h);
        a.verify_signature(&k.public(), "POST", "/api/v1/messages?x=%2B1").unwrap();
        a.check_body(&sha256(body), false).unwrap();
        a.check_timestamp(1_700_000_100).unwrap();
        assert_eq!(a.check_timestamp(1_700_000_301), Err(RequestError::TimestampSkew));
        assert_eq!(a.verify_signature(&k.public(), "PUT", "/api/v1/messages?x=%2B1"), Err(RequestError::BadSignature));
        assert_eq!(a.verify_signature(&k.public(), "POST", "/api/v1/messages?x=+1"), Err(RequestError::BadSignature));
        assert_eq!(a.check_body(&sha256(b"{}"), false), Err(RequestError::BodyHashMismatch));
        let mut h2 = h.clone();
        h2.timestamp = "1700000001".into();
        assert_eq!(
            parse(&h2).verify_signature(&k.public(), "POST", "/api/v1/messages?x=%2B1"),
            Err(RequestError::BadSignature)
        );
        let u = sign_request_with_nonce(&k, "PUT", "/c", 1, Body::Unsigned, &[7; 16]);
        assert_eq!(parse(&u).check_body(&sha256(b"x"), false), Err(RequestError::UnsignedPayloadNotAllowed));
        parse(&u).check_body(&sha256(b"x"), true).unwrap();
    }

    #[test]
    fn malformed_headers() {
        let none: Option<&str> = None;
        assert!(RequestAuth::parse(|_| none).unwrap().is_none());
        let k = ApiKey::from_seed(&[1; 32]);
        let h = sign_request_with_nonce(&k, "GET", "/", 1_700_000_000, Body::Bytes(b""), &[7; 16]);
        for (field, val) in [
            (HEADER_TIMESTAMP, "01700000000"),
            (HEADER_NONCE, "AAAA"),
            (HEADER_CONTENT_SHA256, "ABCD"),
            (HEADER_SIGNATURE, "v2=abc"),
            (HEADER_KEY, "ak_XYZ"),
        ] {
            let pairs = h.pairs();
            let r = RequestAuth::parse(|n| {
                if n.eq_ignore_ascii_case(field) {
                    Some(val)
                } else {
                    pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| *v)
                }
            });
            assert_eq!(r.err(), Some(RequestError::MalformedHeaders), "{field}");
        }
    }
}
