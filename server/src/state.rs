//! [`AppState`]: what every request handler and worker can reach, and how it
//! is prepared at start (data directory, blob store, database, mail,
//! webhooks, passkeys, limits, the recovery worker).

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::{
    blobs::{BlobStore, LocalBlobStore, S3BlobStore, create_private_dir},
    clock::Clock,
    config::Config,
    db::Db,
};

/// Temporary blobs older than this are leftovers of a crash (an upload may
/// take at most an hour, API.md) and are removed at start.
const STALE_TEMP_BLOB_AGE: Duration = crate::housekeeping::STALE_TEMP;

/// What every request handler can reach: one shared [`Shared`] behind an
/// `Arc`, so the clone every request, middleware layer and worker task makes
/// is one reference count, not one per field (the fax-cycle profile showed
/// the per-field clones and drops, docs/relay.md). Fields read through
/// `Deref`: `state.db`, `state.config`, ….
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What an [`AppState`] holds.
pub struct Shared {
    pub config: Arc<Config>,
    pub db: Db,
    pub blobs: Arc<dyn BlobStore>,
    pub leptos: LeptosOptions,
    /// Wakes the workers (webhooks, echo org) after an event is committed.
    pub events: crate::webhooks::events::Events,
    /// Sends mail (setup links); the outbox folder until SMTP is configured.
    pub mailer: Arc<dyn crate::mail::Mailer>,
    /// The webhook key, HTTP client and retry schedule.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// The relay as a WebAuthn relying party (passkeys), for its public URL.
    pub passkeys: Arc<crate::accounts::passkeys::RelyingParty>,
    /// The rate limits and caps of this process.
    pub limits: Arc<crate::http::rate_limit::Limits>,
    /// The bounded queue in front of the recovery-mail worker.
    pub recovery: crate::accounts::recovery::RecoveryQueue,
    /// The time: every handler, rule and worker reads it here.
    pub clock: Clock,
    /// The other instances on the same database, and the relay-wide jobs this one runs.
    pub cluster: Arc<crate::cluster::Cluster>,
    /// The key transparency log: its key, policy and this instance's view of it.
    pub log: crate::transparency::Log,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

impl AppState {
    /// Prepares the relay's storage: creates the data directory (owner-only)
    /// and the blob store, removes stale temporary blobs, opens the database
    /// (creating the SQLite file if needed) and runs the migrations.
    pub async fn init(config: Config) -> anyhow::Result<AppState> {
        let clock = Clock::system();
        let storage = &config.storage;
        create_private_dir(&storage.data_dir)
            .await
            .with_context(|| format!("cannot create the data directory {}", storage.data_dir.display()))?;

        let mut local_folder = None;
        let (blobs, blobs_where): (Arc<dyn BlobStore>, String) = match &storage.blob_store {
            None => {
                let blobs_dir = storage.blobs_dir();
                let local = LocalBlobStore::open(&blobs_dir)
                    .await
                    .with_context(|| format!("cannot open the blob store in {}", blobs_dir.display()))?;
                let id = local
                    .store_id()
                    .await
                    .with_context(|| format!("cannot read the blob folder's id in {}", blobs_dir.display()))?;
                local_folder = Some(id);
                (Arc::new(local), blobs_dir.display().to_string())
            }
            Some(settings) => {
                let s3 = S3BlobStore::open(settings.clone())
                    .await
                    .with_context(|| format!("cannot open the blob store {}", settings.describe()))?;
                (Arc::new(s3), settings.describe())
            }
        };
        match blobs.sweep_orphans().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed partial uploads of relays that stopped"),
            Err(e) => tracing::warn!(error = %e, "could not sweep partial uploads"),
        }
        match blobs.sweep_temp(STALE_TEMP_BLOB_AGE).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed abandoned temporary uploads"),
            Err(e) => tracing::warn!(error = %e, "could not sweep temporary uploads"),
        }

        let db = Db::open(&storage.database)
            .await
            .with_context(|| format!("cannot open the database ({})", storage.database.redacted()))?;
        tracing::info!(
            database = %storage.database.redacted(),
            backend = %db.backend(),
            blobs = %blobs_where,
            "storage ready"
        );

        if let Some(id) = &local_folder {
            crate::cluster::check_blob_folder(&db, id, &blobs_where).await?;
        }
        let cluster = crate::cluster::Cluster::join(&db, blobs.instance())
            .await
            .context("cannot take this relay instance's lock in the database")?;
        let webhooks = crate::webhooks::Webhooks::init(&config).await.context("cannot set up webhooks")?;
        webhooks.key.check_shared(&db).await?;
        let log_key = crate::transparency::key::load(&config).await.context("cannot set up the transparency log")?;
        crate::transparency::key::check_shared(&log_key, &db).await?;
        let log = crate::transparency::Log::new(log_key, &config.log)?;
        crate::transparency::key::record_policy(log.policy(), &db).await?;
        let mailer = crate::mail::from_settings(
            &config.mail,
            storage.data_dir.join(crate::mail::OUTBOX_DIR_NAME),
            clock.clone(),
        )
        .map_err(|e| anyhow::anyhow!("cannot set up mail: {e}"))?;
        let passkeys = crate::accounts::passkeys::RelyingParty::for_public_url(&config.public_url);
        if let Err(why) = passkeys.get() {
            tracing::warn!("{why}");
        }
        let limits = Arc::new(crate::http::rate_limit::Limits::new(&config));
        let recovery = crate::accounts::recovery::RecoveryQueue::start(
            db.clone(),
            mailer.clone(),
            config.public_origin(),
            usize::try_from(limits.recovery_queue).unwrap_or(usize::MAX),
            clock.clone(),
        );
        Ok(AppState(Arc::new(Shared {
            limits,
            recovery,
            mailer,
            passkeys: Arc::new(passkeys),
            leptos: config.leptos.clone(),
            config: Arc::new(config),
            db,
            blobs,
            events: crate::webhooks::events::Events::default(),
            webhooks: Arc::new(webhooks),
            clock,
            cluster: Arc::new(cluster),
            log,
        })))
    }
}
