//! The one place where the domains' errors become API answers: each domain
//! error enum maps to its status and [`ErrorCode`] here, so domain code never
//! builds an HTTP error and the contract's codes are chosen in one file.

use axum::http::{HeaderValue, header};

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
        let code = match e {
            E::NotFound => return ApiError::not_found(message),
            E::Db(db) => return db.into(),
            E::Blob(blob) => return blob.into(),
            E::Internal(what) => return ApiError::internal(what),
            E::TooLarge { .. } | E::UploadTooLarge { .. } => ErrorCode::TooLarge,
            E::InvalidEnvelope(_) => ErrorCode::InvalidEnvelope,
            E::MessageIdConflict => ErrorCode::MessageIdConflict,
            E::SenderMismatch => ErrorCode::SenderMismatch,
            E::StaleBundle => ErrorCode::StaleBundle,
            E::BadSignature => ErrorCode::BadSignature,
            E::FromNumberNotYours(_) => ErrorCode::FromNumberNotYours,
            E::ToNumberMismatch { .. } | E::RecipientBundleStale => ErrorCode::ToNumberMismatch,
            E::UploadExpired => ErrorCode::UploadExpired,
            E::AlreadyUploaded => ErrorCode::AlreadyUploaded,
            E::UploadInProgress => ErrorCode::UploadInProgress,
            E::LengthMismatch(_) | E::ContentMismatch => ErrorCode::ContentMismatch,
            E::BodyHashMismatch => ErrorCode::BodyHashMismatch,
            E::StorageUnavailable => ErrorCode::StorageUnavailable,
            E::NotRecipient => ErrorCode::Forbidden,
            E::InvalidReceipt(_) => ErrorCode::InvalidReceipt,
            E::InvalidRefusal(_) => ErrorCode::InvalidRefusal,
            E::BadReceipt => ErrorCode::BadReceipt,
            E::BadRefusal => ErrorCode::BadRefusal,
            E::AlreadyDelivered => ErrorCode::AlreadyDelivered,
            E::AlreadyRejected => ErrorCode::AlreadyRejected,
            E::Expired => ErrorCode::Gone,
            E::NotQueued(_) => ErrorCode::NotQueued,
        };
        ApiError::new(code, message)
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
            OperatorError::Invalid(m) => ApiError::new(ErrorCode::InvalidBody, sentence(m)),
            OperatorError::NotFound(m) => ApiError::not_found(sentence(m)),
            OperatorError::Conflict(m) => ApiError::new(ErrorCode::Conflict, sentence(m)),
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
            E::InvalidUrl(_) => ApiError::new(ErrorCode::InvalidUrl, message),
            E::UnknownEvent(_) | E::NoEvents => ApiError::new(ErrorCode::InvalidEvents, message),
            E::InvalidDescription => ApiError::new(ErrorCode::InvalidBody, message),
            E::TooManyEndpoints => ApiError::new(ErrorCode::TooManyWebhooks, message),
            E::Disabled => ApiError::new(ErrorCode::WebhookDisabled, message),
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
                ApiError::new(ErrorCode::RateLimited, message).with_header(header::RETRY_AFTER, retry(retry_after_secs))
            }
            StartError::TooMany { retry_after_secs } => {
                ApiError::new(ErrorCode::Unavailable, format!("{message} Try again shortly."))
                    .with_header(header::RETRY_AFTER, retry(retry_after_secs))
            }
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
                ErrorCode::LogPending,
                "The relay's transparency log does not cover this answer yet; ask again in a few seconds.",
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("2")),
        }
    }
}
