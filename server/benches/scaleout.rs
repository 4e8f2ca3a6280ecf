//! One relay instance against two, in one run: `fxe-server` processes (the
//! build of this commit) on one PostgreSQL database with the blobs in one S3
//! bucket, behind HAProxy (the configuration of docs/deploy.md), and clients
//! that run the whole fax cycle (send → poll → fetch → receipt, a ~50 KB
//! page) through the balancer for a fixed time. The same clients and the same
//! balancer serve both runs; only the number of relays behind it changes.
//!
//! Needs `FXE_TEST_DATABASE_URL` and `FXE_TEST_BLOB_STORE` (run it under
//! `scripts/with-postgres.sh scripts/with-rgw.sh`, as `make bench` does) and
//! `haproxy`; without them it says so and does nothing.
//!
//! Results: `target/bench-results/scaleout.json`: faxes/s on 1 and 2
//! instances and their ratio. `FXE_BENCH_SECONDS` sets each run's length
//! (default 10), `FXE_BENCH_CLIENTS` the concurrent clients (default 16).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Statistics over measured samples: counts and times as f64 lose nothing that matters.
#![allow(clippy::cast_precision_loss)]

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../../protocol/benches/report.rs"]
mod report;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::{
    balancer::{Balancer, which},
    client::TestOrg,
    spawned::{Spawned, free_port, spawn},
};
use report::{Record, round};

const PAGE_BYTES: usize = 50 * 1024;

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

/// Send, poll until it is queued, fetch, open, receipt.
async fn cycle(relay: &Balancer, a: &TestOrg, b: &TestOrg, fax: &[u8]) {
    let id = a.send(relay, &b.numbers[0], fax).await;
    while !b.queued(relay).await.iter().any(|m| m["message_id"] == id.as_str()) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, plaintext) = b.receive(relay, &id).await;
    assert_eq!(plaintext, fax, "the fax arrives intact");
}

/// Faxes a second through `lb` with every pair cycling for `seconds`.
async fn run(lb: &Arc<Balancer>, pairs: &[Arc<(TestOrg, TestOrg)>], seconds: u64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, pair) in pairs.iter().enumerate() {
        let (lb, pair) = (lb.clone(), pair.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            let mut seed = (i as u64) << 32;
            while Instant::now() < deadline {
                seed += 1;
                cycle(&lb, &pair.0, &pair.1, &page(PAGE_BYTES, seed)).await;
                n += 1;
            }
            n
        }));
    }
    let mut faxes = 0;
    for t in tasks {
        faxes += t.await.expect("client task");
    }
    faxes as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !args.is_empty() && !args.iter().any(|a| "scaleout".contains(a.as_str())) {
        return;
    }
    let (Ok(blob_base), Some(haproxy)) = (std::env::var(common::TEST_BLOB_STORE_VAR), which("haproxy")) else {
        println!("scaleout bench skipped: needs FXE_TEST_BLOB_STORE, FXE_TEST_DATABASE_URL and haproxy (make bench)");
        return;
    };
    let Some(pg) = common::PgTestDatabase::create().await else {
        println!("scaleout bench skipped: needs FXE_TEST_DATABASE_URL (make bench)");
        return;
    };
    let seconds = std::env::var("FXE_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let clients = std::env::var("FXE_BENCH_CLIENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(16usize);

    let tmp = tempfile::tempdir().unwrap();
    let key_file = tmp.path().join("webhook-secret.key");
    std::fs::write(&key_file, format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())).unwrap();
    let blob_store = format!("{}/{}", blob_base.trim_end_matches('/'), uuid::Uuid::new_v4().simple());
    let ports = [free_port(), free_port()];
    let mut relays: Vec<Spawned> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let extra = [
            "--blob-store",
            &blob_store,
            "--secret-key-file",
            key_file.to_str().unwrap(),
            "--trusted-proxy",
            "127.0.0.1/32",
            "--rate-limit-per-minute",
            "1000000",
        ];
        let dir = tmp.path().join(format!("relay{i}"));
        relays.push(spawn(env!("CARGO_BIN_EXE_fxe-server"), &dir, *port, Some(&pg.url), &extra).await);
    }
    let one = Arc::new(Balancer::start(&haproxy, tmp.path(), "one", free_port(), &ports[..1], &pg.url).await);
    let two = Arc::new(Balancer::start(&haproxy, tmp.path(), "two", free_port(), &ports, &pg.url).await);

    let mut pairs = Vec::new();
    for i in 0..clients {
        let a = TestOrg::redeem(&*two, &format!("Sender {i}"), &[&format!("+1555060{i:04}")]).await;
        let b = TestOrg::redeem(&*two, &format!("Recipient {i}"), &[&format!("+1555070{i:04}")]).await;
        pairs.push(Arc::new((a, b)));
    }
    // Warm up both relays (connections, caches).
    for (i, pair) in pairs.iter().enumerate() {
        cycle(&two, &pair.0, &pair.1, &page(PAGE_BYTES, i as u64)).await;
    }
    let rate_one = run(&one, &pairs, seconds).await;
    println!("1 instance: {rate_one:.1} faxes/s ({clients} clients)");
    let rate_two = run(&two, &pairs, seconds).await;
    println!("2 instances: {rate_two:.1} faxes/s ({clients} clients)");
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let records = vec![
        Record::new(format!("fax cycle, 1 instance, {clients} clients"), round(rate_one), "faxes/s"),
        Record::new(format!("fax cycle, 2 instances, {clients} clients"), round(rate_two), "faxes/s")
            .with_peer("1 instance", round(rate_one)),
        Record::new(format!("scaling 1 -> 2 instances ({cpus} CPUs)"), round(rate_two / rate_one), "x"),
    ];
    report::write("scaleout", &records).expect("results written");
    drop(pairs);
    drop((one, two));
    for mut r in relays {
        r.kill().await;
    }
    pg.drop_database().await;
}
