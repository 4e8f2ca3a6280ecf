//! Negative tests: every tampering of an envelope, its payload, a receipt, a refusal
//! or a signed request fails, with the error that names the check; malformed JSON of
//! every signed object is refused; the streaming opener never releases a byte that
//! did not authenticate.

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fxe_protocol::Error;
use fxe_protocol::apikey::ApiKey;
use fxe_protocol::bundle::{Bundle, BundleKeys};
use fxe_protocol::envelope::{self, Envelope, Recipient};
use fxe_protocol::error::{OpenError, RequestError};
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::kem::KemSecret;
use fxe_protocol::receipt::{Receipt, Refusal, RefusalReason};
use fxe_protocol::request::{self, Body, RequestAuth, SignedHeaders};
use serde_json::{Value, json};
use std::io::{Read, Write};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// [`CS`] as a buffer length, and a sealed chunk's (with its tag).
const CS_LEN: usize = 16384;
const SEALED_LEN: usize = CS_LEN + 16;
const CS: u64 = CS_LEN as u64;
const MID: &str = "6f1b3c2a-9d4e-4f60-8a7b-0c1d2e3f4a5b";
const OTHER_MID: &str = "6f1b3c2a-9d4e-4f60-8a7b-0c1d2e3f4a5c";
/// Four chunks: three full, and a last one of 100 bytes.
const PT_LEN: usize = 3 * CS_LEN + 100;

struct Fixture {
    s: Party,
    r: Party,
    env: Envelope,
    ct: Vec<u8>,
    pt: Vec<u8>,
}

fn fixture() -> Fixture {
    let s = Party::seeded(1, "+15550000001");
    let r = Party::seeded(10, "+15550000002");
    let pt = plaintext(PT_LEN);
    let r_pub = r.identity.public();
    let (env, ct) = envelope::seal_with(&request(&s, &r, &r_pub, MID, CS), fixed_rnd([7; 32], [8; 64]), &pt).unwrap();
    Fixture { s, r, env, ct, pt }
}

/// The payload as its sealed chunks.
fn chunks(ct: &[u8]) -> Vec<Vec<u8>> {
    ct.chunks(SEALED_LEN).map(<[u8]>::to_vec).collect()
}

fn resign(s: &Party, env: &mut Envelope) {
    env.sig = s.bundle.signing.sign(&env.tbs());
}

/// Re-signs `env` for a substituted ciphertext, so only the payload layer can catch it.
fn resign_for(s: &Party, env: &Envelope, ct: &[u8]) -> Envelope {
    use sha2::Digest;
    let mut e = env.clone();
    e.ciphertext_len = ct.len() as u64;
    e.ciphertext_sha256 = sha2::Sha256::digest(ct).into();
    resign(s, &mut e);
    e
}

fn open_err(f: &Fixture, env: &Envelope, ct: &[u8]) -> Error {
    open_as(&f.r, &f.s, env, ct).expect_err("opening must fail")
}

fn open_kind(f: &Fixture, env: &Envelope, ct: &[u8]) -> OpenError {
    match open_err(f, env, ct) {
        Error::Open(o) => o,
        other => panic!("expected an OpenError, got {other:?}"),
    }
}

