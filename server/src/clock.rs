//! The relay's clock. `now_ms_monotonic` never returns the same or a smaller
//! value twice in one process, so `updated_at` orders changes without ties.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(millis).unwrap_or(0)
}

/// A duration in whole milliseconds, saturating at `i64::MAX` (the
/// database's millisecond columns are signed 64-bit).
pub fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A duration in whole seconds, saturating at `i64::MAX`.
pub fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Seconds since the Unix epoch as the protocol counts them (`u64`); 0 for
/// a clock set before 1970.
pub fn unix_secs() -> u64 {
    u64::try_from(now_secs()).unwrap_or(0)
}

pub fn now_secs() -> i64 {
    now_ms() / 1000
}

static LAST_MS: AtomicI64 = AtomicI64::new(0);

/// Milliseconds, strictly increasing within this process.
pub fn now_ms_monotonic() -> i64 {
    let now = now_ms();
    let mut prev = LAST_MS.load(Ordering::Relaxed);
    loop {
        let next = now.max(prev + 1);
        match LAST_MS.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(p) => prev = p,
        }
    }
}

pub fn rfc3339(secs: i64) -> String {
    fxe_protocol::time::format_rfc3339(secs)
}

pub fn rfc3339_ms(ms: i64) -> String {
    fxe_protocol::time::format_rfc3339_millis(ms)
}
