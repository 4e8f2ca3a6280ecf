//! # fxe-server
//!
//! The fxe relay as a library, so that tests (and the thin `main.rs`) can
//! start it in-process:
//!
//! ```no_run
//! # async fn example(config: fxe_server::Config) -> anyhow::Result<()> {
//! let state = fxe_server::AppState::init(config).await?;      // storage + migrations
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! tokio::spawn(fxe_server::run(state, listener, shutdown.clone()));
//! // … requests …
//! shutdown.cancel();
//! # Ok(()) }
//! ```
//!
//! Modules, by concern: [`config`] (arguments and settings), [`db`] (SQLite
//! or PostgreSQL through one pool), [`blobs`] (ciphertext files), [`web`]
//! (state and router), [`health`] (`/healthz`, `/readyz`), [`error`] (the
//! API's JSON errors).

// The web pages' view types nest deeply (Leptos builds one type per page).
#![recursion_limit = "256"]

#[cfg(not(feature = "ssr"))]
compile_error!("fxe-server renders the web UI on the server: build it with the `ssr` feature (on by default)");

pub mod accounts;
pub mod api;
pub mod blobs;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod db;
pub mod housekeeping;
pub mod http;
pub mod ids;
pub mod mail;
pub mod messages;
pub mod router;
pub mod state;
pub mod transparency;
pub mod webhooks;
pub mod witness;

use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;
pub use router::build_router;
pub use state::AppState;

/// How long open requests may go on after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Logs to stderr (stdout stays free for commands that print results, such as
/// tokens), filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (several commands in one process, tests) keeps the first.
    let _ = fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// `fxe-server serve`: prepares storage, listens on `config.bind` and serves
/// until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let public_url = config.public_origin();
    let site_root = config.leptos.site_root.clone();
    match http::site::check(&config.leptos)? {
        http::site::Site::Missing { pkg_dir } => tracing::warn!(
            pkg_dir = %pkg_dir.display(),
            "the web UI's assets are missing: build them with `cargo leptos build --release` \
             (or set LEPTOS_SITE_ROOT); pages will render without styles or interactivity"
        ),
        http::site::Site::Ready | http::site::Site::Hashed => {}
    }

    // One relay per SQLite database: a second one would share the file's
    // single writer and run the echo org and the sweeper twice.
    let _sqlite_lock = match &config.storage.database {
        config::DatabaseTarget::SqliteFile(path) => Some(lock_sqlite(path).await?),
        _ => None,
    };
    // One relay per local blob folder (on any machine that mounts it).
    let _blobs_lock = match &config.storage.blob_store {
        None => Some(lock_blob_folder(&config.storage.blobs_dir()).await?),
        Some(_) => None,
    };
    let state = AppState::init(config).await?;
    let listener = TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    tracing::info!(address = %bind, public_url = %public_url, site_root = %site_root, "fxe relay listening");

    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    run(state, listener, shutdown).await
}

/// Takes the serving lock of the SQLite file at `path` (`<path>.serve-lock`,
/// held until the process ends, released by the kernel even after a crash),
/// or says which relay has it.
async fn lock_sqlite(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let parent = path.parent().filter(|d| !d.as_os_str().is_empty());
    serve_lock(parent, &path.with_extension("db.serve-lock"), || {
        format!(
            "another fxe-server is already serving the database {}: stop it first, or give this one its own \
             --data-dir (several relays on one database need PostgreSQL: --database-url postgres://…)",
            path.display()
        )
    })
    .await
}

/// Takes the serving lock of the local blob folder `dir` (`<dir>/serve.lock`,
/// held until the process ends): one relay per folder, so that no relay's
/// sweeps meet another's uploads, wherever the other runs.
async fn lock_blob_folder(dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    serve_lock(Some(dir), &dir.join("serve.lock"), || {
        format!(
            "another fxe-server is already using the blob folder {}: stop it first, or give this one its own \
             --data-dir (several relays on one database need a shared bucket: --blob-store s3://…)",
            dir.display()
        )
    })
    .await
}

/// Creates `dir` (owner-only) if given, then takes an exclusive OS lock on
/// `lock_path` for as long as the returned file stays open; `busy` is the
/// error when another process holds it.
async fn serve_lock(
    dir: Option<&std::path::Path>, lock_path: &std::path::Path, busy: impl FnOnce() -> String,
) -> anyhow::Result<std::fs::File> {
    if let Some(dir) = dir {
        blobs::create_private_dir(dir).await.with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(busy())),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::new(e).context(format!("cannot lock {}", lock_path.display())))
        }
    }
}

/// Serves `state` on `listener` ([`http::server`], with the connection
/// limits of `state.config.limits`) until `shutdown` is cancelled, then lets
/// open requests finish (for at most 30 s) and closes the database.
pub async fn run(state: AppState, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    let db = state.db.clone();
    let cluster = state.cluster.clone();
    let echo_keys = messages::echo::ensure(&state).await.context("cannot set up the echo org")?;
    state.log.refresh(&state.db).await.context("cannot read the transparency log")?;
    let workers = [
        state.log.spawn_refresh(state.db.clone(), shutdown.clone()),
        transparency::sequencer::spawn(state.clone(), shutdown.clone()),
        messages::echo::spawn(state.clone(), echo_keys, shutdown.clone()),
        housekeeping::spawn(state.clone(), shutdown.clone()),
        webhooks::worker::spawn(state.clone(), shutdown.clone()),
        messages::arrivals::spawn(state.clone(), shutdown.clone()),
    ];
    let limits = state.config.connections.clone();
    let router = build_router(state);
    let server = http::server::serve(listener, router, limits, shutdown.clone());

    let result = tokio::select! {
        () = server => Ok(()),
        () = grace_expired(&shutdown) => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still open after the shutdown grace period; stopping anyway");
            Ok(())
        }
    };
    shutdown.cancel();
    for w in workers {
        let _ = w.await;
    }
    cluster.leave().await;
    db.close().await;
    tracing::info!("fxe relay stopped");
    result
}

async fn grace_expired(shutdown: &CancellationToken) {
    shutdown.cancelled().await;
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}

/// Cancels `token` on SIGINT (Ctrl-C) or SIGTERM.
pub async fn cancel_on_signal(token: CancellationToken) {
    let signal = shutdown_signal();
    tokio::select! {
        () = signal => {
            tracing::info!("shutdown signal received; finishing open requests");
            token.cancel();
        }
        () = token.cancelled() => {}
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
