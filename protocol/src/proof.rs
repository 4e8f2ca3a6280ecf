//! Proof of delivery (`docs/proof.md`): the `.fxeproof` file that shows anyone,
//! offline, that an org's key signed a receipt (or a refusal) for one fax, and
//! with the opening (the fax's content key) and the PDF, that it was this PDF.
//!
//! A proof holds only what the protocol already signs: the envelope, both
//! parties' identity keys and the bundles in question, the receipt or refusal,
//! and optionally the content key. [`verify`] runs the checks of docs/proof.md
//! §3 in their order and fails with the [`ProofError`] of the first one that fails.

use crate::bundle::Bundle;
use crate::encoding::{self, serde_b64u};
use crate::envelope::{self, Envelope};
use crate::ids;
use crate::receipt::{Receipt, Refusal};
use crate::transcript::sha256;
use crate::{Error, sign};
use serde::{Deserialize, Serialize};
use std::io::Read;
use subtle::ConstantTimeEq;
use thiserror::Error as ThisError;
use zeroize::Zeroizing;

/// The `format` of a v1 proof.
pub const FORMAT: &str = "fxe-proof/v1";
/// The file extension of a proof.
pub const EXTENSION: &str = "fxeproof";
/// The largest proof file a reader accepts, in bytes (a v1 proof is about 7 KB).
pub const MAX_PROOF_LEN: usize = 1 << 20;

/// A party's keys as the proof carries them: the identity and one of its bundles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct Party {
    /// The org's Ed25519 identity key (its org id and fingerprint derive from it).
    #[serde(with = "serde_b64u")]
    pub identity_pub: [u8; 32],
    /// The bundle in question: the sender's that signed the envelope, or the recipient's the fax was sealed to.
    pub bundle: Bundle,
}

/// The opening: the fax's content key, which lets a verifier tie the proof to a document.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct Opening {
    /// The content key (CEK) of this one fax.
    #[serde(with = "serde_b64u")]
    pub cek: [u8; 32],
}

impl core::fmt::Debug for Opening {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Opening { cek: <redacted> }")
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.cek);
    }
}

/// A `.fxeproof` in its JSON form (docs/proof.md §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct Proof {
    /// Always [`FORMAT`].
    pub format: String,
    /// The envelope header with its signature (PROTOCOL.md §4 JSON form).
    pub envelope: Envelope,
    /// The sender's identity and the bundle that signed the envelope.
    pub sender: Party,
    /// The recipient's identity and the bundle the fax was sealed to.
    pub recipient: Party,
    /// The signed receipt (a delivered fax); exactly one of `receipt` and `refusal` is set.
    #[serde(default)]
    pub receipt: Option<Receipt>,
    /// The signed refusal (a refused fax).
    #[serde(default)]
    pub refusal: Option<Refusal>,
    /// The content key, when the holder discloses it.
    #[serde(default)]
    pub opening: Option<Opening>,
    /// Reserved for key transparency (docs/proof.md §5); must be null in v1.
    #[serde(default)]
    pub transparency: Option<serde_json::Value>,
}

encoding::object_only_serde!(Party, Opening, Proof);

/// What the recipient signed for: a receipt or a refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The recipient received (and could open) the fax.
    Receipt(Receipt),
    /// The recipient refused the fax.
    Refusal(Refusal),
}

/// Which of the two signed answers a check was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signed {
    /// The receipt.
    Receipt,
    /// The refusal.
    Refusal,
}

impl Signed {
    fn as_str(self) -> &'static str {
        match self {
            Signed::Receipt => "receipt",
            Signed::Refusal => "refusal",
        }
    }
}

