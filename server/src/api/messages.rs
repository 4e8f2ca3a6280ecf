//! `/messages`: send (create + upload), the message log and polling feed,
//! envelope and ciphertext download, receipts and refusals.

use std::io;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::TryStreamExt;
use fxe_protocol::{
    api::{CreateMessageRequest, CreateMessageResponse, Message, MessageStatus, Page},
    receipt::{Receipt, Refusal},
};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::error::ErrorCode;
use crate::{
    AppState,
    api::{self, pagination::Cursor},
    blobs::{BlobKey, ByteRange},
    db::messages::{self as store, ListFilter},
    http::auth::{Caller, ClaimedUploadHash, Need},
    http::body_limits::BodyTimer,
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
    http::openapi::Ciphertext,
    ids::MessageId,
    messages::{self, MessageError, Party},
};

/// The message a call is about (`/messages/{id}…`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct MessagePath {
    /// The message id (UUIDv4, lowercase).
    #[param(pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    id: String,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show))
        .routes(routes!(upload, download))
        .routes(routes!(receipt))
        .routes(routes!(reject))
}

crate::api_errors!(CreateErrors: SenderMismatch, FromNumberNotYours, Forbidden = "needs the send scope", MessageIdConflict = "this message id was used with another envelope", TooLarge = "the ciphertext would exceed 104,857,600 bytes", InvalidEnvelope, StaleBundle, BadSignature, ToNumberMismatch, InvalidBody);
/// Creates a message from a signed envelope (PROTOCOL.md §4); then upload
/// the ciphertext to `upload_url` within an hour. The same `message_id` and
/// envelope again answers 200 with the same answer.
#[utoipa::path(
    post, path = "/messages", operation_id = "create_message", tag = "messages",
    request_body = CreateMessageRequest,
    responses((status = 201, description = "Accepted; upload the ciphertext next.", body = CreateMessageResponse), (status = 200, description = "This message was created before with the same envelope.", body = CreateMessageResponse), CreateErrors),
)]
async fn create(
    State(state): State<AppState>, caller: Caller, ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<CreateMessageResponse>), ApiError> {
    caller.require(Need::Send)?;
    let Value::Object(mut body) = body else {
        return Err(ApiError::new(ErrorCode::InvalidBody, "The body must be {\"envelope\": {…}}."));
    };
    let envelope = body
        .remove("envelope")
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, "The body must be {\"envelope\": {…}}."))?;
    if let Some(extra) = body.keys().next() {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            format!("Unknown field {extra:?}; the body must be {{\"envelope\": {{…}}}}."),
        ));
    }
    let actor = caller.actor();
    let (created, answer) = messages::create(&state, Party { org_id: &caller.org_id, actor: &actor }, envelope).await?;
    let status = match created {
        messages::Created::New => StatusCode::CREATED,
        messages::Created::Repeat => StatusCode::OK,
    };
    Ok((status, ApiJson(answer)))
}

