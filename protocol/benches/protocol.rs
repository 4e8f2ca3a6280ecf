//! fxe-protocol benchmarks: seal and open throughput (1 KiB, 1 MiB, 100 MiB), X-Wing
//! encapsulation and decapsulation, bundle verification, request signing and verification.
//!
//! `cargo bench -p fxe-protocol --bench protocol` (or `scripts/bench-protocol.sh`) prints
//! criterion's statistics and writes `target/bench-results/protocol.json` (see report.rs).
//! About a minute on 2 cores.

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;
mod report;

use common::*;
use criterion::{Criterion, SamplingMode, Throughput};
use fxe_protocol::apikey::ApiKey;
use fxe_protocol::envelope;
use fxe_protocol::kem::{KemPublic, KemSecret};
use fxe_protocol::request::{self, Body, RequestAuth};
use report::{Record, Timings};
use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

const MID: &str = "0f8fad5b-d9cb-469f-a165-708677289501";
const MIB: u64 = 1024 * 1024;
/// The largest plaintext whose ciphertext fits the 100 MiB cap with 1 MiB chunks
/// (100 chunks, 100 tags): 104,857,600 − 1,600 bytes.
const LARGEST: u64 = fxe_protocol::MAX_CIPHERTEXT_LEN - 100 * 16;

/// Runs `routine` under criterion and returns the median time per iteration of the same runs.
fn measure(
    c: &mut Criterion, group: &str, id: &str, bytes: Option<u64>, big: bool, mut routine: impl FnMut(),
) -> Duration {
    let timings = RefCell::new(Timings::default());
    let mut g = c.benchmark_group(group);
    if big {
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
    } else {
        g.sample_size(30).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_millis(1500));
    }
    if let Some(b) = bytes {
        g.throughput(Throughput::Bytes(b));
    }
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                routine();
            }
            let elapsed = start.elapsed();
            timings.borrow_mut().add(iters, elapsed);
            elapsed
        })
    });
    g.finish();
    timings.into_inner().median()
}

fn label(len: u64) -> &'static str {
    match len {
        1024 => "1 KiB",
        MIB => "1 MiB",
        _ => "100 MiB",
    }
}

