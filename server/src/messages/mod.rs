//! The message lifecycle (API.md, Messages): create from a signed envelope,
//! stream the ciphertext in, receipt or refusal, expiry. HTTP handlers
//! (`api::messages`) and the echo org call the same functions.
//!
//! Blob bookkeeping is crash-safe: `blob_key` is set in the transaction that
//! makes a message `queued` and cleared only after the file is deleted, so
//! the sweeper can always finish a deletion a crash interrupted.

pub mod arrivals;
pub mod echo;
pub mod error;
pub mod expiry;

use fxe_protocol::{
    MAX_CIPHERTEXT_LEN,
    api::{CreateMessageResponse, Message, MessageStatus},
    envelope::Envelope,
    receipt::{Receipt, Refusal},
    request::ClaimedBody,
};
use serde_json::{Value, json};
use sqlx::AnyConnection;

pub use self::error::MessageError;
use crate::{
    AppState,
    blobs::{BlobError, BlobKey, ByteStream},
    clock,
    db::{
        DbError, arrival_notices,
        audit::{self, Actor},
        messages::{self as store, MessageRow, NewMessage},
        orgs,
    },
    ids::MessageId,
    webhooks::events,
};

/// An upload must complete within this long after the envelope was accepted.
pub const UPLOAD_WINDOW_SECS: i64 = 3600;
/// An upload holds its lease this long, refreshed while it runs; a crashed
/// relay's lease lapses so the sender can upload again.
pub const UPLOAD_LEASE_SECS: i64 = 120;

/// Who acts on a message: the org and the audit actor.
#[derive(Clone, Copy)]
pub struct Party<'a> {
    pub org_id: &'a str,
    pub actor: &'a Actor,
}

/// Whether `POST /messages` made a new message or found the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    /// A repeat of an earlier create (same id, same envelope).
    Repeat,
}

/// Loads a message the party sent or received; 404 for anyone else.
pub async fn visible_row(
    conn: &mut AnyConnection, org_id: &str, message_id: &MessageId,
) -> Result<MessageRow, MessageError> {
    let row = store::get(conn, message_id).await?.ok_or(MessageError::NotFound)?;
    let visible = row.sender_org_id == org_id
        || (row.recipient_org_id == org_id
            && !matches!(row.status, MessageStatus::AwaitingUpload | MessageStatus::Failed));
    if visible { Ok(row) } else { Err(MessageError::NotFound) }
}

fn create_response(row: &MessageRow) -> Result<CreateMessageResponse, MessageError> {
    Ok(CreateMessageResponse {
        message: row.to_api(false)?,
        upload_url: format!("/api/v1/messages/{}/content", row.message_id),
        upload_expires_at: clock::rfc3339(row.upload_expires_at),
    })
}

