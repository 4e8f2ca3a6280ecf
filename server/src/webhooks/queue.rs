//! The delivery queue in the database: deliveries are queued in the same
//! transaction as their event ([`fan_out`]), claimed with a lease so that
//! two workers (two relays on one PostgreSQL) never run the same attempt at
//! once ([`claim`]), and settled with the attempt's outcome ([`settle`]).
//! These are the queue's rules; its queries are in
//! [`crate::db::webhook_deliveries`].

use crate::ids::{DeliveryId, WebhookId};
use fxe_protocol::api::DeliveryStatus;
use std::time::Duration;

use serde_json::json;
use sqlx::AnyConnection;

use crate::db::leases::{self, Queue};
pub use crate::db::webhook_deliveries::kill_pending;

/// When the next pending attempt is due (ms), if any.
pub async fn next_due(db: &Db) -> Result<Option<i64>, DbError> {
    leases::next_due(db, Queue::WebhookDeliveries).await
}

/// Drops every lease (SQLite, at start: see [`leases::release_all`]).
pub async fn release_all(db: &Db) -> Result<u64, DbError> {
    leases::release_all(db, Queue::WebhookDeliveries).await
}
use crate::{
    clock,
    config::RetrySchedule,
    db::audit,
    db::webhook_deliveries::{self as store, NewAttempt, NewDelivery, Settled},
    db::{Db, DbError, to_i64, webhook_endpoints},
};

/// How long a claimed attempt belongs to its worker: the 10 s request
/// timeout, reading the answer and settling, with room to spare. A relay
/// killed mid-attempt leaves the lease to run out; then any relay retries.
pub const LEASE: Duration = Duration::from_secs(30);

pub(super) fn no_randomness() -> DbError {
    DbError::Query(sqlx::Error::Protocol("no randomness".into()))
}

/// `prefix` + 24 random hex characters (attempt ids).
fn new_id(prefix: &str) -> Result<String, DbError> {
    crate::ids::random_prefixed(prefix).map_err(|_| no_randomness())
}

/// A duration in whole milliseconds, as the database stores times.
fn millis(d: Duration) -> Result<i64, DbError> {
    to_i64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Queues `event_id` to every enabled endpoint of `org_id` subscribed to `event_type`.
pub async fn fan_out(
    conn: &mut AnyConnection, org_id: &str, event_type: &str, event_id: &str, now_ms: i64,
) -> Result<u64, DbError> {
    let endpoints = webhook_endpoints::subscribed(conn, org_id, event_type).await?;
    let mut n = 0;
    for endpoint_id in endpoints {
        n += queue(conn, &endpoint_id, org_id, event_type, event_id, now_ms).await?;
    }
    Ok(n)
}

/// Queues (or queues again) one event to one endpoint for an attempt now:
/// a delivery that exists becomes pending with its retry count reset and
/// keeps its attempts. Returns 1.
pub async fn queue(
    conn: &mut AnyConnection, endpoint_id: &WebhookId, org_id: &str, event_type: &str, event_id: &str, now_ms: i64,
) -> Result<u64, DbError> {
    let id = DeliveryId::generate().map_err(|_| no_randomness())?;
    store::upsert_pending(conn, NewDelivery { id: &id, endpoint_id, event_id, org_id, event_type }, now_ms).await?;
    Ok(1)
}

/// A claimed attempt.
#[derive(Debug, Clone)]
pub struct Claim {
    pub delivery_id: DeliveryId,
    pub endpoint_id: WebhookId,
    pub event_id: String,
    pub tries: i64,
    pub lease_token: String,
}

/// Claims up to `limit` due attempts for this worker, each leased for [`LEASE`].
pub async fn claim(db: &Db, limit: usize, now: i64) -> Result<Vec<Claim>, DbError> {
    let token = leases::new_token()?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = store::claim(db, &token, now + millis(LEASE)?, now, limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| Claim {
            delivery_id: r.id,
            endpoint_id: r.endpoint_id,
            event_id: r.event_id,
            tries: r.tries,
            lease_token: token.clone(),
        })
        .collect())
}

/// What one attempt got.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The first 2 KiB of the answer.
    pub body: Option<String>,
    pub retry_after: Option<Duration>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|s| (200..300).contains(&s))
    }

    pub fn gone(&self) -> bool {
        self.status_code == Some(410)
    }
}

/// The wait before the attempt after failed attempt number `failed` (1-based),
/// or `None` when that was the last. ±10 % jitter from `jitter` (0..=1);
/// `Retry-After` may lengthen it to at most twice the step.
pub fn next_wait(
    schedule: &RetrySchedule, failed: usize, jitter: f64, retry_after: Option<Duration>,
) -> Option<Duration> {
    let step = *schedule.0.get(failed.checked_sub(1)?)?;
    let jittered = step.mul_f64(0.9 + 0.2 * jitter.clamp(0.0, 1.0));
    Some(match retry_after {
        Some(ra) => jittered.max(ra.min(step * 2)),
        None => jittered,
    })
}

