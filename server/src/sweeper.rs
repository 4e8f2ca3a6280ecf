//! Expiry and housekeeping, every 30 seconds: queued messages past their TTL
//! become `expired` (ciphertext deleted, both orgs told); uploads not completed
//! within the hour become `failed` (partial blobs removed); replay records,
//! idempotency records and events age out; deletions a crash interrupted are
//! finished.

use std::time::Duration;

use fxe_protocol::api::MessageStatus;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::{
    AppState,
    audit::{self, Actor},
    blobs::BlobKey,
    clock,
    db::DbError,
    events,
    messages::{self, COLUMNS, MessageRow},
};

pub const INTERVAL: Duration = Duration::from_secs(30);
/// A temporary upload file untouched this long belongs to no running upload.
pub const STALE_TEMP: Duration = Duration::from_secs(10 * 60);
const EVENT_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub expired: usize,
    pub failed: usize,
    pub blobs_dropped: usize,
}

pub fn spawn(state: AppState, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep_once(&state).await {
                Ok(r) if r != Report::default() => tracing::info!(?r, "sweeper"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeper"),
            }
            tokio::select! {
                () = tokio::time::sleep(INTERVAL) => {}
                () = shutdown.cancelled() => return,
            }
        }
    })
}

pub async fn sweep_once(state: &AppState) -> Result<Report, DbError> {
    let mut report = Report::default();
    let now = clock::now_secs();
    let relay = Actor::relay();

    // Queued messages past their TTL.
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM messages WHERE status = 'queued' AND expires_at <= $1 LIMIT 500"))
            .bind(now)
            .fetch_all(state.db.pool())
            .await?;
    for row in rows {
        let row = MessageRow::from_row(&row)?;
        let now_ms = clock::now_ms_monotonic();
        let mut tx = state.db.begin_write().await?;
        let n = sqlx::query("UPDATE messages SET status = 'expired', updated_at_ms = $1, seq = $1 WHERE message_id = $2 AND status = 'queued'")
            .bind(now_ms)
            .bind(&row.message_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            continue;
        }
        for org in [&row.sender_org_id, &row.recipient_org_id] {
            events::emit(&mut tx, org, events::MESSAGE_EXPIRED, row.event_data(MessageStatus::Expired)).await?;
            audit::write(
                &mut tx,
                audit::Entry {
                    org_id: Some(org),
                    actor: &relay,
                    action: "message.expired",
                    target: Some(&row.message_id),
                    detail: None,
                },
            )
            .await?;
        }
        tx.commit().await?;
        report.expired += 1;
        state.events.notify();
        if let Some(k) = &row.blob_key {
            messages::drop_blob(state, &row.message_id, k).await;
        }
    }

    // Uploads never completed.
    let rows = sqlx::query(
        "SELECT message_id, sender_org_id FROM messages WHERE status = 'awaiting_upload' AND upload_expires_at <= $1 \
         AND (upload_lease_until IS NULL OR upload_lease_until < $1) LIMIT 500",
    )
    .bind(now)
    .fetch_all(state.db.pool())
    .await?;
    for row in rows {
        let id: String = row.try_get("message_id")?;
        let org: String = row.try_get("sender_org_id")?;
        let now_ms = clock::now_ms_monotonic();
        let mut tx = state.db.begin_write().await?;
        let n = sqlx::query("UPDATE messages SET status = 'failed', updated_at_ms = $1, seq = $1 WHERE message_id = $2 AND status = 'awaiting_upload'")
            .bind(now_ms)
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            continue;
        }
        audit::write(
            &mut tx,
            audit::Entry {
                org_id: Some(&org),
                actor: &relay,
                action: "message.upload_failed",
                target: Some(&id),
                detail: None,
            },
        )
        .await?;
        tx.commit().await?;
        report.failed += 1;
        // A blob published just before a crash, never committed.
        if let Ok(k) = BlobKey::new(id.clone()) {
            let _ = state.blobs.delete(&k).await;
        }
    }

    // Deletions a crash interrupted.
    let rows = sqlx::query(
        "SELECT message_id, blob_key FROM messages WHERE blob_key IS NOT NULL AND status <> 'queued' LIMIT 500",
    )
    .fetch_all(state.db.pool())
    .await?;
    for row in rows {
        let id: String = row.try_get("message_id")?;
        let key: String = row.try_get("blob_key")?;
        messages::drop_blob(state, &id, &key).await;
        report.blobs_dropped += 1;
    }

    sqlx::query("DELETE FROM request_nonces WHERE seen_at < $1")
        .bind(now - fxe_protocol::request::REPLAY_WINDOW as i64)
        .execute(state.db.pool())
        .await?;
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(now - 24 * 3600)
        .execute(state.db.pool())
        .await?;
    // Ended sessions (signed out, idle or past their absolute end) and passkey
    // ceremonies past their 5 minutes: nothing reads them again.
    sqlx::query("DELETE FROM sessions WHERE revoked_at IS NOT NULL OR expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(now - crate::sessions::IDLE_TIMEOUT_SECS)
        .execute(state.db.pool())
        .await?;
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1").bind(now).execute(state.db.pool()).await?;
    // Events age out with their deliveries and attempts (ON DELETE CASCADE),
    // except those still pending: those go once settled.
    sqlx::query("DELETE FROM events WHERE created_at_ms < $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id AND d.status = 'pending')")
        .bind(clock::now_ms() - EVENT_RETENTION_MS)
        .execute(state.db.pool())
        .await?;
    if let Err(e) = state.blobs.sweep_orphans().await {
        tracing::warn!(error = %e, "could not sweep partial uploads");
    }
    if let Err(e) = state.blobs.sweep_temp(STALE_TEMP).await {
        tracing::warn!(error = %e, "could not sweep temporary uploads");
    }
    Ok(report)
}
