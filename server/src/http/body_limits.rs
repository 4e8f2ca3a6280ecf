//! Time limits on request bodies: every body must arrive at a minimum rate
//! (bytes a second, averaged over a window: a stalled or trickling client is
//! cut off) and, unless the handler lifts it, within a total deadline. The
//! server ([`crate::http::server`]) wraps each request's body in a
//! [`TimedBody`] and, when one was cut off, answers 408 `request_timeout`
//! whatever the handler made of the broken body.
//!
//! The clocks start when the relay first reads the body, so time spent on
//! authentication or database lookups before that is not the client's.
//! The ciphertext upload lifts the total deadline ([`BodyTimer::lift_deadline`])
//! and applies the rest of its upload window instead (`crate::messages::upload`).

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::body::{Body, HttpBody};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::config::ConnectionLimits;

/// Why a body was cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutOff {
    /// It was not complete within the total deadline.
    Deadline,
    /// It arrived slower than the minimum rate (or stalled).
    TooSlow,
}

/// The error a [`TimedBody`] yields when it cuts the body off.
#[derive(Debug, thiserror::Error)]
pub enum BodyTimeout {
    #[error("the request body was not complete within {0:?}")]
    Deadline(Duration),
    #[error("the request body arrived slower than {rate} bytes/s over {window:?}")]
    TooSlow { rate: u64, window: Duration },
}

/// Shared by a [`TimedBody`] and the request's handlers (as a request
/// extension): lets a handler lift the total deadline, and tells the server
/// whether the body was cut off.
#[derive(Debug, Default)]
pub struct BodyTimer {
    deadline_lifted: AtomicBool,
    /// 0: not cut off; 1: [`CutOff::Deadline`]; 2: [`CutOff::TooSlow`].
    cut: AtomicU8,
}

impl BodyTimer {
    /// The body may take as long as it needs (the minimum rate still
    /// applies). For a handler with a deadline of its own.
    pub fn lift_deadline(&self) {
        self.deadline_lifted.store(true, Ordering::Relaxed);
    }

    /// Whether, and why, the body was cut off.
    pub fn cut_off(&self) -> Option<CutOff> {
        match self.cut.load(Ordering::Relaxed) {
            1 => Some(CutOff::Deadline),
            2 => Some(CutOff::TooSlow),
            _ => None,
        }
    }

    fn set_cut(&self, why: CutOff) {
        self.cut.store(if why == CutOff::Deadline { 1 } else { 2 }, Ordering::Relaxed);
    }
}

/// The timing limits a body is held to.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub timeout: Duration,
    pub min_rate: u64,
    pub window: Duration,
}

impl From<&ConnectionLimits> for BodyLimits {
    fn from(l: &ConnectionLimits) -> Self {
        BodyLimits { timeout: l.body_timeout, min_rate: l.body_min_rate, window: l.body_rate_window }
    }
}

impl BodyLimits {
    /// Bytes each window must bring.
    fn per_window(&self) -> u64 {
        let bytes = u128::from(self.min_rate) * self.window.as_millis() / 1000;
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }
}

/// A request body held to [`BodyLimits`]; cut off with a [`BodyTimeout`] error.
pub struct TimedBody {
    inner: Body,
    timer: Arc<BodyTimer>,
    limits: BodyLimits,
    clocks: Option<Clocks>,
    done: bool,
}

struct Clocks {
    deadline: Pin<Box<Sleep>>,
    window_end: Pin<Box<Sleep>>,
    window_bytes: u64,
}

impl TimedBody {
    pub fn new(inner: Body, timer: Arc<BodyTimer>, limits: BodyLimits) -> Self {
        TimedBody { inner, timer, limits, clocks: None, done: false }
    }
}

