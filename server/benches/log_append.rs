//! The relay's transparency log append rate (issue 21, docs/transparency.md §5):
//! a relay in this process (SQLite, and PostgreSQL when `FXE_TEST_DATABASE_URL`
//! names a server), given the directory rows of N orgs (each an identity, two
//! bundles, three numbers: 6 entries) written straight into its tables, and the
//! time until its *published* checkpoint covers them. That is the sequencer's
//! whole path as a change waits for it: reading the directory tables, turning
//! what is new into facts, sequencing them under the log's rules (every
//! bundle's signatures checked), signing the checkpoint, storing entries and
//! checkpoint in one transaction, and the instance's refresh of its view.
//!
//! * **Backfill**: all N orgs at once (a relay that ran before it had a log, or
//!   a burst of redemptions): entries/s, next to `LogState::apply` of the same
//!   entries in this process (the rules and the tree alone, no database).
//! * **One change**: one new org (6 entries) on top of the N, from its rows'
//!   commit to a published checkpoint covering it, several times: ms, next to
//!   the sequencer's batch time (its ceiling: a change waits at most that long
//!   unless a directory answer nudges the sequencer).
//! * **Idle**: the relay's CPU while nothing changes (the sequencer compares
//!   the directory tables with the log at every batch), in % of one core.
//!
//! Results: `target/bench-results/log-append.json` (see
//! `protocol/benches/report.rs`). `FXE_BENCH_ORGS` changes N (default 2,000).
// Test code: a failed unwrap is a failed benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Counts and times as f64 lose nothing that matters here.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../../protocol/benches/report.rs"]
mod report;

use std::time::{Duration, Instant};

use common::{PgTestDatabase, TestServer, test_config};
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::encoding::b64u_encode;
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::transparency::{Fact, LogState};
use fxe_server::db::orgs::{self, NewOrg};
use report::{Record, round};

/// Entries a bench org makes: identity, two bundles, three numbers.
const ENTRIES_PER_ORG: u64 = 6;

/// One org's directory rows, made once and written to each backend.
struct BenchOrg {
    org_id: String,
    identity_pub: String,
    bundles: Vec<fxe_protocol::bundle::Bundle>,
    numbers: Vec<String>,
}

fn make_orgs(first: usize, n: usize, time: u64) -> Vec<BenchOrg> {
    (first..first + n)
        .map(|o| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(o as u64).to_be_bytes());
            seed[31] = 7;
            let id = IdentityKey::from_seed(&seed);
            let bundles = (0..2).map(|i| BundleKeys::generate(&id, time + i).unwrap().bundle).collect();
            let numbers = (0..3).map(|i| format!("+1555{:07}", o * 3 + i)).collect();
            BenchOrg { org_id: id.org_id(), identity_pub: b64u_encode(&id.public()), bundles, numbers }
        })
        .collect()
}

/// Writes `orgs` into the relay's directory tables in one transaction, as redemptions would.
async fn write(server: &TestServer, orgs: &[BenchOrg]) {
    let now = server.state.clock.now_secs();
    let mut tx = server.state.db.begin_write().await.unwrap();
    for o in orgs {
        let org = NewOrg {
            org_id: &o.org_id,
            org_name: "Bench clinic",
            identity_pub: &o.identity_pub,
            created_at: now,
            is_echo: false,
        };
        assert!(orgs::insert(&mut tx, org).await.unwrap());
        for b in &o.bundles {
            assert!(orgs::publish_bundle(&mut tx, &o.org_id, b, now).await.unwrap());
        }
        for n in &o.numbers {
            assert!(orgs::insert_number(&mut tx, n, &o.org_id, true, now).await.unwrap());
        }
    }
    tx.commit().await.unwrap();
}

