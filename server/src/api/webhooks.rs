//! Webhook endpoints, their deliveries, and the 30-day event log (API.md,
//! Webhooks). Admin only. Every change writes an audit row.

use axum::{extract::State, http::StatusCode};
use fxe_protocol::{
    api::{
        CreateWebhookRequest, ErrorBody, Page, RedeliverSinceAnswer, UpdateWebhookRequest, WebhookAttempt,
        WebhookDelivery, WebhookEndpoint, WebhookEvent,
    },
    webhook::WebhookSecret,
};
use serde::Deserialize;
use serde_json::json;
use sqlx::{AnyConnection, Row, any::AnyRow};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    api_keys::PageQuery,
    pagination::{self, PageRequest},
};
use crate::http::error::ErrorCode;
use crate::{
    AppState, clock,
    db::audit::{self, Entry},
    http::auth::{Caller, Need},
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
    webhooks::events,
    webhooks::{guard, queue},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(rotate_secret))
        .routes(routes!(test))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver_since))
        .routes(routes!(redeliver))
        .routes(routes!(event_log))
}

/// Endpoints one org may have.
pub const MAX_ENDPOINTS: i64 = 50;
/// Events one `redeliver?since=` call queues at most.
pub const MAX_REDELIVER: i64 = 10_000;
/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;

const COLUMNS: &str = "id, url, events, description, enabled, disabled_reason, created_at_ms";

fn endpoint_from_row(row: &AnyRow) -> Result<WebhookEndpoint, sqlx::Error> {
    let events: String = row.try_get("events")?;
    Ok(WebhookEndpoint {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        events: events.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        description: row.try_get("description")?,
        enabled: row.try_get::<i64, _>("enabled")? == 1,
        disabled_reason: row.try_get("disabled_reason")?,
        created_at: clock::rfc3339(row.try_get::<i64, _>("created_at_ms")? / 1000),
        secret: None,
    })
}

fn not_found() -> ApiError {
    ApiError::not_found("No such webhook endpoint in this org.")
}

async fn load(conn: &mut AnyConnection, org_id: &str, id: &str) -> Result<WebhookEndpoint, ApiError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1 AND org_id = $2"))
        .bind(id)
        .bind(org_id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(not_found)?;
    Ok(endpoint_from_row(&row)?)
}

async fn checked_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let url = guard::check(raw, state.webhooks.allow_private)
        .await
        .map_err(|e| ApiError::unprocessable(ErrorCode::InvalidUrl, e.to_string()))?;
    Ok(url.to_string())
}

/// Sorted, without repeats; each one of the event types.
fn checked_events(list: &[String]) -> Result<String, ApiError> {
    let mut out: Vec<&str> = Vec::new();
    for e in list {
        let Some(known) = events::ALL.iter().find(|k| **k == e.as_str()) else {
            return Err(ApiError::unprocessable(
                ErrorCode::InvalidEvents,
                format!("{e:?} is not an event type; use {}.", events::ALL.join(", ")),
            ));
        };
        if !out.contains(known) {
            out.push(known);
        }
    }
    if out.is_empty() {
        return Err(ApiError::unprocessable(ErrorCode::InvalidEvents, "events must name at least one event type."));
    }
    out.sort_unstable();
    Ok(out.join(","))
}

fn checked_description(d: &str) -> Result<String, ApiError> {
    let d = d.trim();
    if d.chars().count() > 500 || d.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidBody,
            "description must be at most 500 characters without control characters.",
        ));
    }
    Ok(d.to_owned())
}

fn new_secret() -> Result<WebhookSecret, ApiError> {
    WebhookSecret::generate().map_err(|_| ApiError::internal("no randomness"))
}

fn seal(state: &AppState, id: &str, secret: &WebhookSecret) -> Result<String, ApiError> {
    state.webhooks.key.seal(id, secret).map_err(ApiError::internal)
}

/// The org's endpoints, newest first.
#[utoipa::path(
    get, path = "/webhooks", operation_id = "list_webhooks", tag = "webhooks",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of endpoints (never their secrets).", body = Page<WebhookEndpoint>),
        (status = 400, description = "`invalid_query`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
    ),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<ApiJson<Page<WebhookEndpoint>>, ApiError> {
    caller.require(Need::Admin)?;
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let select = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE org_id = $1");
    Ok(ApiJson(
        pagination::fetch(
            state.db.pool(),
            &select,
            std::slice::from_ref(&caller.org_id),
            ("created_at_ms", "id"),
            &page,
            endpoint_from_row,
        )
        .await?,
    ))
}

