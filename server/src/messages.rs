//! The message lifecycle (API.md, Messages): create from a signed envelope,
//! stream the ciphertext in, receipt or refusal, expiry. HTTP handlers
//! (`api::messages`) and the echo org call the same functions.
//!
//! Blob bookkeeping is crash-safe: `blob_key` is set in the transaction that
//! makes a message `queued` and cleared only after the file is deleted, so
//! the sweeper can always finish a deletion a crash interrupted.

use std::time::Duration;

use axum::http::StatusCode;
use fxe_protocol::{
    MAX_CIPHERTEXT_LEN,
    api::{CreateMessageResponse, Message, MessageStatus},
    envelope::Envelope,
    receipt::{Receipt, Refusal},
    request::ClaimedBody,
};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use crate::{
    AppState,
    audit::{self, Actor},
    blobs::{BlobError, BlobKey, ByteStream},
    clock,
    db::DbError,
    error::ApiError,
    events, orgs,
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

/// A message as stored.
#[derive(Clone, Debug)]
pub struct MessageRow {
    pub message_id: String,
    pub sender_org_id: String,
    pub recipient_org_id: String,
    pub status: MessageStatus,
    pub from_number: String,
    pub from_name: String,
    pub to_number: String,
    pub ciphertext_len: i64,
    pub envelope_hash: String,
    pub envelope_json: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub expires_at: i64,
    pub upload_expires_at: i64,
    pub blob_key: Option<String>,
    pub receipt_json: Option<String>,
    pub refusal_json: Option<String>,
}

pub const COLUMNS: &str = "message_id, sender_org_id, recipient_org_id, status, from_number, from_name, to_number, \
    ciphertext_len, envelope_hash, envelope_json, created_at_ms, updated_at_ms, expires_at, upload_expires_at, \
    blob_key, receipt_json, refusal_json";

fn decode_err(what: &str) -> DbError {
    DbError::Query(sqlx::Error::Decode(format!("stored {what} is unreadable").into()))
}

impl MessageRow {
    pub fn from_row(row: &sqlx::any::AnyRow) -> Result<MessageRow, DbError> {
        let status: String = row.try_get("status")?;
        Ok(MessageRow {
            message_id: row.try_get("message_id")?,
            sender_org_id: row.try_get("sender_org_id")?,
            recipient_org_id: row.try_get("recipient_org_id")?,
            status: MessageStatus::parse(&status).ok_or_else(|| decode_err("status"))?,
            from_number: row.try_get("from_number")?,
            from_name: row.try_get("from_name")?,
            to_number: row.try_get("to_number")?,
            ciphertext_len: row.try_get("ciphertext_len")?,
            envelope_hash: row.try_get("envelope_hash")?,
            envelope_json: row.try_get("envelope_json")?,
            created_at_ms: row.try_get("created_at_ms")?,
            updated_at_ms: row.try_get("updated_at_ms")?,
            expires_at: row.try_get("expires_at")?,
            upload_expires_at: row.try_get("upload_expires_at")?,
            blob_key: row.try_get("blob_key")?,
            receipt_json: row.try_get("receipt_json")?,
            refusal_json: row.try_get("refusal_json")?,
        })
    }

    pub fn envelope(&self) -> Result<Envelope, DbError> {
        Envelope::from_json(&self.envelope_json).map_err(|_| decode_err("envelope"))
    }

    /// The API object; `with_envelope` for `GET /messages/{id}`.
    pub fn to_api(&self, with_envelope: bool) -> Result<Message, DbError> {
        Ok(Message {
            message_id: self.message_id.clone(),
            status: self.status,
            from_number: self.from_number.clone(),
            from_name: self.from_name.clone(),
            to_number: self.to_number.clone(),
            sender_org_id: self.sender_org_id.clone(),
            recipient_org_id: self.recipient_org_id.clone(),
            ciphertext_len: self.ciphertext_len.max(0) as u64,
            envelope_hash: self.envelope_hash.clone(),
            created_at: clock::rfc3339_ms(self.created_at_ms),
            updated_at: clock::rfc3339_ms(self.updated_at_ms),
            expires_at: clock::rfc3339(self.expires_at),
            receipt: self
                .receipt_json
                .as_deref()
                .map(Receipt::from_json)
                .transpose()
                .map_err(|_| decode_err("receipt"))?,
            refusal: self
                .refusal_json
                .as_deref()
                .map(Refusal::from_json)
                .transpose()
                .map_err(|_| decode_err("refusal"))?,
            envelope: if with_envelope { Some(self.envelope()?) } else { None },
        })
    }

    /// Metadata for events (never plaintext).
    pub fn event_data(&self, status: MessageStatus) -> Value {
        json!({
            "message_id": self.message_id,
            "from_number": self.from_number,
            "from_name": self.from_name,
            "to_number": self.to_number,
            "ciphertext_len": self.ciphertext_len,
            "status": status.as_str(),
        })
    }
}

pub async fn get_row(conn: &mut AnyConnection, message_id: &str) -> Result<Option<MessageRow>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM messages WHERE message_id = $1"))
        .bind(message_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(MessageRow::from_row).transpose()
}

fn not_found() -> ApiError {
    ApiError::not_found("No such message.")
}

/// Loads a message the party sent or received; 404 for anyone else (and for malformed ids).
pub async fn visible_row(conn: &mut AnyConnection, org_id: &str, message_id: &str) -> Result<MessageRow, ApiError> {
    if fxe_protocol::encoding::validate_uuid_v4("message_id", message_id).is_err() {
        return Err(not_found());
    }
    let row = get_row(conn, message_id).await?.ok_or_else(not_found)?;
    let visible = row.sender_org_id == org_id
        || (row.recipient_org_id == org_id
            && !matches!(row.status, MessageStatus::AwaitingUpload | MessageStatus::Failed));
    if visible { Ok(row) } else { Err(not_found()) }
}

fn create_response(row: &MessageRow) -> Result<CreateMessageResponse, ApiError> {
    Ok(CreateMessageResponse {
        message: row.to_api(false)?,
        upload_url: format!("/api/v1/messages/{}/content", row.message_id),
        upload_expires_at: clock::rfc3339(row.upload_expires_at),
    })
}

/// `POST /messages`: the checks of API.md in their order, then a new
/// `awaiting_upload` message. Idempotent on `message_id` + envelope hash.
pub async fn create(
    state: &AppState,
    party: Party<'_>,
    envelope: Value,
) -> Result<(StatusCode, CreateMessageResponse), ApiError> {
    // 1. Well formed.
    if envelope.get("ciphertext_len").and_then(Value::as_u64).is_some_and(|n| n > MAX_CIPHERTEXT_LEN) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("A fax may be at most {MAX_CIPHERTEXT_LEN} bytes of ciphertext."),
        ));
    }
    let env = Envelope::from_value(envelope).map_err(|e| ApiError::unprocessable("invalid_envelope", e.to_string()))?;
    let hash = env.hash_hex();
    let mut conn = state.db.pool().acquire().await?;
    if let Some(existing) = get_row(&mut conn, &env.message_id).await? {
        if existing.sender_org_id == party.org_id && existing.envelope_hash == hash {
            return Ok((StatusCode::OK, create_response(&existing)?));
        }
        return Err(ApiError::conflict(
            "message_id_conflict",
            "This message_id is already used by a different envelope.",
        ));
    }
    // 2. The sender is the caller's org, with its active bundle (or one retired < 1 h ago).
    if env.sender_org_id != party.org_id {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "sender_mismatch", "sender_org_id is not your org."));
    }
    let Some(sender_bundle) = orgs::usable_bundle(&mut conn, party.org_id, &env.sender_bundle_id).await? else {
        return Err(ApiError::unprocessable(
            "stale_bundle",
            "sender_bundle_id is not your org's active bundle; seal with the active bundle.",
        ));
    };
    // 3. The signature.
    env.verify_signature(&sender_bundle).map_err(|_| {
        ApiError::unprocessable("bad_signature", "The envelope signature does not verify with the sender bundle.")
    })?;
    // 4. from_number is the caller org's.
    let from_owner = orgs::owner_of(&mut conn, &env.from_number).await?;
    if from_owner.as_ref().map(|o| o.org_id.as_str()) != Some(party.org_id) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "from_number_not_yours",
            format!("{} is not an active number of your org.", env.from_number),
        ));
    }
    // 5. to_number is the recipient's, sealed to its active bundle (or one retired < 1 h ago).
    let to_owner = orgs::owner_of(&mut conn, &env.to_number).await?;
    if to_owner.as_ref().map(|o| o.org_id.as_str()) != Some(env.recipient_org_id.as_str()) {
        return Err(ApiError::unprocessable(
            "to_number_mismatch",
            format!("{} does not belong to org {}.", env.to_number, env.recipient_org_id),
        ));
    }
    if orgs::usable_bundle(&mut conn, &env.recipient_org_id, &env.recipient_bundle_id).await?.is_none() {
        return Err(ApiError::unprocessable(
            "to_number_mismatch",
            "recipient_bundle_id is not the recipient's active bundle; look the number up again.",
        ));
    }
    drop(conn);

    let now_ms = clock::now_ms_monotonic();
    let now = now_ms / 1000;
    let mut tx = state.db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO messages (message_id, sender_org_id, recipient_org_id, status, from_number, from_name, to_number, \
         ciphertext_len, envelope_hash, envelope_json, created_at_ms, updated_at_ms, seq, expires_at, upload_expires_at) \
         VALUES ($1, $2, $3, 'awaiting_upload', $4, $5, $6, $7, $8, $9, $10, $10, $10, $11, $12) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(&env.message_id)
    .bind(party.org_id)
    .bind(&env.recipient_org_id)
    .bind(&env.from_number)
    .bind(&env.from_name)
    .bind(&env.to_number)
    .bind(env.ciphertext_len as i64)
    .bind(&hash)
    .bind(env.to_json())
    .bind(now_ms)
    .bind(now + state.config.message_ttl.as_secs() as i64)
    .bind(now + UPLOAD_WINDOW_SECS)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // A concurrent request with the same message_id won: answer as a repeat would.
        tx.rollback().await?;
        let mut conn = state.db.pool().acquire().await?;
        let existing = get_row(&mut conn, &env.message_id).await?.ok_or_else(not_found)?;
        if existing.sender_org_id == party.org_id && existing.envelope_hash == hash {
            return Ok((StatusCode::OK, create_response(&existing)?));
        }
        return Err(ApiError::conflict(
            "message_id_conflict",
            "This message_id is already used by a different envelope.",
        ));
    }
    audit::write(
        &mut tx,
        audit::Entry {
            org_id: Some(party.org_id),
            actor: party.actor,
            action: "message.created",
            target: Some(&env.message_id),
            detail: Some(json!({ "to_number": env.to_number, "ciphertext_len": env.ciphertext_len })),
        },
    )
    .await?;
    let row = get_row(&mut tx, &env.message_id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, create_response(&row)?))
}

