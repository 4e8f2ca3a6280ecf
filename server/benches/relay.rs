//! The relay under load, measured from outside: a spawned `fxe-server` (the
//! release build of this commit) on SQLite in a temporary folder, and clients
//! that speak the real API with signed requests and do their own cryptography.
//!
//! * **Fax cycle**: N concurrent clients, each an org pair, run the whole
//!   send → poll → fetch → receipt cycle with a 1-page (~50 KB) fax for a fixed
//!   time: faxes/s and the cycle's p50/p99 latency, for several N.
//! * **100 MiB**: one fax of the largest size the relay takes, uploaded and
//!   downloaded: throughput both ways and the growth of the relay's resident
//!   memory (peak during the transfer minus resident before it), which shows
//!   that uploads and downloads stream rather than buffer.
//!
//! Results: `target/bench-results/relay.json` (see `protocol/benches/report.rs`).
//! `FXE_BENCH_SECONDS` sets each cycle run's length (default 10).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Statistics over measured samples: counts and times as f64 lose nothing that matters.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../../protocol/benches/report.rs"]
mod report;

use std::{path::Path, sync::Arc, time::Duration, time::Instant};

use common::{
    client::{Relay, TestOrg},
    spawned::{Spawned, free_port, spawn},
};
use fxe_protocol::{MAX_CIPHERTEXT_LEN, request::Body, stream};
use report::{Record, round};
use reqwest::StatusCode;
use serde_json::json;

/// Concurrent clients per cycle run.
const CLIENTS: [usize; 3] = [1, 4, 16];
/// A one-page fax: about what a scanned page at fine resolution weighs.
const PAGE_BYTES: usize = 50 * 1024;

async fn start(data: &Path) -> Spawned {
    // The bench measures the relay, not its per-key rate limit.
    spawn(env!("CARGO_BIN_EXE_fxe-server"), data, free_port(), None, &["--rate-limit-per-minute", "1000000"]).await
}

/// A PDF-looking page of `len` bytes, different for each `seed`.
fn page(len: usize, seed: u64) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// One full cycle: A sends, B polls until it sees the fax, fetches, opens,
/// verifies and posts the receipt. Returns the cycle's time.
async fn cycle(relay: &Spawned, a: &TestOrg, b: &TestOrg, fax: &[u8]) -> Duration {
    let started = Instant::now();
    let id = a.send(relay, &b.numbers[0], fax).await;
    loop {
        let queued = b.queued(relay).await;
        if queued.iter().any(|m| m["message_id"] == id.as_str()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, plaintext) = b.receive(relay, &id).await;
    assert_eq!(plaintext, fax, "the fax arrives intact");
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1e3)
}

async fn fax_cycles(records: &mut Vec<Record>, seconds: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Arc::new(start(&tmp.path().join("relay")).await);
    let max = *CLIENTS.iter().max().unwrap();
    let mut pairs = Vec::new();
    for i in 0..max {
        let a = TestOrg::redeem(&*relay, &format!("Sender {i}"), &[&format!("+1555020{i:04}")]).await;
        let b = TestOrg::redeem(&*relay, &format!("Recipient {i}"), &[&format!("+1555030{i:04}")]).await;
        pairs.push(Arc::new((a, b)));
    }
    // Warm up: every pair once (connections, the database's caches).
    for (i, pair) in pairs.iter().enumerate() {
        cycle(&relay, &pair.0, &pair.1, &page(PAGE_BYTES, i as u64)).await;
    }
    for n in CLIENTS {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (i, pair) in pairs.iter().take(n).enumerate() {
            let relay = relay.clone();
            let pair = pair.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                let mut seed = (i as u64) << 32;
                while Instant::now() < deadline {
                    seed += 1;
                    times.push(cycle(&relay, &pair.0, &pair.1, &page(PAGE_BYTES, seed)).await);
                }
                times
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.extend(t.await.expect("client task"));
        }
        let wall = started.elapsed();
        times.sort();
        let rate = times.len() as f64 / wall.as_secs_f64();
        println!("{n:>3} clients: {} faxes in {:.1} s", times.len(), wall.as_secs_f64());
        records.push(Record::new(format!("fax cycle, {n} clients: rate"), round(rate), "faxes/s"));
        records.push(Record::new(format!("fax cycle, {n} clients: p50"), millis(percentile(&times, 50.0)), "ms"));
        records.push(Record::new(format!("fax cycle, {n} clients: p99"), millis(percentile(&times, 99.0)), "ms"));
    }
    drop(pairs);
    Arc::into_inner(relay).expect("no client holds the relay").kill().await;
}

