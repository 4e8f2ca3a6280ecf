//! The operator's commands (`fxe-server invite|org|number …`), run as the
//! real binary against the same database as a running relay: an invite made
//! on the command line is redeemed over the API, claims are approved and
//! denied, orgs disabled and enabled. Runs on SQLite, or on PostgreSQL when
//! `FXE_TEST_DATABASE_URL` is set.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::org_admin_support;

use std::{path::Path, process::Command};

use common::{PgTestDatabase, TestServer, test_config};
use org_admin_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_fxe-server");

/// The result of one command.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        &self.stdout
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    #[track_caller]
    fn fails(&self, code: i32, needle: &str) {
        assert_eq!(self.code, code, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        assert!(self.stderr.starts_with("fxe-server: ") || self.stderr.contains("error:"), "{}", self.stderr);
    }
}

/// Runs `fxe-server ARGS… --data-dir DIR [--database-url URL]` without the
/// caller's FXE_* variables.
fn fxe(data_dir: &Path, database_url: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FXE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "warn").args(args).arg("--data-dir").arg(data_dir);
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let out = cmd.output().expect("fxe-server runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A relay in this process and the storage arguments its commands need.
async fn relay() -> (TestServer, std::path::PathBuf, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgTestDatabase::create().await;
    let url = pg.as_ref().map(|p| p.url.clone());
    let data_dir = dir.path().join("relay");
    let server = TestServer::start_with(test_config(&data_dir, url.clone()), dir, pg).await;
    (server, data_dir, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_from_the_command_line() {
    let (server, dir, url) = relay().await;
    let url = url.as_deref();

    // --json, with numbers named loosely: the token and the link, once.
    let created = fxe(
        &dir,
        url,
        &[
            "invite",
            "create",
            "--numbers",
            "+1 (555) 040-0001, +15550400002",
            "--expires",
            "2d",
            "--note",
            "Praxis Alpha",
            "--public-url",
            "https://fax.example.org",
            "--json",
        ],
    )
    .json();
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("inv_") && token.len() > 40, "{token}");
    assert_eq!(created["redeem_url"], format!("https://fax.example.org/redeem?token={token}"));
    assert_eq!(created["numbers"], json!(["+15550400001", "+15550400002"]));
    let expires = fxe_protocol::time::parse_rfc3339(created["expires_at"].as_str().unwrap()).unwrap();
    assert!((expires - i64::try_from(now()).unwrap() - 2 * 86_400).abs() < 60, "expires in two days");
    let invite_id = created["id"].as_str().unwrap().to_owned();

    // Redeemed over the API while the relay runs: only the named numbers.
    let refused = TestOrg::redeem_token(&server, token, "Praxis Alpha", &["+15550400003"], None).await.err().unwrap();
    refused.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "number_not_in_invite");
    let org = TestOrg::redeem_token(&server, token, "Praxis Alpha", &["+15550400001"], None).await.unwrap();
    call(&server, &org, "GET", "/api/v1/org", None).await.expect(StatusCode::OK);
    // The invite came with the fingerprint of the log policy the relay offers members (they
    // pin it at redemption and compare it with this one).
    let answer = call(&server, &org, "GET", "/api/v1/transparency/policy", None).await;
    let offered: fxe_protocol::transparency::TrustPolicy =
        serde_json::from_value(answer.expect(StatusCode::OK).clone()).unwrap();
    assert_eq!(created["log_policy_fingerprint"], offered.fingerprint());

    let list = fxe(&dir, url, &["invite", "list", "--json"]).json();
    let listed = list.as_array().unwrap().iter().find(|i| i["id"] == invite_id.as_str()).expect("listed").clone();
    assert_eq!(listed["state"], "used");
    assert_eq!(listed["used_by_org_id"], org.org_id());
    assert_eq!(listed["note"], "Praxis Alpha");
    assert!(listed.get("token").is_none(), "tokens are not stored");

    // Plain text, the default public URL; then revoked.
    let text = fxe(&dir, url, &["invite", "create"]);
    let out = text.ok();
    assert!(out.contains("Numbers: any free numbers"), "{out}");
    let second = out.lines().find_map(|l| l.strip_prefix("Token:")).unwrap().trim().to_owned();
    assert!(out.contains(&format!("Redeem:  http://localhost:3000/redeem?token={second}")), "{out}");
    assert!(out.contains(&format!("Log:     transparency log policy fingerprint {}", offered.fingerprint())), "{out}");
    let second_id = out.split_whitespace().nth(1).unwrap().to_owned();
    let table = fxe(&dir, url, &["invite", "list"]);
    assert!(
        table.ok().starts_with("ID") && table.ok().contains(&second_id) && table.ok().contains("active"),
        "{}",
        table.ok()
    );
    assert!(fxe(&dir, url, &["invite", "revoke", &second_id]).ok().contains("revoked"));
    fxe(&dir, url, &["invite", "revoke", &second_id]).fails(1, "is revoked");
    fxe(&dir, url, &["invite", "revoke", &invite_id]).fails(1, "is used");
    fxe(&dir, url, &["invite", "revoke", "no-such-invite"]).fails(1, "there is no invite");
    let gone = TestOrg::redeem_token(&server, &second, "Late", &["+15550400009"], None).await.err().unwrap();
    gone.expect_error(StatusCode::GONE, "invite_revoked");

    // Bad arguments: exit code 2 and a clear message.
    fxe(&dir, url, &["invite", "create", "--numbers", "555-0100"]).fails(2, "no country code");
    fxe(&dir, url, &["invite", "create", "--numbers", "+15550400001,+1 555 040 0001"]).fails(2, "listed twice");
    fxe(&dir, url, &["invite", "create", "--expires", "400d"]).fails(2, "365 days");
    fxe(&dir, url, &["invite", "create", "--expires", "soon"]).fails(2, "duration");
    fxe(&dir, url, &["invite", "create", "--note", "a\nb"]).fails(2, "note must be at most 500 characters");
    fxe(&dir, url, &["invite", "create", "--public-url", "https://fax.example.org/x"]).fails(2, "--public-url");

    // Audited as the operator, relay-wide.
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit WHERE actor_type = 'operator' AND org_id IS NULL ORDER BY at_ms")
            .fetch_all(server.state.db.pool())
            .await
            .unwrap();
    assert_eq!(actions, ["invite.created", "invite.created", "invite.revoked"]);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn number_claims_and_orgs() {
    let (server, dir, url) = relay().await;
    let url = url.as_deref();
    let org = TestOrg::redeem(&server, "Kanzlei Beta", &["+15550500001"]).await;
    let other = TestOrg::redeem(&server, "Praxis Gamma", &["+15550600001"]).await;

    // A claim waits for the operator.
    call(&server, &org, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550500002" })))
        .await
        .expect(StatusCode::CREATED);
    call(&server, &org, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550500003" })))
        .await
        .expect(StatusCode::CREATED);
    let pending = fxe(&dir, url, &["number", "list", "--pending", "--json"]).json();
    let pending: Vec<&str> = pending.as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap()).collect();
    assert_eq!(pending, ["+15550500002", "+15550500003"]);
    let all = fxe(&dir, url, &["number", "list", "--json"]).json();
    let mine = all.as_array().unwrap().iter().find(|n| n["number"] == "+15550500001").unwrap().clone();
    assert_eq!((mine["status"].as_str(), mine["org_name"].as_str()), (Some("active"), Some("Kanzlei Beta")));
    let table = fxe(&dir, url, &["number", "list", "--pending"]);
    assert!(table.ok().contains("+15550500002") && !table.ok().contains("+15550500001"), "{}", table.ok());

    // Approve (loose input): it enters the directory.
    let path = format!("/api/v1/directory/{}", path_number("+15550500002"));
    call(&server, &other, "GET", &path, None).await.expect_error(StatusCode::NOT_FOUND, "not_on_network");
    assert!(fxe(&dir, url, &["number", "approve", "+1 555 050 0002"]).ok().contains("approved"));
    let entry = call(&server, &other, "GET", &path, None).await;
    assert_eq!(entry.expect(StatusCode::OK)["org_id"], org.org_id());
    fxe(&dir, url, &["number", "approve", "+15550500002"]).fails(1, "not pending");
    fxe(&dir, url, &["number", "approve", "+15559999999"]).fails(1, "no org holds or claims");
    fxe(&dir, url, &["number", "approve", "+1 FAX ME"]).fails(2, "not part of a fax number");

    // Deny: the claim is withdrawn; someone else may claim it.
    assert!(fxe(&dir, url, &["number", "deny", "+15550500003"]).ok().contains("denied"));
    fxe(&dir, url, &["number", "deny", "+15550500003"]).fails(1, "no org holds or claims");
    let numbers = call(&server, &org, "GET", "/api/v1/org", None).await;
    let numbers: Vec<&str> = numbers.expect(StatusCode::OK)["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["number"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(numbers, ["+15550500001", "+15550500002"]);
    call(&server, &other, "POST", "/api/v1/numbers", Some(&json!({ "number": "+15550500003" })))
        .await
        .expect(StatusCode::CREATED);
    assert!(fxe(&dir, url, &["number", "list", "--pending"]).ok().contains("Praxis Gamma"));

    // Orgs: listed, disabled (keys stop working, numbers leave the directory), enabled again.
    let orgs = fxe(&dir, url, &["org", "list", "--json"]).json();
    let listed = orgs.as_array().unwrap().iter().find(|o| o["org_id"] == org.org_id()).expect("listed").clone();
    assert_eq!(listed["org_name"], "Kanzlei Beta");
    assert_eq!(listed["numbers"], json!(["+15550500001", "+15550500002"]));
    assert_eq!(listed["users"], 1);
    assert!(listed["disabled_at"].is_null());
    assert!(fxe(&dir, url, &["org", "list"]).ok().contains("Kanzlei Beta"));

    assert!(fxe(&dir, url, &["org", "disable", &org.org_id()]).ok().contains("disabled"));
    call(&server, &org, "GET", "/api/v1/org", None).await.expect_error(StatusCode::FORBIDDEN, "org_disabled");
    call(&server, &other, "GET", &path, None).await.expect_error(StatusCode::NOT_FOUND, "not_on_network");
    fxe(&dir, url, &["org", "disable", &org.org_id()]).fails(1, "already disabled");
    let orgs = fxe(&dir, url, &["org", "list", "--json"]).json();
    assert!(orgs.as_array().unwrap().iter().any(|o| o["org_id"] == org.org_id() && o["disabled_at"].is_string()));
    assert!(fxe(&dir, url, &["org", "enable", &org.org_id()]).ok().contains("enabled"));
    call(&server, &org, "GET", "/api/v1/org", None).await.expect(StatusCode::OK);
    fxe(&dir, url, &["org", "enable", &org.org_id()]).fails(1, "already enabled");
    fxe(&dir, url, &["org", "disable", "0123456789abcdef0123456789abcdef"]).fails(1, "there is no org");

    // The org sees what the operator did to it.
    let audit = call(&server, &org, "GET", "/api/v1/audit?actor=operator", None).await;
    let audit = audit.expect(StatusCode::OK);
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["org.enabled", "org.disabled", "number.denied", "number.approved"]);
    assert!(audit["items"][0]["actor"]["label"].as_str().unwrap().starts_with("command line"));
    let theirs = call(&server, &other, "GET", "/api/v1/audit?actor=operator", None).await;
    assert!(theirs.expect(StatusCode::OK)["items"].as_array().unwrap().is_empty());

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_from_the_command_line() {
    let (server, dir, url) = relay().await;
    let url = url.as_deref();
    let out = fxe(&dir, url, &["operator", "add", "--email", "ops@example.org"]);
    let text = out.ok();
    assert!(text.contains("Operator ops@example.org added."), "{text}");
    assert!(text.contains("Setup:   http://localhost:3000/setup/set_"), "{text}");
    let json = fxe(&dir, url, &["operator", "add", "--email", "ops@example.org", "--json"]).json();
    assert_eq!(json["created"], false);
    assert!(json["setup_url"].as_str().unwrap().contains("/setup/set_"));
    let list = fxe(&dir, url, &["operator", "list", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["email"], "ops@example.org");
    fxe(&dir, url, &["operator", "add", "--email", "no address"]).fails(2, "is not an e-mail address");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_use_creates_the_storage_and_help_documents_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgTestDatabase::create().await;
    let data_dir = dir.path().join("new").join("relay");
    let url = pg.as_ref().map(|p| p.url.as_str());

    // As `make run` does before the first start: the database does not exist yet.
    let created = fxe(&data_dir, url, &["invite", "create", "--json"]).json();
    assert!(created["token"].as_str().unwrap().starts_with("inv_"));
    if pg.is_none() {
        assert!(data_dir.join("fxe.db").is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&data_dir).unwrap().permissions().mode() & 0o777, 0o700);
        }
    }
    let listed = fxe(&data_dir, url, &["invite", "list", "--json"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(fxe(&data_dir, url, &["org", "list", "--json"]).json(), json!([]));
    assert_eq!(fxe(&data_dir, url, &["number", "list", "--pending", "--json"]).json(), json!([]));

    // A database that cannot be opened: exit 1, a clear message.
    let bad = fxe(&data_dir, Some("postgres://nobody@127.0.0.1:1/none"), &["org", "list"]);
    bad.fails(1, "cannot open the database");
    assert!(!bad.stderr.contains("panicked"));

    let help = fxe(&data_dir, None, &["invite", "create", "--help"]);
    for needle in [
        "--numbers",
        "--expires",
        "--note",
        "--json",
        "--data-dir",
        "--database-url",
        "--public-url",
        "FXE_DATABASE_URL",
    ] {
        assert!(help.ok().contains(needle), "`invite create --help` lacks {needle}:\n{}", help.ok());
    }
    let top = fxe(&data_dir, None, &["--help"]);
    for needle in ["invite", "org", "number", "serve"] {
        assert!(top.ok().contains(needle), "{}", top.ok());
    }

    if let Some(pg) = pg {
        pg.drop_database().await;
    }
}
