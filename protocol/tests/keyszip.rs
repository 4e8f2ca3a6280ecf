//! keys.zip (PROTOCOL.md §7): round trips (plain, AES-256 AE-2, machine), passphrase
//! errors, every malformed input refused with a clear error and no panic, and an
//! independent reading of what we write with the `zip` crate alone.

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fxe_protocol::Error;
use fxe_protocol::apikey::ApiKey;
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::keyszip::{self, OrgKeys, StoredApiKey};
use serde_json::{Value, json};
use std::io::{Cursor, Read, Write};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const PASS: &str = "correct horse battery staple";

fn org_keys() -> OrgKeys {
    let identity = IdentityKey::from_seed(&[1; 32]);
    let b1 = BundleKeys::from_seeds(&identity, 1_700_000_000, &[2; 32], &[3; 32]);
    let b2 = BundleKeys::from_seeds(&identity, 1_700_100_000, &[4; 32], &[5; 32]);
    OrgKeys {
        relay_url: "https://relay.example".into(),
        org_id: identity.org_id(),
        org_name: "Lakeside Clinic".into(),
        identity_pub: identity.public(),
        identity: Some(identity),
        bundles: vec![b1, b2],
        api_keys: vec![
            StoredApiKey { key: ApiKey::from_seed(&[6; 32]), scopes: vec!["send".into(), "receive".into()] },
            StoredApiKey { key: ApiKey::from_seed(&[7; 32]), scopes: vec!["admin".into()] },
        ],
        created_at: 1_700_100_001,
    }
}

fn keys_err(r: fxe_protocol::Result<OrgKeys>) -> String {
    match r {
        Err(Error::KeysZip(m)) => m,
        Err(other) => panic!("expected Error::KeysZip, got {other:?}"),
        Ok(_) => panic!("expected an error, the keys.zip was accepted"),
    }
}

/// A zip made directly with the `zip` crate, entries stored as given.
fn build_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        zw.start_file(*name, opts).unwrap();
        zw.write_all(data).unwrap();
    }
    zw.finish().unwrap().into_inner()
}

/// A keys.zip holding `json` as fxe-keys.json (and a README), bypassing our writer's checks.
fn zip_with_json(json: &str) -> Vec<u8> {
    build_zip(&[(keyszip::README_ENTRY, b"readme"), (keyszip::KEYS_ENTRY, json.as_bytes())])
}

fn keys_value() -> Value {
    serde_json::from_str(&org_keys().to_json()).unwrap()
}

fn read_value(v: &Value) -> fxe_protocol::Result<OrgKeys> {
    keyszip::read(&zip_with_json(&v.to_string()), None)
}

fn same(a: &OrgKeys, b: &OrgKeys) {
    assert_eq!(*a.to_json(), *b.to_json());
}

// ---------------------------------------------------------------------------------------
// Round trips.

#[test]
fn plain_round_trip() {
    let keys = org_keys();
    let zip = keyszip::write(&keys, None).unwrap();
    assert!(!keyszip::is_protected(&zip).unwrap());
    let back = keyszip::read(&zip, None).unwrap();
    same(&keys, &back);
    assert!(!back.is_machine());
    assert_eq!(back.identity().unwrap().public(), keys.identity_pub);
    assert_eq!(back.active_bundle().unwrap().bundle.bundle_id, keys.bundles[1].bundle.bundle_id);
    assert_eq!(back.fingerprint(), keys.identity.as_ref().unwrap().fingerprint());
    // A passphrase given for a plain keys.zip is not needed and does no harm.
    same(&keys, &keyszip::read(&zip, Some("unused")).unwrap());
    // The restored keys still work: the bundle seeds give the bundle's keys.
    assert_eq!(back.bundles[0].kem.public(), keys.bundles[0].bundle.kem_pub);
    assert_eq!(back.bundles[1].signing.public(), keys.bundles[1].bundle.sign_pub);
    assert_eq!(back.api_key_with_scope("admin").unwrap().key.key_id(), keys.api_keys[1].key.key_id());
    assert!(back.api_key_with_scope("nope").is_none());
}

