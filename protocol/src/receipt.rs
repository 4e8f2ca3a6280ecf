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

fn receipt_tbs(message_id: &str, envelope_hash: &[u8; 32], org: &str, bundle: &str, at: u64) -> Vec<u8> {
    Transcript::new("fxe/v1 receipt").str(message_id).bytes(envelope_hash).str(org).str(bundle).u64(at).finish()
}

fn refusal_tbs(
    message_id: &str,
    envelope_hash: &[u8; 32],
    org: &str,
    bundle: &str,
    at: u64,
    reason: RefusalReason,
) -> Vec<u8> {
    Transcript::new("fxe/v1 refusal")
        .str(message_id)
        .bytes(envelope_hash)
        .str(org)
        .str(bundle)
        .u64(at)
        .str(reason.as_str())
        .finish()
}

fn signing_bundle<'a>(envelope: &Envelope, bundles: &'a [BundleKeys]) -> Result<&'a BundleKeys> {
    bundles
        .iter()
        .find(|b| b.bundle.bundle_id == envelope.recipient_bundle_id && b.bundle.org_id == envelope.recipient_org_id)
        .ok_or_else(|| Error::invalid("recipient_bundle_id", "the message was not sealed to any of these bundles"))
}

/// Checks that a receipt/refusal's claims match the envelope and the bundle that signs it.
fn check_claims(
    what: &'static str,
    message_id: &str,
    envelope_hash: &[u8; 32],
    org: &str,
    bundle_id: &str,
    envelope: &Envelope,
    bundle: &Bundle,
) -> Result<()> {
    if message_id != envelope.message_id {
        return Err(Error::BadSignature(what));
    }
    if !bool::from(envelope_hash.ct_eq(&envelope.hash())) {
        return Err(Error::BadSignature(what));
    }
    if org != envelope.recipient_org_id || bundle_id != envelope.recipient_bundle_id {
        return Err(Error::BadSignature(what));
    }
    if bundle.bundle_id != bundle_id || bundle.org_id != org {
        return Err(Error::BadSignature(what));
    }
    Ok(())
}

impl Receipt {
    /// Signs a receipt for `envelope` with the bundle it was sealed to (found in `bundles`).
    /// Fails with [`Error::Invalid`] when none of `bundles` is that bundle.
    pub fn make(envelope: &Envelope, bundles: &[BundleKeys], received_at: u64) -> Result<Receipt> {
        let b = signing_bundle(envelope, bundles)?;
        let envelope_hash = envelope.hash();
        let t = receipt_tbs(
            &envelope.message_id,
            &envelope_hash,
            &envelope.recipient_org_id,
            &envelope.recipient_bundle_id,
            received_at,
        );
        Ok(Receipt {
            message_id: envelope.message_id.clone(),
            envelope_hash,
            recipient_org_id: envelope.recipient_org_id.clone(),
            recipient_bundle_id: envelope.recipient_bundle_id.clone(),
            received_at,
            sig: b.signing.sign(&t),
        })
    }

    /// Parses a receipt's JSON and checks its shape; fails with [`Error::Json`] or [`Error::Invalid`].
    pub fn from_json(s: &str) -> Result<Receipt> {
        let r: Receipt = serde_json::from_str(s).map_err(|e| Error::json("receipt", e))?;
        r.check_shape()?;
        Ok(r)
    }

    /// Checks the ids' formats (no keys needed); fails with [`Error::Invalid`].
    pub fn check_shape(&self) -> Result<()> {
        encoding::validate_uuid_v4("message_id", &self.message_id)?;
        encoding::validate_id32("recipient_org_id", &self.recipient_org_id)?;
        encoding::validate_id32("recipient_bundle_id", &self.recipient_bundle_id)
    }

    /// The receipt's canonical JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The bytes the recipient bundle key signs.
    pub fn tbs(&self) -> Vec<u8> {
        receipt_tbs(
            &self.message_id,
            &self.envelope_hash,
            &self.recipient_org_id,
            &self.recipient_bundle_id,
            self.received_at,
        )
    }

    /// Verifies this receipt is for `envelope` and signed by `recipient_bundle`
    /// (the bundle the envelope was sealed to, whose chain the caller verified).
    /// Fails with [`Error::BadSignature`] when a claim differs from the envelope or the signature does not verify, or [`Error::Invalid`] for a malformed receipt.
    pub fn verify(&self, envelope: &Envelope, recipient_bundle: &Bundle) -> Result<()> {
        self.check_shape()?;
        check_claims(
            "receipt",
            &self.message_id,
            &self.envelope_hash,
            &self.recipient_org_id,
            &self.recipient_bundle_id,
            envelope,
            recipient_bundle,
        )?;
        sign::verify(&recipient_bundle.sign_pub, &self.tbs(), &self.sig, "receipt")
    }
}

impl Refusal {
    /// Signs a refusal of `envelope` for `reason` with the key of the bundle it was sealed to, one of `bundles`; fails with [`Error::Invalid`] if none is.
    pub fn make(
        envelope: &Envelope,
        bundles: &[BundleKeys],
        refused_at: u64,
        reason: RefusalReason,
    ) -> Result<Refusal> {
        let b = signing_bundle(envelope, bundles)?;
        let envelope_hash = envelope.hash();
        let t = refusal_tbs(
            &envelope.message_id,
            &envelope_hash,
            &envelope.recipient_org_id,
            &envelope.recipient_bundle_id,
            refused_at,
            reason,
        );
        Ok(Refusal {
            message_id: envelope.message_id.clone(),
            envelope_hash,
            recipient_org_id: envelope.recipient_org_id.clone(),
            recipient_bundle_id: envelope.recipient_bundle_id.clone(),
            refused_at,
            reason,
            sig: b.signing.sign(&t),
        })
    }

    /// Parses a refusal's JSON and checks its shape; fails with [`Error::Json`] or [`Error::Invalid`].
    pub fn from_json(s: &str) -> Result<Refusal> {
        let r: Refusal = serde_json::from_str(s).map_err(|e| Error::json("refusal", e))?;
        r.check_shape()?;
        Ok(r)
    }

    /// Checks the ids' formats (no keys needed); fails with [`Error::Invalid`].
    pub fn check_shape(&self) -> Result<()> {
        encoding::validate_uuid_v4("message_id", &self.message_id)?;
        encoding::validate_id32("recipient_org_id", &self.recipient_org_id)?;
        encoding::validate_id32("recipient_bundle_id", &self.recipient_bundle_id)
    }

    /// The refusal's canonical JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The bytes the recipient bundle key signs.
    pub fn tbs(&self) -> Vec<u8> {
        refusal_tbs(
            &self.message_id,
            &self.envelope_hash,
            &self.recipient_org_id,
            &self.recipient_bundle_id,
            self.refused_at,
            self.reason,
        )
    }

    /// Verifies this refusal is for `envelope` and signed by `recipient_bundle` (the bundle the envelope was sealed to, whose chain the caller verified).
    pub fn verify(&self, envelope: &Envelope, recipient_bundle: &Bundle) -> Result<()> {
        self.check_shape()?;
        check_claims(
            "refusal",
            &self.message_id,
            &self.envelope_hash,
            &self.recipient_org_id,
            &self.recipient_bundle_id,
            envelope,
            recipient_bundle,
        )?;
        sign::verify(&recipient_bundle.sign_pub, &self.tbs(), &self.sig, "refusal")
    }
}
