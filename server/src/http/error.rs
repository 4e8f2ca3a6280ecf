//! API errors: every non-2xx JSON answer is
//! `{"error":{"code":"snake_case","message":"…"}}` (API.md, Conventions).
//!
//! Handlers return `Result<_, ApiError>`; extract JSON bodies with
//! [`ApiJson`] and query strings with [`ApiQuery`] so that malformed input
//! gets the same shape (400/415/422/413), never axum's plain-text rejections
//! and never a 500.

use std::borrow::Cow;

use axum::{
    Json,
    extract::{
        FromRequest, FromRequestParts,
        rejection::{JsonRejection, PathRejection, QueryRejection},
    },
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

pub use super::error_code::ErrorCode;
use crate::{blobs::BlobError, db::DbError};

/// A JSON error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: Cow<'static, str>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An answer with `code` (part of the API contract: snake_case, stable)
    /// and the status the code stands for ([`ErrorCode::status`]: one source
    /// for the answers and the OpenAPI document).
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::with_status(code.status(), code, message)
    }

    /// An answer with `code` under another status than its own: only where
    /// the contract says so (a passkey rejected at sign-in is 401).
    pub fn with_status(status: StatusCode, code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError { status, code, message: message.into(), headers: Vec::new() }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// 500 `internal_error`. The detail goes to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ErrorCode::InternalError, "Something went wrong on the relay. It has been logged; please try again.")
    }

    /// 503 `unavailable`: a dependency (database, storage) is down. The
    /// detail goes to the log.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "service unavailable");
        Self::new(ErrorCode::Unavailable, "The relay cannot serve this request right now; please try again shortly.")
    }

    /// Adds a header to the answer (e.g. `Retry-After` on 429).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.as_str(), message: &self.message } };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the body as JSON with `Content-Type: application/json`.",
            ),
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::new(ErrorCode::MalformedJson, format!("The body is not valid JSON: {}", e.body_text()))
            }
            JsonRejection::JsonDataError(e) => ApiError::new(
                ErrorCode::InvalidBody,
                format!("The JSON body does not fit this call: {}", e.body_text()),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(ErrorCode::TooLarge, "The body is too large for this call.")
            }
            JsonRejection::BytesRejection(_) => {
                ApiError::new(ErrorCode::UnreadableBody, "The request body could not be read.")
            }
            other => ApiError::new(ErrorCode::BadRequest, other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(ErrorCode::InvalidQuery, format!("The query string is not valid here: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(e) => {
                ApiError::new(ErrorCode::InvalidPath, format!("The path is not valid here: {}", e.body_text()))
            }
            other => ApiError::internal(format!("path parameters unavailable: {}", other.body_text())),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Connect(_) => ApiError::unavailable(error),
            DbError::Query(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)) => {
                ApiError::unavailable(error)
            }
            DbError::Query(sqlx::Error::Database(ref e)) if is_contended(e.code().as_deref()) => {
                ApiError::unavailable(error).with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            other => ApiError::internal(other),
        }
    }
}

/// A database too busy to take this write now: SQLite's busy or locked
/// (after its busy timeout), PostgreSQL's serialisation failure, deadlock or
/// lock timeout. The request did nothing and may simply be repeated, so the
/// answer is 503 with `Retry-After`, not 500.
fn is_contended(code: Option<&str>) -> bool {
    matches!(code, Some("5" | "6" | "261" | "262" | "517" | "773" | "40001" | "40P01" | "55P03"))
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        DbError::Query(error).into()
    }
}