crate::api_errors!(UploadErrors: UnreadableBody = "the upload was interrupted", BadRequest, NotFound, RequestTimeout = "the body arrived too slowly and was cut off; nothing is kept, upload again", UploadInProgress, AlreadyUploaded, UploadExpired = "the upload window (1 h) has passed (also while the body streams)", TooLarge, StorageUnavailable = "upload again", ContentMismatch = "length or SHA-256 differ from the envelope's; nothing is kept");
/// Uploads the ciphertext (streamed; `X-FXE-Content-SHA256` may be
/// `UNSIGNED-PAYLOAD`: the envelope binds the bytes). Length and SHA-256 must
/// equal the envelope's. The message becomes `queued`.
#[utoipa::path(
    put, path = "/messages/{id}/content", operation_id = "upload_content", tag = "messages",
    params(MessagePath),
    request_body(content = Ciphertext, content_type = "application/octet-stream", description = "The ciphertext."),
    responses((status = 200, description = "Stored; the message is queued for its recipient.", body = Message), UploadErrors),
)]
async fn upload(
    State(state): State<AppState>, caller: Caller, ApiPath(MessagePath { id }): ApiPath<MessagePath>, req: Request,
) -> Result<ApiJson<Message>, ApiError> {
    caller.require(Need::Send)?;
    let claimed = req.extensions().get::<ClaimedUploadHash>().map(|c| c.0);
    let content_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|s| s.parse::<u64>().ok()))
        .map(|v| v.ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "Content-Length is not a number.")))
        .transpose()?;
    // The upload has the rest of its upload window (checked while it streams,
    // in `messages::upload`) instead of the short deadline of JSON bodies; the
    // minimum transfer rate still holds.
    if let Some(timer) = req.extensions().get::<std::sync::Arc<BodyTimer>>() {
        timer.lift_deadline();
    }
    let body = req.into_body().into_data_stream().map_err(io::Error::other);
    let id: MessageId = api::path_id(&id, || MessageError::NotFound)?;
    let actor = caller.actor();
    let message = messages::upload(
        &state,
        Party { org_id: &caller.org_id, actor: &actor },
        &id,
        Box::pin(body),
        content_length,
        claimed,
    )
    .await?;
    Ok(ApiJson(message))
}

crate::api_errors!(ShowErrors: NotFound);
/// A message with its envelope, status, timestamps and receipt or refusal.
/// Sender and recipient orgs only.
#[utoipa::path(
    get, path = "/messages/{id}", operation_id = "get_message", tag = "messages",
    params(MessagePath),
    responses((status = 200, description = "The message, with `envelope`.", body = Message), ShowErrors),
)]
async fn show(
    State(state): State<AppState>, caller: Caller, ApiPath(MessagePath { id }): ApiPath<MessagePath>,
) -> Result<ApiJson<Message>, ApiError> {
    caller.require(Need::SendOrReceive)?;
    let id: MessageId = api::path_id(&id, || MessageError::NotFound)?;
    let mut conn = state.db.pool().acquire().await?;
    let row = messages::visible_row(&mut conn, &caller.org_id, &id).await?;
    Ok(ApiJson(row.to_api(true)?))
}

/// Parses a single `Range: bytes=…` header; `None` for the whole content.
fn parse_range(headers: &HeaderMap) -> Result<ByteRange, ApiError> {
    let Some(v) = headers.get(header::RANGE) else { return Ok(ByteRange::Full) };
    let bad = || {
        ApiError::new(
            ErrorCode::RangeNotSatisfiable,
            "Only one range of the form bytes=a-b, bytes=a- or bytes=-n is supported.",
        )
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    let spec = s.strip_prefix("bytes=").ok_or_else(bad)?;
    if spec.contains(',') {
        return Err(bad());
    }
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let num = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
    Ok(match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => ByteRange::Suffix(num(b)?),
        (false, true) => ByteRange::From(num(a)?),
        (false, false) => ByteRange::Inclusive(num(a)?, num(b)?),
        (true, true) => return Err(bad()),
    })
}

