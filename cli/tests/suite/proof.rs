//! `proof export` and `proof verify` against a real relay: both parties' proofs
//! of a delivered fax verify with the document, offline; a refused fax; the
//! echo org; a tampered proof or PDF fails naming its check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{Org, Relay, Run, pdf_bytes};
use std::path::Path;

/// `proof verify` in a folder with no keys.zip and no relay configured: it needs neither.
fn verify(proof: &Path, document: Option<&Path>) -> Run {
    let empty = tempfile::tempdir().unwrap();
    let mut args = vec!["proof".to_owned(), "verify".to_owned(), proof.display().to_string()];
    if let Some(d) = document {
        args.extend(["--document".to_owned(), d.display().to_string()]);
    }
    args.push("--json".to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::run(empty.path(), &args)
}

fn export(org: &Org, id: &str, out: &str, with_document: bool) -> std::path::PathBuf {
    let mut args = vec!["proof", "export", id, "--out", out, "--json"];
    if with_document {
        args.push("--with-document");
    }
    let r = org.run(&args);
    assert_eq!(r.code, 0, "proof export: {}", r.stderr);
    assert_eq!(r.json()["with_document"], with_document);
    org.path().join(out)
}

fn send(a: &Org, to: &str, file: &str) -> String {
    let r = a.run(&["send", "--to", to, "--from", &a.number, "--from-name", "Front desk", file, "--json"]);
    assert_eq!(r.code, 0, "send: {}", r.stderr);
    r.json()["message_id"].as_str().unwrap().to_owned()
}

fn failed_check(r: &Run) -> String {
    assert_eq!(r.code, 1, "a failed proof exits 1: {}", r.stderr);
    r.json()["error"]["code"].as_str().unwrap().to_owned()
}

#[test]
fn both_parties_prove_a_delivered_fax_and_tampering_is_named() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "Clinic A", "+15550000101");
    let b = Org::redeem(&relay, "Law firm B", "+15550000102");
    let fax = pdf_bytes(1_200_000, 7); // two chunks
    std::fs::write(a.path().join("scan.pdf"), &fax).unwrap();
    let id = send(&a, "+15550000102", "scan.pdf");

    // The sender keeps the content key, readable by itself only.
    let kept = a.path().join("fxe-sent").join(&a.org_id).join(format!("{id}.json"));
    assert!(kept.is_file(), "the sender's record of the content key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777, 0o600);
        let dir = kept.parent().unwrap();
        assert_eq!(std::fs::metadata(dir).unwrap().permissions().mode() & 0o777, 0o700);
    }

    // No proof before the receipt.
    let r = a.run(&["proof", "export", &id, "--out", "early.fxeproof"]);
    r.assert_one_line_error();
    assert!(!a.path().join("early.fxeproof").exists());

    b.receive_until("incoming", 1);
    let s = a.run(&["status", &id, "--json"]).json();
    assert_eq!(s["proof_available"], true, "{s}");
    assert_eq!(s["proof_with_document"], true, "{s}");

    let from_a = export(&a, &id, "a.fxeproof", true);
    let from_b = export(&b, &id, "b.fxeproof", true);
    let scan = a.path().join("scan.pdf");
    let mut digests = Vec::new();
    for p in [&from_a, &from_b] {
        let r = verify(p, Some(&scan));
        assert_eq!(r.code, 0, "proof verify: {}", r.stderr);
        let st = &r.json()["statement"];
        assert_eq!(st["outcome"], "received");
        assert_eq!(st["message_id"], id.as_str());
        assert_eq!(st["recipient"]["org_id"], b.org_id.as_str());
        assert_eq!(st["recipient"]["fingerprint"], b.fingerprint.as_str());
        assert_eq!(st["sender"]["fingerprint"], a.fingerprint.as_str());
        assert_eq!(st["from_number"], "+15550000101");
        assert_eq!(st["to_number"], "+15550000102");
        assert_eq!(st["from_name"], "Front desk");
        assert_eq!(st["document_len"], fax.len() as u64);
        digests.push(st["document_sha256"].as_str().unwrap().to_owned());
    }
    assert_eq!(digests[0], digests[1]);
    assert_eq!(digests[0].len(), 64);

    // The recipient's saved copy changed since: the proof is still written, with a warning.
    let saved = b.path().join("incoming").join(format!("{id}.pdf"));
    std::fs::write(&saved, b"%PDF-1.7 something else").unwrap();
    let r = b.run(&["proof", "export", &id, "--out", "later.fxeproof", "--with-document", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("is not the fax"), "{}", r.stderr);
    assert_eq!(r.json()["checked_against"], serde_json::Value::Null);
    assert_eq!(verify(&b.path().join("later.fxeproof"), Some(&scan)).code, 0);

    // The plain statement names the org by fingerprint and says names are not signed.
    let empty = tempfile::tempdir().unwrap();
    let r = common::run(empty.path(), &["proof", "verify", &from_b.display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&b.fingerprint), "{}", r.stdout);
    assert!(r.stdout.contains("not signed"), "{}", r.stdout);

    // A changed byte of the PDF.
    let mut changed = fax.clone();
    changed[500_000] ^= 1;
    let bad_pdf = a.path().join("changed.pdf");
    std::fs::write(&bad_pdf, &changed).unwrap();
    let r = verify(&from_a, Some(&bad_pdf));
    assert_eq!(failed_check(&r), "document_hash");
    assert!(r.stderr.contains("document_hash"), "the failure names the check: {}", r.stderr);

    // A changed byte of the receipt and of the envelope.
    let text = std::fs::read_to_string(&from_a).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = v["receipt"]["received_at"].as_u64().unwrap();
    v["receipt"]["received_at"] = (t + 1).into();
    let tampered = a.path().join("tampered.fxeproof");
    std::fs::write(&tampered, v.to_string()).unwrap();
    assert_eq!(failed_check(&verify(&tampered, None)), "outcome_signature");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["envelope"]["to_number"] = "+15550000103".into();
    std::fs::write(&tampered, v.to_string()).unwrap();
    assert_eq!(failed_check(&verify(&tampered, None)), "envelope_signature");
    // Not a proof at all.
    std::fs::write(&tampered, "{\"format\":").unwrap();
    let r = verify(&tampered, None);
    assert_eq!(failed_check(&r), "malformed");

    // Without --with-document: valid, but it cannot be checked against a PDF.
    let bare = export(&a, &id, "bare.fxeproof", false);
    assert_eq!(verify(&bare, None).code, 0);
    assert_eq!(failed_check(&verify(&bare, Some(&scan))), "no_opening");
    // An existing file is never overwritten.
    let r = a.run(&["proof", "export", &id, "--out", "bare.fxeproof"]);
    r.assert_one_line_error();

    // Without its record of the content key, the sender can still export without the document.
    std::fs::remove_file(&kept).unwrap();
    let r = a.run(&["proof", "export", &id, "--out", "nokey.fxeproof", "--with-document", "--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["error"]["code"], "no_content_key");
    assert_eq!(a.run(&["status", &id, "--json"]).json()["proof_with_document"], false);
}

#[test]
fn a_refused_fax_has_a_proof() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "A", "+15550000121");
    let b = Org::redeem(&relay, "B", "+15550000122");
    std::fs::write(a.path().join("scan.pdf"), pdf_bytes(30_000, 8)).unwrap();
    let id = send(&a, "+15550000122", "scan.pdf");
    let r = b.run(&["reject", &id, "--reason", "policy"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scan = a.path().join("scan.pdf");
    for org in [&a, &b] {
        let p = export(org, &id, "refused.fxeproof", true);
        let r = verify(&p, Some(&scan));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let st = &r.json()["statement"];
        assert_eq!(st["outcome"], "refused");
        assert_eq!(st["refusal_reason"], "policy");
        assert_eq!(st["recipient"]["org_id"], b.org_id.as_str());
    }
}

#[test]
fn the_echo_orgs_receipt_and_fax_have_proofs() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "Clinic A", "+15550000131");
    let fax = pdf_bytes(40_000, 9);
    let id = a.send_to_echo(&fax)["message_id"].as_str().unwrap().to_owned();
    let echo = a.run(&["lookup", "+10000000000", "--json"]).json();

    let p = export(&a, &id, "sent.fxeproof", true);
    let r = verify(&p, Some(&a.path().join("scan.pdf")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let st = &r.json()["statement"];
    assert_eq!(st["outcome"], "received");
    assert_eq!(st["recipient"]["org_id"], echo["org_id"]);
    assert_eq!(st["to_number"], "+10000000000");

    // The fax the echo org sends back: A is its recipient and proves it received it.
    let files = a.receive_until("echo", 1);
    let back = files[0].file_stem().unwrap().to_string_lossy().into_owned();
    let p = export(&a, &back, "received.fxeproof", true);
    let r = verify(&p, Some(&files[0]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let st = &r.json()["statement"];
    assert_eq!(st["recipient"]["org_id"], a.org_id.as_str());
    assert_eq!(st["sender"]["org_id"], echo["org_id"]);
    assert_eq!(st["from_number"], "+10000000000");
}
