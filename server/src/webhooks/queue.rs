//! The delivery queue in the database: deliveries are queued in the same
//! transaction as their event ([`fan_out`]), claimed with a lease so that
//! two workers (two relays on one PostgreSQL) never run the same attempt at
//! once ([`claim`]), and settled with the attempt's outcome ([`settle`]).

use std::time::Duration;

use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::{
    clock,
    config::RetrySchedule,
    db::audit,
    db::{Backend, Db, DbError},
};

/// How long a claimed attempt belongs to its worker: the 10 s request
/// timeout, reading the answer and settling, with room to spare. A relay
/// killed mid-attempt leaves the lease to run out; then any relay retries.
pub const LEASE: Duration = Duration::from_secs(30);

fn no_randomness() -> DbError {
    DbError::Query(sqlx::Error::Protocol("no randomness".into()))
}

/// `prefix` + 24 random hex characters.
pub fn new_id(prefix: &str) -> Result<String, DbError> {
    let b: [u8; 12] = fxe_protocol::random_bytes().map_err(|_| no_randomness())?;
    Ok(format!("{prefix}{}", hex::encode(b)))
}

/// SQL matching endpoints subscribed to the event type bound at `$n`.
pub fn subscribes(n: usize) -> String {
    format!("(',' || events || ',') LIKE ('%,' || ${n} || ',%')")
}

/// Queues `event_id` to every enabled endpoint of `org_id` subscribed to `event_type`.
pub async fn fan_out(conn: &mut AnyConnection, org_id: &str, event_type: &str, event_id: &str) -> Result<u64, DbError> {
    let endpoints: Vec<String> = sqlx::query(&format!(
        "SELECT id FROM webhook_endpoints WHERE org_id = $1 AND enabled = 1 AND {}",
        subscribes(2)
    ))
    .bind(org_id)
    .bind(event_type)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<Result<_, _>>()?;
    let mut n = 0;
    for endpoint_id in endpoints {
        n += queue(conn, &endpoint_id, org_id, event_type, event_id).await?;
    }
    Ok(n)
}

/// Queues (or queues again) one event to one endpoint for an attempt now:
/// a delivery that exists becomes pending with its retry count reset and
/// keeps its attempts. Returns 1.
pub async fn queue(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    org_id: &str,
    event_type: &str,
    event_id: &str,
) -> Result<u64, DbError> {
    let now = clock::now_ms();
    let id = new_id("dl_")?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, org_id, event_type, status, tries, next_attempt_at_ms, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6) \
         ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', tries = 0, next_attempt_at_ms = excluded.next_attempt_at_ms, \
         lease_token = NULL, lease_until_ms = NULL, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(id)
    .bind(endpoint_id)
    .bind(event_id)
    .bind(org_id)
    .bind(event_type)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(1)
}

/// A claimed attempt.
#[derive(Debug, Clone)]
pub struct Claim {
    pub delivery_id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub tries: i64,
    pub lease_token: String,
}

/// Claims up to `limit` due attempts for this worker.
pub async fn claim(db: &Db, limit: usize) -> Result<Vec<Claim>, DbError> {
    let now = clock::now_ms();
    let token = new_id("ls_")?;
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let free = "status = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms < $3)";
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_token = $1, lease_until_ms = $2 \
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE {free} AND next_attempt_at_ms <= $3 ORDER BY next_attempt_at_ms LIMIT $4{lock}) \
         AND {free} RETURNING id, endpoint_id, event_id, tries"
    );
    let rows = sqlx::query(&sql)
        .bind(&token)
        .bind(now + LEASE.as_millis() as i64)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Claim {
                delivery_id: r.try_get("id")?,
                endpoint_id: r.try_get("endpoint_id")?,
                event_id: r.try_get("event_id")?,
                tries: r.try_get("tries")?,
                lease_token: token.clone(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(DbError::from)
}

/// When the next pending attempt is due (ms), if any.
pub async fn next_due(db: &Db) -> Result<Option<i64>, DbError> {
    let row = sqlx::query("SELECT MIN(CASE WHEN lease_until_ms IS NOT NULL AND lease_until_ms > next_attempt_at_ms THEN lease_until_ms ELSE next_attempt_at_ms END) AS due FROM webhook_deliveries WHERE status = 'pending'")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get::<Option<i64>, _>("due")?)
}

