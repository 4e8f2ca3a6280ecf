//! Staging 100 MiB to S3 keeps memory bounded (issue 19: < 32 MiB of RSS
//! growth). Alone in its test binary so that the peak RSS is this test's.
//! Needs `FXE_TEST_BLOB_STORE` (`scripts/with-rgw.sh`); without it, it says so
//! and passes. Linux only (reads /proc/self/status).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use fxe_server::blobs::{BlobKey, BlobStore, ByteStream, S3BlobStore};

/// Peak resident memory of this process so far, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100_mib_upload_grows_rss_by_less_than_32_mib() {
    let Some(settings) = common::test_blob_store() else {
        eprintln!("FXE_TEST_BLOB_STORE is not set: skipping (run under scripts/with-rgw.sh)");
        return;
    };
    let Some(before) = peak_rss_kib() else {
        eprintln!("no /proc/self/status: skipping");
        return;
    };
    let store = S3BlobStore::open(settings).await.unwrap();
    const CHUNK: usize = 64 * 1024;
    const TOTAL: usize = 100 * 1024 * 1024;
    // Each chunk is a fresh allocation, as a request body's are.
    let body: ByteStream = Box::pin(futures_util::stream::unfold(0usize, |sent| async move {
        (sent < TOTAL).then(|| {
            #[allow(clippy::cast_possible_truncation)] // a byte pattern
            let chunk = Bytes::from(vec![(sent / CHUNK) as u8; CHUNK]);
            (Ok(chunk), sent + CHUNK)
        })
    }));
    let key = BlobKey::new("hundred-mib").unwrap();
    let (len, _) = store.put(&key, body, u64::MAX).await.unwrap();
    assert_eq!(len, TOTAL as u64);
    let after = peak_rss_kib().unwrap();
    let growth_kib = after.saturating_sub(before);
    eprintln!("peak RSS growth for a 100 MiB upload: {growth_kib} KiB");
    assert!(growth_kib < 32 * 1024, "peak RSS grew by {growth_kib} KiB");
    assert!(store.delete(&key).await.unwrap());
}
