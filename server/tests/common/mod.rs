//! Shared by the integration tests: start a real relay in-process on a free
//! loopback port, with a fresh data directory and a fresh database.
//!
//! The database is SQLite in the data directory, unless
//! `FXE_TEST_DATABASE_URL` names a PostgreSQL server
//! (`scripts/with-postgres.sh` starts a throwaway one and sets it): then each
//! test gets a database of its own on that server, dropped by [`TestServer::stop`].
//!
//! The blobs are in the data directory, unless `FXE_TEST_BLOB_STORE` names an
//! S3 bucket (`s3://bucket/prefix`; `scripts/with-rgw.sh` starts a throwaway
//! RADOS Gateway and sets it with `FXE_S3_ENDPOINT` and the AWS keys): then
//! each test config gets a prefix of its own in that bucket.

#![allow(dead_code)] // each test binary uses its own part of this module

pub mod balancer;
pub mod client;
pub mod receiver;
pub mod spawned;

use std::{path::Path, time::Duration};

use fxe_server::{AppState, Config, config::DatabaseTarget};
use sqlx::{AnyConnection, Connection, Executor};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// The variable naming a PostgreSQL server for the tests.
pub const TEST_DATABASE_URL_VAR: &str = "FXE_TEST_DATABASE_URL";

/// A database created for one test on the `FXE_TEST_DATABASE_URL` server.
pub struct PgTestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgTestDatabase {
    /// Creates a fresh database, or `None` when the tests use SQLite.
    pub async fn create() -> Option<PgTestDatabase> {
        let admin_url = std::env::var(TEST_DATABASE_URL_VAR).ok().filter(|s| !s.is_empty())?;
        sqlx::any::install_default_drivers();
        let name = format!("fxe_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {TEST_DATABASE_URL_VAR}: {e}"));
        conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("CREATE DATABASE");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin_url).expect("FXE_TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some(PgTestDatabase { url: url.to_string(), admin_url, name })
    }

    /// Drops the database (after the server using it has stopped).
    pub async fn drop_database(self) {
        if let Ok(mut conn) = AnyConnection::connect(&self.admin_url).await {
            let _ = conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str()).await;
            let _ = conn.close().await;
        }
    }
}

/// The configuration a test server runs with: loopback, `data_dir`, SQLite
/// there or the given PostgreSQL URL.
pub fn test_config(data_dir: &Path, database_url: Option<String>) -> Config {
    let mut config = Config::local(data_dir.to_path_buf(), database_url).expect("valid test configuration");
    config.storage.blob_store = test_blob_store();
    config
}

/// The variable naming an S3 bucket for the tests' blobs.
pub const TEST_BLOB_STORE_VAR: &str = "FXE_TEST_BLOB_STORE";

/// A fresh prefix in the `FXE_TEST_BLOB_STORE` bucket, or `None` (the local folder).
pub fn test_blob_store() -> Option<fxe_server::blobs::S3Settings> {
    let base = std::env::var(TEST_BLOB_STORE_VAR).ok().filter(|s| !s.trim().is_empty())?;
    let url = format!("{}/{}", base.trim().trim_end_matches('/'), uuid::Uuid::new_v4().simple());
    let endpoint = std::env::var("FXE_S3_ENDPOINT").ok();
    let region = std::env::var("AWS_REGION").unwrap_or_default();
    Some(fxe_server::blobs::S3Settings::parse(&url, endpoint.as_deref(), &region).expect("valid FXE_TEST_BLOB_STORE"))
}

/// A relay running in this process.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`
    pub base_url: String,
    pub state: AppState,
    pub client: reqwest::Client,
    /// Kept alive while the server runs; deleted on drop.
    pub data_dir: tempfile::TempDir,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    pg: Option<PgTestDatabase>,
}

impl TestServer {
    /// Starts a relay on a fresh data directory and database.
    pub async fn start() -> TestServer {
        Self::start_configured(|_| {}).await
    }

    /// Starts a relay on a fresh data directory (`relay` in a temporary folder) and database,
    /// with `edit` applied to its [`test_config`].
    pub async fn start_configured(edit: impl FnOnce(&mut Config)) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        // A subfolder, so the test also sees it being created.
        let relay_dir = data_dir.path().join("relay");
        let pg = PgTestDatabase::create().await;
        let mut config = test_config(&relay_dir, pg.as_ref().map(|db| db.url.clone()));
        edit(&mut config);
        Self::start_with(config, data_dir, pg).await
    }

    /// Starts a relay with `config` (its `bind` is ignored: a free loopback
    /// port is used).
    pub async fn start_with(config: Config, data_dir: tempfile::TempDir, pg: Option<PgTestDatabase>) -> TestServer {
        let state = AppState::init(config).await.expect("relay state initialises");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(fxe_server::run(state.clone(), listener, shutdown.clone()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestServer { base_url, state, client, data_dir, shutdown, task, pg }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request succeeds")
    }

    pub fn database_target(&self) -> &DatabaseTarget {
        &self.state.config.storage.database
    }

    /// Stops the server gracefully (failing the test if it errored), then
    /// deletes its data directory and PostgreSQL database.
    pub async fn stop(self) {
        self.stop_keeping_data().await.discard().await;
    }

    /// Stops the server gracefully (failing the test if it errored) and
    /// hands back its data, to start it again with [`KeptData::restart`].
    pub async fn stop_keeping_data(self) -> KeptData {
        self.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(40), self.task)
            .await
            .expect("server stops within the grace period")
            .expect("server task did not panic");
        result.expect("server ran without error");
        self.state.db.close().await;
        KeptData { config: (*self.state.config).clone(), data_dir: self.data_dir, pg: self.pg }
    }
}

/// The data of a stopped [`TestServer`].
pub struct KeptData {
    pub config: Config,
    pub data_dir: tempfile::TempDir,
    pg: Option<PgTestDatabase>,
}

impl KeptData {
    /// Starts a new server on the same data directory and database.
    pub async fn restart(self) -> TestServer {
        TestServer::start_with(self.config, self.data_dir, self.pg).await
    }

    /// Deletes the data directory and drops the PostgreSQL database.
    pub async fn discard(self) {
        if let Some(pg) = self.pg {
            pg.drop_database().await;
        }
        drop(self.data_dir);
    }
}

/// A PDF-looking page of `len` bytes, different for each `seed` (the benches' faxes).
pub fn page(len: usize, seed: u64) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
