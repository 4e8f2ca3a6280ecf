//! Per-key / per-session rate limit (API.md, Limits): an in-memory token
//! bucket per principal (API key or signed-in user) of this relay process,
//! `--rate-limit-per-minute` requests a minute (default 600) with bursts up
//! to the same number. Over the limit: 429 `rate_limited` with `Retry-After`.
//! Unauthenticated calls are not limited here (they carry no principal).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::http::error::ErrorCode;
use crate::{http::auth::Caller, http::error::ApiError};

/// Above this many tracked principals, buckets that have refilled are dropped.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter { per_minute: per_minute.max(1), buckets: Mutex::new(HashMap::new()) }
    }

    fn capacity(&self) -> f64 {
        f64::from(self.per_minute)
    }

    fn per_second(&self) -> f64 {
        self.capacity() / 60.0
    }

    /// Takes one token for `principal` at `now`: `Ok` or the wait until one is free.
    pub fn check(&self, principal: &str, now: Instant) -> Result<(), Duration> {
        let (capacity, rate) = (self.capacity(), self.per_second());
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < capacity);
        }
        let bucket = buckets.entry(principal.to_owned()).or_insert(Bucket { tokens: capacity, at: now });
        let refilled = (bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * rate).min(capacity);
        bucket.at = now;
        if refilled >= 1.0 {
            bucket.tokens = refilled - 1.0;
            Ok(())
        } else {
            bucket.tokens = refilled;
            Err(Duration::from_secs_f64((1.0 - refilled) / rate))
        }
    }
}

/// The middleware: layer it inside [`crate::http::auth::authenticate`] (it reads the [`Caller`]).
pub async fn limit(State(limiter): State<Arc<RateLimiter>>, req: Request, next: Next) -> Response {
    let verdict = req.extensions().get::<Caller>().map(|caller| limiter.check(caller.principal_id(), Instant::now()));
    if let Some(Err(wait)) = verdict {
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!(
                "Too many requests for this key or session (limit {} a minute); retry in {secs} s.",
                limiter.per_minute
            ),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(secs))
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills() {
        let limiter = RateLimiter::new(60);
        let t0 = Instant::now();
        for _ in 0..60 {
            limiter.check("ak_a", t0).unwrap();
        }
        let wait = limiter.check("ak_a", t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        // Others are not affected.
        limiter.check("ak_b", t0).unwrap();
        // One token a second comes back.
        limiter.check("ak_a", t0 + Duration::from_millis(1000)).unwrap();
        assert!(limiter.check("ak_a", t0 + Duration::from_millis(1000)).is_err());
        // Never more than the capacity.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..60 {
            limiter.check("ak_a", later).unwrap();
        }
        assert!(limiter.check("ak_a", later).is_err());
    }
}
