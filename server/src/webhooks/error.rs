//! Why a webhook operation was refused, without HTTP: `crate::http::error_map`
//! turns each into its status and code (API.md, Webhooks).

use super::{endpoints::MAX_ENDPOINTS, events};
use crate::db::DbError;

/// A refused or failed webhook operation.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No such endpoint in the caller's org.
    #[error("No such webhook endpoint in this org.")]
    NotFound,
    /// No such delivery in the caller's org.
    #[error("No such delivery in this org.")]
    DeliveryNotFound,
    /// The URL is not https, or not a public address (the guard's reason).
    #[error("{0}")]
    InvalidUrl(String),
    /// An event type that does not exist.
    #[error("{0:?} is not an event type; use {all}.", all = events::ALL.join(", "))]
    UnknownEvent(String),
    /// An empty event list.
    #[error("events must name at least one event type.")]
    NoEvents,
    /// A description too long or with control characters.
    #[error("description must be at most 500 characters without control characters.")]
    InvalidDescription,
    /// The org has [`MAX_ENDPOINTS`] endpoints already.
    #[error("An org may have at most {MAX_ENDPOINTS} webhook endpoints; delete one first.")]
    TooManyEndpoints,
    /// The endpoint is disabled, so nothing may be sent to it.
    #[error("This endpoint is disabled; enable it with PATCH {{\"enabled\": true}} first.")]
    Disabled,
    #[error(transparent)]
    Db(#[from] DbError),
    /// A failure that is the relay's (randomness, sealing, a corrupt row); logged, not shown.
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for WebhookError {
    fn from(e: sqlx::Error) -> Self {
        WebhookError::Db(DbError::Query(e))
    }
}
