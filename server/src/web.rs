//! The HTTP application: shared state and router assembly.
//!
//! Routes, in the order a request meets them:
//! * `GET /healthz`, `GET /readyz` ([`crate::health`]);
//! * `/api/v1/…`: the REST API ([`api_router`]); unknown paths there get a
//!   JSON 404, never the HTML one;
//! * the web UI's pages, server-rendered by Leptos, behind
//!   [`crate::page_access`] (sign-in, and the public host for passkeys);
//! * everything else: a file from the site root (`/pkg/fxe.js`,
//!   `/favicon.svg`, …) or the UI's 404 page.

use std::{any::Any, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    extract::FromRef,
    http::{HeaderName, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::{catch_panic::CatchPanicLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer};

use crate::{
    blobs::{BlobStore, LocalBlobStore, create_private_dir},
    config::Config,
    db::Db,
    error::{ApiError, api_not_found, method_not_allowed},
    health,
};

/// Temporary blobs older than this are leftovers of a crash (an upload may
/// take at most an hour, API.md) and are removed at start.
const STALE_TEMP_BLOB_AGE: Duration = crate::sweeper::STALE_TEMP;

/// What every request handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub blobs: Arc<dyn BlobStore>,
    pub leptos: LeptosOptions,
    /// Wakes the workers (webhooks, echo org) after an event is committed.
    pub events: crate::events::Events,
    /// Sends mail (setup links); the outbox folder until SMTP is configured.
    pub mailer: Arc<dyn crate::mail::Mailer>,
    /// The webhook key, HTTP client and retry schedule.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// The relay as a WebAuthn relying party (passkeys), for its public URL.
    pub passkeys: Arc<crate::passkeys::RelyingParty>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

impl AppState {
    /// Prepares the relay's storage: creates the data directory (owner-only)
    /// and the blob store, removes stale temporary blobs, opens the database
    /// (creating the SQLite file if needed) and runs the migrations.
    pub async fn init(config: Config) -> anyhow::Result<AppState> {
        let storage = &config.storage;
        create_private_dir(&storage.data_dir)
            .await
            .with_context(|| format!("cannot create the data directory {}", storage.data_dir.display()))?;

        let blobs_dir = storage.blobs_dir();
        let blobs = LocalBlobStore::open(&blobs_dir)
            .await
            .with_context(|| format!("cannot open the blob store in {}", blobs_dir.display()))?;
        match blobs.sweep_orphans().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed partial uploads of relays that stopped"),
            Err(e) => tracing::warn!(error = %e, "could not sweep partial uploads"),
        }
        match blobs.sweep_temp(STALE_TEMP_BLOB_AGE).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed abandoned temporary uploads"),
            Err(e) => tracing::warn!(error = %e, "could not sweep temporary uploads"),
        }

        let db = Db::open(&storage.database)
            .await
            .with_context(|| format!("cannot open the database ({})", storage.database.redacted()))?;
        tracing::info!(
            database = %storage.database.redacted(),
            backend = %db.backend(),
            blobs = %blobs_dir.display(),
            "storage ready"
        );

        let webhooks = crate::webhooks::Webhooks::init(&config).await.context("cannot set up webhooks")?;
        let mailer = crate::mail::from_settings(&config.mail, storage.data_dir.join(crate::mail::OUTBOX_DIR_NAME))
            .map_err(|e| anyhow::anyhow!("cannot set up mail: {e}"))?;
        let passkeys = crate::passkeys::RelyingParty::for_public_url(&config.public_url);
        if let Err(why) = passkeys.get() {
            tracing::warn!("{why}");
        }
        Ok(AppState {
            mailer,
            passkeys: Arc::new(passkeys),
            leptos: config.leptos.clone(),
            config: Arc::new(config),
            db,
            blobs: Arc::new(blobs),
            events: crate::events::Events::default(),
            webhooks: Arc::new(webhooks),
        })
    }
}

/// The REST API under `/api/v1` (routes: [`crate::api`]); unknown paths
/// answer a JSON 404. A request meets, in order: authentication, the rate
/// limit, `Idempotency-Key` handling, the handler (which runs to its end even
/// if the client hangs up: [`crate::completion`]).
pub fn api_router(state: &AppState) -> Router<AppState> {
    let limiter = Arc::new(crate::rate_limit::RateLimiter::new(state.config.rate_limit_per_minute));
    let (routes, _openapi) = crate::openapi::api_routes().split_for_parts();
    routes
        .fallback(api_not_found)
        .layer(axum::middleware::from_fn(crate::completion::run_to_completion))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::idempotency::idempotency))
        .layer(axum::middleware::from_fn_with_state(limiter, crate::rate_limit::limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::authenticate))
}

/// The whole application for `state`.
pub fn build_router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let shell_options = state.leptos.clone();

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::metrics))
        .nest("/api/v1", api_router(&state))
        .leptos_routes(&state, routes, move || app::shell(shell_options.clone()))
        .route_layer(axum::middleware::from_fn(crate::metrics::record_route))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::page_access::guard))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(crate::metrics::track_requests))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
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
