//! Fuzzing harnesses for fxe-protocol, one function per cargo-fuzz target.
//!
//! Each takes arbitrary bytes and must never panic except on a broken invariant
//! (an assertion here): a re-encoded object that does not parse back the same,
//! an envelope that opens to anything but the sealed plaintext, a streaming
//! opener that releases a byte which is not authenticated plaintext, a request
//! signed by us that does not verify.
//!
//! The same functions replay every file of `fuzz/seeds/<target>/` in
//! `cargo test -p fxe-protocol --test fuzz_regressions` (this file is included
//! there by path), so a crash input copied into that folder becomes a
//! regression test. See docs/protocol.md, "Fuzzing".

use fxe_protocol::apikey::{self, ApiKey};
use fxe_protocol::bundle::{Bundle, BundleKeys};
use fxe_protocol::envelope::{self, Envelope, Recipient, SealRandomness, SealRequest};
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::keyszip::{self, OrgKeys, StoredApiKey};
use fxe_protocol::pins::PinStore;
use fxe_protocol::receipt::{Receipt, Refusal, RefusalReason};
use fxe_protocol::request::{self, Body, RequestAuth};
use fxe_protocol::webhook::WebhookSecret;
use fxe_protocol::{e164, encoding};
use std::io::Read;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// [`CHUNK`] as a buffer length.
const CHUNK_LEN: usize = 16384;
pub const CHUNK: u64 = CHUNK_LEN as u64;
pub const MESSAGE_ID: &str = "6f1b3c2a-9d4e-4f60-8a7b-0c1d2e3f4a5b";
/// The passphrase of the protected keys.zip seed; the harness tries it on every input.
pub const PASSPHRASE: &str = "fuzz";

/// Two orgs, one sealed message between them, an API key, and keys.zip contents.
pub struct Fixture {
    pub sender_identity: IdentityKey,
    pub sender: BundleKeys,
    pub recipient_identity: IdentityKey,
    pub recipient: BundleKeys,
    pub recipient_org: String,
    pub numbers: Vec<String>,
    pub plaintext: Vec<u8>,
    pub envelope: Envelope,
    pub ciphertext: Vec<u8>,
    pub api_key: ApiKey,
    pub keys: OrgKeys,
}

pub fn fixture() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| {
        let sender_identity = IdentityKey::from_seed(&[1; 32]);
        let sender = BundleKeys::from_seeds(&sender_identity, 1_700_000_000, &[2; 32], &[3; 32]);
        let recipient_identity = IdentityKey::from_seed(&[4; 32]);
        let recipient = BundleKeys::from_seeds(&recipient_identity, 1_700_000_000, &[5; 32], &[6; 32]);
        let numbers = vec!["+15550000002".to_string()];
        // Three chunks: two full ones and a last one of 100 bytes.
        let plaintext: Vec<u8> = (0..2 * CHUNK_LEN + 100).map(|i| (i % 251).to_le_bytes()[0]).collect();
        let recipient_pub = recipient_identity.public();
        let req = SealRequest {
            message_id: MESSAGE_ID,
            created_at: 1_700_000_100,
            sender: &sender,
            recipient_identity_pub: &recipient_pub,
            recipient_bundle: &recipient.bundle,
            from_number: "+15550000001",
            from_name: "Fuzz",
            to_number: &numbers[0],
            content_type: "application/pdf",
            chunk_size: CHUNK,
        };
        let rnd = SealRandomness { cek: Zeroizing::new([7; 32]), kem_eseed: Zeroizing::new([8; 64]) };
        let (envelope, ciphertext) = envelope::seal_with(&req, rnd, &plaintext).expect("the fixture seals");
        let keys = OrgKeys {
            relay_url: "https://relay.example".into(),
            org_id: recipient_identity.org_id(),
            org_name: "Fuzz Org".into(),
            identity_pub: recipient_pub,
            identity: Some(recipient_identity.clone()),
            bundles: vec![recipient.clone()],
            api_keys: vec![StoredApiKey {
                key: ApiKey::from_seed(&[9; 32]),
                scopes: vec!["send".into(), "receive".into()],
            }],
            created_at: 1_700_000_001,
        };
        Fixture {
            recipient_org: recipient_identity.org_id(),
            sender_identity,
            sender,
            recipient_identity,
            recipient,
            numbers,
            plaintext,
            envelope,
            ciphertext,
            api_key: ApiKey::from_seed(&[10; 32]),
            keys,
        }
    })
}