#[test]
fn passphrase_round_trip_and_errors() {
    let keys = org_keys();
    let zip = keyszip::write(&keys, Some(PASS)).unwrap();
    assert!(keyszip::is_protected(&zip).unwrap());
    same(&keys, &keyszip::read(&zip, Some(PASS)).unwrap());
    assert_eq!(keyszip::read(&zip, None).unwrap_err(), Error::PassphraseRequired);
    for wrong in ["correct horse battery stapler", "", "Correct horse battery staple", "x"] {
        match keyszip::read(&zip, Some(wrong)) {
            Err(Error::WrongPassphrase) => {}
            // AE-2's 2-byte check value lets 1 in 65536 wrong passphrases through; the
            // authentication code then fails.
            Err(Error::KeysZip(m)) if m.contains("passphrase is wrong") => {}
            other => panic!("{wrong:?}: {other:?}"),
        }
    }
    assert!(matches!(keyszip::write(&keys, Some("")), Err(Error::KeysZip(_))), "an empty passphrase protects nothing");
    // No secret appears in the clear anywhere in the protected file.
    let json = keys.to_json();
    let v: Value = serde_json::from_str(&json).unwrap();
    let secrets = [
        v["identity"]["secret"].as_str().unwrap(),
        v["bundles"][0]["kem_seed"].as_str().unwrap(),
        v["bundles"][1]["sign_seed"].as_str().unwrap(),
        v["api_keys"][0]["secret"].as_str().unwrap(),
    ];
    let haystack = String::from_utf8_lossy(&zip);
    for s in secrets {
        assert!(!haystack.contains(s));
        assert!(!haystack.contains(&s[..12]));
    }
}

/// The AES extra field (0x9901) of every entry that has one.
fn aes_vendor_versions(zip: &[u8]) -> Vec<u16> {
    let mut out = Vec::new();
    // Header id 0x9901, data size 7, vendor version, "AE", strength, method.
    for i in 0..zip.len().saturating_sub(11) {
        if zip[i..i + 4] == [0x01, 0x99, 0x07, 0x00] && zip[i + 6..i + 8] == *b"AE" {
            out.push(u16::from_le_bytes([zip[i + 4], zip[i + 5]]));
            assert_eq!(zip[i + 8], 3, "AES strength 3 = AES-256");
        }
    }
    out
}

#[test]
fn protected_keys_zip_is_aes256_ae2_and_readme_is_plain() {
    let keys = org_keys();
    let zip = keyszip::write(&keys, Some(PASS)).unwrap();
    // AE-2 in the local header and in the central directory; never AE-1, whose
    // plaintext CRC-32 would be stored in the clear.
    assert_eq!(aes_vendor_versions(&zip), [2, 2]);
    let mut archive = zip::ZipArchive::new(Cursor::new(&zip[..])).unwrap();
    {
        let f = archive.by_name_decrypt(keyszip::KEYS_ENTRY, PASS.as_bytes()).unwrap();
        assert!(f.encrypted());
        assert_eq!(f.crc32(), 0, "AE-2 stores no CRC");
    }
    let mut readme = String::new();
    {
        let mut f = archive.by_name(keyszip::README_ENTRY).unwrap();
        assert!(!f.encrypted(), "README.txt stays readable without the passphrase");
        f.read_to_string(&mut readme).unwrap();
    }
    assert!(readme.contains(&keys.org_id));
    assert!(readme.contains(&keys.fingerprint()));
    assert!(readme.contains("CANNOT regenerate"));
    assert!(readme.contains("FULL keys.zip"));
    let v: Value = serde_json::from_str(&keys.to_json()).unwrap();
    assert!(!readme.contains(v["identity"]["secret"].as_str().unwrap()), "no secret in the README");
    // A plain keys.zip has no AES field at all.
    assert!(aes_vendor_versions(&keyszip::write(&keys, None).unwrap()).is_empty());
}

