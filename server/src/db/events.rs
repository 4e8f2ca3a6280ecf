//! The `events` table: the 30-day event log and the transactional outbox
//! (each event is written in the transaction of the change that causes it;
//! webhook deliveries are derived from these rows). Every query on it is
//! here; the event types and `emit` are in `crate::webhooks::events`.

use sqlx::AnyConnection;

use super::{Db, DbError, PageRequest};

/// An event as the log lists it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub created_at_ms: i64,
    /// The payload exactly as webhooks carry it.
    pub payload_json: String,
}

/// A new event.
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub event_type: &'a str,
    pub created_at_ms: i64,
    pub payload_json: &'a str,
}

/// Writes one event on `conn` (inside the caller's transaction).
pub async fn insert(conn: &mut AnyConnection, e: NewEvent<'_>) -> Result<(), DbError> {
    sqlx::query("INSERT INTO events (id, org_id, event_type, created_at_ms, payload_json) VALUES ($1, $2, $3, $4, $5)")
        .bind(e.id)
        .bind(e.org_id)
        .bind(e.event_type)
        .bind(e.created_at_ms)
        .bind(e.payload_json)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes events created before `before_ms` whose deliveries are all settled
/// (their deliveries and attempts go with them, ON DELETE CASCADE).
pub async fn purge(db: &Db, before_ms: i64) -> Result<(), DbError> {
    sqlx::query(
        "DELETE FROM events WHERE created_at_ms < $1 AND NOT EXISTS \
         (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id AND d.status = 'pending')",
    )
    .bind(before_ms)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// A page of the org's events, newest first, created at or after `since_ms` if given.
pub async fn list(db: &Db, org_id: &str, since_ms: Option<i64>, page: &PageRequest) -> Result<Vec<EventRow>, DbError> {
    let mut select = String::from("SELECT id, created_at_ms, payload_json FROM events WHERE org_id = $1");
    if since_ms.is_some() {
        select += " AND created_at_ms >= $2";
    }
    let first = if since_ms.is_some() { 3 } else { 2 };
    let sql = page.sql(&select, ("created_at_ms", "id"), first);
    let mut query = sqlx::query_as(&sql).bind(org_id);
    if let Some(since_ms) = since_ms {
        query = query.bind(since_ms);
    }
    Ok(page.bind(query).fetch_all(db.pool()).await?)
}

/// `(id, event_type)` of the org's events since `since_ms` of one of the
/// types in `event_types` (comma-separated), oldest first, at most `limit`.
pub async fn since(
    conn: &mut AnyConnection, org_id: &str, since_ms: i64, event_types: &str, limit: i64,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, event_type FROM events WHERE org_id = $1 AND created_at_ms >= $2 AND (',' || $3 || ',') LIKE ('%,' || event_type || ',%') \
         ORDER BY created_at_ms, id LIMIT $4",
    )
    .bind(org_id)
    .bind(since_ms)
    .bind(event_types)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}