/// A reader handing out `step` bytes at a time (short reads).
struct ShortReader<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for ShortReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Opens `ct` under `env` as the fixture's recipient, in memory and streamed.
/// Neither may ever release anything but the sealed plaintext.
fn open_both(fx: &Fixture, env: &Envelope, ct: &[u8], step: usize) {
    let bundles = std::slice::from_ref(&fx.recipient);
    let rec = Recipient { org_id: &fx.recipient_org, numbers: &fx.numbers, bundles };
    let sender_pub = fx.sender_identity.public();
    let mem = envelope::open(env, &sender_pub, &fx.sender.bundle, &rec, ct);
    let mut out = Vec::new();
    let streamed =
        envelope::open_stream(env, &sender_pub, &fx.sender.bundle, &rec, ShortReader { data: ct, step }, &mut out);
    if let Ok(pt) = &mem {
        assert!(pt[..] == fx.plaintext[..], "an envelope opened to something that was never sealed");
    }
    if streamed.is_ok() {
        assert!(out == fx.plaintext, "a streamed envelope opened to something that was never sealed");
    }
    assert!(fx.plaintext.starts_with(&out), "the streaming opener released bytes that are not authenticated plaintext");
    assert_eq!(mem.is_ok(), streamed.is_ok(), "in-memory and streaming opening disagree: {mem:?} / {streamed:?}");
}

fn resign(fx: &Fixture, env: &mut Envelope) {
    env.sig = fx.sender.signing.sign(&env.tbs());
}

fn rehash(env: &mut Envelope, ct: &[u8]) {
    env.ciphertext_len = ct.len() as u64;
    env.ciphertext_sha256 = fxe_protocol::transcript::sha256(ct);
}

/// Target `envelope`. The first byte picks a mode:
/// * 0: the rest is envelope JSON: parsed, re-encoded, and opened (as is, and
///   re-signed by the fixture's sender) against the fixture's ciphertext;
/// * 1: the rest is a list of 4-byte edits `[op, x, i_hi, i_lo]` applied to the
///   fixture's envelope and ciphertext, which are then re-signed (unless an edit
///   says not to) and opened: this reaches every check past the signature;
/// * 2: the rest is a ciphertext, opened under the fixture's envelope and under
///   the fixture's envelope re-signed for its length and hash.
pub fn envelope(data: &[u8]) {
    let fx = fixture();
    let Some((&mode, rest)) = data.split_first() else { return };
    let step = 1 + (mode as usize) * 131 % 40_000;
    match mode % 3 {
        0 => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            let Ok(env) = Envelope::from_json(text) else { return };
            let again = Envelope::from_json(&env.to_json()).expect("a re-encoded envelope parses");
            assert_eq!(again, env, "the JSON form does not round-trip");
            let _ = env.hash();
            let _ = env.plaintext_len();
            open_both(fx, &env, &fx.ciphertext, step);
            let mut e = env;
            e.sender_org_id = fx.sender.bundle.org_id.clone();
            e.sender_bundle_id = fx.sender.bundle.bundle_id.clone();
            resign(fx, &mut e);
            open_both(fx, &e, &fx.ciphertext, step);
        }
        1 => {
            let mut env = fx.envelope.clone();
            let mut ct = fx.ciphertext.clone();
            let mut sign = true;
            for edit in rest.chunks_exact(4) {
                let (op, x, i) = (edit[0], edit[1], u16::from_be_bytes([edit[2], edit[3]]) as usize);
                match op % 18 {
                    0 => env.kem_ct[i % 1120] ^= x,
                    1 => env.wrapped_cek[i % 48] ^= x,
                    2 => env.cek_commit[i % 32] ^= x,
                    3 => env.chunk_size = 1u64 << (x % 40),
                    4 => env.ciphertext_len = (i as u64) * (u64::from(x) + 1),
                    5 => {
                        let n = ct.len();
                        if n > 0 {
                            ct[(i * 7) % n] ^= x;
                        }
                    }
                    6 => ct.truncate(i * 2 % (ct.len() + 1)),
                    7 => ct.extend(std::iter::repeat_n(x, i % 300)),
                    8 => {
                        // Swap two full sealed chunks.
                        let full = CHUNK_LEN + 16;
                        let (a, b) = (usize::from(x % 3), i % 3);
                        if (a.max(b) + 1) * full <= ct.len() {
                            for k in 0..full {
                                ct.swap(a * full + k, b * full + k);
                            }
                        }
                    }
                    9 => env.message_id = format!("6f1b3c2a-9d4e-4f60-8a7b-0c1d2e3f{:04x}", i),
                    10 => env.to_number = format!("+1555{:07}", i),
                    11 => env.recipient_bundle_id = format!("{:032x}", i),
                    12 => env.recipient_org_id = format!("{:032x}", i),
                    13 => sign = false,
                    14 => env.sig[i % 64] ^= x,
                    15 => env.created_at = i as u64,
                    16 => env.kem_ct[1088..].fill(if x % 2 == 0 { 0 } else { x }),
                    _ => rehash(&mut env, &ct),
                }
            }
            if sign {
                resign(fx, &mut env);
            }
            open_both(fx, &env, &ct, step);
        }
        _ => {
            open_both(fx, &fx.envelope, rest, step);
            let mut env = fx.envelope.clone();
            rehash(&mut env, rest);
            resign(fx, &mut env);
            open_both(fx, &env, rest, step);
        }
    }
}