/// A named change to an object, for tables of tamperings.
type Tamper<T> = (&'static str, Box<dyn Fn(&mut T)>);

/// A writer that records everything it is given.
#[derive(Default)]
struct Recorder(Vec<u8>);
impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn open_stream_as(f: &Fixture, env: &Envelope, reader: impl Read) -> (fxe_protocol::Result<()>, Vec<u8>) {
    let org = f.r.org_id();
    let bundles = vec![f.r.bundle.clone()];
    let rec = Recipient { org_id: &org, numbers: &f.r.numbers, bundles: &bundles };
    let mut out = Recorder::default();
    let res = envelope::open_stream(env, &f.s.identity.public(), &f.s.bundle.bundle, &rec, reader, &mut out);
    (res, out.0)
}

#[test]
fn fixture_opens() {
    let f = fixture();
    assert_eq!(chunks(&f.ct).len(), 4);
    assert_eq!(*open_as(&f.r, &f.s, &f.env, &f.ct).unwrap(), f.pt);
    let (res, out) = open_stream_as(&f, &f.env, &f.ct[..]);
    res.unwrap();
    assert_eq!(out, f.pt);
}

// ---------------------------------------------------------------------------------------
// Tampered envelope fields, not re-signed: the signature (or the bundle naming) catches it.

/// For every field of the JSON form, a different but well-formed value.
fn tampered_values(env: &Value) -> Vec<(&'static str, Value)> {
    let flip_b64 = |v: &Value| {
        let mut b = fxe_protocol::encoding::b64u_decode("t", v.as_str().unwrap()).unwrap();
        b[0] ^= 1;
        Value::from(fxe_protocol::encoding::b64u_encode(&b))
    };
    let flip_hex = |v: &Value| {
        let s = v.as_str().unwrap();
        let c = if s.starts_with('0') { "1" } else { "0" };
        Value::from(format!("{c}{}", &s[1..]))
    };
    vec![
        ("message_id", json!(OTHER_MID)),
        ("created_at", json!(env["created_at"].as_u64().unwrap() + 1)),
        ("sender_org_id", flip_hex(&env["sender_org_id"])),
        ("sender_bundle_id", flip_hex(&env["sender_bundle_id"])),
        ("recipient_org_id", flip_hex(&env["recipient_org_id"])),
        ("recipient_bundle_id", flip_hex(&env["recipient_bundle_id"])),
        ("from_number", json!("+15550000009")),
        ("from_name", json!("Clinic.")),
        ("to_number", json!("+15550000009")),
        ("content_type", json!("application/octet-stream")),
        ("chunk_size", json!(2 * CS)),
        ("ciphertext_len", json!(env["ciphertext_len"].as_u64().unwrap() - 1)),
        ("ciphertext_sha256", flip_hex(&env["ciphertext_sha256"])),
        ("kem_ct", flip_b64(&env["kem_ct"])),
        ("wrapped_cek", flip_b64(&env["wrapped_cek"])),
        ("cek_commit", flip_b64(&env["cek_commit"])),
        ("sig", flip_b64(&env["sig"])),
    ]
}

#[test]
fn every_envelope_field_is_covered_by_the_tamper_list() {
    let f = fixture();
    let v = serde_json::to_value(&f.env).unwrap();
    let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    fields.retain(|k| *k != "v");
    let mut covered: Vec<&str> = tampered_values(&v).iter().map(|(k, _)| *k).collect();
    fields.sort_unstable();
    covered.sort_unstable();
    assert_eq!(fields, covered);
}

#[test]
fn tampered_envelope_fields_fail_with_the_right_error() {
    let f = fixture();
    let v = serde_json::to_value(&f.env).unwrap();
    for (field, value) in tampered_values(&v) {
        let mut t = v.clone();
        t[field] = value;
        let env = Envelope::from_value(t).unwrap_or_else(|e| panic!("{field}: {e}"));
        let want = match field {
            // The sender's bundle is looked up by these: it is not the bundle they name.
            "sender_org_id" | "sender_bundle_id" => OpenError::SenderBundleMismatch,
            _ => OpenError::EnvelopeSignature,
        };
        assert_eq!(open_kind(&f, &env, &f.ct), want, "{field}");
        // The streaming opener runs the same header checks before reading anything.
        let (res, out) = open_stream_as(&f, &env, &f.ct[..]);
        assert_eq!(res.unwrap_err(), Error::Open(want), "{field} (stream)");
        assert!(out.is_empty(), "{field}: nothing is written when the header fails");
    }
    // `v` is not a signed field: any other version is refused when parsing.
    let mut t = v.clone();
    t["v"] = json!(2);
    assert!(matches!(Envelope::from_value(t), Err(Error::Invalid { field: "v", .. })));
}

#[test]
fn non_canonical_lengths_and_chunk_sizes_are_refused_before_anything_else() {
    let f = fixture();
    let v = serde_json::to_value(&f.env).unwrap();
    for (field, value) in [
        // A last chunk of 1..=16 bytes (a tag and nothing, or less than a tag).
        ("ciphertext_len", json!(3 * (CS + 16) + 10)),
        ("ciphertext_len", json!(3 * (CS + 16) + 16)),
        ("ciphertext_len", json!(CS + 16 + 1)),
        ("ciphertext_len", json!(0)),
        ("ciphertext_len", json!(1)),
        ("ciphertext_len", json!(15)),
        ("ciphertext_len", json!(fxe_protocol::MAX_CIPHERTEXT_LEN + 1)),
        ("chunk_size", json!(CS - 1)),
        ("chunk_size", json!(CS / 2)),
        ("chunk_size", json!(32 * 1024 * 1024)),
        ("chunk_size", json!(0)),
        ("chunk_size", json!(3 * CS)),
    ] {
        let mut t = v.clone();
        t[field] = value.clone();
        let err = Envelope::from_value(t).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{field}={value}: {err:?}");
        // An Envelope built in code (not parsed) is checked again when opening.
        let mut env = f.env.clone();
        match field {
            "ciphertext_len" => env.ciphertext_len = value.as_u64().unwrap(),
            _ => env.chunk_size = value.as_u64().unwrap(),
        }
        resign(&f.s, &mut env);
        assert!(matches!(open_err(&f, &env, &f.ct), Error::Invalid { .. }), "{field}={value}");
    }
}

// ---------------------------------------------------------------------------------------
// Tampered fields, re-signed by the sender's bundle: the deeper checks catch them.

#[test]
fn resigned_header_tampering_reaches_the_right_check() {
    let f = fixture();
    let cases: Vec<(Tamper<Envelope>, OpenError)> = vec![
        (("message_id", Box::new(|e| e.message_id = OTHER_MID.into())), OpenError::Unwrap),
        (("recipient_org_id", Box::new(|e| e.recipient_org_id = "0".repeat(32))), OpenError::WrongRecipientOrg),
        (("to_number", Box::new(|e| e.to_number = "+15550000009".into())), OpenError::WrongRecipientNumber),
        (
            ("recipient_bundle_id", Box::new(|e| e.recipient_bundle_id = "0".repeat(32))),
            OpenError::UnknownRecipientBundle,
        ),
        (("sender_org_id", Box::new(|e| e.sender_org_id = "0".repeat(32))), OpenError::SenderBundleMismatch),
        (("sender_bundle_id", Box::new(|e| e.sender_bundle_id = "0".repeat(32))), OpenError::SenderBundleMismatch),
        (("kem_ct (ML-KEM part)", Box::new(|e| e.kem_ct[0] ^= 1)), OpenError::Unwrap),
        (("kem_ct (X25519 part = 0)", Box::new(|e| e.kem_ct[1088..].fill(0))), OpenError::Decapsulation),
        (("wrapped_cek", Box::new(|e| e.wrapped_cek[47] ^= 1)), OpenError::Unwrap),
        (("wrapped_cek key", Box::new(|e| e.wrapped_cek[0] ^= 1)), OpenError::Unwrap),
        (("cek_commit", Box::new(|e| e.cek_commit[31] ^= 1)), OpenError::Commitment),
        (("ciphertext_sha256", Box::new(|e| e.ciphertext_sha256[0] ^= 1)), OpenError::CiphertextHash),
        (("ciphertext_len", Box::new(|e| e.ciphertext_len -= 1)), OpenError::CiphertextLength),
        // Canonical for 32 KiB chunks too: the chunks then fail authentication.
        (("chunk_size", Box::new(|e| e.chunk_size = 2 * CS)), OpenError::ChunkTag),
    ];
    for ((name, tamper), want) in cases {
        let mut env = f.env.clone();
        tamper(&mut env);
        resign(&f.s, &mut env);
        assert_eq!(open_kind(&f, &env, &f.ct), want, "{name}");
    }
}

#[test]
fn bad_commitment_fails_before_any_chunk_is_released() {
    let f = fixture();
    let mut env = f.env.clone();
    env.cek_commit = [0; 32];
    resign(&f.s, &mut env);
    let (res, out) = open_stream_as(&f, &env, &f.ct[..]);
    assert_eq!(res.unwrap_err(), Error::Open(OpenError::Commitment));
    assert!(out.is_empty());
}

// ---------------------------------------------------------------------------------------
// The payload layer: chunks truncated, reordered, added, dropped.

#[test]
fn truncated_reordered_and_extra_chunks_fail_authentication() {
    let f = fixture();
    let c = chunks(&f.ct);
    let cat = |parts: &[&Vec<u8>]| parts.iter().flat_map(|p| p.iter().copied()).collect::<Vec<u8>>();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("final chunk dropped", cat(&[&c[0], &c[1], &c[2]])),
        ("only the first chunk", cat(&[&c[0]])),
        ("chunks 0 and 1 swapped", cat(&[&c[1], &c[0], &c[2], &c[3]])),
        ("chunks 1 and 2 swapped", cat(&[&c[0], &c[2], &c[1], &c[3]])),
        ("a chunk repeated", cat(&[&c[0], &c[0], &c[1], &c[2], &c[3]])),
        ("a chunk after the final one", cat(&[&c[0], &c[1], &c[2], &c[3], &c[0]])),
        ("a middle chunk dropped", cat(&[&c[0], &c[2], &c[3]])),
        ("the first chunk dropped", cat(&[&c[1], &c[2], &c[3]])),
        ("a tag byte flipped", {
            let mut t = f.ct.clone();
            let n = t.len();
            t[n - 1] ^= 0x80;
            t
        }),
        ("a ciphertext byte flipped", {
            let mut t = f.ct.clone();
            t[CS_LEN + 20] ^= 1;
            t
        }),
    ];
    for (name, ct) in cases {
        let env = resign_for(&f.s, &f.env, &ct);
        assert_eq!(open_kind(&f, &env, &ct), OpenError::ChunkTag, "{name}");
        let (res, _) = open_stream_as(&f, &env, &ct[..]);
        assert_eq!(res.unwrap_err(), Error::Open(OpenError::ChunkTag), "{name} (stream)");
    }
    // Truncated to 10 bytes of the last chunk: not a canonical length, refused before decrypting.
    let ct = f.ct[..3 * SEALED_LEN + 10].to_vec();
    let mut env = f.env.clone();
    env.ciphertext_len = ct.len() as u64;
    resign(&f.s, &mut env);
    assert!(matches!(open_err(&f, &env, &ct), Error::Invalid { field: "ciphertext_len", .. }));
}

