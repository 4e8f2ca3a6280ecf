//! The `api_keys` table: an org's API keys (the public key, scopes, label,
//! revocation, last use). The relay never holds a secret key.

use fxe_protocol::api::{ApiKeyInfo, Page};
use sqlx::{AnyConnection, Row};

use super::{Db, DbError, page::PageRequest};
use crate::{clock, ids::OrgId};

const COLUMNS: &str = "key_id, label, scopes, created_at, revoked_at, last_used_at";

fn scopes_of(joined: &str) -> Vec<String> {
    joined.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn info(row: &sqlx::any::AnyRow) -> Result<ApiKeyInfo, sqlx::Error> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiKeyInfo {
        key_id: row.try_get("key_id")?,
        label: row.try_get("label")?,
        scopes: scopes_of(&scopes),
        created_at: clock::rfc3339(row.try_get("created_at")?),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(clock::rfc3339),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(clock::rfc3339),
    })
}

/// A page of the org's keys, revoked ones included, newest first.
pub async fn page(db: &Db, org_id: &str, page: &PageRequest) -> Result<Page<ApiKeyInfo>, DbError> {
    let select = format!("SELECT {COLUMNS} FROM api_keys WHERE org_id = $1");
    super::page::fetch(db.pool(), &select, &[org_id.to_owned()], ("created_at", "key_id"), page, info).await
}

/// One key as listed.
pub async fn get(conn: &mut AnyConnection, key_id: &str) -> Result<Option<ApiKeyInfo>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_keys WHERE key_id = $1"))
        .bind(key_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(info).transpose()?)
}

/// Whether a key with this id is registered (to any org).
pub async fn exists(conn: &mut AnyConnection, key_id: &str) -> Result<bool, DbError> {
    Ok(sqlx::query("SELECT key_id FROM api_keys WHERE key_id = $1").bind(key_id).fetch_optional(conn).await?.is_some())
}

/// A key to register.
pub struct NewApiKey<'a> {
    pub key_id: &'a str,
    pub org_id: &'a str,
    /// base64url, as the org sent it.
    pub public_key: &'a str,
    pub scopes: &'a [String],
    pub label: &'a str,
    pub created_at: i64,
}

/// Registers a key; `false` if its id is taken.
pub async fn insert(conn: &mut AnyConnection, k: NewApiKey<'_>) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO api_keys (key_id, org_id, public_key, scopes, label, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (key_id) DO NOTHING",
    )
    .bind(k.key_id)
    .bind(k.org_id)
    .bind(k.public_key)
    .bind(k.scopes.join(","))
    .bind(k.label)
    .bind(k.created_at)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Whether one of the org's keys is revoked (`None`: no such key in the org).
pub async fn is_revoked(conn: &mut AnyConnection, org_id: &str, key_id: &str) -> Result<Option<bool>, DbError> {
    let row = sqlx::query("SELECT revoked_at FROM api_keys WHERE key_id = $1 AND org_id = $2")
        .bind(key_id)
        .bind(org_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get::<Option<i64>, _>("revoked_at")).transpose()?.map(|t| t.is_some()))
}

/// Revokes a key (no-op if it already is).
pub async fn revoke(conn: &mut AnyConnection, key_id: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(key_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A key as a signed request needs it, with its org's state.
pub struct KeyForRequest {
    pub org_id: OrgId,
    /// base64url.
    pub public_key: String,
    pub scopes: Vec<String>,
    pub label: String,
    pub revoked: bool,
    pub org_disabled: bool,
    pub last_used_at: Option<i64>,
}

/// The key a signed request names, if it is registered.
pub async fn for_request(db: &Db, key_id: &str) -> Result<Option<KeyForRequest>, DbError> {
    let row = sqlx::query(
        "SELECT k.org_id, k.public_key, k.scopes, k.label, k.revoked_at, k.last_used_at, o.disabled_at \
         FROM api_keys k JOIN orgs o ON o.org_id = k.org_id WHERE k.key_id = $1",
    )
    .bind(key_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let scopes: String = row.try_get("scopes")?;
    Ok(Some(KeyForRequest {
        org_id: row.try_get("org_id")?,
        public_key: row.try_get("public_key")?,
        scopes: scopes_of(&scopes),
        label: row.try_get("label")?,
        revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        org_disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
        last_used_at: row.try_get("last_used_at")?,
    }))
}

/// Records that a key was used now.
pub async fn touch(db: &Db, key_id: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE key_id = $2")
        .bind(now)
        .bind(key_id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// How many of the org's keys are not revoked.
pub async fn live_count(conn: &mut AnyConnection, org_id: &str) -> Result<u64, DbError> {
    super::count(conn, "SELECT COUNT(*) FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL", org_id).await
}