crate::api_errors!(DownloadErrors: NotFound = "only the recipient can download", Gone = "delivered, refused or expired", RangeNotSatisfiable);
/// The ciphertext (recipient only), with `Range` support.
#[utoipa::path(
    get, path = "/messages/{id}/content", operation_id = "download_content", tag = "messages",
    params(
        MessagePath,
        ("Range" = Option<String>, Header, description = "One range: `bytes=a-b`, `bytes=a-` or `bytes=-n`."),
    ),
    responses((status = 200, description = "The whole ciphertext.", body = Ciphertext, content_type = "application/octet-stream"), (status = 206, description = "The requested range.", body = Ciphertext, content_type = "application/octet-stream"), DownloadErrors),
)]
async fn download(
    State(state): State<AppState>, caller: Caller, ApiPath(MessagePath { id }): ApiPath<MessagePath>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(Need::Receive)?;
    let id: MessageId = api::path_id(&id, || MessageError::NotFound)?;
    let mut conn = state.db.pool().acquire().await?;
    let row = messages::visible_row(&mut conn, &caller.org_id, &id).await?;
    drop(conn);
    if row.recipient_org_id != caller.org_id {
        return Err(ApiError::not_found("No such message content (only the recipient can download it)."));
    }
    let key = match (row.status, &row.blob_key) {
        (MessageStatus::Queued, Some(k)) => BlobKey::new(k.clone()).map_err(ApiError::internal)?,
        _ => {
            return Err(ApiError::new(
                ErrorCode::Gone,
                "The ciphertext is gone: the message was delivered, refused or expired.",
            ));
        }
    };
    let range = parse_range(&headers)?;
    let read = state.blobs.open(&key, range).await?;
    let partial = range != ByteRange::Full;
    let mut res = Response::new(Body::from_stream(read.body));
    *res.status_mut() = if partial { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(read.range.end - read.range.start));
    if partial {
        let cr = format!("bytes {}-{}/{}", read.range.start, read.range.end.saturating_sub(1), read.total_len);
        h.insert(header::CONTENT_RANGE, HeaderValue::from_str(&cr).map_err(ApiError::internal)?);
    }
    Ok(res.into_response())
}