impl From<BlobError> for ApiError {
    fn from(error: BlobError) -> Self {
        match error {
            BlobError::NotFound => ApiError::not_found("No such content."),
            BlobError::AlreadyExists => {
                ApiError::new(ErrorCode::AlreadyUploaded, "This content has already been uploaded.")
            }
            BlobError::TooLarge { max } => {
                ApiError::new(ErrorCode::TooLarge, format!("The body is larger than {max} bytes."))
            }
            BlobError::RangeNotSatisfiable { len } => {
                ApiError::new(ErrorCode::RangeNotSatisfiable, "The requested range is outside the content.")
                    .with_header(
                        header::CONTENT_RANGE,
                        HeaderValue::from_str(&format!("bytes */{len}"))
                            .unwrap_or(HeaderValue::from_static("bytes */*")),
                    )
            }
            BlobError::Body(e) => ApiError::new(ErrorCode::UnreadableBody, format!("The upload was interrupted: {e}")),
            // The store itself failed (disk full, read-only, unreachable):
            // nothing was kept, and the same request may simply be repeated.
            BlobError::Io(e) => {
                tracing::warn!(error = %e, "blob store unavailable");
                ApiError::new(
                    ErrorCode::StorageUnavailable,
                    "The relay's storage is unavailable right now; nothing was kept. Please try again shortly.",
                )
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"))
            }
            BlobError::InvalidKey => ApiError::internal(error),
        }
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s. Also usable as a response.
/// Every body the API takes is a JSON object: anything else (an array, which
/// serde would read as a struct's fields by position) is 422 `invalid_body`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || (v.starts_with("application/") && v.ends_with("+json")));
        if !json_type {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the body as JSON with `Content-Type: application/json`.",
            ));
        }
        let bytes = bytes::Bytes::from_request(req, state).await.map_err(|e| ApiError::from(JsonRejection::from(e)))?;
        let Json(value) = Json::<T>::from_bytes(&bytes)?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::new(ErrorCode::InvalidBody, "The JSON body must be an object."));
        }
        Ok(ApiJson(value))
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `Query<T>` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path<T>` whose rejections are [`ApiError`]s (400 `invalid_path`, e.g. for
/// a percent-encoding that is not UTF-8).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The JSON 404 for unknown API paths.
pub async fn api_not_found() -> ApiError {
    ApiError::not_found("There is no such API call.")
}

/// The JSON 405 for a known path called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "This path does not accept this method.")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that finds the SQLite database locked by another gets 503 with Retry-After.
    #[tokio::test]
    async fn a_locked_database_is_unavailable_not_an_internal_error() {
        use sqlx::{Connection, Executor, sqlite::SqliteConnectOptions};
        let dir = tempfile::tempdir().unwrap();
        let opts = SqliteConnectOptions::new().filename(dir.path().join("t.db")).create_if_missing(true);
        let mut holder = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        holder.execute("CREATE TABLE t (x INTEGER)").await.unwrap();
        holder.execute("BEGIN IMMEDIATE").await.unwrap();
        let mut other =
            sqlx::SqliteConnection::connect_with(&opts.busy_timeout(std::time::Duration::ZERO)).await.unwrap();
        let err = other.execute("INSERT INTO t VALUES (1)").await.unwrap_err();
        let api: ApiError = err.into();
        assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE, "{api}");
        assert_eq!(api.code, ErrorCode::Unavailable);
        assert!(api.headers.iter().any(|(n, v)| n == header::RETRY_AFTER && v == "1"));
        assert!(!is_contended(Some("19")), "a constraint violation stays a real error");
    }
    use axum::{Router, body::Body, http::Request, routing::post};
    use http_body_util::BodyExt;
    use serde::Deserialize;
    use tower::ServiceExt;

    #[derive(Deserialize, Serialize)]
    struct Greeting {
        name: String,
        count: u32,
    }

    #[derive(Deserialize)]
    struct Paging {
        #[allow(dead_code)]
        limit: u32,
    }

    async fn greet(ApiQuery(_paging): ApiQuery<Paging>, ApiJson(g): ApiJson<Greeting>) -> ApiJson<Greeting> {
        ApiJson(g)
    }

    async fn call(content_type: Option<&str>, uri: &str, body: &'static [u8]) -> (StatusCode, serde_json::Value) {
        let app = Router::new().route("/greet", post(greet));
        let mut request = Request::post(uri);
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        let response = app.oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn code(value: &serde_json::Value) -> &str {
        value["error"]["code"].as_str().unwrap_or_default()
    }

    #[tokio::test]
    async fn bad_json_gets_the_error_shape() {
        let json = Some("application/json");
        let (status, ok) = call(json, "/greet?limit=5", br#"{"name":"a","count":1}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ok["name"], "a");

        let (status, body) = call(json, "/greet?limit=5", b"{not json").await;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "malformed_json"));
        assert!(body["error"]["message"].as_str().unwrap().len() > 10);

        let (status, body) = call(json, "/greet?limit=5", br#"{"name":"a"}"#).await;
        assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"));

        let (status, body) = call(json, "/greet?limit=5", br#"{"name":"a","count":-1}"#).await;
        assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"));

        // An array that serde would read as the struct's fields by position (schemathesis found it).
        let (status, body) = call(json, "/greet?limit=5", br#" ["a",1]"#).await;
        assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"));

        let (status, body) = call(None, "/greet?limit=5", br#"{"name":"a","count":1}"#).await;
        assert_eq!((status, code(&body)), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));

        let (status, body) = call(json, "/greet?limit=many", br#"{"name":"a","count":1}"#).await;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "invalid_query"));
    }

    #[tokio::test]
    async fn errors_serialise_with_headers() {
        let response = ApiError::from(BlobError::RangeNotSatisfiable { len: 42 }).into_response();
        assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(response.headers()[header::CONTENT_RANGE], "bytes */42");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(code(&body), "range_not_satisfiable");
        assert_eq!(body.as_object().unwrap().len(), 1, "only the `error` member");
    }

    #[test]
    fn internal_errors_do_not_leak_details() {
        let error = ApiError::internal("password=hunter2 at /srv/secret");
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!error.message().contains("hunter2"));
    }
}
