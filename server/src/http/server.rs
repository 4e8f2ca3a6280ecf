//! The HTTP server: the accept loop and each connection, with the limits
//! that keep slow or idle clients from holding the relay
//! ([`ConnectionLimits`]). Serves HTTP/1.1 (the relay does not speak HTTP/2;
//! a TLS proxy in front may).
//!
//! * At most `max_connections` connections at once. At the limit, a new
//!   connection is accepted but not served until there is room: the
//!   connection idle the longest (no request in progress, including one whose
//!   request head is still arriving; idle for at least a second) is closed to
//!   make it; when none is idle, it waits for one to end, and later clients
//!   wait in the kernel's listen backlog.
//! * A request head must be complete within `header_timeout` of the relay
//!   starting to wait for it (when the connection opens, or when the previous
//!   answer was sent), so idle keep-alive connections close after that long
//!   too. The connection is closed without an answer.
//! * A head larger than `max_header_bytes` is answered 431
//!   `headers_too_large`; one beyond four times that is refused by hyper
//!   itself (a bare 431) before it is buffered any further.
//! * Every request body is a [`TimedBody`]: when it is cut off (too slow, or
//!   past its deadline), the answer is 408 `request_timeout`, and the
//!   connection is closed.
//! * Every request carries `ConnectInfo<SocketAddr>` (the client address) and
//!   its [`BodyTimer`] as extensions.
//!
//! On shutdown, idle connections close at once and busy ones after their
//! current answer; `crate::run` bounds the wait.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, HttpBody},
    extract::ConnectInfo,
    http::{HeaderValue, Request, Response, header},
    response::IntoResponse,
};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{net::TcpListener, sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::{
    config::ConnectionLimits,
    http::{
        body_limits::{BodyLimits, BodyTimer, CutOff, TimedBody},
        error::{ApiError, ErrorCode},
    },
};

/// hyper's own read buffer limit (its default): heads beyond it are refused.
const HYPER_DEFAULT_MAX_BUF: usize = 8192 + 4096 * 100;

/// Serves `router` on `listener` until `shutdown` is cancelled, then waits
/// for the open connections to finish.
pub async fn serve(listener: TcpListener, router: Router, limits: ConnectionLimits, shutdown: CancellationToken) {
    let builder = connection_builder(&limits);
    let registry: Registry = Arc::new(Mutex::new(BTreeMap::new()));
    let body_limits = BodyLimits::from(&limits);
    let mut tasks = JoinSet::new();
    let mut next_id: u64 = 0;
    'accept: loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then go on.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(500)) => continue,
                        () = shutdown.cancelled() => break,
                    }
                }
            },
            () = shutdown.cancelled() => break,
        };
        // Answers go out as soon as they are written: with Nagle's algorithm a
        // response written in two parts (head, then a streamed body) waits for
        // the client's delayed ACK (40 ms on Linux) before its second part.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%client, error = %e, "cannot set TCP_NODELAY");
        }
        // Full: make room for this one by closing an idle connection, or
        // wait for one to end (later clients wait in the listen backlog).
        while tasks.try_join_next().is_some() {}
        while tasks.len() >= limits.max_connections.max(1) {
            close_longest_idle(&registry);
            tokio::select! {
                _ = tasks.join_next() => {}
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
                () = shutdown.cancelled() => break 'accept,
            }
            while tasks.try_join_next().is_some() {}
        }
        let id = next_id;
        next_id += 1;
        let conn = Arc::new(ConnState::new());
        lock(&registry).insert(id, conn.clone());
        let connection = Connection {
            id,
            client,
            conn,
            registry: registry.clone(),
            router: router.clone(),
            body_limits,
            max_header_bytes: limits.max_header_bytes,
        };
        tasks.spawn(connection.serve(TokioIo::new(stream), builder.clone(), shutdown.clone()));
    }
    // Each connection saw the shutdown itself: idle ones are closing, busy ones finish their answer.
    while tasks.join_next().await.is_some() {}
}

/// hyper's HTTP/1.1 settings from the limits.
fn connection_builder(limits: &ConnectionLimits) -> http1::Builder {
    let hard_cap = limits.max_header_bytes.saturating_mul(4);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_header_size(hard_cap);
    if hard_cap > HYPER_DEFAULT_MAX_BUF {
        builder.max_buf_size(hard_cap.saturating_add(8192));
    }
    builder
}

/// The open connections, oldest first.
type Registry = Arc<Mutex<BTreeMap<u64, Arc<ConnState>>>>;

