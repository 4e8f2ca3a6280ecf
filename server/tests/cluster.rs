//! Two `fxe-server` processes behind HAProxy on loopback, sharing one
//! PostgreSQL database and one S3 bucket (a real Ceph RADOS Gateway): the
//! N-instance shape of docs/deploy.md, with the balancer configuration that
//! page shows.
//!
//! Runs when `FXE_TEST_CLUSTER=1` (`make test-s3` sets it inside
//! `scripts/with-postgres.sh scripts/with-rgw.sh`, which provide
//! `FXE_TEST_DATABASE_URL`, `FXE_TEST_BLOB_STORE` and the S3 settings) and
//! needs `haproxy` on PATH (`scripts/install-tools.sh --haproxy`); otherwise
//! it says so and passes.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use common::{
    balancer::{self, Balancer, largest_plaintext, which},
    client::{Relay, TestOrg},
    receiver::{Receiver, Reply},
    spawned::{self, Spawned, free_port},
};
use futures_util::StreamExt;
use fxe_protocol::{api::ECHO_NUMBER, request::Body};
use fxe_server::db::Db;
use reqwest::StatusCode;
use serde_json::json;

/// One relay instance's settings: its own data directory and port, the
/// shared database, bucket prefix and webhook key.
struct Instance {
    data_dir: PathBuf,
    port: u16,
}

struct Shared {
    db_url: String,
    blob_store: String,
    key_file: PathBuf,
    /// The transparency log's key: the first instance creates it in its data directory,
    /// the others are given it (one log per database).
    log_key: PathBuf,
    public_url: String,
}

async fn start(instance: &Instance, shared: &Shared) -> Spawned {
    let key_file = shared.key_file.to_str().unwrap();
    let log_key = shared.log_key.to_str().unwrap();
    let log_key_args: &[&str] =
        if shared.log_key.parent() == Some(instance.data_dir.as_path()) { &[] } else { &["--log-key-file", log_key] };
    spawned::spawn(
        env!("CARGO_BIN_EXE_fxe-server"),
        &instance.data_dir,
        instance.port,
        Some(&shared.db_url),
        &[
            log_key_args,
            &[
                "--blob-store",
                &shared.blob_store,
                "--secret-key-file",
                key_file,
                "--public-url",
                &shared.public_url,
                "--trusted-proxy",
                "127.0.0.1/32",
                "--allow-private-webhooks",
                "--retry-schedule",
                "1s,1s,1s,1s,1s",
                "--rate-limit-per-minute",
                "100000",
            ],
        ]
        .concat(),
    )
    .await
}

/// API answers this instance gave, from its `/metrics`.
async fn api_served(relay: &Spawned) -> u64 {
    let text = relay.http.get(format!("{}/metrics", relay.base)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("fxe_http_requests_total{route=\"/api/v1/"))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, n)| n.parse::<u64>().ok()))
        .sum()
}

/// Polls `check` every 100 ms until it answers `Some`, for at most `timeout`.
async fn poll<T, F: std::future::Future<Output = Option<T>>>(
    what: &str, timeout: Duration, mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The message ids in `org`'s inbox sent from `from` (any status but failed).
async fn inbox_from(org: &TestOrg, relay: &impl Relay, from: &str) -> Vec<String> {
    let (status, page) = org.call(relay, "GET", "/api/v1/messages?box=inbox&limit=100", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["from_number"] == from)
        .map(|m| m["message_id"].as_str().unwrap().to_owned())
        .collect()
}

/// How many instances hold relay-wide job `role_key`'s lock (crate::cluster).
async fn role_holders(db: &Db, role_key: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 \
         AND classid::BIGINT = $1 AND objid::BIGINT = $2 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(0x6678_6530_i64)
    .bind(role_key)
    .fetch_one(db.pool())
    .await
    .unwrap()
}

/// Sends to the echo number and waits for exactly one answer to it.
async fn echo_round_trip(org: &TestOrg, lb: &Balancer, fax: &[u8]) {
    let before = inbox_from(org, lb, ECHO_NUMBER).await.len();
    let _ = org.send(lb, ECHO_NUMBER, fax).await;
    let ids = poll("the echo answers", Duration::from_secs(90), || async {
        let ids = inbox_from(org, lb, ECHO_NUMBER).await;
        (ids.len() > before).then_some(ids)
    })
    .await;
    assert_eq!(ids.len(), before + 1, "one echo per fax");
    let (_, plaintext) = org.receive(lb, &ids[0]).await;
    assert_eq!(plaintext, fax);
}

/// Starts streaming `ct` to `relay` (the first half, then nothing) and waits
/// until the relay holds the upload lease.
async fn stall_upload(org: &TestOrg, relay: &Spawned, message_id: &str, ct: &[u8]) -> tokio::task::JoinHandle<()> {
    let path = format!("/api/v1/messages/{message_id}/content");
    let headers = org.sign("PUT", &path, Body::Unsigned);
    let half = bytes::Bytes::from(ct[..ct.len() / 2].to_vec());
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(half)]).chain(futures_util::stream::pending());
    let mut req = relay.http.put(relay.url(&path)).header("content-length", ct.len().to_string());
    for (k, v) in headers.pairs() {
        req = req.header(k, v);
    }
    let upload = tokio::spawn(async move {
        let _ = req.body(reqwest::Body::wrap_stream(stream)).send().await;
    });
    let db = relay.db.clone();
    poll("the upload holds its lease", Duration::from_secs(60), || async {
        let owner: Option<String> = sqlx::query_scalar("SELECT upload_lease_owner FROM messages WHERE message_id = $1")
            .bind(message_id)
            .fetch_one(db.pool())
            .await
            .unwrap();
        owner.map(|_| ())
    })
    .await;
    upload
}

