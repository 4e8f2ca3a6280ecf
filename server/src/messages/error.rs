//! Why a message operation was refused. These are the lifecycle's own
//! reasons, without HTTP: `crate::http::error_map` turns each into its status
//! and code (API.md, Messages).

use crate::{blobs::BlobError, db::DbError};

/// A refused or failed message operation.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// No such message, or not one the caller may see (also for malformed ids).
    #[error("No such message.")]
    NotFound,
    /// The envelope or body is larger than a fax may be.
    #[error("A fax may be at most {max} bytes of ciphertext.")]
    TooLarge { max: u64 },
    /// The upload was cut off at the size limit.
    #[error("A fax may be at most {max} bytes of ciphertext; the upload was cut off.")]
    UploadTooLarge { max: u64 },
    /// The envelope is not well formed.
    #[error("{0}")]
    InvalidEnvelope(String),
    /// The message id is taken by a different envelope.
    #[error("This message_id is already used by a different envelope.")]
    MessageIdConflict,
    /// `sender_org_id` is not the caller's org.
    #[error("sender_org_id is not your org.")]
    SenderMismatch,
    /// The sender bundle is not the org's active one (nor one retired < 1 h ago).
    #[error("sender_bundle_id is not your org's active bundle; seal with the active bundle.")]
    StaleBundle,
    /// The envelope signature does not verify with the sender bundle.
    #[error("The envelope signature does not verify with the sender bundle.")]
    BadSignature,
    /// `from_number` is not an active number of the caller's org.
    #[error("{0} is not an active number of your org.")]
    FromNumberNotYours(String),
    /// `to_number` does not belong to `recipient_org_id`.
    #[error("{number} does not belong to org {org_id}.")]
    ToNumberMismatch { number: String, org_id: String },
    /// The recipient bundle is not the recipient's active one.
    #[error("recipient_bundle_id is not the recipient's active bundle; look the number up again.")]
    RecipientBundleStale,
    /// The upload window has passed.
    #[error("The upload window (1 hour) has passed; create the message again with a new message_id.")]
    UploadExpired,
    /// The content was uploaded already.
    #[error("This message's content has already been uploaded.")]
    AlreadyUploaded,
    /// Another upload of this message is running.
    #[error("Another upload of this message is running.")]
    UploadInProgress,
    /// `Content-Length` differs from the envelope's `ciphertext_len`.
    #[error("Content-Length differs from the envelope's ciphertext_len ({0}).")]
    LengthMismatch(u64),
    /// The body differs from the signed `X-FXE-Content-SHA256`.
    #[error("The body does not match X-FXE-Content-SHA256.")]
    BodyHashMismatch,
    /// The uploaded bytes differ from what the envelope promised.
    #[error("The uploaded bytes differ from the envelope's ciphertext_len or ciphertext_sha256; nothing was kept.")]
    ContentMismatch,
    /// The blob store could not keep the upload.
    #[error("The relay could not store the upload; please upload again.")]
    StorageUnavailable,
    /// Only the recipient may receipt or refuse.
    #[error("Only the recipient can receipt or refuse a message.")]
    NotRecipient,
    /// The receipt is malformed.
    #[error("{0}")]
    InvalidReceipt(String),
    /// The refusal is malformed.
    #[error("{0}")]
    InvalidRefusal(String),
    /// The receipt does not verify for this message.
    #[error("The receipt does not verify for this message and the bundle it was sealed to.")]
    BadReceipt,
    /// The refusal does not verify for this message.
    #[error("The refusal does not verify for this message and the bundle it was sealed to.")]
    BadRefusal,
    /// The message has a (different) receipt already.
    #[error("This message already has a receipt.")]
    AlreadyDelivered,
    /// The message was refused already.
    #[error("This message was already refused.")]
    AlreadyRejected,
    /// The message expired before it was received.
    #[error("This message expired before it was received.")]
    Expired,
    /// The message is not queued (not uploaded yet, or changed meanwhile).
    #[error("{0}")]
    NotQueued(&'static str),
    /// The store failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The blob store failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// A broken invariant (e.g. a stored row refers to a missing bundle).
    #[error("{0}")]
    Internal(&'static str),
}

impl From<sqlx::Error> for MessageError {
    fn from(e: sqlx::Error) -> Self {
        MessageError::Db(e.into())
    }
}
