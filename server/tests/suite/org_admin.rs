//! The org's own calls (API.md, The org) against a real relay: `GET /org`,
//! numbers, bundles, API keys, team, audit; scopes and roles; isolation
//! between orgs; `Idempotency-Key`; the rate limit; `/metrics` and the
//! OpenAPI document. Runs on SQLite, or on PostgreSQL when
//! `FXE_TEST_DATABASE_URL` is set.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::org_admin_support;

use std::time::Duration;

use common::TestServer;
use fxe_protocol::{apikey::ApiKey, ids::IdentityKey};
use org_admin_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const A1: &str = "+15550100001";
const B1: &str = "+15550200001";

async fn two_orgs(server: &TestServer) -> (TestOrg, TestOrg) {
    let a = TestOrg::redeem(server, "Praxis Alpha", &[A1]).await;
    let b = TestOrg::redeem(server, "Kanzlei Beta", &[B1]).await;
    (a, b)
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().expect("a page of items")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_view_and_number_claims() {
    let server = TestServer::start().await;
    let (a, b) = two_orgs(&server).await;

    let org = call(&server, &a, "GET", "/api/v1/org", None).await;
    let org = org.expect(StatusCode::OK);
    assert_eq!(org["org_id"], a.org_id());
    assert_eq!(org["org_name"], "Praxis Alpha");
    assert_eq!(
        org["numbers"],
        json!([{ "number": A1, "status": "active", "created_at": org["numbers"][0]["created_at"] }])
    );
    assert_eq!(org["active_bundle"]["bundle_id"], a.bundles[0].bundle.bundle_id);
    assert_eq!(org["fingerprint"].as_str().unwrap().len(), 71, "8 groups of 8 hex characters");
    assert_eq!(org["counts"]["users"], 1);
    assert_eq!(org["counts"]["api_keys"], 1);
    assert_eq!(org["disabled"], false);

    // A claim, loosely formatted: pending until the operator approves it.
    let claim = call(&server, &a, "POST", "/api/v1/numbers", Some(&json!({ "number": "+1 (555) 010-0002" }))).await;
    let claimed = claim.expect(StatusCode::CREATED);
    assert_eq!((claimed["number"].as_str(), claimed["status"].as_str()), (Some("+15550100002"), Some("pending")));
    // Claiming it again answers the same claim.
    let again = call(&server, &a, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550100002" }))).await;
    assert_eq!(again.expect(StatusCode::OK)["status"], "pending");
    // A pending number is not in the directory.
    let lookup = call(&server, &b, "GET", "/api/v1/directory/%2B15550100002", None).await;
    lookup.expect_error(StatusCode::NOT_FOUND, "not_on_network");

    // Nobody else can take a number another org holds or claims.
    for n in ["+15550100002", A1, "+1 555 010 0001"] {
        call(&server, &b, "POST", "/api/v1/numbers", Some(&json!({ "number": n })))
            .await
            .expect_error(StatusCode::CONFLICT, "number_taken");
    }
    call(&server, &b, "POST", "/api/v1/numbers", Some(&json!({ "number": fxe_protocol::api::ECHO_NUMBER })))
        .await
        .expect_error(StatusCode::CONFLICT, "number_taken");
    // Numbers no country has (issue 15, finding 8): too short or too long for +1, or an
    // impossible area code; checked with libphonenumber's metadata.
    for bad in
        ["5550100003", "+1 555 CALL NOW", "+0123", "", "+1 555 98", "+1 555 123 00001", "+1 012 555 0143", "+44 20"]
    {
        call(&server, &a, "POST", "/api/v1/numbers", Some(&json!({ "number": bad })))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_number");
    }
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    expect_errors(
        &server,
        &[
            (&a, "POST", "/api/v1/numbers", Some(json!({ "number": A1, "extra": 1 })), invalid, "invalid_body"),
            (&a, "POST", "/api/v1/numbers", Some(json!("+15550100003")), invalid, "invalid_body"),
            // Releasing: only one's own numbers.
            (&b, "DELETE", "/api/v1/numbers/%2B15550100002", None, StatusCode::NOT_FOUND, "not_found"),
            (&a, "DELETE", "/api/v1/numbers/not-a-number", None, invalid, "invalid_number"),
            (&a, "DELETE", "/api/v1/numbers/%FF%FE", None, StatusCode::BAD_REQUEST, "invalid_path"),
            (&a, "DELETE", "/api/v1/users/%C0", None, StatusCode::BAD_REQUEST, "invalid_path"),
        ],
    )
    .await;
    call(&server, &a, "DELETE", "/api/v1/numbers/%2B1%20555%20010%200002", None).await.expect(StatusCode::NO_CONTENT);
    call(&server, &a, "DELETE", "/api/v1/numbers/%2B15550100002", None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    // Now another org may claim it.
    call(&server, &b, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550100002" })))
        .await
        .expect(StatusCode::CREATED);

    // The claim cap.
    for i in 0..19 {
        call(&server, &a, "POST", "/api/v1/numbers", Some(&json!({ "number": format!("+1555011{i:04}") })))
            .await
            .expect(StatusCode::CREATED);
    }
    let capped = call(&server, &a, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550119999" }))).await;
    capped.expect(StatusCode::CREATED);
    call(&server, &a, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550129999" })))
        .await
        .expect_error(StatusCode::CONFLICT, "too_many_pending_numbers");

    // Releasing an active number takes it out of the directory.
    call(&server, &a, "DELETE", &format!("/api/v1/numbers/{}", path_number(A1)), None)
        .await
        .expect(StatusCode::NO_CONTENT);
    call(&server, &b, "GET", &format!("/api/v1/directory/{}", path_number(A1)), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_on_network");

    // Each change is in the audit trail, only the org's own.
    let audit = call(&server, &a, "GET", "/api/v1/audit?action=number.*", None).await;
    let actions: Vec<&str> =
        items(audit.expect(StatusCode::OK)).iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "number.claimed").count(), 21);
    assert_eq!(actions.iter().filter(|a| **a == "number.released").count(), 2);
    assert_eq!(actions[0], "number.released", "newest first");
    let b_audit = call(&server, &b, "GET", "/api/v1/audit?action=number.*", None).await;
    assert_eq!(items(b_audit.expect(StatusCode::OK)).len(), 1);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_rotation() {
    let server = TestServer::start().await;
    let (a, b) = two_orgs(&server).await;
    let old = a.bundles[0].bundle.clone();

    // Older than the active one: refused (no rollback).
    let older = bundle_for(&a, old.created_at - 5);
    call(&server, &a, "POST", "/api/v1/bundles", Some(&json!({ "bundle": older.bundle })))
        .await
        .expect_error(StatusCode::CONFLICT, "bundle_rollback");
    // Not signed by this org's identity.
    let stranger = IdentityKey::generate().unwrap();
    let foreign = fxe_protocol::bundle::BundleKeys::generate(&stranger, now()).unwrap();
    call(&server, &a, "POST", "/api/v1/bundles", Some(&json!({ "bundle": foreign.bundle })))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "bad_bundle");
    // B cannot publish A's bundle.
    let newer = bundle_for(&a, now());
    call(&server, &b, "POST", "/api/v1/bundles", Some(&json!({ "bundle": newer.bundle })))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "bad_bundle");
    // Tampered.
    let mut tampered = serde_json::to_value(&newer.bundle).unwrap();
    tampered["created_at"] = json!(newer.bundle.created_at + 1);
    call(&server, &a, "POST", "/api/v1/bundles", Some(&json!({ "bundle": tampered })))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "bad_bundle");
    // Dated far in the future (it would block every later rotation).
    let future = bundle_for(&a, now() + 3 * 86_400);
    call(&server, &a, "POST", "/api/v1/bundles", Some(&json!({ "bundle": future.bundle })))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "bad_bundle");
    call(&server, &a, "POST", "/api/v1/bundles", Some(&json!({ "bundle": { "org_id": &a.org_id() } })))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");

    // The rotation.
    let published = call(&server, &a, "POST", "/api/v1/bundles", Some(&json!({ "bundle": newer.bundle }))).await;
    let published = published.expect(StatusCode::CREATED);
    assert_eq!(published["bundle"]["bundle_id"], newer.bundle.bundle_id);
    assert_eq!(published["active"], true);
    // The same again: already active.
    call(&server, &a, "POST", "/api/v1/bundles", Some(&json!({ "bundle": newer.bundle }))).await.expect(StatusCode::OK);
    // The retired one cannot come back.
    call(&server, &a, "POST", "/api/v1/bundles", Some(&json!({ "bundle": old })))
        .await
        .expect_error(StatusCode::CONFLICT, "bundle_exists");

    let org = call(&server, &a, "GET", "/api/v1/org", None).await;
    assert_eq!(org.expect(StatusCode::OK)["active_bundle"]["bundle_id"], newer.bundle.bundle_id);
    let entry = call(&server, &b, "GET", &format!("/api/v1/directory/{}", path_number(A1)), None).await;
    assert_eq!(
        entry.expect(StatusCode::OK)["bundle"]["bundle_id"],
        newer.bundle.bundle_id,
        "the directory hands out the new bundle"
    );
    let list = call(&server, &b, "GET", &format!("/api/v1/orgs/{}/bundles", &a.org_id()), None).await;
    let list = items(list.expect(StatusCode::OK));
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0]["bundle"]["bundle_id"].as_str(), list[0]["active"].as_bool()),
        (Some(newer.bundle.bundle_id.as_str()), Some(true))
    );
    assert_eq!(
        (list[1]["bundle"]["bundle_id"].as_str(), list[1]["active"].as_bool()),
        (Some(old.bundle_id.as_str()), Some(false))
    );
    assert!(list[1]["retired_at"].is_string());

    // bundle.rotated fired for A; audited.
    let events =
        count(&server, "SELECT COUNT(*) FROM events WHERE org_id = $1 AND event_type = 'bundle.rotated'", &a.org_id())
            .await;
    assert_eq!(events, 1);
    let audit = call(&server, &a, "GET", "/api/v1/audit?action=bundle.published&limit=1", None).await;
    let entry = &items(audit.expect(StatusCode::OK))[0];
    assert_eq!(entry["target"], newer.bundle.bundle_id);
    assert_eq!(entry["detail"]["retired_bundle_id"], old.bundle_id);
    assert_eq!(entry["actor"]["type"], "api_key");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_scopes_and_isolation() {
    let server = TestServer::start().await;
    let (a, b) = two_orgs(&server).await;

    let send_only = ApiKey::generate().unwrap();
    let created = call(
        &server,
        &a,
        "POST",
        "/api/v1/api-keys",
        Some(&key_registration(&a.org_id(), &send_only, &["send"], "fax gateway")),
    )
    .await;
    let created = created.expect(StatusCode::CREATED);
    assert_eq!(created["key_id"], send_only.key_id());
    assert_eq!(created["scopes"], json!(["send"]));
    assert_eq!(created["label"], "fax gateway");
    assert!(created["revoked_at"].is_null());

    // The same key again, anywhere: 409.
    call(&server, &a, "POST", "/api/v1/api-keys", Some(&key_registration(&a.org_id(), &send_only, &["send"], "")))
        .await
        .expect_error(StatusCode::CONFLICT, "key_exists");
    // A proof made for another org, or other scopes, does not verify.
    let other = ApiKey::generate().unwrap();
    call(&server, &b, "POST", "/api/v1/api-keys", Some(&key_registration(&a.org_id(), &other, &["send"], "")))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "bad_proof");
    let mut widened = key_registration(&a.org_id(), &other, &["send"], "");
    widened["scopes"] = json!(["send", "admin"]);
    call(&server, &a, "POST", "/api/v1/api-keys", Some(&widened))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "bad_proof");
    let mut garbled = key_registration(&a.org_id(), &other, &["send"], "");
    garbled["public_key"] = json!("not-a-key");
    call(&server, &a, "POST", "/api/v1/api-keys", Some(&garbled))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "bad_proof");
    for scopes in [json!([]), json!(["send", "send"]), json!(["root"])] {
        let mut body = key_registration(&a.org_id(), &other, &["send"], "");
        body["scopes"] = scopes;
        call(&server, &a, "POST", "/api/v1/api-keys", Some(&body))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    }
    let mut long_label = key_registration(&a.org_id(), &other, &["send"], "");
    long_label["label"] = json!("x".repeat(201));
    call(&server, &a, "POST", "/api/v1/api-keys", Some(&long_label))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");

    // A send-only key: the org view and sending, nothing of the admin's.
    signed(&server, &send_only, "GET", "/api/v1/org", None, &[]).await.expect(StatusCode::OK);
    for (method, path, body) in [
        ("GET", "/api/v1/api-keys", None),
        ("POST", "/api/v1/api-keys", Some(key_registration(&a.org_id(), &other, &["send"], ""))),
        ("DELETE", &*format!("/api/v1/api-keys/{}", a.api.key_id()), None),
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", Some(json!({ "email": "x@example.org", "role": "admin" }))),
        ("GET", "/api/v1/audit", None),
        ("POST", "/api/v1/numbers", Some(json!({ "number": "+15550100009" }))),
        ("DELETE", &*format!("/api/v1/numbers/{}", path_number(A1)), None),
        ("POST", "/api/v1/bundles", Some(json!({ "bundle": bundle_for(&a, now()).bundle }))),
    ] {
        signed(&server, &send_only, method, path, body.as_ref(), &[])
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
    }

    // Listing: A sees its two keys, newest first; B only its own.
    let list = call(&server, &a, "GET", "/api/v1/api-keys", None).await;
    let keys = items(list.expect(StatusCode::OK));
    assert_eq!(keys.iter().map(|k| k["key_id"].as_str().unwrap()).collect::<Vec<_>>().len(), 2);
    assert!(keys.iter().any(|k| k["key_id"] == send_only.key_id()));
    let list = call(&server, &b, "GET", "/api/v1/api-keys", None).await;
    let keys = items(list.expect(StatusCode::OK));
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["key_id"], b.api.key_id());
    // Pagination.
    let page = call(&server, &a, "GET", "/api/v1/api-keys?limit=1", None).await;
    let page = page.expect(StatusCode::OK);
    assert_eq!(items(page).len(), 1);
    let cursor = page["next_cursor"].as_str().expect("a second page").to_owned();
    let next = call(&server, &a, "GET", &format!("/api/v1/api-keys?limit=1&cursor={cursor}"), None).await;
    let next = next.expect(StatusCode::OK);
    assert_eq!(items(next).len(), 1);
    assert_ne!(items(next)[0]["key_id"], items(page)[0]["key_id"]);
    assert!(next["next_cursor"].is_null());
    let path = format!("/api/v1/api-keys/{}", send_only.key_id());
    expect_errors(
        &server,
        &[
            (&a, "GET", "/api/v1/api-keys?limit=0", None, StatusCode::BAD_REQUEST, "invalid_query"),
            (&a, "GET", "/api/v1/api-keys?cursor=%21%21", None, StatusCode::BAD_REQUEST, "invalid_query"),
            (&a, "GET", "/api/v1/api-keys?sort=up", None, StatusCode::BAD_REQUEST, "invalid_query"),
            // Revoking: B cannot touch A's key; A can, once; the key stops working.
            (&b, "DELETE", &path, None, StatusCode::NOT_FOUND, "not_found"),
            (&a, "DELETE", "/api/v1/api-keys/ak_nothex", None, StatusCode::NOT_FOUND, "not_found"),
        ],
    )
    .await;
    call(&server, &a, "DELETE", &path, None).await.expect(StatusCode::NO_CONTENT);
    call(&server, &a, "DELETE", &path, None).await.expect(StatusCode::NO_CONTENT);
    signed(&server, &send_only, "GET", "/api/v1/org", None, &[])
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "key_revoked");
    let list = call(&server, &a, "GET", "/api/v1/api-keys", None).await;
    let revoked =
        items(list.expect(StatusCode::OK)).iter().find(|k| k["key_id"] == send_only.key_id()).unwrap().clone();
    assert!(revoked["revoked_at"].is_string());
    assert!(revoked["last_used_at"].is_string());
    let org = call(&server, &a, "GET", "/api/v1/org", None).await;
    assert_eq!(org.expect(StatusCode::OK)["counts"]["api_keys"], 1);

    let audit = call(&server, &a, "GET", "/api/v1/audit?action=api_key.*", None).await;
    let actions: Vec<&str> =
        items(audit.expect(StatusCode::OK)).iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["api_key.revoked", "api_key.created", "api_key.created"],
        "one revocation, the new key and the one made at redemption"
    );

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_invites_removal_and_sessions() {
    let server = TestServer::start().await;
    let (a, b) = two_orgs(&server).await;

    let added =
        call(&server, &a, "POST", "/api/v1/users", Some(&json!({ "email": "clerk@alpha.example", "role": "user" })))
            .await;
    let added = added.expect(StatusCode::CREATED).clone();
    let user_id = added["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(added["user"]["email"], "clerk@alpha.example");
    assert_eq!(added["user"]["role"], "user");
    let setup_url = added["setup_url"].as_str().unwrap();
    assert!(setup_url.starts_with(&format!("{}/setup/set_", server.state.config.public_origin())), "{setup_url}");

    // The link was mailed: without SMTP, to the outbox in the data directory.
    let outbox = server.state.config.storage.data_dir.join("outbox");
    let mails: Vec<String> =
        std::fs::read_dir(&outbox).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: clerk@alpha.example\r\n") && mails[0].contains(setup_url), "{}", mails[0]);
    assert!(mails[0].contains("Praxis Alpha"));

    // Errors.
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let users = "/api/v1/users";
    expect_errors(
        &server,
        &[
            (
                &a,
                "POST",
                users,
                Some(json!({ "email": "CLERK@alpha.example", "role": "admin" })),
                StatusCode::CONFLICT,
                "user_exists",
            ),
            (&a, "POST", users, Some(json!({ "email": "not an address", "role": "user" })), invalid, "invalid_email"),
            (&a, "POST", users, Some(json!({ "email": "x@alpha.example", "role": "owner" })), invalid, "invalid_body"),
            (&a, "POST", users, Some(json!({ "email": "x@alpha.example" })), invalid, "invalid_body"),
        ],
    )
    .await;
    // The same address may be in another org.
    call(&server, &b, "POST", "/api/v1/users", Some(&json!({ "email": "clerk@alpha.example", "role": "admin" })))
        .await
        .expect(StatusCode::CREATED);

    // Lists: each org its own people.
    let list = call(&server, &a, "GET", "/api/v1/users", None).await;
    let users = items(list.expect(StatusCode::OK));
    assert_eq!(users.len(), 2);
    // (Newest first by the second they were added; the two may share one.)
    assert!(users.iter().any(|u| u["id"] == user_id.as_str()));
    let admin = users.iter().find(|u| u["role"] == "admin").unwrap();
    assert_eq!(admin["email"], "admin@example.org");
    let admin_id = admin["id"].as_str().unwrap().to_owned();
    assert_eq!(items(call(&server, &b, "GET", "/api/v1/users", None).await.expect(StatusCode::OK)).len(), 2);

    // A new setup link replaces the old one.
    let old_token = setup_url.rsplit('/').next().unwrap().to_owned();
    let fresh = call(&server, &a, "POST", &format!("/api/v1/users/{user_id}/setup-link"), None).await;
    let fresh = fresh.expect(StatusCode::CREATED);
    assert_ne!(fresh["setup_url"], added["setup_url"]);
    assert_eq!(fresh["user"]["id"], user_id.as_str());
    let live_sql = format!("SELECT COUNT(*) FROM setup_tokens WHERE token_sha256 = $1 AND expires_at > {}", now());
    let live = count(&server, &live_sql, &fxe_server::db::invites::hash_token(&old_token)).await;
    assert_eq!(live, 0, "the first link no longer works");
    call(&server, &b, "POST", &format!("/api/v1/users/{user_id}/setup-link"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    call(&server, &a, "POST", "/api/v1/users/not-an-id/setup-link", None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");

    // People with sessions: the clerk (a user) can read the org, not manage it.
    let clerk = session_for(&server, &user_id).await;
    let origin = server.state.config.public_origin();
    with_session(&server, &clerk, "GET", "/api/v1/org", None, None).await.expect(StatusCode::OK);
    with_session(&server, &clerk, "GET", "/api/v1/users", None, None)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    with_session(&server, &clerk, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550100007" })), Some(&origin))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    // The admin's session manages; a state change needs the relay's Origin.
    let admin = session_for(&server, &admin_id).await;
    with_session(&server, &admin, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550100007" })), None)
        .await
        .expect_error(StatusCode::FORBIDDEN, "bad_origin");
    with_session(&server, &admin, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550100007" })), Some(&origin))
        .await
        .expect(StatusCode::CREATED);
    let audit = call(&server, &a, "GET", "/api/v1/audit?actor=admin@example.org&limit=1", None).await;
    let entry = &items(audit.expect(StatusCode::OK))[0];
    assert_eq!(
        (entry["action"].as_str(), entry["actor"]["type"].as_str(), entry["actor"]["id"].as_str()),
        (Some("number.claimed"), Some("user"), Some(admin_id.as_str()))
    );
    assert_eq!(entry["address"], "127.0.0.1");

    // Removing: not by another org; the last admin stays; the clerk's session ends.
    call(&server, &b, "DELETE", &format!("/api/v1/users/{user_id}"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    call(&server, &a, "DELETE", &format!("/api/v1/users/{admin_id}"), None)
        .await
        .expect_error(StatusCode::CONFLICT, "last_admin");
    with_session(&server, &admin, "DELETE", &format!("/api/v1/users/{admin_id}"), None, Some(&origin))
        .await
        .expect_error(StatusCode::CONFLICT, "last_admin");
    call(&server, &a, "DELETE", &format!("/api/v1/users/{user_id}"), None).await.expect(StatusCode::NO_CONTENT);
    call(&server, &a, "DELETE", &format!("/api/v1/users/{user_id}"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    with_session(&server, &clerk, "GET", "/api/v1/org", None, None)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let revoked =
        count(&server, "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NOT NULL", &user_id).await;
    assert_eq!(revoked, 1);
    let usable_sql =
        format!("SELECT COUNT(*) FROM setup_tokens WHERE user_id = $1 AND used_at IS NULL AND expires_at > {}", now());
    let usable = count(&server, &usable_sql, &user_id).await;
    assert_eq!(usable, 0, "a removed user's setup links stop working");
    call(&server, &a, "POST", &format!("/api/v1/users/{user_id}/setup-link"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(items(call(&server, &a, "GET", "/api/v1/users", None).await.expect(StatusCode::OK)).len(), 1);

    // A second admin may remove the first.
    let second =
        call(&server, &a, "POST", "/api/v1/users", Some(&json!({ "email": "boss@alpha.example", "role": "admin" })))
            .await;
    assert_eq!(second.expect(StatusCode::CREATED)["user"]["role"], "admin");
    call(&server, &a, "DELETE", &format!("/api/v1/users/{admin_id}"), None).await.expect(StatusCode::NO_CONTENT);

    // Events for webhooks.
    let added =
        count(&server, "SELECT COUNT(*) FROM events WHERE org_id = $1 AND event_type = 'org.user.added'", &a.org_id())
            .await;
    let removed = count(
        &server,
        "SELECT COUNT(*) FROM events WHERE org_id = $1 AND event_type = 'org.user.removed'",
        &a.org_id(),
    )
    .await;
    assert_eq!((added, removed), (2, 2));

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_trail_filters_and_pages() {
    let server = TestServer::start().await;
    let (a, b) = two_orgs(&server).await;
    for i in 0..5 {
        call(&server, &a, "POST", "/api/v1/numbers", Some(&json!({ "number": format!("+1555013000{i}") })))
            .await
            .expect(StatusCode::CREATED);
    }

    let all = call(&server, &a, "GET", "/api/v1/audit", None).await;
    let all = items(all.expect(StatusCode::OK)).clone();
    // Redemption (4 rows) and the five claims.
    assert_eq!(all.len(), 9, "{all:?}");
    assert!(all.iter().all(|e| e["at"].as_str().unwrap().ends_with('Z')));
    let times: Vec<&str> = all.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    assert_eq!(all[0]["actor"], json!({ "type": "api_key", "id": a.api.key_id(), "label": "created at redemption" }));

    // Pages of two cover everything once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=2&cursor={c}"),
            None => "/api/v1/audit?limit=2".into(),
        };
        let page = call(&server, &a, "GET", &path, None).await;
        let page = page.expect(StatusCode::OK).clone();
        seen.extend(items(&page).iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, all.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>());

    // Filters.
    let by_action = call(&server, &a, "GET", "/api/v1/audit?action=org.redeemed", None).await;
    assert_eq!(items(by_action.expect(StatusCode::OK)).len(), 1);
    let by_prefix = call(&server, &a, "GET", "/api/v1/audit?action=number.*", None).await;
    assert_eq!(items(by_prefix.expect(StatusCode::OK)).len(), 5);
    let by_key = call(&server, &a, "GET", &format!("/api/v1/audit?actor={}", a.api.key_id()), None).await;
    assert_eq!(items(by_key.expect(StatusCode::OK)).len(), 5);
    let by_kind = call(&server, &a, "GET", "/api/v1/audit?actor=user", None).await;
    assert_eq!(items(by_kind.expect(StatusCode::OK)).len(), 4, "redemption is done by the admin");
    let none = call(&server, &a, "GET", "/api/v1/audit?action=number.claimed&actor=user", None).await;
    assert!(items(none.expect(StatusCode::OK)).is_empty());
    for bad in ["action=", "action=DROP%20TABLE", "action=%25", "limit=501", "cursor=abc", "actor=", "verbose=1"] {
        call(&server, &a, "GET", &format!("/api/v1/audit?{bad}"), None)
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_query");
    }

    // B sees none of A's trail, even with A's ids as filters.
    let b_view = call(&server, &b, "GET", &format!("/api/v1/audit?actor={}", a.api.key_id()), None).await;
    assert!(items(b_view.expect(StatusCode::OK)).is_empty());
    let b_all = call(&server, &b, "GET", "/api/v1/audit", None).await;
    assert!(items(b_all.expect(StatusCode::OK)).iter().all(|e| e["actor"]["id"] != a.api.key_id()));

    server.stop().await;
}

/// Makes the record of `key` (used by `api`) `secs` older.
async fn age_idempotency_record(server: &TestServer, key: &str, api: &ApiKey, secs: i64) {
    let n = sqlx::query("UPDATE idempotency_keys SET created_at = created_at - $1 WHERE idem_key = $2 AND scope = $3")
        .bind(secs)
        .bind(fxe_server::http::idempotency::key_hash(key))
        .bind(format!("principal:{}", api.key_id()))
        .execute(server.state.db.pool())
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys() {
    let server = TestServer::start().await;
    let (a, b) = two_orgs(&server).await;
    let body = json!({ "email": "once@alpha.example", "role": "user" });

    let first =
        signed(&server, &a.api, "POST", "/api/v1/users", Some(&body), &[("Idempotency-Key", "add-once-1")]).await;
    let first_body = first.expect(StatusCode::CREATED).clone();
    assert!(first.headers.get("idempotency-replayed").is_none());
    // The same request again: the first answer, setup link and all; no second user.
    let again =
        signed(&server, &a.api, "POST", "/api/v1/users", Some(&body), &[("Idempotency-Key", "add-once-1")]).await;
    assert_eq!(again.expect(StatusCode::CREATED), &first_body);
    assert_eq!(again.headers["idempotency-replayed"], "true");
    assert_eq!(again.headers["content-type"], "application/json");
    assert_eq!(count(&server, "SELECT COUNT(*) FROM users WHERE email = $1", "once@alpha.example").await, 1);
    // The stored answer is not readable from the database.
    let stored: Vec<String> = sqlx::query_scalar("SELECT response_json FROM idempotency_keys")
        .fetch_all(server.state.db.pool())
        .await
        .unwrap();
    assert!(!stored.is_empty() && stored.iter().all(|s| !s.contains("setup")), "{stored:?}");

    // Another body with the key: 409. Another path: 409.
    let other = json!({ "email": "twice@alpha.example", "role": "user" });
    signed(&server, &a.api, "POST", "/api/v1/users", Some(&other), &[("Idempotency-Key", "add-once-1")])
        .await
        .expect_error(StatusCode::CONFLICT, "idempotency_key_reused");
    signed(
        &server,
        &a.api,
        "POST",
        "/api/v1/numbers",
        Some(&json!({ "number": "+15550100005" })),
        &[("Idempotency-Key", "add-once-1")],
    )
    .await
    .expect_error(StatusCode::CONFLICT, "idempotency_key_reused");
    // Keys are per principal: B's key of the same name is its own.
    signed(&server, &b.api, "POST", "/api/v1/users", Some(&body), &[("Idempotency-Key", "add-once-1")])
        .await
        .expect(StatusCode::CREATED);
    // Errors are answers too: the same 4xx again.
    let claim_a1 = json!({ "number": A1 });
    let b_claims_a1 =
        || signed(&server, &b.api, "POST", "/api/v1/numbers", Some(&claim_a1), &[("Idempotency-Key", "k2")]);
    let conflict = b_claims_a1().await;
    conflict.expect_error(StatusCode::CONFLICT, "number_taken");
    let replayed = b_claims_a1().await;
    replayed.expect_error(StatusCode::CONFLICT, "number_taken");
    assert_eq!(replayed.headers["idempotency-replayed"], "true");

    // Bad keys.
    let long = "k".repeat(256);
    signed(&server, &a.api, "POST", "/api/v1/users", Some(&other), &[("Idempotency-Key", &long)])
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    signed(&server, &a.api, "POST", "/api/v1/users", Some(&other), &[("Idempotency-Key", "")])
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    let max = "k".repeat(255);
    signed(&server, &a.api, "POST", "/api/v1/users", Some(&other), &[("Idempotency-Key", &max)])
        .await
        .expect(StatusCode::CREATED);

    // While the first request with a key runs, a repeat is 409; a record
    // left running by a stopped relay is taken over after five minutes.
    let pending = json!({ "number": "+15550100006" });
    let bytes = serde_json::to_vec(&pending).unwrap();
    let digest = fxe_server::http::idempotency::request_digest("POST", "/api/v1/numbers", &bytes);
    let scope = fxe_server::http::idempotency::scope(Some(a.api.key_id()), &digest);
    let insert = "INSERT INTO idempotency_keys (scope, idem_key, request_sha256, status_code, response_json, created_at) VALUES ($1, $2, $3, 0, NULL, $4)";
    sqlx::query(insert)
        .bind(&scope)
        .bind(fxe_server::http::idempotency::key_hash("running"))
        .bind(hex::encode(digest))
        .bind(i64::try_from(now()).unwrap())
        .execute(server.state.db.pool())
        .await
        .unwrap();
    signed(&server, &a.api, "POST", "/api/v1/numbers", Some(&pending), &[("Idempotency-Key", "running")])
        .await
        .expect_error(StatusCode::CONFLICT, "idempotency_in_progress");
    age_idempotency_record(&server, "running", &a.api, 301).await;
    signed(&server, &a.api, "POST", "/api/v1/numbers", Some(&pending), &[("Idempotency-Key", "running")])
        .await
        .expect(StatusCode::CREATED);
    // Older than 24 h: forgotten, the request runs again.
    age_idempotency_record(&server, "add-once-1", &a.api, 86_400).await;
    signed(&server, &a.api, "POST", "/api/v1/users", Some(&body), &[("Idempotency-Key", "add-once-1")])
        .await
        .expect_error(StatusCode::CONFLICT, "user_exists");
    age_idempotency_record(&server, "k2", &b.api, 86_400).await;
    assert_eq!(
        fxe_server::db::idempotency::purge_expired(&server.state.db, server.state.clock.now_secs()).await.unwrap(),
        1
    );

    // GET ignores the header.
    signed(&server, &a.api, "GET", "/api/v1/org", None, &[("Idempotency-Key", &long)]).await.expect(StatusCode::OK);

    // Redemption (no credentials): a retry with the same key and body gets the first answer.
    let operator = fxe_server::db::audit::Actor::operator_cli();
    let (_, token) =
        fxe_server::db::invites::create(&server.state.db, &[], 3600, "", &operator, server.state.clock.now_ms())
            .await
            .unwrap();
    let identity = IdentityKey::generate().unwrap();
    let bundle = fxe_protocol::bundle::BundleKeys::generate(&identity, now()).unwrap();
    let api = ApiKey::generate().unwrap();
    let redeem = redeem_body(&token, "Gamma", &["+15550300001".to_string()], &identity, &bundle, &api);
    let post = |key: &'static str| {
        server.client.post(server.url("/api/v1/invites/redeem")).header("Idempotency-Key", key).json(&redeem).send()
    };
    let first = post("redeem-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let retry = post("redeem-1").await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    // Another org under another key: the invite is used.
    let stranger = IdentityKey::generate().unwrap();
    let stranger_bundle = fxe_protocol::bundle::BundleKeys::generate(&stranger, now()).unwrap();
    let stranger_body = redeem_body(&token, "Gamma", &["+15550300001".to_string()], &stranger, &stranger_bundle, &api);
    let other_key = server
        .client
        .post(server.url("/api/v1/invites/redeem"))
        .header("Idempotency-Key", "redeem-2")
        .json(&stranger_body)
        .send()
        .await
        .unwrap();
    assert_eq!(other_key.status(), StatusCode::GONE, "without the key, the invite is used");
    // Unauthenticated failures are not kept (anyone could fill the table with them).
    let kept = count(&server, "SELECT COUNT(*) FROM idempotency_keys WHERE scope LIKE $1", "request:%").await;
    assert_eq!(kept, 1, "only the successful redemption");
    // The same org's redemption under another key is a retry (docs/api.md): a new setup link.
    let retried = post("redeem-3").await.unwrap();
    assert_eq!(retried.status(), StatusCode::CREATED);
    assert_ne!(retried.json::<Value>().await.unwrap()["setup_url"], first["setup_url"]);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_per_key_and_session() {
    let server = TestServer::start_configured(|config| config.rate_limit_per_minute = 5).await;
    let (a, b) = two_orgs(&server).await;

    for _ in 0..5 {
        call(&server, &a, "GET", "/api/v1/org", None).await.expect(StatusCode::OK);
    }
    let limited = call(&server, &a, "GET", "/api/v1/org", None).await;
    limited.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry_after), "{retry_after}");
    // Other principals are not affected; one key's limit is not the org's.
    call(&server, &b, "GET", "/api/v1/org", None).await.expect(StatusCode::OK);
    let users = call(&server, &b, "GET", "/api/v1/users", None).await;
    let admin_id = items(users.expect(StatusCode::OK))[0]["id"].as_str().unwrap().to_owned();
    let session = session_for(&server, &admin_id).await;
    for _ in 0..5 {
        with_session(&server, &session, "GET", "/api/v1/org", None, None).await.expect(StatusCode::OK);
    }
    with_session(&server, &session, "GET", "/api/v1/org", None, None)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // A token comes back every 12 s at 5 a minute.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    call(&server, &a, "GET", "/api/v1/org", None).await.expect(StatusCode::OK);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_openapi() {
    let server = TestServer::start().await;
    let (a, _b) = two_orgs(&server).await;
    call(&server, &a, "GET", "/api/v1/org", None).await.expect(StatusCode::OK);
    call(&server, &a, "GET", "/api/v1/no-such-call", None).await.expect_error(StatusCode::NOT_FOUND, "not_found");

    let res = server.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    for needle in [
        "# TYPE fxe_http_requests_total counter",
        r#"fxe_http_requests_total{route="/api/v1/org",method="GET",status="200"}"#,
        r#"fxe_http_requests_total{route="/api/v1/invites/redeem",method="POST",status="201"}"#,
        r#"fxe_http_requests_total{route="unmatched",method="GET",status="404"}"#,
        "# TYPE fxe_messages gauge",
        r#"fxe_messages{status="queued"} "#,
        r#"fxe_messages{status="failed"} "#,
        "# TYPE fxe_upload_bytes_total counter",
        "fxe_upload_bytes_total ",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }
    assert!(!text.contains("no-such-call"), "raw paths never become labels");

    // The document, without credentials.
    let res = server.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    // Every documented call is served by the router (not the API's "no such
    // call" 404, not 405), whatever it answers without credentials.
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20);
    for (path, item) in paths {
        let concrete = path
            .replace("{number}", "%2B15550100001")
            .replace("{org_id}", &a.org_id())
            .replace("{id}", "0b8f5d1e-2c3a-4b5c-8d9e-0f1a2b3c4d5e")
            .replace("{key_id}", a.api.key_id());
        for method in
            item.as_object().unwrap().keys().filter(|m| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
        {
            let res = server
                .client
                .request(
                    reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    server.url(&format!("/api/v1{concrete}")),
                )
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !(status == StatusCode::NOT_FOUND && body["error"]["message"] == "There is no such API call."),
                "{method} {path} is documented but not routed"
            );
        }
    }

    server.stop().await;
}

/// A call with an id in its path: method, path with `{}` for the id, body, a
/// well-formed id the relay does not know, malformed ids, and whether the
/// unknown id is answered 404 (rather than a body check that comes first).
type IdFamily<'a> = (&'a str, &'a str, Option<&'a Value>, String, Vec<String>, bool);

/// Every call with an id in its path answers a malformed id exactly as it
/// answers a well-formed id it does not know (status, code and message): the
/// relay parses path ids into their types without changing what a caller
/// can tell from the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ids_answer_not_found() {
    let server = TestServer::start().await;
    let a = TestOrg::redeem(&server, "Praxis Alpha", &[A1]).await;
    let uuid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    let hex32 = "0123456789abcdef0123456789abcdef";
    let hex24 = "0123456789abcdef01234567";
    let malformed_uuids =
        ["not-a-uuid", "3F2504E0-4F89-41D3-9A0C-0305E82C3301", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"];
    let hook = json!({ "enabled": true });
    let receipt = json!({});
    let families: Vec<IdFamily<'_>> = vec![
        ("GET", "/api/v1/messages/{}", None, uuid.into(), malformed_uuids.map(String::from).to_vec(), true),
        ("GET", "/api/v1/messages/{}/content", None, uuid.into(), malformed_uuids.map(String::from).to_vec(), true),
        ("PUT", "/api/v1/messages/{}/content", None, uuid.into(), malformed_uuids.map(String::from).to_vec(), true),
        // The body is checked first, for a known and an unknown id alike.
        ("POST", "/api/v1/messages/{}/receipt", Some(&receipt), uuid.into(), vec!["nope".into()], false),
        ("POST", "/api/v1/messages/{}/reject", Some(&receipt), uuid.into(), vec!["nope".into()], false),
        ("DELETE", "/api/v1/users/{}", None, uuid.into(), malformed_uuids.map(String::from).to_vec(), true),
        ("POST", "/api/v1/users/{}/setup-link", None, uuid.into(), vec!["nope".into()], true),
        ("DELETE", "/api/v1/api-keys/{}", None, format!("ak_{hex24}"), vec!["ak_nothex".into(), "nope".into()], true),
        ("GET", "/api/v1/webhooks/{}", None, format!("wh_{hex24}"), vec!["wh_nothex".into(), "nope".into()], true),
        ("PATCH", "/api/v1/webhooks/{}", Some(&hook), format!("wh_{hex24}"), vec![format!("dl_{hex24}")], true),
        ("DELETE", "/api/v1/webhooks/{}", None, format!("wh_{hex24}"), vec!["WH_X".into()], true),
        ("POST", "/api/v1/webhooks/{}/rotate-secret", None, format!("wh_{hex24}"), vec!["nope".into()], true),
        ("POST", "/api/v1/webhooks/{}/test", None, format!("wh_{hex24}"), vec!["nope".into()], true),
        ("GET", "/api/v1/webhooks/{}/deliveries", None, format!("wh_{hex24}"), vec!["nope".into()], true),
        (
            "POST",
            "/api/v1/webhooks/{}/redeliver?since=2026-01-31T12:00:00Z",
            None,
            format!("wh_{hex24}"),
            vec!["nope".into()],
            true,
        ),
        ("POST", "/api/v1/deliveries/{}/redeliver", None, format!("dl_{hex24}"), vec![format!("wh_{hex24}")], true),
        ("GET", "/api/v1/orgs/{}", None, hex32.into(), vec![hex32.to_uppercase(), "nope".into()], true),
        ("GET", "/api/v1/orgs/{}/bundles", None, hex32.into(), vec!["nope".into()], true),
    ];
    for (method, template, body, unknown, malformed, not_found) in families {
        let unknown_path = template.replace("{}", &unknown);
        let want = call(&server, &a, method, &unknown_path, body).await;
        if not_found {
            want.expect_error_of(&format!("{method} {unknown_path}: "), StatusCode::NOT_FOUND, "not_found");
        }
        for bad in malformed {
            let path = template.replace("{}", &bad);
            let got = call(&server, &a, method, &path, body).await;
            assert_eq!(
                (got.status, &got.body),
                (want.status, &want.body),
                "{method} {path} answers as {method} {unknown_path} does"
            );
        }
    }
}
