//! Webhooks against a real receiver on loopback (API.md, Webhooks):
//! signatures (the seed's recipe and an independent Standard Webhooks
//! verifier), retries in order with one event id, dead after the sixth
//! retry, manual redelivery, 410, secret rotation, the address guard, the
//! event log, a relay killed mid-attempt, and two relays on one PostgreSQL.
//! Runs on SQLite, or on PostgreSQL when `FXE_TEST_DATABASE_URL` is set.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{
    PgTestDatabase, TestServer,
    client::{Relay, TestOrg, now},
    receiver::{Receiver, Reply},
    spawned::{free_port, spawn},
    test_config,
};
use fxe_protocol::webhook::{WebhookSecret, verify_fxe};
use hmac::{KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};

const A1: &str = "+15550100001";
const B1: &str = "+15550200001";

async fn start(schedule: &str, allow_private: bool) -> TestServer {
    TestServer::start_configured(|config| {
        config.allow_private_webhooks = allow_private;
        config.retry_schedule = fxe_server::config::parse_retry_schedule(schedule).unwrap();
    })
    .await
}

/// A relay with `schedule` (private addresses allowed), a receiver, and org A with one endpoint
/// at the receiver for `events`; returns them with the endpoint's id and secret.
async fn with_endpoint(schedule: &str, events: &[&str]) -> (TestServer, Receiver, TestOrg, String, String) {
    let server = start(schedule, true).await;
    let receiver = Receiver::start().await;
    let a = TestOrg::redeem(&server, "Praxis Alpha", &[A1]).await;
    let (id, secret) = endpoint(&server, &a, &receiver.url(), events).await;
    (server, receiver, a, id, secret)
}

