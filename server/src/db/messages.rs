//! The `messages` table: one row per message, its status, envelope, upload
//! lease, blob key and outcome. Every query on it is here; the lifecycle's
//! rules are in `crate::messages`.

use fxe_protocol::{
    api::{Message, MessageStatus},
    envelope::Envelope,
    receipt::{Receipt, Refusal},
};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use super::{Db, DbError, page::Cursor, to_i64, to_u64};
use crate::{
    clock,
    ids::{MessageId, OrgId},
};

/// A message as stored.
#[derive(Clone, Debug)]
pub struct MessageRow {
    pub message_id: MessageId,
    pub sender_org_id: OrgId,
    pub recipient_org_id: OrgId,
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

const COLUMNS: &str = "message_id, sender_org_id, recipient_org_id, status, from_number, from_name, to_number, \
    ciphertext_len, envelope_hash, envelope_json, created_at_ms, updated_at_ms, expires_at, upload_expires_at, \
    blob_key, receipt_json, refusal_json";

fn decode_err(what: &str) -> DbError {
    DbError::Query(sqlx::Error::Decode(format!("stored {what} is unreadable").into()))
}

impl MessageRow {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<MessageRow, DbError> {
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

    /// The stored envelope.
    pub fn envelope(&self) -> Result<Envelope, DbError> {
        Envelope::from_json(&self.envelope_json).map_err(|_| decode_err("envelope"))
    }

    /// The ciphertext length the envelope promised.
    pub fn ciphertext_len(&self) -> Result<u64, DbError> {
        to_u64(self.ciphertext_len)
    }

