//! [`ErrorCode`]: every `code` the relay can answer in
//! `{"error":{"code","message"}}`. The strings are the contract's (API.md):
//! stable, snake_case, never reused for another meaning. This enum is their
//! one source: [`crate::http::error::ApiError`] takes one, and the OpenAPI
//! document lists [`ErrorCode::ALL`] as the `code` schema's values.

use axum::http::StatusCode;

/// A machine-readable error code of the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `already_delivered`
    AlreadyDelivered,
    /// `already_rejected`
    AlreadyRejected,
    /// `already_uploaded`
    AlreadyUploaded,
    /// `bad_bundle`
    BadBundle,
    /// `bad_origin`
    BadOrigin,
    /// `bad_proof`
    BadProof,
    /// `bad_receipt`
    BadReceipt,
    /// `bad_refusal`
    BadRefusal,
    /// `bad_request`
    BadRequest,
    /// `bad_request_signature`
    BadRequestSignature,
    /// `bad_signature`
    BadSignature,
    /// `body_hash_mismatch`
    BodyHashMismatch,
    /// `bundle_exists`
    BundleExists,
    /// `bundle_rollback`
    BundleRollback,
    /// `ceremony_expired`
    CeremonyExpired,
    /// `conflict`
    Conflict,
    /// `content_mismatch`
    ContentMismatch,
    /// `forbidden`
    Forbidden,
    /// `from_number_not_yours`
    FromNumberNotYours,
    /// `gone`
    Gone,
    /// `headers_too_large`
    HeadersTooLarge,
    /// `idempotency_in_progress`
    IdempotencyInProgress,
    /// `idempotency_key_reused`
    IdempotencyKeyReused,
    /// `internal_error`
    InternalError,
    /// `invalid_body`
    InvalidBody,
    /// `invalid_email`
    InvalidEmail,
    /// `invalid_envelope`
    InvalidEnvelope,
    /// `invalid_events`
    InvalidEvents,
    /// `invalid_idempotency_key`
    InvalidIdempotencyKey,
    /// `invalid_number`
    InvalidNumber,
    /// `invalid_path`
    InvalidPath,
    /// `invalid_query`
    InvalidQuery,
    /// `invalid_receipt`
    InvalidReceipt,
    /// `invalid_refusal`
    InvalidRefusal,
    /// `invalid_url`
    InvalidUrl,
    /// `invite_expired`
    InviteExpired,
    /// `invite_not_found`
    InviteNotFound,
    /// `invite_revoked`
    InviteRevoked,
    /// `invite_used`
    InviteUsed,
    /// `key_exists`
    KeyExists,
    /// `key_revoked`
    KeyRevoked,
    /// `last_admin`
    LastAdmin,
    /// `last_passkey`
    LastPasskey,
    /// `log_pending`
    LogPending,
    /// `malformed_json`
    MalformedJson,
    /// `message_id_conflict`
    MessageIdConflict,
    /// `method_not_allowed`
    MethodNotAllowed,
    /// `not_found`
    NotFound,
    /// `not_on_network`
    NotOnNetwork,
    /// `not_queued`
    NotQueued,
    /// `number_not_in_invite`
    NumberNotInInvite,
    /// `number_taken`
    NumberTaken,
    /// `org_disabled`
    OrgDisabled,
    /// `org_exists`
    OrgExists,
    /// `passkey_exists`
    PasskeyExists,
    /// `passkey_rejected`
    PasskeyRejected,
    /// `passkeys_unavailable`
    PasskeysUnavailable,
    /// `range_not_satisfiable`
    RangeNotSatisfiable,
    /// `rate_limited`
    RateLimited,
    /// `replayed_request`
    ReplayedRequest,
    /// `request_timeout`
    RequestTimeout,
    /// `sender_mismatch`
    SenderMismatch,
    /// `setup_link_expired`
    SetupLinkExpired,
    /// `setup_link_not_found`
    SetupLinkNotFound,
    /// `setup_link_used`
    SetupLinkUsed,
    /// `stale_bundle`
    StaleBundle,
    /// `storage_unavailable`
    StorageUnavailable,
    /// `timestamp_skew`
    TimestampSkew,
    /// `to_number_mismatch`
    ToNumberMismatch,
    /// `too_large`
    TooLarge,
    /// `too_many_api_keys`
    TooManyApiKeys,
    /// `too_many_pending_numbers`
    TooManyPendingNumbers,
    /// `too_many_webhooks`
    TooManyWebhooks,
    /// `unauthenticated`
    Unauthenticated,
    /// `unavailable`
    Unavailable,
    /// `unknown_key`
    UnknownKey,
    /// `unreadable_body`
    UnreadableBody,
    /// `unsupported_media_type`
    UnsupportedMediaType,
    /// `upload_expired`
    UploadExpired,
    /// `upload_in_progress`
    UploadInProgress,
    /// `user_exists`
    UserExists,
    /// `user_inactive`
    UserInactive,
    /// `webhook_disabled`
    WebhookDisabled,
}