impl core::fmt::Display for Signed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one check of docs/proof.md §3 that failed. [`ProofError::code`] is the stable
/// name (the CLI's `--json`, the independent verifier); `Display` is the sentence to show.
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// The file is not a well-formed proof (JSON, unknown or missing fields, encodings, shapes).
    #[error("not a well-formed proof: {0}")]
    Malformed(String),
    /// `format` is not [`FORMAT`].
    #[error("unsupported proof format {0:?} (this verifier reads {FORMAT:?})")]
    UnsupportedFormat(String),
    /// `transparency` is set; a v1 verifier cannot check it and must not claim it.
    #[error("the proof carries key-transparency data, which this verifier cannot check")]
    TransparencyUnsupported,
    /// Neither or both of `receipt` and `refusal` are set.
    #[error("a proof holds exactly one of a receipt and a refusal")]
    Outcome,
    /// The sender identity's org id is not the envelope's `sender_org_id`.
    #[error("the sender's identity key is not the key of the envelope's sender org")]
    SenderOrgId,
    /// The sender bundle's `org_id` is not the envelope's `sender_org_id`.
    #[error("the sender bundle belongs to another org than the envelope's sender")]
    SenderBundleOrg,
    /// The sender bundle's `bundle_id` is not the hash of its contents.
    #[error("the sender bundle's id does not match its contents")]
    SenderBundleId,
    /// The sender bundle is not the one the envelope names (`sender_bundle_id`).
    #[error("the sender bundle is not the one the envelope names")]
    SenderBundleNotNamed,
    /// The sender identity's signature over the sender bundle does not verify.
    #[error("the sender bundle is not signed by the sender's identity key")]
    SenderBundleSignature,
    /// The envelope's signature by the sender bundle does not verify.
    #[error("the envelope's signature by the sender bundle does not verify (the envelope was changed)")]
    EnvelopeSignature,
    /// The recipient identity's org id is not the envelope's `recipient_org_id`.
    #[error("the recipient's identity key is not the key of the envelope's recipient org")]
    RecipientOrgId,
    /// The recipient bundle's `org_id` is not the envelope's `recipient_org_id`.
    #[error("the recipient bundle belongs to another org than the envelope's recipient")]
    RecipientBundleOrg,
    /// The recipient bundle's `bundle_id` is not the hash of its contents.
    #[error("the recipient bundle's id does not match its contents")]
    RecipientBundleId,
    /// The recipient bundle is not the one the envelope was sealed to (`recipient_bundle_id`).
    #[error("the recipient bundle is not the one the fax was sealed to")]
    RecipientBundleNotNamed,
    /// The recipient identity's signature over the recipient bundle does not verify.
    #[error("the recipient bundle is not signed by the recipient's identity key")]
    RecipientBundleSignature,
    /// The receipt's or refusal's `message_id` is not the envelope's.
    #[error("the {0} is for another message than the envelope")]
    ClaimMessageId(Signed),
    /// The receipt's or refusal's `envelope_hash` is not the envelope's hash.
    #[error("the {0} is for another envelope (its envelope_hash differs)")]
    ClaimEnvelopeHash(Signed),
    /// The receipt's or refusal's recipient org or bundle is not the envelope's.
    #[error("the {0} names another recipient org or bundle than the one the fax was sealed to")]
    ClaimRecipient(Signed),
    /// The receipt's or refusal's signature by the recipient bundle does not verify.
    #[error(
        "the {0}'s signature by the recipient bundle does not verify (the {0} was changed or signed by another key)"
    )]
    OutcomeSignature(Signed),
    /// The opening's content key does not match the envelope's `cek_commit`.
    #[error("the disclosed content key is not this fax's (cek_commit differs)")]
    CekCommit,
    /// A document was given but the proof has no opening to check it with.
    #[error(
        "the proof has no opening (content key), so it cannot show which document was sent; export it with the document"
    )]
    NoOpening,
    /// The document sealed again has another ciphertext length than the envelope's.
    #[error("the document is not the fax: its length differs ({0})")]
    DocumentLength(String),
    /// The document sealed again has another ciphertext hash than the envelope's.
    #[error("the document is not the fax: sealed with the fax's key, its ciphertext hash differs")]
    DocumentHash,
    /// Reading the document failed (not a verdict on the proof).
    #[error("cannot read the document: {0}")]
    Io(String),
}

