//! The browser benchmark (`make bench`): seal and open a Blob through the
//! same code paths as the Send and message pages, with keys made for the
//! occasion, and check a directory answer's transparency proof as the Send
//! page does. Headless Chromium calls `fxeBenchSealOpen` and
//! `fxeBenchLogVerify` from the page.

use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::envelope::{CONTENT_TYPE_PDF, Opener, Recipient, SealRandomness, SealRequest, Sealer};
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::stream::V1_CHUNK_SIZE;
use wasm_bindgen::prelude::*;

use super::open::open_source;
use super::seal::seal_file;
use super::webcrypto::Pieces;

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

/// Seals `plaintext`, opens the result, and answers
/// `{seal_ms, open_ms, seal_start, seal_end, open_end, ciphertext_len, same_size, opened}`
/// (the three instants are `performance.now()`, for attributing long tasks).
#[wasm_bindgen(js_name = fxeBenchSealOpen)]
pub async fn bench_seal_open(plaintext: web_sys::Blob) -> Result<JsValue, JsValue> {
    let err = |e: String| JsValue::from_str(&e);
    let sender_id = IdentityKey::generate().map_err(|e| err(e.to_string()))?;
    let recipient_id = IdentityKey::generate().map_err(|e| err(e.to_string()))?;
    let sender = BundleKeys::generate(&sender_id, 1_800_000_000).map_err(|e| err(e.to_string()))?;
    let recipient = BundleKeys::generate(&recipient_id, 1_800_000_000).map_err(|e| err(e.to_string()))?;
    let numbers = vec!["+15550009002".to_string()];
    let req = SealRequest {
        message_id: "00000000-0000-4000-8000-000000000000",
        created_at: 1_800_000_000,
        sender: &sender,
        recipient_identity_pub: &recipient_id.public(),
        recipient_bundle: &recipient.bundle,
        from_number: "+15550009001",
        from_name: "Benchmark",
        to_number: &numbers[0],
        content_type: CONTENT_TYPE_PDF,
        chunk_size: V1_CHUNK_SIZE,
    };
    let t0 = now_ms();
    let sealer =
        Sealer::new(&req, SealRandomness::random().map_err(|e| err(e.to_string()))?).map_err(|e| err(e.to_string()))?;
    let sealed = seal_file(sealer, &plaintext, |_, _| {}, || false).await.map_err(err)?;
    let t1 = now_ms();
    let bundles = [recipient];
    let to = Recipient { org_id: &bundles[0].bundle.org_id, numbers: &numbers, bundles: &bundles };
    let opener =
        Opener::new(&sealed.envelope, &sender_id.public(), &sender.bundle, &to).map_err(|e| err(e.to_string()))?;
    let mut source = Pieces::of_blob(&sealed.ciphertext).map_err(err)?;
    let opened =
        open_source(opener, &mut source, "application/pdf", |_, _| {}).await.map_err(|e| err(format!("{e:?}")))?;
    let t2 = now_ms();
    let out = js_sys::Object::new();
    let set = |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v);
    set("seal_ms", (t1 - t0).into())?;
    set("open_ms", (t2 - t1).into())?;
    set("seal_start", t0.into())?;
    set("seal_end", t1.into())?;
    set("open_end", t2.into())?;
    set("ciphertext_len", crate::number::float(sealed.envelope.ciphertext_len).into())?;
    set("same_size", (opened.size() == plaintext.size()).into())?;
    set("opened", opened.into())?;
    Ok(out.into())
}

/// One of the ways to hash a ciphertext the benchmark compares: SHA-256 in
/// WASM (fxe-protocol's incremental hasher, as built for the bundle), fed
/// 1 MiB at a time as the chunks would come; answers the milliseconds taken.
#[wasm_bindgen(js_name = fxeBenchSha256Wasm)]
pub fn bench_sha256_wasm(bytes: &js_sys::Uint8Array) -> f64 {
    let t0 = now_ms();
    let mut hasher = fxe_protocol::stream::CiphertextHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < bytes.length() {
        let end = (at + (1 << 20)).min(bytes.length());
        let piece = &mut buf[..(end - at) as usize];
        bytes.subarray(at, end).copy_to(piece);
        hasher.update(piece);
        at = end;
    }
    let _ = std::hint::black_box(hasher.finish());
    now_ms() - t0
}

/// What the native transparency benchmark wrote for this one
/// (`target/bench-results/transparency-fixture.json`).
#[derive(serde::Deserialize)]
struct LogFixture {
    policy: fxe_protocol::transparency::TrustPolicy,
    answer: fxe_protocol::api::DirectoryEntry,
    now: u64,
}

/// The median over 9 batches of the mean time of `per_batch` calls of `f`, in µs (batches,
/// because the page's clock may be coarse).
fn median_us(per_batch: u32, mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut means = Vec::with_capacity(9);
    for _ in 0..9 {
        let t0 = now_ms();
        for _ in 0..per_batch {
            f()?;
        }
        means.push((now_ms() - t0) * 1000.0 / f64::from(per_batch.max(1)));
    }
    means.sort_by(f64::total_cmp);
    Ok(means[means.len() / 2])
}

/// Checks the fixture's directory answer proof as the Send page does
/// (`inclusion::verify_directory`: the checkpoint's log signature, witness quorum and
/// freshness, the three inclusion proofs and that they are the answer's facts), and, as
/// its peer, one Ed25519 verification; answers `{verify_us, ed25519_us}` (µs, medians).
#[wasm_bindgen(js_name = fxeBenchLogVerify)]
pub fn bench_log_verify(fixture: &str, per_batch: u32) -> Result<JsValue, JsValue> {
    let err = |e: String| JsValue::from_str(&e);
    let fx: LogFixture = serde_json::from_str(fixture).map_err(|e| err(format!("fixture: {e}")))?;
    let proof = fx.answer.log.clone().ok_or_else(|| err("the fixture's answer has no log proof".into()))?;
    let policy = &fx.policy;
    let verify_us = median_us(per_batch, || {
        fxe_protocol::transparency::inclusion::verify_directory(policy, &fx.answer, &proof, fx.now)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .map_err(err)?;
    let key = fxe_protocol::sign::SecretSigningKey::from_seed(&[1; 32]);
    let public = key.public();
    let sig = key.sign(b"fxe bench");
    let ed25519_us = median_us(per_batch, || {
        fxe_protocol::sign::verify(&public, b"fxe bench", &sig, "bench").map_err(|e| e.to_string())
    })
    .map_err(err)?;
    let out = js_sys::Object::new();
    js_sys::Reflect::set(&out, &JsValue::from_str("verify_us"), &verify_us.into())?;
    js_sys::Reflect::set(&out, &JsValue::from_str("ed25519_us"), &ed25519_us.into())?;
    Ok(out.into())
}
