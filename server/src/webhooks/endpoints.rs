//! Endpoint management (API.md, Webhooks): create, change, delete, rotate
//! the signing secret, send a test event. Input is checked here (the URL by
//! the [`guard`]), secrets are sealed here, and each change writes its audit
//! row in the same transaction.

use crate::ids::WebhookId;
use fxe_protocol::{
    api::{CreateWebhookRequest, UpdateWebhookRequest, WebhookDelivery, WebhookEndpoint},
    webhook::WebhookSecret,
};
use serde_json::json;
use sqlx::AnyConnection;

use super::{WebhookError, deliveries, events, guard, queue};
use crate::{
    AppState,
    db::{
        Db, Keyed, PageRequest,
        audit::{self, Actor, Entry},
        webhook_endpoints::{self as store, Changes, EndpointRow, NewEndpoint},
    },
};

/// Endpoints one org may have.
pub const MAX_ENDPOINTS: i64 = 50;
/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;

/// Who manages the endpoints: an admin of `org_id`.
#[derive(Clone, Copy)]
pub struct Admin<'a> {
    pub org_id: &'a str,
    pub actor: &'a Actor,
    /// The time of the request, in milliseconds (`state.clock`).
    pub at_ms: i64,
}

impl Admin<'_> {
    /// Writes the audit row of `action` on `target`.
    pub(super) async fn audit(
        &self, conn: &mut AnyConnection, action: &str, target: &str, detail: Option<serde_json::Value>,
    ) -> Result<(), WebhookError> {
        audit::write(
            conn,
            Entry {
                at_ms: self.at_ms,
                org_id: Some(self.org_id),
                actor: self.actor,
                action,
                target: Some(target),
                detail,
            },
        )
        .await?;
        Ok(())
    }
}

/// The endpoint `id` of `org_id`.
pub(super) async fn load(conn: &mut AnyConnection, org_id: &str, id: &WebhookId) -> Result<EndpointRow, WebhookError> {
    store::get(conn, org_id, id).await?.ok_or(WebhookError::NotFound)
}

/// Refuses to send to a disabled endpoint.
pub(super) fn require_enabled(endpoint: &EndpointRow) -> Result<(), WebhookError> {
    if endpoint.enabled() { Ok(()) } else { Err(WebhookError::Disabled) }
}

async fn checked_url(state: &AppState, raw: &str) -> Result<String, WebhookError> {
    let url =
        guard::check(raw, state.webhooks.allow_private).await.map_err(|e| WebhookError::InvalidUrl(e.to_string()))?;
    Ok(url.to_string())
}

/// Sorted, without repeats; each one of the event types.
fn checked_events(list: &[String]) -> Result<String, WebhookError> {
    let mut out: Vec<&str> = Vec::new();
    for e in list {
        let Some(known) = events::ALL.iter().find(|k| **k == e.as_str()) else {
            return Err(WebhookError::UnknownEvent(e.clone()));
        };
        if !out.contains(known) {
            out.push(known);
        }
    }
    if out.is_empty() {
        return Err(WebhookError::NoEvents);
    }
    out.sort_unstable();
    Ok(out.join(","))
}

fn checked_description(d: &str) -> Result<String, WebhookError> {
    let d = d.trim();
    if d.chars().count() > 500 || d.chars().any(char::is_control) {
        return Err(WebhookError::InvalidDescription);
    }
    Ok(d.to_owned())
}

fn new_secret() -> Result<WebhookSecret, WebhookError> {
    WebhookSecret::generate().map_err(|_| WebhookError::Internal("no randomness".into()))
}

fn seal(state: &AppState, id: &WebhookId, secret: &WebhookSecret) -> Result<String, WebhookError> {
    state.webhooks.key.seal(id, secret).map_err(|e| WebhookError::Internal(e.to_string()))
}

/// A page of the org's endpoints, newest first.
pub async fn list(db: &Db, org_id: &str, page: &PageRequest) -> Result<Vec<Keyed<WebhookEndpoint>>, WebhookError> {
    let rows = store::list(db, org_id, page).await?;
    Ok(rows.iter().map(|r| Keyed { key: (r.created_at_ms, r.id.to_string()), item: r.to_api() }).collect())
}

/// One endpoint (without its secret).
pub async fn get(db: &Db, org_id: &str, id: &WebhookId) -> Result<WebhookEndpoint, WebhookError> {
    let mut conn = db.pool().acquire().await?;
    Ok(load(&mut conn, org_id, id).await?.to_api())
}