impl ProofError {
    /// The stable name of the failed check (docs/proof.md §3).
    pub fn code(&self) -> &'static str {
        match self {
            ProofError::Malformed(_) => "malformed",
            ProofError::UnsupportedFormat(_) => "unsupported_format",
            ProofError::TransparencyUnsupported => "transparency_unsupported",
            ProofError::Outcome => "outcome",
            ProofError::SenderOrgId => "sender_org_id",
            ProofError::SenderBundleOrg => "sender_bundle_org",
            ProofError::SenderBundleId => "sender_bundle_id",
            ProofError::SenderBundleNotNamed => "sender_bundle_not_named",
            ProofError::SenderBundleSignature => "sender_bundle_signature",
            ProofError::EnvelopeSignature => "envelope_signature",
            ProofError::RecipientOrgId => "recipient_org_id",
            ProofError::RecipientBundleOrg => "recipient_bundle_org",
            ProofError::RecipientBundleId => "recipient_bundle_id",
            ProofError::RecipientBundleNotNamed => "recipient_bundle_not_named",
            ProofError::RecipientBundleSignature => "recipient_bundle_signature",
            ProofError::ClaimMessageId(_) => "claim_message_id",
            ProofError::ClaimEnvelopeHash(_) => "claim_envelope_hash",
            ProofError::ClaimRecipient(_) => "claim_recipient",
            ProofError::OutcomeSignature(_) => "outcome_signature",
            ProofError::CekCommit => "cek_commit",
            ProofError::NoOpening => "no_opening",
            ProofError::DocumentLength(_) => "document_length",
            ProofError::DocumentHash => "document_hash",
            ProofError::Io(_) => "io",
        }
    }
}

/// One org as the statement names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrgStatement {
    /// The org id (derived from the identity key).
    pub org_id: String,
    /// The identity key's fingerprint (8 groups of 8 hex characters): what a person checks out of band.
    pub fingerprint: String,
    /// The bundle whose key signed (the sender's envelope, the recipient's receipt or refusal).
    pub bundle_id: String,
}

/// What a verified proof shows, to tell a person (docs/proof.md §4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// `received` (a receipt) or `refused` (a refusal).
    pub outcome: &'static str,
    /// The refusal's reason, for a refused fax.
    pub refusal_reason: Option<&'static str>,
    /// The fax's message id.
    pub message_id: String,
    /// The org that signed the receipt or refusal.
    pub recipient: OrgStatement,
    /// The org that signed the envelope.
    pub sender: OrgStatement,
    /// The sender's number.
    pub from_number: String,
    /// The caller name the sender put in the envelope (signed by the sender; nobody checked it).
    pub from_name: String,
    /// The number the fax was addressed to.
    pub to_number: String,
    /// When the sender sealed it (unix seconds, the sender's clock).
    pub sent_at: u64,
    /// When the recipient received or refused it (unix seconds, the recipient's clock).
    pub signed_at: u64,
    /// The payload's media type.
    pub content_type: String,
    /// The document's length in bytes (from the envelope's ciphertext length).
    pub document_len: u64,
    /// The envelope's `ciphertext_sha256` (hex).
    pub ciphertext_sha256: String,
    /// The envelope's hash (hex), which the receipt or refusal signs.
    pub envelope_hash: String,
    /// Whether the proof carries the content key and it matched the envelope's commitment.
    pub opening_verified: bool,
    /// The SHA-256 (hex) of the document that was checked against the fax, when one was given.
    pub document_sha256: Option<String>,
}

