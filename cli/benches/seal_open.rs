//! `fxe-client` sealing and opening a 100 MiB file locally, through the very
//! functions `send` and `receive` use (`fxe_client::crypto`), side by side with
//! `rage` (the Rust age) on the same file. Writes
//! `target/bench-results/cli-seal-open.json`.
//!
//! The file is 104,856,000 bytes: the largest plaintext whose ciphertext fits
//! the relay's 100 MiB (104,857,600 bytes) cap. rage is found on PATH (the
//! Makefile's `bench` target installs it with `cargo install rage`); without
//! it the fxe figures are still reported.

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../protocol/benches/report.rs"]
mod report;

use fxe_client::crypto;
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::envelope::{CONTENT_TYPE_PDF, Recipient, SealRequest};
use fxe_protocol::ids::IdentityKey;
use report::{Record, round};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const LEN: usize = 104_856_000;
const RUNS: usize = 3;

fn best(mut f: impl FnMut() -> Duration) -> Duration {
    (0..RUNS).map(|_| f()).min().unwrap_or_default()
}

fn find_rage() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join("rage")).find(|p| p.is_file())
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("rage runs");
    assert!(out.status.success(), "{:?}: {}", cmd, String::from_utf8_lossy(&out.stderr));
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("plain.pdf");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&plain).unwrap());
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut block = vec![0u8; 1 << 20];
        let mut left = LEN;
        while left > 0 {
            for b in block.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x.to_le_bytes()[0];
            }
            let n = left.min(block.len());
            f.write_all(&block[..n]).unwrap();
            left -= n;
        }
    }

    // Two orgs' keys, as keys.zip holds them.
    let sender_id = IdentityKey::generate().unwrap();
    let sender = BundleKeys::generate(&sender_id, 1_700_000_000).unwrap();
    let recip_id = IdentityKey::generate().unwrap();
    let recip = BundleKeys::generate(&recip_id, 1_700_000_000).unwrap();
    let numbers = vec!["+15550000002".to_string()];
    let recip_bundles = vec![recip.clone()];
    let recipient = Recipient { org_id: &recip.bundle.org_id, numbers: &numbers, bundles: &recip_bundles };

    let sealed = dir.path().join("sealed.bin");
    let mut env = None;
    let seal = best(|| {
        let id = fxe_protocol::encoding::new_uuid_v4().unwrap();
        let req = SealRequest {
            message_id: &id,
            created_at: 1_700_000_100,
            sender: &sender,
            recipient_identity_pub: &recip_id.public(),
            recipient_bundle: &recip.bundle,
            from_number: "+15550000001",
            from_name: "bench",
            to_number: "+15550000002",
            content_type: CONTENT_TYPE_PDF,
            chunk_size: fxe_protocol::stream::V1_CHUNK_SIZE,
        };
        let out = std::fs::File::create(&sealed).unwrap();
        let t = Instant::now();
        env = Some(
            crypto::seal_file(
                &req,
                fxe_protocol::envelope::SealRandomness::random().unwrap(),
                &plain,
                &out,
                indicatif::ProgressBar::hidden(),
            )
            .unwrap(),
        );
        t.elapsed()
    });
    let env = env.unwrap();
    let opened = dir.path().join("opened.pdf");
    let open = best(|| {
        let _ = std::fs::remove_file(&opened);
        let t = Instant::now();
        let reader = std::fs::File::open(&sealed).unwrap();
        crypto::open_to_file(&env, &sender_id.public(), &sender.bundle, &recipient, reader, &opened)
            .map_err(|e| format!("{e:?}"))
            .unwrap();
        t.elapsed()
    });
    assert_eq!(std::fs::metadata(&opened).unwrap().len(), LEN as u64);

    let mut records = Vec::new();
    let secs = |d: Duration| round(d.as_secs_f64());
    match find_rage() {
        Some(rage) => {
            let keygen = rage.with_file_name("rage-keygen");
            let key = dir.path().join("age.key");
            run(Command::new(&keygen).arg("-o").arg(&key));
            let recipient_line = std::fs::read_to_string(&key).unwrap();
            let age_pub = recipient_line
                .lines()
                .find_map(|l| l.strip_prefix("# public key: "))
                .expect("rage-keygen prints the public key")
                .to_owned();
            let age_ct = dir.path().join("sealed.age");
            let age_out = dir.path().join("opened-age.pdf");
            let rage_seal = best(|| {
                let t = Instant::now();
                run(Command::new(&rage).arg("-r").arg(&age_pub).arg("-o").arg(&age_ct).arg(&plain));
                t.elapsed()
            });
            let rage_open = best(|| {
                let _ = std::fs::remove_file(&age_out);
                let t = Instant::now();
                run(Command::new(&rage).arg("-d").arg("-i").arg(&key).arg("-o").arg(&age_out).arg(&age_ct));
                t.elapsed()
            });
            records.push(
                Record::new("seal 100 MiB file (fxe-client vs rage)", secs(seal), "s")
                    .with_peer("rage", secs(rage_seal)),
            );
            records.push(
                Record::new("open 100 MiB file (fxe-client vs rage)", secs(open), "s")
                    .with_peer("rage", secs(rage_open)),
            );
            records.push(Record::new(
                "seal time ratio fxe-client / rage",
                round(seal.as_secs_f64() / rage_seal.as_secs_f64()),
                "x",
            ));
            records.push(Record::new(
                "open time ratio fxe-client / rage",
                round(open.as_secs_f64() / rage_open.as_secs_f64()),
                "x",
            ));
        }
        None => {
            eprintln!(
                "rage not found on PATH: reporting fxe-client alone (run `cargo install rage` for the comparison)"
            );
            records.push(Record::new("seal 100 MiB file (fxe-client)", secs(seal), "s"));
            records.push(Record::new("open 100 MiB file (fxe-client)", secs(open), "s"));
        }
    }
    records.push(Record::mib_per_s("seal throughput (fxe-client)", LEN as u64, seal));
    records.push(Record::mib_per_s("open throughput (fxe-client)", LEN as u64, open));
    report::write("cli-seal-open", &records).expect("results written");
}