crate::api_errors!(ReceiptErrors: Forbidden = "only the recipient (with the receive scope) can receipt", NotFound, AlreadyDelivered = "another receipt", AlreadyRejected, NotQueued, Gone = "the message expired", InvalidReceipt = "malformed", BadReceipt = "does not verify for this message");
/// Acknowledges a message with a signed receipt (PROTOCOL.md §5): the
/// ciphertext is deleted and the message is `delivered`. The same receipt
/// again is a no-op.
#[utoipa::path(
    post, path = "/messages/{id}/receipt", operation_id = "post_receipt", tag = "messages",
    params(MessagePath),
    request_body = Receipt,
    responses((status = 200, description = "Delivered.", body = Message), ReceiptErrors),
)]
async fn receipt(
    State(state): State<AppState>, caller: Caller, ApiPath(MessagePath { id }): ApiPath<MessagePath>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Message>, ApiError> {
    caller.require(Need::Receive)?;
    let actor = caller.actor();
    let body = messages::parse_receipt(body)?;
    let id: MessageId = api::path_id(&id, || MessageError::NotFound)?;
    Ok(ApiJson(messages::receipt(&state, Party { org_id: &caller.org_id, actor: &actor }, &id, body).await?))
}

crate::api_errors!(RejectErrors: Forbidden = "only the recipient (with the receive scope) can refuse", NotFound, AlreadyDelivered, AlreadyRejected, NotQueued, Gone = "the message expired", InvalidRefusal = "malformed", BadRefusal = "does not verify for this message");
/// Refuses a message with a signed refusal (PROTOCOL.md §5): the ciphertext
/// is deleted and the message is `rejected`.
#[utoipa::path(
    post, path = "/messages/{id}/reject", operation_id = "reject_message", tag = "messages",
    params(MessagePath),
    request_body = Refusal,
    responses((status = 200, description = "Rejected.", body = Message), RejectErrors),
)]
async fn reject(
    State(state): State<AppState>, caller: Caller, ApiPath(MessagePath { id }): ApiPath<MessagePath>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Message>, ApiError> {
    caller.require(Need::Receive)?;
    let actor = caller.actor();
    let body = messages::parse_refusal(body)?;
    let id: MessageId = api::path_id(&id, || MessageError::NotFound)?;
    Ok(ApiJson(messages::refuse(&state, Party { org_id: &caller.org_id, actor: &actor }, &id, body).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `inbox` (needs the receive scope) or `outbox` (the send scope).
    #[serde(rename = "box")]
    #[param(pattern = "^(inbox|outbox)$")]
    mailbox: String,
    /// Only messages in this status.
    #[param(pattern = "^(awaiting_upload|queued|delivered|rejected|expired|failed)$")]
    status: Option<String>,
    /// Only messages from or to this number (E.164; loosely formatted input is normalised).
    number: Option<String>,
    /// Created at or after this RFC 3339 time.
    since: Option<String>,
    /// Created before this RFC 3339 time.
    until: Option<String>,
    /// The polling feed: changed at or after this RFC 3339 time, oldest change first.
    updated_since: Option<String>,
    /// `asc` or `desc`; the default is `desc`, or `asc` with `updated_since`.
    #[param(pattern = "^(asc|desc)$")]
    order: Option<String>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn invalid(msg: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, msg)
}

fn time_ms(field: &str, v: &str) -> Result<i64, ApiError> {
    fxe_protocol::time::parse_rfc3339_millis(v)
        .map_err(|_| invalid(format!("{field} must be an RFC 3339 time like 2026-01-31T12:00:00Z.")))
}

/// The list's cursor: the shared one (`api::pagination`), naming a message id.
fn decode_cursor(c: &str) -> Result<Cursor, ApiError> {
    let cursor = Cursor::decode(c)?;
    fxe_protocol::encoding::validate_uuid_v4("cursor", &cursor.id)
        .map_err(|_| invalid("cursor is not one this relay issued."))?;
    Ok(cursor)
}

crate::api_errors!(ListErrors: Forbidden = "the inbox needs the receive scope, the outbox the send scope", InvalidNumber);
/// `GET /messages?box=inbox|outbox&…`: newest first by creation, or with
/// `updated_since` (and `order=asc`) the polling feed, oldest change first.
/// `updated_since` is inclusive, so a poller resuming from the last
/// `updated_at` it saw misses nothing (it may see that message again).
#[utoipa::path(
    get, path = "/messages", operation_id = "list_messages", tag = "messages",
    params(ListQuery),
    responses((status = 200, description = "A page of messages.", body = Page<Message>), ListErrors),
)]
async fn list(
    State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<Page<Message>>, ApiError> {
    let inbox = match q.mailbox.as_str() {
        "inbox" => true,
        "outbox" => false,
        _ => return Err(invalid("box must be inbox or outbox.")),
    };
    caller.require(if inbox { Need::Receive } else { Need::Send })?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(invalid("limit must be 1 to 500."));
    }
    let feed = q.updated_since.is_some() || q.order.is_some();
    let asc = match q.order.as_deref() {
        None => q.updated_since.is_some(),
        Some("asc") => true,
        Some("desc") => false,
        Some(_) => return Err(invalid("order must be asc or desc.")),
    };
    let status = match &q.status {
        None => None,
        Some(s) => Some(MessageStatus::parse(s).ok_or_else(|| {
            invalid("status must be awaiting_upload, queued, delivered, rejected, expired or failed.")
        })?),
    };
    let filter = ListFilter {
        inbox,
        org_id: caller.org_id.clone(),
        status,
        number: q.number.as_deref().map(crate::api::directory::normalize_number).transpose()?,
        created_since_ms: q.since.as_deref().map(|s| time_ms("since", s)).transpose()?,
        created_until_ms: q.until.as_deref().map(|u| time_ms("until", u)).transpose()?,
        updated_since_ms: q.updated_since.as_deref().map(|u| time_ms("updated_since", u)).transpose()?,
        by_update: feed,
        ascending: asc,
        after: q.cursor.as_deref().map(decode_cursor).transpose()?,
        limit,
    };
    let mut items = store::list(&state.db, &filter).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|m| Cursor { time: store::sort_time(&filter, m), id: m.message_id.to_string() }.encode())
    } else {
        None
    };
    let items = items.iter().map(|m| m.to_api(false)).collect::<Result<Vec<_>, _>>()?;
    Ok(ApiJson(Page { items, next_cursor }))
}
