//! The S3 blob store against a real S3 server (`scripts/with-rgw.sh`, or
//! `make test-s3`). Without `FXE_TEST_BLOB_STORE` these tests say so and pass.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::{io, time::Duration};

use bytes::Bytes;
use futures_util::StreamExt;
use fxe_server::blobs::{BlobError, BlobKey, BlobStore, ByteRange, ByteStream, PART_SIZE, S3BlobStore, S3Settings};
use sha2::{Digest, Sha256};

async fn store() -> Option<(S3BlobStore, S3Settings)> {
    let Some(settings) = common::test_blob_store() else {
        eprintln!("FXE_TEST_BLOB_STORE is not set: skipping (run under scripts/with-rgw.sh)");
        return None;
    };
    let store = S3BlobStore::open(settings.clone()).await.expect("the test bucket opens");
    Some((store, settings))
}

/// `len` bytes of a pattern, in chunks of 64 KiB, each its own allocation.
fn pattern(len: usize) -> Vec<u8> {
    (0..251u8).cycle().take(len).collect()
}

fn chunked(data: &[u8]) -> ByteStream {
    let items: Vec<io::Result<Bytes>> = data.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    Box::pin(futures_util::stream::iter(items))
}

async fn read_all(store: &S3BlobStore, key: &BlobKey, range: ByteRange) -> Vec<u8> {
    let read = store.open(key, range).await.expect("open");
    let mut out = Vec::new();
    let mut body = read.body;
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(out.len() as u64, read.range.end - read.range.start);
    out
}

/// The multipart uploads in progress under the store's prefix, asked of the
/// server directly (object_store cannot list them): S3's ListMultipartUploads
/// signed by curl.
fn multipart_uploads(settings: &S3Settings) -> usize {
    let endpoint = std::env::var("FXE_S3_ENDPOINT").expect("FXE_S3_ENDPOINT");
    let key = std::env::var("AWS_ACCESS_KEY_ID").expect("AWS_ACCESS_KEY_ID");
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").expect("AWS_SECRET_ACCESS_KEY");
    // Sorted, percent-encoded and `uploads=` with its `=`: curl signs the query as written.
    let prefix = format!("{}/", settings.prefix).replace('/', "%2F");
    let url = format!("{endpoint}/{}?prefix={prefix}&uploads=", settings.bucket);
    let out = std::process::Command::new("curl")
        .args(["-fsS", "--aws-sigv4", &format!("aws:amz:{}:s3", settings.region), "-u", &format!("{key}:{secret}")])
        .args(["-H", &format!("x-amz-content-sha256: {}", hex::encode(Sha256::digest(b"")))])
        .arg(&url)
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "ListMultipartUploads: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).matches("<UploadId>").count()
}