/// Clears an upload lease (on failure, so the sender can retry at once).
async fn release_lease(state: &AppState, message_id: &str) {
    let r = sqlx::query("UPDATE messages SET upload_lease_until = NULL, upload_lease_owner = NULL WHERE message_id = $1 AND status = 'awaiting_upload'")
        .bind(message_id)
        .execute(state.db.pool())
        .await;
    if let Err(e) = r {
        tracing::warn!(message_id, error = %e, "could not release an upload lease (it lapses by itself)");
    }
}

/// `PUT /messages/{id}/content`: streams the ciphertext to a temporary blob
/// while hashing, checks length and SHA-256 against the envelope, publishes
/// the blob atomically and only then makes the message `queued`.
pub async fn upload(
    state: &AppState,
    party: Party<'_>,
    message_id: &str,
    body: ByteStream,
    content_length: Option<u64>,
    claimed: Option<ClaimedBody>,
) -> Result<Message, ApiError> {
    let mut conn = state.db.pool().acquire().await?;
    let row = visible_row(&mut conn, party.org_id, message_id).await?;
    if row.sender_org_id != party.org_id {
        return Err(not_found());
    }
    let now = clock::now_secs();
    match row.status {
        MessageStatus::AwaitingUpload if row.upload_expires_at > now => {}
        MessageStatus::AwaitingUpload | MessageStatus::Failed => {
            return Err(ApiError::new(
                StatusCode::GONE,
                "upload_expired",
                "The upload window (1 hour) has passed; create the message again with a new message_id.",
            ));
        }
        _ => return Err(ApiError::conflict("already_uploaded", "This message's content has already been uploaded.")),
    }
    if content_length.is_some_and(|n| n > MAX_CIPHERTEXT_LEN) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("A fax may be at most {MAX_CIPHERTEXT_LEN} bytes of ciphertext."),
        ));
    }
    if content_length.is_some_and(|n| n != row.ciphertext_len as u64) {
        return Err(ApiError::unprocessable(
            "content_mismatch",
            format!("Content-Length differs from the envelope's ciphertext_len ({}).", row.ciphertext_len),
        ));
    }
    // The lease of a relay that died mid-upload (its lock is free) is taken over at once.
    let holder: Option<String> =
        sqlx::query("SELECT upload_lease_owner FROM messages WHERE message_id = $1 AND upload_lease_until >= $2")
            .bind(message_id)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get::<Option<String>, _>("upload_lease_owner"))
            .transpose()?
            .flatten();
    let takeover = match holder {
        Some(h) if !state.blobs.instance_alive(&h).await => h,
        _ => String::new(),
    };
    let leased = sqlx::query(
        "UPDATE messages SET upload_lease_until = $1, upload_lease_owner = $2 WHERE message_id = $3 AND status = 'awaiting_upload' \
         AND (upload_lease_until IS NULL OR upload_lease_until < $4 OR upload_lease_owner = $5)",
    )
    .bind(now + UPLOAD_LEASE_SECS)
    .bind(state.blobs.instance())
    .bind(message_id)
    .bind(now)
    .bind(&takeover)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    drop(conn);
    if leased == 0 {
        return Err(ApiError::conflict("upload_in_progress", "Another upload of this message is running."));
    }

    // Keep the lease while the body streams in.
    let keepalive = {
        let db = state.db.clone();
        let id = message_id.to_owned();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs((UPLOAD_LEASE_SECS / 4) as u64)).await;
                let _ = sqlx::query(
                    "UPDATE messages SET upload_lease_until = $1 WHERE message_id = $2 AND status = 'awaiting_upload'",
                )
                .bind(clock::now_secs() + UPLOAD_LEASE_SECS)
                .bind(&id)
                .execute(db.pool())
                .await;
            }
        })
    };
    let staged = state.blobs.stage(body, MAX_CIPHERTEXT_LEN).await;
    keepalive.abort();
    let staged = match staged {
        Ok(s) => s,
        Err(e) => {
            release_lease(state, message_id).await;
            return Err(match e {
                BlobError::TooLarge { .. } => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("A fax may be at most {MAX_CIPHERTEXT_LEN} bytes of ciphertext; the upload was cut off."),
                ),
                other => other.into(),
            });
        }
    };
    crate::metrics::add_upload_bytes(staged.len());
    let env = row.envelope()?;
    if let Some(ClaimedBody::Sha256(h)) = claimed
        && h != *staged.sha256()
    {
        release_lease(state, message_id).await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "body_hash_mismatch",
            "The body does not match X-FXE-Content-SHA256.",
        ));
    }
    if staged.len() != env.ciphertext_len || *staged.sha256() != env.ciphertext_sha256 {
        release_lease(state, message_id).await;
        return Err(ApiError::unprocessable(
            "content_mismatch",
            "The uploaded bytes differ from the envelope's ciphertext_len or ciphertext_sha256; nothing was kept.",
        ));
    }

    let key = BlobKey::new(message_id).map_err(ApiError::internal)?;
    if let Err(e) = state.blobs.publish(staged, &key).await {
        // A blob under this key can only be a leftover of a crash between publish and commit.
        if matches!(e, BlobError::AlreadyExists) {
            tracing::warn!(message_id, "replacing a leftover blob from an interrupted upload");
            let _ = state.blobs.delete(&key).await;
        }
        release_lease(state, message_id).await;
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "The relay could not store the upload; please upload again.",
        ));
    }

    let now_ms = clock::now_ms_monotonic();
    let committed: Result<Option<MessageRow>, DbError> = async {
        let mut tx = state.db.begin_write().await?;
        let n = sqlx::query(
            "UPDATE messages SET status = 'queued', blob_key = $1, updated_at_ms = $2, seq = $2, expires_at = $3, upload_lease_until = NULL, upload_lease_owner = NULL \
             WHERE message_id = $4 AND status = 'awaiting_upload'",
        )
        .bind(key.as_str())
        .bind(now_ms)
        .bind(now_ms / 1000 + state.config.message_ttl.as_secs() as i64)
        .bind(message_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(None);
        }
        let row = get_row(&mut tx, message_id).await?.ok_or(DbError::Query(sqlx::Error::RowNotFound))?;
        events::emit(&mut tx, &row.recipient_org_id, events::MESSAGE_RECEIVED, row.event_data(MessageStatus::Queued)).await?;
        audit::write(&mut tx, audit::Entry {
            org_id: Some(party.org_id),
            actor: party.actor,
            action: "message.sent",
            target: Some(message_id),
            detail: Some(json!({ "to_number": row.to_number, "ciphertext_len": row.ciphertext_len })),
        })
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
            Err(ApiError::conflict("already_uploaded", "This message's content has already been uploaded."))
        }
        Err(e) => {
            let _ = state.blobs.delete(&key).await;
            release_lease(state, message_id).await;
            Err(e.into())
        }
    }
}

