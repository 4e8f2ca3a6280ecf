//! The relay under load, measured from outside: a spawned `fxe-server` (the
//! release build of this commit) on SQLite in a temporary folder, and on
//! PostgreSQL too when `FXE_TEST_DATABASE_URL` names a server (`make bench`
//! runs this suite under `scripts/with-postgres.sh`), driven by clients that
//! speak the real API with signed requests and do their own cryptography.
//!
//! * **Fax cycle**: N concurrent clients (1, 4, 16, 64), each an org pair,
//!   run the whole lookup → create → upload → poll → envelope → fetch →
//!   sender keys → receipt cycle with a 1-page (~50 KB) fax for a fixed time:
//!   faxes/s, the cycle's p50/p99 and each request's p50, for each N, and
//!   the CPU time the relay process and the clients (this process) spent per
//!   fax, from /proc: the figure that stays put when the machine is shared.
//! * **Ceiling**: the same N clients asking `GET /healthz` (no database, no
//!   signature) as fast as they can, in the same run: the requests/s the HTTP
//!   stack and this machine give at all. Each cycle run is also given as its
//!   requests/s in percent of that ceiling, which stays comparable on a
//!   machine shared with other work.
//! * **100 MiB**: one fax of the largest size the relay takes, uploaded and
//!   downloaded: throughput both ways next to a plain loopback copy of the
//!   same bytes through the same HTTP stack (the relay's accept loop, in this
//!   process, on a route that only counts bytes or serves them from memory),
//!   and the growth of the relay's resident memory (peak during the transfer
//!   minus resident before it), which shows that both directions stream.
//!
//! Results: `target/bench-results/relay.json` (see `protocol/benches/report.rs`).
//! `FXE_BENCH_SECONDS` sets each cycle run's length (default 10), `FXE_BENCH_CLIENTS` the client
//! counts (`1,16`); `FXE_BENCH_SERVER_BIN`
//! spawns another `fxe-server` build instead of this commit's (before/after comparisons).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Statistics over measured samples: counts and times as f64 lose nothing that matters.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "support/cpu.rs"]
mod cpu;
#[path = "../../protocol/benches/report.rs"]
mod report;

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
    time::Instant,
};

use axum::{Router, body::Body as AxumBody, routing::get};
use common::{
    PgTestDatabase,
    balancer::largest_plaintext,
    client::{Relay, TestOrg},
    page,
    spawned::{Spawned, free_port, spawn},
};
use futures_util::StreamExt;
use fxe_protocol::{
    api::ECHO_NUMBER,
    envelope::{self, Envelope, Recipient},
    receipt::Receipt,
    request::Body,
};
use report::{Record, round};
use reqwest::StatusCode;
use serde_json::json;

/// Concurrent clients per cycle run (`FXE_BENCH_CLIENTS=1,16` picks others, e.g. to profile one).
const CLIENTS: [usize; 4] = [1, 4, 16, 64];

fn clients() -> Vec<usize> {
    let picked: Vec<usize> = std::env::var("FXE_BENCH_CLIENTS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .filter(|n| *n > 0)
        .collect();
    if picked.is_empty() { CLIENTS.to_vec() } else { picked }
}
/// A one-page fax: about what a scanned page at fine resolution weighs.
const PAGE_BYTES: usize = 50 * 1024;
/// How long each `/healthz` ceiling run lasts.
const CEILING_SECONDS: u64 = 3;

/// The requests of a cycle, in order, as the results name them.
const STEPS: [&str; 8] = ["lookup", "create", "upload", "poll", "envelope", "fetch", "sender keys", "receipt"];
const LOOKUP: usize = 0;
const CREATE: usize = 1;
const UPLOAD: usize = 2;
const POLL: usize = 3;
const ENVELOPE: usize = 4;
const FETCH: usize = 5;
const SENDER_KEYS: usize = 6;
const RECEIPT: usize = 7;

/// A relay backend under test.
struct Backend {
    name: &'static str,
    postgres: bool,
}

/// The spawned relay, and its PostgreSQL database if any (dropped after it).
struct Started {
    relay: Spawned,
    pg: Option<PgTestDatabase>,
}

impl Started {
    async fn stop(mut self) {
        self.relay.kill().await;
        if let Some(pg) = self.pg {
            pg.drop_database().await;
        }
    }
}

async fn start(data: &Path, backend: &Backend) -> Started {
    let pg = if backend.postgres { Some(PgTestDatabase::create().await.expect("FXE_TEST_DATABASE_URL")) } else { None };
    // The bench measures the relay, not its rate limits (it redeems 128 orgs from one address).
    // `FXE_BENCH_SERVER_BIN` runs another build (e.g. the previous commit's) for a before/after.
    let binary = std::env::var("FXE_BENCH_SERVER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_fxe-server").to_owned());
    let relay = spawn(
        &binary,
        data,
        free_port(),
        pg.as_ref().map(|p| p.url.as_str()),
        &["--rate-limit-per-minute", "1000000", "--anonymous-rate-limit-per-minute", "1000000"],
    )
    .await;
    Started { relay, pg }
}