impl Statement {
    /// The statement in plain words, for a person.
    pub fn text(&self) -> String {
        let time = |t: u64| crate::time::format_rfc3339(i64::try_from(t).unwrap_or(i64::MAX));
        let at = if self.outcome == "refused" { "refused" } else { "received" };
        let pad = " ".repeat(16);
        let line = |label: &str, value: &str| format!("  {:<14}{value}\n", format!("{label}:"));
        let mut s = format!("VERIFIED: the organization below signed that it {at} fax {}.\n", self.message_id);
        s += &line(&format!("{at} by"), &format!("org {}", self.recipient.org_id));
        s += &format!("{pad}fingerprint {}\n", self.recipient.fingerprint);
        if let Some(r) = self.refusal_reason {
            s += &line("reason", r);
        }
        s += &line("to number", &self.to_number);
        s += &line("sent by", &format!("org {}", self.sender.org_id));
        s += &format!("{pad}fingerprint {}\n", self.sender.fingerprint);
        let name = if self.from_name.is_empty() { String::new() } else { format!(" (\"{}\")", self.from_name) };
        s += &line("from", &format!("{}{name}", self.from_number));
        s += &line("sent at", &format!("{} (sender's clock)", time(self.sent_at)));
        s += &line(&format!("{at} at"), &format!("{} (recipient's clock)", time(self.signed_at)));
        let n = self.document_len;
        let document = match (&self.document_sha256, self.opening_verified) {
            (Some(h), _) => format!("SHA-256 {h} ({n} bytes): sealed with the fax's key it gives exactly the fax"),
            (None, true) => {
                format!("not checked (give the PDF to check it); the proof can show which document ({n} bytes)")
            }
            (None, false) => {
                format!("the proof has no content key: it shows that a fax of {n} bytes was {at}, not which document")
            }
        };
        s += &line("document", &document);
        s.push_str(
            "Organizations are identified by their key fingerprints: check them with the organizations.\n\
             Names are not signed by the protocol; the caller name above is the sender's own claim.",
        );
        s
    }
}

impl Proof {
    /// A proof of `outcome` for `envelope`, without the opening (see [`Proof::with_opening`]).
    pub fn new(envelope: Envelope, sender: Party, recipient: Party, outcome: Outcome) -> Proof {
        let (receipt, refusal) = match outcome {
            Outcome::Receipt(r) => (Some(r), None),
            Outcome::Refusal(r) => (None, Some(r)),
        };
        Proof {
            format: FORMAT.into(),
            envelope,
            sender,
            recipient,
            receipt,
            refusal,
            opening: None,
            transparency: None,
        }
    }

    /// The proof with the fax's content key disclosed.
    pub fn with_opening(mut self, cek: &[u8; 32]) -> Proof {
        self.opening = Some(Opening { cek: *cek });
        self
    }

    /// Parses a proof file: at most [`MAX_PROOF_LEN`] bytes of strict JSON (unknown fields
    /// refused), with every embedded object's shape checked. Fails with [`ProofError::Malformed`].
    pub fn from_json(bytes: &[u8]) -> Result<Proof, ProofError> {
        if bytes.len() > MAX_PROOF_LEN {
            return Err(ProofError::Malformed(format!("larger than {MAX_PROOF_LEN} bytes")));
        }
        let p: Proof = serde_json::from_slice(bytes).map_err(|e| ProofError::Malformed(e.to_string()))?;
        p.check_form()?;
        Ok(p)
    }

    /// The proof's JSON form (pretty-printed, as written to a `.fxeproof`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The checks of docs/proof.md §3.1 after parsing, in order: the format, no transparency
    /// data, exactly one outcome, then every embedded object's shape. Returns the outcome.
    /// Fails with the [`ProofError`] of the first that fails.
    pub fn check_form(&self) -> Result<Outcome, ProofError> {
        if self.format != FORMAT {
            return Err(ProofError::UnsupportedFormat(self.format.clone()));
        }
        if self.transparency.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(ProofError::TransparencyUnsupported);
        }
        let outcome = match (&self.receipt, &self.refusal) {
            (Some(r), None) => Outcome::Receipt(r.clone()),
            (None, Some(r)) => Outcome::Refusal(r.clone()),
            _ => return Err(ProofError::Outcome),
        };
        self.check_shape()?;
        Ok(outcome)
    }

    /// The envelope's, bundles' and receipt's or refusal's shapes (no keys needed).
    /// Fails with [`ProofError::Malformed`] naming the field.
    pub fn check_shape(&self) -> Result<(), ProofError> {
        let m = |e: Error| ProofError::Malformed(e.to_string());
        self.envelope.check_shape().map_err(m)?;
        self.sender.bundle.check_shape().map_err(|e| ProofError::Malformed(format!("sender: {e}")))?;
        self.recipient.bundle.check_shape().map_err(|e| ProofError::Malformed(format!("recipient: {e}")))?;
        if let Some(r) = &self.receipt {
            r.check_shape().map_err(|e| ProofError::Malformed(format!("receipt: {e}")))?;
        }
        if let Some(r) = &self.refusal {
            r.check_shape().map_err(|e| ProofError::Malformed(format!("refusal: {e}")))?;
        }
        Ok(())
    }
}