impl ErrorCode {
    /// Every code, in alphabetical order of its string.
    pub const ALL: [ErrorCode; 83] = [
        ErrorCode::AlreadyDelivered,
        ErrorCode::AlreadyRejected,
        ErrorCode::AlreadyUploaded,
        ErrorCode::BadBundle,
        ErrorCode::BadOrigin,
        ErrorCode::BadProof,
        ErrorCode::BadReceipt,
        ErrorCode::BadRefusal,
        ErrorCode::BadRequest,
        ErrorCode::BadRequestSignature,
        ErrorCode::BadSignature,
        ErrorCode::BodyHashMismatch,
        ErrorCode::BundleExists,
        ErrorCode::BundleRollback,
        ErrorCode::CeremonyExpired,
        ErrorCode::Conflict,
        ErrorCode::ContentMismatch,
        ErrorCode::Forbidden,
        ErrorCode::FromNumberNotYours,
        ErrorCode::Gone,
        ErrorCode::HeadersTooLarge,
        ErrorCode::IdempotencyInProgress,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::InternalError,
        ErrorCode::InvalidBody,
        ErrorCode::InvalidEmail,
        ErrorCode::InvalidEnvelope,
        ErrorCode::InvalidEvents,
        ErrorCode::InvalidIdempotencyKey,
        ErrorCode::InvalidNumber,
        ErrorCode::InvalidPath,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidReceipt,
        ErrorCode::InvalidRefusal,
        ErrorCode::InvalidUrl,
        ErrorCode::InviteExpired,
        ErrorCode::InviteNotFound,
        ErrorCode::InviteRevoked,
        ErrorCode::InviteUsed,
        ErrorCode::KeyExists,
        ErrorCode::KeyRevoked,
        ErrorCode::LastAdmin,
        ErrorCode::LastPasskey,
        ErrorCode::LogPending,
        ErrorCode::MalformedJson,
        ErrorCode::MessageIdConflict,
        ErrorCode::MethodNotAllowed,
        ErrorCode::NotFound,
        ErrorCode::NotOnNetwork,
        ErrorCode::NotQueued,
        ErrorCode::NumberNotInInvite,
        ErrorCode::NumberTaken,
        ErrorCode::OrgDisabled,
        ErrorCode::OrgExists,
        ErrorCode::PasskeyExists,
        ErrorCode::PasskeyRejected,
        ErrorCode::PasskeysUnavailable,
        ErrorCode::RangeNotSatisfiable,
        ErrorCode::RateLimited,
        ErrorCode::ReplayedRequest,
        ErrorCode::RequestTimeout,
        ErrorCode::SenderMismatch,
        ErrorCode::SetupLinkExpired,
        ErrorCode::SetupLinkNotFound,
        ErrorCode::SetupLinkUsed,
        ErrorCode::StaleBundle,
        ErrorCode::StorageUnavailable,
        ErrorCode::TimestampSkew,
        ErrorCode::ToNumberMismatch,
        ErrorCode::TooLarge,
        ErrorCode::TooManyApiKeys,
        ErrorCode::TooManyPendingNumbers,
        ErrorCode::TooManyWebhooks,
        ErrorCode::Unauthenticated,
        ErrorCode::Unavailable,
        ErrorCode::UnknownKey,
        ErrorCode::UnreadableBody,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::UploadExpired,
        ErrorCode::UploadInProgress,
        ErrorCode::UserExists,
        ErrorCode::UserInactive,
        ErrorCode::WebhookDisabled,
    ];

