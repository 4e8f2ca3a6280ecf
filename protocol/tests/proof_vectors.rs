//! Proofs of delivery made by fxe-protocol, valid and each tampering, checked by
//! `proof::verify` and by the independent verifier `tests/vectors/verify_proof.py`
//! (written from docs/proof.md alone, Python `cryptography`): both must give the
//! same verdict, with the same check code, and the same statement, on every case.
//!
//! Needs `python3` with `cryptography` >= 46 (`FXE_PYTHON` names another interpreter).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::proof::*;
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::proof::{self, Outcome, Party, Proof};
use fxe_protocol::receipt::{Receipt, Refusal, RefusalReason};
use serde_json::{Value, json};
use std::path::PathBuf;

/// One case: a proof file's bytes, the document given (if any), and the code expected.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    document: Option<Vec<u8>>,
    expect: &'static str,
}

fn case(name: &'static str, p: &Proof, document: Option<&[u8]>, expect: &'static str) -> Case {
    Case { name, bytes: p.to_json().into_bytes(), document: document.map(<[u8]>::to_vec), expect }
}

/// A case from the proof's JSON changed by `edit`.
fn edited(name: &'static str, p: &Proof, edit: impl FnOnce(&mut Value), expect: &'static str) -> Case {
    let mut v: Value = serde_json::from_str(&p.to_json()).unwrap();
    edit(&mut v);
    Case { name, bytes: v.to_string().into_bytes(), document: None, expect }
}

