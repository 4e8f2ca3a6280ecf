//! The chunk plan (what the browser hands to WebCrypto) against the native
//! sealer and opener: AES-256-GCM run outside the protocol with the plan's key,
//! nonces, AAD and lengths gives the same bytes and the same envelope, and the
//! planned seal and open refuse chunks out of order, short payloads and a wrong
//! hash. Run natively and as wasm32 (`make test-wasm`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aes_gcm::aead::{AeadInOut, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use common::*;
use fxe_protocol::envelope::{self, Envelope, Opener, PlannedOpen, Recipient, Sealer};
use fxe_protocol::error::OpenError;
use fxe_protocol::stream::{ChunkPlan, PlannedChunk};
use fxe_protocol::{Error, MAX_CIPHERTEXT_LEN};
use sha2::{Digest, Sha256};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const MID: &str = "6b1e3f0a-9c2d-4e5f-8a7b-1c2d3e4f5a6b";

fn parties() -> (Party, Party) {
    (Party::seeded(1, "+15550001111"), Party::seeded(9, "+15550002222"))
}

fn gcm(plan: &ChunkPlan) -> Aes256Gcm {
    Aes256Gcm::new(&(*plan.payload_key()).into())
}

/// Seals `pt` the way the browser does: every chunk of the plan through an AES-GCM outside the protocol.
fn seal_planned(sealer: Sealer, pt: &[u8]) -> (Envelope, Vec<u8>) {
    let mut planned = sealer.plan(pt.len() as u64).unwrap();
    let chunks: Vec<PlannedChunk> = planned.plan().chunks().collect();
    let cipher = gcm(planned.plan());
    let mut out = Vec::new();
    for c in chunks {
        assert_eq!(c.ciphertext_offset, out.len() as u64);
        let start = usize::try_from(c.plaintext_offset).unwrap();
        let msg = Payload { msg: &pt[start..start + c.plaintext_len], aad: PlannedChunk::AAD };
        let sealed = aes_gcm::aead::Aead::encrypt(&cipher, &c.nonce.into(), msg).unwrap();
        planned.sealed(&c, sealed.len()).unwrap();
        out.extend_from_slice(&sealed);
    }
    let env = planned.finish(Sha256::digest(&out).into()).unwrap();
    (env, out)
}

fn recipient_of(r: &Party) -> (String, Vec<fxe_protocol::bundle::BundleKeys>) {
    (r.org_id(), vec![r.bundle.clone()])
}

fn planned_open(r: &Party, s: &Party, env: &Envelope) -> PlannedOpen {
    let (org, bundles) = recipient_of(r);
    let rec = Recipient { org_id: &org, numbers: &r.numbers, bundles: &bundles };
    Opener::new(env, &s.identity.public(), &s.bundle.bundle, &rec).unwrap().plan().unwrap()
}

/// Opens `ct` the way the browser does; the plaintext only if `finish` passes.
fn open_planned(mut planned: PlannedOpen, ct: &[u8]) -> fxe_protocol::Result<Vec<u8>> {
    let chunks: Vec<PlannedChunk> = planned.plan().chunks().collect();
    let cipher = gcm(planned.plan());
    let mut out = Vec::new();
    for c in chunks {
        let start = usize::try_from(c.ciphertext_offset).unwrap();
        let sealed = ct.get(start..start + c.ciphertext_len).ok_or(Error::Open(OpenError::MissingFinalChunk))?;
        let mut buf = sealed[..c.plaintext_len].to_vec();
        let tag: [u8; 16] = sealed[c.plaintext_len..].try_into().unwrap();
        cipher
            .decrypt_inout_detached(&c.nonce.into(), PlannedChunk::AAD, buf.as_mut_slice().into(), &tag.into())
            .map_err(|_| Error::Open(OpenError::ChunkTag))?;
        planned.opened(&c, buf.len())?;
        out.extend_from_slice(&buf);
    }
    planned.finish(ct.len() as u64, Sha256::digest(ct).into())?;
    Ok(out)
}

#[test]
fn the_plan_seals_the_same_bytes_as_the_native_sealer() {
    let (s, r) = parties();
    let r_pub = r.identity.public();
    for (cs, len) in
        [(16384u64, 0usize), (16384, 1), (16384, 16384), (16384, 16385), (16384, 50_000), (1 << 20, 70_000)]
    {
        let req = request(&s, &r, &r_pub, MID, cs);
        let pt = plaintext(len);
        let (native_env, native_ct) = envelope::seal_with(&req, fixed_rnd([7; 32], [8; 64]), &pt).unwrap();
        let (env, ct) = seal_planned(Sealer::new(&req, fixed_rnd([7; 32], [8; 64])).unwrap(), &pt);
        assert_eq!(ct, native_ct, "{cs}/{len}: the same ciphertext");
        assert_eq!(env, native_env, "{cs}/{len}: the same signed envelope");
        // Each way round: the native opener opens the planned seal, the planned open the native seal.
        assert_eq!(*open_as(&r, &s, &env, &ct).unwrap(), pt);
        assert_eq!(open_planned(planned_open(&r, &s, &native_env), &native_ct).unwrap(), pt, "{cs}/{len}");
    }
}

