//! What the two leased work queues share: `webhook_deliveries` and
//! `arrival_notices` rows carry `next_attempt_at_ms`, `lease_token` and
//! `lease_until_ms`; a worker claims due rows by setting a lease (with `SKIP
//! LOCKED` on PostgreSQL, where many relays share the table) and sleeps until
//! the next row is due.

use super::{Backend, Db, DbError};

/// A leased queue: its table, and which of its rows are still waiting.
#[derive(Clone, Copy, Debug)]
pub enum Queue {
    /// Webhook deliveries; only `pending` ones wait.
    WebhookDeliveries,
    /// Arrival notices; every row waits until it is deleted.
    ArrivalNotices,
}

impl Queue {
    const fn table(self) -> &'static str {
        match self {
            Queue::WebhookDeliveries => "webhook_deliveries",
            Queue::ArrivalNotices => "arrival_notices",
        }
    }

    /// Which rows wait for a worker.
    const fn waiting(self) -> &'static str {
        match self {
            Queue::WebhookDeliveries => "status = 'pending'",
            Queue::ArrivalNotices => "TRUE",
        }
    }
}

/// A new lease token: `ls_` + 24 random hex characters; a worker's claim of a batch of rows.
pub fn new_token() -> Result<String, DbError> {
    crate::ids::random_prefixed("ls_").map_err(|_| DbError::Query(sqlx::Error::Protocol("no randomness".into())))
}

/// The row lock a claim's inner `SELECT` takes: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so relays claiming at
/// once get different rows; none on SQLite (one writer).
pub fn skip_locked(db: &Db) -> &'static str {
    match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// When the next waiting row is due (ms), if any: its time, or the end of its lease when that is later.
pub async fn next_due(db: &Db, queue: Queue) -> Result<Option<i64>, DbError> {
    let sql = format!(
        "SELECT MIN(CASE WHEN lease_until_ms IS NOT NULL AND lease_until_ms > next_attempt_at_ms THEN lease_until_ms \
         ELSE next_attempt_at_ms END) AS due FROM {} WHERE {}",
        queue.table(),
        queue.waiting()
    );
    Ok(sqlx::query_scalar(&sql).fetch_one(db.pool()).await?)
}

/// Drops every lease (SQLite: one relay, so any lease at start belongs to a relay that stopped mid-work; that work
/// runs again now).
pub async fn release_all(db: &Db, queue: Queue) -> Result<u64, DbError> {
    let sql =
        format!("UPDATE {} SET lease_token = NULL, lease_until_ms = NULL WHERE lease_token IS NOT NULL", queue.table());
    Ok(sqlx::query(&sql).execute(db.writer()).await?.rows_affected())
}
