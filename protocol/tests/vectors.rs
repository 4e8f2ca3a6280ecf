//! Known-answer vectors: `tests/vectors/envelopes.json` and `tests/vectors/requests.json`.
//! Every vector is regenerated from its inputs and compared, and every envelope is opened.
//! `FXE_REGENERATE_VECTORS=1 cargo test -p fxe-protocol --test vectors` rewrites the files
//! (only ever on purpose: a change here is a protocol change).

// Under wasm32 the vector files are only read, never regenerated.
#![cfg_attr(target_arch = "wasm32", allow(dead_code))]
// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fxe_protocol::apikey::ApiKey;
use fxe_protocol::bundle::Bundle;
use fxe_protocol::envelope::{self, Envelope};
use fxe_protocol::receipt::Receipt;
use fxe_protocol::request::{self, Body};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct EnvelopeCase {
    name: String,
    sender_identity_seed: String,
    sender_kem_seed: String,
    sender_sign_seed: String,
    sender_bundle_created_at: u64,
    recipient_identity_seed: String,
    recipient_kem_seed: String,
    recipient_sign_seed: String,
    recipient_bundle_created_at: u64,
    message_id: String,
    created_at: u64,
    from_number: String,
    from_name: String,
    to_number: String,
    content_type: String,
    plaintext_len: u64,
    cek: String,
    kem_eseed: String,
    sender_bundle: Value,
    recipient_bundle: Value,
    envelope: Value,
    ciphertext_sha256: String,
    receipt_received_at: u64,
    receipt: Value,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RequestCase {
    name: String,
    api_seed: String,
    method: String,
    path_and_query: String,
    timestamp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unsigned_payload: Option<bool>,
    key_id: String,
    secret: String,
    headers: std::collections::BTreeMap<String, String>,
}

impl EnvelopeCase {
    /// The sender and the recipient, made from the case's seeds.
    fn parties(&self) -> (Party, Party) {
        let s = Party::from_seeds(
            h32(&self.sender_identity_seed),
            h32(&self.sender_kem_seed),
            h32(&self.sender_sign_seed),
            self.sender_bundle_created_at,
            &self.from_number,
        );
        let r = Party::from_seeds(
            h32(&self.recipient_identity_seed),
            h32(&self.recipient_kem_seed),
            h32(&self.recipient_sign_seed),
            self.recipient_bundle_created_at,
            &self.to_number,
        );
        (s, r)
    }
}

fn seed(label: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!("fxe/v1 test vector {label}")))
}

fn seed64(label: &str) -> String {
    format!("{}{}", seed(&format!("{label} a")), seed(&format!("{label} b")))
}

/// Computes every output of an envelope case from its inputs, and the ciphertext.
fn build(c: &EnvelopeCase) -> (EnvelopeCase, Vec<u8>) {
    let (s, r) = c.parties();
    let r_pub = r.identity.public();
    let mut req = request(&s, &r, &r_pub, &c.message_id, fxe_protocol::stream::V1_CHUNK_SIZE);
    req.created_at = c.created_at;
    req.from_name = &c.from_name;
    req.content_type = &c.content_type;
    let eseed: [u8; 64] = hex::decode(&c.kem_eseed).unwrap().try_into().unwrap();
    let (env, ct) =
        envelope::seal_with(&req, fixed_rnd(h32(&c.cek), eseed), &plaintext(usize::try_from(c.plaintext_len).unwrap()))
            .unwrap();
    let receipt = Receipt::make(&env, std::slice::from_ref(&r.bundle), c.receipt_received_at).unwrap();
    let mut out = c.clone();
    out.sender_bundle = serde_json::to_value(&s.bundle.bundle).unwrap();
    out.recipient_bundle = serde_json::to_value(&r.bundle.bundle).unwrap();
    out.envelope = serde_json::to_value(&env).unwrap();
    out.ciphertext_sha256 = hex::encode(env.ciphertext_sha256);
    out.receipt = serde_json::to_value(&receipt).unwrap();
    (out, ct)
}