/// Adds an endpoint. The answer holds its signing secret, shown this once.
#[utoipa::path(
    post, path = "/webhooks", operation_id = "create_webhook", tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Created; `secret` is shown only now.", body = WebhookEndpoint),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 409, description = "`too_many_webhooks`: the org has 50 endpoints.", body = ErrorBody),
        (status = 422, description = "`invalid_url` (not https, or not a public address), `invalid_events`, `invalid_body`.", body = ErrorBody),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateWebhookRequest>,
) -> Result<(StatusCode, ApiJson<WebhookEndpoint>), ApiError> {
    caller.require(Need::Admin)?;
    let event_list = checked_events(&req.events)?;
    let description = checked_description(&req.description)?;
    let url = checked_url(&state, &req.url).await?;
    let id = queue::new_id("wh_")?;
    let secret = new_secret()?;
    let sealed = seal(&state, &id, &secret)?;
    let now = clock::now_ms();
    let mut tx = state.db.begin_write().await?;
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE org_id = $1")
        .bind(&caller.org_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    if count >= MAX_ENDPOINTS {
        return Err(ApiError::conflict(
            ErrorCode::TooManyWebhooks,
            format!("An org may have at most {MAX_ENDPOINTS} webhook endpoints; delete one first."),
        ));
    }
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, org_id, url, events, description, enabled, secret_sealed, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)",
    )
    .bind(&id)
    .bind(&caller.org_id)
    .bind(&url)
    .bind(&event_list)
    .bind(&description)
    .bind(&sealed)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "webhook.created",
            target: Some(&id),
            detail: Some(json!({ "url": url, "events": event_list.split(',').collect::<Vec<_>>() })),
        },
    )
    .await?;
    let mut endpoint = load(&mut tx, &caller.org_id, &id).await?;
    tx.commit().await?;
    tracing::info!(org_id = %caller.org_id, endpoint_id = %id, "webhook endpoint created");
    endpoint.secret = Some(secret.to_secret_string().to_string());
    Ok((StatusCode::CREATED, ApiJson(endpoint)))
}

/// One endpoint (without its secret).
#[utoipa::path(
    get, path = "/webhooks/{id}", operation_id = "get_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id (`wh_…`).")),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookEndpoint),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`.", body = ErrorBody),
    ),
)]
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<WebhookEndpoint>, ApiError> {
    caller.require(Need::Admin)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(ApiJson(load(&mut conn, &caller.org_id, &id).await?))
}

/// Changes an endpoint's url, events, description or `enabled`. Enabling
/// one the relay disabled (after a 410) clears the reason; disabling one
/// marks its pending deliveries dead.
#[utoipa::path(
    patch, path = "/webhooks/{id}", operation_id = "update_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id.")),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "The endpoint as it is now.", body = WebhookEndpoint),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`.", body = ErrorBody),
        (status = 422, description = "`invalid_url`, `invalid_events`, `invalid_body`.", body = ErrorBody),
    ),
)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateWebhookRequest>,
) -> Result<ApiJson<WebhookEndpoint>, ApiError> {
    caller.require(Need::Admin)?;
    let url = match &req.url {
        Some(u) => Some(checked_url(&state, u).await?),
        None => None,
    };
    let event_list = req.events.as_deref().map(checked_events).transpose()?;
    let description = req.description.as_deref().map(checked_description).transpose()?;
    let now = clock::now_ms();
    let mut tx = state.db.begin_write().await?;
    let before = load(&mut tx, &caller.org_id, &id).await?;
    sqlx::query(
        "UPDATE webhook_endpoints SET url = COALESCE($1, url), events = COALESCE($2, events), description = COALESCE($3, description), \
         enabled = COALESCE($4, enabled), disabled_reason = CASE WHEN COALESCE($4, enabled) = 1 THEN NULL ELSE disabled_reason END, updated_at_ms = $5 WHERE id = $6",
    )
    .bind(url.as_deref())
    .bind(event_list.as_deref())
    .bind(description.as_deref())
    .bind(req.enabled.map(i64::from))
    .bind(now)
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    if req.enabled == Some(false) && before.enabled {
        queue::kill_pending(&mut tx, &id, now).await?;
    }
    let actor = caller.actor();
    let detail = json!({ "url": url, "events": req.events, "description": description, "enabled": req.enabled });
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "webhook.updated",
            target: Some(&id),
            detail: Some(detail),
        },
    )
    .await?;
    let endpoint = load(&mut tx, &caller.org_id, &id).await?;
    tx.commit().await?;
    Ok(ApiJson(endpoint))
}

