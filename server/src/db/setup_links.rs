//! Single-use passkey setup links (`/setup/{token}`, 24 h): the first admin
//! after redemption, invited teammates, recovery, operators.

use sqlx::AnyConnection;

use crate::{clock, db::DbError, db::invites::hash_token};

pub const SETUP_LINK_TTL_SECS: i64 = 24 * 60 * 60;

/// Creates a link for `user_id` and returns its token (shown once).
pub async fn create(conn: &mut AnyConnection, user_id: &str, purpose: &str) -> Result<String, DbError> {
    let b: [u8; 32] =
        fxe_protocol::random_bytes().map_err(|_| DbError::Query(sqlx::Error::Protocol("no randomness".into())))?;
    let token = format!("set_{}", fxe_protocol::encoding::b64u_encode(&b));
    let now = clock::now_secs();
    sqlx::query(
        "INSERT INTO setup_tokens (token_sha256, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(purpose)
    .bind(now)
    .bind(now + SETUP_LINK_TTL_SECS)
    .execute(conn)
    .await?;
    Ok(token)
}

pub fn url(public_origin: &str, token: &str) -> String {
    format!("{public_origin}/setup/{token}")
}

/// Ends the user's unused setup links (a new one replaces them; a removed
/// user keeps none).
pub async fn expire_unused(conn: &mut AnyConnection, user_id: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE setup_tokens SET expires_at = $1 WHERE user_id = $2 AND used_at IS NULL AND expires_at > $1")
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}
