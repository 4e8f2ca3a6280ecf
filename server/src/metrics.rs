//! Process-wide counters for `/metrics` (Prometheus text format).

use std::sync::atomic::{AtomicU64, Ordering};

static UPLOAD_BYTES: AtomicU64 = AtomicU64::new(0);

/// Counts ciphertext bytes received by uploads.
pub fn add_upload_bytes(n: u64) {
    UPLOAD_BYTES.fetch_add(n, Ordering::Relaxed);
}

pub fn upload_bytes() -> u64 {
    UPLOAD_BYTES.load(Ordering::Relaxed)
}
