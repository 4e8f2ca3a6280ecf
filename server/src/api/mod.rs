//! The REST API under `/api/v1` (API.md). One module per group of calls, each
//! with a `routes()` merged here; the [`crate::http::auth::authenticate`] middleware
//! runs on all of them.
//!
//! Register every route with `utoipa_axum`'s `routes!(handler, …)` (one path
//! per call) on an `OpenApiRouter`, the handler annotated with
//! `#[utoipa::path]`: that puts it in the OpenAPI document
//! ([`crate::http::openapi`]) as it puts it in the router. A test fails for a route
//! added any other way.

use std::str::FromStr;

use utoipa_axum::router::OpenApiRouter;

use crate::{AppState, http::error::ApiError};

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
pub mod transparency;
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
        .merge(transparency::routes())
}

/// A path segment as its id type (`crate::ids`). A malformed id is answered
/// as an unknown one is (`unknown`, the route's 404), so the two cannot be
/// told apart. Handlers call it after their permission checks, where the
/// lookup of an unknown id would fail, so which answer comes first is as
/// it was.
pub fn path_id<T: FromStr, E: Into<ApiError>>(raw: &str, unknown: impl FnOnce() -> E) -> Result<T, ApiError> {
    raw.parse().map_err(|_| unknown().into())
}
