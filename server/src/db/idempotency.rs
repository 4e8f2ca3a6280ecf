//! The `idempotency_keys` table: one record per `(scope, idem_key)`, running
//! (`status_code` 0) until the first request's answer is stored, sealed, in
//! `response_json`. The protocol (digests, sealing, replay) is
//! [`crate::http::idempotency`]'s; this module keeps the rows.

use super::{Db, DbError};

/// How long a key is remembered.
pub const RETENTION_SECS: i64 = 24 * 3600;

/// A stored record of a key.
#[derive(Debug, sqlx::FromRow)]
pub struct IdempotencyRecord {
    /// The hash of the request that first used the key.
    pub request_sha256: String,
    /// The answer's status, or 0 while the first request runs.
    pub status_code: i64,
    /// The sealed answer, once stored.
    pub response_json: Option<String>,
    pub created_at: i64,
}

impl IdempotencyRecord {
    /// Whether the first request is still running (no answer stored yet).
    pub fn is_running(&self) -> bool {
        self.status_code == 0
    }
}

/// The record of `key_hash` in `scope`, if any (expired ones included).
pub async fn get(
    conn: &mut sqlx::AnyConnection, scope: &str, key_hash: &str,
) -> Result<Option<IdempotencyRecord>, DbError> {
    Ok(sqlx::query_as(
        "SELECT request_sha256, status_code, response_json, created_at FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
    )
    .bind(scope)
    .bind(key_hash)
    .fetch_optional(conn)
    .await?)
}

/// Deletes the record of `key_hash` in `scope` (an expired or abandoned one, before a new claim).
pub async fn delete(conn: &mut sqlx::AnyConnection, scope: &str, key_hash: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2")
        .bind(scope)
        .bind(key_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the key as running for `request_sha256`; `false` if a record
/// exists already (a concurrent first request won).
pub async fn insert_running(
    conn: &mut sqlx::AnyConnection, scope: &str, key_hash: &str, request_sha256: &str, now: i64,
) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, idem_key, request_sha256, status_code, response_json, created_at) VALUES ($1, $2, $3, 0, NULL, $4) \
         ON CONFLICT (scope, idem_key) DO NOTHING",
    )
    .bind(scope)
    .bind(key_hash)
    .bind(request_sha256)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Stores the first request's answer (its status and the sealed body).
pub async fn store_answer(db: &Db, scope: &str, key_hash: &str, status: u16, sealed: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE idempotency_keys SET status_code = $1, response_json = $2 WHERE scope = $3 AND idem_key = $4")
        .bind(i64::from(status))
        .bind(sealed)
        .bind(scope)
        .bind(key_hash)
        .execute(db.writer())
        .await?;
    // A retry will be answered from it: on disk before the first answer goes out.
    db.durable().await
}

/// Deletes a running record (no answer to keep: a retry runs again).
pub async fn forget_running(db: &Db, scope: &str, key_hash: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND status_code = 0")
        .bind(scope)
        .bind(key_hash)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Deletes records older than [`RETENTION_SECS`]; how many went.
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, DbError> {
    let n = sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
        .bind(now - RETENTION_SECS)
        .execute(db.writer())
        .await?
        .rows_affected();
    Ok(n)
}