#[test]
fn the_plan_follows_the_stream_rules() {
    let (s, r) = parties();
    let r_pub = r.identity.public();
    let req = request(&s, &r, &r_pub, MID, 16384);
    let planned = Sealer::new(&req, fixed_rnd([7; 32], [8; 64])).unwrap().plan(2 * 16384 + 5).unwrap();
    let plan = planned.plan();
    assert_eq!(plan.chunk_count(), 3);
    assert_eq!(plan.ciphertext_len(), 2 * 16384 + 5 + 3 * 16);
    let c: Vec<PlannedChunk> = plan.chunks().collect();
    assert_eq!(c.iter().map(|c| c.plaintext_len).collect::<Vec<_>>(), [16384, 16384, 5]);
    assert_eq!(c.iter().map(|c| c.ciphertext_offset).collect::<Vec<_>>(), [0, 16400, 32800]);
    assert_eq!(c.iter().map(|c| c.last).collect::<Vec<_>>(), [false, false, true]);
    assert_eq!(c[1].nonce, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert_eq!(c[2].nonce, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1]);
    assert!(plan.chunk(3).is_none());
    // An empty payload is one empty final chunk.
    let empty = Sealer::new(&req, fixed_rnd([7; 32], [8; 64])).unwrap().plan(0).unwrap();
    let only: Vec<PlannedChunk> = empty.plan().chunks().collect();
    assert_eq!(only.len(), 1);
    assert!(only[0].last && only[0].plaintext_len == 0 && only[0].ciphertext_len == 16);
}

#[test]
fn a_planned_seal_refuses_what_the_sealer_refuses() {
    let (s, r) = parties();
    let r_pub = r.identity.public();
    let req = request(&s, &r, &r_pub, MID, 16384);
    let sealer = || Sealer::new(&req, fixed_rnd([7; 32], [8; 64])).unwrap();
    // Over the cap.
    let too_big = MAX_CIPHERTEXT_LEN;
    assert!(matches!(sealer().plan(too_big), Err(Error::Invalid { .. })));
    // After a chunk was sealed natively.
    let mut started = sealer();
    started.seal_chunk(&[1; 16384], false).unwrap();
    assert!(matches!(started.plan(1), Err(Error::Seal(_))));
    // Out of order, the wrong length, or unfinished.
    let mut planned = sealer().plan(3 * 16384).unwrap();
    let c: Vec<PlannedChunk> = planned.plan().chunks().collect();
    assert!(planned.sealed(&c[1], c[1].ciphertext_len).is_err());
    assert!(planned.sealed(&c[0], c[0].ciphertext_len - 1).is_err());
    planned.sealed(&c[0], c[0].ciphertext_len).unwrap();
    assert!(planned.sealed(&c[0], c[0].ciphertext_len).is_err(), "the same chunk twice");
    planned.sealed(&c[1], c[1].ciphertext_len).unwrap();
    assert!(matches!(planned.finish([0; 32]), Err(Error::Seal(_))));
}

#[test]
fn a_planned_open_shows_nothing_unless_every_check_passes() {
    let (s, r) = parties();
    let r_pub = r.identity.public();
    let req = request(&s, &r, &r_pub, MID, 16384);
    let pt = plaintext(40_000);
    let (env, ct) = envelope::seal_with(&req, fixed_rnd([7; 32], [8; 64]), &pt).unwrap();
    // A flipped bit in a chunk: its tag fails.
    let mut bad = ct.clone();
    bad[20_000] ^= 1;
    assert!(matches!(open_planned(planned_open(&r, &s, &env), &bad), Err(Error::Open(OpenError::ChunkTag))));
    // Every chunk opens, but the ciphertext seen is not the envelope's.
    let planned = || planned_open(&r, &s, &env);
    let mut all = planned();
    let chunks: Vec<PlannedChunk> = all.plan().chunks().collect();
    for c in &chunks {
        all.opened(c, c.plaintext_len).unwrap();
    }
    assert!(matches!(all.finish(ct.len() as u64, [0; 32]), Err(Error::Open(OpenError::CiphertextHash))));
    let mut all = planned();
    for c in &chunks {
        all.opened(c, c.plaintext_len).unwrap();
    }
    let hash: [u8; 32] = Sha256::digest(&ct).into();
    assert!(matches!(all.finish(ct.len() as u64 + 1, hash), Err(Error::Open(OpenError::CiphertextLength))));
    // Short of the final chunk, out of order, or the wrong length.
    let mut short = planned();
    short.opened(&chunks[0], chunks[0].plaintext_len).unwrap();
    assert!(matches!(short.finish(ct.len() as u64, hash), Err(Error::Open(OpenError::MissingFinalChunk))));
    let mut skip = planned();
    assert!(skip.opened(&chunks[1], chunks[1].plaintext_len).is_err());
    assert!(skip.opened(&chunks[0], chunks[0].plaintext_len + 1).is_err());
    // The whole way: the plaintext.
    assert_eq!(open_planned(planned(), &ct).unwrap(), pt);
}
