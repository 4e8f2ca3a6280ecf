//! The `arrival_notices` table: the mail queue of arrival notices
//! (docs/api.md, "Arrival notices"). Rows are written with the
//! `message.received` event, claimed with a lease by a relay's notice worker
//! ([`crate::messages::arrivals`]) and deleted once handled.

use sqlx::AnyConnection;

use super::{Db, DbError};

/// A claimed notice.
#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedNotice {
    pub message_id: String,
    pub user_id: String,
    pub to_number: String,
    pub tries: i64,
}

/// Queues a notice of `message_id` (to `to_number`) for every current member of `org_id` who asked for them;
/// inside the caller's transaction. Returns how many were queued.
pub async fn queue_for_members(
    conn: &mut AnyConnection, org_id: &str, message_id: &str, to_number: &str, now_ms: i64,
) -> Result<u64, DbError> {
    Ok(sqlx::query(
        "INSERT INTO arrival_notices (message_id, user_id, to_number, tries, next_attempt_at_ms, created_at_ms) \
         SELECT $1, id, $2, 0, $3, $3 FROM users WHERE org_id = $4 AND notify_arrivals = 1 AND removed_at IS NULL",
    )
    .bind(message_id)
    .bind(to_number)
    .bind(now_ms)
    .bind(org_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Claims up to `limit` due notices for this worker, leased until `until_ms`.
pub async fn claim(
    db: &Db, token: &str, until_ms: i64, now_ms: i64, limit: i64,
) -> Result<Vec<ClaimedNotice>, DbError> {
    let lock = super::leases::skip_locked(db);
    let free = "(lease_until_ms IS NULL OR lease_until_ms < $3)";
    let sql = format!(
        "UPDATE arrival_notices SET lease_token = $1, lease_until_ms = $2 \
         WHERE (message_id, user_id) IN (SELECT message_id, user_id FROM arrival_notices \
         WHERE {free} AND next_attempt_at_ms <= $3 ORDER BY next_attempt_at_ms LIMIT $4{lock}) \
         AND {free} RETURNING message_id, user_id, to_number, tries"
    );
    Ok(sqlx::query_as(&sql).bind(token).bind(until_ms).bind(now_ms).bind(limit).fetch_all(db.writer()).await?)
}

/// Settles a claimed notice, if this worker still holds it: `retry_at_ms` puts it back in the queue (a failed
/// mail), due then; `None` removes it (mailed, no longer wanted, or out of retries).
pub async fn settle(db: &Db, n: &ClaimedNotice, token: &str, retry_at_ms: Option<i64>) -> Result<(), DbError> {
    let sql = match retry_at_ms {
        Some(_) => {
            "UPDATE arrival_notices SET tries = tries + 1, next_attempt_at_ms = $4, lease_token = NULL, \
             lease_until_ms = NULL WHERE message_id = $1 AND user_id = $2 AND lease_token = $3"
        }
        None => "DELETE FROM arrival_notices WHERE message_id = $1 AND user_id = $2 AND lease_token = $3",
    };
    let mut q = sqlx::query(sql).bind(&n.message_id).bind(&n.user_id).bind(token);
    if let Some(at) = retry_at_ms {
        q = q.bind(at);
    }
    q.execute(db.writer()).await?;
    Ok(())
}
