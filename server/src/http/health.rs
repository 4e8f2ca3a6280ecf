//! `GET /healthz` (the process answers) and `GET /readyz` (the database and
//! the blob store work right now), for load balancers and orchestrators.

use std::time::Duration;

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::state::AppState;

/// How long a readiness check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// 200 `{"status":"ok"}` whenever the process can answer.
pub async fn healthz() -> Response {
    no_store(Json(json!({ "status": "ok" })).into_response())
}

/// 200 `{"status":"ok","checks":{"database":"ok","storage":"ok"}}` when a
/// `SELECT 1` succeeds and a file can be written to the blob store; otherwise
/// 503 with the same `checks` (each `"ok"` or `"failed"`) and an `error`
/// member in the API's error shape. Failure details go to the log only.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (database_ok, storage_ok) =
        tokio::join!(check("database", state.db.ping()), check("storage", state.blobs.check_writable()),);

    let word = |ok: bool| if ok { "ok" } else { "failed" };
    let checks = json!({ "database": word(database_ok), "storage": word(storage_ok) });
    let response = if database_ok && storage_ok {
        (StatusCode::OK, Json(json!({ "status": "ok", "checks": checks })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "unavailable",
                "checks": checks,
                "error": {
                    "code": "not_ready",
                    "message": "The relay cannot reach its database or its storage."
                }
            })),
        )
    };
    no_store(response.into_response())
}

async fn check<E: std::fmt::Display>(name: &'static str, probe: impl Future<Output = Result<(), E>>) -> bool {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(check = name, %error, "readiness check failed");
            false
        }
        Err(_) => {
            tracing::warn!(check = name, timeout = ?CHECK_TIMEOUT, "readiness check timed out");
            false
        }
    }
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}