/// Deletes an endpoint with its deliveries.
#[utoipa::path(
    delete, path = "/webhooks/{id}", operation_id = "delete_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`.", body = ErrorBody),
    ),
)]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::Admin)?;
    let mut tx = state.db.begin_write().await?;
    let endpoint = load(&mut tx, &caller.org_id, &id).await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(&id).execute(&mut *tx).await?;
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "webhook.deleted",
            target: Some(&id),
            detail: Some(json!({ "url": endpoint.url })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once; the one it replaces keeps signing
/// too (a second `v1=` value) for 24 hours.
#[utoipa::path(
    post, path = "/webhooks/{id}/rotate-secret", operation_id = "rotate_webhook_secret", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id.")),
    responses(
        (status = 200, description = "The endpoint with its new `secret`.", body = WebhookEndpoint),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`.", body = ErrorBody),
    ),
)]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<WebhookEndpoint>, ApiError> {
    caller.require(Need::Admin)?;
    let secret = new_secret()?;
    let sealed = seal(&state, &id, &secret)?;
    let now = clock::now_ms();
    let mut tx = state.db.begin_write().await?;
    let mut endpoint = load(&mut tx, &caller.org_id, &id).await?;
    sqlx::query("UPDATE webhook_endpoints SET old_secret_sealed = secret_sealed, old_secret_until_ms = $1, secret_sealed = $2, updated_at_ms = $3 WHERE id = $4")
        .bind(now + ROTATION_OVERLAP_MS)
        .bind(&sealed)
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "webhook.secret_rotated",
            target: Some(&id),
            detail: None,
        },
    )
    .await?;
    tx.commit().await?;
    endpoint.secret = Some(secret.to_secret_string().to_string());
    Ok(ApiJson(endpoint))
}

/// Sends a `ping` event to this endpoint now (whatever its event set).
#[utoipa::path(
    post, path = "/webhooks/{id}/test", operation_id = "test_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id.")),
    responses(
        (status = 202, description = "Queued; the delivery, to follow its attempts.", body = WebhookDelivery),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`.", body = ErrorBody),
        (status = 409, description = "`webhook_disabled`: enable it first.", body = ErrorBody),
    ),
)]
async fn test(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, ApiJson<WebhookDelivery>), ApiError> {
    caller.require(Need::Admin)?;
    let mut tx = state.db.begin_write().await?;
    let endpoint = load(&mut tx, &caller.org_id, &id).await?;
    require_enabled(&endpoint)?;
    let event_id = events::insert(&mut tx, &caller.org_id, events::PING, json!({ "endpoint_id": id })).await?;
    queue::queue(&mut tx, &id, &caller.org_id, events::PING, &event_id).await?;
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "webhook.test_sent",
            target: Some(&id),
            detail: Some(json!({ "event_id": event_id })),
        },
    )
    .await?;
    let delivery = delivery_by_event(&mut tx, &id, &event_id).await?;
    tx.commit().await?;
    state.events.notify();
    Ok((StatusCode::ACCEPTED, ApiJson(delivery)))
}

fn require_enabled(endpoint: &WebhookEndpoint) -> Result<(), ApiError> {
    if endpoint.enabled {
        Ok(())
    } else {
        Err(ApiError::conflict(
            ErrorCode::WebhookDisabled,
            "This endpoint is disabled; enable it with PATCH {\"enabled\": true} first.",
        ))
    }
}

const DELIVERY_COLUMNS: &str = "id, event_id, event_type, endpoint_id, status, next_attempt_at_ms, created_at_ms";

fn delivery_from_row(row: &AnyRow) -> Result<WebhookDelivery, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        endpoint_id: row.try_get("endpoint_id")?,
        next_attempt_at: if status == "pending" {
            row.try_get::<Option<i64>, _>("next_attempt_at_ms")?.map(clock::rfc3339_ms)
        } else {
            None
        },
        status,
        attempts: Vec::new(),
        created_at: clock::rfc3339(row.try_get::<i64, _>("created_at_ms")? / 1000),
    })
}

