//! Every API call runs to its end even when the client goes away. A client
//! that hangs up (a killed `fxe-client receive`, a closed tab) would otherwise
//! drop the handler wherever it was waiting, possibly while a database write
//! transaction was being opened. SQLite's write lock could then stay with a
//! pooled connection, and the next writers would wait out the busy timeout.
//! Finishing the call also makes its outcome certain: a receipt that was
//! being stored is stored.

use axum::{extract::Request, middleware::Next, response::IntoResponse, response::Response};
use tracing::Instrument;

use crate::http::error::ApiError;

/// Middleware: runs the rest of the request on its own task and waits for it.
pub async fn run_to_completion(request: Request, next: Next) -> Response {
    let task = tokio::spawn(next.run(request).instrument(tracing::Span::current()));
    match task.await {
        Ok(response) => response,
        Err(e) => ApiError::internal(format!("request task failed: {e}")).into_response(),
    }
}
