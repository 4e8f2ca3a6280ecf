//! The relay end to end over real HTTP with real signed requests: two orgs
//! redeem, send to each other and to the echo org, poll, open, receipt; and
//! the negative cases a hostile or broken client produces.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::Duration;

use common::{TestServer, client::*};
use fxe_protocol::{
    api::ECHO_NUMBER,
    envelope::Envelope,
    receipt::{Receipt, Refusal, RefusalReason},
    request::{self, Body},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn pdf(len: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    v.extend((0..len).map(|i| u8::try_from(i * 7 % 251).unwrap()));
    v
}

#[tokio::test]
async fn two_orgs_send_open_and_receipt() {
    let server = TestServer::start().await;
    let a = TestOrg::redeem(&server, "Lakeside Clinic", &["+15550100001"]).await;
    let b = TestOrg::redeem(&server, "Hill Law LLP", &["+15550100002", "+15550100003"]).await;
    assert!(a.setup_url.contains("/setup/set_"));

    let fax = pdf(2_500_000);
    let id = a.send(&server, "+15550100003", &fax).await;

    // B polls its inbox and sees it; A's inbox is empty.
    let queued = b.queued(&server).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["message_id"], id);
    assert_eq!(queued[0]["from_number"], "+15550100001");
    assert!(a.queued(&server).await.is_empty());

    // Range download of the first bytes.
    let path = format!("/api/v1/messages/{id}/content");
    let h = b.sign("GET", &path, Body::Bytes(b""));
    let mut req = server.client.get(server.url(&path)).header("range", "bytes=0-99");
    for (k, v) in h.pairs() {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert!(res.headers()["content-range"].to_str().unwrap().starts_with("bytes 0-99/"));
    assert_eq!(res.bytes().await.unwrap().len(), 100);

    let (env, plaintext) = b.receive(&server, &id).await;
    assert_eq!(plaintext, fax);

    // A sees "delivered" with a receipt that verifies against B's bundle.
    let (status, msg) = a.call(&server, "GET", &format!("/api/v1/messages/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(msg["status"], "delivered");
    let receipt: Receipt = serde_json::from_value(msg["receipt"].clone()).unwrap();
    receipt.verify(&env, &b.keys.bundles[0].bundle).unwrap();

    // The ciphertext is gone from the relay.
    let (status, body) = b.call(&server, "GET", &path, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::GONE, Some("gone")));
    let blobs = std::fs::read_dir(server.state.config.storage.blobs_dir().join("objects"))
        .map(|d| d.flatten().count())
        .unwrap_or(0);
    let mut left = 0;
    if blobs > 0 {
        for d in std::fs::read_dir(server.state.config.storage.blobs_dir().join("objects")).unwrap().flatten() {
            left += std::fs::read_dir(d.path()).unwrap().count();
        }
    }
    assert_eq!(left, 0, "no ciphertext left after delivery");
    let key = fxe_server::blobs::BlobKey::new(env.message_id.as_str()).unwrap();
    assert!(
        matches!(server.state.blobs.len(&key).await, Err(fxe_server::blobs::BlobError::NotFound)),
        "the blob store has no ciphertext left (local folder or S3)"
    );

    // Repeating the same receipt is a no-op 200; the outbox lists it.
    let (status, _) = b
        .call(
            &server,
            "POST",
            &format!("/api/v1/messages/{id}/receipt"),
            Some(&serde_json::to_value(&receipt).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, out) = a.call(&server, "GET", "/api/v1/messages?box=outbox", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out["items"][0]["message_id"], id);
    server.stop().await;
}

#[tokio::test]
async fn echo_org_sends_the_same_bytes_back() {
    let server = TestServer::start().await;
    let a = TestOrg::redeem(&server, "Lakeside Clinic", &["+15550100001"]).await;
    let fax = pdf(1_300_000);
    let id = a.send(&server, ECHO_NUMBER, &fax).await;

    let mut echo = None;
    for _ in 0..100 {
        let q = a.queued(&server).await;
        if let Some(m) = q.into_iter().find(|m| m["from_number"] == ECHO_NUMBER) {
            echo = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let echo = echo.expect("the echo arrives within 10 s");
    assert_eq!(echo["to_number"], "+15550100001");
    let (_, plaintext) = a.receive(&server, echo["message_id"].as_str().unwrap()).await;
    assert_eq!(plaintext, fax);
    let (_, original) = a.call(&server, "GET", &format!("/api/v1/messages/{id}"), None).await;
    assert_eq!(original["status"], "delivered");
    server.stop().await;
}

async fn post(server: &TestServer, org: &TestOrg, env: &Envelope) -> (StatusCode, Value) {
    org.call(server, "POST", "/api/v1/messages", Some(&json!({ "envelope": env }))).await
}

fn resign(a: &TestOrg, env: &mut Envelope) {
    env.sig = a.keys.active_bundle().unwrap().signing.sign(&env.tbs());
}

#[tokio::test]
async fn send_checks_run_in_order() {
    let server = TestServer::start().await;
    let a = TestOrg::redeem(&server, "A", &["+15550100001"]).await;
    let b = TestOrg::redeem(&server, "B", &["+15550100002"]).await;
    let c = TestOrg::redeem(&server, "C", &["+15550100004"]).await;
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or_default().to_owned();

    // Malformed envelope.
    let (status, body) = a.call(&server, "POST", "/api/v1/messages", Some(&json!({"envelope": {"v": 1}}))).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_envelope"));

    // Another org's envelope posted by A.
    let (env, _) = b.seal_to(&server, "+15550100001", b"%PDF-x").await;
    let (status, body) = post(&server, &a, &env).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::FORBIDDEN, "sender_mismatch"));

    // A bad signature.
    let (mut env, _) = a.seal_to(&server, "+15550100002", b"%PDF-x").await;
    env.from_name = "Someone Else".into();
    let (status, body) = post(&server, &a, &env).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "bad_signature"));

    // A spoofed from_number (B's), correctly signed by A.
    let (mut env, _) = a.seal_to(&server, "+15550100004", b"%PDF-x").await;
    env.from_number = "+15550100002".into();
    resign(&a, &mut env);
    let (status, body) = post(&server, &a, &env).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::FORBIDDEN, "from_number_not_yours"));

    // Sealed to B's bundle but addressed to C's number.
    let (mut env, _) = a.seal_to(&server, "+15550100002", b"%PDF-x").await;
    env.to_number = "+15550100004".into();
    resign(&a, &mut env);
    let (status, body) = post(&server, &a, &env).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "to_number_mismatch"));

    // A recipient bundle that is not the recipient's.
    let (mut env, _) = a.seal_to(&server, "+15550100002", b"%PDF-x").await;
    env.recipient_bundle_id = c.keys.bundles[0].bundle.bundle_id.clone();
    resign(&a, &mut env);
    let (status, body) = post(&server, &a, &env).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "to_number_mismatch"));

    // Over the cap by the envelope.
    let (mut env, _) = a.seal_to(&server, "+15550100002", b"%PDF-x").await;
    env.ciphertext_len = 104_857_600 + 17;
    resign(&a, &mut env);
    let (status, body) = post(&server, &a, &env).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    // Over the cap and malformed besides: the malformed envelope is the answer.
    let mut raw = serde_json::to_value(&env).unwrap();
    raw["v"] = json!("2");
    let (status, body) = a.call(&server, "POST", "/api/v1/messages", Some(&json!({ "envelope": raw }))).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_envelope"));

    // Idempotent create; a different envelope under the same id conflicts.
    let (env, ct) = a.seal_to(&server, "+15550100002", b"%PDF-x").await;
    let (s1, b1) = post(&server, &a, &env).await;
    let (s2, b2) = post(&server, &a, &env).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(b1, b2);
    let (mut other, _) = a.seal_to(&server, "+15550100002", b"%PDF-y").await;
    other.message_id = env.message_id.clone();
    resign(&a, &mut other);
    let (status, body) = post(&server, &a, &other).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::CONFLICT, "message_id_conflict"));

    // Tampered upload: nothing kept, still awaiting upload; then the real one.
    let mut bad = ct.clone();
    bad[5] ^= 1;
    let (status, body) = a.upload(&server, &env.message_id, bad).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "content_mismatch"));
    let (status, body) = a.upload(&server, &env.message_id, ct[..ct.len() - 1].to_vec()).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "content_mismatch"));
    assert!(b.queued(&server).await.is_empty(), "nothing visible to the recipient");
    let (status, _) = a.upload(&server, &env.message_id, ct.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = a.upload(&server, &env.message_id, ct).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::CONFLICT, "already_uploaded"));

    // Cross-org reads: C sees nothing of A→B.
    for path in [format!("/api/v1/messages/{}", env.message_id), format!("/api/v1/messages/{}/content", env.message_id)]
    {
        let (status, _) = c.call(&server, "GET", &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // The sender cannot download or receipt its own message.
    let (status, _) = a.call(&server, "GET", &format!("/api/v1/messages/{}/content", env.message_id), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A receipt for another envelope is refused; a signed refusal works.
    let (other_env, _) = a.seal_to(&server, "+15550100002", b"%PDF-z").await;
    let wrong = Receipt::make(&other_env, &b.keys.bundles, now()).unwrap();
    let (status, body) = b
        .call(
            &server,
            "POST",
            &format!("/api/v1/messages/{}/receipt", env.message_id),
            Some(&serde_json::to_value(&wrong).unwrap()),
        )
        .await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "bad_receipt"));
    let refusal = Refusal::make(&env, &b.keys.bundles, now(), RefusalReason::Policy).unwrap();
    let (status, body) = b
        .call(
            &server,
            "POST",
            &format!("/api/v1/messages/{}/reject", env.message_id),
            Some(&serde_json::to_value(&refusal).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected");
    let (_, msg) = a.call(&server, "GET", &format!("/api/v1/messages/{}", env.message_id), None).await;
    let stored: Refusal = serde_json::from_value(msg["refusal"].clone()).unwrap();
    stored.verify(&env, &b.keys.bundles[0].bundle).unwrap();
    server.stop().await;
}

#[tokio::test]
async fn signed_request_failures_each_have_their_code() {
    let server = TestServer::start().await;
    let a = TestOrg::redeem(&server, "A", &["+15550100001"]).await;
    let path = "/api/v1/messages?box=inbox";
    let send = |h: &request::SignedHeaders, method: reqwest::Method, path: &str, body: Vec<u8>| {
        let mut req = server.client.request(method, server.url(path));
        for (k, v) in h.pairs() {
            req = req.header(k, v);
        }
        req.header("content-type", "application/json").body(body).send()
    };
    let code = |r: reqwest::Response| async move {
        let s = r.status();
        let v: Value = r.json().await.unwrap();
        (s, v["error"]["code"].as_str().unwrap_or_default().to_owned())
    };
    let unauth = |c: &str| (StatusCode::UNAUTHORIZED, c.to_owned());

    let res = server.client.get(server.url(path)).send().await.unwrap();
    assert_eq!(code(res).await, unauth("unauthenticated"));

    // Replay.
    let h = a.sign("GET", path, Body::Bytes(b""));
    assert_eq!(send(&h, reqwest::Method::GET, path, vec![]).await.unwrap().status(), StatusCode::OK);
    assert_eq!(code(send(&h, reqwest::Method::GET, path, vec![]).await.unwrap()).await, unauth("replayed_request"));

    // Stale timestamp.
    let h = request::sign_request(&a.api, "GET", path, now() - 301, Body::Bytes(b"")).unwrap();
    assert_eq!(code(send(&h, reqwest::Method::GET, path, vec![]).await.unwrap()).await, unauth("timestamp_skew"));

    // Changed method / path.
    let h = a.sign("GET", path, Body::Bytes(b""));
    assert_eq!(
        code(send(&h, reqwest::Method::GET, "/api/v1/messages?box=outbox", vec![]).await.unwrap()).await,
        unauth("bad_request_signature")
    );
    let h = a.sign("POST", path, Body::Bytes(b""));
    assert_eq!(
        code(send(&h, reqwest::Method::GET, path, vec![]).await.unwrap()).await,
        unauth("bad_request_signature")
    );

    // Changed body.
    let h = a.sign("POST", "/api/v1/messages", Body::Bytes(b"{}"));
    assert_eq!(
        code(send(&h, reqwest::Method::POST, "/api/v1/messages", b"{ }".to_vec()).await.unwrap()).await,
        unauth("body_hash_mismatch")
    );
    // UNSIGNED-PAYLOAD outside the upload.
    let h = a.sign("POST", "/api/v1/messages", Body::Unsigned);
    assert_eq!(
        code(send(&h, reqwest::Method::POST, "/api/v1/messages", b"{}".to_vec()).await.unwrap()).await,
        unauth("body_hash_mismatch")
    );

    // Unknown key.
    let stranger = fxe_protocol::apikey::ApiKey::generate().unwrap();
    let h = request::sign_request(&stranger, "GET", path, now(), Body::Bytes(b"")).unwrap();
    assert_eq!(code(send(&h, reqwest::Method::GET, path, vec![]).await.unwrap()).await, unauth("unknown_key"));

    // Revoked key.
    sqlx::query("UPDATE api_keys SET revoked_at = 1 WHERE key_id = $1")
        .bind(a.api.key_id())
        .execute(server.state.db.pool())
        .await
        .unwrap();
    let h = a.sign("GET", path, Body::Bytes(b""));
    assert_eq!(code(send(&h, reqwest::Method::GET, path, vec![]).await.unwrap()).await, unauth("key_revoked"));
    server.stop().await;
}

#[tokio::test]
async fn redemption_rules() {
    let server = TestServer::start().await;
    let _a = TestOrg::redeem(&server, "A", &["+15550100001"]).await;
    let redeem = |body: Value| {
        let req = server.client.post(server.url("/api/v1/invites/redeem")).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status();
            let v: Value = r.json().await.unwrap();
            (s, v["error"]["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    let fresh = |token: &str, numbers: &[&str]| {
        let identity = fxe_protocol::ids::IdentityKey::generate().unwrap();
        let bundle = fxe_protocol::bundle::BundleKeys::generate(&identity, now()).unwrap();
        let api = fxe_protocol::apikey::ApiKey::generate().unwrap();
        let numbers: Vec<String> = numbers.iter().map(|s| s.to_string()).collect();
        redeem_body(token, "B", &numbers, &identity, &bundle, &api)
    };

    let token = invite(&server, &["+15550100005"]).await;
    assert_eq!(
        redeem(fresh(&token, &["+15550100006"])).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "number_not_in_invite".into())
    );
    let token = invite(&server, &[]).await;
    assert_eq!(redeem(fresh(&token, &["+15550100001"])).await, (StatusCode::CONFLICT, "number_taken".into()));
    assert_eq!(redeem(fresh(&token, &[ECHO_NUMBER])).await, (StatusCode::CONFLICT, "number_taken".into()));
    // E.164 in shape but no country's number (issue 15, finding 8): refused, nothing registered.
    for bad in ["+155598", "+155512300001", "+12021550143"] {
        assert_eq!(redeem(fresh(&token, &[bad])).await, (StatusCode::UNPROCESSABLE_ENTITY, "invalid_number".into()));
    }
    // A proof over different claims.
    let mut body = fresh(&token, &["+15550100007"]);
    body["org_name"] = "Someone else".into();
    assert_eq!(redeem(body).await, (StatusCode::UNPROCESSABLE_ENTITY, "bad_proof".into()));
    // A bundle of another identity.
    let mut body = fresh(&token, &["+15550100007"]);
    body["bundle"] = fresh(&token, &["+15550100007"])["bundle"].clone();
    assert_eq!(redeem(body).await.1, "bad_bundle");
    // A bundle dated two days ahead of the relay's clock.
    let identity = fxe_protocol::ids::IdentityKey::generate().unwrap();
    let bundle = fxe_protocol::bundle::BundleKeys::generate(&identity, now() + 2 * 86_400).unwrap();
    let api = fxe_protocol::apikey::ApiKey::generate().unwrap();
    let body = redeem_body(&token, "B", &["+15550100007".to_string()], &identity, &bundle, &api);
    assert_eq!(redeem(body).await, (StatusCode::UNPROCESSABLE_ENTITY, "bad_bundle".into()));
    // Nothing of the failures was kept: the token still works, once.
    assert_eq!(redeem(fresh(&token, &["+15550100007"])).await.0, StatusCode::CREATED);
    assert_eq!(redeem(fresh(&token, &["+15550100008"])).await, (StatusCode::GONE, "invite_used".into()));
    // Revoked invite.
    let operator = fxe_server::db::audit::Actor::operator_cli();
    let now_ms = server.state.clock.now_ms();
    let (inv, token) =
        fxe_server::db::invites::create(&server.state.db, &[], 86_400, "", &operator, now_ms).await.unwrap();
    fxe_server::db::invites::revoke(&server.state.db, &inv.id, &operator, now_ms).await.unwrap();
    assert_eq!(redeem(fresh(&token, &["+15550100009"])).await, (StatusCode::GONE, "invite_revoked".into()));
    // Malformed JSON and unknown fields.
    let r = server
        .client
        .post(server.url("/api/v1/invites/redeem"))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let mut body = fresh(&token, &["+15550100009"]);
    body["extra"] = 1.into();
    assert_eq!(redeem(body).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    server.stop().await;
}

/// Two orgs redeeming different invites at the same moment for one number:
/// one gets it, the other a clean `409 number_taken` (on PostgreSQL the two
/// transactions really run side by side), and the loser's invite still works.
#[tokio::test]
async fn racing_redemptions_for_one_number() {
    let server = TestServer::start().await;
    for round in 0..5 {
        let number = format!("+1555011{round:04}");
        let mut bodies = Vec::new();
        for _ in 0..2 {
            let token = invite(&server, &[]).await;
            let identity = fxe_protocol::ids::IdentityKey::generate().unwrap();
            let bundle = fxe_protocol::bundle::BundleKeys::generate(&identity, now()).unwrap();
            let api = fxe_protocol::apikey::ApiKey::generate().unwrap();
            bodies.push(redeem_body(&token, "Racer", std::slice::from_ref(&number), &identity, &bundle, &api));
        }
        let send = |body: &Value| server.client.post(server.url("/api/v1/invites/redeem")).json(body).send();
        let (r1, r2) = tokio::join!(send(&bodies[0]), send(&bodies[1]));
        let mut statuses = [r1.unwrap().status(), r2.unwrap().status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "round {round}");
    }
    server.stop().await;
}

#[tokio::test]
async fn polling_feed_and_expiry() {
    let server = TestServer::start_configured(|config| config.message_ttl = Duration::from_secs(2)).await;
    let a = TestOrg::redeem(&server, "A", &["+15550100001"]).await;
    let b = TestOrg::redeem(&server, "B", &["+15550100002"]).await;
    let first = a.send(&server, "+15550100002", b"%PDF-1").await;
    let second = a.send(&server, "+15550100002", b"%PDF-2").await;

    // The ascending feed, resumed from the last updated_at seen.
    let (status, page) = b
        .call(&server, "GET", "/api/v1/messages?box=inbox&updated_since=2000-01-01T00:00:00Z&order=asc&limit=1", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["message_id"], first);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, page2) = b
        .call(
            &server,
            "GET",
            &format!("/api/v1/messages?box=inbox&updated_since=2000-01-01T00:00:00Z&order=asc&limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(page2["items"][0]["message_id"], second);
    assert!(page2["next_cursor"].is_null());
    let since = page2["items"][0]["updated_at"].as_str().unwrap().to_owned();
    let (_, page3) =
        b.call(&server, "GET", &format!("/api/v1/messages?box=inbox&updated_since={since}&order=asc"), None).await;
    assert_eq!(page3["items"].as_array().unwrap().len(), 1, "inclusive: the last one seen again, nothing missed");

    // Past the TTL, the sweeper expires both and deletes their ciphertext.
    server.state.clock.advance(Duration::from_secs(3));
    let report = fxe_server::housekeeping::sweep_once(&server.state).await.unwrap();
    assert_eq!(report.expired, 2);
    let (status, body) = b.call(&server, "GET", &format!("/api/v1/messages/{first}/content"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::GONE, Some("gone")));
    let (_, msg) = a.call(&server, "GET", &format!("/api/v1/messages/{first}"), None).await;
    assert_eq!(msg["status"], "expired");
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE event_type = 'message.expired'")
        .fetch_one(server.state.db.pool())
        .await
        .unwrap();
    assert_eq!(events, 4, "both orgs hear of each expiry");
    server.stop().await;
}

/// A blob store that fails (here: its staging folder replaced by a file, as
/// a read-only or full disk would) answers 503 `storage_unavailable` with
/// `Retry-After`, keeps nothing, and the same upload succeeds once the store
/// is back. (The failure is made on the local folder, so this test always
/// runs on it, also under `FXE_TEST_BLOB_STORE`.)
#[tokio::test]
async fn storage_failure_is_503_then_the_upload_succeeds() {
    let server = TestServer::start_configured(|c| c.storage.blob_store = None).await;
    let a = TestOrg::redeem(&server, "A", &["+15550100001"]).await;
    let _b = TestOrg::redeem(&server, "B", &["+15550100002"]).await;
    let (env, ct) = a.seal_to(&server, "+15550100002", &pdf(200_000)).await;
    let (status, _) = a.call(&server, "POST", "/api/v1/messages", Some(&json!({ "envelope": env }))).await;
    assert_eq!(status, StatusCode::CREATED);

    let tmp = server.state.config.storage.blobs_dir().join("tmp");
    let parked = tmp.with_extension("parked");
    std::fs::rename(&tmp, &parked).unwrap();
    std::fs::write(&tmp, b"not a folder").unwrap();
    let path = format!("/api/v1/messages/{}/content", env.message_id);
    let h = a.sign("PUT", &path, Body::Bytes(&ct));
    let mut req = server.client.put(server.url(&path)).body(ct.clone());
    for (k, v) in h.pairs() {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "storage_unavailable");

    std::fs::remove_file(&tmp).unwrap();
    std::fs::rename(&parked, &tmp).unwrap();
    let (status, msg) = a.upload(&server, &env.message_id, ct).await;
    assert_eq!(status, StatusCode::OK, "{msg}");
    assert_eq!(msg["status"], "queued");
}

/// JSON bodies larger than 1 MiB are refused with 413 `too_large` on the
/// calls anyone may make (redeem, recover) as on signed ones, and a signed
/// request whose signature headers appear twice is refused with 400.
#[tokio::test]
async fn oversize_bodies_and_duplicate_signature_headers_are_refused() {
    let server = TestServer::start().await;
    let a = TestOrg::redeem(&server, "A", &["+15550100001"]).await;
    let big = json!({ "email": "x".repeat(1_500_000) });
    for path in ["/api/v1/auth/recover", "/api/v1/invites/redeem"] {
        let res = server
            .client
            .post(server.url(path))
            .header("origin", server.base_url.as_str())
            .json(&big)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "too_large", "{path}");
    }

    let path = "/api/v1/org";
    let h = a.sign("GET", path, Body::Bytes(b""));
    let mut req = server.client.get(server.url(path));
    for (k, v) in h.pairs() {
        req = req.header(k, v);
    }
    let ok = req.try_clone().unwrap().send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let twice = req.header("X-FXE-Key", "ak_000000000000000000000000").send().await.unwrap();
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    let body: Value = twice.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("X-FXE-Key appears more than once"), "{body}");
}
