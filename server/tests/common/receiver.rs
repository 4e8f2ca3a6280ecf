//! A real webhook receiver on loopback: records every POST (headers, body,
//! arrival time) and answers from a script, then 200.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use tokio::{net::TcpListener, sync::Notify, task::JoinHandle};

/// How the receiver answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    /// The status with `Retry-After: <secs>`.
    RetryAfter(u16, u64),
    /// Never answers (the relay times out).
    Hang,
    /// A redirect to `/followed` (which records if it is ever followed).
    Redirect,
    /// 200 after this long.
    Slow(Duration),
}

#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    /// The same moment on the wall clock (to compare with database times).
    pub at_system: std::time::SystemTime,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn event_id(&self) -> &str {
        self.header("x-fxe-event-id")
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    /// Requests in flight per event id, and the most ever seen at once.
    in_flight: Mutex<HashMap<String, (usize, usize)>>,
    arrived: Notify,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        Self::start_on("127.0.0.1:0".parse().unwrap(), Arc::default()).await
    }

    async fn start_on(addr: SocketAddr, shared: Arc<Shared>) -> Receiver {
        let listener = TcpListener::bind(addr).await.expect("the receiver binds");
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/{*path}", post(handle)).route("/", post(handle)).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, shared, task: Some(task) }
    }

    /// `http://127.0.0.1:<port>/hook`
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Stops listening: connections are refused until [`Receiver::restart`].
    pub fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    /// Listens again on the same port, keeping what was recorded.
    pub async fn restart(&mut self) {
        self.stop();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut again = Self::start_on(self.addr, self.shared.clone()).await;
        self.task = again.task.take();
    }

    /// Answers the next requests with these, in order (then 200).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The most requests for one event id ever in flight at once.
    pub fn max_concurrent_per_event(&self) -> usize {
        self.shared.in_flight.lock().unwrap().values().map(|(_, max)| *max).max().unwrap_or(0)
    }

    /// Waits until at least `n` requests arrived (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let wake = self.shared.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "expected {n} webhook requests within {timeout:?}, got {}: {:?}",
                got.len(),
                got.iter().map(|r| &r.path).collect::<Vec<_>>()
            );
            let _ = tokio::time::timeout(left, wake).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    let event_id = headers.get("x-fxe-event-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    shared.received.lock().unwrap().push(Received {
        at: Instant::now(),
        at_system: std::time::SystemTime::now(),
        path: uri.path().to_owned(),
        headers,
        body,
    });
    {
        let mut map = shared.in_flight.lock().unwrap();
        let entry = map.entry(event_id.clone()).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(entry.0);
    }
    // Counted out when the answer is sent or the relay hangs up (the future is then dropped).
    let _in_flight = InFlight(shared.clone(), event_id);
    shared.arrived.notify_waiters();
    let reply = shared.script.lock().unwrap().pop_front().unwrap_or(Reply::Status(200));
    match reply {
        Reply::Status(s) => (StatusCode::from_u16(s).unwrap(), format!("answer {s}")).into_response(),
        Reply::RetryAfter(s, secs) => {
            (StatusCode::from_u16(s).unwrap(), [("retry-after", secs.to_string())], "later").into_response()
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Reply::Redirect => (StatusCode::FOUND, [("location", "/followed")], "").into_response(),
        Reply::Slow(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "ok").into_response()
        }
    }
}

/// One request of an event in flight, until dropped.
struct InFlight(Arc<Shared>, String);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(e) = self.0.in_flight.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&self.1) {
            e.0 -= 1;
        }
    }
}