/// Target `keyszip`: reads the bytes as keys.zip (without a passphrase, and with
/// [`PASSPHRASE`] when protected). Whatever reads must write and read back the same.
pub fn keyszip(data: &[u8]) {
    let protected = keyszip::is_protected(data);
    for pass in [None, Some(PASSPHRASE)] {
        let Ok(keys) = keyszip::read(data, pass) else { continue };
        assert!(protected.is_ok(), "a keys.zip that reads is a keys.zip");
        let json = keys.to_json();
        let again = keyszip::read(&keyszip::write(&keys, pass).expect("keys that were read can be written"), pass)
            .expect("a keys.zip we wrote reads back");
        assert!(*again.to_json() == *json, "keys.zip does not round-trip");
        let _ = keys.active_bundle();
        let _ = keys.identity();
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(keys) = OrgKeys::from_json(text)
    {
        assert!(*OrgKeys::from_json(&keys.to_json()).expect("re-encoded keys parse").to_json() == *keys.to_json());
    }
}

/// Target `api_secret`: API secret strings, webhook secrets, numbers and the strict
/// encodings. Whatever parses re-encodes to the same text.
pub fn api_secret(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(key) = ApiKey::parse_secret(s) {
        assert_eq!(key.secret_string().as_str(), s.trim(), "API secrets have one spelling");
        apikey::validate_key_id(key.key_id()).expect("a parsed key has a valid id");
    }
    if let Ok(w) = WebhookSecret::parse(s) {
        assert_eq!(w.to_secret_string().as_str(), s.trim(), "webhook secrets have one spelling");
    }
    if let Ok(n) = e164::normalize(s) {
        e164::validate("n", &n).expect("normalised numbers are E.164");
        assert_eq!(e164::normalize(&n).expect("idempotent"), n);
    }
    if e164::is_valid(s) {
        assert_eq!(e164::normalize(s).expect("valid numbers normalise"), s);
    }
    if let Ok(b) = encoding::b64u_decode("f", s) {
        assert_eq!(encoding::b64u_encode(&b), s, "b64u is canonical");
    }
    if let Ok(b) = encoding::hex_decode("f", s) {
        assert_eq!(encoding::hex_encode(&b), s, "hex is canonical");
    }
    if let Ok(t) = encoding::parse_timestamp("t", s) {
        assert_eq!(t.to_string(), s);
    }
    let _ = encoding::validate_uuid_v4("id", s);
    let _ = fxe_protocol::ids::fingerprint_matches(&fixture().sender_identity.public(), s);
}

/// Target `request_headers`: the input's lines are the five X-FXE headers (key,
/// timestamp, content hash, nonce, signature), then a method, a path and a body.
/// The headers are parsed and checked against the fixture's API key; and a request
/// the fixture key signs over the same method, path, timestamp and body must verify.
pub fn request_headers(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let lines: Vec<&str> = s.split('\n').collect();
    let line = |i: usize| lines.get(i).copied();
    let names = [
        request::HEADER_KEY,
        request::HEADER_TIMESTAMP,
        request::HEADER_CONTENT_SHA256,
        request::HEADER_NONCE,
        request::HEADER_SIGNATURE,
    ];
    let get =
        |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name)).and_then(line).filter(|v| !v.is_empty());
    let method = line(5).unwrap_or("GET");
    let path = line(6).unwrap_or("/");
    let body = line(7).unwrap_or("").as_bytes();
    let key = &fixture().api_key;
    if let Ok(Some(auth)) = RequestAuth::parse(get) {
        let _ = auth.check_timestamp(1_767_230_000);
        let _ = auth.check_body(&fxe_protocol::transcript::sha256(body), method == "PUT");
        let _ = auth.verify_signature(&key.public(), method, path);
    }
    // Our own signature over the same request verifies, and only for it.
    let Some(ts) = line(1).and_then(|t| t.parse::<u64>().ok()).filter(|t| *t > 0) else { return };
    let nonce: [u8; 16] = fxe_protocol::transcript::sha256(data)[..16].try_into().expect("16 bytes");
    let h = request::sign_request_with_nonce(key, method, path, ts, Body::Bytes(body), &nonce);
    let auth =
        RequestAuth::parse(|n| h.get(n)).expect("headers we make parse").expect("headers we make are a signed request");
    auth.verify_signature(&key.public(), &method.to_ascii_uppercase(), path).expect("a request we signed verifies");
    auth.check_body(&fxe_protocol::transcript::sha256(body), false).expect("the body we signed matches");
    assert!(auth.verify_signature(&key.public(), &method.to_ascii_uppercase(), &format!("{path}/")).is_err());
}

