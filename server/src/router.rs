//! The composition root: the whole application's router, the one module that
//! knows the API's routes, the pages and the middleware together.
//!
//! Routes, in the order a request meets them:
//! * `GET /healthz`, `GET /readyz` ([`crate::http::health`]);
//! * `/api/v1/…`: the REST API ([`api_router`]); unknown paths there get a
//!   JSON 404, never the HTML one;
//! * the web UI's pages, server-rendered by Leptos, behind
//!   [`crate::http::page_access`] (sign-in, and the public host for passkeys);
//! * everything else: a file from the site root (`/pkg/fxe.js`,
//!   `/favicon.svg`, …) or the UI's 404 page.
//!
//! Every answer carries the browser hardening headers of
//! [`crate::http::browser_policy`] (its CSP nonce is the one the pages'
//! scripts carry).

use std::any::Any;

use axum::{
    Router,
    response::{IntoResponse, Response},
    routing::get,
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

use crate::{
    AppState,
    http::{
        browser_policy,
        error::{ApiError, api_not_found, method_not_allowed},
        health,
    },
};

/// The REST API under `/api/v1` (routes: [`crate::api`]); unknown paths
/// answer a JSON 404. A request meets, in order: authentication with the
/// rate limits ([`crate::http::auth::authenticate`], which knows whom to
/// count), `Idempotency-Key` handling, the handler (which runs to its end
/// even if the client hangs up: [`crate::http::completion`]).
pub fn api_router(state: &AppState) -> Router<AppState> {
    let (routes, _openapi) = crate::api::openapi::api_routes().split_for_parts();
    routes
        .fallback(api_not_found)
        // JSON bodies of every call, signed or not, at most 1 MiB (413
        // `too_large`); the ciphertext upload streams and is not buffered.
        .layer(axum::extract::DefaultBodyLimit::max(crate::http::auth::MAX_JSON_BODY))
        .layer(axum::middleware::from_fn(crate::http::completion::run_to_completion))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::http::idempotency::idempotency))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::http::auth::authenticate))
}

/// The whole application for `state`.
pub fn build_router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let shell_options = state.leptos.clone();

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::http::metrics::metrics))
        .nest("/api/v1", api_router(&state))
        .leptos_routes_with_context(&state, routes, browser_policy::provide_request_nonce, move || {
            app::shell(shell_options.clone())
        })
        .route_layer(axum::middleware::from_fn(crate::http::metrics::record_route))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            browser_policy::provide_request_nonce,
            app::shell,
        ))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::http::page_access::guard))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(crate::http::metrics::track_requests))
        // CSP (with the page's nonce), HSTS, COOP, Permissions-Policy, no-store, …
        .layer(axum::middleware::from_fn_with_state(state.clone(), browser_policy::headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A panic in a handler is a bug: log it, answer a plain JSON 500.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_string());
    ApiError::internal(format!("handler panicked: {detail}")).into_response()
}
