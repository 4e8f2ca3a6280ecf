//! The `webauthn_ceremonies` table: started passkey ceremonies (enrolment or
//! sign-in), single use, with the client that started them (the caps on open
//! ceremonies count by it). What goes into `state_json`, how long a ceremony
//! lives and how many may be open is [`crate::accounts::passkeys`]'s.

use sqlx::{AnyConnection, Row};

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
    /// The client's limit key ([`crate::http::client_ip::limit_key`]).
    pub client_ip: Option<&'a str>,
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
        "INSERT INTO webauthn_ceremonies (id, kind, user_id, setup_token_sha256, state_json, expires_at, client_ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.id)
    .bind(c.kind.as_str())
    .bind(c.user_id)
    .bind(c.setup_token_sha256)
    .bind(c.state_json)
    .bind(c.expires_at)
    .bind(c.client_ip)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many ceremonies are open (not expired at `now`), and when the first of them expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    pub count: u64,
    pub first_expiry: Option<i64>,
}

/// The ceremonies open at `now`: all of them, or those `client_ip` started.
pub async fn open(conn: &mut AnyConnection, now: i64, client_ip: Option<&str>) -> Result<Open, DbError> {
    let select = "SELECT COUNT(*) AS n, MIN(expires_at) AS first_expiry FROM webauthn_ceremonies WHERE expires_at > $1";
    let row = match client_ip {
        Some(ip) => sqlx::query(&format!("{select} AND client_ip = $2")).bind(now).bind(ip).fetch_one(conn).await?,
        None => sqlx::query(select).bind(now).fetch_one(conn).await?,
    };
    let count: i64 = row.try_get("n")?;
    Ok(Open { count: super::to_u64(count)?, first_expiry: row.try_get("first_expiry")? })
}

/// Takes the ceremony `id` of `kind`: it is deleted, expired or not, and
/// returned if this call deleted it (a concurrent taker gets `None`). An
/// unknown id is only read: nothing is written for it.
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
