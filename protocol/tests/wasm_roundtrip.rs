//! What the browser does, run as wasm32 under wasm-bindgen-test (and natively):
//! fresh keys from the platform's random source, a seal/open round trip in memory
//! and streamed, a receipt, a signed request, keys.zip written and read back.

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fxe_protocol::apikey::ApiKey;
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::envelope::{self, Recipient};
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::keyszip::{self, OrgKeys, StoredApiKey};
use fxe_protocol::receipt::Receipt;
use fxe_protocol::request::{self, Body, RequestAuth};
use fxe_protocol::{Error, encoding};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn platform_randomness_works() {
    let a: [u8; 32] = fxe_protocol::random_bytes().unwrap();
    let b: [u8; 32] = fxe_protocol::random_bytes().unwrap();
    assert_ne!(a, b);
    let id = encoding::new_uuid_v4().unwrap();
    encoding::validate_uuid_v4("id", &id).unwrap();
}

#[test]
fn generated_keys_seal_and_open() {
    let s_id = IdentityKey::generate().unwrap();
    let r_id = IdentityKey::generate().unwrap();
    let s = Party {
        bundle: BundleKeys::generate(&s_id, 1_767_225_600).unwrap(),
        identity: s_id,
        numbers: vec!["+15550001111".into()],
    };
    let r = Party {
        bundle: BundleKeys::generate(&r_id, 1_767_225_600).unwrap(),
        identity: r_id,
        numbers: vec!["+15550002222".into()],
    };
    s.bundle.bundle.verify(&s.identity.public()).unwrap();
    let r_pub = r.identity.public();
    let mid = encoding::new_uuid_v4().unwrap();
    for (cs, len) in
        [(16384u64, 0usize), (16384, 1), (16384, 16384), (16384, 16385), (32768, 100_000), (1 << 20, 70_000)]
    {
        let req = request(&s, &r, &r_pub, &mid, cs);
        let pt = plaintext(len);
        let (env, ct) = envelope::seal(&req, &pt).unwrap();
        assert_eq!(*open_as(&r, &s, &env, &ct).unwrap(), pt, "{cs}/{len}");

        let mut sealed = Vec::new();
        let env2 =
            envelope::seal_stream(&req, envelope::SealRandomness::random().unwrap(), &pt[..], &mut sealed).unwrap();
        let org = r.org_id();
        let bundles = vec![r.bundle.clone()];
        let rec = Recipient { org_id: &org, numbers: &r.numbers, bundles: &bundles };
        let mut out = Vec::new();
        envelope::open_stream(&env2, &s.identity.public(), &s.bundle.bundle, &rec, &sealed[..], &mut out).unwrap();
        assert_eq!(out, pt);

        let receipt = Receipt::make(&env, std::slice::from_ref(&r.bundle), 1_767_230_000).unwrap();
        Receipt::from_json(&receipt.to_json()).unwrap().verify(&env, &r.bundle.bundle).unwrap();
    }
}

#[test]
fn signed_request_round_trip() {
    let key = ApiKey::generate().unwrap();
    let secret = key.secret_string();
    let back = ApiKey::parse_secret(&secret).unwrap();
    assert_eq!(back.key_id(), key.key_id());
    let body = br#"{"envelope":{}}"#;
    let h = request::sign_request(&back, "POST", "/api/v1/messages", 1_767_230_000, Body::Bytes(body)).unwrap();
    let auth = RequestAuth::parse(|n| h.get(n)).unwrap().unwrap();
    auth.verify_signature(&key.public(), "POST", "/api/v1/messages").unwrap();
    assert!(auth.verify_signature(&key.public(), "POST", "/api/v1/messages?x=1").is_err());
}

#[test]
fn keys_zip_round_trip() {
    let identity = IdentityKey::generate().unwrap();
    let keys = OrgKeys {
        relay_url: "https://relay.example".into(),
        org_id: identity.org_id(),
        org_name: "Browser Org".into(),
        identity_pub: identity.public(),
        bundles: vec![BundleKeys::generate(&identity, 1_767_225_600).unwrap()],
        identity: Some(identity),
        api_keys: vec![StoredApiKey {
            key: ApiKey::generate().unwrap(),
            scopes: vec!["send".into(), "receive".into(), "admin".into()],
        }],
        created_at: 1_767_225_601,
    };
    let plain = keyszip::write(&keys, None).unwrap();
    assert_eq!(*keyszip::read(&plain, None).unwrap().to_json(), *keys.to_json());

    let protected = keyszip::write(&keys, Some("a long passphrase")).unwrap();
    assert!(keyszip::is_protected(&protected).unwrap());
    assert_eq!(keyszip::read(&protected, None).unwrap_err(), Error::PassphraseRequired);
    assert!(keyszip::read(&protected, Some("wrong")).is_err());
    assert_eq!(*keyszip::read(&protected, Some("a long passphrase")).unwrap().to_json(), *keys.to_json());

    let machine = keyszip::write(&keys.machine(), Some("a long passphrase")).unwrap();
    let back = keyszip::read(&machine, Some("a long passphrase")).unwrap();
    assert_eq!(back.identity().unwrap_err(), Error::IdentitySecretMissing);
}