#[test]
fn staff_keys_zip_has_neither_identity_secret_nor_api_keys() {
    use fxe_protocol::keyszip::KeysKind;
    let full = org_keys();
    assert_eq!(full.kind(), KeysKind::Full);
    assert_eq!(full.machine().kind(), KeysKind::Machine);
    let staff = full.staff();
    assert_eq!(staff.kind(), KeysKind::Staff);
    for pass in [None, Some(PASS)] {
        let zip = keyszip::write(&staff, pass).unwrap();
        let back = keyszip::read(&zip, pass).unwrap();
        assert_eq!(back.kind(), KeysKind::Staff);
        assert_eq!(back.identity().unwrap_err(), Error::IdentitySecretMissing);
        assert!(back.api_keys.is_empty());
        // Every bundle stays: older faxes still open.
        assert_eq!(back.bundles.len(), 2);
        assert!(back.holds_bundle(&full.bundles[0].bundle.bundle_id));
        assert!(back.holds_bundle(&full.active_bundle().unwrap().bundle.bundle_id));
        assert!(!back.holds_bundle("b_0000"));
        let mut archive = zip::ZipArchive::new(Cursor::new(&zip[..])).unwrap();
        let mut readme = String::new();
        archive.by_name(keyszip::README_ENTRY).unwrap().read_to_string(&mut readme).unwrap();
        assert!(readme.contains("STAFF keys.zip"), "{readme}");
    }
}

#[test]
fn machine_keys_zip_has_no_identity_secret() {
    let full = org_keys();
    let machine = full.machine();
    assert!(machine.is_machine());
    for pass in [None, Some(PASS)] {
        let zip = keyszip::write(&machine, pass).unwrap();
        let back = keyszip::read(&zip, pass).unwrap();
        assert!(back.is_machine());
        assert_eq!(back.identity().unwrap_err(), Error::IdentitySecretMissing);
        assert_eq!(back.identity_pub, full.identity_pub);
        assert_eq!(back.bundles.len(), 2);
        assert_eq!(back.api_keys.len(), 2);
        // The identity object has no "secret" key at all.
        let mut archive = zip::ZipArchive::new(Cursor::new(&zip[..])).unwrap();
        let mut json = String::new();
        match pass {
            Some(p) => {
                archive.by_name_decrypt(keyszip::KEYS_ENTRY, p.as_bytes()).unwrap().read_to_string(&mut json).unwrap()
            }
            None => archive.by_name(keyszip::KEYS_ENTRY).unwrap().read_to_string(&mut json).unwrap(),
        };
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["identity"].as_object().unwrap().keys().collect::<Vec<_>>(), ["public"]);
        let mut readme = String::new();
        archive.by_name(keyszip::README_ENTRY).unwrap().read_to_string(&mut readme).unwrap();
        assert!(readme.contains("MACHINE keys.zip"));
    }
}

// ---------------------------------------------------------------------------------------
// An independent reader: the `zip` crate and serde_json only, nothing of ours.