/// Which checks a party's keys fail with.
struct PartyChecks {
    org_id: ProofError,
    bundle_org: ProofError,
    bundle_id: ProofError,
    not_named: ProofError,
    signature: ProofError,
}

/// Checks identity → org id, the bundle's org, its id, that it is the one named, and the identity's signature on it.
fn check_party(party: &Party, org_id: &str, bundle_id: &str, fail: PartyChecks) -> Result<(), ProofError> {
    if ids::org_id(&party.identity_pub) != org_id {
        return Err(fail.org_id);
    }
    let b = &party.bundle;
    if b.org_id != org_id {
        return Err(fail.bundle_org);
    }
    let tbs = b.tbs();
    if encoding::hex_encode(&sha256(&tbs)[..16]) != b.bundle_id {
        return Err(fail.bundle_id);
    }
    if b.bundle_id != bundle_id {
        return Err(fail.not_named);
    }
    sign::verify(&party.identity_pub, &tbs, &b.sig, "bundle").map_err(|_| fail.signature)
}

/// The claims a receipt and a refusal share, and their signature.
fn check_outcome(
    kind: Signed, claims: (&str, &[u8; 32], &str, &str), tbs: &[u8], sig: &[u8; 64], env: &Envelope, bundle: &Bundle,
) -> Result<(), ProofError> {
    let (message_id, envelope_hash, org, bundle_id) = claims;
    if message_id != env.message_id {
        return Err(ProofError::ClaimMessageId(kind));
    }
    if !bool::from(envelope_hash.ct_eq(&env.hash())) {
        return Err(ProofError::ClaimEnvelopeHash(kind));
    }
    if org != env.recipient_org_id || bundle_id != env.recipient_bundle_id {
        return Err(ProofError::ClaimRecipient(kind));
    }
    sign::verify(&bundle.sign_pub, tbs, sig, "outcome").map_err(|_| ProofError::OutcomeSignature(kind))
}

/// Verifies `proof` (and, given the document, that it is the fax's) with every check of
/// docs/proof.md §3 in order; returns what it shows. Fails with the first check that fails.
pub fn verify(proof: &Proof, document: Option<&[u8]>) -> Result<Statement, ProofError> {
    verify_reader(proof, document)
}

