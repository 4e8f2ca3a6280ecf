//! Message expiry: queued messages past their TTL become `expired`
//! (ciphertext deleted, both orgs told); uploads not completed within the
//! hour become `failed` (partial blobs removed); deletions a crash
//! interrupted are finished. `crate::housekeeping` runs it every 30 s.

use fxe_protocol::api::MessageStatus;

use crate::{
    AppState,
    blobs::BlobKey,
    db::{
        DbError,
        audit::{self, Actor},
        messages as store,
    },
    housekeeping::Report,
    messages,
    webhooks::events,
};

/// One pass over the messages: queued ones past their TTL expire, uploads
/// never completed fail, deletions a crash interrupted are finished.
pub async fn run(state: &AppState, now: i64, report: &mut Report) -> Result<(), DbError> {
    let relay = Actor::relay();

    // Queued messages past their TTL.
    for row in store::queued_expired(&state.db, now).await? {
        let now_ms = state.clock.now_ms_monotonic();
        let mut tx = state.db.begin_write().await?;
        if !store::end(&mut tx, &row.message_id, MessageStatus::Queued, MessageStatus::Expired, now_ms).await? {
            continue;
        }
        for org in [&row.sender_org_id, &row.recipient_org_id] {
            events::emit(&mut tx, org, events::MESSAGE_EXPIRED, row.event_data(MessageStatus::Expired), now_ms).await?;
            audit::write(&mut tx, audit::Entry::new(now_ms, Some(org), &relay, "message.expired").on(&row.message_id))
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
    for row in store::uploads_abandoned(&state.db, now).await? {
        let (id, org) = (row.message_id, row.sender_org_id);
        let now_ms = state.clock.now_ms_monotonic();
        let mut tx = state.db.begin_write().await?;
        if !store::end(&mut tx, &id, MessageStatus::AwaitingUpload, MessageStatus::Failed, now_ms).await? {
            continue;
        }
        audit::write(&mut tx, audit::Entry::new(now_ms, Some(&org), &relay, "message.upload_failed").on(&id)).await?;
        tx.commit().await?;
        report.failed += 1;
        // A blob published just before a crash, never committed.
        if let Ok(k) = BlobKey::new(id.clone()) {
            let _ = state.blobs.delete(&k).await;
        }
    }

    // Deletions a crash interrupted.
    for (id, key) in store::blobs_to_drop(&state.db).await? {
        messages::drop_blob(state, &id, &key).await;
        report.blobs_dropped += 1;
    }
    Ok(())
}
