//! `Idempotency-Key` on POST (API.md, Conventions): a repeat with the same
//! key and the same request (method, target and body) within 24 h gets the
//! first answer again — status and body —, a different request with that key
//! 409 `idempotency_key_reused`, and a repeat while the first still runs 409
//! `idempotency_in_progress`.
//!
//! Keys are scoped to the caller's principal (the API key or the signed-in
//! user); unauthenticated calls (redemption) are scoped to the request
//! itself. 5xx answers are not kept, so a retry runs again; for
//! unauthenticated calls only successes are kept (their failures change
//! nothing, and anyone could otherwise fill the table).
//!
//! Stored answers can hold secrets shown once (setup links, webhook signing
//! secrets), so the relay keeps them encrypted under a key derived from the
//! `Idempotency-Key` value and the request, and stores only hashes of those:
//! reading the database is not enough to read an answer.
//!
//! The handler runs in its own task, so a client that hangs up does not leave
//! the record half-written: the answer is still stored for its retry.

use std::sync::atomic::{AtomicI64, Ordering};

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use axum::{
    body::{Body, Bytes},
    extract::{OriginalUri, Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use fxe_protocol::transcript::{Transcript, sha256};
use tracing::Instrument;

use crate::db::idempotency::{self as idempotency_keys, RETENTION_SECS};
use crate::http::error::ErrorCode;
use crate::{AppState, http::auth::Caller, http::error::ApiError};

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on an answer replayed from the record.
pub const REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotency-replayed");
pub const MAX_KEY_LEN: usize = 255;
/// A record still marked running after this long belongs to a relay that
/// stopped mid-request; a retry may take it over.
pub const STALE_RUNNING_SECS: i64 = 300;
/// How often expired records are deleted (see [`idempotency_keys::purge_expired`]).
const PURGE_EVERY_SECS: i64 = 3600;
/// Answers larger than this are passed on but not kept (ours are far smaller).
const MAX_STORED_BODY: usize = 1024 * 1024;
/// Request bodies are JSON here; the same cap as the signed-request check.
const MAX_BODY: usize = crate::http::auth::MAX_JSON_BODY;

/// The middleware. Layer it inside [`crate::http::auth::authenticate`] (it reads the [`Caller`]).
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    match run(state, req, next).await {
        Ok(response) | Err(response) => response,
    }
}

/// What the record says about a key.
enum Found {
    /// No usable record: this request is the first.
    New,
    Running,
    Reused,
    Done {
        status: u16,
        sealed: String,
    },
}

#[derive(Clone)]
struct Record {
    scope: String,
    /// Whether 4xx answers are kept too (authenticated callers).
    keep_errors: bool,
    key_hash: String,
    request_hash: String,
    /// The AES-256-GCM key of the stored answer.
    seal_key: [u8; 32],
}

async fn run(state: AppState, req: Request, next: Next) -> Result<Response, Response> {
    let (parts, body) = req.into_parts();
    let key = parse_key(&parts).map_err(IntoResponse::into_response)?;
    let body = read_body(body, &parts).await.map_err(IntoResponse::into_response)?;
    let target =
        parts.extensions.get::<OriginalUri>().map(|OriginalUri(u)| u.clone()).unwrap_or_else(|| parts.uri.clone());
    let target = target.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    let digest = request_digest(parts.method.as_str(), &target, &body);
    let scope = scope(parts.extensions.get::<Caller>().map(Caller::principal_id), &digest);
    let record = Record {
        keep_errors: parts.extensions.get::<Caller>().is_some(),
        key_hash: key_hash(&key),
        request_hash: hex::encode(digest),
        seal_key: sha256(&Transcript::new("fxe relay idempotency seal").str(&scope).str(&key).bytes(&digest).finish()),
        scope,
    };

    match claim(&state, &record).await.map_err(IntoResponse::into_response)? {
        Found::New => {}
        Found::Running => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyInProgress,
                "A request with this Idempotency-Key is still running; retry when it has finished.",
            )
            .into_response());
        }
        Found::Reused => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was used for a different request in the last 24 hours; use a new key.",
            )
            .into_response());
        }
        Found::Done { status, sealed } => return Ok(replay(&record, status, &sealed)),
    }

    // The handler and the bookkeeping run to the end even if the client goes away.
    let request = Request::from_parts(parts, Body::from(body));
    let (task_state, task_record) = (state.clone(), record.clone());
    let task = tokio::spawn(
        async move {
            let response = next.run(request).await;
            finish(&task_state, &task_record, response).await
        }
        .instrument(tracing::Span::current()),
    );
    match task.await {
        Ok(response) => Ok(response),
        Err(e) => {
            // The handler panicked: no answer to keep; let a retry run.
            forget(&state, &record).await;
            Err(ApiError::internal(format!("idempotent request task failed: {e}")).into_response())
        }
    }
}

