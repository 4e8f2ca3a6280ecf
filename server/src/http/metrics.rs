//! Process-wide counters and `GET /metrics` (Prometheus text format 0.0.4):
//!
//! * `fxe_http_requests_total{route,method,status}`: answers by matched route
//!   (the route pattern, e.g. `/api/v1/messages/{id}`, never the raw path;
//!   `unmatched` for anything no route matched);
//! * `fxe_messages{status}`: messages stored, by status, counted at scrape time;
//! * `fxe_upload_bytes_total`: ciphertext bytes received by uploads;
//! * `fxe_webhook_attempts_total{result}`: webhook attempts, `succeeded` or `failed`;
//! * `fxe_webhook_deliveries{status}`: webhook deliveries, by status, counted at scrape time.

use fxe_protocol::api::DeliveryStatus;
use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use fxe_protocol::api::MessageStatus;

use crate::AppState;

static UPLOAD_BYTES: AtomicU64 = AtomicU64::new(0);
static WEBHOOK_SUCCEEDED: AtomicU64 = AtomicU64::new(0);
static WEBHOOK_FAILED: AtomicU64 = AtomicU64::new(0);

/// Counts one webhook attempt.
pub fn count_webhook_attempt(succeeded: bool) {
    if succeeded { &WEBHOOK_SUCCEEDED } else { &WEBHOOK_FAILED }.fetch_add(1, Ordering::Relaxed);
}

/// `(route, method, status)` → answers.
static REQUESTS: Mutex<BTreeMap<(String, String, u16), u64>> = Mutex::new(BTreeMap::new());

/// Counts ciphertext bytes received by uploads.
pub fn add_upload_bytes(n: u64) {
    UPLOAD_BYTES.fetch_add(n, Ordering::Relaxed);
}

pub fn upload_bytes() -> u64 {
    UPLOAD_BYTES.load(Ordering::Relaxed)
}

/// Counts one answer.
pub fn count_request(route: &str, method: &str, status: u16) {
    let mut map = REQUESTS.lock().unwrap_or_else(|p| p.into_inner());
    *map.entry((route.to_owned(), method.to_owned(), status)).or_insert(0) += 1;
}

/// The matched route, carried from [`record_route`] to [`track_requests`].
#[derive(Clone)]
struct RouteLabel(MatchedPath);

/// A route layer (`Router::route_layer`): hands the matched route pattern on
/// to [`track_requests`] in the response's extensions.
pub async fn record_route(matched: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if let Some(m) = matched {
        response.extensions_mut().insert(RouteLabel(m));
    }
    response
}

/// The outer layer: counts every answer by route, method and status.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let response = next.run(req).await;
    let route = response.extensions().get::<RouteLabel>().map(|RouteLabel(m)| m.as_str()).unwrap_or("unmatched");
    // Unusual methods would make unbounded labels: fold them.
    let method = match method.as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    };
    count_request(route, method, response.status().as_u16());
    response
}

/// `GET /metrics`
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    let _ = writeln!(out, "# HELP fxe_http_requests_total HTTP answers by matched route, method and status.");
    let _ = writeln!(out, "# TYPE fxe_http_requests_total counter");
    let requests = REQUESTS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for ((route, method, status), n) in &requests {
        let _ = writeln!(
            out,
            "fxe_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
            escape(route),
            escape(method)
        );
    }

    let statuses: Vec<&'static str> = MessageStatus::ALL.iter().map(|s| s.as_str()).collect();
    status_gauge(&mut out, &state, "fxe_messages", "Messages the relay holds, by status.", "messages", &statuses).await;

    let _ = writeln!(out, "# HELP fxe_upload_bytes_total Ciphertext bytes received by uploads.");
    let _ = writeln!(out, "# TYPE fxe_upload_bytes_total counter");
    let _ = writeln!(out, "fxe_upload_bytes_total {}", upload_bytes());

    let _ = writeln!(out, "# HELP fxe_webhook_attempts_total Webhook attempts by result.");
    let _ = writeln!(out, "# TYPE fxe_webhook_attempts_total counter");
    let _ = writeln!(
        out,
        "fxe_webhook_attempts_total{{result=\"succeeded\"}} {}",
        WEBHOOK_SUCCEEDED.load(Ordering::Relaxed)
    );
    let _ = writeln!(out, "fxe_webhook_attempts_total{{result=\"failed\"}} {}", WEBHOOK_FAILED.load(Ordering::Relaxed));
    status_gauge(
        &mut out,
        &state,
        "fxe_webhook_deliveries",
        "Webhook deliveries the relay holds, by status.",
        "webhook_deliveries",
        &DeliveryStatus::ALL.map(DeliveryStatus::as_str),
    )
    .await;

    let mut response = (StatusCode::OK, out).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Writes gauge `name`: the rows of `table` by `status`, every one of `all` (0 when none).
async fn status_gauge(out: &mut String, state: &AppState, name: &str, help: &str, table: &'static str, all: &[&str]) {
    let counts = crate::db::count_by_status(&state.db, table);
    match counts.await {
        Ok(by_status) => {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for status in all {
                let _ = writeln!(out, "{name}{{status=\"{status}\"}} {}", by_status.get(*status).copied().unwrap_or(0));
            }
        }
        Err(e) => tracing::warn!(error = %e, table, "metrics: cannot count"),
    }
}

/// Label values: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"/a"b\c"#), r#"/a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }
}