/// (resident now, peak so far) of a process, in bytes, from /proc.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the process's peak resident size to its current one (Linux ≥ 4.0).
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The largest plaintext whose ciphertext the relay still takes.
fn largest_plaintext() -> u64 {
    let (mut lo, mut hi) = (0u64, MAX_CIPHERTEXT_LEN);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if stream::ciphertext_len(mid, stream::V1_CHUNK_SIZE) <= MAX_CIPHERTEXT_LEN {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

const MIB: f64 = 1024.0 * 1024.0;

async fn large_fax(records: &mut Vec<Record>) {
    let tmp = tempfile::tempdir().unwrap();
    let mut relay = start(&tmp.path().join("relay")).await;
    let pid = relay.child.id();
    let a = TestOrg::redeem(&relay, "Big sender", &["+15550400001"]).await;
    let b = TestOrg::redeem(&relay, "Big recipient", &["+15550400002"]).await;
    // Warm the relay up with a small fax, so the baseline is a relay in use.
    cycle(&relay, &a, &b, &page(PAGE_BYTES, 1)).await;

    let fax = page(largest_plaintext() as usize, 2);
    let (env, ct) = a.seal_to(&relay, &b.numbers[0], &fax).await;
    let (status, body) = a.call(&relay, "POST", "/api/v1/messages", Some(&json!({ "envelope": env }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ct_len = ct.len() as f64;

    let can_reset = reset_peak(pid);
    let (before, _) = memory(pid);
    let started = Instant::now();
    let (status, body) = a.upload(&relay, &env.message_id, ct).await;
    let upload = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, peak_upload) = memory(pid);

    reset_peak(pid);
    let (before_download, _) = memory(pid);
    let path = format!("/api/v1/messages/{}/content", env.message_id);
    let headers = b.sign("GET", &path, Body::Bytes(b""));
    let mut req = relay.http().get(relay.url(&path));
    for (k, v) in headers.pairs() {
        req = req.header(k, v);
    }
    let started = Instant::now();
    let mut res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut received = 0usize;
    while let Some(chunk) = res.chunk().await.unwrap() {
        received += chunk.len();
    }
    let download = started.elapsed();
    assert_eq!(received as f64, ct_len, "the whole ciphertext comes back");
    let (_, peak_download) = memory(pid);

    records.push(Record::new("100 MiB upload", round(ct_len / MIB / upload.as_secs_f64()), "MiB/s"));
    records.push(Record::new("100 MiB download", round(ct_len / MIB / download.as_secs_f64()), "MiB/s"));
    if can_reset {
        records.push(Record::new(
            "100 MiB upload: relay RSS growth",
            round(peak_upload.saturating_sub(before) as f64 / MIB),
            "MiB",
        ));
        records.push(Record::new(
            "100 MiB download: relay RSS growth",
            round(peak_download.saturating_sub(before_download) as f64 / MIB),
            "MiB",
        ));
    } else {
        println!("(this kernel cannot reset a process's peak RSS; memory figures skipped)");
    }
    records.push(Record::new("relay RSS before the 100 MiB upload", round(before as f64 / MIB), "MiB"));
    relay.kill().await;
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument other than this suite's name skips it.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !args.is_empty() && !args.iter().any(|a| "relay".contains(a.as_str())) {
        return;
    }
    let seconds = std::env::var("FXE_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let mut records = Vec::new();
    fax_cycles(&mut records, seconds).await;
    large_fax(&mut records).await;
    report::write("relay", &records).expect("results written");
}
