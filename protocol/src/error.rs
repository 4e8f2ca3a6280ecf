//! Typed errors. Every failure names what was wrong in words a person can act on.

use thiserror::Error;

pub type Result<T, E = Error> = core::result::Result<T, E>;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// A field failed decoding or validation (wrong length, encoding, format).
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },

    /// A JSON document did not parse into the expected object.
    #[error("malformed {what}: {reason}")]
    Json { what: &'static str, reason: String },

    /// A signature did not verify.
    #[error("signature does not verify: {0}")]
    BadSignature(&'static str),

    /// A bundle does not belong to the identity it is presented with.
    #[error("bundle does not verify: {0}")]
    BadBundle(&'static str),

    /// Opening an envelope failed; the reason names the check.
    #[error("cannot open message: {0}")]
    Open(OpenError),

    /// Sealing was used out of order (a programming error surfaced as an error, not a panic).
    #[error("cannot seal message: {0}")]
    Seal(&'static str),

    /// A signed request failed verification.
    #[error("request rejected: {0}")]
    Request(RequestError),

    /// A keys.zip could not be read or written.
    #[error("keys.zip: {0}")]
    KeysZip(String),

    /// The keys.zip is passphrase-protected and no passphrase was given.
    #[error("keys.zip is protected by a passphrase; supply it to continue")]
    PassphraseRequired,

    /// The passphrase does not open the keys.zip.
    #[error("the passphrase does not open this keys.zip")]
    WrongPassphrase,

    /// An operation needs the identity secret, which a machine keys.zip omits.
    #[error("this is a machine keys.zip without the identity secret; use the full keys.zip kept by the org's admins")]
    IdentitySecretMissing,

    /// A pinned fact changed: the relay may be substituting keys.
    #[error("{0}")]
    Pin(PinError),

    /// Reading or writing the payload stream failed.
    #[error("i/o error: {0}")]
    Io(String),

    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
}

/// Why an envelope did not open. Nothing is released when any of these occurs
/// (for the streaming open: nothing past the last authenticated chunk).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    #[error("the sender's bundle is not signed by the sender's identity")]
    SenderBundle,
    #[error("the envelope is not from the bundle it names")]
    SenderBundleMismatch,
    #[error("the envelope signature does not verify")]
    EnvelopeSignature,
    #[error("the ciphertext length differs from the envelope")]
    CiphertextLength,
    #[error("the ciphertext hash differs from the envelope")]
    CiphertextHash,
    #[error("the message is not addressed to this organization")]
    WrongRecipientOrg,
    #[error("the message is addressed to a number this organization does not hold")]
    WrongRecipientNumber,
    #[error("the message was sealed to a bundle this keys.zip does not hold")]
    UnknownRecipientBundle,
    #[error("key decapsulation failed")]
    Decapsulation,
    #[error("the content key does not unwrap")]
    Unwrap,
    #[error("the content key commitment does not match")]
    Commitment,
    #[error("a payload chunk failed authentication")]
    ChunkTag,
    #[error("the payload ends without its final chunk")]
    MissingFinalChunk,
    #[error("the payload has data after its final chunk")]
    TrailingData,
}

/// Why a signed request was refused; each maps to one API error code.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    #[error("a required X-FXE header is missing or malformed")]
    MalformedHeaders,
    #[error("the timestamp is too far from the relay's clock")]
    TimestampSkew,
    #[error("the body does not match X-FXE-Content-SHA256")]
    BodyHashMismatch,
    #[error("UNSIGNED-PAYLOAD is not allowed on this request")]
    UnsignedPayloadNotAllowed,
    #[error("the request signature does not verify")]
    BadSignature,
}

impl RequestError {
    /// The API error code (API.md, Conventions).
    pub fn code(self) -> &'static str {
        match self {
            RequestError::MalformedHeaders | RequestError::BadSignature => "bad_request_signature",
            RequestError::TimestampSkew => "timestamp_skew",
            RequestError::BodyHashMismatch | RequestError::UnsignedPayloadNotAllowed => "body_hash_mismatch",
        }
    }
}

/// A pinning refusal (PROTOCOL.md §3): the relay's answer contradicts what this client saw before.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PinError {
    #[error(
        "KEY CHANGE: {number} used to belong to org {pinned_org_id} but the relay now says org {offered_org_id} \
         (fingerprint {offered_fingerprint}). Check the new fingerprint with the recipient out of band before trusting it."
    )]
    NumberOrgChanged { number: String, pinned_org_id: String, offered_org_id: String, offered_fingerprint: String },
    #[error(
        "KEY CHANGE: org {org_id} is pinned to identity fingerprint {pinned_fingerprint} but the relay now offers {offered_fingerprint}. \
         Check it with the org out of band before trusting it."
    )]
    IdentityChanged { org_id: String, pinned_fingerprint: String, offered_fingerprint: String },
    #[error(
        "KEY ROLLBACK: the relay offers bundle {offered_bundle_id} of org {org_id} created at {offered_created_at}, \
         older than the newest bundle seen ({newest_bundle_id}, created at {newest_created_at})"
    )]
    BundleRollback {
        org_id: String,
        offered_bundle_id: String,
        offered_created_at: u64,
        newest_bundle_id: String,
        newest_created_at: u64,
    },
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid { field, reason: reason.into() }
    }
    pub(crate) fn json(what: &'static str, e: impl core::fmt::Display) -> Self {
        Error::Json { what, reason: e.to_string() }
    }
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        Error::Open(e)
    }
}
impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        Error::Request(e)
    }
}
impl From<PinError> for Error {
    fn from(e: PinError) -> Self {
        Error::Pin(e)
    }
}