/// Fills in the attempts of `list`, oldest first.
async fn with_attempts(
    conn: &mut AnyConnection,
    mut list: Vec<WebhookDelivery>,
) -> Result<Vec<WebhookDelivery>, ApiError> {
    if list.is_empty() {
        return Ok(list);
    }
    let placeholders = (1..=list.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT delivery_id, at_ms, status_code, latency_ms, error, response_body FROM webhook_attempts WHERE delivery_id IN ({placeholders}) ORDER BY at_ms, id"
    );
    let mut query = sqlx::query(&sql);
    for d in &list {
        query = query.bind(d.id.as_str());
    }
    for row in query.fetch_all(conn).await? {
        let delivery_id: String = row.try_get("delivery_id")?;
        let attempt = WebhookAttempt {
            at: clock::rfc3339_ms(row.try_get("at_ms")?),
            status_code: row.try_get::<Option<i64>, _>("status_code")?.and_then(|c| u16::try_from(c).ok()),
            latency_ms: row.try_get::<i64, _>("latency_ms")?.max(0) as u64,
            error: row.try_get("error")?,
            response_body: row.try_get("response_body")?,
        };
        if let Some(d) = list.iter_mut().find(|d| d.id == delivery_id) {
            d.attempts.push(attempt);
        }
    }
    Ok(list)
}

async fn delivery_by_event(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    event_id: &str,
) -> Result<WebhookDelivery, ApiError> {
    let row = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND event_id = $2"
    ))
    .bind(endpoint_id)
    .bind(event_id)
    .fetch_one(&mut *conn)
    .await?;
    let list = with_attempts(conn, vec![delivery_from_row(&row)?]).await?;
    list.into_iter().next().ok_or_else(|| ApiError::internal("a delivery vanished"))
}

/// `?status=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// Only `pending`, `succeeded` or `dead` deliveries.
    status: Option<String>,
    /// 1 to 500, default 50.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The endpoint's deliveries, newest first, each with its attempts (status
/// code, latency, error, the first 2 KiB of the answer) and next retry.
#[utoipa::path(
    get, path = "/webhooks/{id}/deliveries", operation_id = "list_webhook_deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id."), DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = Page<WebhookDelivery>),
        (status = 400, description = "`invalid_query`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`.", body = ErrorBody),
    ),
)]
async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<ApiJson<Page<WebhookDelivery>>, ApiError> {
    caller.require(Need::Admin)?;
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let mut select = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1");
    match q.status.as_deref() {
        None => {}
        Some(s @ ("pending" | "succeeded" | "dead")) => select += &format!(" AND status = '{s}'"),
        Some(_) => {
            return Err(ApiError::bad_request(ErrorCode::InvalidQuery, "status must be pending, succeeded or dead."));
        }
    }
    let mut conn = state.db.pool().acquire().await?;
    load(&mut conn, &caller.org_id, &id).await?;
    let page = pagination::fetch(
        state.db.pool(),
        &select,
        std::slice::from_ref(&id),
        ("created_at_ms", "id"),
        &page,
        delivery_from_row,
    )
    .await?;
    Ok(ApiJson(Page { items: with_attempts(&mut conn, page.items).await?, next_cursor: page.next_cursor }))
}

/// Sends one delivery again now, also a dead or succeeded one: it becomes
/// pending with a fresh retry schedule and keeps its earlier attempts.
#[utoipa::path(
    post, path = "/deliveries/{id}/redeliver", operation_id = "redeliver_webhook_delivery", tag = "webhooks",
    params(("id" = String, Path, description = "The delivery id (`dl_…`).")),
    responses(
        (status = 202, description = "Queued again.", body = WebhookDelivery),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such delivery (or its event is older than 30 days).", body = ErrorBody),
        (status = 409, description = "`webhook_disabled`.", body = ErrorBody),
    ),
)]
async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, ApiJson<WebhookDelivery>), ApiError> {
    caller.require(Need::Admin)?;
    let mut tx = state.db.begin_write().await?;
    let row =
        sqlx::query("SELECT endpoint_id, event_id, event_type FROM webhook_deliveries WHERE id = $1 AND org_id = $2")
            .bind(&id)
            .bind(&caller.org_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| ApiError::not_found("No such delivery in this org."))?;
    let (endpoint_id, event_id, event_type): (String, String, String) =
        (row.try_get("endpoint_id")?, row.try_get("event_id")?, row.try_get("event_type")?);
    require_enabled(&load(&mut tx, &caller.org_id, &endpoint_id).await?)?;
    queue::queue(&mut tx, &endpoint_id, &caller.org_id, &event_type, &event_id).await?;
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "webhook.redelivered",
            target: Some(&id),
            detail: Some(json!({ "endpoint_id": endpoint_id, "event_id": event_id })),
        },
    )
    .await?;
    let delivery = delivery_by_event(&mut tx, &endpoint_id, &event_id).await?;
    tx.commit().await?;
    state.events.notify();
    Ok((StatusCode::ACCEPTED, ApiJson(delivery)))
}