    /// The HTTP status the relay answers with this code (`PasskeyRejected`
    /// is 422 but for the sign-in ceremony, where it is 401). The OpenAPI
    /// document groups each call's codes under their statuses with it.
    pub const fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::InvalidIdempotencyKey
            | ErrorCode::InvalidPath
            | ErrorCode::InvalidQuery
            | ErrorCode::MalformedJson
            | ErrorCode::UnreadableBody => StatusCode::BAD_REQUEST,
            ErrorCode::BadRequestSignature
            | ErrorCode::BodyHashMismatch
            | ErrorCode::KeyRevoked
            | ErrorCode::ReplayedRequest
            | ErrorCode::TimestampSkew
            | ErrorCode::Unauthenticated
            | ErrorCode::UnknownKey => StatusCode::UNAUTHORIZED,
            ErrorCode::BadOrigin
            | ErrorCode::Forbidden
            | ErrorCode::FromNumberNotYours
            | ErrorCode::OrgDisabled
            | ErrorCode::SenderMismatch => StatusCode::FORBIDDEN,
            ErrorCode::InviteNotFound
            | ErrorCode::NotFound
            | ErrorCode::NotOnNetwork
            | ErrorCode::SetupLinkNotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::AlreadyDelivered
            | ErrorCode::AlreadyRejected
            | ErrorCode::AlreadyUploaded
            | ErrorCode::BundleExists
            | ErrorCode::BundleRollback
            | ErrorCode::Conflict
            | ErrorCode::IdempotencyInProgress
            | ErrorCode::IdempotencyKeyReused
            | ErrorCode::KeyExists
            | ErrorCode::LastAdmin
            | ErrorCode::LastPasskey
            | ErrorCode::MessageIdConflict
            | ErrorCode::NotQueued
            | ErrorCode::NumberTaken
            | ErrorCode::OrgExists
            | ErrorCode::PasskeyExists
            | ErrorCode::TooManyApiKeys
            | ErrorCode::TooManyPendingNumbers
            | ErrorCode::TooManyWebhooks
            | ErrorCode::UploadInProgress
            | ErrorCode::UserExists
            | ErrorCode::WebhookDisabled => StatusCode::CONFLICT,
            ErrorCode::CeremonyExpired
            | ErrorCode::Gone
            | ErrorCode::InviteExpired
            | ErrorCode::InviteRevoked
            | ErrorCode::InviteUsed
            | ErrorCode::SetupLinkExpired
            | ErrorCode::SetupLinkUsed
            | ErrorCode::UploadExpired
            | ErrorCode::UserInactive => StatusCode::GONE,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::BadBundle
            | ErrorCode::BadProof
            | ErrorCode::BadReceipt
            | ErrorCode::BadRefusal
            | ErrorCode::BadSignature
            | ErrorCode::ContentMismatch
            | ErrorCode::InvalidBody
            | ErrorCode::InvalidEmail
            | ErrorCode::InvalidEnvelope
            | ErrorCode::InvalidEvents
            | ErrorCode::InvalidNumber
            | ErrorCode::InvalidReceipt
            | ErrorCode::InvalidRefusal
            | ErrorCode::InvalidUrl
            | ErrorCode::NumberNotInInvite
            | ErrorCode::PasskeyRejected
            | ErrorCode::StaleBundle
            | ErrorCode::ToNumberMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::LogPending
            | ErrorCode::PasskeysUnavailable
            | ErrorCode::StorageUnavailable
            | ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code as the API writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AlreadyDelivered => "already_delivered",
            ErrorCode::AlreadyRejected => "already_rejected",
            ErrorCode::AlreadyUploaded => "already_uploaded",
            ErrorCode::BadBundle => "bad_bundle",
            ErrorCode::BadOrigin => "bad_origin",
            ErrorCode::BadProof => "bad_proof",
            ErrorCode::BadReceipt => "bad_receipt",
            ErrorCode::BadRefusal => "bad_refusal",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::BadRequestSignature => "bad_request_signature",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::BodyHashMismatch => "body_hash_mismatch",
            ErrorCode::BundleExists => "bundle_exists",
            ErrorCode::BundleRollback => "bundle_rollback",
            ErrorCode::CeremonyExpired => "ceremony_expired",
            ErrorCode::Conflict => "conflict",
            ErrorCode::ContentMismatch => "content_mismatch",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::FromNumberNotYours => "from_number_not_yours",
            ErrorCode::Gone => "gone",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::IdempotencyInProgress => "idempotency_in_progress",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::InvalidEnvelope => "invalid_envelope",
            ErrorCode::InvalidEvents => "invalid_events",
            ErrorCode::InvalidIdempotencyKey => "invalid_idempotency_key",
            ErrorCode::InvalidNumber => "invalid_number",
            ErrorCode::InvalidPath => "invalid_path",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidReceipt => "invalid_receipt",
            ErrorCode::InvalidRefusal => "invalid_refusal",
            ErrorCode::InvalidUrl => "invalid_url",
            ErrorCode::InviteExpired => "invite_expired",
            ErrorCode::InviteNotFound => "invite_not_found",
            ErrorCode::InviteRevoked => "invite_revoked",
            ErrorCode::InviteUsed => "invite_used",
            ErrorCode::KeyExists => "key_exists",
            ErrorCode::KeyRevoked => "key_revoked",
            ErrorCode::LastAdmin => "last_admin",
            ErrorCode::LastPasskey => "last_passkey",
            ErrorCode::LogPending => "log_pending",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::MessageIdConflict => "message_id_conflict",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NotOnNetwork => "not_on_network",
            ErrorCode::NotQueued => "not_queued",
            ErrorCode::NumberNotInInvite => "number_not_in_invite",
            ErrorCode::NumberTaken => "number_taken",
            ErrorCode::OrgDisabled => "org_disabled",
            ErrorCode::OrgExists => "org_exists",
            ErrorCode::PasskeyExists => "passkey_exists",
            ErrorCode::PasskeyRejected => "passkey_rejected",
            ErrorCode::PasskeysUnavailable => "passkeys_unavailable",
            ErrorCode::RangeNotSatisfiable => "range_not_satisfiable",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ReplayedRequest => "replayed_request",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::SenderMismatch => "sender_mismatch",
            ErrorCode::SetupLinkExpired => "setup_link_expired",
            ErrorCode::SetupLinkNotFound => "setup_link_not_found",
            ErrorCode::SetupLinkUsed => "setup_link_used",
            ErrorCode::StaleBundle => "stale_bundle",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::TimestampSkew => "timestamp_skew",
            ErrorCode::ToNumberMismatch => "to_number_mismatch",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::TooManyApiKeys => "too_many_api_keys",
            ErrorCode::TooManyPendingNumbers => "too_many_pending_numbers",
            ErrorCode::TooManyWebhooks => "too_many_webhooks",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::UnknownKey => "unknown_key",
            ErrorCode::UnreadableBody => "unreadable_body",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::UploadExpired => "upload_expired",
            ErrorCode::UploadInProgress => "upload_in_progress",
            ErrorCode::UserExists => "user_exists",
            ErrorCode::UserInactive => "user_inactive",
            ErrorCode::WebhookDisabled => "webhook_disabled",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_snake_case() {
        let strings: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = strings.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(strings, sorted);
        for s in strings {
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s}");
        }
    }
}
