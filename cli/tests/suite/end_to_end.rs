//! fxe-client against a real relay: redeem, lookup, send, receive, receipts,
//! the echo org, refusals, pins.

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{Org, Relay, pdf_bytes, pdfs};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn send_receive_and_verified_receipt() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "Clinic A", "+15550000001");
    let b = Org::redeem(&relay, "Law firm B", "+15550000002");
    let fax = pdf_bytes(2_500_000, 1); // three chunks
    std::fs::write(a.path().join("scan.pdf"), &fax).unwrap();

    // Lookup: on the network, verified and pinned, with B's fingerprint.
    let r = a.run(&["lookup", "+1 (555) 000-0002", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["org_id"], b.org_id.as_str());
    assert_eq!(v["fingerprint"], b.fingerprint.as_str());
    assert_eq!(v["first_contact"], true);
    assert!(a.path().join("fxe-pins.json").is_file());
    assert_eq!(a.run(&["lookup", "+15550000002", "--json"]).json()["first_contact"], false);

    // A sends and waits; B receives meanwhile.
    let sender = common::client(a.path())
        .args([
            "send",
            "--to",
            "+15550000002",
            "--from",
            "+15550000001",
            "--from-name",
            "Front desk",
            "scan.pdf",
            "--wait",
            "--timeout",
            "60",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let files = b.receive_until("incoming", 1);
    assert_eq!(files.len(), 1);
    assert_eq!(std::fs::read(&files[0]).unwrap(), fax, "the received PDF is byte-identical");

    let sent: common::Run = sender.wait_with_output().unwrap().into();
    assert_eq!(sent.code, 0, "send --wait: {}", sent.stderr);
    let v = sent.json();
    assert_eq!(v["status"], "delivered");
    assert_eq!(v["receipt_verified"], true);
    let id = v["message_id"].as_str().unwrap().to_owned();
    assert_eq!(files[0].file_name().unwrap().to_string_lossy(), format!("{id}.pdf"));

    // Status from both sides; outbox and inbox list it.
    let s = a.run(&["status", &id, "--json"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert_eq!(s.json()["receipt_verified"], true);
    assert_eq!(b.run(&["status", &id, "--json"]).json()["status"], "delivered");
    let out = a.run(&["outbox", "--json"]).json();
    assert_eq!(out["items"][0]["message_id"], id.as_str());
    let inbox = b.run(&["inbox", "--status", "delivered", "--json"]).json();
    assert_eq!(inbox["items"][0]["message_id"], id.as_str());
    assert_eq!(b.run(&["inbox", "--status", "queued", "--json"]).json()["items"].as_array().unwrap().len(), 0);

    // Receiving again writes nothing new.
    let again = b.run(&["receive", "--out-dir", "incoming", "--json"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.trim().is_empty(), "{}", again.stdout);
    assert_eq!(pdfs(&b.path().join("incoming")).len(), 1);

    // Not on the network: exit 3, for lookup and send.
    let r = a.run(&["lookup", "+15559999999", "--json"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.json()["on_network"], false);
    let r = a.run(&["send", "--to", "+15559999999", "--from", "+15550000001", "scan.pdf"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
}

#[test]
fn echo_number_sends_the_fax_back() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "Clinic A", "+15550000011");
    let fax = pdf_bytes(40_000, 2);
    a.send_to_echo(&fax);
    let files = a.receive_until("echo", 1);
    assert_eq!(std::fs::read(&files[0]).unwrap(), fax);
    let inbox = a.run(&["inbox", "--json"]).json();
    assert_eq!(inbox["items"][0]["from_number"], "+10000000000");
}

#[test]
fn refusals_are_signed_and_verified() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "A", "+15550000021");
    let b = Org::redeem(&relay, "B", "+15550000022");
    std::fs::write(a.path().join("scan.pdf"), pdf_bytes(10_000, 3)).unwrap();
    // Without --from, A sends from its only number.
    let r = a.run(&["send", "--to", "+15550000022", "scan.pdf", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["from_number"], "+15550000021");
    let id = r.json()["message_id"].as_str().unwrap().to_owned();
    let r = b.run(&["reject", &id, "--reason", "policy", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["status"], "rejected");
    let s = a.run(&["status", &id, "--json"]);
    assert_eq!(s.code, 7, "a refused fax exits 7: {}", s.stderr);
    let v = s.json();
    assert_eq!(v["refusal_verified"], true);
    assert_eq!(v["reason"], "policy");

    // A message whose stored ciphertext was damaged is refused (cannot_open) and nothing is saved.
    let r = a.run(&["send", "--to", "+15550000022", "--from", "+15550000021", "scan.pdf", "--json"]);
    let id = r.json()["message_id"].as_str().unwrap().to_owned();
    let len = r.json()["ciphertext_len"].as_u64().unwrap();
    let mut damaged = 0;
    for path in walk(&relay.data_dir) {
        if std::fs::metadata(&path).unwrap().len() == len {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[100] ^= 1;
            std::fs::write(&path, bytes).unwrap();
            damaged += 1;
        }
    }
    assert_eq!(damaged, 1, "the stored ciphertext was found");
    let r = b.run(&["receive", "--out-dir", "in", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let event: serde_json::Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(event["event"], "refused");
    assert_eq!(event["reason"], "cannot_open");
    assert!(pdfs(&b.path().join("in")).is_empty(), "nothing is saved");
    let s = a.run(&["status", &id, "--json"]);
    assert_eq!(s.code, 7);
    assert_eq!(s.json()["reason"], "cannot_open");
}

fn pdfs_unchecked(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    common::files_in(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "pdf")).collect()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn receive_interrupted_and_rerun_writes_each_fax_once() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "A", "+15550000031");
    let b = Org::redeem(&relay, "B", "+15550000032");
    let faxes: Vec<Vec<u8>> = (0..4).map(|i| pdf_bytes(1_500_000 + i * 1000, 10 + u8::try_from(i).unwrap())).collect();
    for (i, f) in faxes.iter().enumerate() {
        let name = format!("f{i}.pdf");
        std::fs::write(a.path().join(&name), f).unwrap();
        let r = a.run(&["send", "--to", "+15550000032", "--from", "+15550000031", &name]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // A watcher killed as soon as the first fax is on disk.
    let mut watcher = common::client(b.path())
        .args(["receive", "--out-dir", "in", "--watch", "--interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let in_dir = b.path().join("in");
    while pdfs_unchecked(&in_dir).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no fax arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    watcher.kill().unwrap();
    watcher.wait().unwrap();
    // No partial fax under a final name: every .pdf present is a whole one.
    for p in pdfs_unchecked(&in_dir) {
        assert!(faxes.contains(&std::fs::read(&p).unwrap()), "{} is partial", p.display());
    }
    // Whatever was interrupted (download, receipt), a re-run completes it once.
    let r = b.run(&["receive", "--out-dir", "in", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let files = pdfs(&b.path().join("in"));
    assert_eq!(files.len(), 4);
    let mut got: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut want = faxes.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let out = a.run(&["outbox", "--json"]).json();
    for m in out["items"].as_array().unwrap() {
        assert_eq!(m["status"], "delivered", "{m}");
    }
    // A third run finds nothing to do.
    let r = b.run(&["receive", "--out-dir", "in", "--json"]);
    assert!(r.stdout.trim().is_empty());
}

#[test]
fn send_without_from_needs_it_when_the_org_has_several_numbers() {
    let relay = Relay::start();
    let a = Org::redeem(&relay, "Two lines", "+15550000041,+15550000042");
    let _b = Org::redeem(&relay, "B", "+15550000043");
    std::fs::write(a.path().join("scan.pdf"), pdf_bytes(10_000, 4)).unwrap();
    let r = a.run(&["send", "--to", "+15550000043", "scan.pdf"]);
    assert_eq!(r.code, 2, "a usage error: {}", r.stderr);
    r.assert_one_line_error();
    assert!(r.stderr.contains("+15550000041, +15550000042") && r.stderr.contains("--from"), "{}", r.stderr);
    let r = a.run(&["send", "--to", "+15550000043", "--from", "+1 555 000 0042", "scan.pdf", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["from_number"], "+15550000042");
}
