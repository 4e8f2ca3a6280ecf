//! Webhook delivery benchmarks (`cargo bench -p fxe-server --bench webhooks`),
//! against a real relay (SQLite, or PostgreSQL with `FXE_TEST_DATABASE_URL`)
//! and a real receiver on loopback:
//!
//! * the time from a fax's content-upload commit (its `message.received`
//!   event row) to the first byte at the receiver, p50 and p99;
//! * sustained deliveries per second to a fast receiver.
//!
//! Writes `target/bench-results/webhooks.json`. About half a minute.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Statistics over measured samples: counts and times as f64 lose nothing that matters.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../../protocol/benches/report.rs"]
mod report;

use std::time::{Duration, Instant, UNIX_EPOCH};

use common::{PgTestDatabase, TestServer, client::TestOrg, receiver::Receiver, test_config};
use report::Record;
use serde_json::json;
use sqlx::Row;

const SAMPLES: usize = 200;
const BULK: usize = 2000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run() -> Vec<Record> {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgTestDatabase::create().await;
    let mut config = test_config(&dir.path().join("relay"), pg.as_ref().map(|p| p.url.clone()));
    config.allow_private_webhooks = true;
    config.rate_limit_per_minute = 1_000_000;
    let server = TestServer::start_with(config, dir, pg).await;
    let receiver = Receiver::start().await;
    let a = TestOrg::redeem(&server, "Sender", &["+15550100001"]).await;
    let b = TestOrg::redeem(&server, "Recipient", &["+15550200001"]).await;
    let (status, ep) = b
        .call(
            &server,
            "POST",
            "/api/v1/webhooks",
            Some(&json!({ "url": receiver.url(), "events": ["message.received", "ping"] })),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{ep}");

    // Upload commit → first byte at the receiver, one fax at a time.
    let mut latencies = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let message_id = a.send(&server, "+15550200001", format!("page {i}").as_bytes()).await;
        let got = receiver.wait_for(i + 1, Duration::from_secs(10)).await;
        let r = &got[i];
        let row = sqlx::query("SELECT created_at_ms FROM events WHERE org_id = $1 AND event_type = 'message.received' AND payload_json LIKE $2")
            .bind(b.org_id())
            .bind(format!("%{message_id}%"))
            .fetch_one(server.state.db.pool())
            .await
            .unwrap();
        let written_ms: i64 = row.try_get("created_at_ms").unwrap();
        let arrived_us = r.at_system.duration_since(UNIX_EPOCH).unwrap().as_micros() as f64;
        latencies.push((arrived_us - written_ms as f64 * 1000.0) / 1000.0);
    }
    latencies.sort_by(|x, y| x.total_cmp(y));

    // Sustained: BULK events committed at once, delivered as fast as the relay can.
    let before = receiver.received().len();
    let mut tx = server.state.db.begin_write().await.unwrap();
    for i in 0..BULK {
        let now_ms = server.state.clock.now_ms();
        fxe_server::webhooks::events::emit(
            &mut tx,
            b.org_id(),
            fxe_server::webhooks::events::PING,
            json!({ "n": i }),
            now_ms,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let started = Instant::now();
    server.state.events.notify();
    receiver.wait_for(before + BULK, Duration::from_secs(120)).await;
    let elapsed = started.elapsed();
    let backend = server.state.db.backend().to_string();
    server.stop().await;

    vec![
        Record::new(
            format!("webhook upload commit to first byte p50 ({backend})"),
            report::round(percentile(&latencies, 0.5)),
            "ms",
        ),
        Record::new(
            format!("webhook upload commit to first byte p99 ({backend})"),
            report::round(percentile(&latencies, 0.99)),
            "ms",
        ),
        Record::new(
            format!("webhook deliveries sustained ({backend})"),
            report::round(BULK as f64 / elapsed.as_secs_f64()),
            "deliveries/s",
        ),
    ]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: only run when benchmarking.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let records =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(run());
    let path = report::write("webhooks", &records).expect("bench results written");
    eprintln!("wrote {}", path.display());
}