/// What identifies a request: method, target (path and query) and body.
pub fn request_digest(method: &str, target: &str, body: &[u8]) -> [u8; 32] {
    sha256(&Transcript::new("fxe relay idempotency request").str(method).str(target).bytes(body).finish())
}

/// The stored form of an `Idempotency-Key` value (`idem_key` column).
pub fn key_hash(key: &str) -> String {
    hex::encode(sha256(&Transcript::new("fxe relay idempotency key").str(key).finish()))
}

/// Whose keys these are (`scope` column): the principal, or for
/// unauthenticated calls the request itself.
pub fn scope(principal_id: Option<&str>, request_digest: &[u8; 32]) -> String {
    match principal_id {
        Some(id) => format!("principal:{id}"),
        None => format!("request:{}", hex::encode(request_digest)),
    }
}

fn parse_key(parts: &Parts) -> Result<String, ApiError> {
    let bad = |m: &'static str| ApiError::new(ErrorCode::InvalidIdempotencyKey, m);
    let mut values = parts.headers.get_all(HEADER).iter();
    let value = values.next().ok_or_else(|| bad("Idempotency-Key is empty."))?;
    if values.next().is_some() {
        return Err(bad("Send one Idempotency-Key header."));
    }
    let key = value.to_str().map_err(|_| bad("Idempotency-Key must be printable ASCII."))?;
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(bad("Idempotency-Key must be 1 to 255 characters."));
    }
    if key.bytes().any(|b| !(0x20..0x7f).contains(&b)) {
        return Err(bad("Idempotency-Key must be printable ASCII."));
    }
    Ok(key.to_owned())
}

async fn read_body(body: Body, parts: &Parts) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::new(ErrorCode::TooLarge, format!("The body is larger than {MAX_BODY} bytes."));
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| u64::try_from(MAX_BODY).is_ok_and(|max| n > max)) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
        if e.into_inner().downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            too_large()
        } else {
            ApiError::new(ErrorCode::UnreadableBody, "The request body could not be read.")
        }
    })
}

/// Looks the key up and, when this request is the first, records it as running.
async fn claim(state: &AppState, r: &Record) -> Result<Found, ApiError> {
    let now = state.clock.now_secs();
    purge_now_and_then(state, now);
    let mut tx = state.db.begin_write().await?;
    if let Some(found) = idempotency_keys::get(&mut tx, &r.scope, &r.key_hash).await? {
        let live = found.created_at > now - RETENTION_SECS;
        let abandoned = found.is_running() && found.created_at <= now - STALE_RUNNING_SECS;
        if live && !abandoned {
            if found.request_sha256 != r.request_hash {
                return Ok(Found::Reused);
            }
            if found.is_running() {
                return Ok(Found::Running);
            }
            return Ok(Found::Done {
                status: u16::try_from(found.status_code).unwrap_or(500),
                sealed: found.response_json.unwrap_or_default(),
            });
        }
        idempotency_keys::delete(&mut tx, &r.scope, &r.key_hash).await?;
    }
    let inserted = idempotency_keys::insert_running(&mut tx, &r.scope, &r.key_hash, &r.request_hash, now).await?;
    tx.commit().await?;
    // Lost a race with a concurrent first request (PostgreSQL): it is running.
    Ok(if inserted { Found::New } else { Found::Running })
}

