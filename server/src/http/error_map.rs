//! The one place where the domains' errors become API answers: each domain
//! error enum maps to its status and [`ErrorCode`] here, so domain code never
//! builds an HTTP error and the contract's codes are chosen in one file.

use axum::http::{HeaderValue, StatusCode, header};

use super::error::{ApiError, ErrorCode};
use fxe_protocol::error::RequestError;

use crate::{
    accounts::{operators::OperatorError, passkeys::StartError},
    messages::MessageError,
    webhooks::WebhookError,
};

impl From<MessageError> for ApiError {
    fn from(e: MessageError) -> Self {
        use MessageError as E;
        let message = e.to_string();
        let (status, code) = match e {
            E::NotFound => return ApiError::not_found(message),
            E::Db(db) => return db.into(),
            E::Blob(blob) => return blob.into(),
            E::Internal(what) => return ApiError::internal(what),
            E::TooLarge { .. } | E::UploadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge),
            E::InvalidEnvelope(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidEnvelope),
            E::MessageIdConflict => (StatusCode::CONFLICT, ErrorCode::MessageIdConflict),
            E::SenderMismatch => (StatusCode::FORBIDDEN, ErrorCode::SenderMismatch),
            E::StaleBundle => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::StaleBundle),
            E::BadSignature => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::BadSignature),
            E::FromNumberNotYours(_) => (StatusCode::FORBIDDEN, ErrorCode::FromNumberNotYours),
            E::ToNumberMismatch { .. } | E::RecipientBundleStale => {
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ToNumberMismatch)
            }
            E::UploadExpired => (StatusCode::GONE, ErrorCode::UploadExpired),
            E::AlreadyUploaded => (StatusCode::CONFLICT, ErrorCode::AlreadyUploaded),
            E::UploadInProgress => (StatusCode::CONFLICT, ErrorCode::UploadInProgress),
            E::LengthMismatch(_) | E::ContentMismatch => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ContentMismatch),
            E::BodyHashMismatch => (StatusCode::UNAUTHORIZED, ErrorCode::BodyHashMismatch),
            E::StorageUnavailable => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::StorageUnavailable),
            E::NotRecipient => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            E::InvalidReceipt(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidReceipt),
            E::InvalidRefusal(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRefusal),
            E::BadReceipt => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::BadReceipt),
            E::BadRefusal => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::BadRefusal),
            E::AlreadyDelivered => (StatusCode::CONFLICT, ErrorCode::AlreadyDelivered),
            E::AlreadyRejected => (StatusCode::CONFLICT, ErrorCode::AlreadyRejected),
            E::Expired => (StatusCode::GONE, ErrorCode::Gone),
            E::NotQueued(_) => (StatusCode::CONFLICT, ErrorCode::NotQueued),
        };
        ApiError::new(status, code, message)
    }
}

impl From<OperatorError> for ApiError {
    fn from(e: OperatorError) -> Self {
        let sentence = |m: String| {
            let mut chars = m.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
            format!("{first}{}.", chars.as_str().trim_end_matches('.'))
        };
        match e {
            OperatorError::Invalid(m) => ApiError::unprocessable(ErrorCode::InvalidBody, sentence(m)),
            OperatorError::NotFound(m) => ApiError::not_found(sentence(m)),
            OperatorError::Conflict(m) => ApiError::conflict(ErrorCode::Conflict, sentence(m)),
            OperatorError::Db(e) => e.into(),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        use WebhookError as E;
        let message = e.to_string();
        match e {
            E::NotFound | E::DeliveryNotFound => ApiError::not_found(message),
            E::InvalidUrl(_) => ApiError::unprocessable(ErrorCode::InvalidUrl, message),
            E::UnknownEvent(_) | E::NoEvents => ApiError::unprocessable(ErrorCode::InvalidEvents, message),
            E::InvalidDescription => ApiError::unprocessable(ErrorCode::InvalidBody, message),
            E::TooManyEndpoints => ApiError::conflict(ErrorCode::TooManyWebhooks, message),
            E::Disabled => ApiError::conflict(ErrorCode::WebhookDisabled, message),
            E::Db(db) => db.into(),
            E::Internal(what) => ApiError::internal(what),
        }
    }
}

impl From<StartError> for ApiError {
    fn from(e: StartError) -> Self {
        let retry = |secs: i64| HeaderValue::from(secs.max(1));
        let message = format!("{}.", capitalised(&e.to_string()));
        match e {
            StartError::TooManyFromClient { retry_after_secs, .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, message)
                    .with_header(header::RETRY_AFTER, retry(retry_after_secs))
            }
            StartError::TooMany { retry_after_secs } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                format!("{message} Try again shortly."),
            )
            .with_header(header::RETRY_AFTER, retry(retry_after_secs)),
            StartError::Db(db) => db.into(),
        }
    }
}

fn capitalised(m: &str) -> String {
    let mut chars = m.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    format!("{first}{}", chars.as_str())
}

/// The code for a signed request the protocol refused (PROTOCOL.md §6).
pub fn request_error_code(e: RequestError) -> ErrorCode {
    match e {
        RequestError::MalformedHeaders | RequestError::BadSignature => ErrorCode::BadRequestSignature,
        RequestError::TimestampSkew => ErrorCode::TimestampSkew,
        RequestError::BodyHashMismatch | RequestError::UnsignedPayloadNotAllowed => ErrorCode::BodyHashMismatch,
    }
}

impl From<crate::transparency::Gate> for ApiError {
    fn from(e: crate::transparency::Gate) -> Self {
        match e {
            crate::transparency::Gate::Db(db) => db.into(),
            crate::transparency::Gate::Pending => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::LogPending,
                "The relay's transparency log does not cover this answer yet; ask again in a few seconds.",
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("2")),
        }
    }
}