/// Target `signed_json`: the first byte picks bundle, receipt, refusal, keys or pins
/// JSON; whatever parses re-encodes to an equal value and verifies without panicking.
pub fn signed_json(data: &[u8]) {
    let fx = fixture();
    let Some((&kind, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match kind % 5 {
        0 => {
            if let Ok(b) = Bundle::from_json(text) {
                assert_eq!(Bundle::from_json(&b.to_json()).expect("re-encoded bundle parses"), b);
                let _ = b.verify(&fx.sender_identity.public());
                let _ = b.verify(&fx.recipient_identity.public());
                let mut pins = PinStore::new();
                let _ = pins.check_and_record(Some("+15550000002"), &fx.recipient_identity.public(), &b);
            }
        }
        1 => {
            if let Ok(r) = Receipt::from_json(text) {
                assert_eq!(Receipt::from_json(&r.to_json()).expect("re-encoded receipt parses"), r);
                let _ = r.verify(&fx.envelope, &fx.recipient.bundle);
            }
        }
        2 => {
            if let Ok(r) = Refusal::from_json(text) {
                assert_eq!(Refusal::from_json(&r.to_json()).expect("re-encoded refusal parses"), r);
                let _ = r.verify(&fx.envelope, &fx.recipient.bundle);
            }
        }
        3 => keyszip(rest),
        _ => {
            if let Ok(p) = PinStore::from_json(text) {
                assert_eq!(PinStore::from_json(&p.to_json()).expect("re-encoded pins parse"), p);
                let _ = p.check(Some("+15550000002"), &fx.recipient_identity.public(), &fx.recipient.bundle);
                let _ = p.check(None, &fx.sender_identity.public(), &fx.sender.bundle);
            }
        }
    }
}

/// Runs the named target on `data` (for replaying files).
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "envelope" => envelope(data),
        "keyszip" => keyszip(data),
        "api_secret" => api_secret(data),
        "request_headers" => request_headers(data),
        "signed_json" => signed_json(data),
        _ => return false,
    }
    true
}