/// Stores the handler's answer (unless 5xx or unreadable) and passes it on.
async fn finish(state: &AppState, r: &Record, response: Response) -> Response {
    let status = response.status();
    if status.is_server_error() || (!r.keep_errors && !status.is_success()) {
        forget(state, r).await;
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_STORED_BODY).await {
        Ok(b) => b,
        Err(e) => {
            forget(state, r).await;
            return ApiError::internal(format!("could not buffer the answer for the idempotency record: {e}"))
                .into_response();
        }
    };
    let stored = match seal(&r.seal_key, status.as_u16(), &bytes) {
        Some(sealed) => idempotency_keys::store_answer(&state.db, &r.scope, &r.key_hash, status.as_u16(), &sealed)
            .await
            .map_err(|e| e.to_string()),
        None => Err("no randomness to seal the answer".into()),
    };
    if let Err(e) = stored {
        tracing::warn!(error = %e, "could not store the idempotent answer; a retry will run again");
        forget(state, r).await;
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

async fn forget(state: &AppState, r: &Record) {
    if let Err(e) = idempotency_keys::forget_running(&state.db, &r.scope, &r.key_hash).await {
        tracing::warn!(error = %e, "could not clear an idempotency record; it lapses after {STALE_RUNNING_SECS} s");
    }
}

fn aad(status: u16) -> Vec<u8> {
    Transcript::new("fxe relay idempotency answer").u64(u64::from(status)).finish()
}

/// `b64u(nonce || AES-256-GCM(body))`, bound to the status.
fn seal(key: &[u8; 32], status: u16, body: &[u8]) -> Option<String> {
    let nonce: [u8; 12] = fxe_protocol::random_bytes().ok()?;
    let cipher = Aes256Gcm::new(&(*key).into());
    let sealed = cipher.encrypt(&nonce.into(), Payload { msg: body, aad: &aad(status) }).ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Some(fxe_protocol::encoding::b64u_encode(&out))
}

fn open(key: &[u8; 32], status: u16, sealed: &str) -> Option<Vec<u8>> {
    let raw = fxe_protocol::encoding::b64u_decode("answer", sealed).ok()?;
    let (nonce, ciphertext) = raw.split_at_checked(12)?;
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let cipher = Aes256Gcm::new(&(*key).into());
    cipher.decrypt(&nonce.into(), Payload { msg: ciphertext, aad: &aad(status) }).ok()
}

fn replay(r: &Record, status: u16, sealed: &str) -> Response {
    let Some(body) = open(&r.seal_key, status, sealed) else {
        return ApiError::internal("an idempotency record does not open with its key").into_response();
    };
    let mut response = Response::new(Body::from(body.clone()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    if !body.is_empty() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// At most once an hour per process, deletes expired records in the background.
fn purge_now_and_then(state: &AppState, now: i64) {
    static LAST_PURGE: AtomicI64 = AtomicI64::new(0);
    let last = LAST_PURGE.load(Ordering::Relaxed);
    if now - last < PURGE_EVERY_SECS
        || LAST_PURGE.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
    {
        return;
    }
    let db = state.db.clone();
    tokio::spawn(async move {
        match idempotency_keys::purge_expired(&db, now).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(removed = n, "expired Idempotency-Key records removed"),
            Err(e) => tracing::warn!(error = %e, "could not remove expired Idempotency-Key records"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_answers_open_only_with_their_key_and_status() {
        let key = [7u8; 32];
        let sealed = seal(&key, 201, br#"{"setup_url":"http://x/setup/set_1"}"#).unwrap();
        assert!(!sealed.contains("setup"));
        assert_eq!(open(&key, 201, &sealed).unwrap(), br#"{"setup_url":"http://x/setup/set_1"}"#);
        assert!(open(&[8u8; 32], 201, &sealed).is_none());
        assert!(open(&key, 200, &sealed).is_none());
        assert!(open(&key, 201, "AAAA").is_none());
        assert!(open(&key, 201, "not b64u!").is_none());
    }
}