/// `POST /messages`: the checks of API.md in their order, then a new
/// `awaiting_upload` message. Idempotent on `message_id` + envelope hash.
pub async fn create(
    state: &AppState, party: Party<'_>, envelope: Value,
) -> Result<(Created, CreateMessageResponse), MessageError> {
    // 1. Well formed. An envelope whose only fault is a `ciphertext_len` past
    // the cap is 413 `too_large`; any other fault (checked first) is 422.
    let over_cap = envelope.get("ciphertext_len").and_then(Value::as_u64).is_some_and(|n| n > MAX_CIPHERTEXT_LEN);
    let env = Envelope::from_value(envelope).map_err(|e| match e {
        fxe_protocol::Error::Invalid { field: "ciphertext_len", .. } if over_cap => {
            MessageError::TooLarge { max: MAX_CIPHERTEXT_LEN }
        }
        e => MessageError::InvalidEnvelope(e.to_string()),
    })?;
    // `from_value` checked the format; this only gives it its type.
    let message_id = MessageId::parse(&env.message_id).map_err(|e| MessageError::InvalidEnvelope(e.to_string()))?;
    let hash = env.hash_hex();
    let mut conn = state.db.pool().acquire().await?;
    if let Some(existing) = store::get(&mut conn, &message_id).await? {
        return repeat(party, &existing, &hash);
    }
    // 2. The sender is the caller's org, with its active bundle (or one retired < 1 h ago).
    if env.sender_org_id != party.org_id {
        return Err(MessageError::SenderMismatch);
    }
    let now = state.clock.now_secs();
    let Some(sender_bundle) = orgs::usable_bundle(&mut conn, party.org_id, &env.sender_bundle_id, now).await? else {
        return Err(MessageError::StaleBundle);
    };
    // 3. The signature.
    env.verify_signature(&sender_bundle).map_err(|_| MessageError::BadSignature)?;
    // 4. from_number is the caller org's.
    let from_owner = orgs::owner_of(&mut conn, &env.from_number).await?;
    if from_owner.as_ref().map(|o| o.org_id.as_str()) != Some(party.org_id) {
        return Err(MessageError::FromNumberNotYours(env.from_number.clone()));
    }
    // 5. to_number is the recipient's, sealed to its active bundle (or one retired < 1 h ago).
    let to_owner = orgs::owner_of(&mut conn, &env.to_number).await?;
    if to_owner.as_ref().map(|o| o.org_id.as_str()) != Some(env.recipient_org_id.as_str()) {
        return Err(MessageError::ToNumberMismatch {
            number: env.to_number.clone(),
            org_id: env.recipient_org_id.clone(),
        });
    }
    if orgs::usable_bundle(&mut conn, &env.recipient_org_id, &env.recipient_bundle_id, now).await?.is_none() {
        return Err(MessageError::RecipientBundleStale);
    }
    drop(conn);

    let now_ms = state.clock.now_ms_monotonic();
    let now = now_ms / 1000;
    let mut tx = state.db.begin_write().await?;
    let new = NewMessage {
        envelope: &env,
        envelope_hash: &hash,
        created_at_ms: now_ms,
        expires_at: now + clock::secs(state.config.message_ttl),
        upload_expires_at: now + UPLOAD_WINDOW_SECS,
    };
    if !store::insert(&mut tx, new).await? {
        // A concurrent request with the same message_id won: answer as a repeat would.
        tx.rollback().await?;
        let mut conn = state.db.pool().acquire().await?;
        let existing = store::get(&mut conn, &message_id).await?.ok_or(MessageError::NotFound)?;
        return repeat(party, &existing, &hash);
    }
    audit::write(
        &mut tx,
        audit::Entry::new(now_ms, Some(party.org_id), party.actor, "message.created")
            .on(&env.message_id)
            .with(json!({ "to_number": env.to_number, "ciphertext_len": env.ciphertext_len })),
    )
    .await?;
    let row = store::get(&mut tx, &message_id).await?.ok_or(MessageError::NotFound)?;
    tx.commit().await?;
    Ok((Created::New, create_response(&row)?))
}

/// The answer to a create whose message id exists: the same answer again
/// for the same sender and envelope, a conflict otherwise.
fn repeat(
    party: Party<'_>, existing: &MessageRow, hash: &str,
) -> Result<(Created, CreateMessageResponse), MessageError> {
    if existing.sender_org_id == party.org_id && existing.envelope_hash == hash {
        Ok((Created::Repeat, create_response(existing)?))
    } else {
        Err(MessageError::MessageIdConflict)
    }
}

/// Clears an upload lease (on failure, so the sender can retry at once).
async fn release_lease(state: &AppState, message_id: &MessageId) {
    if let Err(e) = store::release_lease(&state.db, message_id).await {
        tracing::warn!(%message_id, error = %e, "could not release an upload lease (it lapses by itself)");
    }
}