/// Waits until the relay's published checkpoint covers `size` entries.
async fn published(server: &TestServer, size: u64) -> Duration {
    let t = Instant::now();
    while server.state.log.view().published_size() < size {
        assert!(t.elapsed() < Duration::from_secs(600), "the log did not reach {size} entries in 10 minutes");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    t.elapsed()
}

/// The same entries applied by `LogState` alone (the rules and the tree), in this process.
fn apply_alone(orgs: &[BenchOrg], now: u64) -> Duration {
    let mut facts = Vec::new();
    for o in orgs {
        let identity_pub = fxe_protocol::encoding::b64u_fixed::<32>("identity_pub", &o.identity_pub).unwrap();
        facts.push(Fact::Identity { org_id: o.org_id.clone(), identity_pub });
        facts.extend(o.bundles.iter().cloned().map(Fact::Bundle));
        facts.extend(o.numbers.iter().map(|n| Fact::Bound { number: n.clone(), org_id: o.org_id.clone() }));
    }
    let t = Instant::now();
    let mut state = LogState::new();
    let out = state.sequence(&facts, now);
    assert!(out.refused.is_empty(), "the bench's facts are valid");
    t.elapsed()
}

async fn run(records: &mut Vec<Record>, db: &str, pg: Option<PgTestDatabase>, orgs: &[BenchOrg], joiners: &[BenchOrg]) {
    let tmp = tempfile::tempdir().unwrap();
    let config = test_config(&tmp.path().join("relay"), pg.as_ref().map(|p| p.url.clone()));
    let server = TestServer::start_with(config, tmp, pg).await;
    // The echo org (and anything else the relay logs at start) first.
    let base = {
        let t = Instant::now();
        loop {
            let v = server.state.log.view();
            if v.published_size() > 0 && v.published_size() == v.size() {
                break v.size();
            }
            assert!(t.elapsed() < Duration::from_secs(60), "the relay published no checkpoint");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let n = orgs.len();
    let entries = n as u64 * ENTRIES_PER_ORG;
    let t = Instant::now();
    write(&server, orgs).await;
    let written = t.elapsed();
    let logged = written + published(&server, base + entries).await;
    let alone = apply_alone(orgs, server.state.clock.unix_secs());
    println!(
        "{db}: {entries} entries written in {:.2} s, published {:.2} s after the first write; LogState alone {:.2} s",
        written.as_secs_f64(),
        logged.as_secs_f64(),
        alone.as_secs_f64()
    );
    records.push(
        Record::new(
            format!("{db}, log backfill, {n} orgs: append rate"),
            round(entries as f64 / logged.as_secs_f64()),
            "entries/s",
        )
        .with_peer("LogState::sequence of the same entries, no database", round(entries as f64 / alone.as_secs_f64())),
    );
    records.push(Record::new(
        format!("{db}, log backfill, {n} orgs: rows written"),
        round(written.as_secs_f64() * 1e3),
        "ms",
    ));

    // One org at a time on top: from its rows' commit to a published checkpoint covering it.
    let mut size = base + entries;
    let mut waits = Vec::new();
    for o in joiners {
        write(&server, std::slice::from_ref(o)).await;
        size += ENTRIES_PER_ORG;
        waits.push(published(&server, size).await);
    }
    waits.sort();
    let p50 = waits[waits.len() / 2];
    let max = waits[waits.len() - 1];
    println!(
        "{db}: one new org logged after p50 {:.0} ms, max {:.0} ms",
        p50.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    let batch = fxe_server::transparency::sequencer::BATCH.as_secs_f64() * 1e3;
    records.push(
        Record::new(format!("{db}, one new org on {n}: logged after (p50)"), round(p50.as_secs_f64() * 1e3), "ms")
            .with_peer("the sequencer's batch time", batch),
    );
    records.push(
        Record::new(format!("{db}, one new org on {n}: logged after (max)"), round(max.as_secs_f64() * 1e3), "ms")
            .with_peer("the sequencer's batch time", batch),
    );
    // Idle: nothing changes, the sequencer still compares the directory with the log at
    // every batch; this process's CPU time while it does (the bench itself only sleeps).
    // From 3 s after the last change (its batch, and the read after it, are done).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = Duration::from_secs(5);
    let before = cpu_time();
    tokio::time::sleep(idle).await;
    let busy = cpu_time().saturating_sub(before);
    let percent = 100.0 * busy.as_secs_f64() / idle.as_secs_f64();
    println!("{db}: idle with {n} orgs: {percent:.1} % of one core");
    records.push(
        Record::new(format!("{db}, idle relay with {n} orgs logged: CPU"), round(percent), "% of one core")
            .with_peer("one core", 100.0),
    );
    server.stop().await;
}

/// This process's CPU time so far (user + system), from /proc (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument other than this suite's name skips it.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !args.is_empty() && !args.iter().any(|a| "log_append".contains(a.as_str())) {
        return;
    }
    let n: usize = std::env::var("FXE_BENCH_ORGS").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let t = Instant::now();
    let now = u64::try_from(fxe_server::clock::Clock::system().now_secs()).unwrap_or(0);
    let orgs = make_orgs(0, n, now - 100);
    let joiners = make_orgs(n, 9, now - 50);
    println!("made {n} orgs' keys in {:.1} s", t.elapsed().as_secs_f64());
    let mut records = Vec::new();
    run(&mut records, "sqlite", None, &orgs, &joiners).await;
    match PgTestDatabase::create().await {
        Some(pg) => run(&mut records, "postgres", Some(pg), &orgs, &joiners).await,
        None => println!("(FXE_TEST_DATABASE_URL is not set: SQLite only; `make bench` runs PostgreSQL too)"),
    }
    report::write("log-append", &records).expect("results written");
}