/// Drops every lease (SQLite: one relay, one worker, so any lease at start
/// belongs to a relay that stopped mid-attempt; its attempts run again now).
pub async fn release_all(db: &Db) -> Result<u64, DbError> {
    Ok(sqlx::query(
        "UPDATE webhook_deliveries SET lease_token = NULL, lease_until_ms = NULL WHERE lease_token IS NOT NULL",
    )
    .execute(db.pool())
    .await?
    .rows_affected())
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
    schedule: &RetrySchedule,
    failed: usize,
    jitter: f64,
    retry_after: Option<Duration>,
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
pub async fn settle(db: &Db, schedule: &RetrySchedule, finished: &[Finished]) -> Result<Vec<&'static str>, DbError> {
    let mut tx = db.begin_write().await?;
    let mut statuses = Vec::with_capacity(finished.len());
    for f in finished {
        statuses.push(settle_one(&mut tx, &f.claim, schedule, f.attempt_at_ms, &f.outcome).await?);
    }
    tx.commit().await?;
    Ok(statuses)
}

/// Records the attempt and moves the delivery on: succeeded, pending with the
/// next attempt's time, or dead. A 410 disables the endpoint and kills its
/// pending deliveries. A delivery this worker no longer holds (requeued by
/// hand meanwhile, or killed by a 410) only gets the attempt recorded.
async fn settle_one(
    tx: &mut AnyConnection,
    claim: &Claim,
    schedule: &RetrySchedule,
    attempt_at_ms: i64,
    outcome: &Outcome,
) -> Result<&'static str, DbError> {
    let attempt_id = new_id("at_")?;
    sqlx::query(
        "INSERT INTO webhook_attempts (id, delivery_id, at_ms, status_code, latency_ms, error, response_body) \
         SELECT $1, id, $3, $4, $5, $6, $7 FROM webhook_deliveries WHERE id = $2",
    )
    .bind(attempt_id)
    .bind(&claim.delivery_id)
    .bind(attempt_at_ms)
    .bind(outcome.status_code.map(i64::from))
    .bind(outcome.latency_ms as i64)
    .bind(outcome.error.as_deref())
    .bind(outcome.body.as_deref())
    .execute(&mut *tx)
    .await?;

    let now = clock::now_ms();
    let failed = claim.tries as usize + 1;
    let (status, next) = if outcome.succeeded() {
        ("succeeded", None)
    } else if outcome.gone() {
        ("dead", None)
    } else {
        match next_wait(schedule, failed, jitter(), outcome.retry_after) {
            Some(wait) => ("pending", Some(now + wait.as_millis() as i64)),
            None => ("dead", None),
        }
    };
    let held = sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, tries = $2, next_attempt_at_ms = $3, lease_token = NULL, lease_until_ms = NULL, updated_at_ms = $4 \
         WHERE id = $5 AND lease_token = $6",
    )
    .bind(status)
    .bind(if outcome.succeeded() { claim.tries } else { failed as i64 })
    .bind(next)
    .bind(now)
    .bind(&claim.delivery_id)
    .bind(&claim.lease_token)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if held == 1 && outcome.gone() {
        disable_gone(tx, &claim.endpoint_id, now).await?;
    }
    Ok(status)
}

/// The endpoint answered 410 Gone: disable it, its pending deliveries die.
async fn disable_gone(conn: &mut AnyConnection, endpoint_id: &str, now: i64) -> Result<(), DbError> {
    let reason = format!("the endpoint answered 410 Gone at {}", clock::rfc3339(now / 1000));
    let row = sqlx::query("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1, updated_at_ms = $2 WHERE id = $3 AND enabled = 1 RETURNING org_id")
        .bind(&reason)
        .bind(now)
        .bind(endpoint_id)
        .fetch_optional(&mut *conn)
        .await?;
    kill_pending(conn, endpoint_id, now).await?;
    if let Some(row) = row {
        let org_id: String = row.try_get("org_id")?;
        audit::write(
            conn,
            audit::Entry {
                org_id: Some(&org_id),
                actor: &audit::Actor::relay(),
                action: "webhook.disabled",
                target: Some(endpoint_id),
                detail: Some(json!({ "reason": reason })),
            },
        )
        .await?;
        tracing::info!(endpoint_id, "webhook endpoint answered 410 Gone: disabled");
    }
    Ok(())
}

/// Marks the endpoint's pending deliveries dead.
pub async fn kill_pending(conn: &mut AnyConnection, endpoint_id: &str, now: i64) -> Result<u64, DbError> {
    Ok(sqlx::query("UPDATE webhook_deliveries SET status = 'dead', next_attempt_at_ms = NULL, lease_token = NULL, lease_until_ms = NULL, updated_at_ms = $1 WHERE endpoint_id = $2 AND status = 'pending'")
        .bind(now)
        .bind(endpoint_id)
        .execute(conn)
        .await?
        .rows_affected())
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