#[test]
fn unsigned_ciphertext_changes_fail_on_length_or_hash() {
    let f = fixture();
    let mut longer = f.ct.clone();
    longer.push(0);
    assert_eq!(open_kind(&f, &f.env, &longer), OpenError::CiphertextLength);
    assert_eq!(open_kind(&f, &f.env, &f.ct[..f.ct.len() - 1]), OpenError::CiphertextLength);
    assert_eq!(open_kind(&f, &f.env, &[]), OpenError::CiphertextLength);
    let mut flipped = f.ct.clone();
    flipped[5] ^= 1;
    assert_eq!(open_kind(&f, &f.env, &flipped), OpenError::CiphertextHash);
}

#[test]
fn streaming_reader_ending_early_is_a_missing_final_chunk() {
    let f = fixture();
    let n = f.ct.len();
    for cut in [0, 1, SEALED_LEN, SEALED_LEN + 1, 3 * SEALED_LEN, n - 17, n - 1] {
        let (res, out) = open_stream_as(&f, &f.env, &f.ct[..cut]);
        assert_eq!(res.unwrap_err(), Error::Open(OpenError::MissingFinalChunk), "cut at {cut}");
        // Only the whole chunks before the cut were released, and they are the plaintext's.
        let whole = cut / SEALED_LEN;
        assert_eq!(out, f.pt[..whole * CS_LEN], "cut at {cut}");
    }
}

#[test]
fn streaming_trailing_bytes_are_refused() {
    let f = fixture();
    for extra in [&[0u8][..], &[1, 2, 3], &f.ct[..SEALED_LEN]] {
        let ct: Vec<u8> = f.ct.iter().chain(extra).copied().collect();
        let (res, _) = open_stream_as(&f, &f.env, &ct[..]);
        assert_eq!(res.unwrap_err(), Error::Open(OpenError::TrailingData));
    }
}

#[test]
fn streaming_opener_never_writes_an_unauthenticated_byte() {
    let f = fixture();
    let n_chunks = chunks(&f.ct).len();
    for k in 0..n_chunks {
        for offset in [0usize, 7, 100] {
            let mut ct = f.ct.clone();
            let at = (k * SEALED_LEN + offset).min(ct.len() - 1);
            ct[at] ^= 0x01;
            // Both with the envelope re-signed for the tampered bytes (the hash then
            // matches) and with the original one (the hash is only known at the end).
            for env in [resign_for(&f.s, &f.env, &ct), f.env.clone()] {
                let (res, out) = open_stream_as(&f, &env, &ct[..]);
                assert_eq!(res.unwrap_err(), Error::Open(OpenError::ChunkTag), "chunk {k}");
                assert_eq!(out, f.pt[..k * CS_LEN], "after a tag failure in chunk {k}, only chunks < {k} were written");
            }
        }
    }
}

/// A chunk-by-chunk opener for the fixture, past the header checks.
fn new_opener(f: &Fixture) -> envelope::Opener {
    let org = f.r.org_id();
    let bundles = vec![f.r.bundle.clone()];
    let rec = Recipient { org_id: &org, numbers: &f.r.numbers, bundles: &bundles };
    envelope::Opener::new(&f.env, &f.s.identity.public(), &f.s.bundle.bundle, &rec).unwrap()
}

#[test]
fn opener_wipes_a_chunk_that_fails() {
    let f = fixture();
    let mut opener = new_opener(&f);
    let want = opener.next_chunk_len().unwrap();
    let mut buf = f.ct[..want].to_vec();
    buf[3] ^= 1;
    assert_eq!(opener.open_in_place(&mut buf).unwrap_err(), Error::Open(OpenError::ChunkTag));
    assert!(buf.is_empty(), "the buffer of a failed chunk holds nothing");
    // A wrong-sized buffer is refused without decrypting.
    let mut short = f.ct[..want - 1].to_vec();
    assert_eq!(opener.open_in_place(&mut short).unwrap_err(), Error::Open(OpenError::MissingFinalChunk));
}

#[test]
fn unfinished_opener_reports_the_missing_final_chunk() {
    let f = fixture();
    let mut opener = new_opener(&f);
    let want = opener.next_chunk_len().unwrap();
    let mut buf = f.ct[..want].to_vec();
    opener.open_in_place(&mut buf).unwrap();
    assert_eq!(buf, f.pt[..CS_LEN]);
    assert_eq!(opener.finish().unwrap_err(), Error::Open(OpenError::MissingFinalChunk));
}

