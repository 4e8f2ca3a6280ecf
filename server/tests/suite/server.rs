//! The relay, started for real on a loopback port: health, readiness, the
//! server-rendered page, JSON errors, and what it creates on disk.
//! Runs on SQLite, or on PostgreSQL when `FXE_TEST_DATABASE_URL` is set.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::TestServer;
use fxe_server::{config::DatabaseTarget, db::Backend};
use reqwest::{StatusCode, header};
use serde_json::Value;

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let body = response.text().await.expect("body");
    assert_eq!(
        content_type.as_ref().and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "JSON expected, got {status} {body}"
    );
    (status, serde_json::from_str(&body).expect("valid JSON"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_home_page() {
    let server = TestServer::start().await;

    // The data directory, the SQLite file (unless on PostgreSQL) and the blob folder exist.
    let data_dir = &server.state.config.storage.data_dir;
    assert!(data_dir.is_dir(), "data dir created");
    if server.state.config.storage.blob_store.is_none() {
        assert!(data_dir.join("blobs").is_dir(), "blobs folder created");
    } else {
        assert!(!data_dir.join("blobs").exists(), "on S3 no local blobs folder is made");
    }
    match server.database_target() {
        DatabaseTarget::SqliteFile(path) => {
            assert_eq!(path, &data_dir.join("fxe.db"));
            assert!(path.is_file(), "SQLite database created");
            assert_eq!(server.state.db.backend(), Backend::Sqlite);
        }
        DatabaseTarget::Postgres(_) => {
            assert!(!data_dir.join("fxe.db").exists(), "no SQLite file when on PostgreSQL");
            assert_eq!(server.state.db.backend(), Backend::Postgres);
        }
        other => panic!("unexpected database target {other:?}"),
    }

    let (status, body) = json(server.get("/healthz").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({ "status": "ok" }));

    let (status, body) = json(server.get("/readyz").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["storage"], "ok");

    let home = server.get("/").await;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "HTML expected");
    assert_eq!(home.headers()["x-content-type-options"], "nosniff");
    assert_eq!(home.headers()["x-frame-options"], "DENY");
    let html = home.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html:.200}");
    assert!(html.contains("<title>Encrypted fax between organizations · fxe</title>"), "page title missing:\n{html}");
    assert!(html.contains("/pkg/fxe.js"), "hydration script missing:\n{html}");
    // The WebAssembly cargo-leptos builds (pkg/fxe.wasm), even from this plain cargo build (issue 14, finding 11).
    assert!(html.contains(r#"href="/pkg/fxe.wasm""#), "the page must load pkg/fxe.wasm:\n{html}");
    assert!(!html.contains("fxe_bg.wasm"), "pkg/fxe_bg.wasm does not exist:\n{html}");
    assert!(html.contains("hydrate"), "hydrate call missing:\n{html}");
    assert!(html.contains("/pkg/fxe.css"), "stylesheet missing:\n{html}");
    assert!(html.contains(r#"href="/redeem""#), "invite link missing");
    assert!(html.contains(r#"href="/login""#), "sign-in link missing");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_methods() {
    let server = TestServer::start().await;

    let page = server.get("/no/such/page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let html = page.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");

    let (status, body) = json(server.get("/api/v1/no-such-call").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));

    let response = server.client.post(server.url("/healthz")).send().await.unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");

    // Path traversal never reaches outside the site root.
    let response = server.get("/pkg/..%2F..%2FCargo.toml").await;
    assert!(response.status().is_client_error(), "{}", response.status());

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_storage_breaks() {
    // The failure is made on the local folder: always on it, also under FXE_TEST_BLOB_STORE.
    let server = TestServer::start_configured(|c| c.storage.blob_store = None).await;
    // Replace the blob store's temporary folder by a file: writes fail even as root.
    let tmp = server.state.config.storage.blobs_dir().join("tmp");
    std::fs::remove_dir_all(&tmp).unwrap();
    std::fs::write(&tmp, b"not a directory").unwrap();

    let (status, body) = json(server.get("/readyz").await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["storage"], "failed");
    assert_eq!(body["error"]["code"], "not_ready");
    // Liveness is unaffected.
    assert_eq!(server.get("/healthz").await.status(), StatusCode::OK);

    std::fs::remove_file(&tmp).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    assert_eq!(server.get("/readyz").await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_helpers_work_on_this_backend() {
    let server = TestServer::start().await;
    let db = &server.state.db;

    assert_eq!(db.meta_get("greeting").await.unwrap(), None);
    db.meta_set("greeting", "hello").await.unwrap();
    db.meta_set("greeting", "hello again").await.unwrap();
    assert_eq!(db.meta_get("greeting").await.unwrap().as_deref(), Some("hello again"));

    // Migrating again is a no-op.
    db.migrate().await.unwrap();
    assert_eq!(db.meta_get("greeting").await.unwrap().as_deref(), Some("hello again"));

    // A relay created when each backend had its own migrations folder
    // recorded that copy's checksum for migration 1: it still starts, and
    // its data stays.
    for legacy in fxe_server::db::LEGACY_0001_CHECKSUMS {
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
            .bind(hex::decode(legacy).unwrap())
            .execute(db.pool())
            .await
            .unwrap();
        db.migrate().await.expect("a relay from before the folders merged migrates");
        assert_eq!(db.meta_get("greeting").await.unwrap().as_deref(), Some("hello again"));
    }
    // Any other change to an applied migration is still refused.
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
        .bind(vec![0u8; 48])
        .execute(db.pool())
        .await
        .unwrap();
    assert!(db.migrate().await.is_err(), "a modified migration is refused");
    let current = fxe_server::db::MIGRATOR.iter().next().unwrap().checksum.to_vec();
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
        .bind(current)
        .execute(db.pool())
        .await
        .unwrap();

    // Concurrent write transactions serialise instead of failing.
    let writers = (0..8).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin_write().await.unwrap();
            let current: Option<String> = sqlx::query_scalar("SELECT value FROM relay_meta WHERE key = $1")
                .bind("counter")
                .fetch_optional(&mut *tx)
                .await
                .unwrap();
            let next = current.map_or(0, |v| v.parse::<i64>().unwrap()) + 1;
            sqlx::query(
                "INSERT INTO relay_meta (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind("counter")
            .bind(next.to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
            i
        })
    });
    for writer in writers {
        writer.await.unwrap();
    }
    // On PostgreSQL (READ COMMITTED) the read-then-write is not serialised by
    // BEGIN alone, so only SQLite promises the exact count here.
    let counter: i64 = db.meta_get("counter").await.unwrap().unwrap().parse().unwrap();
    if db.backend() == Backend::Sqlite {
        assert_eq!(counter, 8);
    } else {
        assert!((1..=8).contains(&counter));
    }

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_on_existing_data() {
    let server = TestServer::start().await;
    server.state.db.meta_set("kept", "yes").await.unwrap();
    let kept = server.stop_keeping_data().await;

    let again = kept.restart().await;
    assert_eq!(again.state.db.meta_get("kept").await.unwrap().as_deref(), Some("yes"));
    let (status, _) = json(again.get("/readyz").await).await;
    assert_eq!(status, StatusCode::OK);
    again.stop().await;
}
