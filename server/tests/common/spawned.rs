//! A relay run as its own process (the built `fxe-server` binary), so a test
//! can SIGKILL it.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fxe_server::{config::DatabaseTarget, db::Db};

use super::client::Relay;

pub struct Spawned {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
    pub db: Db,
}

impl Relay for Spawned {
    fn base(&self) -> &str {
        &self.base
    }
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
    fn db(&self) -> &Db {
        &self.db
    }
}

impl Spawned {
    /// SIGKILL, then closes this side's database handle.
    pub async fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.db.close().await;
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // A failing test must not leave a relay running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `fxe-server serve` on `port` with `data_dir` (and PostgreSQL at
/// `db_url` if given) plus `extra` arguments; waits until it is healthy.
pub async fn spawn(data_dir: &Path, port: u16, db_url: Option<&str>, extra: &[&str]) -> Spawned {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fxe-server"));
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    match db_url {
        Some(u) => cmd.env("FXE_DATABASE_URL", u),
        None => cmd.env_remove("FXE_DATABASE_URL"),
    };
    let mut child = cmd.spawn().expect("fxe-server starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            let target = match db_url {
                Some(u) => DatabaseTarget::Postgres(u.to_owned()),
                None => DatabaseTarget::SqliteFile(data_dir.join("fxe.db")),
            };
            let db = Db::open(&target).await.unwrap();
            return Spawned { child, base, http, db };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("fxe-server did not become healthy");
}