fn lock(registry: &Registry) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ConnState>>> {
    registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the accept loop knows of a connection.
struct ConnState {
    /// Requests whose answer has not been sent in full.
    in_flight: AtomicUsize,
    /// When the last answer was sent (or the connection opened).
    idle_since: Mutex<Instant>,
    /// Asked to close if idle (set by the accept loop, cleared by the connection).
    asked: AtomicBool,
    close: Notify,
}

impl ConnState {
    fn new() -> ConnState {
        ConnState {
            in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            asked: AtomicBool::new(false),
            close: Notify::new(),
        }
    }

    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
    }

    fn idle_since(&self) -> Instant {
        *self.idle_since.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A connection must have been idle this long to be closed for a new one
/// (so one that just opened, its first request on the way, is spared).
const MIN_IDLE_TO_EVICT: Duration = Duration::from_secs(1);

/// Asks the connection idle the longest (at least [`MIN_IDLE_TO_EVICT`],
/// not asked yet) to close.
fn close_longest_idle(registry: &Registry) {
    let conns = lock(registry);
    let Some(evictable) = Instant::now().checked_sub(MIN_IDLE_TO_EVICT) else { return };
    let longest = conns
        .values()
        .filter(|c| c.idle() && !c.asked.load(Ordering::SeqCst))
        .map(|c| (c.idle_since(), c))
        .filter(|(since, _)| *since <= evictable)
        .min_by_key(|(since, _)| *since);
    if let Some((_, conn)) = longest {
        conn.asked.store(true, Ordering::SeqCst);
        conn.close.notify_one();
    }
}

/// One accepted connection.
struct Connection {
    id: u64,
    client: SocketAddr,
    conn: Arc<ConnState>,
    registry: Registry,
    router: Router,
    body_limits: BodyLimits,
    max_header_bytes: usize,
}

impl Connection {
    async fn serve(self, io: TokioIo<tokio::net::TcpStream>, builder: http1::Builder, shutdown: CancellationToken) {
        let Connection { id, client, conn, registry, router, body_limits, max_header_bytes } = self;
        let state = conn.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let busy = Busy::new(state.clone());
            let router = router.clone();
            async move {
                let response = answer(router, req, client, body_limits, max_header_bytes).await;
                Ok::<_, Infallible>(response.map(|body| Tracked { inner: body, _busy: busy }))
            }
        });
        let connection = builder.serve_connection(io, service).with_upgrades();
        tokio::pin!(connection);
        let mut draining = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%client, error = %e, "connection closed with an error");
                    }
                    break;
                }
                () = shutdown.cancelled(), if !draining => {
                    if conn.idle() {
                        break;
                    }
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
                () = conn.close.notified(), if !draining => {
                    if conn.idle() {
                        tracing::debug!(%client, "closing an idle connection to make room for a new one");
                        break;
                    }
                    conn.asked.store(false, Ordering::SeqCst);
                }
            }
        }
        lock(&registry).remove(&id);
    }
}

/// Routes one request: the head size check, the client address, the body's
/// clock, and 408 when the body was cut off.
async fn answer(
    router: Router, req: Request<Incoming>, client: SocketAddr, body_limits: BodyLimits, max_header_bytes: usize,
) -> Response<Body> {
    let head = head_len(&req);
    if head > max_header_bytes {
        let error = ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!("The request line and headers are {head} bytes; at most {max_header_bytes} are accepted."),
        );
        return closing(error);
    }
    let timer = Arc::new(BodyTimer::default());
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(ConnectInfo(client));
    parts.extensions.insert(timer.clone());
    let body = Body::new(TimedBody::new(Body::new(body), timer.clone(), body_limits));
    let response = match router.oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    match timer.cut_off() {
        None => response,
        Some(why) => {
            let message = match why {
                CutOff::Deadline => format!(
                    "The request body was not complete within {} s; send it again.",
                    body_limits.timeout.as_secs_f64()
                ),
                CutOff::TooSlow => format!(
                    "The request body arrived slower than {} bytes a second (over {} s) and was cut off; send it again.",
                    body_limits.min_rate,
                    body_limits.window.as_secs_f64()
                ),
            };
            closing(ApiError::new(ErrorCode::RequestTimeout, message))
        }
    }
}

/// `error` as an answer after which the connection closes (its request's
/// body may be partly unread).
fn closing(error: ApiError) -> Response<Body> {
    let mut response = error.into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The size of a request head as sent: request line, header lines, blank line.
fn head_len<B>(req: &Request<B>) -> usize {
    let uri = req.uri();
    let target = uri.path_and_query().map_or(1, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len() + uri.scheme_str().map_or(0, |s| s.len() + 3));
    let headers: usize = req.headers().iter().map(|(name, value)| name.as_str().len() + 2 + value.len() + 2).sum();
    // "METHOD target HTTP/1.1\r\n" … "\r\n"
    req.method().as_str().len() + 1 + target + 1 + 8 + 2 + headers + 2
}

/// Counts a request as in flight from its head until its answer is sent.
struct Busy(Arc<ConnState>);

impl Busy {
    fn new(conn: Arc<ConnState>) -> Busy {
        conn.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.idle_since.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body, keeping its request in flight until hyper drops it
/// (sent in full, or the connection broke).
struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_length_counts_the_request_as_sent() {
        let req = Request::builder()
            .method("GET")
            .uri("/a?b=c")
            .header("host", "x")
            .header("user-agent", "t")
            .body(())
            .unwrap();
        let wire = "GET /a?b=c HTTP/1.1\r\nhost: x\r\nuser-agent: t\r\n\r\n";
        assert_eq!(head_len(&req), wire.len());
    }
}