fn cases() -> Vec<Case> {
    let w = world();
    let p = delivered(&w);
    let doc = w.doc.as_slice();
    let mut out =
        vec![case("delivered_with_document", &p, Some(doc), "ok"), case("delivered_without_document", &p, None, "ok")];
    let mut bare = p.clone();
    bare.opening = None;
    out.push(case("delivered_without_opening", &bare, None, "ok"));
    out.push(case("document_without_opening", &bare, Some(doc), "no_opening"));

    let refusal =
        Refusal::make(&p.envelope, std::slice::from_ref(&w.r_b), 1_700_000_700, RefusalReason::Policy).unwrap();
    let refused =
        Proof::new(p.envelope.clone(), p.sender.clone(), p.recipient.clone(), Outcome::Refusal(refusal.clone()))
            .with_opening(&w.cek);
    out.push(case("refused_with_document", &refused, Some(doc), "ok"));

    let empty_env = seal(&w, &w.s_b, MID, b"");
    let empty_receipt = Receipt::make(&empty_env, std::slice::from_ref(&w.r_b), 1_700_000_600).unwrap();
    let empty = Proof::new(empty_env, p.sender.clone(), p.recipient.clone(), Outcome::Receipt(empty_receipt))
        .with_opening(&w.cek);
    out.push(case("empty_document", &empty, Some(b""), "ok"));

    // A changed byte of the PDF, a shorter and a longer one.
    let mut changed = w.doc.clone();
    changed[20_000] ^= 0x20;
    out.push(case("pdf_byte_changed", &p, Some(&changed), "document_hash"));
    out.push(case("pdf_truncated", &p, Some(&doc[..doc.len() - 1]), "document_length"));

    // A changed byte of the envelope.
    out.push(edited(
        "envelope_from_number_changed",
        &p,
        |v| v["envelope"]["from_number"] = json!("+15550001112"),
        "envelope_signature",
    ));
    out.push(edited(
        "envelope_created_at_changed",
        &p,
        |v| v["envelope"]["created_at"] = json!(1_700_000_501),
        "envelope_signature",
    ));
    let mut t = p.clone();
    t.envelope.ciphertext_sha256[7] ^= 1;
    out.push(case("envelope_hash_changed", &t, None, "envelope_signature"));

    // A changed byte of the receipt.
    out.push(edited(
        "receipt_time_changed",
        &p,
        |v| v["receipt"]["received_at"] = json!(1_700_000_601),
        "outcome_signature",
    ));
    let mut t = p.clone();
    if let Some(r) = t.receipt.as_mut() {
        r.sig[10] ^= 1;
    }
    out.push(case("receipt_sig_changed", &t, None, "outcome_signature"));
    let mut t = refused.clone();
    if let Some(r) = t.refusal.as_mut() {
        r.reason = RefusalReason::Other;
    }
    out.push(case("refusal_reason_changed", &t, None, "outcome_signature"));

    // A receipt from another bundle of the same org, not named by the envelope.
    let mut r2 = p.receipt.clone().unwrap();
    r2.recipient_bundle_id = w.r_b2.bundle.bundle_id.clone();
    r2.sig = w.r_b2.signing.sign(&r2.tbs());
    let mut t = p.clone();
    t.receipt = Some(r2);
    out.push(case("receipt_other_bundle_named", &t, None, "claim_recipient"));
    t.recipient.bundle = w.r_b2.bundle.clone();
    out.push(case("receipt_other_bundle_in_proof", &t, None, "recipient_bundle_not_named"));
    let mut r3 = p.receipt.clone().unwrap();
    r3.sig = w.r_b2.signing.sign(&r3.tbs());
    let mut t = p.clone();
    t.receipt = Some(r3);
    out.push(case("receipt_signed_by_other_bundle", &t, None, "outcome_signature"));

    // A bundle not signed by the identity.
    let mallory = IdentityKey::from_seed(&[31; 32]);
    let mut forged = BundleKeys::from_seeds(&w.s_id, 1_700_000_000, &[32; 32], &[33; 32]);
    forged.bundle.sig = mallory.sign(&forged.bundle.tbs());
    let f_env = seal(&w, &forged, MID, doc);
    let f_receipt = Receipt::make(&f_env, std::slice::from_ref(&w.r_b), 1_700_000_600).unwrap();
    let f = Proof::new(
        f_env,
        Party { identity_pub: w.s_id.public(), bundle: forged.bundle.clone() },
        p.recipient.clone(),
        Outcome::Receipt(f_receipt),
    );
    out.push(case("sender_bundle_not_signed", &f, None, "sender_bundle_signature"));
    let mut t = p.clone();
    t.recipient.bundle.sig = mallory.sign(&t.recipient.bundle.tbs());
    out.push(case("recipient_bundle_not_signed", &t, None, "recipient_bundle_signature"));
    let mut t = p.clone();
    t.sender.identity_pub = mallory.public();
    out.push(case("sender_identity_swapped", &t, None, "sender_org_id"));
    let mut t = p.clone();
    t.recipient.identity_pub = mallory.public();
    out.push(case("recipient_identity_swapped", &t, None, "recipient_org_id"));
    let mut t = p.clone();
    t.sender.bundle.created_at += 1;
    out.push(case("sender_bundle_changed", &t, None, "sender_bundle_id"));
    let mut t = p.clone();
    t.sender = p.recipient.clone();
    out.push(case("sender_is_recipient", &t, None, "sender_org_id"));

    // A swapped message id.
    out.push(edited(
        "envelope_message_id_swapped",
        &p,
        |v| v["envelope"]["message_id"] = json!(OTHER_MID),
        "envelope_signature",
    ));
    let other = seal(&w, &w.s_b, OTHER_MID, doc);
    let r_other = Receipt::make(&other, std::slice::from_ref(&w.r_b), 1_700_000_600).unwrap();
    let mut t = p.clone();
    t.receipt = Some(r_other);
    out.push(case("receipt_of_other_message", &t, None, "claim_message_id"));
    let mut t = p.clone();
    t.envelope = other;
    out.push(case("envelope_of_other_message", &t, None, "claim_message_id"));

    // A wrong CEK.
    out.push(case("wrong_cek", &p.clone().with_opening(&[34; 32]), Some(doc), "cek_commit"));

    // Malformed files and the form checks.
    out.push(edited("unknown_field", &p, |v| v["x"] = json!(1), "malformed"));
    out.push(edited("unknown_envelope_field", &p, |v| v["envelope"]["x"] = json!(1), "malformed"));
    out.push(edited("missing_sender", &p, |v| drop(v.as_object_mut().unwrap().remove("sender")), "malformed"));
    out.push(edited("time_as_string", &p, |v| v["receipt"]["received_at"] = json!("1700000600"), "malformed"));
    out.push(edited("time_as_float", &p, |v| v["receipt"]["received_at"] = json!(1.7e9), "malformed"));
    out.push(edited(
        "padded_b64u",
        &p,
        |v| {
            let s = v["opening"]["cek"].as_str().unwrap().to_owned();
            v["opening"]["cek"] = json!(format!("{s}="));
        },
        "malformed",
    ));
    out.push(edited(
        "upper_case_hex",
        &p,
        |v| {
            let s = v["envelope"]["ciphertext_sha256"].as_str().unwrap().to_uppercase();
            v["envelope"]["ciphertext_sha256"] = json!(s);
        },
        "malformed",
    ));
    out.push(edited("bad_chunk_size", &p, |v| v["envelope"]["chunk_size"] = json!(1000), "malformed"));
    out.push(edited("array_for_opening", &p, |v| v["opening"] = json!([v["opening"]["cek"].clone()]), "malformed"));
    out.push(edited("format_v2", &p, |v| v["format"] = json!("fxe-proof/v2"), "unsupported_format"));
    out.push(edited(
        "transparency_set",
        &p,
        |v| v["transparency"] = json!({"checkpoint": "x"}),
        "transparency_unsupported",
    ));
    out.push(edited("both_outcomes", &p, |v| v["refusal"] = serde_json::to_value(&refusal).unwrap(), "outcome"));
    out.push(edited("no_outcome", &p, |v| v["receipt"] = Value::Null, "outcome"));
    out.push(edited(
        "optional_fields_absent",
        &p,
        |v| {
            let o = v.as_object_mut().unwrap();
            o.remove("refusal");
            o.remove("transparency");
        },
        "ok",
    ));
    out.push(Case { name: "not_json", bytes: b"{\"format\":".to_vec(), document: None, expect: "malformed" });
    out
}

