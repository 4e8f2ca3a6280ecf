//! `proof::verify` on valid proofs (a delivered, a refused, an empty fax) and on each
//! single tampering, which fails with its own check (docs/proof.md §3). Runs natively
//! and as wasm32 (the browser's verifier is this code).

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::proof::*;
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::encoding;
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::proof::{MAX_PROOF_LEN, Outcome, Party, Proof, verify};
use fxe_protocol::receipt::{Receipt, Refusal, RefusalReason};
use fxe_protocol::transcript::sha256;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn reparse(p: &Proof) -> Proof {
    Proof::from_json(p.to_json().as_bytes()).unwrap()
}

fn fails(p: &Proof, doc: Option<&[u8]>) -> &'static str {
    verify(p, doc).unwrap_err().code()
}

#[test]
fn delivered_fax_verifies_with_its_document() {
    let w = world();
    let p = reparse(&delivered(&w));
    let st = verify(&p, Some(&w.doc)).unwrap();
    assert_eq!(st.outcome, "received");
    assert_eq!(st.message_id, MID);
    assert_eq!(st.recipient.org_id, w.r_id.org_id());
    assert_eq!(st.recipient.fingerprint, w.r_id.fingerprint());
    assert_eq!(st.sender.org_id, w.s_id.org_id());
    assert_eq!(st.from_number, "+15550001111");
    assert_eq!(st.to_number, "+15550002222");
    assert_eq!(st.signed_at, 1_700_000_600);
    assert_eq!(st.document_len, w.doc.len() as u64);
    assert_eq!(st.document_sha256, Some(encoding::hex_encode(&sha256(&w.doc))));
    assert!(st.text().contains(&w.r_id.fingerprint()));
    // Without the document, and without the opening.
    assert_eq!(verify(&p, None).unwrap().document_sha256, None);
    let mut bare = p.clone();
    bare.opening = None;
    assert!(!verify(&bare, None).unwrap().opening_verified);
    assert_eq!(fails(&bare, Some(&w.doc)), "no_opening");
}

#[test]
fn refused_fax_verifies() {
    let w = world();
    let env = seal(&w, &w.s_b, MID, &w.doc);
    let refusal = Refusal::make(&env, std::slice::from_ref(&w.r_b), 1_700_000_700, RefusalReason::Policy).unwrap();
    let (s, r) = (party(&w.s_id, &w.s_b), party(&w.r_id, &w.r_b));
    let p = reparse(&Proof::new(env, s, r, Outcome::Refusal(refusal)).with_opening(&w.cek));
    let st = verify(&p, Some(&w.doc)).unwrap();
    assert_eq!((st.outcome, st.refusal_reason, st.signed_at), ("refused", Some("policy"), 1_700_000_700));
    assert!(st.text().contains("refused by:"));
}

#[test]
fn empty_document_verifies() {
    let w = world();
    let env = seal(&w, &w.s_b, MID, b"");
    let receipt = Receipt::make(&env, std::slice::from_ref(&w.r_b), 1_700_000_600).unwrap();
    let (s, r) = (party(&w.s_id, &w.s_b), party(&w.r_id, &w.r_b));
    let p = Proof::new(env, s, r, Outcome::Receipt(receipt)).with_opening(&w.cek);
    verify(&p, Some(b"")).unwrap();
    assert_eq!(fails(&p, Some(b"x")), "document_length");
}

#[test]
fn a_changed_byte_of_the_pdf() {
    let w = world();
    let p = delivered(&w);
    let mut doc = w.doc.clone();
    doc[100] ^= 1;
    assert_eq!(fails(&p, Some(&doc)), "document_hash");
    assert_eq!(fails(&p, Some(&w.doc[1..])), "document_length");
    let mut longer = w.doc.clone();
    longer.push(b'\n');
    assert_eq!(fails(&p, Some(&longer)), "document_length");
}

#[test]
fn a_changed_byte_of_the_envelope() {
    let w = world();
    let p = delivered(&w);
    let mut t = p.clone();
    t.envelope.to_number = "+15550002223".into();
    assert_eq!(fails(&t, None), "envelope_signature");
    let mut t = p.clone();
    t.envelope.ciphertext_sha256[0] ^= 1;
    assert_eq!(fails(&t, None), "envelope_signature");
    let mut t = p.clone();
    t.envelope.sig[5] ^= 1;
    assert_eq!(fails(&t, None), "envelope_signature");
}

#[test]
fn a_changed_byte_of_the_receipt() {
    let w = world();
    let p = delivered(&w);
    let mut t = p.clone();
    if let Some(r) = t.receipt.as_mut() {
        r.received_at += 1;
    }
    assert_eq!(fails(&t, None), "outcome_signature");
    let mut t = p.clone();
    if let Some(r) = t.receipt.as_mut() {
        r.envelope_hash[0] ^= 1;
    }
    assert_eq!(fails(&t, None), "claim_envelope_hash");
    // A refusal turned into a receipt (same fields, other label) does not verify.
    let env = p.envelope.clone();
    let refusal = Refusal::make(&env, std::slice::from_ref(&w.r_b), 1_700_000_600, RefusalReason::Other).unwrap();
    let mut t = p.clone();
    if let Some(r) = t.receipt.as_mut() {
        r.sig = refusal.sig;
    }
    assert_eq!(fails(&t, None), "outcome_signature");
}

