//! Request rate limits (docs/api.md, Limits): in-memory token buckets of this
//! relay process, each refilling at its rate a minute with bursts up to the
//! same number, kept
//! * per principal (API key or signed-in person): `--rate-limit-per-minute`;
//! * per org, all its keys and people together: `--org-rate-limit-per-minute`;
//! * per client address (an IPv6 address's /64), every API request:
//!   `--ip-rate-limit-per-minute`;
//! * per client address for requests without valid credentials (anonymous
//!   calls, and signed requests or sessions that do not authenticate):
//!   `--anonymous-rate-limit-per-minute`.
//!
//! [`crate::http::auth::authenticate`] applies them in that order of need,
//! before it writes anything (the replay nonce, a key's last use): a refused
//! request leaves no row behind. Over a limit: 429 `rate_limited` with
//! `Retry-After`. The caps on anonymous work (ceremonies, the recovery
//! queue) and on API keys are kept here too, as numbers for the code that
//! applies them.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::{HeaderValue, header};

use crate::{
    config::Config,
    http::client_ip::limit_key,
    http::error::{ApiError, ErrorCode},
};

/// Above this many tracked keys, buckets that have refilled are dropped.
const PRUNE_ABOVE: usize = 10_000;
/// At most one such pruning pass this often (a pass walks every bucket).
const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// One token bucket per key.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    map: HashMap<String, Bucket>,
    next_prune: Option<Instant>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(Buckets { map: HashMap::new(), next_prune: None }),
        }
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    fn capacity(&self) -> f64 {
        f64::from(self.per_minute)
    }

    fn per_second(&self) -> f64 {
        self.capacity() / 60.0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buckets> {
        self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes one token for `key` at `now`: `Ok` or the wait until one is free.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let (capacity, rate) = (self.capacity(), self.per_second());
        let mut buckets = self.lock();
        if buckets.map.len() > PRUNE_ABOVE && buckets.next_prune.is_none_or(|t| now >= t) {
            buckets.map.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < capacity);
            buckets.next_prune = Some(now + PRUNE_EVERY);
        }
        let bucket = buckets.map.entry(key.to_owned()).or_insert(Bucket { tokens: capacity, at: now });
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

    /// Gives back the token a [`RateLimiter::check`] took (another limit refused the request).
    pub fn refund(&self, key: &str) {
        let capacity = self.capacity();
        if let Some(bucket) = self.lock().map.get_mut(key) {
            bucket.tokens = (bucket.tokens + 1.0).min(capacity);
        }
    }
}

/// Which limit refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Principal,
    Org,
    Address,
    Anonymous,
}

/// Every limit of this relay process.
#[derive(Debug)]
pub struct Limits {
    principal: RateLimiter,
    org: RateLimiter,
    address: RateLimiter,
    anonymous: RateLimiter,
    /// Open passkey ceremonies from one address.
    pub max_ceremonies_per_ip: u32,
    /// Open passkey ceremonies on the relay.
    pub max_ceremonies: u32,
    /// Recovery requests waiting for the worker.
    pub recovery_queue: u32,
    /// API keys (not revoked) per org.
    pub max_api_keys_per_org: u32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Limits {
    /// The limits `config` asks for; the per-org limit defaults to twice the
    /// per-key one, the per-address limit to four times.
    pub fn new(config: &Config) -> Limits {
        let per_key = config.rate_limit_per_minute;
        let l = &config.limits;
        Limits {
            principal: RateLimiter::new(per_key),
            org: RateLimiter::new(l.org_rate_limit_per_minute.unwrap_or(per_key.saturating_mul(2))),
            address: RateLimiter::new(l.ip_rate_limit_per_minute.unwrap_or(per_key.saturating_mul(4))),
            anonymous: RateLimiter::new(l.anonymous_rate_limit_per_minute),
            max_ceremonies_per_ip: l.max_ceremonies_per_ip,
            max_ceremonies: l.max_ceremonies,
            recovery_queue: l.recovery_queue,
            max_api_keys_per_org: l.max_api_keys_per_org,
            trusted_proxies: l.trusted_proxies.clone(),
        }
    }

    /// Any API request from `ip` (checked first, before anything is looked up).
    pub fn check_address(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(ip) = ip else { return Ok(()) };
        self.address.check(&limit_key(ip), Instant::now()).map_err(|wait| refused(Scope::Address, &self.address, wait))
    }

    /// Gives back the address token of a request that turned out to be
    /// authenticated (its key's and org's limits govern it from then on): an
    /// office behind one NAT address, or a gateway sending for many orgs, is
    /// not held to one address's budget. The address limit so bounds the
    /// work done for requests *before* they authenticate (and under a flood
    /// of them, refuses everything from that address first).
    pub fn refund_address(&self, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            self.address.refund(&limit_key(ip));
        }
    }

    /// A request from `ip` without valid credentials.
    pub fn check_anonymous(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(ip) = ip else { return Ok(()) };
        self.anonymous
            .check(&limit_key(ip), Instant::now())
            .map_err(|wait| refused(Scope::Anonymous, &self.anonymous, wait))
    }

    /// An authenticated request of `principal` (key id or user id) of `org`
    /// (`None`: an operator). Takes a token from both buckets or from neither.
    pub fn check_principal(&self, principal: &str, org: Option<&str>) -> Result<(), ApiError> {
        let now = Instant::now();
        self.principal.check(principal, now).map_err(|wait| refused(Scope::Principal, &self.principal, wait))?;
        if let Some(org) = org
            && let Err(wait) = self.org.check(org, now)
        {
            self.principal.refund(principal);
            return Err(refused(Scope::Org, &self.org, wait));
        }
        Ok(())
    }
}

/// Whole seconds to wait, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// 429 `rate_limited` with `Retry-After`, saying which limit.
pub fn refused(scope: Scope, limiter: &RateLimiter, wait: Duration) -> ApiError {
    let secs = retry_after_secs(wait);
    let what = match scope {
        Scope::Principal => "for this key or session",
        Scope::Org => "for this org (all its keys and sessions together)",
        Scope::Address => "from this address",
        Scope::Anonymous => "without valid credentials from this address",
    };
    ApiError::new(
        ErrorCode::RateLimited,
        format!("Too many requests {what} (limit {} a minute); retry in {secs} s.", limiter.per_minute()),
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from(secs))
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

    #[test]
    fn a_refund_gives_one_token_back() {
        let limiter = RateLimiter::new(2);
        let t0 = Instant::now();
        limiter.check("k", t0).unwrap();
        limiter.check("k", t0).unwrap();
        assert!(limiter.check("k", t0).is_err());
        limiter.refund("k");
        limiter.check("k", t0).unwrap();
    }

    #[test]
    fn many_keys_are_pruned_once_refilled() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        for i in 0..=PRUNE_ABOVE {
            limiter.check(&format!("k{i}"), t0).unwrap();
        }
        // A minute later every bucket is full again: the next check prunes them.
        limiter.check("new", t0 + Duration::from_secs(60)).unwrap();
        assert_eq!(limiter.lock().map.len(), 1);
    }
}
