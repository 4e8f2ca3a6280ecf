//! The `webhook_deliveries` and `webhook_attempts` tables: one delivery per
//! (endpoint, event), its status, retry count, next attempt time and lease,
//! and each attempt's outcome. Every query on them is here; the queue's
//! rules (retry schedule, what settling means) are in
//! `crate::webhooks::queue`.

use crate::ids::{DeliveryId, WebhookId};
use fxe_protocol::api::{DeliveryStatus, WebhookAttempt, WebhookDelivery};
use sqlx::AnyConnection;

use super::{Db, DbError, PageRequest};
use crate::clock;

/// A delivery as the API shows it (its attempts apart).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: WebhookId,
    pub status: String,
    pub next_attempt_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

const COLUMNS: &str = "id, event_id, event_type, endpoint_id, status, next_attempt_at_ms, created_at_ms";

impl DeliveryRow {
    /// The API object with `attempts`.
    pub fn to_api(&self, attempts: Vec<WebhookAttempt>) -> Result<WebhookDelivery, DbError> {
        let status = super::parse_column("webhook_deliveries.status", &self.status, DeliveryStatus::parse)?;
        Ok(WebhookDelivery {
            id: self.id.to_string(),
            event_id: self.event_id.clone(),
            event_type: self.event_type.clone(),
            endpoint_id: self.endpoint_id.to_string(),
            next_attempt_at: if status == DeliveryStatus::Pending {
                self.next_attempt_at_ms.map(clock::rfc3339_ms)
            } else {
                None
            },
            status,
            attempts,
            created_at: clock::rfc3339(self.created_at_ms / 1000),
        })
    }
}

/// One recorded attempt.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AttemptRow {
    pub delivery_id: DeliveryId,
    pub at_ms: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_body: Option<String>,
}

impl AttemptRow {
    pub fn to_api(&self) -> Result<WebhookAttempt, DbError> {
        Ok(WebhookAttempt {
            at: clock::rfc3339_ms(self.at_ms),
            status_code: self.status_code.and_then(|c| u16::try_from(c).ok()),
            latency_ms: super::to_u64(self.latency_ms)?,
            error: self.error.clone(),
            response_body: self.response_body.clone(),
        })
    }
}

/// A delivery to queue.
pub struct NewDelivery<'a> {
    pub id: &'a DeliveryId,
    pub endpoint_id: &'a WebhookId,
    pub event_id: &'a str,
    pub org_id: &'a str,
    pub event_type: &'a str,
}

/// Inserts a pending delivery due at `now_ms`, or makes the existing one of
/// this (endpoint, event) pending again with no tries and no lease (it keeps
/// its id and attempts).
pub async fn upsert_pending(conn: &mut AnyConnection, d: NewDelivery<'_>, now_ms: i64) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, org_id, event_type, status, tries, next_attempt_at_ms, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6) \
         ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', tries = 0, next_attempt_at_ms = excluded.next_attempt_at_ms, \
         lease_token = NULL, lease_until_ms = NULL, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(d.id)
    .bind(d.endpoint_id)
    .bind(d.event_id)
    .bind(d.org_id)
    .bind(d.event_type)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery claimed by [`claim`].
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClaimedRow {
    pub id: DeliveryId,
    pub endpoint_id: WebhookId,
    pub event_id: String,
    pub tries: i64,
}

/// Leases up to `limit` pending deliveries due at `now_ms` and not leased
/// (or whose lease ran out) to `token` until `until_ms`, earliest due first.
/// On PostgreSQL rows another relay is claiming are skipped, not waited for.
pub async fn claim(db: &Db, token: &str, until_ms: i64, now_ms: i64, limit: i64) -> Result<Vec<ClaimedRow>, DbError> {
    let lock = super::leases::skip_locked(db);
    let free = "status = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms < $3)";
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_token = $1, lease_until_ms = $2 \
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE {free} AND next_attempt_at_ms <= $3 ORDER BY next_attempt_at_ms LIMIT $4{lock}) \
         AND {free} RETURNING id, endpoint_id, event_id, tries"
    );
    Ok(sqlx::query_as(&sql).bind(token).bind(until_ms).bind(now_ms).bind(limit).fetch_all(db.writer()).await?)
}