/// `PUT /messages/{id}/content`: streams the ciphertext to a temporary blob
/// while hashing, checks length and SHA-256 against the envelope, publishes
/// the blob atomically and only then makes the message `queued`.
pub async fn upload(
    state: &AppState, party: Party<'_>, message_id: &MessageId, body: ByteStream, content_length: Option<u64>,
    claimed: Option<ClaimedBody>,
) -> Result<Message, MessageError> {
    let mut conn = state.db.pool().acquire().await?;
    let row = visible_row(&mut conn, party.org_id, message_id).await?;
    if row.sender_org_id != party.org_id {
        return Err(MessageError::NotFound);
    }
    let now = state.clock.now_secs();
    match row.status {
        MessageStatus::AwaitingUpload if row.upload_expires_at > now => {}
        MessageStatus::AwaitingUpload | MessageStatus::Failed => return Err(MessageError::UploadExpired),
        _ => return Err(MessageError::AlreadyUploaded),
    }
    if content_length.is_some_and(|n| n > MAX_CIPHERTEXT_LEN) {
        return Err(MessageError::TooLarge { max: MAX_CIPHERTEXT_LEN });
    }
    let promised = row.ciphertext_len()?;
    if content_length.is_some_and(|n| n != promised) {
        return Err(MessageError::LengthMismatch(promised));
    }
    // The lease of a relay that died mid-upload (its lock is free) is taken over at once.
    let takeover = match store::lease_holder(&mut conn, message_id, now).await? {
        Some(h) if !holder_alive(state, &h).await => h,
        _ => String::new(),
    };
    drop(conn);
    // A write: on the writer connection (the lease needs no sync of its own;
    // the commit that queues the message covers it).
    let mut writer = state.db.writer().acquire().await?;
    let leased =
        store::take_lease(&mut writer, message_id, state.blobs.instance(), &takeover, now, now + UPLOAD_LEASE_SECS)
            .await?;
    drop(writer);
    if !leased {
        return Err(MessageError::UploadInProgress);
    }

    // Keep the lease while the body streams in.
    let keepalive = {
        let (db, clock) = (state.db.clone(), state.clock.clone());
        let id = message_id.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE_RENEWAL).await;
                let _ = store::renew_lease(&db, &id, clock.now_secs() + UPLOAD_LEASE_SECS).await;
            }
        })
    };
    // The upload window holds while the body streams, not just at its start;
    // past it the partial blob is deleted (dropping `stage` does that).
    let window_left = std::time::Duration::from_secs((row.upload_expires_at - now).max(0).unsigned_abs());
    let staged = tokio::time::timeout(window_left, state.blobs.stage(body, MAX_CIPHERTEXT_LEN)).await;
    keepalive.abort();
    let staged = match staged {
        Ok(Ok(s)) => s,
        Err(_elapsed) => {
            release_lease(state, message_id).await;
            return Err(MessageError::UploadExpired);
        }
        Ok(Err(e)) => {
            release_lease(state, message_id).await;
            return Err(match e {
                BlobError::TooLarge { .. } => MessageError::UploadTooLarge { max: MAX_CIPHERTEXT_LEN },
                other => other.into(),
            });
        }
    };
    crate::http::metrics::add_upload_bytes(staged.len());
    let env = row.envelope()?;
    if let Some(ClaimedBody::Sha256(h)) = claimed
        && h != *staged.sha256()
    {
        release_lease(state, message_id).await;
        return Err(MessageError::BodyHashMismatch);
    }
    if staged.len() != env.ciphertext_len || *staged.sha256() != env.ciphertext_sha256 {
        release_lease(state, message_id).await;
        return Err(MessageError::ContentMismatch);
    }

    let key = BlobKey::new(message_id.as_str()).map_err(MessageError::Blob)?;
    if let Err(e) = state.blobs.publish(staged, &key).await {
        // A blob under this key can only be a leftover of a crash between publish and commit.
        if matches!(e, BlobError::AlreadyExists) {
            tracing::warn!(%message_id, "replacing a leftover blob from an interrupted upload");
            let _ = state.blobs.delete(&key).await;
        }
        tracing::warn!(%message_id, error = %e, "could not publish an upload");
        release_lease(state, message_id).await;
        return Err(MessageError::StorageUnavailable);
    }

    let now_ms = state.clock.now_ms_monotonic();
    let committed: Result<Option<MessageRow>, DbError> = async {
        let mut tx = state.db.begin_write().await?;
        let expires_at = now_ms / 1000 + clock::secs(state.config.message_ttl);
        if !store::mark_queued(&mut tx, message_id, key.as_str(), now_ms, expires_at).await? {
            return Ok(None);
        }
        let row = store::get(&mut tx, message_id).await?.ok_or(DbError::Query(sqlx::Error::RowNotFound))?;
        let data = row.event_data(MessageStatus::Queued);
        events::emit(&mut tx, &row.recipient_org_id, events::MESSAGE_RECEIVED, data, now_ms).await?;
        arrival_notices::queue_for_members(&mut tx, &row.recipient_org_id, message_id, &row.to_number, now_ms).await?;
        audit::write(
            &mut tx,
            audit::Entry::new(now_ms, Some(party.org_id), party.actor, "message.sent")
                .on(message_id)
                .with(json!({ "to_number": row.to_number, "ciphertext_len": row.ciphertext_len })),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(row))
    }
    .await;
    match committed {
        Ok(Some(row)) => {
            state.events.notify();
            Ok(row.to_api(false)?)
        }
        Ok(None) => {
            let _ = state.blobs.delete(&key).await;
            Err(MessageError::AlreadyUploaded)
        }
        Err(e) => {
            let _ = state.blobs.delete(&key).await;
            release_lease(state, message_id).await;
            Err(e.into())
        }
    }
}

