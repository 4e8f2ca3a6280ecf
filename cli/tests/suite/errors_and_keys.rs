//! Clear one-line errors and exit codes; keys.zip handling (passphrase,
//! machine export, rotation, API keys); pins; webhook verification.

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{Org, Relay, pdf_bytes, run};

#[test]
fn bad_inputs_give_one_line_errors_and_exit_codes() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "A", "+15550000041");
    let _b = Org::redeem(&relay, "B", "+15550000042");
    std::fs::write(a.path().join("scan.pdf"), pdf_bytes(5_000, 4)).unwrap();
    std::fs::write(a.path().join("notes.txt"), b"hello, not a pdf").unwrap();

    // Not a PDF: refused without --force (exit 1), sent with it.
    let r = a.run(&["send", "--to", "+15550000042", "--from", "+15550000041", "notes.txt"]);
    assert_eq!(r.code, 1);
    r.assert_one_line_error();
    assert!(r.stderr.contains("not a PDF"), "{}", r.stderr);
    let r = a.run(&["send", "--to", "+15550000042", "--from", "+15550000041", "notes.txt", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("warning:"));

    // A number that is not ours: the relay refuses (exit 1, its code in --json).
    let r = a.run(&["send", "--to", "+15550000042", "--from", "+15550000042", "scan.pdf", "--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["error"]["code"], "from_number_not_yours");
    r.assert_one_line_error();

    // A missing file.
    let r = a.run(&["send", "--to", "+15550000042", "--from", "+15550000041", "missing.pdf"]);
    assert_eq!(r.code, 1);
    r.assert_one_line_error();
    assert!(r.stderr.contains("missing.pdf"));

    // An unreachable relay: exit 5.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let r = a.run(&["lookup", "+15550000042", "--relay", &format!("http://127.0.0.1:{port}")]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    r.assert_one_line_error();
    assert!(r.stderr.contains("cannot reach the relay"));

    // A tampered keys.zip.
    let mut zip = std::fs::read(a.path().join("keys.zip")).unwrap();
    let at = zip.windows(13).position(|w| w == b"fxe-keys.json").unwrap() + 13 + 300;
    zip[at] ^= 0x55;
    std::fs::write(a.path().join("tampered.zip"), &zip).unwrap();
    let r = a.run(&["keys", "show", "--keys", "tampered.zip"]);
    r.assert_one_line_error();
    assert!(r.stderr.contains("tampered.zip"), "{}", r.stderr);

    // A wrong keys file (a PDF) and a missing one.
    let r = a.run(&["lookup", "+15550000042", "--keys", "scan.pdf"]);
    r.assert_one_line_error();
    assert!(r.stderr.contains("not a zip"), "{}", r.stderr);
    let r = a.run(&["lookup", "+15550000042", "--keys", "nope.zip"]);
    r.assert_one_line_error();

    // Another relay's org: the key is unknown there (exit 6).
    let other = Relay::start();
    let r = a.run(&["lookup", "+15550000042", "--relay", &other.base_url]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    r.assert_one_line_error();

    // Usage errors exit 2; --json errors are JSON.
    assert_eq!(a.run(&["send", "--to", "+15550000042"]).code, 2);
    assert_eq!(a.run(&["lookup", "5550000042"]).code, 2);
    let r = a.run(&["status", "not-a-uuid", "--json"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.json()["error"]["code"], "invalid_message_id");

    // redeem never overwrites keys.zip.
    let token = relay.invite();
    let r = a.run(&relay.redeem_args(&token, "C", "+15550000043", "c@example.org"));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("refusing to overwrite"), "{}", r.stderr);
}

#[test]
fn passphrases_machine_keys_rotation_and_api_keys() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "A", "+15550000051");
    let b = Org::redeem(&relay, "B", "+15550000052");

    // keys show: never secrets.
    let r = a.run(&["keys", "show", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["kind"], "full");
    assert_eq!(r.json()["fingerprint"], a.fingerprint.as_str());
    assert!(!r.stdout.contains("fxe_sk_") && !r.stdout.contains("secret"));

    // A protected machine export: readable with the passphrase only.
    let r = a.run(&["keys", "export", "--machine", "--out", "gw.zip", "--out-passphrase", "correct horse"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = a.run(&["keys", "show", "--keys", "gw.zip"]);
    r.assert_one_line_error();
    assert!(r.stderr.contains("passphrase"), "{}", r.stderr);
    let r = a.run(&["keys", "show", "--keys", "gw.zip", "--passphrase", "wrong"]);
    r.assert_one_line_error();
    let r = common::client(a.path())
        .args(["keys", "show", "--keys", "gw.zip", "--json"])
        .env("FXE_PASSPHRASE", "correct horse")
        .output()
        .unwrap();
    let r: common::Run = r.into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["kind"], "machine");
    assert_eq!(r.json()["protected"], true);
    assert_eq!(a.run(&["keys", "export", "--out", "gw.zip"]).code, 1, "never overwrites");

    // A staff export: no identity secret, no API keys, every bundle.
    let r = a.run(&["keys", "export", "--staff", "--out", "staff.zip", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["kind"], "staff");
    let r = a.run(&["keys", "show", "--keys", "staff.zip", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["kind"], "staff");
    assert_eq!(r.json()["api_keys"].as_array().map(Vec::len), Some(0));
    assert_eq!(r.json()["bundles"].as_array().map(Vec::len), Some(1));
    assert_eq!(a.run(&["keys", "export", "--staff", "--machine", "--out", "x.zip"]).code, 2, "one kind at a time");

    // The machine keys send; they cannot rotate.
    std::fs::write(a.path().join("scan.pdf"), pdf_bytes(3_000, 5)).unwrap();
    let r = a.run(&[
        "send",
        "--keys",
        "gw.zip",
        "--passphrase",
        "correct horse",
        "--to",
        "+15550000052",
        "--from",
        "+15550000051",
        "scan.pdf",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = a.run(&["rotate-bundle", "--keys", "gw.zip", "--passphrase", "correct horse"]);
    r.assert_one_line_error();
    assert!(r.stderr.contains("machine"), "{}", r.stderr);

    // B pins A's bundle, A rotates, B sees the newer bundle (no pin failure)
    // and still opens the fax sealed before the rotation.
    std::fs::write(b.path().join("reply.pdf"), pdf_bytes(3_000, 7)).unwrap();
    let r = b.run(&["send", "--to", "+15550000051", "--from", "+15550000052", "reply.pdf"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = a.run(&["rotate-bundle", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let new_bundle = r.json()["bundle_id"].as_str().unwrap().to_owned();
    let shown = a.run(&["keys", "show", "--json"]).json();
    assert_eq!(shown["bundles"].as_array().unwrap().len(), 2);
    assert_eq!(shown["bundles"][1]["bundle_id"], new_bundle.as_str());
    let r = b.run(&["lookup", "+15550000051", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["bundle_id"], new_bundle.as_str());
    let r = b.run(&["send", "--to", "+15550000051", "--from", "+15550000052", "reply.pdf"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let files = a.receive_until("in", 2);
    assert_eq!(files.len(), 2, "the fax sealed to the old bundle and the one sealed to the new");

    // API keys: create (added to keys.zip), list, revoke.
    let r = a.run(&["api-key", "create", "--scopes", "receive", "--label", "gateway", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key_id = r.json()["key_id"].as_str().unwrap().to_owned();
    let shown = a.run(&["keys", "show", "--json"]).json();
    assert!(shown["api_keys"].as_array().unwrap().iter().any(|k| k["key_id"] == key_id.as_str()));
    let list = a.run(&["api-key", "list", "--json"]).json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(a.run(&["api-key", "revoke", &key_id]).code, 0);
    let shown = a.run(&["keys", "show", "--json"]).json();
    assert!(
        !shown["api_keys"].as_array().unwrap().iter().any(|k| k["key_id"] == key_id.as_str()),
        "dropped from keys.zip"
    );
    assert_eq!(a.run(&["receive", "--out-dir", "in"]).code, 0, "receive signs with a key still valid");
    let list = a.run(&["api-key", "list", "--json"]).json();
    assert!(
        list["items"].as_array().unwrap().iter().any(|k| k["key_id"] == key_id.as_str() && !k["revoked_at"].is_null())
    );
}

#[test]
fn changed_pins_stop_with_exit_4_until_trusted() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "A", "+15550000061");
    let b = Org::redeem(&relay, "B", "+15550000062");
    assert_eq!(a.run(&["lookup", "+15550000062"]).code, 0);
    // Pretend the number belonged to another org before (as after a substitution).
    let pins_path = a.path().join("fxe-pins.json");
    let pins = std::fs::read_to_string(&pins_path).unwrap();
    std::fs::write(
        &pins_path,
        pins.replace(
            &format!("\"+15550000062\": \"{}\"", b.org_id),
            &format!("\"+15550000062\": \"{}\"", "ab".repeat(16)),
        ),
    )
    .unwrap();
    let r = a.run(&["lookup", "+15550000062"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("KEY CHANGE"), "{}", r.stderr);
    assert!(r.stderr.contains("fxe-client trust +15550000062 --fingerprint"), "{}", r.stderr);
    std::fs::write(a.path().join("scan.pdf"), pdf_bytes(3_000, 6)).unwrap();
    assert_eq!(a.run(&["send", "--to", "+15550000062", "--from", "+15550000061", "scan.pdf"]).code, 4);
    // A wrong fingerprint is refused; the right one restores service.
    let r = a.run(&["trust", "+15550000062", "--fingerprint", &a.fingerprint]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let r = a.run(&["trust", "+15550000062", "--fingerprint", &b.fingerprint]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(a.run(&["lookup", "+15550000062"]).code, 0);

    // A bundle older than the newest seen for the org (a rollback) also stops.
    let mut pins: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&pins_path).unwrap()).unwrap();
    let created = pins["orgs"][&b.org_id]["newest_bundle_created_at"].as_u64().unwrap();
    pins["orgs"][&b.org_id]["newest_bundle_created_at"] = (created + 1000).into();
    std::fs::write(&pins_path, pins.to_string()).unwrap();
    let r = a.run(&["lookup", "+15550000062", "--json"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("KEY ROLLBACK"), "{}", r.stderr);
    assert_eq!(r.json()["error"]["code"], "pin_mismatch");
}

#[test]
fn webhook_verify_checks_both_signature_schemes() {
    use fxe_protocol::webhook::WebhookSecret;
    let dir = tempfile::tempdir().unwrap();
    let secret = WebhookSecret::from_bytes([7; 32]);
    let body = br#"{"id":"e1","type":"ping"}"#;
    std::fs::write(dir.path().join("body.json"), body).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let s = secret.to_secret_string();
    let fxe_sig = format!("X-FXE-Signature: {}", secret.fxe_signature(now, body));
    let ts = format!("X-FXE-Timestamp: {now}");
    // `webhook verify` of body.json with the `headers`, then `extra` arguments.
    let verify = |headers: &[&str], extra: &[&str]| {
        let mut args = vec!["webhook", "verify", "--secret", &s];
        for h in headers {
            args.extend(["--header", h]);
        }
        args.extend(["--body-file", "body.json"]);
        args.extend(extra);
        run(dir.path(), &args)
    };
    let r = verify(&[&ts, &fxe_sig], &["--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["valid"], true);
    let std_sig = format!("webhook-signature: {}", secret.standard_signature("e1", now, body));
    let r = verify(&["webhook-id: e1", &format!("webhook-timestamp: {now}"), &std_sig], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(dir.path().join("body.json"), b"{}").unwrap();
    let r = verify(&[&ts, &fxe_sig], &[]);
    assert_eq!(r.code, 1);
    r.assert_one_line_error();
}

#[test]
fn help_lists_examples_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &["--help"]);
    assert_eq!(r.code, 0);
    for needle in ["Examples:", "Exit codes:", "not on the network", "redeem", "receive", "FXE_KEYS"] {
        assert!(r.stdout.contains(needle), "--help lacks {needle}");
    }
    let r = run(dir.path(), &["send", "--help"]);
    assert!(r.stdout.contains("Example"));
}