#[test]
fn independent_reader_sees_the_documented_format() {
    use sha2::Digest;
    let keys = org_keys();
    let zip = keyszip::write(&keys, None).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(&zip[..])).unwrap();
    let mut names: Vec<String> = archive.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["README.txt", "fxe-keys.json"]);
    let mut json = String::new();
    archive.by_name("fxe-keys.json").unwrap().read_to_string(&mut json).unwrap();
    let v: Value = serde_json::from_str(&json).unwrap();
    let b64 = |s: &Value| -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.as_str().unwrap()).unwrap()
    };
    let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = ["format", "relay_url", "org_id", "org_name", "identity", "bundles", "api_keys", "created_at"];
    want.sort_unstable();
    let mut top_sorted = top.clone();
    top_sorted.sort_unstable();
    assert_eq!(top_sorted, want);
    assert_eq!(v["format"], "fxe-keys/v1");
    assert_eq!(v["relay_url"], "https://relay.example");
    assert_eq!(v["org_name"], "Lakeside Clinic");
    assert_eq!(v["created_at"], json!(1_700_100_001u64), "an integer, as a JSON number");

    // org_id = hex(SHA-256("fxe/v1 org" || 0x00 || u32be(32) || identity_pub)[0..16]).
    let public = b64(&v["identity"]["public"]);
    assert_eq!(public.len(), 32);
    let mut t = b"fxe/v1 org\0".to_vec();
    t.extend_from_slice(&32u32.to_be_bytes());
    t.extend_from_slice(&public);
    assert_eq!(v["org_id"].as_str().unwrap(), hex::encode(&sha2::Sha256::digest(&t)[..16]));
    // identity.secret is the Ed25519 seed of identity.public.
    let seed: [u8; 32] = b64(&v["identity"]["secret"]).try_into().unwrap();
    assert_eq!(ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes().to_vec(), public);

    let bundles = v["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), 2);
    for b in bundles {
        let mut k: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        assert_eq!(k, ["bundle", "kem_seed", "sign_seed"]);
        assert_eq!(b64(&b["kem_seed"]).len(), 32);
        let sign_seed: [u8; 32] = b64(&b["sign_seed"]).try_into().unwrap();
        assert_eq!(
            ed25519_dalek::SigningKey::from_bytes(&sign_seed).verifying_key().to_bytes().to_vec(),
            b64(&b["bundle"]["sign_pub"])
        );
        assert_eq!(b["bundle"]["org_id"], v["org_id"]);
        assert_eq!(b["bundle"]["kem_alg"], "X-Wing");
        assert_eq!(b64(&b["bundle"]["kem_pub"]).len(), 1216);
        assert!(b["bundle"]["created_at"].is_u64());
    }
    // The last bundle is the active one: the newest.
    assert!(bundles[1]["bundle"]["created_at"].as_u64() > bundles[0]["bundle"]["created_at"].as_u64());

    for (k, stored) in v["api_keys"].as_array().unwrap().iter().zip(&keys.api_keys) {
        let id = k["key_id"].as_str().unwrap();
        assert_eq!(id, stored.key.key_id());
        let secret = k["secret"].as_str().unwrap();
        assert!(secret.starts_with(&format!("fxe_sk_{}_", &id[3..])));
        assert!(k["scopes"].is_array());
    }
}

// ---------------------------------------------------------------------------------------
// Malformed archives.

#[test]
fn not_a_keys_zip() {
    let keys = org_keys();
    let good = keyszip::write(&keys, None).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", Vec::new(), "not a zip"),
        ("text", b"this is not a zip".to_vec(), "not a zip"),
        ("the JSON itself", keys.to_json().as_bytes().to_vec(), "not a zip"),
        ("a PDF", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec(), "not a zip"),
        ("zip without fxe-keys.json", build_zip(&[("README.txt", b"hello")]), "missing"),
        ("empty zip", build_zip(&[]), "missing"),
        (
            "fxe-keys.json in a folder",
            build_zip(&[("keys/fxe-keys.json", keys.to_json().as_bytes())]),
            "unexpected entry",
        ),
        (
            "an extra entry",
            build_zip(&[("fxe-keys.json", keys.to_json().as_bytes()), ("notes.txt", b"x")]),
            "unexpected entry",
        ),
        ("garbage JSON", zip_with_json("{not json"), "malformed"),
        ("JSON array", zip_with_json("[]"), "malformed"),
        ("empty JSON", zip_with_json(""), "malformed"),
        ("not UTF-8", build_zip(&[(keyszip::KEYS_ENTRY, b"{\"format\":\"\xff\"}")]), "UTF-8"),
        ("too large to be a keys.zip", vec![0u8; keyszip::MAX_ZIP_LEN + 1], "larger than"),
    ];
    for (name, bytes, want) in cases {
        let m = keys_err(keyszip::read(&bytes, None));
        assert!(m.contains(want), "{name}: {m:?} should mention {want:?}");
        // Whether it is protected is a question about the archive, not the JSON.
        let archive_ok = matches!(want, "malformed" | "UTF-8");
        assert_eq!(keyszip::is_protected(&bytes).is_ok(), archive_ok, "{name}");
    }
    // Every truncation of a real keys.zip is refused.
    for cut in 0..good.len() {
        assert!(keyszip::read(&good[..cut], None).is_err(), "truncated to {cut} bytes");
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let keys = org_keys();
    // Every byte of a plain keys.zip (three kinds of flip); for a protected one, whose
    // every read runs the passphrase's key derivation, the headers and a sample of the rest.
    for (pass, positions) in [(None, 1usize), (Some(PASS), 0)] {
        let good = keyszip::write(&keys, pass).unwrap();
        let n = good.len();
        // Under wasm (slower), every third byte of the plain one.
        let step = if cfg!(target_arch = "wasm32") { 3 } else { 1 };
        let at: Vec<usize> = if positions == 1 {
            (0..n).step_by(step).collect()
        } else {
            (0..n).filter(|i| *i < 120 || *i + 200 > n || i % 53 == 0).collect()
        };
        let flips: &[u8] = if positions == 1 { &[0x01, 0x80, 0xff] } else { &[0x01] };
        for &i in &at {
            for &flip in flips {
                let mut bad = good.clone();
                bad[i] ^= flip;
                // Whatever the byte, no panic; and if it still reads, it is the same keys
                // (a flip in a timestamp or an unused header bit changes nothing that matters).
                if let Ok(back) = keyszip::read(&bad, pass) {
                    same(&keys, &back);
                }
                let _ = keyszip::is_protected(&bad);
            }
        }
    }
}

