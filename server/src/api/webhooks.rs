//! Webhook endpoints, their deliveries, and the 30-day event log (API.md,
//! Webhooks). Admin only. The work is in [`crate::webhooks::endpoints`] and
//! [`crate::webhooks::deliveries`]; every change writes an audit row there.

use axum::{
    extract::{FromRequestParts, State},
    http::{StatusCode, request::Parts},
};
use fxe_protocol::api::{
    CreateWebhookRequest, DeliveryStatus, Page, RedeliverSinceAnswer, UpdateWebhookRequest, WebhookDelivery,
    WebhookEndpoint, WebhookEvent,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    api_keys::PageQuery,
    pagination::{Cursor, PageRequest},
};
use crate::http::error::ErrorCode;
use crate::{
    AppState, api,
    db::{Keyed, audit::Actor},
    http::auth::{Caller, Need},
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
    ids::{DeliveryId, WebhookId},
    webhooks::{WebhookError, deliveries, endpoints, endpoints::Admin},
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

/// The caller, checked to be an admin of its org (every route here is
/// admin only), as the webhook rules take it.
struct AdminCaller {
    caller: Caller,
    actor: Actor,
}

impl<S: Send + Sync> FromRequestParts<S> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(Need::Admin)?;
        let actor = caller.actor();
        Ok(AdminCaller { caller, actor })
    }
}

impl AdminCaller {
    fn org_id(&self) -> &str {
        &self.caller.org_id
    }

    fn admin(&self) -> Admin<'_> {
        Admin { org_id: &self.caller.org_id, actor: &self.actor, at_ms: self.caller.at_ms }
    }
}

/// The page of `rows` (fetched with `page`) and its next cursor.
fn page_of<T>(page: &PageRequest, rows: Vec<Keyed<T>>) -> Page<T> {
    let (rows, next_cursor) = page.finish(rows, |r| Cursor { time: r.key.0, id: r.key.1.clone() });
    Page { items: rows.into_iter().map(|r| r.item).collect(), next_cursor }
}

/// The org's endpoints, newest first.
#[utoipa::path(
    get, path = "/webhooks", operation_id = "list_webhooks", tag = "webhooks",
    params(PageQuery),
    responses((status = 200, description = "A page of endpoints (never their secrets).", body = Page<WebhookEndpoint>)),
)]
async fn list(
    State(state): State<AppState>, caller: AdminCaller, ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<ApiJson<Page<WebhookEndpoint>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let rows = endpoints::list(&state.db, caller.org_id(), &page).await?;
    Ok(ApiJson(page_of(&page, rows)))
}

crate::api_errors!(CreateErrors: TooManyWebhooks = "the org has 50 endpoints", InvalidUrl = "not https, or not a public address", InvalidEvents, InvalidBody);
/// Adds an endpoint. The answer holds its signing secret, shown this once.
#[utoipa::path(
    post, path = "/webhooks", operation_id = "create_webhook", tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses((status = 201, description = "Created; `secret` is shown only now.", body = WebhookEndpoint), CreateErrors),
)]
async fn create(
    State(state): State<AppState>, caller: AdminCaller, ApiJson(req): ApiJson<CreateWebhookRequest>,
) -> Result<(StatusCode, ApiJson<WebhookEndpoint>), ApiError> {
    let endpoint = endpoints::create(&state, caller.admin(), &req).await?;
    Ok((StatusCode::CREATED, ApiJson(endpoint)))
}

// The errors of the calls on one endpoint that can only not find it.
crate::api_errors!(EndpointErrors: NotFound);
/// One endpoint (without its secret).
#[utoipa::path(
    get, path = "/webhooks/{id}", operation_id = "get_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id (`wh_…`).")),
    responses((status = 200, description = "The endpoint.", body = WebhookEndpoint), EndpointErrors),
)]
async fn get_one(
    State(state): State<AppState>, caller: AdminCaller, ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<WebhookEndpoint>, ApiError> {
    let id: WebhookId = api::path_id(&id, || WebhookError::NotFound)?;
    Ok(ApiJson(endpoints::get(&state.db, caller.org_id(), &id).await?))
}

crate::api_errors!(UpdateErrors: NotFound, InvalidUrl, InvalidEvents, InvalidBody);
/// Changes an endpoint's url, events, description or `enabled`. Enabling
/// one the relay disabled (after a 410) clears the reason; disabling one
/// marks its pending deliveries dead.
#[utoipa::path(
    patch, path = "/webhooks/{id}", operation_id = "update_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id.")),
    request_body = UpdateWebhookRequest,
    responses((status = 200, description = "The endpoint as it is now.", body = WebhookEndpoint), UpdateErrors),
)]
async fn update(
    State(state): State<AppState>, caller: AdminCaller, ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateWebhookRequest>,
) -> Result<ApiJson<WebhookEndpoint>, ApiError> {
    let checked = endpoints::check_update(&state, &req).await?;
    let id: WebhookId = api::path_id(&id, || WebhookError::NotFound)?;
    Ok(ApiJson(endpoints::update(&state, caller.admin(), &id, checked).await?))
}

