//! Receipts and refusals (PROTOCOL.md §5), signed by the signing key of the
//! recipient bundle the message was sealed to.

use crate::bundle::{Bundle, BundleKeys};
use crate::encoding::{self, serde_b64u, serde_hex32};
use crate::envelope::Envelope;
use crate::transcript::Transcript;
use crate::{Error, Result, sign};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// A receipt: the recipient says it received (and could open) one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct Receipt {
    /// The message received.
    pub message_id: String,
    /// `H(envelope_tbs || envelope_sig)` of the envelope received (hex on the wire).
    #[serde(with = "serde_hex32")]
    pub envelope_hash: [u8; 32],
    /// The recipient org's id.
    pub recipient_org_id: String,
    /// The recipient bundle the message was sealed to, whose key signs this.
    pub recipient_bundle_id: String,
    /// When it was received (unix seconds, the recipient's clock).
    pub received_at: u64,
    /// The recipient bundle key's Ed25519 signature over the receipt's transcript.
    #[serde(with = "serde_b64u")]
    pub sig: [u8; 64],
}

/// The reason of a refusal; in JSON exactly one of the four strings (the derived
/// enum form would also take `{"policy":null}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalReason {
    /// The message did not open (a failed check or a corrupt payload).
    CannotOpen,
    /// The payload is not a PDF.
    NotAPdf,
    /// The recipient's policy does not accept it.
    Policy,
    /// Any other reason.
    Other,
}

impl RefusalReason {
    /// The reason as it is on the wire (`cannot_open`, `not_a_pdf`, `policy`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::CannotOpen => "cannot_open",
            RefusalReason::NotAPdf => "not_a_pdf",
            RefusalReason::Policy => "policy",
            RefusalReason::Other => "other",
        }
    }
    /// Parses the wire form; fails with [`Error::Invalid`] for any other string.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "cannot_open" => RefusalReason::CannotOpen,
            "not_a_pdf" => RefusalReason::NotAPdf,
            "policy" => RefusalReason::Policy,
            "other" => RefusalReason::Other,
            _ => return Err(Error::invalid("reason", "must be cannot_open, not_a_pdf, policy or other")),
        })
    }
}

/// A refusal: the recipient says it will not accept one message, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct Refusal {
    /// The message refused.
    pub message_id: String,
    /// `H(envelope_tbs || envelope_sig)` of the envelope refused (hex on the wire).
    #[serde(with = "serde_hex32")]
    pub envelope_hash: [u8; 32],
    /// The recipient org's id.
    pub recipient_org_id: String,
    /// The recipient bundle the message was sealed to, whose key signs this.
    pub recipient_bundle_id: String,
    /// When it was refused (unix seconds, the recipient's clock).
    pub refused_at: u64,
    /// Why it was refused.
    pub reason: RefusalReason,
    /// The recipient bundle key's Ed25519 signature over the refusal's transcript.
    #[serde(with = "serde_b64u")]
    pub sig: [u8; 64],
}

encoding::object_only_serde!(Receipt, Refusal);

impl Serialize for RefusalReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RefusalReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RefusalReason::parse(&s).map_err(|e| serde::de::Error::custom(encoding::serde_b64u::reason(e)))
    }
}

/// The claims a receipt and a refusal both make about one envelope: which message,
/// which envelope (its hash), and the recipient org and bundle whose key signs them.
struct Claims<'a> {
    message_id: &'a str,
    envelope_hash: &'a [u8; 32],
    org: &'a str,
    bundle: &'a str,
}

impl<'a> Claims<'a> {
    fn of(message_id: &'a str, envelope_hash: &'a [u8; 32], org: &'a str, bundle: &'a str) -> Self {
        Claims { message_id, envelope_hash, org, bundle }
    }

    /// Checks the ids' formats; fails with [`Error::Invalid`].
    fn check_shape(&self) -> Result<()> {
        encoding::validate_uuid_v4("message_id", self.message_id)?;
        encoding::validate_id32("recipient_org_id", self.org)?;
        encoding::validate_id32("recipient_bundle_id", self.bundle)
    }

    /// The transcript's common start: `label`, the claims and the time `at`.
    fn transcript(&self, label: &str, at: u64) -> Transcript {
        Transcript::new(label).str(self.message_id).bytes(self.envelope_hash).str(self.org).str(self.bundle).u64(at)
    }

    /// Verifies a receipt or refusal (`what`): its shape, that its claims match `envelope` and
    /// `bundle`, and its signature `sig` over `tbs`. Fails with [`Error::Invalid`] or [`Error::BadSignature`].
    fn verify(
        &self, what: &'static str, tbs: &[u8], sig: &[u8; 64], envelope: &Envelope, bundle: &Bundle,
    ) -> Result<()> {
        self.check_shape()?;
        if self.message_id != envelope.message_id {
            return Err(Error::BadSignature(what));
        }
        if !bool::from(self.envelope_hash.ct_eq(&envelope.hash())) {
            return Err(Error::BadSignature(what));
        }
        if self.org != envelope.recipient_org_id || self.bundle != envelope.recipient_bundle_id {
            return Err(Error::BadSignature(what));
        }
        if bundle.bundle_id != self.bundle || bundle.org_id != self.org {
            return Err(Error::BadSignature(what));
        }
        sign::verify(&bundle.sign_pub, tbs, sig, what)
    }
}