/// Raw AES-256-GCM over 1 MiB chunks, nothing else: the floor under seal and open.
fn raw_aes_gcm(buf: &mut [u8], decrypt_tags: Option<&[[u8; 16]]>) -> Vec<[u8; 16]> {
    use aes_gcm::aead::AeadInOut;
    use aes_gcm::{Aes256Gcm, KeyInit};
    let cipher = Aes256Gcm::new(&[7u8; 32].into());
    let mut tags = Vec::new();
    for (i, chunk) in buf.chunks_mut(usize::try_from(MIB).unwrap()).enumerate() {
        let mut nonce = [0u8; 12];
        nonce[3..11].copy_from_slice(&(i as u64).to_be_bytes());
        match decrypt_tags {
            None => tags.push(cipher.encrypt_inout_detached(&nonce.into(), &[], chunk.into()).unwrap().into()),
            Some(t) => cipher.decrypt_inout_detached(&nonce.into(), &[], chunk.into(), &t[i].into()).unwrap(),
        }
    }
    tags
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut records = Vec::new();

    let s = Party::seeded(1, "+15550000001");
    let r = Party::seeded(2, "+15550000002");
    let r_pub = r.identity.public();
    let req = request(&s, &r, &r_pub, MID, fxe_protocol::stream::V1_CHUNK_SIZE);

    for len in [1024, MIB, LARGEST] {
        let big = len == LARGEST;
        let pt = plaintext(usize::try_from(len).unwrap());
        let name = label(len);
        let seal_t = measure(&mut c, "seal", name, Some(len), big, || {
            black_box(envelope::seal(&req, black_box(&pt)).unwrap());
        });
        let (env, ct) = envelope::seal(&req, &pt).unwrap();
        let open_t = measure(&mut c, "open", name, Some(len), big, || {
            black_box(open_as(&r, &s, &env, black_box(&ct)).unwrap());
        });
        let mut seal = Record::mib_per_s(format!("seal {name}"), len, seal_t);
        let mut open = Record::mib_per_s(format!("open {name}"), len, open_t);
        if big {
            // The peer figure: AES-256-GCM alone over the same bytes, without the
            // SHA-256 of the ciphertext, the KEM or the signature.
            let mut buf = pt.clone();
            let peer_seal = measure(&mut c, "aes-256-gcm", "encrypt 100 MiB", Some(len), true, || {
                black_box(raw_aes_gcm(&mut buf, None));
            });
            let mut buf = pt.clone();
            let tags = raw_aes_gcm(&mut buf, None);
            let sealed = buf.clone();
            let peer_open = measure(&mut c, "aes-256-gcm", "decrypt 100 MiB", Some(len), true, || {
                buf.copy_from_slice(&sealed);
                black_box(raw_aes_gcm(&mut buf, Some(&tags)));
            });
            let sha = measure(&mut c, "sha-256", "100 MiB", Some(len), true, || {
                black_box(fxe_protocol::transcript::sha256(black_box(&pt)));
            });
            records.push(Record::mib_per_s("SHA-256 100 MiB", len, sha));
            let peer = "AES-256-GCM alone, 1 MiB chunks (aes-gcm crate)";
            seal = seal.with_peer(peer, Record::mib_per_s("", len, peer_seal).value);
            open = open.with_peer(peer, Record::mib_per_s("", len, peer_open).value);
        }
        records.push(seal);
        records.push(open);
    }

    let sk = KemSecret::from_seed(&[3; 32]);
    let pk = KemPublic::parse(&sk.public()).unwrap();
    let t = measure(&mut c, "x-wing", "encapsulate", None, false, || {
        black_box(pk.encapsulate().unwrap());
    });
    records.push(Record::micros("X-Wing encaps", t));
    let (kem_ct, _) = pk.encapsulate().unwrap();
    let t = measure(&mut c, "x-wing", "decapsulate", None, false, || {
        black_box(sk.decapsulate(black_box(&kem_ct)).unwrap());
    });
    records.push(Record::micros("X-Wing decaps", t));
    let t = measure(&mut c, "x-wing", "key from seed", None, false, || {
        black_box(KemSecret::from_seed(black_box(&[3; 32])).public());
    });
    records.push(Record::micros("X-Wing key from seed", t));

    let bundle = s.bundle.bundle.clone();
    let id_pub = s.identity.public();
    let t = measure(&mut c, "bundle", "verify", None, false, || {
        bundle.verify(black_box(&id_pub)).unwrap();
    });
    records.push(Record::micros("bundle verify", t));

    let key = ApiKey::from_seed(&[4; 32]);
    let body = br#"{"envelope":{"v":1}}"#;
    let path = "/api/v1/messages?box=inbox&number=%2B15550000001";
    let t = measure(&mut c, "request", "sign", None, false, || {
        black_box(request::sign_request(&key, "POST", path, 1_767_230_000, Body::Bytes(body)).unwrap());
    });
    records.push(Record::micros("request sign", t));
    let h = request::sign_request(&key, "POST", path, 1_767_230_000, Body::Bytes(body)).unwrap();
    let api_pub = key.public();
    let t = measure(&mut c, "request", "verify", None, false, || {
        let auth = RequestAuth::parse(|n| h.get(n)).unwrap().unwrap();
        auth.verify_signature(&api_pub, "POST", path).unwrap();
        auth.check_body(&fxe_protocol::transcript::sha256(body), false).unwrap();
    });
    records.push(Record::micros("request verify", t));

    c.final_summary();
    // `cargo test --benches` runs each benchmark once: no figures worth writing.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    if let Err(e) = report::write("protocol", &records) {
        eprintln!("cannot write the results: {e}");
        std::process::exit(1);
    }
}
