//! Connection and body limits (issue 14, findings 4 and 6 in part), against a
//! real relay with small limits and short timeouts, spoken to with raw TCP
//! clients: idle connections and partial request heads are closed, an
//! oversize head is refused, the connection cap holds (idle connections make
//! room first), and a trickling upload is cut off with its lease released at
//! once, so the sender's retry succeeds.
//!
//! Bounds are generous (a loaded machine passes): the limits are about a
//! second, the waits for their effect up to 30 s.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, client::TestOrg};
use fxe_protocol::{api::ECHO_NUMBER, request::Body};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// How long a test waits for an effect that should come after about a second.
const PATIENCE: Duration = Duration::from_secs(30);

/// A relay with `edit` applied to its limits.
async fn relay(edit: impl FnOnce(&mut fxe_server::config::ConnectionLimits)) -> TestServer {
    TestServer::start_configured(|config| edit(&mut config.connections)).await
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base_url.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the relay closes the connection (EOF or reset); returns what
/// it sent. Panics if that takes longer than [`PATIENCE`].
async fn read_until_closed(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the relay kept the connection open for {PATIENCE:?}");
    seen
}

/// Reads one HTTP/1.1 answer with a Content-Length body: status and body.
async fn read_answer(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> (u16, Vec<u8>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let answer = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if data.len() >= end + 4 + len {
                    return (status, data[end + 4..end + 4 + len].to_vec());
                }
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection closed before a whole answer: {:?}", String::from_utf8_lossy(&data));
            data.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    answer.expect("an answer within the patience")
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let server = relay(|l| l.header_timeout = Duration::from_secs(1)).await;

    // Never sends a byte.
    let mut silent = connect(&server).await;
    assert!(read_until_closed(&mut silent).await.is_empty());

    // Kept alive after an answer, then idle.
    let mut kept = connect(&server).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n").await.unwrap();
    let (status, _) = read_answer(&mut kept).await;
    assert_eq!(status, 200);
    let rest = read_until_closed(&mut kept).await;
    assert!(rest.is_empty(), "nothing more is sent: {rest:?}");

    server.stop().await;
}

#[tokio::test]
async fn a_partial_request_head_is_closed() {
    let server = relay(|l| l.header_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&server).await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ").await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // A header byte every 200 ms, for as long as the relay listens.
    let trickle = tokio::spawn(async move {
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a head trickling in was still open after {PATIENCE:?}");
    assert!(started.elapsed() < PATIENCE);
    trickle.abort();
    server.stop().await;
}

#[tokio::test]
async fn an_oversize_request_head_is_refused() {
    let server = relay(|_| {}).await; // the default limit: 64 KiB

    // 16 KB of headers are fine.
    let res = server.client.get(server.url("/healthz")).header("x-big", "a".repeat(16_000)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // 200 KB: 431 with the JSON error shape.
    let res = server.client.get(server.url("/healthz")).header("x-big", "a".repeat(200_000)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "headers_too_large", "{body}");

    // Many headers adding up to more than the limit count too.
    let mut req = server.client.get(server.url("/api/v1/directory/%2B15550100001"));
    for i in 0..40 {
        req = req.header(format!("x-h{i}"), "b".repeat(2_000));
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

    // Far beyond: refused before it is buffered (431 or the connection closed mid-send).
    let mut stream = connect(&server).await;
    let head = format!("GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Huge: {}\r\n\r\n", "c".repeat(2_000_000));
    let _ = stream.write_all(head.as_bytes()).await; // the relay may close while this is sent
    let answer = read_until_closed(&mut stream).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 431"), "{answer}");

    // The relay still serves.
    assert_eq!(server.get("/healthz").await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn the_connection_cap_holds_and_idle_connections_make_room() {
    let server = relay(|l| {
        l.max_connections = 4;
        l.header_timeout = Duration::from_secs(120);
        // Bodies that never come hold their request for the whole test.
        l.body_timeout = Duration::from_secs(120);
        l.body_min_rate = 1;
        l.body_rate_window = Duration::from_secs(120);
    })
    .await;

    // Four idle connections fill the relay; a fifth client is still served,
    // because an idle one is closed to make room.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(&server).await);
    }
    let res = server.client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    drop(idle);

    // Four connections in the middle of a request (a body that never comes).
    let mut busy = Vec::new();
    for _ in 0..4 {
        let mut s = connect(&server).await;
        s.write_all(
            b"POST /api/v1/invites/redeem HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
        busy.push(s);
    }
    // Wait until the relay has them all (the reqwest connection above may still be closing).
    let deadline = Instant::now() + PATIENCE;
    let mut waiting = loop {
        let mut probe = connect(&server).await;
        probe.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_secs(2), probe.read(&mut buf)).await {
            // No answer: the relay is full, and this connection waits.
            Err(_) => break probe,
            Ok(_) => assert!(Instant::now() < deadline, "the relay kept answering past its cap"),
        }
    };

    // One busy client goes away: the waiting connection is served.
    drop(busy.pop());
    let (status, _) = read_answer(&mut waiting).await;
    assert_eq!(status, 200);
    drop(busy);
    server.stop().await;
}

/// Creates a message to the echo org; returns its id and ciphertext.
async fn create_message(server: &TestServer, org: &TestOrg, plaintext_len: usize) -> (String, Vec<u8>) {
    let plaintext: Vec<u8> = (0..plaintext_len).map(|i| u8::try_from(i % 251).unwrap()).collect();
    let (env, ct) = org.seal_to(server, ECHO_NUMBER, &plaintext).await;
    let (status, body) = org.call(server, "POST", "/api/v1/messages", Some(&json!({ "envelope": env }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (env.message_id, ct)
}

/// Starts a raw `PUT …/content` of `ct` (signed, UNSIGNED-PAYLOAD): head only.
async fn start_upload(server: &TestServer, org: &TestOrg, message_id: &str, len: usize) -> TcpStream {
    let path = format!("/api/v1/messages/{message_id}/content");
    let signed = org.sign("PUT", &path, Body::Unsigned);
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n"
    );
    for (k, v) in signed.pairs() {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = connect(server).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Waits until an upload holds the message's lease.
async fn wait_for_lease(server: &TestServer, message_id: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let row = sqlx::query("SELECT upload_lease_owner FROM messages WHERE message_id = $1")
            .bind(message_id)
            .fetch_one(server.state.db.pool())
            .await
            .unwrap();
        if row.try_get::<Option<String>, _>("upload_lease_owner").unwrap().is_some() {
            return;
        }
        assert!(Instant::now() < deadline, "the upload never took its lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_trickling_upload_is_cut_off_and_its_lease_released() {
    let server = relay(|l| {
        l.body_min_rate = 1000;
        l.body_rate_window = Duration::from_secs(2);
    })
    .await;
    let org = TestOrg::redeem(&server, "Slow Line Clinic", &["+15550100001"]).await;
    let (id, ct) = create_message(&server, &org, 20_000).await;

    // One byte every 200 ms: 5 bytes/s, far below 1000 (2000 needed each 2 s).
    let stream = start_upload(&server, &org, &id, ct.len()).await;
    let (mut reader, mut writer) = stream.into_split();
    let bytes = ct.clone();
    let trickle = tokio::spawn(async move {
        for b in bytes {
            if writer.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });

    // While it trickles, it holds the upload lease: another PUT is refused.
    wait_for_lease(&server, &id).await;
    let (concurrent, concurrent_body) = org.upload(&server, &id, ct.clone()).await;

    // Cut off with 408 within the patience (the upload window is an hour).
    let (status, body) = read_answer(&mut reader).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, body["error"]["code"].as_str()), (408, Some("request_timeout")), "{body}");
    // And the connection is closed.
    assert!(read_until_closed(&mut reader).await.is_empty());
    trickle.abort();

    match concurrent {
        StatusCode::CONFLICT => {
            assert_eq!(concurrent_body["error"]["code"], "upload_in_progress");
            // The lease was released at once (not after it lapses in 120 s):
            // the sender's retry succeeds.
            let (status, body) = org.upload(&server, &id, ct).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["status"], "queued");
        }
        // A machine so loaded that the trickle was cut off before the second
        // PUT came: that PUT could only take the lease because it was released.
        StatusCode::OK => assert_eq!(concurrent_body["status"], "queued"),
        other => panic!("a second PUT during the trickle: {other} {concurrent_body}"),
    }
    // Nothing partial was left in the blob store's staging area.
    assert!(server.state.blobs.list_temp().await.unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn the_upload_window_is_enforced_while_the_body_streams() {
    let server = relay(|l| {
        // A rate any sender here meets.
        l.body_min_rate = 100;
        l.body_rate_window = Duration::from_secs(5);
    })
    .await;
    let org = TestOrg::redeem(&server, "Window Clinic", &["+15550100002"]).await;
    let (id, ct) = create_message(&server, &org, 200_000).await;
    // The window ends in 4 s.
    let ends = i64::try_from(common::client::now()).unwrap() + 4;
    sqlx::query("UPDATE messages SET upload_expires_at = $1 WHERE message_id = $2")
        .bind(ends)
        .bind(&id)
        .execute(server.state.db.pool())
        .await
        .unwrap();

    // 4 KB every 500 ms: fast enough for the rate, too slow to finish in 4 s (it takes 25 s).
    let stream = start_upload(&server, &org, &id, ct.len()).await;
    let (mut reader, mut writer) = stream.into_split();
    let bytes = ct.clone();
    let sender = tokio::spawn(async move {
        for chunk in bytes.chunks(4000) {
            if writer.write_all(chunk).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let (status, body) = read_answer(&mut reader).await;
    sender.abort();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, body["error"]["code"].as_str()), (410, Some("upload_expired")), "{body}");
    assert!(server.state.blobs.list_temp().await.unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_json_body_has_a_deadline() {
    let server = relay(|l| {
        l.body_timeout = Duration::from_secs(1);
        l.body_min_rate = 1;
        l.body_rate_window = Duration::from_secs(60);
    })
    .await;
    let mut stream = connect(&server).await;
    stream
        .write_all(
            b"POST /api/v1/invites/redeem HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let (status, body) = read_answer(&mut stream).await;
    assert_eq!(status, 408);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    server.stop().await;
}
