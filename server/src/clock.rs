//! The relay's clock. [`Clock`] lives in [`crate::AppState`] (`state.clock`):
//! every handler, domain rule and worker reads the time from it, and storage
//! (`db/`) is given the time it stamps instead of reading a clock itself.
//! It is the system clock plus an offset that only [`Clock::advance`] moves,
//! so tests of expiry and retention move time forward instead of waiting or
//! rewriting rows. [`Clock::now_ms_monotonic`] never returns the same or a
//! smaller value twice for one clock, so `updated_at` orders changes without
//! ties.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time as the relay sees it. Cheap to clone; clones share one time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Added to the system clock; 0 unless a test moved the clock.
    offset_ms: AtomicI64,
    /// The last value [`Clock::now_ms_monotonic`] gave.
    last_ms: AtomicI64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let system = SystemTime::now().duration_since(UNIX_EPOCH).map(millis).unwrap_or(0);
        system.saturating_add(self.inner.offset_ms.load(Ordering::Relaxed))
    }

    /// Seconds since the Unix epoch.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Seconds since the Unix epoch as the protocol counts them (`u64`); 0
    /// for a clock set before 1970.
    pub fn unix_secs(&self) -> u64 {
        u64::try_from(self.now_secs()).unwrap_or(0)
    }

    /// Milliseconds, strictly increasing for this clock.
    pub fn now_ms_monotonic(&self) -> i64 {
        let now = self.now_ms();
        let mut prev = self.inner.last_ms.load(Ordering::Relaxed);
        loop {
            let next = now.max(prev + 1);
            match self.inner.last_ms.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next,
                Err(p) => prev = p,
            }
        }
    }

    /// Moves this clock (and every clone of it) forward by `by`: for tests
    /// that need time to pass (TTLs, retention, lease and link expiry)
    /// without waiting for it. The relay itself never calls it.
    pub fn advance(&self, by: Duration) {
        self.inner.offset_ms.fetch_add(millis(by), Ordering::Relaxed);
    }
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

pub fn rfc3339(secs: i64) -> String {
    fxe_protocol::time::format_rfc3339(secs)
}

pub fn rfc3339_ms(ms: i64) -> String {
    fxe_protocol::time::format_rfc3339_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone_and_stays_monotonic() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = clock.now_ms_monotonic();
        other.advance(Duration::from_secs(3600));
        let after = clock.now_ms();
        assert!(after >= before + 3_600_000, "{before} → {after}");
        assert!(clock.now_ms_monotonic() > before);
        let (a, b) = (clock.now_ms_monotonic(), clock.now_ms_monotonic());
        assert!(b > a);
        // Another clock keeps the system time.
        assert!(Clock::system().now_ms() < after);
    }
}