/// Marks the endpoint's pending deliveries dead.
pub async fn kill_pending(conn: &mut AnyConnection, endpoint_id: &WebhookId, now_ms: i64) -> Result<u64, DbError> {
    Ok(sqlx::query(
        "UPDATE webhook_deliveries SET status = 'dead', next_attempt_at_ms = NULL, lease_token = NULL, lease_until_ms = NULL, updated_at_ms = $1 \
         WHERE endpoint_id = $2 AND status = 'pending'",
    )
    .bind(now_ms)
    .bind(endpoint_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// One attempt's outcome, to record.
pub struct NewAttempt<'a> {
    pub id: &'a str,
    pub delivery_id: &'a DeliveryId,
    pub at_ms: i64,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<&'a str>,
    pub response_body: Option<&'a str>,
}

/// Records an attempt of the delivery (nothing if the delivery is gone).
pub async fn record_attempt(conn: &mut AnyConnection, a: NewAttempt<'_>) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO webhook_attempts (id, delivery_id, at_ms, status_code, latency_ms, error, response_body) \
         SELECT $1, id, $3, $4, $5, $6, $7 FROM webhook_deliveries WHERE id = $2",
    )
    .bind(a.id)
    .bind(a.delivery_id)
    .bind(a.at_ms)
    .bind(a.status_code.map(i64::from))
    .bind(a.latency_ms)
    .bind(a.error)
    .bind(a.response_body)
    .execute(conn)
    .await?;
    Ok(())
}

/// Where a settled delivery goes next.
pub struct Settled {
    pub status: DeliveryStatus,
    pub tries: i64,
    pub next_attempt_at_ms: Option<i64>,
}

/// Moves the delivery on and drops its lease, if `lease_token` still holds
/// it; `false` when it does not (requeued or killed meanwhile).
pub async fn settle(
    conn: &mut AnyConnection, delivery_id: &DeliveryId, lease_token: &str, to: Settled, now_ms: i64,
) -> Result<bool, DbError> {
    let held = sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, tries = $2, next_attempt_at_ms = $3, lease_token = NULL, lease_until_ms = NULL, updated_at_ms = $4 \
         WHERE id = $5 AND lease_token = $6",
    )
    .bind(to.status.as_str())
    .bind(to.tries)
    .bind(to.next_attempt_at_ms)
    .bind(now_ms)
    .bind(delivery_id)
    .bind(lease_token)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(held == 1)
}

/// What an attempt sends: the endpoint's address, state and sealed secrets,
/// and the event.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Target {
    pub url: String,
    pub enabled: i64,
    pub secret_sealed: String,
    pub old_secret_sealed: Option<String>,
    pub old_secret_until_ms: Option<i64>,
    pub payload_json: String,
    pub event_type: String,
}

/// The endpoint and event of a claimed delivery; `None` when either is gone.
pub async fn target(db: &Db, endpoint_id: &WebhookId, event_id: &str) -> Result<Option<Target>, DbError> {
    Ok(sqlx::query_as(
        "SELECT e.url, e.enabled, e.secret_sealed, e.old_secret_sealed, e.old_secret_until_ms, v.payload_json, v.event_type \
         FROM webhook_endpoints e, events v WHERE e.id = $1 AND v.id = $2",
    )
    .bind(endpoint_id)
    .bind(event_id)
    .fetch_optional(db.pool())
    .await?)
}

/// The delivery of `event_id` to `endpoint_id`.
pub async fn by_event(
    conn: &mut AnyConnection, endpoint_id: &WebhookId, event_id: &str,
) -> Result<Option<DeliveryRow>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND event_id = $2"))
        .bind(endpoint_id)
        .bind(event_id)
        .fetch_optional(conn)
        .await?)
}

/// The delivery `id` of `org_id`, if it exists.
pub async fn get(conn: &mut AnyConnection, org_id: &str, id: &DeliveryId) -> Result<Option<DeliveryRow>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE id = $1 AND org_id = $2"))
        .bind(id)
        .bind(org_id)
        .fetch_optional(conn)
        .await?)
}

/// A page of the endpoint's deliveries, newest first, only of `status` if given.
pub async fn list(
    db: &Db, endpoint_id: &WebhookId, status: Option<DeliveryStatus>, page: &PageRequest,
) -> Result<Vec<DeliveryRow>, DbError> {
    let mut select = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1");
    if status.is_some() {
        select += " AND status = $2";
    }
    let first = if status.is_some() { 3 } else { 2 };
    let sql = page.sql(&select, ("created_at_ms", "id"), first);
    let mut query = sqlx::query_as(&sql).bind(endpoint_id);
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    Ok(page.bind(query).fetch_all(db.pool()).await?)
}

/// The attempts of these deliveries, oldest first.
pub async fn attempts_of(conn: &mut AnyConnection, delivery_ids: &[&str]) -> Result<Vec<AttemptRow>, DbError> {
    if delivery_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=delivery_ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT delivery_id, at_ms, status_code, latency_ms, error, response_body FROM webhook_attempts \
         WHERE delivery_id IN ({placeholders}) ORDER BY at_ms, id"
    );
    let mut query = sqlx::query_as(&sql);
    for id in delivery_ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(conn).await?)
}
