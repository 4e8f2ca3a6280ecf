//! A relay killed (SIGKILL) in the middle of an upload: after restart nothing
//! is visible to the recipient, no partial blob is left, and the sender can
//! simply upload again.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::{path::Path, time::Duration};

use common::{
    client::{Relay, TestOrg},
    spawned::{self, Spawned, free_port},
};
use futures_util::StreamExt;
use fxe_protocol::request::Body;
use reqwest::StatusCode;
use serde_json::json;

async fn spawn(data_dir: &Path, port: u16, db_url: Option<&str>) -> Spawned {
    spawned::spawn(env!("CARGO_BIN_EXE_fxe-server"), data_dir, port, db_url, &[]).await
}

/// Data files below `dir` (not the relays' `.lock` files).
fn files_in(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| {
            if e.path().is_dir() {
                files_in(&e.path())
            } else {
                usize::from(!e.file_name().to_string_lossy().ends_with(".lock"))
            }
        })
        .sum()
}

#[tokio::test]
async fn killed_mid_upload_leaves_nothing_visible_and_no_orphan() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let pg = common::PgTestDatabase::create().await;
    let db_url = pg.as_ref().map(|p| p.url.clone());
    let port = free_port();
    let mut relay = spawn(&data, port, db_url.as_deref()).await;
    let a = TestOrg::redeem(&relay, "A", &["+15550100001"]).await;
    let b = TestOrg::redeem(&relay, "B", &["+15550100002"]).await;

    let fax: Vec<u8> = (0..6_000_000).map(|i| u8::try_from(i % 251).unwrap()).collect();
    let (env, ct) = a.seal_to(&relay, "+15550100002", &fax).await;
    let (status, body) = a.call(&relay, "POST", "/api/v1/messages", Some(&json!({ "envelope": env }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Stream the first half, then stall; kill the relay while the upload runs.
    let path = format!("/api/v1/messages/{}/content", env.message_id);
    let h = a.sign("PUT", &path, Body::Unsigned);
    let half = ct[..ct.len() / 2].to_vec();
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(half))])
        .chain(futures_util::stream::pending());
    let mut req = relay.http().put(relay.url(&path)).header("content-length", ct.len().to_string());
    for (k, v) in h.pairs() {
        req = req.header(k, v);
    }
    let upload = tokio::spawn(req.body(reqwest::Body::wrap_stream(stream)).send());
    let tmp_dir = data.join("blobs").join("tmp");
    for _ in 0..200 {
        if files_in(&tmp_dir) > 0
            && std::fs::read_dir(&tmp_dir)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".part") && e.metadata().unwrap().len() > 0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(files_in(&tmp_dir) > 0, "the upload is being staged");
    relay.kill().await;
    let _ = upload.await;

    let mut relay = spawn(&data, port, db_url.as_deref()).await;
    assert_eq!(files_in(&tmp_dir), 0, "no partial blob after restart");
    assert_eq!(files_in(&data.join("blobs").join("objects")), 0, "nothing published");
    assert!(b.queued(&relay).await.is_empty(), "nothing visible to the recipient");
    let (_, msg) = a.call(&relay, "GET", &format!("/api/v1/messages/{}", env.message_id), None).await;
    assert_eq!(msg["status"], "awaiting_upload");

    // The sender uploads again, at once, and the fax goes through.
    let (status, body) = a.upload(&relay, &env.message_id, ct).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, plaintext) = b.receive(&relay, &env.message_id).await;
    assert_eq!(plaintext, fax);

    relay.kill().await;
    if let Some(pg) = pg {
        pg.drop_database().await;
    }
}

/// Runs `fxe-server serve` on `data_dir` (with `FXE_DATABASE_URL` set to
/// `database_url` if given, else unset), expecting it to exit at once;
/// returns its stderr.
async fn refused(data_dir: &Path, database_url: Option<String>) -> String {
    let data_dir = data_dir.to_owned();
    let second = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fxe-server"));
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{}", free_port()), "--data-dir"])
            .arg(&data_dir)
            .env_remove("FXE_BLOB_STORE")
            .env("RUST_LOG", "warn");
        match database_url {
            Some(url) => cmd.env("FXE_DATABASE_URL", url),
            None => cmd.env_remove("FXE_DATABASE_URL"),
        };
        cmd.output()
    });
    let out =
        tokio::time::timeout(Duration::from_secs(60), second).await.expect("the second relay exits").unwrap().unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A second relay started on a data folder whose SQLite database another
/// relay serves exits at once with a clear error, and the first keeps serving.
#[tokio::test]
async fn a_second_relay_on_one_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = spawn(dir.path(), free_port(), None).await;
    let stderr = refused(dir.path(), None).await;
    assert!(stderr.contains("another fxe-server is already serving the database"), "{stderr}");
    let res = first.http.get(format!("{}/healthz", first.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// A second relay pointed at a blob folder another relay uses (here with a
/// database of its own, so only the folder is shared) exits at once with a
/// clear error naming the folder, and the first keeps serving.
#[tokio::test]
async fn a_second_relay_on_one_blob_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = spawn(dir.path(), free_port(), None).await;
    let other_db = tempfile::tempdir().unwrap();
    let other_url = format!("sqlite://{}?mode=rwc", other_db.path().join("other.db").display());
    let stderr = refused(dir.path(), Some(other_url)).await;
    let folder = dir.path().join("blobs");
    assert!(
        stderr.contains(&format!("another fxe-server is already using the blob folder {}", folder.display())),
        "{stderr}"
    );
    let line = stderr.lines().find(|l| l.starts_with("fxe-server: ")).expect("an error line");
    assert!(
        line.contains("stop it first") && line.contains("--blob-store s3://"),
        "says what to do in one line: {line}"
    );
    let res = first.http.get(format!("{}/healthz", first.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// A relay given another local blob folder than the one its database's ciphertext is in
/// (here: the same SQLite database, a new data folder) refuses to start and says why,
/// instead of accepting faxes the first folder's relays cannot serve.
#[tokio::test]
async fn a_relay_with_another_blob_folder_for_the_same_database_is_refused() {
    let shared = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", shared.path().join("relay.db").display());
    let first_dir = tempfile::tempdir().unwrap();
    let first = spawn(first_dir.path(), free_port(), Some(&url)).await;
    let res = first.http.get(format!("{}/healthz", first.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    drop(first);
    let other_dir = tempfile::tempdir().unwrap();
    let stderr = refused(other_dir.path(), Some(url.clone())).await;
    let line = stderr.lines().find(|l| l.starts_with("fxe-server: ")).expect("an error line");
    assert!(line.contains("another local blob folder") && line.contains("--blob-store s3://"), "{line}");
    // The first folder still serves that database.
    let again = spawn(first_dir.path(), free_port(), Some(&url)).await;
    let res = again.http.get(format!("{}/healthz", again.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
