//! Deliveries as an admin sees and steers them (API.md, Webhooks): an
//! endpoint's deliveries with their attempts, sending one again, queueing
//! again every event since a time, and the 30-day event log.

use crate::ids::{DeliveryId, WebhookId};
use fxe_protocol::api::DeliveryStatus;
use fxe_protocol::api::{WebhookDelivery, WebhookEvent};
use serde_json::json;
use sqlx::AnyConnection;

use super::{
    WebhookError,
    endpoints::{self, Admin},
    queue,
};
use crate::{
    AppState,
    db::{Db, Keyed, PageRequest, events as event_log, webhook_deliveries as store},
};

/// Events one `redeliver?since=` call queues at most.
pub const MAX_REDELIVER: i64 = 10_000;

/// The deliveries of `rows` with their attempts, oldest attempt first.
async fn with_attempts(
    conn: &mut AnyConnection, rows: &[store::DeliveryRow],
) -> Result<Vec<WebhookDelivery>, WebhookError> {
    let ids: Vec<&str> = rows.iter().map(|d| d.id.as_str()).collect();
    let attempts = store::attempts_of(conn, &ids).await?;
    let delivery = |d: &store::DeliveryRow| {
        let of_d = attempts.iter().filter(|a| a.delivery_id == d.id).map(store::AttemptRow::to_api);
        d.to_api(of_d.collect::<Result<_, _>>()?)
    };
    Ok(rows.iter().map(delivery).collect::<Result<_, _>>()?)
}

/// The delivery of `event_id` to `endpoint_id`, with its attempts.
pub(super) async fn by_event(
    conn: &mut AnyConnection, endpoint_id: &WebhookId, event_id: &str,
) -> Result<WebhookDelivery, WebhookError> {
    let row = store::by_event(conn, endpoint_id, event_id)
        .await?
        .ok_or_else(|| WebhookError::Internal("a delivery vanished".into()))?;
    with_attempts(conn, std::slice::from_ref(&row))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| WebhookError::Internal("a delivery vanished".into()))
}

/// A page of the endpoint's deliveries, newest first, each with its
/// attempts; only those of `status` if given.
pub async fn list(
    db: &Db, org_id: &str, endpoint_id: &WebhookId, status: Option<DeliveryStatus>, page: &PageRequest,
) -> Result<Vec<Keyed<WebhookDelivery>>, WebhookError> {
    let mut conn = db.pool().acquire().await?;
    endpoints::load(&mut conn, org_id, endpoint_id).await?;
    let rows = store::list(db, endpoint_id, status, page).await?;
    let items = with_attempts(&mut conn, &rows).await?;
    Ok(rows.iter().zip(items).map(|(r, item)| Keyed { key: (r.created_at_ms, r.id.to_string()), item }).collect())
}

/// Sends one delivery again now, also a dead or succeeded one: it becomes
/// pending with a fresh retry schedule and keeps its earlier attempts.
pub async fn redeliver(state: &AppState, admin: Admin<'_>, id: &DeliveryId) -> Result<WebhookDelivery, WebhookError> {
    let mut tx = state.db.begin_write().await?;
    let row = store::get(&mut tx, admin.org_id, id).await?.ok_or(WebhookError::DeliveryNotFound)?;
    endpoints::require_enabled(&endpoints::load(&mut tx, admin.org_id, &row.endpoint_id).await?)?;
    queue::queue(&mut tx, &row.endpoint_id, admin.org_id, &row.event_type, &row.event_id, admin.at_ms).await?;
    let detail = json!({ "endpoint_id": row.endpoint_id, "event_id": row.event_id });
    admin.audit(&mut tx, "webhook.redelivered", id, Some(detail)).await?;
    let delivery = by_event(&mut tx, &row.endpoint_id, &row.event_id).await?;
    tx.commit().await?;
    state.events.notify();
    Ok(delivery)
}

/// Queues again every event since `since_ms` (of the endpoint's event
/// types, still in the log) to this endpoint, oldest first, at most
/// [`MAX_REDELIVER`]; answers how many. `since` is the time as given, for
/// the audit row.
pub async fn redeliver_since(
    state: &AppState, admin: Admin<'_>, endpoint_id: &WebhookId, since_ms: i64, since: &str,
) -> Result<u64, WebhookError> {
    let mut tx = state.db.begin_write().await?;
    let endpoint = endpoints::load(&mut tx, admin.org_id, endpoint_id).await?;
    endpoints::require_enabled(&endpoint)?;
    let due =
        event_log::since(&mut tx, admin.org_id, since_ms, &endpoint.event_list().join(","), MAX_REDELIVER).await?;
    let mut queued = 0;
    for (event_id, event_type) in &due {
        queued += queue::queue(&mut tx, endpoint_id, admin.org_id, event_type, event_id, admin.at_ms).await?;
    }
    let detail = json!({ "since": since, "queued": queued });
    admin.audit(&mut tx, "webhook.redelivered_since", endpoint_id, Some(detail)).await?;
    tx.commit().await?;
    state.events.notify();
    Ok(queued)
}

/// A page of the org's events, newest first, each exactly as its webhooks
/// carry it; only those at or after `since_ms` if given.
pub async fn events(
    db: &Db, org_id: &str, since_ms: Option<i64>, page: &PageRequest,
) -> Result<Vec<Keyed<WebhookEvent>>, WebhookError> {
    let rows = event_log::list(db, org_id, since_ms, page).await?;
    rows.into_iter()
        .map(|r| {
            let item = serde_json::from_str(&r.payload_json)
                .map_err(|e| WebhookError::Internal(format!("stored event {} is unreadable: {e}", r.id)))?;
            Ok(Keyed { key: (r.created_at_ms, r.id), item })
        })
        .collect()
}