fn jitter() -> f64 {
    let b: [u8; 4] = fxe_protocol::random_bytes().unwrap_or([0x80, 0, 0, 0]);
    f64::from(u32::from_be_bytes(b)) / f64::from(u32::MAX)
}

/// One finished attempt, to be settled.
#[derive(Debug, Clone)]
pub struct Finished {
    pub claim: Claim,
    pub attempt_at_ms: i64,
    pub outcome: Outcome,
}

/// Settles finished attempts in one transaction (one commit for many
/// attempts); answers each delivery's new status, in order.
pub async fn settle(
    db: &Db, schedule: &RetrySchedule, finished: &[Finished], now: i64,
) -> Result<Vec<DeliveryStatus>, DbError> {
    let mut tx = db.begin_write().await?;
    let mut statuses = Vec::with_capacity(finished.len());
    for f in finished {
        statuses.push(settle_one(&mut tx, schedule, f, now).await?);
    }
    tx.commit().await?;
    Ok(statuses)
}

/// Records the attempt and moves the delivery on: succeeded, pending with the
/// next attempt's time, or dead. A 410 disables the endpoint and kills its
/// pending deliveries. A delivery this worker no longer holds (requeued by
/// hand meanwhile, or killed by a 410) only gets the attempt recorded.
async fn settle_one(
    tx: &mut AnyConnection, schedule: &RetrySchedule, finished: &Finished, now: i64,
) -> Result<DeliveryStatus, DbError> {
    let (claim, attempt_at_ms, outcome) = (&finished.claim, finished.attempt_at_ms, &finished.outcome);
    let attempt_id = new_id("at_")?;
    store::record_attempt(
        tx,
        NewAttempt {
            id: &attempt_id,
            delivery_id: &claim.delivery_id,
            at_ms: attempt_at_ms,
            status_code: outcome.status_code,
            latency_ms: to_i64(outcome.latency_ms)?,
            error: outcome.error.as_deref(),
            response_body: outcome.body.as_deref(),
        },
    )
    .await?;

    let failed = claim.tries.saturating_add(1);
    let (status, next) = if outcome.succeeded() {
        (DeliveryStatus::Succeeded, None)
    } else if outcome.gone() {
        (DeliveryStatus::Dead, None)
    } else {
        let wait = usize::try_from(failed).ok().and_then(|f| next_wait(schedule, f, jitter(), outcome.retry_after));
        match wait {
            Some(wait) => (DeliveryStatus::Pending, Some(now + millis(wait)?)),
            None => (DeliveryStatus::Dead, None),
        }
    };
    let tries = if outcome.succeeded() { claim.tries } else { failed };
    let to = Settled { status, tries, next_attempt_at_ms: next };
    let held = store::settle(tx, &claim.delivery_id, &claim.lease_token, to, now).await?;
    if held && outcome.gone() {
        disable_gone(tx, &claim.endpoint_id, now).await?;
    }
    Ok(status)
}

/// The endpoint answered 410 Gone: disable it, its pending deliveries die.
async fn disable_gone(conn: &mut AnyConnection, endpoint_id: &WebhookId, now: i64) -> Result<(), DbError> {
    let reason = format!("the endpoint answered 410 Gone at {}", clock::rfc3339(now / 1000));
    let disabled = webhook_endpoints::disable(conn, endpoint_id, &reason, now).await?;
    kill_pending(conn, endpoint_id, now).await?;
    if let Some(org_id) = disabled {
        audit::write(
            conn,
            audit::Entry::new(now, Some(&org_id), &audit::Actor::relay(), "webhook.disabled")
                .on(endpoint_id)
                .with(json!({ "reason": reason })),
        )
        .await?;
        tracing::info!(%endpoint_id, "webhook endpoint answered 410 Gone: disabled");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_follow_the_schedule() {
        let s = RetrySchedule::default();
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        assert_eq!(secs(next_wait(&s, 1, 0.5, None)), Some(30.0));
        assert_eq!(secs(next_wait(&s, 1, 0.0, None)), Some(27.0));
        assert_eq!(secs(next_wait(&s, 1, 1.0, None)), Some(33.0));
        assert_eq!(secs(next_wait(&s, 6, 0.5, None)), Some(86_400.0));
        assert_eq!(next_wait(&s, 7, 0.5, None), None, "the seventh failure is the last");
        assert_eq!(next_wait(&s, 0, 0.5, None), None);
        // Retry-After lengthens, up to twice the step, never shortens.
        assert_eq!(secs(next_wait(&s, 1, 0.5, Some(Duration::from_secs(45)))), Some(45.0));
        assert_eq!(secs(next_wait(&s, 1, 0.5, Some(Duration::from_secs(3600)))), Some(60.0));
        assert_eq!(secs(next_wait(&s, 2, 0.5, Some(Duration::from_secs(1)))), Some(120.0));
    }
}
