//! The `sessions` table: a browser session is a server-side record named by
//! the SHA-256 of its cookie value, revocable, ending when idle and absolutely.

use sha2::Digest;
use sqlx::Row;

use super::{Db, DbError, users::UserRole};
use crate::ids::{OrgId, UserId};

/// A session unused for this long ends.
pub const IDLE_TIMEOUT_SECS: i64 = 12 * 60 * 60;
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 7 * 24 * 60 * 60;

pub fn hash_id(id: &str) -> String {
    hex::encode(sha2::Sha256::digest(id.as_bytes()))
}

/// A live session's user.
pub struct SessionUser {
    pub user_id: UserId,
    pub email: String,
    pub role: UserRole,
    pub org_id: Option<OrgId>,
}

/// Looks up a live session by its cookie value and records the activity.
pub async fn live(db: &Db, id: &str, now: i64) -> Result<Option<SessionUser>, DbError> {
    let row = sqlx::query(
        "SELECT s.user_id, s.last_seen_at, u.email, u.role, u.org_id FROM sessions s JOIN users u ON u.id = s.user_id \
         LEFT JOIN orgs o ON o.org_id = u.org_id \
         WHERE s.id_sha256 = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3 \
         AND u.removed_at IS NULL AND o.disabled_at IS NULL",
    )
    .bind(hash_id(id))
    .bind(now)
    .bind(now - IDLE_TIMEOUT_SECS)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let last_seen: i64 = row.try_get("last_seen_at")?;
    if last_seen < now - 60 {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_sha256 = $2")
            .bind(now)
            .bind(hash_id(id))
            .execute(db.writer())
            .await?;
    }
    Ok(Some(SessionUser {
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        role: row.try_get("role")?,
        org_id: row.try_get("org_id")?,
    }))
}

/// Starts a session for `user_id` and returns the cookie value (shown to the
/// browser only; the database keeps its SHA-256).
pub async fn create(conn: &mut sqlx::AnyConnection, user_id: &str, now: i64) -> Result<String, DbError> {
    let b: [u8; 32] =
        fxe_protocol::random_bytes().map_err(|_| DbError::Query(sqlx::Error::Protocol("no randomness".into())))?;
    let id = fxe_protocol::encoding::b64u_encode(&b);
    sqlx::query(
        "INSERT INTO sessions (id_sha256, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(hash_id(&id))
    .bind(user_id)
    .bind(now)
    .bind(now + ABSOLUTE_TIMEOUT_SECS)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Ends the session with this cookie value (if it exists).
pub async fn revoke(conn: &mut sqlx::AnyConnection, id: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id_sha256 = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(hash_id(id))
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of a user ("sign out everywhere").
pub async fn revoke_all(conn: &mut sqlx::AnyConnection, user_id: &str, now: i64) -> Result<u64, DbError> {
    Ok(sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Deletes ended sessions (signed out, idle or past their absolute end).
pub async fn purge(db: &Db, now: i64) -> Result<(), DbError> {
    sqlx::query("DELETE FROM sessions WHERE revoked_at IS NOT NULL OR expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(now - IDLE_TIMEOUT_SECS)
        .execute(db.writer())
        .await?;
    Ok(())
}