#[test]
fn duplicate_entry_names_are_refused() {
    let keys = org_keys();
    let other = OrgKeys { org_name: "Someone Else".into(), ..org_keys() };
    let mut zip =
        build_zip(&[(keyszip::KEYS_ENTRY, keys.to_json().as_bytes()), ("fxe-keys.jsoX", other.to_json().as_bytes())]);
    // Rename the second entry in its local header and in the central directory.
    let needle = b"fxe-keys.jsoX";
    let mut n = 0;
    for i in 0..zip.len() - needle.len() {
        if &zip[i..i + needle.len()] == needle {
            zip[i + needle.len() - 1] = b'n';
            n += 1;
        }
    }
    assert_eq!(n, 2);
    assert!(keys_err(keyszip::read(&zip, None)).contains("twice"));
}

#[test]
fn weak_encryption_is_refused() {
    let keys = org_keys();
    // AES-128 instead of AES-256.
    let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes128, PASS);
    zw.start_file(keyszip::KEYS_ENTRY, opts).unwrap();
    zw.write_all(keys.to_json().as_bytes()).unwrap();
    let zip = zw.finish().unwrap().into_inner();
    assert!(keys_err(keyszip::read(&zip, Some(PASS))).contains("AES-256"));

    // The legacy ZipCrypto flag: bit 0 of the general purpose flags without an AES field.
    let mut zip = build_zip(&[(keyszip::KEYS_ENTRY, keys.to_json().as_bytes())]);
    for sig in [[b'P', b'K', 3, 4], [b'P', b'K', 1, 2]] {
        let at = zip.windows(4).position(|w| w == sig).unwrap();
        let flags_at = if sig[2] == 3 { at + 6 } else { at + 8 };
        zip[flags_at] |= 1;
    }
    let m = keys_err(keyszip::read(&zip, Some(PASS)));
    assert!(m.contains("ZipCrypto"), "{m}");
}

#[test]
fn oversized_entries_are_refused_by_the_size_limits() {
    // 9 MiB of JSON whitespace before a valid document: deflates to a few KiB, but
    // the decompressed entry exceeds the limit and reading stops there.
    let keys = org_keys();
    let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zw.start_file(keyszip::KEYS_ENTRY, opts).unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..9 {
        zw.write_all(&spaces).unwrap();
    }
    zw.write_all(keys.to_json().as_bytes()).unwrap();
    let zip = zw.finish().unwrap().into_inner();
    assert!(zip.len() < 200 * 1024, "a small file ({} bytes)", zip.len());
    assert!(keys_err(keyszip::read(&zip, None)).contains("too large"));

    // A header that lies about the size does not help: the limit is on what is read.
    let mut lying = zip.clone();
    let central = lying.windows(4).position(|w| w == [b'P', b'K', 1, 2]).unwrap();
    lying[central + 24..central + 28].copy_from_slice(&100u32.to_le_bytes()); // uncompressed size
    assert!(keyszip::read(&lying, None).is_err());

    // Many entries.
    let many: Vec<(String, Vec<u8>)> = (0..100).map(|i| (format!("f{i}"), Vec::new())).collect();
    let refs: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    assert!(keys_err(keyszip::read(&build_zip(&refs), None)).contains("too many entries"));
}

