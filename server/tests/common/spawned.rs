//! A relay run as its own process (the `fxe-server` binary), for tests that
//! kill it and for benchmarks that measure it apart from the client.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fxe_server::{config::DatabaseTarget, db::Db};

use super::client::Relay;

/// A spawned `fxe-server serve`; killed when dropped.
pub struct Spawned {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
    /// The relay's database, opened beside it (for invites and checks).
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

impl Drop for Spawned {
    fn drop(&mut self) {
        // A failing test must not leave a relay running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Spawned {
    /// Kills the relay at once (SIGKILL) and closes the side connection.
    pub async fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.db.close().await;
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `binary serve` on `port` with `data_dir` (SQLite there, or
/// `db_url`) and `extra` arguments, and waits until it is healthy.
pub async fn spawn(binary: &str, data_dir: &Path, port: u16, db_url: Option<&str>, extra: &[&str]) -> Spawned {
    let mut cmd = Command::new(binary);
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
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    for _ in 0..400 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            let target = match db_url {
                Some(u) => DatabaseTarget::Postgres(u.to_owned()),
                None => DatabaseTarget::SqliteFile(data_dir.join("fxe.db")),
            };
            let db = Db::open(&target).await.unwrap();
            return Spawned { child, base, http, db };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("fxe-server exited at start ({status}); its error is above");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("fxe-server did not become healthy");
}