/// Adds an endpoint; the answer holds its signing secret, shown this once.
pub async fn create(
    state: &AppState, admin: Admin<'_>, req: &CreateWebhookRequest,
) -> Result<WebhookEndpoint, WebhookError> {
    let event_list = checked_events(&req.events)?;
    let description = checked_description(&req.description)?;
    let url = checked_url(state, &req.url).await?;
    let id = WebhookId::generate().map_err(|_| queue::no_randomness())?;
    let secret = new_secret()?;
    let sealed = seal(state, &id, &secret)?;
    let now = admin.at_ms;
    let mut tx = state.db.begin_write().await?;
    if store::count(&mut tx, admin.org_id).await? >= MAX_ENDPOINTS {
        return Err(WebhookError::TooManyEndpoints);
    }
    let new = NewEndpoint {
        id: &id,
        org_id: admin.org_id,
        url: &url,
        events: &event_list,
        description: &description,
        secret_sealed: &sealed,
        now_ms: now,
    };
    store::insert(&mut tx, new).await?;
    let detail = json!({ "url": url, "events": event_list.split(',').collect::<Vec<_>>() });
    admin.audit(&mut tx, "webhook.created", &id, Some(detail)).await?;
    let mut endpoint = load(&mut tx, admin.org_id, &id).await?.to_api();
    tx.commit().await?;
    tracing::info!(org_id = %admin.org_id, endpoint_id = %id, "webhook endpoint created");
    endpoint.secret = Some(secret.to_secret_string().to_string());
    Ok(endpoint)
}

/// Changes an endpoint's url, events, description or `enabled`. Enabling
/// one the relay disabled (after a 410) clears the reason; disabling one
/// marks its pending deliveries dead.
///
/// The changes are checked first ([`check_update`]), before the endpoint is
/// looked up: a bad URL is refused whatever the id.
pub async fn update(
    state: &AppState, admin: Admin<'_>, id: &WebhookId, checked: CheckedUpdate<'_>,
) -> Result<WebhookEndpoint, WebhookError> {
    let CheckedUpdate { req, url, event_list, description } = checked;
    let now = admin.at_ms;
    let mut tx = state.db.begin_write().await?;
    let before = load(&mut tx, admin.org_id, id).await?;
    let changes = Changes {
        url: url.as_deref(),
        events: event_list.as_deref(),
        description: description.as_deref(),
        enabled: req.enabled,
    };
    store::update(&mut tx, id, changes, now).await?;
    if req.enabled == Some(false) && before.enabled() {
        queue::kill_pending(&mut tx, id, now).await?;
    }
    let detail = json!({ "url": url, "events": req.events, "description": description, "enabled": req.enabled });
    admin.audit(&mut tx, "webhook.updated", id, Some(detail)).await?;
    let endpoint = load(&mut tx, admin.org_id, id).await?.to_api();
    tx.commit().await?;
    Ok(endpoint)
}

/// An update whose new values passed their checks.
pub struct CheckedUpdate<'a> {
    req: &'a UpdateWebhookRequest,
    url: Option<String>,
    event_list: Option<String>,
    description: Option<String>,
}

/// Checks the new url (the endpoint guard), events and description of an update.
pub async fn check_update<'a>(
    state: &AppState, req: &'a UpdateWebhookRequest,
) -> Result<CheckedUpdate<'a>, WebhookError> {
    let url = match &req.url {
        Some(u) => Some(checked_url(state, u).await?),
        None => None,
    };
    let event_list = req.events.as_deref().map(checked_events).transpose()?;
    let description = req.description.as_deref().map(checked_description).transpose()?;
    Ok(CheckedUpdate { req, url, event_list, description })
}

/// Deletes an endpoint with its deliveries.
pub async fn delete(db: &Db, admin: Admin<'_>, id: &WebhookId) -> Result<(), WebhookError> {
    let mut tx = db.begin_write().await?;
    let endpoint = load(&mut tx, admin.org_id, id).await?;
    store::delete(&mut tx, id).await?;
    admin.audit(&mut tx, "webhook.deleted", id, Some(json!({ "url": endpoint.url }))).await?;
    tx.commit().await?;
    Ok(())
}

/// A new signing secret, shown this once; the one it replaces keeps signing
/// too for [`ROTATION_OVERLAP_MS`].
pub async fn rotate_secret(
    state: &AppState, admin: Admin<'_>, id: &WebhookId,
) -> Result<WebhookEndpoint, WebhookError> {
    let secret = new_secret()?;
    let sealed = seal(state, id, &secret)?;
    let now = admin.at_ms;
    let mut tx = state.db.begin_write().await?;
    let mut endpoint = load(&mut tx, admin.org_id, id).await?.to_api();
    store::rotate_secret(&mut tx, id, &sealed, now + ROTATION_OVERLAP_MS, now).await?;
    admin.audit(&mut tx, "webhook.secret_rotated", id, None).await?;
    tx.commit().await?;
    endpoint.secret = Some(secret.to_secret_string().to_string());
    Ok(endpoint)
}

/// Sends a `ping` event to this endpoint now (whatever its event set);
/// answers the delivery.
pub async fn test(state: &AppState, admin: Admin<'_>, id: &WebhookId) -> Result<WebhookDelivery, WebhookError> {
    let mut tx = state.db.begin_write().await?;
    let endpoint = load(&mut tx, admin.org_id, id).await?;
    require_enabled(&endpoint)?;
    let event_id =
        events::insert(&mut tx, admin.org_id, events::PING, json!({ "endpoint_id": id }), admin.at_ms).await?;
    queue::queue(&mut tx, id, admin.org_id, events::PING, &event_id, admin.at_ms).await?;
    admin.audit(&mut tx, "webhook.test_sent", id, Some(json!({ "event_id": event_id }))).await?;
    let delivery = deliveries::by_event(&mut tx, id, &event_id).await?;
    tx.commit().await?;
    state.events.notify();
    Ok(delivery)
}
