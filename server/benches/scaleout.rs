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
#[path = "support/cpu.rs"]
mod cpu;
#[path = "../../protocol/benches/report.rs"]
mod report;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{
    balancer::{self, Balancer, which},
    client::TestOrg,
    page,
    spawned::{Spawned, free_port, spawn},
};
use report::{Record, round};

const PAGE_BYTES: usize = 50 * 1024;

/// Send, poll until it is queued, fetch, open, receipt.
async fn cycle(relay: &Balancer, a: &TestOrg, b: &TestOrg, fax: &[u8]) {
    let id = a.send(relay, &b.numbers[0], fax).await;
    while !b.queued(relay).await.iter().any(|m| m["message_id"] == id.as_str()) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, plaintext) = b.receive(relay, &id).await;
    assert_eq!(plaintext, fax, "the fax arrives intact");
}

/// The processes of the database, the S3 server and the balancer (by
/// command name, read from /proc): where the CPU goes besides relays and clients.
fn storage_pids() -> Vec<u32> {
    let names = ["postgres", "radosgw", "ceph-osd", "ceph-mon", "haproxy"];
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
                .filter(|pid| {
                    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                    names.contains(&comm.trim())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One run's figures.
struct Run {
    faxes_per_s: f64,
    /// Share of the whole machine's CPU time that was busy, 0..1.
    machine_busy: f64,
    /// CPU time of the relay processes per fax, in ms (clock ticks at 100 Hz).
    relay_cpu_ms_per_fax: f64,
    /// CPU time of the clients (this process: signing, sealing, opening) per fax, in ms.
    client_cpu_ms_per_fax: f64,
    /// CPU time of PostgreSQL, Ceph (RGW, OSD, monitor) and HAProxy per fax, in ms.
    storage_cpu_ms_per_fax: f64,
    /// CPU time of the whole machine per fax, in ms.
    machine_cpu_ms_per_fax: f64,
}

/// Faxes a second through `lb` with every pair cycling for `seconds`, and
/// where the CPU went meanwhile (`relays`: the relay processes' ids).
async fn run(lb: &Arc<Balancer>, pairs: &[Arc<(TestOrg, TestOrg)>], seconds: u64, relays: &[u32]) -> Run {
    use cpu::{machine_cpu, process_cpu};
    let (busy0, all0) = machine_cpu();
    let relay0 = process_cpu(relays);
    let me = [std::process::id()];
    let client0 = process_cpu(&me);
    // PostgreSQL forks a backend for each connection a relay opens, some of
    // them during the run: each process is counted from its first sight.
    let storage0: HashMap<u32, u64> = storage_pids().into_iter().map(|p| (p, process_cpu(&[p]))).collect();
    let faxes = cycles(lb, pairs, seconds).await;
    let (busy1, all1) = machine_cpu();
    let per_fax = |ticks: u64| cpu::ms_per(ticks, usize::try_from(faxes.0).unwrap_or(usize::MAX));
    Run {
        faxes_per_s: faxes.0 as f64 / faxes.1,
        machine_busy: (busy1 - busy0) as f64 / (all1 - all0).max(1) as f64,
        relay_cpu_ms_per_fax: per_fax(process_cpu(relays) - relay0),
        client_cpu_ms_per_fax: per_fax(process_cpu(&me) - client0),
        storage_cpu_ms_per_fax: per_fax(
            storage_pids()
                .into_iter()
                .map(|p| process_cpu(&[p]).saturating_sub(storage0.get(&p).copied().unwrap_or(0)))
                .sum(),
        ),
        machine_cpu_ms_per_fax: per_fax(busy1 - busy0),
    }
}

/// (faxes, seconds) through `lb` with every pair cycling for `seconds`.
async fn cycles(lb: &Arc<Balancer>, pairs: &[Arc<(TestOrg, TestOrg)>], seconds: u64) -> (u64, f64) {
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
    (faxes, started.elapsed().as_secs_f64())
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
    // One transparency log for the database: the first relay creates its key, the second is given it.
    let log_key = tmp.path().join("relay0").join("log.key");
    for (i, port) in ports.iter().enumerate() {
        let shared_log_key: &[&str] = if i == 0 { &[] } else { &["--log-key-file", log_key.to_str().unwrap()] };
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
        let args = [shared_log_key, &extra[..]].concat();
        relays.push(spawn(env!("CARGO_BIN_EXE_fxe-server"), &dir, *port, Some(&pg.url), &args).await);
    }
    let one = Arc::new(balancer::start(&haproxy, tmp.path(), "one", free_port(), &ports[..1], &pg.url).await);
    let two = Arc::new(balancer::start(&haproxy, tmp.path(), "two", free_port(), &ports, &pg.url).await);

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
    let pids: Vec<u32> = relays.iter().map(|r| r.child.id()).collect();
    let one_run = run(&one, &pairs, seconds, &pids).await;
    let two_run = run(&two, &pairs, seconds, &pids).await;
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mut records = Vec::new();
    for (n, r) in [(1, &one_run), (2, &two_run)] {
        let what = format!("{n} instance{}, {clients} clients", if n == 1 { "" } else { "s" });
        println!(
            "{what}: {:.1} faxes/s, machine {:.0} % busy; CPU per fax: {:.1} ms machine, {:.1} ms relays, \
             {:.1} ms clients, {:.1} ms PostgreSQL + Ceph + HAProxy",
            r.faxes_per_s,
            r.machine_busy * 100.0,
            r.machine_cpu_ms_per_fax,
            r.relay_cpu_ms_per_fax,
            r.client_cpu_ms_per_fax,
            r.storage_cpu_ms_per_fax
        );
        records.push(Record::new(format!("fax cycle, {what}"), round(r.faxes_per_s), "faxes/s"));
        records.push(Record::new(format!("machine CPU busy, {what}"), round(r.machine_busy * 100.0), "%"));
        records.push(Record::new(format!("machine CPU per fax, {what}"), round(r.machine_cpu_ms_per_fax), "ms"));
        records.push(Record::new(format!("relay CPU per fax, {what}"), round(r.relay_cpu_ms_per_fax), "ms"));
        records.push(Record::new(format!("client CPU per fax, {what}"), round(r.client_cpu_ms_per_fax), "ms"));
        records.push(Record::new(
            format!("PostgreSQL + Ceph + HAProxy CPU per fax, {what}"),
            round(r.storage_cpu_ms_per_fax),
            "ms",
        ));
    }
    records.push(
        Record::new(
            format!("scaling 1 -> 2 instances ({cpus} CPUs)"),
            round(two_run.faxes_per_s / one_run.faxes_per_s),
            "x",
        )
        .with_peer("linear", 2.0),
    );
    report::write("scaleout", &records).expect("results written");
    drop(pairs);
    drop((one, two));
    for mut r in relays {
        r.kill().await;
    }
    pg.drop_database().await;
}
