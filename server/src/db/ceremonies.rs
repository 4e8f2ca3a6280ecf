//! The `webauthn_ceremonies` table: started passkey ceremonies (enrolment or
//! sign-in), single use. What goes into `state_json` and how long a ceremony
//! lives is [`crate::accounts::passkeys`]'s.

use sqlx::AnyConnection;

use super::{Db, DbError};

/// What a started ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Enrolment of a new passkey for `user_id` (through a setup link, or by
    /// a signed-in user adding another).
    Register,
    /// Sign-in with a discoverable credential.
    Login,
}

impl CeremonyKind {
    /// The stored form.
    pub const fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Register => "register",
            CeremonyKind::Login => "login",
        }
    }
}

/// A ceremony to store.
pub struct NewCeremony<'a> {
    pub id: &'a str,
    pub kind: CeremonyKind,
    pub user_id: Option<&'a str>,
    pub setup_token_sha256: Option<&'a str>,
    pub state_json: &'a str,
    pub expires_at: i64,
}

/// A stored ceremony, as taken.
#[derive(Debug, sqlx::FromRow)]
pub struct CeremonyRow {
    pub user_id: Option<String>,
    pub setup_token_sha256: Option<String>,
    pub state_json: String,
    pub expires_at: i64,
}

/// Stores a started ceremony.
pub async fn insert(conn: &mut AnyConnection, c: NewCeremony<'_>) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id, kind, user_id, setup_token_sha256, state_json, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.id)
    .bind(c.kind.as_str())
    .bind(c.user_id)
    .bind(c.setup_token_sha256)
    .bind(c.state_json)
    .bind(c.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes the ceremony `id` of `kind`: it is deleted, expired or not, and
/// returned if this call deleted it (a concurrent taker gets `None`).
pub async fn take(conn: &mut AnyConnection, kind: CeremonyKind, id: &str) -> Result<Option<CeremonyRow>, DbError> {
    let row: Option<CeremonyRow> = sqlx::query_as(
        "SELECT user_id, setup_token_sha256, state_json, expires_at FROM webauthn_ceremonies WHERE id = $1 AND kind = $2",
    )
    .bind(id)
    .bind(kind.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let deleted =
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE id = $1").bind(id).execute(conn).await?.rows_affected();
    Ok((deleted == 1).then_some(row))
}

/// Deletes the ceremonies expired at `now`.
pub async fn delete_expired(conn: &mut AnyConnection, now: i64) -> Result<(), DbError> {
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1").bind(now).execute(conn).await?;
    Ok(())
}

/// Deletes ceremonies past their time (housekeeping).
pub async fn purge(db: &Db, now: i64) -> Result<(), DbError> {
    delete_expired(&mut *db.pool().acquire().await?, now).await
}
