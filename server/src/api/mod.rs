//! The REST API under `/api/v1` (API.md). One module per group of calls, each
//! with a `routes()` merged here; the [`crate::http::auth::authenticate`] middleware
//! runs on all of them.
//!
//! Register every route with `utoipa_axum`'s `routes!(handler, …)` (one path
//! per call) on an `OpenApiRouter`, the handler annotated with
//! `#[utoipa::path]`: that puts it in the OpenAPI document
//! ([`crate::http::openapi`]) as it puts it in the router. A test fails for a route
//! added any other way.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod directory;
pub mod messages;
pub mod openapi;
pub mod operator;
pub mod org;
pub mod pagination;
pub mod redeem;
pub mod users;
pub mod webhooks;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(redeem::routes())
        .merge(directory::routes())
        .merge(messages::routes())
        .merge(org::routes())
        .merge(api_keys::routes())
        .merge(users::routes())
        .merge(audit::routes())
        .merge(webhooks::routes())
        .merge(auth::routes())
        .merge(operator::routes())
}
