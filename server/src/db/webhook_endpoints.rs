//! The `webhook_endpoints` table: an org's endpoints, their event sets, their
//! sealed signing secrets (the current one and, for a day after a rotation,
//! the one it replaced) and whether they are enabled. Every query on it is
//! here; validation and sealing are in `crate::webhooks::endpoints`.

use crate::ids::WebhookId;
use fxe_protocol::api::WebhookEndpoint;
use sqlx::{AnyConnection, Row};

use super::{Db, DbError, PageRequest};
use crate::clock;

/// An endpoint as the API shows it (never its secrets).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: WebhookId,
    pub url: String,
    /// The event types, sorted, comma-separated.
    pub events: String,
    pub description: String,
    pub enabled: i64,
    pub disabled_reason: Option<String>,
    pub created_at_ms: i64,
}

const COLUMNS: &str = "id, url, events, description, enabled, disabled_reason, created_at_ms";

impl EndpointRow {
    pub fn enabled(&self) -> bool {
        self.enabled == 1
    }

    /// The event types it subscribes to.
    pub fn event_list(&self) -> Vec<String> {
        self.events.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    /// The API object, without `secret`.
    pub fn to_api(&self) -> WebhookEndpoint {
        WebhookEndpoint {
            id: self.id.to_string(),
            url: self.url.clone(),
            events: self.event_list(),
            description: self.description.clone(),
            enabled: self.enabled(),
            disabled_reason: self.disabled_reason.clone(),
            created_at: clock::rfc3339(self.created_at_ms / 1000),
            secret: None,
        }
    }
}

/// The endpoint `id` of `org_id`, if it exists.
pub async fn get(conn: &mut AnyConnection, org_id: &str, id: &WebhookId) -> Result<Option<EndpointRow>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1 AND org_id = $2"))
        .bind(id)
        .bind(org_id)
        .fetch_optional(conn)
        .await?)
}

/// A page of the org's endpoints, newest first.
pub async fn list(db: &Db, org_id: &str, page: &PageRequest) -> Result<Vec<EndpointRow>, DbError> {
    let sql =
        page.sql(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE org_id = $1"), ("created_at_ms", "id"), 2);
    Ok(page.bind(sqlx::query_as(&sql).bind(org_id)).fetch_all(db.pool()).await?)
}

/// How many endpoints the org has.
pub async fn count(conn: &mut AnyConnection, org_id: &str) -> Result<i64, DbError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(conn)
        .await?
        .try_get("n")?)
}

/// A new endpoint, enabled.
pub struct NewEndpoint<'a> {
    pub id: &'a WebhookId,
    pub org_id: &'a str,
    pub url: &'a str,
    pub events: &'a str,
    pub description: &'a str,
    pub secret_sealed: &'a str,
    pub now_ms: i64,
}

pub async fn insert(conn: &mut AnyConnection, e: NewEndpoint<'_>) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, org_id, url, events, description, enabled, secret_sealed, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)",
    )
    .bind(e.id)
    .bind(e.org_id)
    .bind(e.url)
    .bind(e.events)
    .bind(e.description)
    .bind(e.secret_sealed)
    .bind(e.now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// What an update changes; `None` keeps the stored value.
pub struct Changes<'a> {
    pub url: Option<&'a str>,
    pub events: Option<&'a str>,
    pub description: Option<&'a str>,
    pub enabled: Option<bool>,
}

/// Applies `changes`; an endpoint enabled afterwards loses its `disabled_reason`.
pub async fn update(
    conn: &mut AnyConnection, id: &WebhookId, changes: Changes<'_>, now_ms: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE webhook_endpoints SET url = COALESCE($1, url), events = COALESCE($2, events), description = COALESCE($3, description), \
         enabled = COALESCE($4, enabled), disabled_reason = CASE WHEN COALESCE($4, enabled) = 1 THEN NULL ELSE disabled_reason END, updated_at_ms = $5 WHERE id = $6",
    )
    .bind(changes.url)
    .bind(changes.events)
    .bind(changes.description)
    .bind(changes.enabled.map(i64::from))
    .bind(now_ms)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the endpoint (its deliveries go with it, ON DELETE CASCADE).
pub async fn delete(conn: &mut AnyConnection, id: &WebhookId) -> Result<(), DbError> {
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Makes `sealed` the current secret; the one it replaces keeps signing until `old_until_ms`.
pub async fn rotate_secret(
    conn: &mut AnyConnection, id: &WebhookId, sealed: &str, old_until_ms: i64, now_ms: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE webhook_endpoints SET old_secret_sealed = secret_sealed, old_secret_until_ms = $1, secret_sealed = $2, updated_at_ms = $3 WHERE id = $4",
    )
    .bind(old_until_ms)
    .bind(sealed)
    .bind(now_ms)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The ids of the org's enabled endpoints subscribed to `event_type`.
pub async fn subscribed(conn: &mut AnyConnection, org_id: &str, event_type: &str) -> Result<Vec<WebhookId>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints WHERE org_id = $1 AND enabled = 1 AND (',' || events || ',') LIKE ('%,' || $2 || ',%')",
    )
    .bind(org_id)
    .bind(event_type)
    .fetch_all(conn)
    .await?)
}

/// Disables an enabled endpoint with `reason`; its org when it was enabled.
pub async fn disable(
    conn: &mut AnyConnection, id: &WebhookId, reason: &str, now_ms: i64,
) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar(
        "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1, updated_at_ms = $2 WHERE id = $3 AND enabled = 1 RETURNING org_id",
    )
    .bind(reason)
    .bind(now_ms)
    .bind(id)
    .fetch_optional(conn)
    .await?)
}