/// Deletes a terminal message's blob and clears `blob_key` (also run by the sweeper).
pub async fn drop_blob(state: &AppState, message_id: &str, blob_key: &str) {
    let deleted = match BlobKey::new(blob_key) {
        Ok(k) => state.blobs.delete(&k).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match deleted {
        Ok(()) | Err(BlobError::NotFound) => {
            let _ = sqlx::query("UPDATE messages SET blob_key = NULL WHERE message_id = $1 AND status <> 'queued'")
                .bind(message_id)
                .execute(state.db.pool())
                .await;
        }
        Err(e) => tracing::warn!(message_id, error = %e, "could not delete a ciphertext; the sweeper will retry"),
    }
}

enum Outcome {
    Receipt(Receipt),
    Refusal(Refusal),
}

/// `POST /messages/{id}/receipt` and `/reject`: verified against the bundle
/// the message was sealed to and the stored envelope hash; then the
/// ciphertext is deleted and the sender hears of it.
async fn conclude(state: &AppState, party: Party<'_>, message_id: &str, outcome: Outcome) -> Result<Message, ApiError> {
    let mut conn = state.db.pool().acquire().await?;
    let row = visible_row(&mut conn, party.org_id, message_id).await?;
    if row.recipient_org_id != party.org_id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only the recipient can receipt or refuse a message.",
        ));
    }
    let env = row.envelope()?;
    let bundle = orgs::any_bundle(&mut conn, &row.recipient_org_id, &env.recipient_bundle_id)
        .await?
        .ok_or_else(|| ApiError::internal("recipient bundle missing"))?;
    drop(conn);
    let (json, new_status, event, action) = match &outcome {
        Outcome::Receipt(r) => {
            r.verify(&env, &bundle).map_err(|_| {
                ApiError::unprocessable(
                    "bad_receipt",
                    "The receipt does not verify for this message and the bundle it was sealed to.",
                )
            })?;
            (r.to_json(), MessageStatus::Delivered, events::MESSAGE_DELIVERED, "message.receipted")
        }
        Outcome::Refusal(r) => {
            r.verify(&env, &bundle).map_err(|_| {
                ApiError::unprocessable(
                    "bad_refusal",
                    "The refusal does not verify for this message and the bundle it was sealed to.",
                )
            })?;
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
        MessageStatus::Delivered => {
            return Err(ApiError::conflict("already_delivered", "This message already has a receipt."));
        }
        MessageStatus::Rejected => {
            return Err(ApiError::conflict("already_rejected", "This message was already refused."));
        }
        MessageStatus::Expired => {
            return Err(ApiError::new(StatusCode::GONE, "gone", "This message expired before it was received."));
        }
        _ => return Err(ApiError::conflict("not_queued", "This message has not been uploaded.")),
    }
    let now_ms = clock::now_ms_monotonic();
    let column = if new_status == MessageStatus::Delivered { "receipt_json" } else { "refusal_json" };
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(&format!(
        "UPDATE messages SET status = $1, {column} = $2, updated_at_ms = $3, seq = $3 WHERE message_id = $4 AND status = 'queued'"
    ))
    .bind(new_status.as_str())
    .bind(&json)
    .bind(now_ms)
    .bind(message_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        tx.rollback().await?;
        return Err(ApiError::conflict("not_queued", "This message changed meanwhile; fetch it again."));
    }
    events::emit(&mut tx, &row.sender_org_id, event, row.event_data(new_status)).await?;
    audit::write(
        &mut tx,
        audit::Entry { org_id: Some(party.org_id), actor: party.actor, action, target: Some(message_id), detail: None },
    )
    .await?;
    let updated = get_row(&mut tx, message_id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    state.events.notify();
    if let Some(k) = &updated.blob_key {
        drop_blob(state, message_id, k).await;
    }
    Ok(updated.to_api(false)?)
}

pub async fn receipt(
    state: &AppState,
    party: Party<'_>,
    message_id: &str,
    receipt: Value,
) -> Result<Message, ApiError> {
    let r: Receipt = serde_json::from_value(receipt)
        .map_err(|e| ApiError::unprocessable("invalid_receipt", format!("The receipt is malformed: {e}")))?;
    r.check_shape().map_err(|e| ApiError::unprocessable("invalid_receipt", e.to_string()))?;
    conclude(state, party, message_id, Outcome::Receipt(r)).await
}

pub async fn refuse(state: &AppState, party: Party<'_>, message_id: &str, refusal: Value) -> Result<Message, ApiError> {
    let r: Refusal = serde_json::from_value(refusal)
        .map_err(|e| ApiError::unprocessable("invalid_refusal", format!("The refusal is malformed: {e}")))?;
    r.check_shape().map_err(|e| ApiError::unprocessable("invalid_refusal", e.to_string()))?;
    conclude(state, party, message_id, Outcome::Refusal(r)).await
}