/// What one client measured: each cycle's time, each request's times, and
/// how many requests it sent.
#[derive(Default)]
struct Samples {
    cycles: Vec<Duration>,
    steps: [Vec<Duration>; STEPS.len()],
    requests: u64,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.cycles.extend(other.cycles);
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.extend(theirs);
        }
        self.requests += other.requests;
    }
}

/// Times one request (or step) into `samples`.
async fn timed<T>(samples: &mut Samples, step: usize, requests: u64, f: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = f.await;
    samples.steps[step].push(started.elapsed());
    samples.requests += requests;
    out
}

/// One full cycle, as an integrator's code runs it: A looks B's number up
/// and seals, creates the message and uploads; B polls until it sees the
/// fax, fetches envelope and ciphertext, the sender's keys, opens, verifies
/// and posts the receipt. Every request is timed.
async fn cycle(relay: &Spawned, a: &TestOrg, b: &TestOrg, fax: &[u8], samples: &mut Samples) {
    let started = Instant::now();
    let to = &b.numbers[0];
    let entry = timed(samples, LOOKUP, 1, a.lookup(relay, to)).await.expect("recipient on the network");
    let (env, ct) = a.seal_for(&entry, to, fax);
    let (status, body) =
        timed(samples, CREATE, 1, a.call(relay, "POST", "/api/v1/messages", Some(&json!({ "envelope": env })))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = timed(samples, UPLOAD, 1, a.upload(relay, &env.message_id, ct)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    loop {
        let queued = timed(samples, POLL, 1, b.queued(relay)).await;
        if queued.iter().any(|m| m["message_id"] == env.message_id.as_str()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let path = format!("/api/v1/messages/{}", env.message_id);
    let (status, msg) = timed(samples, ENVELOPE, 1, b.call(relay, "GET", &path, None)).await;
    assert_eq!(status, StatusCode::OK, "{msg}");
    let got: Envelope = serde_json::from_value(msg["envelope"].clone()).unwrap();
    let ct = timed(samples, FETCH, 1, b.download(relay, &env.message_id)).await;
    let (identity, bundle) = timed(samples, SENDER_KEYS, 2, b.sender_keys(relay, &got)).await;
    let numbers = [b.numbers[0].clone(), ECHO_NUMBER.to_owned()];
    let rec = Recipient { org_id: &b.keys.org_id, numbers: &numbers, bundles: &b.keys.bundles };
    let plaintext = envelope::open(&got, &identity, &bundle, &rec, &ct).expect("message opens");
    assert_eq!(&plaintext[..], fax, "the fax arrives intact");
    let receipt = Receipt::make(&got, &b.keys.bundles, common::client::now()).unwrap();
    let path = format!("/api/v1/messages/{}/receipt", env.message_id);
    let (status, body) =
        timed(samples, RECEIPT, 1, b.call(relay, "POST", &path, Some(&serde_json::to_value(&receipt).unwrap()))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "delivered");
    samples.cycles.push(started.elapsed());
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

/// `/healthz` from `n` clients for [`CEILING_SECONDS`]: requests/s.
async fn ceiling(relay: &Arc<Started>, n: usize) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(CEILING_SECONDS);
    let started = Instant::now();
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (relay, count) = (relay.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let url = relay.relay.url("/healthz");
            while Instant::now() < deadline {
                let res = relay.relay.http().get(&url).send().await.unwrap();
                assert!(res.status().is_success());
                res.bytes().await.unwrap();
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("ceiling task");
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn fax_cycles(records: &mut Vec<Record>, backend: &Backend, seconds: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Arc::new(start(&tmp.path().join("relay"), backend).await);
    let db = backend.name;
    let clients = clients();
    let max = *clients.iter().max().unwrap();
    let mut pairs = Vec::new();
    for i in 0..max {
        let a = TestOrg::redeem(&relay.relay, &format!("Sender {i}"), &[&format!("+1555020{i:04}")]).await;
        let b = TestOrg::redeem(&relay.relay, &format!("Recipient {i}"), &[&format!("+1555030{i:04}")]).await;
        pairs.push(Arc::new((a, b)));
    }
    // Warm up: every pair once (connections, the database's caches).
    for (i, pair) in pairs.iter().enumerate() {
        cycle(&relay.relay, &pair.0, &pair.1, &page(PAGE_BYTES, i as u64), &mut Samples::default()).await;
    }
    for n in clients {
        let healthz = ceiling(&relay, n).await;
        let me = [std::process::id()];
        let relay_pid = [relay.relay.child.id()];
        let (relay_cpu0, client_cpu0) = (cpu::process_cpu(&relay_pid), cpu::process_cpu(&me));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (i, pair) in pairs.iter().take(n).enumerate() {
            let relay = relay.clone();
            let pair = pair.clone();
            tasks.push(tokio::spawn(async move {
                let mut samples = Samples::default();
                let mut seed = (i as u64) << 32;
                while Instant::now() < deadline {
                    seed += 1;
                    cycle(&relay.relay, &pair.0, &pair.1, &page(PAGE_BYTES, seed), &mut samples).await;
                }
                samples
            }));
        }
        let mut samples = Samples::default();
        for t in tasks {
            samples.merge(t.await.expect("client task"));
        }
        let wall = started.elapsed();
        samples.cycles.sort();
        let faxes = samples.cycles.len();
        // CPU per fax holds on a shared machine, where faxes/s does not.
        let relay_cpu = cpu::ms_per(cpu::process_cpu(&relay_pid) - relay_cpu0, faxes);
        let client_cpu = cpu::ms_per(cpu::process_cpu(&me) - client_cpu0, faxes);
        let rate = faxes as f64 / wall.as_secs_f64();
        let requests = samples.requests as f64 / wall.as_secs_f64();
        println!(
            "{db} {n:>3} clients: {faxes} faxes in {:.1} s, {requests:.0} requests/s, /healthz {healthz:.0}/s, \
             CPU per fax: relay {relay_cpu:.2} ms, clients {client_cpu:.2} ms",
            wall.as_secs_f64()
        );
        let name = |what: &str| format!("{db}, fax cycle, {n} clients: {what}");
        records.push(Record::new(name("rate"), round(rate), "faxes/s"));
        records.push(Record::new(name("relay CPU per fax"), round(relay_cpu), "ms"));
        records.push(Record::new(name("client CPU per fax"), round(client_cpu), "ms"));
        records.push(Record::new(name("cycle p50"), millis(percentile(&samples.cycles, 50.0)), "ms"));
        records.push(Record::new(name("cycle p99"), millis(percentile(&samples.cycles, 99.0)), "ms"));
        for (step, times) in STEPS.iter().zip(samples.steps.iter_mut()) {
            times.sort();
            records.push(Record::new(name(&format!("{step} p50")), millis(percentile(times, 50.0)), "ms"));
        }
        records.push(Record::new(name("requests"), round(requests), "requests/s"));
        records.push(Record::new(format!("{db}, /healthz, {n} clients (ceiling)"), round(healthz), "requests/s"));
        records.push(Record::new(
            name("requests in % of the /healthz ceiling"),
            round(100.0 * requests / healthz),
            "%",
        ));
    }
    drop(pairs);
    Arc::into_inner(relay).expect("no client holds the relay").stop().await;
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

const MIB: f64 = 1024.0 * 1024.0;

/// A plain loopback copy through the relay's own HTTP stack
/// (`fxe_server::http::server`, in this process): `PUT /sink` counts the
/// body's bytes, `GET /source` streams `len` bytes from memory in the chunk
/// size the relay reads files with. Returns its base URL.
async fn plain_server(len: usize) -> (String, tokio_util::sync::CancellationToken) {
    let source = bytes::Bytes::from(vec![0x5au8; len]);
    let router = Router::new()
        .route(
            "/sink",
            axum::routing::put(|body: AxumBody| async move {
                let mut stream = body.into_data_stream();
                let mut n = 0usize;
                while let Some(chunk) = stream.next().await {
                    n += chunk.unwrap().len();
                }
                n.to_string()
            }),
        )
        .route(
            "/source",
            get(move || {
                let source = source.clone();
                async move {
                    let chunks = (0..source.len())
                        .step_by(64 * 1024)
                        .map(move |at| Ok::<_, std::io::Error>(source.slice(at..(at + 64 * 1024).min(source.len()))));
                    AxumBody::from_stream(futures_util::stream::iter(chunks))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let limits = fxe_server::config::ConnectionLimits::default();
    tokio::spawn(fxe_server::http::server::serve(listener, router, limits, shutdown.clone()));
    (base, shutdown)
}

/// (upload, download) MiB/s of `len` bytes through [`plain_server`].
async fn plain_copy(http: &reqwest::Client, len: usize) -> (f64, f64) {
    let (base, shutdown) = plain_server(len).await;
    let body = vec![0xa5u8; len];
    let started = Instant::now();
    let res = http.put(format!("{base}/sink")).body(body).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), len.to_string());
    let up = started.elapsed();
    let started = Instant::now();
    let mut res = http.get(format!("{base}/source")).send().await.unwrap();
    let mut received = 0usize;
    while let Some(chunk) = res.chunk().await.unwrap() {
        received += chunk.len();
    }
    let down = started.elapsed();
    assert_eq!(received, len);
    shutdown.cancel();
    (len as f64 / MIB / up.as_secs_f64(), len as f64 / MIB / down.as_secs_f64())
}

async fn large_fax(records: &mut Vec<Record>, backend: &Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let started_relay = start(&tmp.path().join("relay"), backend).await;
    let relay = &started_relay.relay;
    let db = backend.name;
    let pid = relay.child.id();
    let a = TestOrg::redeem(relay, "Big sender", &["+15550400001"]).await;
    let b = TestOrg::redeem(relay, "Big recipient", &["+15550400002"]).await;
    // Warm the relay up with a small fax, so the baseline is a relay in use.
    cycle(relay, &a, &b, &page(PAGE_BYTES, 1), &mut Samples::default()).await;

    let fax = page(largest_plaintext() as usize, 2);
    let (env, ct) = a.seal_to(relay, &b.numbers[0], &fax).await;
    drop(fax);
    let (status, body) = a.call(relay, "POST", "/api/v1/messages", Some(&json!({ "envelope": env }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ct_len = ct.len() as f64;
    let (plain_up, plain_down) = plain_copy(relay.http(), ct.len()).await;

    let can_reset = reset_peak(pid);
    let (before, _) = memory(pid);
    let started = Instant::now();
    let (status, body) = a.upload(relay, &env.message_id, ct).await;
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

    let up = ct_len / MIB / upload.as_secs_f64();
    let down = ct_len / MIB / download.as_secs_f64();
    records.push(
        Record::new(format!("{db}, 100 MiB upload"), round(up), "MiB/s")
            .with_peer("plain loopback copy", round(plain_up)),
    );
    records.push(
        Record::new(format!("{db}, 100 MiB download"), round(down), "MiB/s")
            .with_peer("plain loopback copy", round(plain_down)),
    );
    records.push(Record::new(
        format!("{db}, 100 MiB upload in % of a plain loopback copy"),
        round(100.0 * up / plain_up),
        "%",
    ));
    records.push(Record::new(
        format!("{db}, 100 MiB download in % of a plain loopback copy"),
        round(100.0 * down / plain_down),
        "%",
    ));
    if can_reset {
        records.push(Record::new(
            format!("{db}, 100 MiB upload: relay RSS growth"),
            round(peak_upload.saturating_sub(before) as f64 / MIB),
            "MiB",
        ));
        records.push(Record::new(
            format!("{db}, 100 MiB download: relay RSS growth"),
            round(peak_download.saturating_sub(before_download) as f64 / MIB),
            "MiB",
        ));
    } else {
        println!("(this kernel cannot reset a process's peak RSS; memory figures skipped)");
    }
    records.push(Record::new(format!("{db}, relay RSS before the 100 MiB upload"), round(before as f64 / MIB), "MiB"));
    started_relay.stop().await;
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument other than this suite's name skips it.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !args.is_empty() && !args.iter().any(|a| "relay".contains(a.as_str())) {
        return;
    }
    let seconds = std::env::var("FXE_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let mut backends = vec![Backend { name: "sqlite", postgres: false }];
    if std::env::var(common::TEST_DATABASE_URL_VAR).is_ok_and(|u| !u.is_empty()) {
        backends.push(Backend { name: "postgres", postgres: true });
    } else {
        println!("(FXE_TEST_DATABASE_URL is not set: SQLite only; `make bench` runs PostgreSQL too)");
    }
    let mut records = Vec::new();
    for backend in &backends {
        fax_cycles(&mut records, backend, seconds).await;
        large_fax(&mut records, backend).await;
    }
    report::write("relay", &records).expect("results written");
}