#[test]
fn a_receipt_from_another_bundle_of_the_same_org() {
    let w = world();
    let p = delivered(&w);
    // Signed by the org's other bundle, naming that bundle: not the bundle the fax was sealed to.
    let mut env_b2 = p.envelope.clone();
    env_b2.recipient_bundle_id = w.r_b2.bundle.bundle_id.clone();
    let mut r2 = Receipt::make(&env_b2, std::slice::from_ref(&w.r_b2), 1_700_000_600).unwrap();
    r2.envelope_hash = p.envelope.hash();
    r2.sig = w.r_b2.signing.sign(&r2.tbs());
    let mut t = p.clone();
    t.receipt = Some(r2.clone());
    assert_eq!(fails(&t, None), "claim_recipient");
    // ... with that bundle in the proof as the recipient's.
    t.recipient.bundle = w.r_b2.bundle.clone();
    assert_eq!(fails(&t, None), "recipient_bundle_not_named");
    // Signed by the other bundle but claiming the sealed-to bundle.
    let mut r3 = p.receipt.clone().unwrap();
    r3.sig = w.r_b2.signing.sign(&r3.tbs());
    let mut t = p.clone();
    t.receipt = Some(r3);
    assert_eq!(fails(&t, None), "outcome_signature");
}

#[test]
fn a_bundle_not_signed_by_the_identity() {
    let w = world();
    // A bundle that claims the sender's org but is signed by another identity.
    let mallory = IdentityKey::from_seed(&[11; 32]);
    let mut forged = BundleKeys::from_seeds(&w.s_id, 1_700_000_000, &[12; 32], &[13; 32]);
    forged.bundle.sig = mallory.sign(&forged.bundle.tbs());
    let env = seal(&w, &forged, MID, &w.doc);
    let receipt = Receipt::make(&env, std::slice::from_ref(&w.r_b), 1_700_000_600).unwrap();
    let r = party(&w.r_id, &w.r_b);
    let s = Party { identity_pub: w.s_id.public(), bundle: forged.bundle.clone() };
    let p = Proof::new(env, s, r, Outcome::Receipt(receipt));
    assert_eq!(fails(&p, None), "sender_bundle_signature");
    // The same for the recipient's bundle.
    let p = delivered(&w);
    let mut t = p.clone();
    t.recipient.bundle.sig = mallory.sign(&t.recipient.bundle.tbs());
    assert_eq!(fails(&t, None), "recipient_bundle_signature");
    // Another org's identity presented for the bundle.
    let mut t = p.clone();
    t.sender.identity_pub = mallory.public();
    assert_eq!(fails(&t, None), "sender_org_id");
    let mut t = p.clone();
    t.recipient.bundle.created_at += 1;
    assert_eq!(fails(&t, None), "recipient_bundle_id");
}

#[test]
fn a_swapped_message_id() {
    let w = world();
    let p = delivered(&w);
    // The envelope's id changed: its signature fails.
    let mut t = p.clone();
    t.envelope.message_id = OTHER_MID.into();
    assert_eq!(fails(&t, None), "envelope_signature");
    // A genuine receipt of another fax between the same parties.
    let other = seal(&w, &w.s_b, OTHER_MID, &w.doc);
    let r_other = Receipt::make(&other, std::slice::from_ref(&w.r_b), 1_700_000_600).unwrap();
    let mut t = p.clone();
    t.receipt = Some(r_other);
    assert_eq!(fails(&t, None), "claim_message_id");
    // The whole other envelope with this fax's receipt.
    let mut t = p.clone();
    t.envelope = other;
    assert_eq!(fails(&t, None), "claim_message_id");
}

#[test]
fn a_wrong_cek() {
    let w = world();
    let p = delivered(&w);
    let t = p.clone().with_opening(&[8; 32]);
    assert_eq!(fails(&t, None), "cek_commit");
    assert_eq!(fails(&t, Some(&w.doc)), "cek_commit");
}

#[test]
fn malformed_files_are_refused_without_panic() {
    let w = world();
    let p = delivered(&w);
    let json = p.to_json();
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["extra"] = 1.into();
    assert_eq!(Proof::from_json(v.to_string().as_bytes()).unwrap_err().code(), "malformed");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["envelope"]["extra"] = 1.into();
    assert_eq!(Proof::from_json(v.to_string().as_bytes()).unwrap_err().code(), "malformed");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v.as_object_mut().unwrap().remove("envelope");
    assert_eq!(Proof::from_json(v.to_string().as_bytes()).unwrap_err().code(), "malformed");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["envelope"]["chunk_size"] = 1000.into();
    assert_eq!(Proof::from_json(v.to_string().as_bytes()).unwrap_err().code(), "malformed");
    for bad in ["", "[]", "null", "{", "{\"format\":\"fxe-proof/v1\"}", "\u{0}"] {
        assert_eq!(Proof::from_json(bad.as_bytes()).unwrap_err().code(), "malformed", "{bad:?}");
    }
    assert_eq!(Proof::from_json(&vec![b' '; MAX_PROOF_LEN + 1]).unwrap_err().code(), "malformed");
    // Every truncation of a valid file is refused, never a panic.
    for n in (0..json.len()).step_by(97) {
        assert!(Proof::from_json(&json.as_bytes()[..n]).is_err());
    }
    let mut t = p.clone();
    t.format = "fxe-proof/v2".into();
    assert_eq!(fails(&t, None), "unsupported_format");
    let mut t = p.clone();
    t.transparency = Some(serde_json::json!({"checkpoint": "x"}));
    assert_eq!(fails(&t, None), "transparency_unsupported");
    let mut t = p.clone();
    t.refusal = Some(Refusal::make(&p.envelope, std::slice::from_ref(&w.r_b), 1, RefusalReason::Other).unwrap());
    assert_eq!(fails(&t, None), "outcome");
    t.receipt = None;
    t.refusal = None;
    assert_eq!(fails(&t, None), "outcome");
    // Absent optional fields read as null.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("refusal");
    o.remove("transparency");
    verify(&Proof::from_json(v.to_string().as_bytes()).unwrap(), Some(&w.doc)).unwrap();
}