fn envelope_inputs() -> Vec<EnvelopeCase> {
    let cases: [(&str, u64, &str, &str); 5] = [
        ("empty plaintext", 0, "Front Desk", "+15551230001"),
        ("1000 bytes", 1000, "Lakeside Clinic", "+15551230002"),
        ("exactly 1 MiB (one full chunk)", 1 << 20, "", "+15551230003"),
        ("3 MiB + 1 byte (four chunks)", 3 * (1 << 20) + 1, "Records Dept.", "+442071234567"),
        ("non-ASCII from_name", 1000, "Clinique Sainte-Thérèse — 東京 📠", "+33142000000"),
    ];
    cases
        .iter()
        .enumerate()
        .map(|(i, (name, len, from_name, from_number))| EnvelopeCase {
            name: (*name).to_owned(),
            sender_identity_seed: seed(&format!("{i} sender identity")),
            sender_kem_seed: seed(&format!("{i} sender kem")),
            sender_sign_seed: seed(&format!("{i} sender sign")),
            sender_bundle_created_at: 1_767_225_600 + i as u64,
            recipient_identity_seed: seed(&format!("{i} recipient identity")),
            recipient_kem_seed: seed(&format!("{i} recipient kem")),
            recipient_sign_seed: seed(&format!("{i} recipient sign")),
            recipient_bundle_created_at: 1_767_225_700 + i as u64,
            message_id: format!("0f8fad5b-d9cb-469f-a165-70867728950{i}"),
            created_at: 1_767_230_000 + i as u64,
            from_number: (*from_number).to_owned(),
            from_name: (*from_name).to_owned(),
            to_number: format!("+1555987000{i}"),
            content_type: "application/pdf".into(),
            plaintext_len: *len,
            cek: seed(&format!("{i} cek")),
            kem_eseed: seed64(&format!("{i} kem eseed")),
            sender_bundle: Value::Null,
            recipient_bundle: Value::Null,
            envelope: Value::Null,
            ciphertext_sha256: String::new(),
            receipt_received_at: 1_767_230_060 + i as u64,
            receipt: Value::Null,
        })
        .collect()
}

fn build_request(c: &RequestCase) -> RequestCase {
    let key = ApiKey::from_seed(&h32(&c.api_seed));
    let body_bytes = c.body_hex.as_ref().map(|h| hex::decode(h).unwrap());
    let body = match (&body_bytes, c.unsigned_payload) {
        (_, Some(true)) => Body::Unsigned,
        (Some(b), _) => Body::Bytes(b),
        (None, _) => Body::Bytes(b""),
    };
    let nonce = c
        .headers
        .get(request::HEADER_NONCE)
        .map(|n| fxe_protocol::encoding::b64u_fixed::<16>("nonce", n).unwrap())
        .unwrap_or_else(|| h32(&seed(&format!("{} nonce", c.name)))[..16].try_into().unwrap());
    let h = request::sign_request_with_nonce(&key, &c.method, &c.path_and_query, c.timestamp, body, &nonce);
    let mut out = c.clone();
    out.key_id = key.key_id().to_owned();
    out.secret = key.secret_string().to_string();
    out.headers = h.pairs().iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    out
}

fn request_inputs() -> Vec<RequestCase> {
    let body = br#"{"envelope":{"v":1}}"#;
    let mk = |name: &str, method: &str, path: &str, body_hex: Option<String>, unsigned: Option<bool>| RequestCase {
        name: name.into(),
        api_seed: seed(&format!("{name} api key")),
        method: method.into(),
        path_and_query: path.into(),
        timestamp: 1_767_230_000,
        body_hex,
        unsigned_payload: unsigned,
        key_id: String::new(),
        secret: String::new(),
        headers: Default::default(),
    };
    vec![
        mk(
            "GET with a query string",
            "GET",
            "/api/v1/messages?box=inbox&status=queued&number=%2B15551230001&limit=50",
            None,
            None,
        ),
        mk("POST with a JSON body", "POST", "/api/v1/messages", Some(hex::encode(body)), None),
        mk(
            "PUT with UNSIGNED-PAYLOAD",
            "PUT",
            "/api/v1/messages/0f8fad5b-d9cb-469f-a165-708677289501/content",
            None,
            Some(true),
        ),
        mk("DELETE without a body", "DELETE", "/api/v1/api-keys/ak_000102030405060708090a0b", None, None),
    ]
}