#[test]
fn sealing_with_a_bad_request_is_an_error_not_a_panic() {
    let f = fixture();
    let r_pub = f.r.identity.public();
    for cs in [0, 1, 1000, CS - 1, 3 * CS, 32 * 1024 * 1024, u64::MAX] {
        let req = request(&f.s, &f.r, &r_pub, MID, cs);
        assert!(
            matches!(envelope::seal(&req, &f.pt), Err(Error::Invalid { field: "chunk_size", .. })),
            "chunk size {cs}"
        );
        assert!(envelope::seal(&req, &[]).is_err(), "chunk size {cs}, empty");
    }
    let mut req = request(&f.s, &f.r, &r_pub, "not-a-uuid", CS);
    assert!(matches!(envelope::seal(&req, b"x"), Err(Error::Invalid { field: "message_id", .. })));
    req.message_id = MID;
    req.to_number = "5550000002";
    assert!(matches!(envelope::seal(&req, b"x"), Err(Error::Invalid { field: "to_number", .. })));
    req.to_number = &f.r.numbers[0];
    req.from_name = "tab\there";
    assert!(matches!(envelope::seal(&req, b"x"), Err(Error::Invalid { field: "from_name", .. })));
    req.from_name = "";
    req.content_type = "";
    assert!(matches!(envelope::seal(&req, b"x"), Err(Error::Invalid { field: "content_type", .. })));
    // A recipient bundle that is not the recipient identity's.
    let s_pub = f.s.identity.public();
    let req = request(&f.s, &f.r, &s_pub, MID, CS);
    assert!(matches!(envelope::seal(&req, b"x"), Err(Error::BadBundle(_))));
}