/// Whether the instance holding an upload lease still runs: the database
/// knows on PostgreSQL (its presence lock, [`crate::cluster`]), the blob
/// store's lock files on SQLite.
async fn holder_alive(state: &AppState, instance: &str) -> bool {
    match state.cluster.alive(instance).await {
        Some(alive) => alive || instance == state.blobs.instance(),
        None => state.blobs.instance_alive(instance).await,
    }
}

/// How often a running upload renews its lease.
const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(UPLOAD_LEASE_SECS.unsigned_abs() / 4);

/// Deletes a terminal message's blob and clears `blob_key` (also run by the sweeper).
pub async fn drop_blob(state: &AppState, message_id: &MessageId, blob_key: &str) {
    let deleted = match BlobKey::new(blob_key) {
        Ok(k) => state.blobs.delete(&k).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match deleted {
        Ok(()) | Err(BlobError::NotFound) => {
            if let Err(e) = store::clear_blob_key(&state.db, message_id).await {
                tracing::warn!(%message_id, error = %e, "could not record a deleted ciphertext; the sweeper will retry");
            }
        }
        Err(e) => tracing::warn!(%message_id, error = %e, "could not delete a ciphertext; the sweeper will retry"),
    }
}

enum Outcome {
    Receipt(Receipt),
    Refusal(Refusal),
}

/// `POST /messages/{id}/receipt` and `/reject`: verified against the bundle
/// the message was sealed to and the stored envelope hash; then the
/// ciphertext is deleted and the sender hears of it.
async fn conclude(
    state: &AppState, party: Party<'_>, message_id: &MessageId, outcome: Outcome,
) -> Result<Message, MessageError> {
    let mut conn = state.db.pool().acquire().await?;
    let row = visible_row(&mut conn, party.org_id, message_id).await?;
    if row.recipient_org_id != party.org_id {
        return Err(MessageError::NotRecipient);
    }
    let env = row.envelope()?;
    let bundle = orgs::any_bundle(&mut conn, &row.recipient_org_id, &env.recipient_bundle_id)
        .await?
        .ok_or(MessageError::Internal("recipient bundle missing"))?;
    drop(conn);
    let (json, new_status, event, action) = match &outcome {
        Outcome::Receipt(r) => {
            r.verify(&env, &bundle).map_err(|_| MessageError::BadReceipt)?;
            (r.to_json(), MessageStatus::Delivered, events::MESSAGE_DELIVERED, "message.receipted")
        }
        Outcome::Refusal(r) => {
            r.verify(&env, &bundle).map_err(|_| MessageError::BadRefusal)?;
            (r.to_json(), MessageStatus::Rejected, events::MESSAGE_REJECTED, "message.refused")
        }
    };
    let stored = match new_status {
        MessageStatus::Delivered => row.receipt_json.as_deref(),
        _ => row.refusal_json.as_deref(),
    };
    match row.status {
        MessageStatus::Queued => {}
        s if s == new_status && stored == Some(json.as_str()) => return Ok(row.to_api(false)?),
        MessageStatus::Delivered => return Err(MessageError::AlreadyDelivered),
        MessageStatus::Rejected => return Err(MessageError::AlreadyRejected),
        MessageStatus::Expired => return Err(MessageError::Expired),
        _ => return Err(MessageError::NotQueued("This message has not been uploaded.")),
    }
    let now_ms = state.clock.now_ms_monotonic();
    let stored_outcome = match new_status {
        MessageStatus::Delivered => store::Outcome::Receipt(&json),
        _ => store::Outcome::Refusal(&json),
    };
    let mut tx = state.db.begin_write().await?;
    if !store::conclude(&mut tx, message_id, stored_outcome, now_ms).await? {
        tx.rollback().await?;
        return Err(MessageError::NotQueued("This message changed meanwhile; fetch it again."));
    }
    events::emit(&mut tx, &row.sender_org_id, event, row.event_data(new_status), now_ms).await?;
    audit::write(&mut tx, audit::Entry::new(now_ms, Some(party.org_id), party.actor, action).on(message_id)).await?;
    let updated = store::get(&mut tx, message_id).await?.ok_or(MessageError::NotFound)?;
    tx.commit().await?;
    state.events.notify();
    if let Some(k) = &updated.blob_key {
        drop_blob(state, message_id, k).await;
    }
    Ok(updated.to_api(false)?)
}

/// The body of `POST /messages/{id}/receipt`, checked for shape (before
/// the message is looked up: a malformed receipt is refused whatever the id).
pub fn parse_receipt(receipt: Value) -> Result<Receipt, MessageError> {
    let r: Receipt = serde_json::from_value(receipt)
        .map_err(|e| MessageError::InvalidReceipt(format!("The receipt is malformed: {e}")))?;
    r.check_shape().map_err(|e| MessageError::InvalidReceipt(e.to_string()))?;
    Ok(r)
}

/// The body of `POST /messages/{id}/reject`, checked for shape (see [`parse_receipt`]).
pub fn parse_refusal(refusal: Value) -> Result<Refusal, MessageError> {
    let r: Refusal = serde_json::from_value(refusal)
        .map_err(|e| MessageError::InvalidRefusal(format!("The refusal is malformed: {e}")))?;
    r.check_shape().map_err(|e| MessageError::InvalidRefusal(e.to_string()))?;
    Ok(r)
}

/// `POST /messages/{id}/receipt`: the recipient's signed receipt.
pub async fn receipt(
    state: &AppState, party: Party<'_>, message_id: &MessageId, receipt: Receipt,
) -> Result<Message, MessageError> {
    conclude(state, party, message_id, Outcome::Receipt(receipt)).await
}

/// `POST /messages/{id}/reject`: the recipient's signed refusal.
pub async fn refuse(
    state: &AppState, party: Party<'_>, message_id: &MessageId, refusal: Refusal,
) -> Result<Message, MessageError> {
    conclude(state, party, message_id, Outcome::Refusal(refusal)).await
}