// ---------------------------------------------------------------------------------------
// Malformed or inconsistent fxe-keys.json.

#[test]
fn inconsistent_keys_are_refused() {
    let other = IdentityKey::from_seed(&[9; 32]);
    let other_bundle = BundleKeys::from_seeds(&other, 1_700_050_000, &[10; 32], &[11; 32]);
    use fxe_protocol::encoding::b64u_encode as b64;
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        ("org_id of another identity", Box::new(move |v| v["org_id"] = json!(other.org_id())), "org_id"),
        (
            "identity.public of another identity",
            Box::new(|v| v["identity"]["public"] = json!(b64(&IdentityKey::from_seed(&[9; 32]).public()))),
            "org_id",
        ),
        (
            "identity secret not matching",
            Box::new(|v| v["identity"]["secret"] = json!(b64(&[9; 32]))),
            "identity.secret",
        ),
        ("identity secret null", Box::new(|v| v["identity"]["secret"] = Value::Null), "malformed"),
        ("identity secret too short", Box::new(|v| v["identity"]["secret"] = json!(b64(&[9; 31]))), "identity.secret"),
        (
            "identity public small order",
            Box::new(|v| {
                let mut p = [0u8; 32];
                p[0] = 1;
                v["identity"]["public"] = json!(b64(&p));
            }),
            "identity.public",
        ),
        (
            "a bundle of another identity",
            {
                let ob = serde_json::to_value(&other_bundle.bundle).unwrap();
                Box::new(move |v| v["bundles"][0]["bundle"] = ob.clone())
            },
            "bundle",
        ),
        (
            "a bundle forged with another identity's signature",
            Box::new(|v| {
                let mut b: fxe_protocol::bundle::Bundle =
                    serde_json::from_value(v["bundles"][0]["bundle"].clone()).unwrap();
                b.sig = IdentityKey::from_seed(&[9; 32]).sign(&b.tbs());
                v["bundles"][0]["bundle"] = serde_json::to_value(&b).unwrap();
            }),
            "does not verify",
        ),
        (
            "kem seed not matching its bundle",
            Box::new(|v| v["bundles"][1]["kem_seed"] = v["bundles"][0]["kem_seed"].clone()),
            "kem_seed",
        ),
        (
            "sign seed not matching its bundle",
            Box::new(|v| v["bundles"][0]["sign_seed"] = json!(b64(&[0; 32]))),
            "sign_seed",
        ),
        (
            "duplicate bundle",
            Box::new(|v| {
                let b = v["bundles"][1].clone();
                v["bundles"].as_array_mut().unwrap().push(b);
            }),
            "twice",
        ),
        ("bundles newest first", Box::new(|v| v["bundles"].as_array_mut().unwrap().reverse()), "oldest first"),
        ("no bundle", Box::new(|v| v["bundles"] = json!([])), "no bundle"),
        (
            "api key secret of another key id",
            Box::new(|v| v["api_keys"][0]["secret"] = v["api_keys"][1]["secret"].clone()),
            "belongs to",
        ),
        (
            "api key secret altered",
            Box::new(|v| {
                let s = v["api_keys"][0]["secret"].as_str().unwrap().to_owned();
                let mut c: Vec<char> = s.chars().collect();
                let i = c.len() - 5;
                c[i] = if c[i] == 'A' { 'B' } else { 'A' };
                v["api_keys"][0]["secret"] = json!(c.into_iter().collect::<String>());
            }),
            "api key",
        ),
        (
            "api key listed twice",
            Box::new(|v| {
                let k = v["api_keys"][0].clone();
                v["api_keys"].as_array_mut().unwrap().push(k);
            }),
            "twice",
        ),
        ("unknown scope", Box::new(|v| v["api_keys"][0]["scopes"] = json!(["send", "root"])), "scope"),
        ("no scope", Box::new(|v| v["api_keys"][0]["scopes"] = json!([])), "scopes"),
        ("another format", Box::new(|v| v["format"] = json!("fxe-keys/v2")), "format"),
        // Strict JSON: unknown and missing fields, at every level; integers as numbers.
        ("unknown top-level field", Box::new(|v| v["comment"] = json!("x")), "unknown field"),
        ("unknown identity field", Box::new(|v| v["identity"]["private"] = json!("x")), "unknown field"),
        ("unknown bundle entry field", Box::new(|v| v["bundles"][0]["active"] = json!(true)), "unknown field"),
        (
            "unknown field inside a bundle",
            Box::new(|v| v["bundles"][0]["bundle"]["active"] = json!(true)),
            "unknown field",
        ),
        ("unknown api key field", Box::new(|v| v["api_keys"][0]["label"] = json!("x")), "unknown field"),
        ("missing relay_url", Box::new(|v| drop(v.as_object_mut().unwrap().remove("relay_url"))), "missing field"),
        (
            "missing identity.public",
            Box::new(|v| drop(v["identity"].as_object_mut().unwrap().remove("public"))),
            "missing field",
        ),
        (
            "missing kem_seed",
            Box::new(|v| drop(v["bundles"][0].as_object_mut().unwrap().remove("kem_seed"))),
            "missing field",
        ),
        ("missing api_keys", Box::new(|v| drop(v.as_object_mut().unwrap().remove("api_keys"))), "missing field"),
        ("created_at as a string", Box::new(|v| v["created_at"] = json!("1700100001")), "invalid type"),
        ("created_at as a float", Box::new(|v| v["created_at"] = json!(1.5)), "invalid type"),
        (
            "bundle created_at as a string",
            Box::new(|v| v["bundles"][0]["bundle"]["created_at"] = json!("1700000000")),
            "invalid type",
        ),
        (
            "identity as an array",
            Box::new(|v| {
                let p = v["identity"]["public"].clone();
                let s = v["identity"]["secret"].clone();
                v["identity"] = json!([p, s]);
            }),
            "invalid type",
        ),
        (
            "a bundle as an array",
            Box::new(|v| {
                let b = v["bundles"][0]["bundle"].clone();
                let arr: Vec<Value> = ["org_id", "created_at", "kem_alg", "kem_pub", "sign_pub", "bundle_id", "sig"]
                    .iter()
                    .map(|k| b[*k].clone())
                    .collect();
                v["bundles"][0]["bundle"] = Value::Array(arr);
            }),
            "invalid type",
        ),
        (
            "padded b64u seed",
            Box::new(|v| {
                let s = v["bundles"][0]["kem_seed"].as_str().unwrap().to_owned();
                v["bundles"][0]["kem_seed"] = json!(format!("{s}="));
            }),
            "kem_seed",
        ),
        (
            "uppercase org_id",
            Box::new(|v| {
                let s = v["org_id"].as_str().unwrap().to_uppercase();
                v["org_id"] = json!(s);
            }),
            "org_id",
        ),
    ];
    let good = keys_value();
    read_value(&good).unwrap();
    for (name, mutate, want) in cases {
        let mut v = good.clone();
        mutate(&mut v);
        let m = keys_err(read_value(&v));
        assert!(m.contains(want), "{name}: {m:?} should mention {want:?}");
    }
    // Each top-level field missing.
    for field in ["format", "relay_url", "org_id", "org_name", "identity", "bundles", "api_keys", "created_at"] {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(field);
        assert!(keys_err(read_value(&v)).contains("missing field"), "{field}");
    }
}

#[test]
fn writer_refuses_keys_it_would_not_read() {
    let mut keys = org_keys();
    keys.bundles.reverse();
    assert!(matches!(keyszip::write(&keys, None), Err(Error::KeysZip(m)) if m.contains("oldest first")));
    let mut keys = org_keys();
    keys.org_id = "0".repeat(32);
    assert!(keyszip::write(&keys, None).is_err());
    let mut keys = org_keys();
    keys.bundles.clear();
    assert!(keyszip::write(&keys, None).is_err());
}