#[cfg(not(target_arch = "wasm32"))] // 100 MiB through soft AES in a debug wasm build is slow
#[test]
fn a_plaintext_over_the_cap_is_refused() {
    let f = fixture();
    let r_pub = f.r.identity.public();
    let req = request(&f.s, &f.r, &r_pub, MID, 1 << 20);
    // 100 chunks of 1 MiB: 104,857,600 + 1,600 bytes sealed, over the cap by the tags.
    let big = vec![0u8; 100 << 20];
    let mut sink = std::io::sink();
    let err =
        envelope::seal_stream(&req, envelope::SealRandomness::random().unwrap(), &big[..], &mut sink).unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "plaintext", .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------
// Wrong recipient, wrong sender.

#[test]
fn wrong_recipient_org_number_bundle_or_key() {
    let f = fixture();
    let org = f.r.org_id();
    let sender_pub = f.s.identity.public();
    let try_open = |org: &str, numbers: &[String], bundles: &[BundleKeys]| {
        let rec = Recipient { org_id: org, numbers, bundles };
        envelope::open(&f.env, &sender_pub, &f.s.bundle.bundle, &rec, &f.ct).unwrap_err()
    };
    let mine = vec![f.r.bundle.clone()];
    // Another organization entirely.
    let c = Party::seeded(20, "+15550000003");
    assert_eq!(
        try_open(&c.org_id(), &c.numbers, std::slice::from_ref(&c.bundle)),
        Error::Open(OpenError::WrongRecipientOrg)
    );
    // The right org, not one of its numbers.
    assert_eq!(try_open(&org, &["+15550000004".to_string()], &mine), Error::Open(OpenError::WrongRecipientNumber));
    assert_eq!(try_open(&org, &[], &mine), Error::Open(OpenError::WrongRecipientNumber));
    // The right org and number, but only a newer bundle (the sealed-to one was lost).
    let newer = BundleKeys::from_seeds(&f.r.identity, 1_800_000_000, &[40; 32], &[41; 32]);
    assert_eq!(
        try_open(&org, &f.r.numbers, std::slice::from_ref(&newer)),
        Error::Open(OpenError::UnknownRecipientBundle)
    );
    // Both bundles: the right one is found among them.
    assert_eq!(
        *envelope::open(
            &f.env,
            &sender_pub,
            &f.s.bundle.bundle,
            &Recipient { org_id: &org, numbers: &f.r.numbers, bundles: &[newer.clone(), f.r.bundle.clone()] },
            &f.ct
        )
        .unwrap(),
        f.pt
    );
    // The right bundle id with the wrong X-Wing secret: ML-KEM's implicit rejection
    // gives another shared secret, and the key does not unwrap.
    let mut wrong_key = f.r.bundle.clone();
    wrong_key.kem = std::sync::Arc::new(KemSecret::from_seed(&[42; 32]));
    assert_eq!(try_open(&org, &f.r.numbers, &[wrong_key]), Error::Open(OpenError::Unwrap));
}

#[test]
fn wrong_sender_identity_or_bundle() {
    let f = fixture();
    let org = f.r.org_id();
    let bundles = vec![f.r.bundle.clone()];
    let rec = Recipient { org_id: &org, numbers: &f.r.numbers, bundles: &bundles };
    let open_with =
        |identity: &[u8; 32], bundle: &Bundle| envelope::open(&f.env, identity, bundle, &rec, &f.ct).unwrap_err();
    // The bundle does not belong to the identity given for the sender.
    let mallory = IdentityKey::from_seed(&[66; 32]);
    assert_eq!(open_with(&mallory.public(), &f.s.bundle.bundle), Error::Open(OpenError::SenderBundle));
    // Mallory's own, valid bundle, with Mallory's identity: not the bundle the envelope names.
    let mb = BundleKeys::from_seeds(&mallory, 1_700_000_000, &[67; 32], &[68; 32]);
    assert_eq!(open_with(&mallory.public(), &mb.bundle), Error::Open(OpenError::SenderBundleMismatch));
    // Another valid bundle of the sender's own org.
    let rotated = BundleKeys::from_seeds(&f.s.identity, 1_700_000_500, &[69; 32], &[70; 32]);
    assert_eq!(open_with(&f.s.identity.public(), &rotated.bundle), Error::Open(OpenError::SenderBundleMismatch));
    // A forged bundle: the sender's ids and keys, but not signed by the sender's identity.
    let mut forged = f.s.bundle.bundle.clone();
    forged.sig = mallory.sign(&forged.tbs());
    assert_eq!(open_with(&f.s.identity.public(), &forged), Error::Open(OpenError::SenderBundle));
    // A bundle that names the sender's ids but carries Mallory's signing key: the chain fails.
    let mut swapped = f.s.bundle.bundle.clone();
    swapped.sign_pub = mb.bundle.sign_pub;
    assert_eq!(open_with(&f.s.identity.public(), &swapped), Error::Open(OpenError::SenderBundle));
    // An envelope signed by a key that is not the named bundle's.
    let mut env = f.env.clone();
    env.sig = mb.signing.sign(&env.tbs());
    assert_eq!(open_as(&f.r, &f.s, &env, &f.ct).unwrap_err(), Error::Open(OpenError::EnvelopeSignature));
}

// ---------------------------------------------------------------------------------------
// Receipts and refusals.

#[test]
fn receipts_bind_envelope_bundle_and_time() {
    let f = fixture();
    let rb = &f.r.bundle.bundle;
    let receipt = Receipt::make(&f.env, std::slice::from_ref(&f.r.bundle), 1_700_000_200).unwrap();
    receipt.verify(&f.env, rb).unwrap();

    // A receipt for another envelope (same parties, another message).
    let r_pub = f.r.identity.public();
    let req = request(&f.s, &f.r, &r_pub, OTHER_MID, CS);
    let (other, _) = envelope::seal(&req, b"another fax").unwrap();
    assert!(matches!(receipt.verify(&other, rb), Err(Error::BadSignature("receipt"))));
    // The same message re-sealed (same message_id, other envelope_hash).
    let req = request(&f.s, &f.r, &r_pub, MID, CS);
    let (resealed, _) = envelope::seal(&req, &f.pt).unwrap();
    assert!(receipt.verify(&resealed, rb).is_err());

    // Signed by the wrong bundle: the sender's key, or another bundle of the recipient.
    let mut wrong = receipt.clone();
    wrong.sig = f.s.bundle.signing.sign(&receipt.tbs());
    assert!(matches!(wrong.verify(&f.env, rb), Err(Error::BadSignature("receipt"))));
    let rotated = BundleKeys::from_seeds(&f.r.identity, 1_800_000_000, &[50; 32], &[51; 32]);
    let mut by_rotated = receipt.clone();
    by_rotated.sig = rotated.signing.sign(&receipt.tbs());
    assert!(by_rotated.verify(&f.env, rb).is_err());
    assert!(receipt.verify(&f.env, &rotated.bundle).is_err(), "verified against the wrong bundle");
    // Receipt::make refuses bundles the message was not sealed to.
    assert!(Receipt::make(&f.env, std::slice::from_ref(&rotated), 1).is_err());

    // Every field of a receipt is bound.
    let mutations: Vec<Tamper<Receipt>> = vec![
        ("message_id", Box::new(|r| r.message_id = OTHER_MID.into())),
        ("envelope_hash", Box::new(|r| r.envelope_hash[0] ^= 1)),
        ("recipient_org_id", Box::new(|r| r.recipient_org_id = "0".repeat(32))),
        ("recipient_bundle_id", Box::new(|r| r.recipient_bundle_id = "0".repeat(32))),
        ("received_at", Box::new(|r| r.received_at += 1)),
        ("sig", Box::new(|r| r.sig[0] ^= 1)),
    ];
    for (name, m) in &mutations {
        let mut t = receipt.clone();
        m(&mut t);
        assert!(t.verify(&f.env, rb).is_err(), "receipt {name}");
        // Re-signed with the right key, a changed claim still does not match the envelope
        // (except the time, which the recipient chooses).
        t.sig = f.r.bundle.signing.sign(&t.tbs());
        if *name != "received_at" && *name != "sig" {
            assert!(t.verify(&f.env, rb).is_err(), "receipt {name} re-signed");
        }
    }
}

#[test]
fn refusals_bind_their_reason() {
    let f = fixture();
    let rb = &f.r.bundle.bundle;
    let refusal =
        Refusal::make(&f.env, std::slice::from_ref(&f.r.bundle), 1_700_000_300, RefusalReason::NotAPdf).unwrap();
    refusal.verify(&f.env, rb).unwrap();
    for reason in [RefusalReason::CannotOpen, RefusalReason::Policy, RefusalReason::Other] {
        let mut t = refusal.clone();
        t.reason = reason;
        assert!(matches!(t.verify(&f.env, rb), Err(Error::BadSignature("refusal"))), "{reason:?}");
    }
    let mut t = refusal.clone();
    t.refused_at += 1;
    assert!(t.verify(&f.env, rb).is_err());
    let mut t = refusal.clone();
    t.envelope_hash[31] ^= 1;
    assert!(t.verify(&f.env, rb).is_err());
    // A receipt and a refusal are not interchangeable: the labels differ.
    let receipt = Receipt::make(&f.env, std::slice::from_ref(&f.r.bundle), 1_700_000_300).unwrap();
    let as_refusal = Refusal { sig: receipt.sig, ..refusal.clone() };
    assert!(as_refusal.verify(&f.env, rb).is_err());
    // The JSON form round-trips and a changed reason in JSON fails too.
    let mut v: Value = serde_json::from_str(&refusal.to_json()).unwrap();
    assert_eq!(Refusal::from_json(&v.to_string()).unwrap(), refusal);
    v["reason"] = json!("policy");
    Refusal::from_json(&v.to_string()).unwrap().verify(&f.env, rb).unwrap_err();
    v["reason"] = json!("because");
    assert!(Refusal::from_json(&v.to_string()).is_err());
    v["reason"] = json!("NOT_A_PDF");
    assert!(Refusal::from_json(&v.to_string()).is_err());
    // Only the string form: not serde's externally tagged enum form.
    v["reason"] = json!({"policy": null});
    assert!(Refusal::from_json(&v.to_string()).is_err());
}

// ---------------------------------------------------------------------------------------
// Signed requests.

fn parse_headers(h: &SignedHeaders) -> RequestAuth {
    RequestAuth::parse(|n| h.get(n)).unwrap().unwrap()
}

#[test]
fn requests_with_changed_method_path_body_or_timestamp_fail() {
    use sha2::Digest;
    let key = ApiKey::from_seed(&[3; 32]);
    let other = ApiKey::from_seed(&[4; 32]);
    let body = br#"{"envelope":{}}"#;
    let path = "/api/v1/messages?box=inbox&number=%2B15551230001";
    let h = request::sign_request_with_nonce(&key, "POST", path, 1_767_230_000, Body::Bytes(body), &[9; 16]);
    let a = parse_headers(&h);
    a.verify_signature(&key.public(), "POST", path).unwrap();
    a.check_body(&sha2::Sha256::digest(body).into(), false).unwrap();
    a.check_timestamp(1_767_230_000 + 300).unwrap();
    a.check_timestamp(1_767_230_000 - 300).unwrap();

    let bad = Err(RequestError::BadSignature);
    for m in ["GET", "PUT", "DELETE", "PATCH", "post"] {
        assert_eq!(a.verify_signature(&key.public(), m, path), bad, "method {m}");
    }
    for p in [
        "/api/v1/messages?box=inbox&number=+15551230001",
        "/api/v1/messages?box=inbox&number=%2b15551230001",
        "/api/v1/messages?number=%2B15551230001&box=inbox",
        "/api/v1/messages/?box=inbox&number=%2B15551230001",
        "/api/v1/messages",
        "https://relay.example/api/v1/messages?box=inbox&number=%2B15551230001",
    ] {
        assert_eq!(a.verify_signature(&key.public(), "POST", p), bad, "path {p}");
    }
    assert_eq!(
        a.check_body(&sha2::Sha256::digest(b"{\"envelope\":{} }").into(), false),
        Err(RequestError::BodyHashMismatch)
    );
    assert_eq!(a.check_body(&sha2::Sha256::digest(b"").into(), false), Err(RequestError::BodyHashMismatch));
    assert_eq!(a.check_timestamp(1_767_230_000 + 301), Err(RequestError::TimestampSkew));
    assert_eq!(a.check_timestamp(1_767_230_000 - 301), Err(RequestError::TimestampSkew));
    // Another API key's public key does not verify, even with the key id swapped in.
    assert_eq!(a.verify_signature(&other.public(), "POST", path), bad);

    // Each header changed after signing.
    let changes: Vec<Tamper<SignedHeaders>> = vec![
        ("timestamp", Box::new(|h| h.timestamp = "1767230001".into())),
        ("nonce", Box::new(|h| h.nonce = fxe_protocol::encoding::b64u_encode(&[10; 16]))),
        ("content", Box::new(|h| h.content_sha256 = hex::encode(sha2::Sha256::digest(b"x")))),
        ("content unsigned", Box::new(|h| h.content_sha256 = request::UNSIGNED_PAYLOAD.into())),
        ("key", Box::new(|h| h.key = ApiKey::from_seed(&[4; 32]).key_id().into())),
        ("signature", Box::new(|h| h.signature = format!("v1={}", fxe_protocol::encoding::b64u_encode(&[0; 64])))),
    ];
    for (name, change) in changes {
        let mut t = h.clone();
        change(&mut t);
        let a = parse_headers(&t);
        assert_eq!(a.verify_signature(&key.public(), "POST", path), bad, "{name}");
        assert_eq!(a.verify_signature(&other.public(), "POST", path), bad, "{name} (other key)");
    }
    // A signature from another key, presented with this key's id.
    let forged = request::sign_request_with_nonce(&other, "POST", path, 1_767_230_000, Body::Bytes(body), &[9; 16]);
    let mut t = forged.clone();
    t.key = key.key_id().into();
    assert_eq!(parse_headers(&t).verify_signature(&key.public(), "POST", path), bad);
    // UNSIGNED-PAYLOAD is refused where not allowed.
    let u = request::sign_request_with_nonce(&key, "POST", path, 1_767_230_000, Body::Unsigned, &[9; 16]);
    assert_eq!(
        parse_headers(&u).check_body(&sha2::Sha256::digest(body).into(), false),
        Err(RequestError::UnsignedPayloadNotAllowed)
    );
}

#[test]
fn malformed_request_headers_are_refused() {
    let key = ApiKey::from_seed(&[3; 32]);
    let h = request::sign_request_with_nonce(&key, "GET", "/api/v1/org", 1_767_230_000, Body::Bytes(b""), &[9; 16]);
    let upper_content = h.content_sha256.to_uppercase();
    let sig_b64 = h.signature.trim_start_matches("v1=").to_owned();
    let bad_values: Vec<(&str, String)> = vec![
        (request::HEADER_KEY, "ak_".into()),
        (request::HEADER_KEY, key.key_id().to_uppercase()),
        (request::HEADER_KEY, format!("{}0", key.key_id())),
        (request::HEADER_KEY, key.key_id()[3..].into()),
        (request::HEADER_TIMESTAMP, String::new()),
        (request::HEADER_TIMESTAMP, "0".into()),
        (request::HEADER_TIMESTAMP, "01767230000".into()),
        (request::HEADER_TIMESTAMP, "1767230000.0".into()),
        (request::HEADER_TIMESTAMP, "-1767230000".into()),
        (request::HEADER_TIMESTAMP, "+1767230000".into()),
        (request::HEADER_TIMESTAMP, " 1767230000".into()),
        (request::HEADER_TIMESTAMP, "1e9".into()),
        (request::HEADER_TIMESTAMP, "18446744073709551616".into()),
        (request::HEADER_NONCE, String::new()),
        (request::HEADER_NONCE, format!("{}==", h.nonce)),
        (request::HEADER_NONCE, fxe_protocol::encoding::b64u_encode(&[9; 15])),
        (request::HEADER_NONCE, fxe_protocol::encoding::b64u_encode(&[9; 17])),
        (request::HEADER_NONCE, h.nonce.replace('J', "+")),
        (request::HEADER_CONTENT_SHA256, upper_content),
        (request::HEADER_CONTENT_SHA256, h.content_sha256[1..].into()),
        (request::HEADER_CONTENT_SHA256, format!("{}0", h.content_sha256)),
        (request::HEADER_CONTENT_SHA256, "unsigned-payload".into()),
        (request::HEADER_CONTENT_SHA256, String::new()),
        (request::HEADER_SIGNATURE, sig_b64.clone()),
        (request::HEADER_SIGNATURE, format!("v2={sig_b64}")),
        (request::HEADER_SIGNATURE, format!("V1={sig_b64}")),
        (request::HEADER_SIGNATURE, format!("v1={sig_b64}==")),
        (request::HEADER_SIGNATURE, format!("v1={}", &sig_b64[1..])),
        (request::HEADER_SIGNATURE, format!("v1= {sig_b64}")),
    ];
    for (name, value) in &bad_values {
        let r = RequestAuth::parse(|n| if n.eq_ignore_ascii_case(name) { Some(value.as_str()) } else { h.get(n) });
        assert_eq!(r.err(), Some(RequestError::MalformedHeaders), "{name}: {value:?}");
    }
    // Each header missing (except X-FXE-Key, whose absence means "not a signed request").
    for missing in
        [request::HEADER_TIMESTAMP, request::HEADER_NONCE, request::HEADER_CONTENT_SHA256, request::HEADER_SIGNATURE]
    {
        let r = RequestAuth::parse(|n| if n.eq_ignore_ascii_case(missing) { None } else { h.get(n) });
        assert_eq!(r.err(), Some(RequestError::MalformedHeaders), "missing {missing}");
    }
    assert!(RequestAuth::parse(|_| None).unwrap().is_none());
    assert_eq!(RequestError::MalformedHeaders.code(), "bad_request_signature");
    assert_eq!(RequestError::TimestampSkew.code(), "timestamp_skew");
    assert_eq!(RequestError::BodyHashMismatch.code(), "body_hash_mismatch");
}

// ---------------------------------------------------------------------------------------
// Malformed JSON of every signed object.

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A u64 JSON number.
    Int,
    /// b64u of exactly this many bytes.
    B64(usize),
    /// lowercase hex of 32 bytes.
    Hex32,
    /// 32 lowercase hex characters.
    Id32,
    /// UUIDv4.
    Uuid,
    /// E.164.
    Number,
    /// Free text (still must be a string).
    Text,
    /// One of a set of words.
    Word,
}