/// `?since=` (RFC 3339)
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SinceQuery {
    /// RFC 3339, e.g. `2026-01-31T12:00:00Z`.
    since: String,
}

fn parse_since(raw: &str) -> Result<i64, ApiError> {
    fxe_protocol::time::parse_rfc3339_millis(raw).map_err(|_| {
        ApiError::bad_request(ErrorCode::InvalidQuery, "since must be an RFC 3339 time such as 2026-01-31T12:00:00Z.")
    })
}

/// Queues again every event since `since` (of the endpoint's event types,
/// still in the 30-day log) to this endpoint, oldest first, at most 10,000
/// a call: after a long outage.
#[utoipa::path(
    post, path = "/webhooks/{id}/redeliver", operation_id = "redeliver_webhook_since", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id."), SinceQuery),
    responses(
        (status = 202, description = "How many events were queued.", body = RedeliverSinceAnswer),
        (status = 400, description = "`invalid_query`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`.", body = ErrorBody),
        (status = 409, description = "`webhook_disabled`.", body = ErrorBody),
    ),
)]
async fn redeliver_since(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<SinceQuery>,
) -> Result<(StatusCode, ApiJson<RedeliverSinceAnswer>), ApiError> {
    caller.require(Need::Admin)?;
    let since = parse_since(&q.since)?;
    let mut tx = state.db.begin_write().await?;
    let endpoint = load(&mut tx, &caller.org_id, &id).await?;
    require_enabled(&endpoint)?;
    let rows = sqlx::query(&format!(
        "SELECT id, event_type FROM events WHERE org_id = $1 AND created_at_ms >= {since} AND (',' || $2 || ',') LIKE ('%,' || event_type || ',%') \
         ORDER BY created_at_ms, id LIMIT {MAX_REDELIVER}"
    ))
    .bind(&caller.org_id)
    .bind(endpoint.events.join(","))
    .fetch_all(&mut *tx)
    .await?;
    let mut queued = 0;
    for row in &rows {
        let (event_id, event_type): (String, String) = (row.try_get("id")?, row.try_get("event_type")?);
        queued += queue::queue(&mut tx, &id, &caller.org_id, &event_type, &event_id).await?;
    }
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "webhook.redelivered_since",
            target: Some(&id),
            detail: Some(json!({ "since": q.since, "queued": queued })),
        },
    )
    .await?;
    tx.commit().await?;
    state.events.notify();
    Ok((StatusCode::ACCEPTED, ApiJson(RedeliverSinceAnswer { queued })))
}

/// `?since=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Only events at or after this RFC 3339 time.
    since: Option<String>,
    /// 1 to 500, default 50.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn event_from_row(row: &AnyRow) -> Result<WebhookEvent, sqlx::Error> {
    let payload: String = row.try_get("payload_json")?;
    serde_json::from_str(&payload).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The org's events of the last 30 days, newest first, each exactly as its
/// webhooks carry it.
#[utoipa::path(
    get, path = "/events", operation_id = "list_events", tag = "webhooks",
    params(EventsQuery),
    responses(
        (status = 200, description = "A page of events.", body = Page<WebhookEvent>),
        (status = 400, description = "`invalid_query`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
    ),
)]
async fn event_log(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<ApiJson<Page<WebhookEvent>>, ApiError> {
    caller.require(Need::Admin)?;
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let mut select = String::from("SELECT id, created_at_ms, payload_json FROM events WHERE org_id = $1");
    if let Some(since) = q.since.as_deref() {
        select += &format!(" AND created_at_ms >= {}", parse_since(since)?);
    }
    Ok(ApiJson(
        pagination::fetch(
            state.db.pool(),
            &select,
            std::slice::from_ref(&caller.org_id),
            ("created_at_ms", "id"),
            &page,
            event_from_row,
        )
        .await?,
    ))
}