/// Our verdict: "ok" and the statement as JSON, or the failed check's code.
fn ours(c: &Case) -> (String, Value) {
    let verdict = Proof::from_json(&c.bytes).and_then(|p| proof::verify(&p, c.document.as_deref()));
    match verdict {
        Ok(st) => ("ok".to_owned(), serde_json::to_value(st).unwrap()),
        Err(e) => (e.code().to_owned(), Value::Null),
    }
}

#[test]
fn the_independent_verifier_agrees_on_every_case() {
    let cases = cases();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("proof_vectors");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut list = Vec::new();
    for c in &cases {
        let proof_file = format!("{}.fxeproof", c.name);
        std::fs::write(dir.join(&proof_file), &c.bytes).unwrap();
        let doc_file = c.document.as_ref().map(|d| {
            let f = format!("{}.pdf", c.name);
            std::fs::write(dir.join(&f), d).unwrap();
            f
        });
        list.push(json!({"name": c.name, "proof": proof_file, "document": doc_file}));
    }
    std::fs::write(dir.join("cases.json"), serde_json::to_vec_pretty(&list).unwrap()).unwrap();

    // Ours first: every case gives its expected code.
    let mut mine = std::collections::BTreeMap::new();
    for c in &cases {
        let (code, statement) = ours(c);
        assert_eq!(code, c.expect, "fxe-protocol on case {}", c.name);
        mine.insert(c.name, (code, statement));
    }

    let python = std::env::var("FXE_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/verify_proof.py");
    let out =
        std::process::Command::new(&python).arg(&script).arg("--cases").arg(&dir).output().unwrap_or_else(|e| {
            panic!("cannot run {python} (set FXE_PYTHON to a python3 with cryptography >= 46): {e}")
        });
    assert!(
        out.status.success(),
        "verify_proof.py failed (does {python} have cryptography >= 46?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (name, (code, statement)) in &mine {
        let t = &theirs[*name];
        assert_eq!(t["code"].as_str(), Some(code.as_str()), "verify_proof.py on case {name}");
        assert_eq!(&t["statement"], statement, "the statements differ on case {name}");
    }
    assert_eq!(theirs.as_object().unwrap().len(), mine.len());
}

/// The proof's size does not depend on the fax: the ciphertext is not in it.
#[test]
fn proof_size_is_small_and_constant() {
    let w = world();
    let p = delivered(&w);
    let one_page = p.to_json().len();
    // A 100 MiB fax's envelope differs only in ciphertext_len's digits (and the hash's value).
    let mut big = p.clone();
    big.envelope.ciphertext_len = 104_857_600;
    let hundred_mib = big.to_json().len();
    eprintln!("proof size: {one_page} bytes (this fax), {hundred_mib} bytes (a 100 MiB fax)");
    assert!(one_page < 8_000, "{one_page}");
    assert!(hundred_mib - one_page < 8);
}