/// The key of the bundle `envelope` was sealed to, one of `bundles`; fails with [`Error::Invalid`] if none is.
fn signing_bundle<'a>(envelope: &Envelope, bundles: &'a [BundleKeys]) -> Result<&'a BundleKeys> {
    bundles
        .iter()
        .find(|b| b.bundle.bundle_id == envelope.recipient_bundle_id && b.bundle.org_id == envelope.recipient_org_id)
        .ok_or_else(|| Error::invalid("recipient_bundle_id", "the message was not sealed to any of these bundles"))
}

/// The envelope's message, org and bundle ids, which a receipt or refusal of it repeats.
fn ids_of(envelope: &Envelope) -> [String; 3] {
    [envelope.message_id.clone(), envelope.recipient_org_id.clone(), envelope.recipient_bundle_id.clone()]
}

/// What a receipt and a refusal share: both are claims about one envelope, signed by the bundle it was sealed to.
macro_rules! signed_claims {
    ($ty:ident, $what:literal) => {
        impl $ty {
            #[doc = concat!("Parses a ", $what, "'s JSON and checks its shape; fails with [`Error::Json`] or [`Error::Invalid`].")]
            pub fn from_json(s: &str) -> Result<$ty> {
                encoding::checked_json($what, serde_json::from_str(s), $ty::check_shape)
            }

            /// Signs these claims with the key of the bundle `envelope` was sealed to, one of `bundles`.
            fn signed(mut self, envelope: &Envelope, bundles: &[BundleKeys]) -> Result<$ty> {
                self.sig = signing_bundle(envelope, bundles)?.signing.sign(&self.tbs());
                Ok(self)
            }

            fn claims(&self) -> Claims<'_> {
                Claims::of(&self.message_id, &self.envelope_hash, &self.recipient_org_id, &self.recipient_bundle_id)
            }

            /// Checks the ids' formats (no keys needed); fails with [`Error::Invalid`].
            pub fn check_shape(&self) -> Result<()> {
                self.claims().check_shape()
            }

            #[doc = concat!("The ", $what, "'s canonical JSON form.")]
            pub fn to_json(&self) -> String {
                serde_json::to_string(self).unwrap_or_default()
            }

            #[doc = concat!("Verifies this ", $what, " is for `envelope` and signed by `recipient_bundle` (the bundle the envelope was sealed to, whose chain the caller verified).")]
            #[doc = concat!("Fails with [`Error::BadSignature`] when a claim differs from the envelope or the signature does not verify, or [`Error::Invalid`] for a malformed ", $what, ".")]
            pub fn verify(&self, envelope: &Envelope, recipient_bundle: &Bundle) -> Result<()> {
                self.claims().verify($what, &self.tbs(), &self.sig, envelope, recipient_bundle)
            }
        }
    };
}

signed_claims!(Receipt, "receipt");
signed_claims!(Refusal, "refusal");

impl Receipt {
    /// Signs a receipt for `envelope` with the bundle it was sealed to (found in `bundles`).
    /// Fails with [`Error::Invalid`] when none of `bundles` is that bundle.
    pub fn make(envelope: &Envelope, bundles: &[BundleKeys], received_at: u64) -> Result<Receipt> {
        let [message_id, recipient_org_id, recipient_bundle_id] = ids_of(envelope);
        let envelope_hash = envelope.hash();
        Receipt { message_id, envelope_hash, recipient_org_id, recipient_bundle_id, received_at, sig: [0; 64] }
            .signed(envelope, bundles)
    }

    /// The bytes the recipient bundle key signs.
    pub fn tbs(&self) -> Vec<u8> {
        self.claims().transcript("fxe/v1 receipt", self.received_at).finish()
    }
}

impl Refusal {
    /// Signs a refusal of `envelope` for `reason` with the key of the bundle it was sealed to, one of `bundles`; fails with [`Error::Invalid`] if none is.
    pub fn make(
        envelope: &Envelope, bundles: &[BundleKeys], refused_at: u64, reason: RefusalReason,
    ) -> Result<Refusal> {
        let [message_id, recipient_org_id, recipient_bundle_id] = ids_of(envelope);
        let envelope_hash = envelope.hash();
        Refusal { message_id, envelope_hash, recipient_org_id, recipient_bundle_id, refused_at, reason, sig: [0; 64] }
            .signed(envelope, bundles)
    }

    /// The bytes the recipient bundle key signs.
    pub fn tbs(&self) -> Vec<u8> {
        self.claims().transcript("fxe/v1 refusal", self.refused_at).str(self.reason.as_str()).finish()
    }
}
