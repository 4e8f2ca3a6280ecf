//! The `passkeys` table: users' WebAuthn credentials, named by their
//! credential id (base64url), the credential itself as JSON in
//! `passkey_json` (what it holds is [`crate::accounts::passkeys`]'s).

use sqlx::AnyConnection;

use super::DbError;

/// A stored credential, as read.
#[derive(Debug, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub passkey_json: String,
}

/// A credential to store.
pub struct NewPasskey<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    /// The raw credential id.
    pub credential_id: &'a [u8],
    pub passkey_json: &'a str,
    pub label: &'a str,
    pub created_at: i64,
}

const COLUMNS: &str = "id, user_id, label, created_at, last_used_at, passkey_json";

/// The stored form of a credential id.
fn credential_key(credential_id: &[u8]) -> String {
    fxe_protocol::encoding::b64u_encode(credential_id)
}

/// Stores a credential; `false` when its credential id is already
/// registered (to anyone).
pub async fn insert(conn: &mut AnyConnection, p: NewPasskey<'_>) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO passkeys (id, user_id, credential_id, passkey_json, label, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(p.id)
    .bind(p.user_id)
    .bind(credential_key(p.credential_id))
    .bind(p.passkey_json)
    .bind(p.label)
    .bind(p.created_at)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The credential with this (raw) credential id.
pub async fn by_credential(conn: &mut AnyConnection, credential_id: &[u8]) -> Result<Option<PasskeyRow>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"))
        .bind(credential_key(credential_id))
        .fetch_optional(conn)
        .await?)
}

/// A user's credentials, oldest first.
pub async fn of_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<PasskeyRow>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"))
        .bind(user_id)
        .fetch_all(conn)
        .await?)
}

/// Replaces a credential's JSON after a sign-in and records the time.
pub async fn record_use(conn: &mut AnyConnection, id: &str, passkey_json: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE passkeys SET passkey_json = $1, last_used_at = $2 WHERE id = $3")
        .bind(passkey_json)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes one of the user's credentials (no-op if it is not theirs).
pub async fn remove(conn: &mut AnyConnection, id: &str, user_id: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).execute(conn).await?;
    Ok(())
}