/// Creates an endpoint; returns its id and secret.
async fn endpoint(server: &impl Relay, org: &TestOrg, url: &str, events: &[&str]) -> (String, String) {
    let (status, body) = org
        .call(server, "POST", "/api/v1/webhooks", Some(&json!({ "url": url, "events": events, "description": "test" })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (body["id"].as_str().unwrap().to_owned(), body["secret"].as_str().unwrap().to_owned())
}

async fn ping(server: &impl Relay, org: &TestOrg, id: &str) -> Value {
    let (status, body) = org.call(server, "POST", &format!("/api/v1/webhooks/{id}/test"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body
}

/// Pings the endpoint and waits until the receiver has had the first attempt and the
/// delivery records it (the receiver's scripted reply decides what comes next).
async fn ping_first_attempt(server: &impl Relay, org: &TestOrg, receiver: &Receiver, id: &str) -> Value {
    let d = ping(server, org, id).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    wait_delivery(server, org, id, d["id"].as_str().unwrap(), Duration::from_secs(10), |d| {
        d["attempts"].as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    d
}

async fn deliveries(server: &impl Relay, org: &TestOrg, id: &str) -> Vec<Value> {
    let (status, body) = org.call(server, "GET", &format!("/api/v1/webhooks/{id}/deliveries?limit=500"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Polls the endpoint's deliveries until `done` holds for the one with `delivery_id`.
async fn wait_delivery(
    server: &impl Relay, org: &TestOrg, endpoint_id: &str, delivery_id: &str, timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let list = deliveries(server, org, endpoint_id).await;
        let d = list.iter().find(|d| d["id"] == delivery_id).cloned().unwrap_or(Value::Null);
        if done(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "delivery did not get there in {timeout:?}: {d:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the endpoint's deliveries until the one with `delivery_id` has `status`.
async fn wait_status(
    server: &impl Relay, org: &TestOrg, endpoint_id: &str, delivery_id: &str, timeout: Duration, status: &str,
) -> Value {
    wait_delivery(server, org, endpoint_id, delivery_id, timeout, |d| d["status"] == status).await
}

/// An independent Standard Webhooks verifier (standardwebhooks.com spec):
/// key = base64 after `whsec_`, signature = base64 HMAC-SHA256 over
/// `"{webhook-id}.{webhook-timestamp}.{body}"`, any of the space-separated `v1,` values.
fn standard_webhooks_verify(secret: &str, r: &common::receiver::Received) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.header("webhook-id"), r.header("webhook-timestamp")).as_bytes());
    mac.update(&r.body);
    let want = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    r.header("webhook-signature").split(' ').any(|s| s == want)
}

fn verify_both(secret: &str, r: &common::receiver::Received) {
    let s = WebhookSecret::parse(secret).unwrap();
    verify_fxe(&s, r.header("x-fxe-timestamp"), r.header("x-fxe-signature"), &r.body, now(), 300)
        .expect("X-FXE-Signature verifies");
    assert!(standard_webhooks_verify(secret, r), "Standard Webhooks signature verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_deliveries_carry_events_and_verify() {
    let (server, receiver, a, id, secret) = with_endpoint("1s,1s,1s,1s,1s,1s", &["message.received", "ping"]).await;
    let b = TestOrg::redeem(&server, "Kanzlei Beta", &[B1]).await;
    assert!(secret.starts_with("whsec_") && WebhookSecret::parse(&secret).is_ok());

    // The secret is never listed again.
    let (_, list) = a.call(&server, "GET", "/api/v1/webhooks", None).await;
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert!(list["items"][0].get("secret").is_none() && !list.to_string().contains(&secret));
    let (_, one) = a.call(&server, "GET", &format!("/api/v1/webhooks/{id}"), None).await;
    assert!(one.get("secret").is_none());
    // Other orgs cannot see it; non-admin keys neither (scopes checked elsewhere too).
    let (status, _) = b.call(&server, "GET", &format!("/api/v1/webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A test ping: every header, both signature schemes.
    let d = ping(&server, &a, &id).await;
    assert_eq!(d["status"], "pending");
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let r = &got[0];
    verify_both(&secret, r);
    let payload: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(payload["type"], "ping");
    assert_eq!(payload["org_id"], a.org_id());
    assert_eq!(r.event_id(), payload["id"].as_str().unwrap());
    assert_eq!(r.event_id(), d["event_id"].as_str().unwrap());
    assert_eq!(r.header("webhook-id"), r.event_id());
    assert_eq!(r.header("x-fxe-event-type"), "ping");
    assert_eq!(r.header("webhook-timestamp"), r.header("x-fxe-timestamp"));
    assert_eq!(r.header("content-type"), "application/json");
    let done = wait_status(&server, &a, &id, d["id"].as_str().unwrap(), Duration::from_secs(10), "succeeded").await;
    assert_eq!(done["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(done["attempts"][0]["status_code"], 200);
    assert_eq!(done["attempts"][0]["response_body"], "answer 200");
    assert!(done["attempts"][0]["error"].is_null());
    assert!(done["next_attempt_at"].is_null());

    // A real state change: B sends A a fax; A's endpoint hears message.received, metadata only.
    let plaintext = b"%PDF-1.7 the secret page";
    let message_id = b.send(&server, A1, plaintext).await;
    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    let r = &got[1];
    verify_both(&secret, r);
    let payload: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(payload["type"], "message.received");
    assert_eq!(r.header("x-fxe-event-type"), "message.received");
    assert_eq!(payload["data"]["message_id"], message_id.as_str());
    assert_eq!(payload["data"]["to_number"], A1);
    assert_eq!(payload["data"]["from_number"], B1);
    assert!(payload["data"]["ciphertext_len"].as_u64().unwrap() > 0);
    assert!(!String::from_utf8_lossy(&r.body).contains("secret page"));

    // The event log has both; the audit trail the creation.
    let since = fxe_protocol::time::format_rfc3339(i64::try_from(now()).unwrap() - 600);
    let (status, log) = a.call(&server, "GET", &format!("/api/v1/events?since={since}"), None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let types: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"ping") && types.contains(&"message.received"), "{types:?}");
    let (_, audit) = a.call(&server, "GET", "/api/v1/audit?action=webhook.*", None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"webhook.created") && actions.contains(&"webhook.test_sent"), "{actions:?}");
    assert!(!audit.to_string().contains(&secret));

    // /metrics counts attempts and deliveries.
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"fxe_webhook_deliveries{status="succeeded"} "#), "{metrics}");
    assert!(metrics.contains(r#"fxe_webhook_attempts_total{result="succeeded"} "#), "{metrics}");

    // Bad input answers clearly.
    let (status, body) = a
        .call(&server, "POST", "/api/v1/webhooks", Some(&json!({ "url": receiver.url(), "events": ["message.nope"] })))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_events")));
    let (status, body) = a.call(&server, "GET", "/api/v1/events?since=yesterday", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
    let (status, _) = a.call(&server, "DELETE", &format!("/api/v1/webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = a.call(&server, "GET", &format!("/api/v1/webhooks/{id}/deliveries"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_in_order_with_the_same_event_id() {
    let (server, mut receiver, a, id, secret) = with_endpoint("200ms,200ms,3s,200ms,200ms,200ms", &["ping"]).await;
    receiver.script([Reply::Status(500), Reply::Hang, Reply::Redirect, Reply::Status(200)]);
    let d = ping(&server, &a, &id).await;
    let delivery_id = d["id"].as_str().unwrap();

    // 500, then a request that never gets an answer (10 s timeout)…
    receiver.wait_for(2, Duration::from_secs(10)).await;
    // …then connection refused while the receiver is down…
    receiver.stop();
    wait_delivery(&server, &a, &id, delivery_id, Duration::from_secs(20), |d| {
        d["attempts"].as_array().is_some_and(|a| a.len() >= 3)
    })
    .await;
    receiver.restart().await;
    // …then a redirect (not followed), then success.
    let done = wait_status(&server, &a, &id, delivery_id, Duration::from_secs(15), "succeeded").await;
    let attempts = done["attempts"].as_array().unwrap();
    let codes: Vec<Value> = attempts.iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(codes, vec![json!(500), Value::Null, Value::Null, json!(302), json!(200)], "{done:#}");
    assert!(attempts[1]["error"].as_str().unwrap().contains("no answer within 10 s"), "{}", attempts[1]);
    assert!(attempts[2]["error"].as_str().unwrap().contains("connection"), "{}", attempts[2]);
    assert!(attempts[3]["error"].as_str().unwrap().contains("redirect"), "{}", attempts[3]);
    assert_eq!(attempts[0]["response_body"], "answer 500");
    let got = receiver.received();
    assert_eq!(got.len(), 4, "500, timeout, redirect, 200 reached the receiver");
    assert!(got.iter().all(|r| r.path == "/hook"), "the redirect was never followed");
    assert!(got.iter().all(|r| r.event_id() == done["event_id"].as_str().unwrap()), "one event id on every attempt");
    for r in &got {
        verify_both(&secret, r);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_after_the_sixth_retry_and_redelivered_by_hand() {
    let (server, receiver, a, id, _) = with_endpoint("100ms,100ms,100ms,100ms,100ms,100ms", &["ping"]).await;
    receiver.script(std::iter::repeat_n(Reply::Status(503), 7));
    let d = ping(&server, &a, &id).await;
    let delivery_id = d["id"].as_str().unwrap();
    let dead = wait_status(&server, &a, &id, delivery_id, Duration::from_secs(20), "dead").await;
    assert_eq!(dead["attempts"].as_array().unwrap().len(), 7, "the first attempt and six retries");
    assert!(dead["next_attempt_at"].is_null());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received().len(), 7, "nothing after the seventh attempt");

    // Redelivered by hand: the same event id, now succeeds; earlier attempts stay listed.
    let (status, again) = a.call(&server, "POST", &format!("/api/v1/deliveries/{delivery_id}/redeliver"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["status"], "pending");
    let done = wait_status(&server, &a, &id, delivery_id, Duration::from_secs(10), "succeeded").await;
    assert_eq!(done["attempts"].as_array().unwrap().len(), 8);
    let got = receiver.received();
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|r| r.event_id() == got[0].event_id()));
    let (status, _) = a.call(&server, "POST", "/api/v1/deliveries/dl_000000000000000000000000/redeliver", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_endpoint_until_re_enabled() {
    let (server, receiver, a, id, _) = with_endpoint("60s,60s,60s,60s,60s,60s", &["ping"]).await;
    receiver.script([Reply::Status(500), Reply::Status(410)]);
    let first = ping_first_attempt(&server, &a, &receiver, &id).await;
    let second = ping(&server, &a, &id).await;
    wait_status(&server, &a, &id, second["id"].as_str().unwrap(), Duration::from_secs(10), "dead").await;

    let (_, ep) = a.call(&server, "GET", &format!("/api/v1/webhooks/{id}"), None).await;
    assert_eq!(ep["enabled"], false);
    assert!(ep["disabled_reason"].as_str().unwrap().contains("410"));
    let first_now = deliveries(&server, &a, &id).await.into_iter().find(|d| d["id"] == first["id"]).unwrap();
    assert_eq!(first_now["status"], "dead", "pending deliveries die with the endpoint");
    let (status, body) = a.call(&server, "POST", &format!("/api/v1/webhooks/{id}/test"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("webhook_disabled")));
    let (_, audit) = a.call(&server, "GET", "/api/v1/audit?action=webhook.disabled", None).await;
    assert_eq!(audit["items"][0]["actor"]["type"], "relay", "{audit}");

    let (status, ep) =
        a.call(&server, "PATCH", &format!("/api/v1/webhooks/{id}"), Some(&json!({ "enabled": true }))).await;
    assert_eq!(status, StatusCode::OK, "{ep}");
    assert_eq!(ep["enabled"], true);
    assert!(ep.get("disabled_reason").is_none());
    let third = ping(&server, &a, &id).await;
    wait_status(&server, &a, &id, third["id"].as_str().unwrap(), Duration::from_secs(10), "succeeded").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_signs_with_both_secrets_for_a_day() {
    let (server, receiver, a, id, old) = with_endpoint("1s,1s,1s,1s,1s,1s", &["ping"]).await;
    let (status, rotated) = a.call(&server, "POST", &format!("/api/v1/webhooks/{id}/rotate-secret"), None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap();
    assert_ne!(new, old);
    ping(&server, &a, &id).await;
    let r = &receiver.wait_for(1, Duration::from_secs(10)).await[0];
    assert_eq!(r.header("x-fxe-signature").split(' ').count(), 2, "two v1= values");
    assert!(r.header("x-fxe-signature").split(' ').all(|v| v.starts_with("v1=")));
    assert_eq!(r.header("webhook-signature").split(' ').count(), 2);
    verify_both(new, r);
    verify_both(&old, r);
    // The old secret is dropped once 24 h have passed.
    sqlx::query("UPDATE webhook_endpoints SET old_secret_until_ms = 1 WHERE id = $1")
        .bind(&id)
        .execute(server.state.db.pool())
        .await
        .unwrap();
    ping(&server, &a, &id).await;
    let r = &receiver.wait_for(2, Duration::from_secs(10)).await[1];
    assert_eq!(r.header("x-fxe-signature").split(' ').count(), 1);
    verify_both(new, r);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_refuses_non_public_addresses_unless_allowed() {
    let server = start("1s", false).await;
    let a = TestOrg::redeem(&server, "Praxis Alpha", &[A1]).await;
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://172.20.1.1/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.1.1/",
        "https://224.0.0.251/",
        "https://0.0.0.0/",
        "https://192.0.2.10/",
        "https://198.51.100.1/",
        "https://203.0.113.5/",
        "https://[::1]/",
        "https://[::]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[::127.0.0.1]/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://[ff02::1]/",
        "https://[2001:db8::1]/",
        "https://localhost/hook",
        "https://localhost.:8443/hook",
        "http://hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://user:pw@hooks.example.com/",
    ] {
        let (status, body) =
            a.call(&server, "POST", "/api/v1/webhooks", Some(&json!({ "url": url, "events": ["ping"] }))).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_url")),
            "{url}: {body}"
        );
    }

    // Saved while allowed, refused at the attempt once it no longer is.
    let mut kept = server.stop_keeping_data().await;
    kept.config.allow_private_webhooks = true;
    let allowed = kept.restart().await;
    let receiver = Receiver::start().await;
    for url in ["https://localhost/hook", "http://10.0.0.8/hook", "https://[::1]:8443/"] {
        endpoint(&allowed, &a, url, &["org.user.added"]).await;
    }
    let (id, _) = endpoint(&allowed, &a, &receiver.url(), &["ping"]).await;
    let (status, body) =
        a.call(&allowed, "PATCH", &format!("/api/v1/webhooks/{id}"), Some(&json!({ "url": "ftp://x/" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut kept = allowed.stop_keeping_data().await;
    kept.config.allow_private_webhooks = false;
    let strict = kept.restart().await;
    let d = ping(&strict, &a, &id).await;
    let refused = wait_delivery(&strict, &a, &id, d["id"].as_str().unwrap(), Duration::from_secs(10), |d| {
        d["attempts"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert!(refused["attempts"][0]["error"].as_str().unwrap().starts_with("refused"), "{refused}");
    assert!(receiver.received().is_empty());
    strict.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeliver_since_resends_the_event_log() {
    let (server, receiver, a, id, _) = with_endpoint("1s,1s,1s,1s,1s,1s", &["ping", "org.user.added"]).await;
    let since = fxe_protocol::time::format_rfc3339(i64::try_from(now()).unwrap() - 5);
    ping(&server, &a, &id).await;
    ping(&server, &a, &id).await;
    let first = receiver.wait_for(2, Duration::from_secs(10)).await;
    let (status, answer) =
        a.call(&server, "POST", &format!("/api/v1/webhooks/{id}/redeliver?since={since}"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["queued"], 2);
    let all = receiver.wait_for(4, Duration::from_secs(10)).await;
    let mut first_ids: Vec<&str> = first.iter().map(|r| r.event_id()).collect();
    let mut again: Vec<&str> = all[2..].iter().map(|r| r.event_id()).collect();
    first_ids.sort();
    again.sort();
    assert_eq!(first_ids, again, "the same events, the same ids");
    let (status, _) = a.call(&server, "POST", &format!("/api/v1/webhooks/{id}/redeliver"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "since is required");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_attempt_delivers_after_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let pg = PgTestDatabase::create().await;
    let db_url = pg.as_ref().map(|p| p.url.clone());
    let args = ["--allow-private-webhooks", "--retry-schedule", "1s,1s,1s,1s,1s,1s"];
    let port = free_port();
    let mut relay = spawn(env!("CARGO_BIN_EXE_fxe-server"), &data, port, db_url.as_deref(), &args).await;
    let receiver = Receiver::start().await;
    let a = TestOrg::redeem(&relay, "Praxis Alpha", &[A1]).await;
    let (id, secret) = endpoint(&relay, &a, &receiver.url(), &["ping"]).await;
    receiver.script([Reply::Hang]);
    let d = ping(&relay, &a, &id).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    relay.kill().await;

    // After restart the attempt runs again (PostgreSQL: once its lease runs out).
    let mut relay = spawn(env!("CARGO_BIN_EXE_fxe-server"), &data, port, db_url.as_deref(), &args).await;
    let got = receiver.wait_for(2, Duration::from_secs(60)).await;
    assert_eq!(got[1].event_id(), got[0].event_id());
    verify_both(&secret, &got[1]);
    wait_status(&relay, &a, &id, d["id"].as_str().unwrap(), Duration::from_secs(10), "succeeded").await;
    relay.kill().await;
    if let Some(pg) = pg {
        pg.drop_database().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_relays_on_one_postgres_deliver_every_event_once() {
    let Some(pg) = PgTestDatabase::create().await else {
        eprintln!("skipped: set FXE_TEST_DATABASE_URL (scripts/with-postgres.sh) to run it");
        return;
    };
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("webhook.key");
    std::fs::write(&key_file, format!("{}\n", hex::encode([42u8; 32]))).unwrap();
    let relay = |dir: &tempfile::TempDir| {
        let mut c = test_config(&dir.path().join("relay"), Some(pg.url.clone()));
        c.allow_private_webhooks = true;
        c.secret_key_file = Some(key_file.clone());
        c.retry_schedule = fxe_server::config::parse_retry_schedule("1s,1s,1s,1s,1s,1s").unwrap();
        c
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (config_a, mut config_b) = (relay(&dir_a), relay(&dir_b));
    // One log for the database: B signs with the key A created in its data directory.
    config_b.log.key_file = Some(config_a.storage.data_dir.join("log.key"));
    let a_relay = TestServer::start_with(config_a, dir_a, Some(pg)).await;
    let b_relay = TestServer::start_with(config_b, dir_b, None).await;
    let receiver = Receiver::start().await;
    let org = TestOrg::redeem(&a_relay, "Praxis Alpha", &[A1]).await;
    let (id, secret) = endpoint(&a_relay, &org, &receiver.url(), &["ping"]).await;
    const N: usize = 40;
    receiver.script(std::iter::repeat_n(Reply::Slow(Duration::from_millis(40)), N));
    for i in 0..N {
        if i % 2 == 0 {
            ping(&a_relay, &org, &id).await
        } else {
            ping(&b_relay, &org, &id).await
        };
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = deliveries(&a_relay, &org, &id).await;
        if list.len() == N && list.iter().all(|d| d["status"] == "succeeded") {
            break;
        }
        assert!(Instant::now() < deadline, "not all delivered: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = receiver.received();
    let mut ids: Vec<&str> = got.iter().map(|r| r.event_id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N, "every event delivered");
    assert_eq!(got.len(), N, "none twice");
    assert_eq!(receiver.max_concurrent_per_event(), 1);
    for r in &got {
        verify_both(&secret, r);
    }
    b_relay.stop().await;
    a_relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_age_out_but_not_while_a_delivery_is_pending() {
    let (server, receiver, a, id, _) = with_endpoint("60s,60s,60s,60s,60s,60s", &["ping"]).await;
    receiver.script([Reply::Status(500)]);
    let pending = ping_first_attempt(&server, &a, &receiver, &id).await;
    let done = ping(&server, &a, &id).await;
    wait_status(&server, &a, &id, done["id"].as_str().unwrap(), Duration::from_secs(10), "succeeded").await;

    // Both events are 31 days old now; the sweeper keeps the one still pending.
    let old = server.state.clock.now_ms() - 31 * 24 * 3600 * 1000;
    sqlx::query("UPDATE events SET created_at_ms = $1").bind(old).execute(server.state.db.pool()).await.unwrap();
    fxe_server::housekeeping::sweep_once(&server.state).await.unwrap();
    let left = deliveries(&server, &a, &id).await;
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0]["id"], pending["id"]);
    assert_eq!(left[0]["status"], "pending");
    assert_eq!(left[0]["attempts"].as_array().unwrap().len(), 1);
    let (_, log) = a.call(&server, "GET", "/api/v1/events", None).await;
    let ids: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&pending["event_id"].as_str().unwrap()) && !ids.contains(&done["event_id"].as_str().unwrap()),
        "{ids:?}"
    );
    let (status, _) =
        a.call(&server, "POST", &format!("/api/v1/deliveries/{}/redeliver", done["id"].as_str().unwrap()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "its event is gone");
    // The pending one is still delivered when asked.
    let (status, _) = a
        .call(&server, "POST", &format!("/api/v1/deliveries/{}/redeliver", pending["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_status(&server, &a, &id, pending["id"].as_str().unwrap(), Duration::from_secs(10), "succeeded").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_lengthens_a_wait_up_to_twice_its_step() {
    let (server, receiver, a, id, _) = with_endpoint("300ms,300ms,300ms,300ms,300ms,300ms", &["ping"]).await;
    receiver.script([Reply::RetryAfter(429, 3600), Reply::Status(200)]);
    let d = ping(&server, &a, &id).await;
    let got = receiver.wait_for(2, Duration::from_secs(20)).await;
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(600), "Retry-After lengthened the 300 ms step to 600 ms, waited {gap:?}");
    assert!(gap < Duration::from_secs(60), "but not to an hour: {gap:?}");
    wait_status(&server, &a, &id, d["id"].as_str().unwrap(), Duration::from_secs(10), "succeeded").await;
    server.stop().await;
}

/// Every item of a listing, one per page, following `next_cursor`.
async fn every_page(server: &impl Relay, org: &TestOrg, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=1&cursor={c}"),
            None => format!("{path}{sep}limit=1"),
        };
        let (status, page) = org.call(server, "GET", &url, None).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= 1, "{page}");
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
        assert!(items.len() < 100, "the pages of {path} do not end");
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_page_by_cursor_and_filter() {
    let server = start("1s,1s,1s,1s,1s,1s", true).await;
    let receiver = Receiver::start().await;
    let a = TestOrg::redeem(&server, "Praxis Alpha", &[A1]).await;
    let b = TestOrg::redeem(&server, "Kanzlei Beta", &[B1]).await;
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(endpoint(&server, &a, &receiver.url(), &["ping"]).await.0);
    }
    endpoint(&server, &b, &receiver.url(), &["ping"]).await;

    // Endpoints: newest first, one per page, each once, only the org's own.
    let listed = ids(&every_page(&server, &a, "/api/v1/webhooks").await);
    let (_, all) = a.call(&server, "GET", "/api/v1/webhooks", None).await;
    assert_eq!(listed, ids(all["items"].as_array().unwrap()), "pages follow the one-page order");
    let mut sorted = listed.clone();
    sorted.sort();
    created.sort();
    assert_eq!(sorted, created);

    // Deliveries: two pings, paged, filtered by status.
    let id = &created[0];
    let first = ping(&server, &a, id).await;
    let second = ping(&server, &a, id).await;
    for d in [&first, &second] {
        let did = d["id"].as_str().unwrap();
        wait_status(&server, &a, id, did, Duration::from_secs(20), "succeeded").await;
    }
    let paged = every_page(&server, &a, &format!("/api/v1/webhooks/{id}/deliveries?status=succeeded")).await;
    assert_eq!(ids(&paged), ids(&deliveries(&server, &a, id).await));
    assert_eq!(paged.len(), 2);
    assert!(paged.iter().all(|d| d["attempts"].as_array().unwrap().len() == 1), "{paged:?}");
    let (status, pending) =
        a.call(&server, "GET", &format!("/api/v1/webhooks/{id}/deliveries?status=pending"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pending["items"], json!([]));
    let (status, body) = a.call(&server, "GET", &format!("/api/v1/webhooks/{id}/deliveries?status=nope"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));

    // The event log: paged, with and without `since`.
    let events = every_page(&server, &a, "/api/v1/events").await;
    assert_eq!(ids(&events).len(), 2);
    let since = fxe_protocol::time::format_rfc3339(i64::try_from(now()).unwrap() - 600);
    assert_eq!(ids(&every_page(&server, &a, &format!("/api/v1/events?since={since}")).await), ids(&events));
    let future = fxe_protocol::time::format_rfc3339(i64::try_from(now()).unwrap() + 600);
    assert!(every_page(&server, &a, &format!("/api/v1/events?since={future}")).await.is_empty());

    // At most 50 endpoints an org.
    for _ in created.len()..50 {
        endpoint(&server, &a, &receiver.url(), &["ping"]).await;
    }
    let (status, body) =
        a.call(&server, "POST", "/api/v1/webhooks", Some(&json!({ "url": receiver.url(), "events": ["ping"] }))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("too_many_webhooks"),
            Some("An org may have at most 50 webhook endpoints; delete one first.")
        )
    );
    server.stop().await;
}