/// Deletes an endpoint with its deliveries.
#[utoipa::path(
    delete, path = "/webhooks/{id}", operation_id = "delete_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id.")),
    responses((status = 204, description = "Deleted."), EndpointErrors),
)]
async fn delete(
    State(state): State<AppState>, caller: AdminCaller, ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id: WebhookId = api::path_id(&id, || WebhookError::NotFound)?;
    endpoints::delete(&state.db, caller.admin(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once; the one it replaces keeps signing
/// too (a second `v1=` value) for 24 hours.
#[utoipa::path(
    post, path = "/webhooks/{id}/rotate-secret", operation_id = "rotate_webhook_secret", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id.")),
    responses((status = 200, description = "The endpoint with its new `secret`.", body = WebhookEndpoint), EndpointErrors),
)]
async fn rotate_secret(
    State(state): State<AppState>, caller: AdminCaller, ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<WebhookEndpoint>, ApiError> {
    let id: WebhookId = api::path_id(&id, || WebhookError::NotFound)?;
    Ok(ApiJson(endpoints::rotate_secret(&state, caller.admin(), &id).await?))
}

crate::api_errors!(TestErrors: NotFound, WebhookDisabled = "enable it first");
/// Sends a `ping` event to this endpoint now (whatever its event set).
#[utoipa::path(
    post, path = "/webhooks/{id}/test", operation_id = "test_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id.")),
    responses((status = 202, description = "Queued; the delivery, to follow its attempts.", body = WebhookDelivery), TestErrors),
)]
async fn test(
    State(state): State<AppState>, caller: AdminCaller, ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, ApiJson<WebhookDelivery>), ApiError> {
    let id: WebhookId = api::path_id(&id, || WebhookError::NotFound)?;
    let delivery = endpoints::test(&state, caller.admin(), &id).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(delivery)))
}

/// `?status=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// Only `pending`, `succeeded` or `dead` deliveries.
    #[param(pattern = "^(pending|succeeded|dead)$")]
    status: Option<String>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The endpoint's deliveries, newest first, each with its attempts (status
/// code, latency, error, the first 2 KiB of the answer) and next retry.
#[utoipa::path(
    get, path = "/webhooks/{id}/deliveries", operation_id = "list_webhook_deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id."), DeliveriesQuery),
    responses((status = 200, description = "A page of deliveries.", body = Page<WebhookDelivery>), EndpointErrors),
)]
async fn deliveries(
    State(state): State<AppState>, caller: AdminCaller, ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<ApiJson<Page<WebhookDelivery>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(
            DeliveryStatus::parse(s)
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "status must be pending, succeeded or dead."))?,
        ),
    };
    let id: WebhookId = api::path_id(&id, || WebhookError::NotFound)?;
    let rows = deliveries::list(&state.db, caller.org_id(), &id, status, &page).await?;
    Ok(ApiJson(page_of(&page, rows)))
}

crate::api_errors!(RedeliverErrors: NotFound = "no such delivery (or its event is older than 30 days)", WebhookDisabled);
/// Sends one delivery again now, also a dead or succeeded one: it becomes
/// pending with a fresh retry schedule and keeps its earlier attempts.
#[utoipa::path(
    post, path = "/deliveries/{id}/redeliver", operation_id = "redeliver_webhook_delivery", tag = "webhooks",
    params(("id" = String, Path, description = "The delivery id (`dl_…`).")),
    responses((status = 202, description = "Queued again.", body = WebhookDelivery), RedeliverErrors),
)]
async fn redeliver(
    State(state): State<AppState>, caller: AdminCaller, ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, ApiJson<WebhookDelivery>), ApiError> {
    let id: DeliveryId = api::path_id(&id, || WebhookError::DeliveryNotFound)?;
    let delivery = deliveries::redeliver(&state, caller.admin(), &id).await?;
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
        ApiError::new(ErrorCode::InvalidQuery, "since must be an RFC 3339 time such as 2026-01-31T12:00:00Z.")
    })
}

crate::api_errors!(RedeliverSinceErrors: NotFound, WebhookDisabled);
/// Queues again every event since `since` (of the endpoint's event types,
/// still in the 30-day log) to this endpoint, oldest first, at most 10,000
/// a call: after a long outage.
#[utoipa::path(
    post, path = "/webhooks/{id}/redeliver", operation_id = "redeliver_webhook_since", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id."), SinceQuery),
    responses((status = 202, description = "How many events were queued.", body = RedeliverSinceAnswer), RedeliverSinceErrors),
)]
async fn redeliver_since(
    State(state): State<AppState>, caller: AdminCaller, ApiPath(id): ApiPath<String>, ApiQuery(q): ApiQuery<SinceQuery>,
) -> Result<(StatusCode, ApiJson<RedeliverSinceAnswer>), ApiError> {
    let since = parse_since(&q.since)?;
    let id: WebhookId = api::path_id(&id, || WebhookError::NotFound)?;
    let queued = deliveries::redeliver_since(&state, caller.admin(), &id, since, &q.since).await?;
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
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The org's events of the last 30 days, newest first, each exactly as its
/// webhooks carry it.
#[utoipa::path(
    get, path = "/events", operation_id = "list_events", tag = "webhooks",
    params(EventsQuery),
    responses((status = 200, description = "A page of events.", body = Page<WebhookEvent>)),
)]
async fn event_log(
    State(state): State<AppState>, caller: AdminCaller, ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<ApiJson<Page<WebhookEvent>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let since = q.since.as_deref().map(parse_since).transpose()?;
    let rows = deliveries::events(&state.db, caller.org_id(), since, &page).await?;
    Ok(ApiJson(page_of(&page, rows)))
}