/// [`verify`] reading the document from a stream (one chunk in memory at a time).
/// Fails as [`verify`] does, or with [`ProofError::Io`] when reading the document fails.
pub fn verify_reader<R: Read>(proof: &Proof, document: Option<R>) -> Result<Statement, ProofError> {
    // §3.1: the file's form.
    let outcome = proof.check_form()?;
    let env = &proof.envelope;

    // §3.2: the sender's chain and the envelope's signature.
    check_party(
        &proof.sender,
        &env.sender_org_id,
        &env.sender_bundle_id,
        PartyChecks {
            org_id: ProofError::SenderOrgId,
            bundle_org: ProofError::SenderBundleOrg,
            bundle_id: ProofError::SenderBundleId,
            not_named: ProofError::SenderBundleNotNamed,
            signature: ProofError::SenderBundleSignature,
        },
    )?;
    sign::verify(&proof.sender.bundle.sign_pub, &env.tbs(), &env.sig, "envelope")
        .map_err(|_| ProofError::EnvelopeSignature)?;

    // §3.3: the recipient's chain.
    check_party(
        &proof.recipient,
        &env.recipient_org_id,
        &env.recipient_bundle_id,
        PartyChecks {
            org_id: ProofError::RecipientOrgId,
            bundle_org: ProofError::RecipientBundleOrg,
            bundle_id: ProofError::RecipientBundleId,
            not_named: ProofError::RecipientBundleNotNamed,
            signature: ProofError::RecipientBundleSignature,
        },
    )?;

    // §3.4: the receipt or refusal.
    let rb = &proof.recipient.bundle;
    let (signed_at, refusal_reason) = match &outcome {
        Outcome::Receipt(r) => {
            let claims =
                (r.message_id.as_str(), &r.envelope_hash, r.recipient_org_id.as_str(), r.recipient_bundle_id.as_str());
            check_outcome(Signed::Receipt, claims, &r.tbs(), &r.sig, env, rb)?;
            (r.received_at, None)
        }
        Outcome::Refusal(r) => {
            let claims =
                (r.message_id.as_str(), &r.envelope_hash, r.recipient_org_id.as_str(), r.recipient_bundle_id.as_str());
            check_outcome(Signed::Refusal, claims, &r.tbs(), &r.sig, env, rb)?;
            (r.refused_at, Some(r.reason.as_str()))
        }
    };

    // §3.5: the opening.
    let cek = match &proof.opening {
        Some(o) => {
            let cek = Zeroizing::new(o.cek);
            if !bool::from(envelope::cek_commit(&cek, &env.message_id).ct_eq(&env.cek_commit)) {
                return Err(ProofError::CekCommit);
            }
            Some(cek)
        }
        None => None,
    };

    // §3.6: the document.
    let document_sha256 = match document {
        None => None,
        Some(doc) => {
            let cek = cek.as_ref().ok_or(ProofError::NoOpening)?;
            Some(check_document(env, cek, doc)?)
        }
    };

    let org = |p: &Party| OrgStatement {
        org_id: ids::org_id(&p.identity_pub),
        fingerprint: ids::fingerprint(&p.identity_pub),
        bundle_id: p.bundle.bundle_id.clone(),
    };
    Ok(Statement {
        outcome: if refusal_reason.is_some() { "refused" } else { "received" },
        refusal_reason,
        message_id: env.message_id.clone(),
        recipient: org(&proof.recipient),
        sender: org(&proof.sender),
        from_number: env.from_number.clone(),
        from_name: env.from_name.clone(),
        to_number: env.to_number.clone(),
        sent_at: env.created_at,
        signed_at,
        content_type: env.content_type.clone(),
        document_len: env.plaintext_len().unwrap_or_default(),
        ciphertext_sha256: encoding::hex_encode(&env.ciphertext_sha256),
        envelope_hash: env.hash_hex(),
        opening_verified: cek.is_some(),
        document_sha256,
    })
}

/// Hashes the document while sealing it again with the fax's key; compares the
/// ciphertext's length, then its hash, with the envelope's. Returns the document's SHA-256 (hex).
fn check_document<R: Read>(env: &Envelope, cek: &[u8; 32], doc: R) -> Result<String, ProofError> {
    let mut hashing = HashingReader { inner: doc, hasher: <sha2::Sha256 as sha2::Digest>::new(), len: 0 };
    let sealed = envelope::reseal_digest(cek, &env.message_id, env.chunk_size, &mut hashing);
    let (len, hash) = match sealed {
        Ok(v) => v,
        Err(Error::Io(e)) => return Err(ProofError::Io(e)),
        Err(e) => return Err(ProofError::DocumentLength(e.to_string())),
    };
    if len != env.ciphertext_len {
        let want = env.plaintext_len().unwrap_or_default();
        return Err(ProofError::DocumentLength(format!("{} bytes, the fax has {want}", hashing.len)));
    }
    if !bool::from(hash.ct_eq(&env.ciphertext_sha256)) {
        return Err(ProofError::DocumentHash);
    }
    Ok(encoding::hex_encode(&sha2::Digest::finalize(hashing.hasher)))
}

/// A reader that hashes (SHA-256) and counts what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
    len: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or_default();
        sha2::Digest::update(&mut self.hasher, read);
        self.len += n as u64;
        Ok(n)
    }
}