#[tokio::test(flavor = "multi_thread")]
async fn large_bodies_stream_and_read_back_by_range() {
    let Some((store, _)) = store().await else { return };
    // Three parts and a bit: the multipart path, with ranges across part boundaries.
    let data = pattern(3 * PART_SIZE + 12_345);
    let key = BlobKey::new("large-range").unwrap();
    let (len, sha) = store.put(&key, chunked(&data), u64::MAX).await.expect("put");
    assert_eq!(len, data.len() as u64);
    assert_eq!(sha, <[u8; 32]>::from(Sha256::digest(&data)));
    assert!(store.list_temp().await.unwrap().is_empty(), "the staged copy is gone once published");
    assert_eq!(store.len(&key).await.unwrap(), data.len() as u64);

    assert_eq!(read_all(&store, &key, ByteRange::Full).await, data);
    let (a, b) = (PART_SIZE - 10, 2 * PART_SIZE + 10);
    let (a64, b64) = (a as u64, b as u64);
    assert_eq!(read_all(&store, &key, ByteRange::Inclusive(a64, b64)).await, &data[a..=b]);
    assert_eq!(read_all(&store, &key, ByteRange::Suffix(100)).await, &data[data.len() - 100..]);
    assert_eq!(read_all(&store, &key, ByteRange::From(b64)).await, &data[b..]);
    assert_eq!(read_all(&store, &key, ByteRange::Inclusive(0, 0)).await, &data[..1]);
    let past = store.open(&key, ByteRange::From(data.len() as u64)).await;
    assert!(matches!(past, Err(BlobError::RangeNotSatisfiable { len }) if len == data.len() as u64));
    assert!(store.delete(&key).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn small_and_empty_bodies() {
    let Some((store, _)) = store().await else { return };
    let small = BlobKey::new("small").unwrap();
    store.put(&small, chunked(b"hello world"), 100).await.unwrap();
    assert_eq!(read_all(&store, &small, ByteRange::Inclusive(6, 7)).await, b"wo");
    let empty = BlobKey::new("empty").unwrap();
    assert_eq!(store.put(&empty, chunked(b""), 100).await.unwrap().0, 0);
    assert_eq!(read_all(&store, &empty, ByteRange::Full).await, b"");
    assert!(matches!(store.open(&BlobKey::new("absent").unwrap(), ByteRange::Full).await, Err(BlobError::NotFound)));
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_twice_and_never_replace() {
    let Some((store, _)) = store().await else { return };
    let key = BlobKey::new("twice").unwrap();
    store.put(&key, chunked(b"first"), 100).await.unwrap();
    let second = store.stage(chunked(b"second"), 100).await.unwrap();
    assert!(matches!(store.publish(second, &key).await, Err(BlobError::AlreadyExists)));
    assert_eq!(read_all(&store, &key, ByteRange::Full).await, b"first");

    assert!(store.delete(&key).await.unwrap());
    assert!(!store.delete(&key).await.unwrap(), "a second delete finds nothing and succeeds");
    assert!(matches!(store.len(&key).await, Err(BlobError::NotFound)));
    assert!(matches!(store.open(&key, ByteRange::Full).await, Err(BlobError::NotFound)));
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_off_uploads_leave_nothing() {
    let Some((store, settings)) = store().await else { return };
    // A client that goes away after two and a half parts.
    let mut items: Vec<io::Result<Bytes>> =
        pattern(PART_SIZE * 5 / 2).chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    items.push(Err(io::Error::new(io::ErrorKind::ConnectionReset, "client went away")));
    let cut: ByteStream = Box::pin(futures_util::stream::iter(items));
    assert!(matches!(store.stage(cut, u64::MAX).await, Err(BlobError::Body(_))));
    assert!(store.list_temp().await.unwrap().is_empty(), "nothing staged");
    assert_eq!(multipart_uploads(&settings), 0, "the parts were aborted");

    // Too large: refused mid-way, aborted too.
    let too_big = store.stage(chunked(&pattern(2 * PART_SIZE)), PART_SIZE as u64 + 1).await;
    assert!(matches!(too_big, Err(BlobError::TooLarge { .. })));
    assert_eq!(multipart_uploads(&settings), 0);

    // A request cancelled mid-body (the future is dropped): aborted in the background.
    let head: Vec<io::Result<Bytes>> =
        pattern(PART_SIZE * 2).chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let (past_head_tx, past_head_rx) = tokio::sync::oneshot::channel::<()>();
    // Asked for more after the head: the multipart upload exists by then.
    let stall = futures_util::stream::once(async move {
        let _ = past_head_tx.send(());
        futures_util::future::pending::<io::Result<Bytes>>().await
    });
    let endless: ByteStream = Box::pin(futures_util::stream::iter(head).chain(stall));
    let mut staging = Box::pin(store.stage(endless, u64::MAX));
    tokio::select! {
        _ = &mut staging => panic!("an endless body never finishes"),
        _ = past_head_rx => {}
    }
    assert_eq!(multipart_uploads(&settings), 1, "the upload is in progress");
    drop(staging);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while multipart_uploads(&settings) > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the dropped upload was not aborted within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(store.list_temp().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn leftovers_are_swept() {
    let Some((store, _)) = store().await else { return };
    let staged = store.stage(chunked(b"crash leftover"), 100).await.unwrap();
    // The relay died between staging and publishing.
    std::mem::forget(staged);
    assert_eq!(store.list_temp().await.unwrap().len(), 1);
    assert_eq!(store.sweep_orphans().await.unwrap(), 0, "younger than the upload window");
    assert_eq!(store.sweep_temp(Duration::ZERO).await.unwrap(), 1);
    assert!(store.list_temp().await.unwrap().is_empty());
    let id = fxe_server::blobs::TempId::new("gone").unwrap();
    assert!(!store.remove_temp(&id).await.unwrap());
    store.check_writable().await.unwrap();
    assert!(store.list_temp().await.unwrap().is_empty());
}
