//! Invites: the operator issues single-use tokens; an org redeems one to join.
//! Only the token's SHA-256 is stored.

use sqlx::Row;

use crate::{
    clock,
    db::audit::{self, Actor},
    db::{Db, DbError},
};

pub fn hash_token(token: &str) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()))
}

/// A fresh token: `inv_` + 32 random bytes b64u.
pub fn new_token() -> Result<String, DbError> {
    let b: [u8; 32] =
        fxe_protocol::random_bytes().map_err(|_| DbError::Query(sqlx::Error::Protocol("no randomness".into())))?;
    Ok(format!("inv_{}", fxe_protocol::encoding::b64u_encode(&b)))
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Invite {
    pub id: String,
    /// Empty: any numbers.
    pub numbers: Vec<String>,
    pub note: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub used_by_org_id: Option<String>,
    pub revoked_at: Option<i64>,
}

/// Where an invite stands (the API's type; computed from the row's times).
pub use fxe_protocol::api::InviteState;

impl Invite {
    /// Its state at `now`: used, else revoked, else expired, else active.
    pub fn state(&self, now: i64) -> InviteState {
        if self.used_at.is_some() {
            InviteState::Used
        } else if self.revoked_at.is_some() {
            InviteState::Revoked
        } else if self.expires_at <= now {
            InviteState::Expired
        } else {
            InviteState::Active
        }
    }
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Invite, DbError> {
    let numbers: String = row.try_get("numbers")?;
    Ok(Invite {
        id: row.try_get("id")?,
        numbers: numbers.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        used_by_org_id: row.try_get("used_by_org_id")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

const COLUMNS: &str = "id, numbers, note, created_at, expires_at, used_at, used_by_org_id, revoked_at";

/// Creates an invite; returns it and its token (shown once).
pub async fn create(
    db: &Db, numbers: &[String], expires_in_secs: i64, note: &str, actor: &Actor, now_ms: i64,
) -> Result<(Invite, String), DbError> {
    let now = now_ms.div_euclid(1000);
    let token = new_token()?;
    let id = fxe_protocol::encoding::new_uuid_v4()
        .map_err(|_| DbError::Query(sqlx::Error::Protocol("no randomness".into())))?;
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO invites (id, token_sha256, numbers, note, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(hash_token(&token))
    .bind(numbers.join(","))
    .bind(note)
    .bind(now)
    .bind(now + expires_in_secs)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({ "numbers": numbers, "expires_at": clock::rfc3339(now + expires_in_secs) });
    audit::write(&mut tx, audit::Entry::new(now_ms, None, actor, "invite.created").on(&id).with(detail)).await?;
    tx.commit().await?;
    let invite = get(db, &id).await?.ok_or(DbError::Query(sqlx::Error::RowNotFound))?;
    Ok((invite, token))
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Invite>, DbError> {
    let row =
        sqlx::query(&format!("SELECT {COLUMNS} FROM invites WHERE id = $1")).bind(id).fetch_optional(db.pool()).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_token(conn: &mut sqlx::AnyConnection, token: &str) -> Result<Option<Invite>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM invites WHERE token_sha256 = $1"))
        .bind(hash_token(token))
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Newest first.
pub async fn list(db: &Db) -> Result<Vec<Invite>, DbError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM invites ORDER BY created_at DESC, id DESC"))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes an unused invite. `Ok(false)` when there is no such unused, unrevoked invite.
pub async fn revoke(db: &Db, id: &str, actor: &Actor, now_ms: i64) -> Result<bool, DbError> {
    let now = now_ms.div_euclid(1000);
    let mut tx = db.begin_write().await?;
    let n = sqlx::query("UPDATE invites SET revoked_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 1 {
        audit::write(&mut tx, audit::Entry::new(now_ms, None, actor, "invite.revoked").on(id)).await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

/// Gives an active invite a new token (its link was lost): the old link stops working. Returns the new token, or
/// `None` when the invite is not active at `now_ms` (used, revoked, expired or unknown). Audited as
/// `invite.link_reissued`.
pub async fn reissue(db: &Db, id: &str, actor: &Actor, now_ms: i64) -> Result<Option<String>, DbError> {
    let token = new_token()?;
    let mut tx = db.begin_write().await?;
    let n = sqlx::query(
        "UPDATE invites SET token_sha256 = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(hash_token(&token))
    .bind(id)
    .bind(now_ms.div_euclid(1000))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    audit::write(&mut tx, audit::Entry::new(now_ms, None, actor, "invite.link_reissued").on(id)).await?;
    tx.commit().await?;
    Ok(Some(token))
}

/// Marks the invite used by `org_id`; `false` if it was used or revoked meanwhile.
pub async fn mark_used(conn: &mut sqlx::AnyConnection, id: &str, org_id: &str, now: i64) -> Result<bool, DbError> {
    let n = sqlx::query(
        "UPDATE invites SET used_at = $1, used_by_org_id = $2 WHERE id = $3 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(org_id)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}