/// Records the cut-off and makes its error.
fn cut(timer: &BodyTimer, limits: BodyLimits, why: CutOff) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
    timer.set_cut(why);
    tracing::info!(cut_off = ?why, "a request body was too slow; cutting it off");
    let error = match why {
        CutOff::Deadline => BodyTimeout::Deadline(limits.timeout),
        CutOff::TooSlow => BodyTimeout::TooSlow { rate: limits.min_rate, window: limits.window },
    };
    Poll::Ready(Some(Err(Box::new(error))))
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.done || (this.clocks.is_none() && this.inner.is_end_stream()) {
            // Done, or an empty body (most GETs): no clocks needed.
            return Poll::Ready(None);
        }
        let limits = this.limits;
        let clocks = this.clocks.get_or_insert_with(|| Clocks {
            deadline: Box::pin(tokio::time::sleep(limits.timeout)),
            window_end: Box::pin(tokio::time::sleep(limits.window)),
            window_bytes: 0,
        });
        if !this.timer.deadline_lifted.load(Ordering::Relaxed) && clocks.deadline.as_mut().poll(cx).is_ready() {
            this.done = true;
            return cut(&this.timer, limits, CutOff::Deadline);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    clocks.window_bytes = clocks.window_bytes.saturating_add(data.len() as u64);
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        // Waiting for the client: has the window passed, and did it bring enough?
        while clocks.window_end.as_mut().poll(cx).is_ready() {
            if clocks.window_bytes < limits.per_window() {
                this.done = true;
                return cut(&this.timer, limits, CutOff::TooSlow);
            }
            clocks.window_bytes = 0;
            clocks.window_end.as_mut().reset(Instant::now() + limits.window);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn limits(timeout_ms: u64, min_rate: u64, window_ms: u64) -> BodyLimits {
        BodyLimits { timeout: Duration::from_millis(timeout_ms), min_rate, window: Duration::from_millis(window_ms) }
    }

    /// A body of `chunks` chunks of `size` bytes, one every `every` (`None`: endless).
    fn trickle(chunks: Option<usize>, size: usize, every: Duration) -> Body {
        let stream = futures_util::stream::iter(0..chunks.unwrap_or(usize::MAX)).then(move |_| async move {
            tokio::time::sleep(every).await;
            Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; size]))
        });
        Body::from_stream(stream)
    }

    async fn read(body: TimedBody) -> Result<usize, String> {
        axum::body::to_bytes(Body::new(body), usize::MAX).await.map(|b| b.len()).map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn a_prompt_body_passes() {
        let timer = Arc::new(BodyTimer::default());
        let body = TimedBody::new(Body::from(vec![7u8; 100_000]), timer.clone(), limits(5000, 1000, 100));
        assert_eq!(read(body).await, Ok(100_000));
        assert_eq!(timer.cut_off(), None);
    }

    #[tokio::test]
    async fn a_trickle_is_cut_off() {
        // At most 20 bytes/s; 100 are needed each 100 ms.
        let timer = Arc::new(BodyTimer::default());
        let body =
            TimedBody::new(trickle(None, 1, Duration::from_millis(50)), timer.clone(), limits(60_000, 1000, 100));
        let error = read(body).await.unwrap_err();
        assert!(error.contains("slower than 1000 bytes/s"), "{error}");
        assert_eq!(timer.cut_off(), Some(CutOff::TooSlow));
    }

    #[tokio::test]
    async fn the_deadline_holds_unless_lifted() {
        // No rate to speak of (0 bytes a window), but a 300 ms deadline.
        let timer = Arc::new(BodyTimer::default());
        let body = TimedBody::new(trickle(None, 10, Duration::from_millis(10)), timer.clone(), limits(300, 1, 100));
        assert!(read(body).await.is_err());
        assert_eq!(timer.cut_off(), Some(CutOff::Deadline));

        // At least 500 ms long, with the deadline lifted.
        let timer = Arc::new(BodyTimer::default());
        timer.lift_deadline();
        let body = TimedBody::new(trickle(Some(50), 10, Duration::from_millis(10)), timer.clone(), limits(300, 1, 100));
        assert_eq!(read(body).await, Ok(500));
        assert_eq!(timer.cut_off(), None);
    }
}