const ENVELOPES: &str = include_str!("vectors/envelopes.json");
const REQUESTS: &str = include_str!("vectors/requests.json");

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn regenerate_if_asked() {
    if std::env::var("FXE_REGENERATE_VECTORS").as_deref() != Ok("1") {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let env: Vec<EnvelopeCase> = envelope_inputs().iter().map(|c| build(c).0).collect();
    std::fs::write(dir.join("envelopes.json"), serde_json::to_string_pretty(&env).unwrap() + "\n").unwrap();
    let req: Vec<RequestCase> = request_inputs().iter().map(build_request).collect();
    std::fs::write(dir.join("requests.json"), serde_json::to_string_pretty(&req).unwrap() + "\n").unwrap();
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn envelope_vectors_regenerate_and_open() {
    let cases: Vec<EnvelopeCase> = serde_json::from_str(ENVELOPES).unwrap();
    assert!(cases.len() >= 5);
    for c in &cases {
        let (rebuilt, ct) = build(c);
        assert_eq!(
            serde_json::to_value(&rebuilt).unwrap(),
            serde_json::to_value(c).unwrap(),
            "vector {:?} differs",
            c.name
        );

        // Parse the stored JSON forms as an independent reader would, and open.
        let env = Envelope::from_json(&c.envelope.to_string()).unwrap();
        let sb = Bundle::from_json(&c.sender_bundle.to_string()).unwrap();
        let rb = Bundle::from_json(&c.recipient_bundle.to_string()).unwrap();
        let (s, r) = c.parties();
        sb.verify(&s.identity.public()).unwrap();
        rb.verify(&r.identity.public()).unwrap();
        assert_eq!(hex::encode(env.ciphertext_sha256), c.ciphertext_sha256);
        assert_eq!(env.ciphertext_len, ct.len() as u64);
        let pt = open_as(&r, &s, &env, &ct).unwrap();
        assert_eq!(*pt, plaintext(usize::try_from(c.plaintext_len).unwrap()), "{}", c.name);
        let receipt = Receipt::from_json(&c.receipt.to_string()).unwrap();
        receipt.verify(&env, &rb).unwrap();
    }
}

/// The request authentication in `headers`, found by case-insensitive name as a server would.
fn parse_auth(headers: &std::collections::BTreeMap<String, String>) -> request::RequestAuth {
    request::RequestAuth::parse(|n| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str()))
        .unwrap()
        .unwrap()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn request_vectors_regenerate_and_verify() {
    let cases: Vec<RequestCase> = serde_json::from_str(REQUESTS).unwrap();
    assert!(cases.len() >= 3);
    for c in &cases {
        assert_eq!(serde_json::to_value(build_request(c)).unwrap(), serde_json::to_value(c).unwrap(), "{}", c.name);
        let key = ApiKey::parse_secret(&c.secret).unwrap();
        let auth = parse_auth(&c.headers);
        auth.verify_signature(&key.public(), &c.method, &c.path_and_query).unwrap();
        let body = c.body_hex.as_ref().map(|h| hex::decode(h).unwrap()).unwrap_or_default();
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(&body).into();
        auth.check_body(&digest, c.unsigned_payload == Some(true)).unwrap();
        // A changed method, path, body or timestamp does not verify.
        assert!(auth.verify_signature(&key.public(), "PATCH", &c.path_and_query).is_err());
        assert!(auth.verify_signature(&key.public(), &c.method, &format!("{}x", c.path_and_query)).is_err());
        if c.unsigned_payload != Some(true) {
            assert!(auth.check_body(&sha2::Sha256::digest(b"tampered").into(), false).is_err());
        }
        let mut h = c.headers.clone();
        h.insert(request::HEADER_TIMESTAMP.into(), (c.timestamp + 1).to_string());
        let moved = parse_auth(&h);
        assert!(moved.verify_signature(&key.public(), &c.method, &c.path_and_query).is_err());
    }
}
