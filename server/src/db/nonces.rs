//! The `request_nonces` table: each `(key_id, nonce)` of a signed request is
//! accepted once (PROTOCOL.md §6). Kept in the database so that the rule
//! holds across relay instances.

use super::{Db, DbError};

/// Records a nonce; `false` when it was seen before (a replay). On an SQLite
/// file the record is durable only after [`Db::durable`], which the caller
/// awaits before it answers (see `http::auth`).
pub async fn remember(db: &Db, key_id: &str, nonce: &str, now: i64) -> Result<bool, DbError> {
    let fresh = sqlx::query(
        "INSERT INTO request_nonces (key_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT (key_id, nonce) DO NOTHING",
    )
    .bind(key_id)
    .bind(nonce)
    .bind(now)
    .execute(db.writer())
    .await?
    .rows_affected();
    Ok(fresh == 1)
}

/// Forgets nonces seen before `before` (outside the replay window).
pub async fn purge(db: &Db, before: i64) -> Result<(), DbError> {
    sqlx::query("DELETE FROM request_nonces WHERE seen_at < $1").bind(before).execute(db.writer()).await?;
    Ok(())
}