fn mutations(kind: Kind, good: &Value) -> Vec<(String, Value)> {
    let s = good.as_str().map(str::to_owned);
    let mut out: Vec<(String, Value)> =
        vec![("null".into(), Value::Null), ("array".into(), json!([good.clone()])), ("object".into(), json!({}))];
    match kind {
        Kind::Int => {
            let n = good.as_u64().unwrap();
            out.push(("string for integer".into(), json!(n.to_string())));
            out.push(("float".into(), serde_json::from_str(&format!("{n}.5")).unwrap()));
            out.push(("integral float".into(), serde_json::from_str(&format!("{n}.0")).unwrap()));
            out.push(("exponent".into(), serde_json::from_str("1e3").unwrap()));
            out.push(("negative".into(), json!(-1)));
            out.push(("negative zero".into(), serde_json::from_str("-0").unwrap()));
            out.push(("too large".into(), serde_json::from_str("18446744073709551616").unwrap_or(json!(1.8e19))));
            out.push(("bool".into(), json!(true)));
        }
        Kind::B64(n) => {
            let s = s.unwrap();
            let bytes = fxe_protocol::encoding::b64u_decode("t", &s).unwrap();
            assert_eq!(bytes.len(), n);
            let pad = "=".repeat((4 - s.len() % 4) % 4);
            if !pad.is_empty() {
                out.push(("padded b64u".into(), json!(format!("{s}{pad}"))));
            }
            out.push(("one byte short".into(), json!(fxe_protocol::encoding::b64u_encode(&bytes[1..]))));
            out.push((
                "one byte long".into(),
                json!(fxe_protocol::encoding::b64u_encode(&[&bytes[..], &[0]].concat())),
            ));
            out.push(("empty".into(), json!("")));
            let std_alpha = fxe_protocol::encoding::b64_std_encode(&bytes);
            if std_alpha.trim_end_matches('=') != s {
                out.push(("standard alphabet".into(), json!(std_alpha.trim_end_matches('='))));
            }
            out.push(("integer".into(), json!(1)));
            // A final character with non-zero unused bits (when the length leaves any).
            if (n * 8) % 6 != 0 {
                let mut c: Vec<char> = s.chars().collect();
                let last = c.len() - 1;
                let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let idx = alphabet.find(c[last]).unwrap();
                c[last] = alphabet.chars().nth(idx ^ 1).unwrap();
                out.push(("non-canonical trailing bits".into(), json!(c.into_iter().collect::<String>())));
            }
            out.push(("whitespace".into(), json!(format!(" {s}"))));
        }
        Kind::Hex32 | Kind::Id32 => {
            let s = s.unwrap();
            let upper = s.to_uppercase();
            assert_ne!(upper, s, "the fixture's hex has letters");
            out.push(("uppercase hex".into(), json!(upper)));
            out.push(("short".into(), json!(s[1..].to_string())));
            out.push(("long".into(), json!(format!("{s}0"))));
            out.push(("one byte short".into(), json!(s[2..].to_string())));
            out.push(("not hex".into(), json!(format!("g{}", &s[1..]))));
            out.push(("b64u instead".into(), json!(fxe_protocol::encoding::b64u_encode(&hex::decode(&s).unwrap()))));
            out.push(("integer".into(), json!(1)));
        }
        Kind::Uuid => {
            let s = s.unwrap();
            out.push(("uppercase".into(), json!(s.to_uppercase())));
            out.push(("no hyphens".into(), json!(s.replace('-', ""))));
            out.push(("version 1".into(), json!(format!("{}1{}", &s[..14], &s[15..]))));
            out.push(("braces".into(), json!(format!("{{{s}}}"))));
        }
        Kind::Number => {
            let s = s.unwrap();
            out.push(("no plus".into(), json!(s[1..].to_string())));
            out.push(("spaces".into(), json!(format!("{} {}", &s[..2], &s[2..]))));
            out.push(("leading zero".into(), json!("+0123456789")));
            out.push(("too long".into(), json!("+1234567890123456")));
            out.push(("integer".into(), json!(15550000001u64)));
        }
        Kind::Text => {
            out.push(("integer".into(), json!(1)));
        }
        Kind::Word => {
            out.push(("other word".into(), json!("maybe")));
            out.push(("upper case".into(), json!(s.unwrap().to_uppercase())));
        }
    }
    out
}