    /// The API object; `with_envelope` for `GET /messages/{id}`.
    pub fn to_api(&self, with_envelope: bool) -> Result<Message, DbError> {
        Ok(Message {
            message_id: self.message_id.to_string(),
            status: self.status,
            from_number: self.from_number.clone(),
            from_name: self.from_name.clone(),
            to_number: self.to_number.clone(),
            sender_org_id: self.sender_org_id.to_string(),
            recipient_org_id: self.recipient_org_id.to_string(),
            ciphertext_len: self.ciphertext_len()?,
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

fn rows(rows: &[sqlx::any::AnyRow]) -> Result<Vec<MessageRow>, DbError> {
    rows.iter().map(MessageRow::from_row).collect()
}

/// The message with this id, if any.
pub async fn get(conn: &mut AnyConnection, message_id: &MessageId) -> Result<Option<MessageRow>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM messages WHERE message_id = $1"))
        .bind(message_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(MessageRow::from_row).transpose()
}

/// A new message, as `POST /messages` accepted it.
pub struct NewMessage<'a> {
    pub envelope: &'a Envelope,
    pub envelope_hash: &'a str,
    pub created_at_ms: i64,
    pub expires_at: i64,
    pub upload_expires_at: i64,
}

/// Inserts an `awaiting_upload` message; `false` when its id exists already
/// (a concurrent create won).
pub async fn insert(conn: &mut AnyConnection, m: NewMessage<'_>) -> Result<bool, DbError> {
    let env = m.envelope;
    let inserted = sqlx::query(
        "INSERT INTO messages (message_id, sender_org_id, recipient_org_id, status, from_number, from_name, to_number, \
         ciphertext_len, envelope_hash, envelope_json, created_at_ms, updated_at_ms, seq, expires_at, upload_expires_at) \
         VALUES ($1, $2, $3, 'awaiting_upload', $4, $5, $6, $7, $8, $9, $10, $10, $10, $11, $12) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(&env.message_id)
    .bind(&env.sender_org_id)
    .bind(&env.recipient_org_id)
    .bind(&env.from_number)
    .bind(&env.from_name)
    .bind(&env.to_number)
    .bind(to_i64(env.ciphertext_len)?)
    .bind(m.envelope_hash)
    .bind(env.to_json())
    .bind(m.created_at_ms)
    .bind(m.expires_at)
    .bind(m.upload_expires_at)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The instance holding a live upload lease on this message, if any.
pub async fn lease_holder(
    conn: &mut AnyConnection, message_id: &MessageId, now: i64,
) -> Result<Option<String>, DbError> {
    Ok(sqlx::query("SELECT upload_lease_owner FROM messages WHERE message_id = $1 AND upload_lease_until >= $2")
        .bind(message_id)
        .bind(now)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("upload_lease_owner"))
        .transpose()?
        .flatten())
}

/// Takes the upload lease for `owner` until `until`, if it is free, lapsed or
/// held by `takeover` (a dead instance). `false` when another upload holds it.
pub async fn take_lease(
    conn: &mut AnyConnection, message_id: &MessageId, owner: &str, takeover: &str, now: i64, until: i64,
) -> Result<bool, DbError> {
    let n = sqlx::query(
        "UPDATE messages SET upload_lease_until = $1, upload_lease_owner = $2 WHERE message_id = $3 AND status = 'awaiting_upload' \
         AND (upload_lease_until IS NULL OR upload_lease_until < $4 OR upload_lease_owner = $5)",
    )
    .bind(until)
    .bind(owner)
    .bind(message_id)
    .bind(now)
    .bind(takeover)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Extends a running upload's lease.
pub async fn renew_lease(db: &Db, message_id: &MessageId, until: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE messages SET upload_lease_until = $1 WHERE message_id = $2 AND status = 'awaiting_upload'")
        .bind(until)
        .bind(message_id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Clears an upload lease.
pub async fn release_lease(db: &Db, message_id: &MessageId) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE messages SET upload_lease_until = NULL, upload_lease_owner = NULL WHERE message_id = $1 AND status = 'awaiting_upload'",
    )
    .bind(message_id)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// `awaiting_upload` → `queued` with its blob; `false` if the message was
/// not awaiting its upload any more.
pub async fn mark_queued(
    conn: &mut AnyConnection, message_id: &MessageId, blob_key: &str, now_ms: i64, expires_at: i64,
) -> Result<bool, DbError> {
    let n = sqlx::query(
        "UPDATE messages SET status = 'queued', blob_key = $1, updated_at_ms = $2, seq = $2, expires_at = $3, upload_lease_until = NULL, upload_lease_owner = NULL \
         WHERE message_id = $4 AND status = 'awaiting_upload'",
    )
    .bind(blob_key)
    .bind(now_ms)
    .bind(expires_at)
    .bind(message_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The outcome a recipient signed.
pub enum Outcome<'a> {
    Receipt(&'a str),
    Refusal(&'a str),
}

/// `queued` → `delivered` (receipt) or `rejected` (refusal); `false` if the
/// message was no longer queued.
pub async fn conclude(
    conn: &mut AnyConnection, message_id: &MessageId, outcome: Outcome<'_>, now_ms: i64,
) -> Result<bool, DbError> {
    let (status, column, json) = match outcome {
        Outcome::Receipt(j) => (MessageStatus::Delivered, "receipt_json", j),
        Outcome::Refusal(j) => (MessageStatus::Rejected, "refusal_json", j),
    };
    let n = sqlx::query(&format!(
        "UPDATE messages SET status = $1, {column} = $2, updated_at_ms = $3, seq = $3 WHERE message_id = $4 AND status = 'queued'"
    ))
    .bind(status.as_str())
    .bind(json)
    .bind(now_ms)
    .bind(message_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Moves a message from `from` to a terminal `to` (expiry, failed upload);
/// `false` if it was not in `from` any more.
pub async fn end(
    conn: &mut AnyConnection, message_id: &MessageId, from: MessageStatus, to: MessageStatus, now_ms: i64,
) -> Result<bool, DbError> {
    let n = sqlx::query(
        "UPDATE messages SET status = $1, updated_at_ms = $2, seq = $2 WHERE message_id = $3 AND status = $4",
    )
    .bind(to.as_str())
    .bind(now_ms)
    .bind(message_id)
    .bind(from.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Forgets a deleted blob of a message that is no longer queued.
pub async fn clear_blob_key(db: &Db, message_id: &MessageId) -> Result<(), DbError> {
    sqlx::query("UPDATE messages SET blob_key = NULL WHERE message_id = $1 AND status <> 'queued'")
        .bind(message_id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Queued messages past their time to live (at most 500).
pub async fn queued_expired(db: &Db, now: i64) -> Result<Vec<MessageRow>, DbError> {
    rows(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM messages WHERE status = 'queued' AND expires_at <= $1 LIMIT 500"))
            .bind(now)
            .fetch_all(db.pool())
            .await?,
    )
}

/// Messages whose upload window closed with no upload running (at most 500).
pub async fn uploads_abandoned(db: &Db, now: i64) -> Result<Vec<MessageRow>, DbError> {
    rows(
        &sqlx::query(&format!(
            "SELECT {COLUMNS} FROM messages WHERE status = 'awaiting_upload' AND upload_expires_at <= $1 \
             AND (upload_lease_until IS NULL OR upload_lease_until < $1) LIMIT 500"
        ))
        .bind(now)
        .fetch_all(db.pool())
        .await?,
    )
}

/// `(message_id, blob_key)` of messages that ended but whose blob a crash
/// left behind (at most 500).
pub async fn blobs_to_drop(db: &Db) -> Result<Vec<(MessageId, String)>, DbError> {
    let rows = sqlx::query(
        "SELECT message_id, blob_key FROM messages WHERE blob_key IS NOT NULL AND status <> 'queued' LIMIT 500",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok((r.try_get("message_id")?, r.try_get("blob_key")?))).collect()
}

/// Queued messages addressed to `org_id`, oldest first (at most 50).
pub async fn queued_for(db: &Db, org_id: &OrgId) -> Result<Vec<MessageRow>, DbError> {
    rows(
        &sqlx::query(&format!(
            "SELECT {COLUMNS} FROM messages WHERE recipient_org_id = $1 AND status = 'queued' ORDER BY created_at_ms LIMIT 50"
        ))
        .bind(org_id)
        .fetch_all(db.pool())
        .await?,
    )
}

/// Which of an org's messages a list shows.
pub struct ListFilter {
    /// The inbox (received, uploaded) or the outbox (sent).
    pub inbox: bool,
    pub org_id: OrgId,
    pub status: Option<MessageStatus>,
    pub number: Option<String>,
    pub created_since_ms: Option<i64>,
    pub created_until_ms: Option<i64>,
    pub updated_since_ms: Option<i64>,
    /// Order by `updated_at` (the polling feed) instead of `created_at`.
    pub by_update: bool,
    pub ascending: bool,
    /// The last item of the previous page: its sort time and id.
    pub after: Option<Cursor>,
    pub limit: u32,
}

/// The time a list of this filter sorts `m` by.
pub fn sort_time(filter: &ListFilter, m: &MessageRow) -> i64 {
    if filter.by_update { m.updated_at_ms } else { m.created_at_ms }
}

enum BindValue {
    Text(String),
    Int(i64),
}

/// A page of messages for `filter`, with one more row than `limit` when there
/// is a next page.
pub async fn list(db: &Db, filter: &ListFilter) -> Result<Vec<MessageRow>, DbError> {
    let (time_col, op, dir) = match (filter.by_update, filter.ascending) {
        (true, true) => ("updated_at_ms", ">", "ASC"),
        (true, false) => ("updated_at_ms", "<", "DESC"),
        (false, _) => ("created_at_ms", "<", "DESC"),
    };
    let mut sql = format!("SELECT {COLUMNS} FROM messages WHERE ");
    let mut binds: Vec<BindValue> = Vec::new();
    let arg = |v: BindValue, binds: &mut Vec<BindValue>| {
        binds.push(v);
        format!("${}", binds.len())
    };
    let p = arg(BindValue::Text(filter.org_id.to_string()), &mut binds);
    if filter.inbox {
        sql += &format!("recipient_org_id = {p} AND status NOT IN ('awaiting_upload', 'failed')");
    } else {
        sql += &format!("sender_org_id = {p}");
    }
    if let Some(s) = filter.status {
        let p = arg(BindValue::Text(s.as_str().to_owned()), &mut binds);
        sql += &format!(" AND status = {p}");
    }
    if let Some(n) = &filter.number {
        let p = arg(BindValue::Text(n.clone()), &mut binds);
        sql += &format!(" AND (to_number = {p} OR from_number = {p})");
    }
    if let Some(ms) = filter.created_since_ms {
        let p = arg(BindValue::Int(ms), &mut binds);
        sql += &format!(" AND created_at_ms >= {p}");
    }
    if let Some(ms) = filter.created_until_ms {
        let p = arg(BindValue::Int(ms), &mut binds);
        sql += &format!(" AND created_at_ms < {p}");
    }
    if let Some(ms) = filter.updated_since_ms {
        let p = arg(BindValue::Int(ms), &mut binds);
        sql += &format!(" AND updated_at_ms >= {p}");
    }
    if let Some(after) = &filter.after {
        let pm = arg(BindValue::Int(after.time), &mut binds);
        let pi = arg(BindValue::Text(after.id.clone()), &mut binds);
        sql += &format!(" AND ({time_col} {op} {pm} OR ({time_col} = {pm} AND message_id {op} {pi}))");
    }
    sql += &format!(" ORDER BY {time_col} {dir}, message_id {dir} LIMIT {}", u64::from(filter.limit) + 1);

    let mut query = sqlx::query(&sql);
    for b in binds {
        query = match b {
            BindValue::Text(t) => query.bind(t),
            BindValue::Int(i) => query.bind(i),
        };
    }
    rows(&query.fetch_all(db.pool()).await?)
}

/// Counts of an org's messages for its overview.
pub struct OrgMessageCounts {
    pub inbox_queued: u64,
    pub received: u64,
    pub sent: u64,
}

/// How many messages the org has waiting, received and sent.
pub async fn counts_for(conn: &mut AnyConnection, org_id: &str) -> Result<OrgMessageCounts, DbError> {
    Ok(OrgMessageCounts {
        inbox_queued: super::count(
            conn,
            "SELECT COUNT(*) FROM messages WHERE recipient_org_id = $1 AND status = 'queued'",
            org_id,
        )
        .await?,
        received: super::count(
            conn,
            "SELECT COUNT(*) FROM messages WHERE recipient_org_id = $1 AND status NOT IN ('awaiting_upload', 'failed')",
            org_id,
        )
        .await?,
        sent: super::count(conn, "SELECT COUNT(*) FROM messages WHERE sender_org_id = $1", org_id).await?,
    })
}

/// How many messages the org has sent or received, in any state (a
/// redemption retry is refused once there is one).
pub async fn count_of_org(conn: &mut AnyConnection, org_id: &str) -> Result<u64, DbError> {
    super::count(conn, "SELECT COUNT(*) FROM messages WHERE $1 IN (sender_org_id, recipient_org_id)", org_id).await
}
