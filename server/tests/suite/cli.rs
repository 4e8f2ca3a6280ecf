//! The `fxe-server` binary itself: help text, argument errors, and a real
//! `serve` that answers and stops cleanly on SIGTERM.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::PgTestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_fxe-server");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The binary without any FXE_* variables of the caller's environment.
fn fxe_server() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FXE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

#[test]
fn help_documents_options_and_environment() {
    let out = fxe_server().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--bind",
        "--data-dir",
        "--database-url",
        "--public-url",
        "FXE_BIND",
        "FXE_DATA_DIR",
        "FXE_DATABASE_URL",
        "FXE_PUBLIC_URL",
        "127.0.0.1:3000",
        "./data",
        "Examples:",
    ] {
        assert!(help.contains(needle), "`serve --help` lacks {needle}:\n{help}");
    }

    let out = fxe_server().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("serve"));

    // No subcommand: usage on stderr, failure.
    let out = fxe_server().output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn bad_arguments_fail_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let data_dir = data_dir.to_str().unwrap();
    for (args, expected) in [
        (vec!["serve", "--bind", "not-an-address"], "--bind"),
        (vec!["serve", "--data-dir", data_dir, "--public-url", "https://x.example/sub"], "public-url"),
        (vec!["serve", "--data-dir", data_dir, "--database-url", "mysql://db/fxe"], "database-url"),
    ] {
        let out = fxe_server().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: stderr lacks {expected}:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The environment fallback is read too.
    let out = fxe_server().arg("serve").env("FXE_BIND", "nonsense").output().unwrap();
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let pg = PgTestDatabase::create().await;
    let port = free_port();

    let mut cmd = fxe_server();
    cmd.arg("serve")
        .env("FXE_BIND", format!("127.0.0.1:{port}"))
        .env("FXE_DATA_DIR", &data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(pg) = &pg {
        cmd.env("FXE_DATABASE_URL", &pg.url);
    }
    let mut child = cmd.spawn().unwrap();

    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(&url).send().await {
            assert_eq!(response.status(), reqwest::StatusCode::OK);
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!("server exited early ({status}):\n{}", String::from_utf8_lossy(&out.stderr));
        }
        assert!(Instant::now() < deadline, "server did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(data_dir.join("blobs").is_dir());
    assert_eq!(data_dir.join("fxe.db").is_file(), pg.is_none());

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let out = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "exit status {status}:\n{logs}");
    assert!(logs.contains("shutdown signal received"), "{logs}");
    assert!(logs.contains("fxe relay stopped"), "{logs}");

    if let Some(pg) = pg {
        pg.drop_database().await;
    }
}