/// Checks that `parse` accepts `good` and refuses: each field missing, an unknown
/// field, a duplicate field, every mutation of every field, and non-objects.
fn check_strict_json(what: &str, good: &Value, fields: &[(&str, Kind)], parse: &dyn Fn(&str) -> Result<(), Error>) {
    parse(&good.to_string()).unwrap_or_else(|e| panic!("{what}: the good document must parse: {e}"));
    let obj = good.as_object().unwrap();
    let mut names: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut listed: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    listed.sort_unstable();
    assert_eq!(names, listed, "{what}: every field of the JSON form is listed");
    let mut count = 0;
    for (name, kind) in fields {
        let mut t = good.clone();
        t.as_object_mut().unwrap().remove(*name);
        assert!(parse(&t.to_string()).is_err(), "{what}: missing {name}");
        for (label, bad) in mutations(*kind, &good[*name]) {
            let mut t = good.clone();
            t[*name] = bad.clone();
            assert!(parse(&t.to_string()).is_err(), "{what}.{name}: {label} ({bad}) must be refused");
            count += 1;
        }
        // The same field twice.
        let text = good.to_string();
        let dup = format!("{{\"{name}\":{},{}", good[*name], &text[1..]);
        assert!(parse(&dup).is_err(), "{what}: duplicate {name}");
    }
    assert!(count > fields.len());
    let mut t = good.clone();
    t["extra"] = json!(1);
    assert!(parse(&t.to_string()).is_err(), "{what}: unknown field");
    let mut t = good.clone();
    t["Sig"] = json!("x");
    assert!(parse(&t.to_string()).is_err(), "{what}: unknown field differing in case");
    for not_obj in ["", "null", "[]", "1", "\"x\"", "{", "{}", &format!("{}x", good), &format!("[{good}]")] {
        assert!(parse(not_obj).is_err(), "{what}: {not_obj:.20}");
    }
    // The field values as a positional array (which serde's derive would accept).
    let positional = Value::Array(fields.iter().map(|(n, _)| good[*n].clone()).collect());
    assert!(parse(&positional.to_string()).is_err(), "{what}: positional array form");
}

