//! Typed errors. Every failure names what was wrong in words a person can act on.

use thiserror::Error;

/// The crate's `Result`: failures are an [`Error`](enum@Error) unless a function says otherwise.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in this crate; its `Display` is the sentence to show.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// A field failed decoding or validation (wrong length, encoding, format).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field or value, as the wire format names it (`bundle.org_id`, `API secret`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A JSON document did not parse into the expected object.
    #[error("malformed {what}: {reason}")]
    Json {
        /// The object that was expected (`bundle`, `envelope`).
        what: &'static str,
        /// The parser's complaint.
        reason: String,
    },

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
    #[error(
        "this is a machine or staff keys.zip without the identity secret; use the full keys.zip kept by the org's admins"
    )]
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

    /// The key transparency log does not support what the relay said.
    #[error("{0}")]
    Transparency(crate::transparency::LogError),
}

impl From<crate::transparency::LogError> for Error {
    fn from(e: crate::transparency::LogError) -> Self {
        Error::Transparency(e)
    }
}

/// Why an envelope did not open. Nothing is released when any of these occurs
/// (for the streaming open: nothing past the last authenticated chunk).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// The sender's bundle does not verify against the sender's identity key.
    #[error("the sender's bundle is not signed by the sender's identity")]
    SenderBundle,
    /// The envelope names a sender bundle other than the one given to open it.
    #[error("the envelope is not from the bundle it names")]
    SenderBundleMismatch,
    /// The envelope's signature by the sender's bundle key does not verify.
    #[error("the envelope signature does not verify")]
    EnvelopeSignature,
    /// The payload's length is not the envelope's `ciphertext_len`.
    #[error("the ciphertext length differs from the envelope")]
    CiphertextLength,
    /// The payload's SHA-256 is not the envelope's `ciphertext_sha256`.
    #[error("the ciphertext hash differs from the envelope")]
    CiphertextHash,
    /// The envelope's recipient org is not the org opening it.
    #[error("the message is not addressed to this organization")]
    WrongRecipientOrg,
    /// The envelope's `to_number` is not one of the opening org's numbers.
    #[error("the message is addressed to a number this organization does not hold")]
    WrongRecipientNumber,
    /// The envelope was sealed to a bundle whose secrets the opener does not have.
    #[error("the message was sealed to a bundle this keys.zip does not hold")]
    UnknownRecipientBundle,
    /// X-Wing decapsulation of `kem_ct` failed.
    #[error("key decapsulation failed")]
    Decapsulation,
    /// The wrapped content key does not decrypt under the decapsulated key.
    #[error("the content key does not unwrap")]
    Unwrap,
    /// The content key does not match `cek_commit`.
    #[error("the content key commitment does not match")]
    Commitment,
    /// A payload chunk's AES-GCM tag does not verify.
    #[error("a payload chunk failed authentication")]
    ChunkTag,
    /// The payload stops before its final chunk.
    #[error("the payload ends without its final chunk")]
    MissingFinalChunk,
    /// The payload goes on after its final chunk.
    #[error("the payload has data after its final chunk")]
    TrailingData,
}

/// Why a signed request was refused; each maps to one API error code.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// An `X-FXE-*` header is missing or not in its format.
    #[error("a required X-FXE header is missing or malformed")]
    MalformedHeaders,
    /// `X-FXE-Timestamp` is outside the allowed skew from the verifier's clock.
    #[error("the timestamp is too far from the relay's clock")]
    TimestampSkew,
    /// The body's SHA-256 is not the signed `X-FXE-Content-SHA256`.
    #[error("the body does not match X-FXE-Content-SHA256")]
    BodyHashMismatch,
    /// The request claims `UNSIGNED-PAYLOAD` where the body must be signed.
    #[error("UNSIGNED-PAYLOAD is not allowed on this request")]
    UnsignedPayloadNotAllowed,
    /// The request's signature does not verify under the API key.
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
    /// The number now belongs to another org than the one pinned for it.
    #[error(
        "KEY CHANGE: {number} used to belong to org {pinned_org_id} but the relay now says org {offered_org_id} \
         (fingerprint {offered_fingerprint}). Check the new fingerprint with the recipient out of band before trusting it."
    )]
    NumberOrgChanged {
        /// The number looked up.
        number: String,
        /// The org the number was pinned to.
        pinned_org_id: String,
        /// The org the relay now names.
        offered_org_id: String,
        /// The fingerprint of the offered org's identity key.
        offered_fingerprint: String,
    },
    /// The org's identity key is not the one pinned for it.
    #[error(
        "KEY CHANGE: org {org_id} is pinned to identity fingerprint {pinned_fingerprint} but the relay now offers {offered_fingerprint}. \
         Check it with the org out of band before trusting it."
    )]
    IdentityChanged {
        /// The org whose identity changed.
        org_id: String,
        /// The fingerprint pinned for it.
        pinned_fingerprint: String,
        /// The fingerprint of the identity the relay now offers.
        offered_fingerprint: String,
    },
    /// The relay offers a bundle older than the newest one seen for the org.
    #[error(
        "KEY ROLLBACK: the relay offers bundle {offered_bundle_id} of org {org_id} created at {offered_created_at}, \
         older than the newest bundle seen ({newest_bundle_id}, created at {newest_created_at})"
    )]
    BundleRollback {
        /// The org whose bundle was offered.
        org_id: String,
        /// The bundle the relay offers.
        offered_bundle_id: String,
        /// When the offered bundle was made (unix seconds).
        offered_created_at: u64,
        /// The newest bundle of the org seen before.
        newest_bundle_id: String,
        /// When that newest bundle was made (unix seconds).
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
