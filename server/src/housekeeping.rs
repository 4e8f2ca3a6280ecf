//! Housekeeping, every 30 seconds: message expiry ([`crate::messages::expiry`]),
//! then each store's records that nothing reads again age out (replay
//! nonces, idempotency records, ended sessions, passkey ceremonies, events
//! past 30 days) and the blob store's leftovers are swept.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{AppState, db, db::DbError, messages};

pub const INTERVAL: Duration = Duration::from_secs(30);
/// A temporary upload file untouched this long belongs to no running upload.
pub const STALE_TEMP: Duration = Duration::from_secs(10 * 60);
const EVENT_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

/// What one pass changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub expired: usize,
    pub failed: usize,
    pub blobs_dropped: usize,
}

/// Runs [`sweep_once`] every [`INTERVAL`] until `shutdown`.
pub fn spawn(state: AppState, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            // One instance at a time sweeps (several share a PostgreSQL database).
            if state.cluster.leads(crate::cluster::Role::Sweeper).await {
                match sweep_once(&state).await {
                    Ok(r) if r != Report::default() => tracing::info!(?r, "sweeper"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sweeper"),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(INTERVAL) => {}
                () = shutdown.cancelled() => return,
            }
        }
    })
}

/// One pass.
pub async fn sweep_once(state: &AppState) -> Result<Report, DbError> {
    let mut report = Report::default();
    let now = state.clock.now_secs();
    messages::expiry::run(state, now, &mut report).await?;
    db::nonces::purge(&state.db, now - db::to_i64(fxe_protocol::request::REPLAY_WINDOW)?).await?;
    db::idempotency::purge_expired(&state.db, now).await?;
    // Ended sessions (signed out, idle or past their absolute end) and passkey
    // ceremonies past their 5 minutes: nothing reads them again.
    db::sessions::purge(&state.db, now).await?;
    db::ceremonies::purge(&state.db, now).await?;
    // Events age out with their deliveries and attempts (ON DELETE CASCADE),
    // except those still pending: those go once settled.
    db::events::purge(&state.db, state.clock.now_ms() - EVENT_RETENTION_MS).await?;
    if let Err(e) = state.blobs.sweep_orphans().await {
        tracing::warn!(error = %e, "could not sweep partial uploads");
    }
    if let Err(e) = state.blobs.sweep_temp(STALE_TEMP).await {
        tracing::warn!(error = %e, "could not sweep temporary uploads");
    }
    Ok(report)
}