fn write_key_file(dir: &Path) -> PathBuf {
    let path = dir.join("webhook-secret.key");
    // 64 hex characters: two random UUIDs' worth.
    let key = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    std::fs::write(&path, key).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_behind_haproxy_share_everything() {
    if std::env::var("FXE_TEST_CLUSTER").ok().as_deref() != Some("1") {
        eprintln!("cluster test skipped: set FXE_TEST_CLUSTER=1 (make test-s3 does)");
        return;
    }
    let started = Instant::now();
    let blob_base = std::env::var(common::TEST_BLOB_STORE_VAR)
        .expect("FXE_TEST_CLUSTER needs FXE_TEST_BLOB_STORE (run under scripts/with-rgw.sh)");
    let pg = common::PgTestDatabase::create()
        .await
        .expect("FXE_TEST_CLUSTER needs FXE_TEST_DATABASE_URL (run under scripts/with-postgres.sh)");
    let haproxy = which("haproxy").expect("FXE_TEST_CLUSTER needs haproxy (bash scripts/install-tools.sh --haproxy)");

    let tmp = tempfile::tempdir().unwrap();
    let lb_port = free_port();
    let shared = Shared {
        db_url: pg.url.clone(),
        blob_store: format!("{}/{}", blob_base.trim_end_matches('/'), uuid::Uuid::new_v4().simple()),
        key_file: write_key_file(tmp.path()),
        log_key: tmp.path().join("a").join("log.key"),
        public_url: format!("http://localhost:{lb_port}"),
    };
    let insts = [
        Instance { data_dir: tmp.path().join("a"), port: free_port() },
        Instance { data_dir: tmp.path().join("b"), port: free_port() },
    ];
    let mut a = start(&insts[0], &shared).await;
    let mut b = start(&insts[1], &shared).await;

    let lb = balancer::start(&haproxy, tmp.path(), "haproxy", lb_port, &[insts[0].port, insts[1].port], &pg.url).await;
    eprintln!("[cluster] up in {:.1?}", started.elapsed());

    // 1. Two orgs send and receive through the balancer; both relays serve.
    let phase = Instant::now();
    let x = TestOrg::redeem(&lb, "X", &["+15550107001"]).await;
    let y = TestOrg::redeem(&lb, "Y", &["+15550107002"]).await;
    for i in 0..8u8 {
        let fax = vec![i; 2000 + usize::from(i) * 1000];
        let (from, to, to_number) = if i % 2 == 0 { (&x, &y, "+15550107002") } else { (&y, &x, "+15550107001") };
        let id = from.send(&lb, to_number, &fax).await;
        let (_, plaintext) = to.receive(&lb, &id).await;
        assert_eq!(plaintext, fax);
    }
    let (on_a, on_b) = (api_served(&a).await, api_served(&b).await);
    assert!(on_a > 0 && on_b > 0, "both relays answered API requests through the balancer: {on_a} and {on_b}");
    eprintln!(
        "[cluster] 8 faxes through the balancer ({on_a} API answers from one relay, {on_b} from the other) in {:.1?}",
        phase.elapsed()
    );

    // 2. 100 MiB uploaded to one relay, downloaded from the other.
    let phase = Instant::now();
    let big: Vec<u8> = (0..largest_plaintext()).map(|i| u8::try_from(i % 253).unwrap()).collect();
    let (env, ct) = x.seal_to(&lb, "+15550107002", &big).await;
    let (status, body) = x.call(&lb, "POST", "/api/v1/messages", Some(&json!({ "envelope": env }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = x.upload(&a, &env.message_id, ct).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, plaintext) = y.receive(&b, &env.message_id).await;
    assert!(plaintext == big, "the 100 MiB fax comes back whole from the other relay");
    drop((big, plaintext));
    eprintln!("[cluster] 100 MiB up through one relay, down through the other in {:.1?}", phase.elapsed());

    // 3. The sweeper and the echo org run on one relay at a time; one echo per fax.
    let phase = Instant::now();
    echo_round_trip(&x, &lb, b"echo through the balancer").await;
    assert_eq!(role_holders(&lb.db, 1).await, 1, "one relay runs the sweeper");
    assert_eq!(role_holders(&lb.db, 2).await, 1, "one relay runs the echo org");
    eprintln!("[cluster] echo once, one sweeper in {:.1?}", phase.elapsed());

    // 4. A relay killed mid-upload: the sender retries through the balancer at once.
    let phase = Instant::now();
    let mut receiver = Receiver::start().await;
    let (status, hook) = y
        .call(&lb, "POST", "/api/v1/webhooks", Some(&json!({ "url": receiver.url(), "events": ["message.received"] })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    // The first attempt hangs (longer than the relay waits), so a relay is killed in the middle of it.
    receiver.script([Reply::Slow(Duration::from_secs(20))]);
    let fax: Vec<u8> = (0..6_000_000u32).map(|i| u8::try_from(i % 241).unwrap()).collect();
    let (env, ct) = x.seal_to(&lb, "+15550107002", &fax).await;
    let (status, body) = x.call(&lb, "POST", "/api/v1/messages", Some(&json!({ "envelope": env }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stalled = stall_upload(&x, &b, &env.message_id, &ct).await;
    b.kill().await;
    let _ = stalled.await;
    let retried = Instant::now();
    let answer = poll("the retried upload succeeds on the other relay", Duration::from_secs(180), || {
        let ct = ct.clone();
        let (x, lb, id) = (&x, &lb, env.message_id.clone());
        async move {
            let (status, body) = x.upload(lb, &id, ct).await;
            match status {
                StatusCode::OK => Some(body),
                // The lease of the dead relay, or the balancer not yet past it.
                StatusCode::CONFLICT | StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE => None,
                other => panic!("retried upload: {other} {body}"),
            }
        }
    })
    .await;
    assert_eq!(answer["status"], "queued");
    eprintln!(
        "[cluster] killed mid-upload; the retry went through {:.1?} after the kill ({:.1?} in all)",
        retried.elapsed(),
        phase.elapsed()
    );

    // 5. The other relay killed mid-webhook-attempt: the attempt runs again, once, elsewhere.
    let phase = Instant::now();
    let first = receiver.wait_for(1, Duration::from_secs(60)).await;
    let event_id = first[0].event_id().to_owned();
    a.kill().await;
    let mut b = start(&insts[1], &shared).await;
    let all = receiver.wait_for(2, Duration::from_secs(180)).await;
    assert!(all.iter().skip(1).any(|r| r.event_id() == event_id), "the interrupted event is delivered again");
    assert_eq!(receiver.max_concurrent_per_event(), 1, "never two attempts of one event at once");
    let (_, plaintext) = y.receive(&lb, &env.message_id).await;
    assert_eq!(plaintext, fax);
    let inbox = inbox_from(&y, &lb, "+15550107001").await;
    assert_eq!(inbox.iter().filter(|id| **id == env.message_id).count(), 1, "the fax is in the inbox once");
    eprintln!("[cluster] killed mid-webhook-attempt; delivered again in {:.1?}", phase.elapsed());

    // 6. The remaining relay took the relay-wide jobs over.
    let phase = Instant::now();
    echo_round_trip(&x, &lb, b"echo after both relays were killed once").await;
    poll("the sweeper moves to the remaining relay", Duration::from_secs(90), || async {
        (role_holders(&lb.db, 1).await == 1).then_some(())
    })
    .await;
    eprintln!("[cluster] echo and sweeper taken over in {:.1?}", phase.elapsed());

    receiver.stop();
    drop(lb);
    b.kill().await;
    pg.drop_database().await;
    eprintln!("[cluster] passed in {:.1?}", started.elapsed());
}
