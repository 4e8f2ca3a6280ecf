//! The REST API under `/api/v1` (API.md). One module per group of calls, each
//! with a `routes()` merged here; the [`crate::auth::authenticate`] middleware
//! runs on all of them.

use axum::Router;

use crate::AppState;

pub mod directory;
pub mod messages;
pub mod redeem;

pub fn routes() -> Router<AppState> {
    Router::new().merge(redeem::routes()).merge(directory::routes()).merge(messages::routes())
}