fn tagged(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(body);
    v
}

/// The seed inputs of every target, written to `fuzz/seeds/<target>/` by
/// `FXE_WRITE_FUZZ_SEEDS=1 cargo test -p fxe-protocol --test fuzz_regressions`.
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let fx = fixture();
    let receipt = Receipt::make(&fx.envelope, std::slice::from_ref(&fx.recipient), 1_700_000_200).expect("receipt");
    let refusal =
        Refusal::make(&fx.envelope, std::slice::from_ref(&fx.recipient), 1_700_000_200, RefusalReason::NotAPdf)
            .expect("refusal");
    let mut pins = PinStore::new();
    pins.record(Some("+15550000002"), &fx.recipient_identity.public(), &fx.recipient.bundle);
    let plain = keyszip::write(&fx.keys, None).expect("keys.zip");
    let protected = keyszip::write(&fx.keys, Some(PASSPHRASE)).expect("keys.zip");
    let machine = keyszip::write(&fx.keys.machine(), None).expect("keys.zip");
    let h = request::sign_request_with_nonce(
        &fx.api_key,
        "POST",
        "/api/v1/messages",
        1_767_230_000,
        Body::Bytes(b"{}"),
        &[7; 16],
    );
    let headers = format!(
        "{}\n{}\n{}\n{}\n{}\nPOST\n/api/v1/messages\n{{}}",
        h.key, h.timestamp, h.content_sha256, h.nonce, h.signature
    );
    let u = request::sign_request_with_nonce(
        &fx.api_key,
        "PUT",
        "/api/v1/messages/x/content",
        1_767_230_000,
        Body::Unsigned,
        &[8; 16],
    );
    let unsigned = format!(
        "{}\n{}\n{}\n{}\n{}\nPUT\n/api/v1/messages/x/content\n",
        u.key, u.timestamp, u.content_sha256, u.nonce, u.signature
    );
    // One of every edit, each at a harmless position.
    let edits: Vec<u8> = (0u8..18).flat_map(|op| [op, 1, 0, 3]).collect();
    vec![
        ("envelope", "json", tagged(0, fx.envelope.to_json().as_bytes())),
        ("envelope", "edits", tagged(1, &edits)),
        ("envelope", "no-edits", vec![1]),
        ("envelope", "ciphertext", tagged(2, &fx.ciphertext)),
        ("keyszip", "plain", plain),
        ("keyszip", "protected", protected),
        ("keyszip", "machine", machine),
        ("keyszip", "json", fx.keys.to_json().as_bytes().to_vec()),
        ("api_secret", "api-secret", fx.api_key.secret_string().as_bytes().to_vec()),
        ("api_secret", "webhook-secret", WebhookSecret::from_bytes([3; 32]).to_secret_string().as_bytes().to_vec()),
        ("api_secret", "number", b"+1 (555) 123-4567".to_vec()),
        ("api_secret", "fingerprint", fx.sender_identity.fingerprint().into_bytes()),
        ("request_headers", "post", headers.into_bytes()),
        ("request_headers", "unsigned", unsigned.into_bytes()),
        ("signed_json", "bundle", tagged(0, fx.sender.bundle.to_json().as_bytes())),
        ("signed_json", "receipt", tagged(1, receipt.to_json().as_bytes())),
        ("signed_json", "refusal", tagged(2, refusal.to_json().as_bytes())),
        ("signed_json", "keys", tagged(3, fx.keys.to_json().as_bytes())),
        ("signed_json", "pins", tagged(4, pins.to_json().as_bytes())),
    ]
}
