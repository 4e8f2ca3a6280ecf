//! The delivery worker: woken by every committed event (and at the next due
//! retry), it claims due attempts and POSTs them, signed, to their endpoints.

use fxe_protocol::api::DeliveryStatus;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{
    sync::{Notify, mpsc},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use super::{
    Webhooks, guard,
    queue::{self, Claim, Finished, Outcome},
};
use crate::{
    AppState,
    db::{Backend, DbError, webhook_deliveries},
};

/// How long an endpoint has to answer (API.md: 2xx within 10 s).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is kept per attempt.
pub const BODY_KEPT: usize = 2048;
/// Attempts in flight at once, per relay.
const CONCURRENCY: usize = 32;
/// Finished attempts settled in one transaction at most.
const SETTLE_BATCH: usize = 64;
/// The longest sleep: other relays (PostgreSQL) may queue work this one
/// is not told about.
const MAX_IDLE: Duration = Duration::from_secs(2);

pub fn spawn(state: AppState, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if state.db.backend() == Backend::Sqlite {
            match queue::release_all(&state.db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(attempts = n, "webhook attempts interrupted by a stop will run again"),
                Err(e) => tracing::warn!(error = %e, "cannot release webhook leases"),
            }
        }
        let settled = Arc::new(Notify::new());
        let (finished, to_settle) = mpsc::channel(SETTLE_BATCH * 2);
        let settler = tokio::spawn(settler(state.clone(), to_settle, settled.clone()));
        let mut running: JoinSet<()> = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let free = CONCURRENCY.saturating_sub(running.len());
            let mut claimed = 0;
            if free > 0 {
                match queue::claim(&state.db, free, state.clock.now_ms()).await {
                    Ok(claims) => {
                        claimed = claims.len();
                        for c in claims {
                            running.spawn(attempt(state.clone(), c, finished.clone()));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot claim webhook attempts"),
                }
            }
            if claimed > 0 && claimed == free {
                // Possibly more due: wait only for a free slot.
                tokio::select! {
                    _ = running.join_next() => {}
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
            let sleep = idle_for(&state).await;
            tokio::select! {
                () = state.events.wait_webhooks() => {}
                () = settled.notified() => {}
                () = tokio::time::sleep(sleep) => {}
                () = shutdown.cancelled() => break,
            }
        }
        // Let attempts in flight finish and settle; cut off, they run again later.
        let _ = tokio::time::timeout(TIMEOUT + Duration::from_secs(2), async {
            while running.join_next().await.is_some() {}
        })
        .await;
        running.abort_all();
        drop(finished);
        let _ = settler.await;
    })
}

/// Settles finished attempts, many per transaction, and wakes the worker
/// (a retry may now be due sooner than it planned).
async fn settler(state: AppState, mut to_settle: mpsc::Receiver<Finished>, settled: Arc<Notify>) {
    while let Some(first) = to_settle.recv().await {
        let mut batch = vec![first];
        while batch.len() < SETTLE_BATCH {
            match to_settle.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        match queue::settle(&state.db, &state.webhooks.schedule, &batch, state.clock.now_ms()).await {
            Ok(statuses) => {
                for (f, status) in batch.iter().zip(statuses) {
                    metrics_and_log(&f.claim, &f.outcome, status);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, attempts = batch.len(), "webhook attempts could not be recorded; they run again when their leases end")
            }
        }
        settled.notify_one();
    }
}

async fn idle_for(state: &AppState) -> Duration {
    match queue::next_due(&state.db).await {
        Ok(Some(due)) => Duration::from_millis(u64::try_from(due - state.clock.now_ms()).unwrap_or(0)).min(MAX_IDLE),
        Ok(None) => MAX_IDLE,
        Err(_) => MAX_IDLE,
    }
}

/// One attempt: send, then hand the outcome to the settler.
async fn attempt(state: AppState, claim: Claim, finished: mpsc::Sender<Finished>) {
    match try_attempt(&state, &claim).await {
        Ok(Some((attempt_at_ms, outcome))) => {
            let _ = finished.send(Finished { claim, attempt_at_ms, outcome }).await;
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(delivery_id = %claim.delivery_id, error = %e, "webhook attempt failed before sending; it runs again when its lease ends")
        }
    }
}

/// Sends the claimed attempt; `None` when there is nothing to send (the
/// endpoint or event is gone, or the endpoint is disabled).
async fn try_attempt(state: &AppState, claim: &Claim) -> Result<Option<(i64, Outcome)>, DbError> {
    let Some(target) = webhook_deliveries::target(&state.db, &claim.endpoint_id, &claim.event_id).await? else {
        return Ok(None);
    };
    let hooks = &state.webhooks;
    let at_ms = state.clock.now_ms();
    if target.enabled == 0 {
        let mut tx = state.db.begin_write().await?;
        queue::kill_pending(&mut tx, &claim.endpoint_id, at_ms).await?;
        tx.commit().await?;
        return Ok(None);
    }
    let mut secrets = Vec::new();
    let outcome = match hooks.key.open(&claim.endpoint_id, &target.secret_sealed) {
        Err(e) => Outcome { error: Some(e.to_string()), ..Default::default() },
        Ok(current) => {
            secrets.push(current);
            if let (Some(old), Some(until)) = (&target.old_secret_sealed, target.old_secret_until_ms)
                && until > at_ms
                && let Ok(s) = hooks.key.open(&claim.endpoint_id, old)
            {
                secrets.push(s);
            }
            let body = target.payload_json.as_bytes();
            send(hooks, &target.url, &claim.event_id, &target.event_type, body, &secrets, state.clock.now_secs()).await
        }
    };
    Ok(Some((at_ms, outcome)))
}

fn metrics_and_log(claim: &Claim, outcome: &Outcome, status: DeliveryStatus) {
    crate::http::metrics::count_webhook_attempt(outcome.succeeded());
    tracing::debug!(delivery_id = %claim.delivery_id, event_id = %claim.event_id, status_code = ?outcome.status_code, latency_ms = outcome.latency_ms, error = ?outcome.error, next = status.as_str(), "webhook attempt");
}

/// POSTs one signed event; never follows redirects.
pub async fn send(
    hooks: &Webhooks, url: &str, event_id: &str, event_type: &str, body: &[u8],
    secrets: &[fxe_protocol::webhook::WebhookSecret], now_secs: i64,
) -> Outcome {
    let started = Instant::now();
    let fail = |error: String| Outcome {
        error: Some(error),
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        ..Default::default()
    };
    // Checked at every attempt; the client's resolver checks the address it connects to.
    let url = match guard::check(url, hooks.allow_private).await {
        Ok(u) => u,
        Err(e) => return fail(format!("refused: {e}")),
    };
    let ts = u64::try_from(now_secs).unwrap_or(0);
    let request = hooks
        .client
        .post(url)
        .header("content-type", "application/json")
        .header("x-fxe-timestamp", ts.to_string())
        .header("x-fxe-signature", fxe_protocol::webhook::fxe_signature_header(secrets, ts, body))
        .header("x-fxe-event-id", event_id)
        .header("x-fxe-event-type", event_type)
        .header("webhook-id", event_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", fxe_protocol::webhook::standard_signature_header(secrets, event_id, ts, body))
        .body(body.to_vec());
    let response = match tokio::time::timeout(TIMEOUT, request.send()).await {
        Err(_) => return fail(format!("no answer within {} s", TIMEOUT.as_secs())),
        Ok(Err(e)) => return fail(describe(&e)),
        Ok(Ok(r)) => r,
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now_secs));
    let kept = read_prefix(response).await;
    let error = if status.is_success() {
        None
    } else if status.is_redirection() {
        Some(format!("redirect ({status}) not followed"))
    } else {
        Some(format!("answered {status}"))
    };
    Outcome { status_code: Some(status.as_u16()), latency_ms, error, body: Some(kept), retry_after }
}

/// The first [`BODY_KEPT`] bytes of the answer (lossy UTF-8), read for at most 2 s.
async fn read_prefix(mut response: reqwest::Response) -> String {
    let mut kept = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while kept.len() < BODY_KEPT {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(BODY_KEPT - kept.len())]),
                _ => break,
            }
        }
    })
    .await;
    String::from_utf8_lossy(&kept).into_owned()
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Retry-After`: delay seconds, or an HTTP date.
pub fn parse_retry_after(v: &str, now_secs: i64) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate_secs(v)?;
    Some(Duration::from_secs(u64::try_from(at.saturating_sub(now_secs)).unwrap_or(0)))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to unix seconds.
fn httpdate_secs(v: &str) -> Option<i64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| m == month)? + 1;
    let rfc = format!("{year}-{month:02}-{:02}T{time}Z", day.parse::<u32>().ok()?);
    fxe_protocol::time::parse_rfc3339(&rfc).ok()
}

/// The shared HTTP client: no redirects, no proxy, the guard's resolver.
pub fn client(allow_private: bool) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(guard::GuardResolver::shared(allow_private))
        .connect_timeout(TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("fxe-relay-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = crate::clock::Clock::system().now_secs();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", 784_111_777), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(httpdate_secs("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
    }
}