#[test]
fn envelope_json_is_strict() {
    let f = fixture();
    let good = serde_json::to_value(&f.env).unwrap();
    use Kind::*;
    let fields = [
        ("v", Int),
        ("message_id", Uuid),
        ("created_at", Int),
        ("sender_org_id", Id32),
        ("sender_bundle_id", Id32),
        ("recipient_org_id", Id32),
        ("recipient_bundle_id", Id32),
        ("from_number", Number),
        ("from_name", Text),
        ("to_number", Number),
        ("content_type", Text),
        ("chunk_size", Int),
        ("ciphertext_len", Int),
        ("ciphertext_sha256", Hex32),
        ("kem_ct", B64(1120)),
        ("wrapped_cek", B64(48)),
        ("cek_commit", B64(32)),
        ("sig", B64(64)),
    ];
    check_strict_json("envelope", &good, &fields, &|s| Envelope::from_json(s).map(drop));
    // Our own limits on the free-text fields.
    for (field, bad) in [
        ("from_name", json!("a".repeat(257))),
        ("from_name", json!("line\nbreak")),
        ("from_name", json!("nul\u{0}")),
        ("from_name", json!("del\u{7f}")),
        ("from_name", json!("c1\u{85}")),
        ("content_type", json!("")),
        ("content_type", json!("a".repeat(256))),
        ("content_type", json!("application/pdf\r\n")),
        ("content_type", json!("application/pdé")),
    ] {
        let mut t = good.clone();
        t[field] = bad.clone();
        assert!(matches!(Envelope::from_json(&t.to_string()), Err(Error::Invalid { .. })), "{field}={bad}");
    }
    let mut t = good.clone();
    t["from_name"] = json!("é".repeat(128));
    Envelope::from_json(&t.to_string()).unwrap();
    t["from_name"] = json!("");
    Envelope::from_json(&t.to_string()).unwrap();
}

#[test]
fn bundle_json_is_strict() {
    let f = fixture();
    let good = serde_json::to_value(&f.s.bundle.bundle).unwrap();
    use Kind::*;
    let fields = [
        ("org_id", Id32),
        ("created_at", Int),
        ("kem_alg", Word),
        ("kem_pub", B64(1216)),
        ("sign_pub", B64(32)),
        ("bundle_id", Id32),
        ("sig", B64(64)),
    ];
    check_strict_json("bundle", &good, &fields, &|s| Bundle::from_json(s).map(drop));
    // Keys that parse as bytes but are not valid keys.
    let mut t = good.clone();
    let mut kem = f.s.bundle.bundle.kem_pub.clone();
    kem[1184..].fill(0);
    t["kem_pub"] = json!(fxe_protocol::encoding::b64u_encode(&kem));
    assert!(Bundle::from_json(&t.to_string()).is_err(), "low-order X25519 key");
    let mut t = good.clone();
    let mut kem = f.s.bundle.bundle.kem_pub.clone();
    kem[0] = 0xff;
    kem[1] |= 0x0f; // first ML-KEM coefficient 0xfff >= q
    t["kem_pub"] = json!(fxe_protocol::encoding::b64u_encode(&kem));
    assert!(Bundle::from_json(&t.to_string()).is_err(), "ML-KEM coefficient out of range");
    let mut t = good.clone();
    let mut small = [0u8; 32];
    small[0] = 1;
    t["sign_pub"] = json!(fxe_protocol::encoding::b64u_encode(&small));
    assert!(Bundle::from_json(&t.to_string()).is_err(), "small-order Ed25519 key");
}

#[test]
fn receipt_and_refusal_json_are_strict() {
    let f = fixture();
    use Kind::*;
    // Receipts and refusals share their first four fields.
    let head =
        [("message_id", Uuid), ("envelope_hash", Hex32), ("recipient_org_id", Id32), ("recipient_bundle_id", Id32)];
    let receipt = Receipt::make(&f.env, std::slice::from_ref(&f.r.bundle), 1_700_000_200).unwrap();
    let good = serde_json::to_value(&receipt).unwrap();
    let fields = [&head[..], &[("received_at", Int), ("sig", B64(64))]].concat();
    check_strict_json("receipt", &good, &fields, &|s| Receipt::from_json(s).map(drop));

    let refusal =
        Refusal::make(&f.env, std::slice::from_ref(&f.r.bundle), 1_700_000_200, RefusalReason::Policy).unwrap();
    let good = serde_json::to_value(&refusal).unwrap();
    let fields = [&head[..], &[("refused_at", Int), ("reason", Word), ("sig", B64(64))]].concat();
    check_strict_json("refusal", &good, &fields, &|s| Refusal::from_json(s).map(drop));
}

#[test]
fn json_field_names_and_order_follow_the_spec() {
    let f = fixture();
    let keys = |json: &str| -> Vec<String> {
        // Field order as written (serde_json::Value would sort them).
        let mut out = Vec::new();
        let mut de = serde_json::Deserializer::from_str(json);
        let m: serde_json::Map<String, Value> = serde::Deserialize::deserialize(&mut de).unwrap();
        let mut pos: Vec<(usize, String)> =
            m.keys().map(|k| (json.find(&format!("\"{k}\":")).unwrap(), k.clone())).collect();
        pos.sort();
        out.extend(pos.into_iter().map(|(_, k)| k));
        out
    };
    assert_eq!(
        keys(&f.env.to_json()),
        [
            "v",
            "message_id",
            "created_at",
            "sender_org_id",
            "sender_bundle_id",
            "recipient_org_id",
            "recipient_bundle_id",
            "from_number",
            "from_name",
            "to_number",
            "content_type",
            "chunk_size",
            "ciphertext_len",
            "ciphertext_sha256",
            "kem_ct",
            "wrapped_cek",
            "cek_commit",
            "sig"
        ]
    );
    assert_eq!(
        keys(&f.s.bundle.bundle.to_json()),
        ["org_id", "created_at", "kem_alg", "kem_pub", "sign_pub", "bundle_id", "sig"]
    );
    let receipt = Receipt::make(&f.env, std::slice::from_ref(&f.r.bundle), 1).unwrap();
    assert_eq!(
        keys(&receipt.to_json()),
        ["message_id", "envelope_hash", "recipient_org_id", "recipient_bundle_id", "received_at", "sig"]
    );
    let refusal = Refusal::make(&f.env, std::slice::from_ref(&f.r.bundle), 1, RefusalReason::CannotOpen).unwrap();
    assert_eq!(
        keys(&refusal.to_json()),
        ["message_id", "envelope_hash", "recipient_org_id", "recipient_bundle_id", "refused_at", "reason", "sig"]
    );
    assert!(refusal.to_json().contains("\"reason\":\"cannot_open\""));
    // Integers are JSON numbers.
    assert!(f.env.to_json().contains(&format!("\"ciphertext_len\":{},", f.env.ciphertext_len)));
    assert!(f.env.to_json().contains("\"v\":1,"));
}
