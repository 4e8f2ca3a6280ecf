//! Envelopes (PROTOCOL.md §4): sealing a fax to a recipient bundle and opening it.

use crate::bundle::{Bundle, BundleKeys};
use crate::encoding::{self, serde_b64u, serde_hex32};
use crate::error::OpenError;
use crate::stream::{self, ChunkPlan, CiphertextHasher, PayloadOpener, PayloadSealer, PlanProgress, PlannedChunk};
use crate::transcript::{Transcript, sha256};
use crate::{Error, MAX_CIPHERTEXT_LEN, Result, e164, sign};
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The content type of a fax: the payload is a PDF.
pub const CONTENT_TYPE_PDF: &str = "application/pdf";
/// Longest `from_name` accepted, in bytes (UTF-8). Documented in docs/protocol.md.
pub const MAX_FROM_NAME_LEN: usize = 256;
/// Longest `content_type` accepted, in bytes.
pub const MAX_CONTENT_TYPE_LEN: usize = 255;

/// The envelope in its JSON form: every header field, `"v":1` and `"sig"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct Envelope {
    /// The protocol version: always 1.
    pub v: u64,
    /// The message's id, a lowercase UUIDv4 chosen by the sender.
    pub message_id: String,
    /// When the sender sealed it (unix seconds, the sender's clock).
    pub created_at: u64,
    /// The sending org's id.
    pub sender_org_id: String,
    /// The sender bundle whose signing key signs this envelope.
    pub sender_bundle_id: String,
    /// The recipient org's id.
    pub recipient_org_id: String,
    /// The recipient bundle the content key is sealed to.
    pub recipient_bundle_id: String,
    /// The sender's number (E.164).
    pub from_number: String,
    /// The caller name shown with it (may be empty; at most [`MAX_FROM_NAME_LEN`] bytes).
    pub from_name: String,
    /// The recipient's number (E.164), one the recipient org holds.
    pub to_number: String,
    /// The payload's media type ([`CONTENT_TYPE_PDF`] for faxes).
    pub content_type: String,
    /// The payload's plaintext chunk size: a power of two from 16 KiB to 16 MiB.
    pub chunk_size: u64,
    /// The sealed payload's length: canonical for its plaintext length and chunk size, at most [`MAX_CIPHERTEXT_LEN`].
    pub ciphertext_len: u64,
    /// SHA-256 of the sealed payload (hex on the wire).
    #[serde(with = "serde_hex32")]
    pub ciphertext_sha256: [u8; 32],
    /// The X-Wing ciphertext that carries the key-encryption key to the recipient bundle.
    #[serde(with = "serde_kem_ct")]
    pub kem_ct: Vec<u8>,
    /// The content key, AES-256-GCM-wrapped under the key-encryption key (32 bytes and a 16-byte tag).
    #[serde(with = "serde_b64u")]
    pub wrapped_cek: [u8; 48],
    /// The key commitment: binds the content key to this message.
    #[serde(with = "serde_b64u")]
    pub cek_commit: [u8; 32],
    /// The sender bundle key's Ed25519 signature over the envelope's transcript.
    #[serde(with = "serde_b64u")]
    pub sig: [u8; 64],
}

encoding::object_only_serde!(Envelope);

mod serde_kem_ct {
    pub use crate::encoding::serde_b64u_len::serialize;
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        crate::encoding::serde_b64u_len::deserialize(d, "kem_ct", crate::kem::CIPHERTEXT_LEN)
    }
}

fn hkdf32(ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hkdf::Hkdf::<sha2::Sha256>::new(None, ikm).expand(info, out.as_mut_slice());
    out
}

struct Keys {
    payload_key: Zeroizing<[u8; 32]>,
    cek_commit: [u8; 32],
}

fn derive_from_cek(cek: &[u8; 32], message_id: &str) -> Keys {
    let commit = hkdf32(cek, &Transcript::new("fxe/v1 commit").str(message_id).finish());
    let payload_key = hkdf32(cek, &Transcript::new("fxe/v1 payload").str(message_id).finish());
    Keys { payload_key, cek_commit: *commit }
}

fn kek(
    ss: &[u8; 32], message_id: &str, s_org: &str, s_bundle: &str, r_org: &str, r_bundle: &str,
) -> Zeroizing<[u8; 32]> {
    let info = Transcript::new("fxe/v1 kek").str(message_id).str(s_org).str(s_bundle).str(r_org).str(r_bundle).finish();
    hkdf32(ss, &info)
}

fn wrap_aad(message_id: &str) -> Vec<u8> {
    Transcript::new("fxe/v1 wrap").str(message_id).finish()
}

impl Envelope {
    /// Parses an envelope's JSON and checks its shape ([`Envelope::check_shape`]); fails with [`Error::Json`] or [`Error::Invalid`].
    pub fn from_json(s: &str) -> Result<Envelope> {
        encoding::checked_json("envelope", serde_json::from_str(s), Envelope::check_shape)
    }

    /// [`Envelope::from_json`] for an already parsed JSON value, failing the same ways.
    pub fn from_value(v: serde_json::Value) -> Result<Envelope> {
        encoding::checked_json("envelope", serde_json::from_value(v), Envelope::check_shape)
    }

    /// The envelope's canonical JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Everything checkable without keys: version, ids, numbers, content type,
    /// chunk size, canonical ciphertext length, the 100 MiB cap.
    /// Fails with [`Error::Invalid`] naming the field.
    pub fn check_shape(&self) -> Result<()> {
        if self.v != 1 {
            return Err(Error::invalid("v", "only version 1 is supported"));
        }
        encoding::validate_uuid_v4("message_id", &self.message_id)?;
        encoding::validate_id32("sender_org_id", &self.sender_org_id)?;
        encoding::validate_id32("sender_bundle_id", &self.sender_bundle_id)?;
        encoding::validate_id32("recipient_org_id", &self.recipient_org_id)?;
        encoding::validate_id32("recipient_bundle_id", &self.recipient_bundle_id)?;
        e164::validate("from_number", &self.from_number)?;
        e164::validate("to_number", &self.to_number)?;
        if self.from_name.len() > MAX_FROM_NAME_LEN {
            return Err(Error::invalid("from_name", format!("longer than {MAX_FROM_NAME_LEN} bytes")));
        }
        if self.from_name.chars().any(char::is_control) {
            return Err(Error::invalid("from_name", "contains control characters"));
        }
        if self.content_type.is_empty()
            || self.content_type.len() > MAX_CONTENT_TYPE_LEN
            || !self.content_type.bytes().all(|b| (0x21..0x7f).contains(&b) || b == b' ')
        {
            return Err(Error::invalid("content_type", "must be a printable ASCII media type"));
        }
        if self.ciphertext_len > MAX_CIPHERTEXT_LEN {
            return Err(Error::invalid("ciphertext_len", format!("exceeds the cap of {MAX_CIPHERTEXT_LEN} bytes")));
        }
        stream::plaintext_len(self.ciphertext_len, self.chunk_size)?;
        Ok(())
    }

    /// The plaintext length implied by the (canonical) ciphertext length.
    /// Fails with [`Error::Invalid`] for an invalid chunk size or a non-canonical length.
    pub fn plaintext_len(&self) -> Result<u64> {
        stream::plaintext_len(self.ciphertext_len, self.chunk_size)
    }

    /// `envelope_tbs`.
    pub fn tbs(&self) -> Vec<u8> {
        Transcript::new("fxe/v1 envelope")
            .str(&self.message_id)
            .u64(self.created_at)
            .str(&self.sender_org_id)
            .str(&self.sender_bundle_id)
            .str(&self.recipient_org_id)
            .str(&self.recipient_bundle_id)
            .str(&self.from_number)
            .str(&self.from_name)
            .str(&self.to_number)
            .str(&self.content_type)
            .u64(self.chunk_size)
            .u64(self.ciphertext_len)
            .bytes(&self.ciphertext_sha256)
            .bytes(&self.kem_ct)
            .bytes(&self.wrapped_cek)
            .bytes(&self.cek_commit)
            .finish()
    }

    /// `envelope_hash = H(envelope_tbs || envelope_sig)`.
    pub fn hash(&self) -> [u8; 32] {
        let mut t = self.tbs();
        t.extend_from_slice(&self.sig);
        sha256(&t)
    }

    /// [`Envelope::hash`] in lowercase hex, as the API shows it.
    pub fn hash_hex(&self) -> String {
        encoding::hex_encode(&self.hash())
    }

    /// Verifies `sig` with the sender bundle's signing key; the bundle must be
    /// the one the envelope names. (The bundle's own chain is checked separately.)
    /// Fails with [`Error::Open`] ([`OpenError::SenderBundleMismatch`]) for another bundle, or [`Error::BadSignature`].
    pub fn verify_signature(&self, sender_bundle: &Bundle) -> Result<()> {
        if sender_bundle.bundle_id != self.sender_bundle_id || sender_bundle.org_id != self.sender_org_id {
            return Err(OpenError::SenderBundleMismatch.into());
        }
        sign::verify(&sender_bundle.sign_pub, &self.tbs(), &self.sig, "envelope")
    }
}

/// Everything a sender states about one fax.
#[derive(Clone, Debug)]
pub struct SealRequest<'a> {
    /// The message's id (a lowercase UUIDv4, see [`crate::encoding::new_uuid_v4`]).
    pub message_id: &'a str,
    /// When it is sealed (unix seconds).
    pub created_at: u64,
    /// The sender's active bundle with its signing key.
    pub sender: &'a BundleKeys,
    /// The recipient's identity, against which `recipient_bundle` is verified.
    pub recipient_identity_pub: &'a [u8; 32],
    /// The recipient's active bundle, as the directory gave it.
    pub recipient_bundle: &'a Bundle,
    /// The sender's number (E.164), one the sending org holds.
    pub from_number: &'a str,
    /// The caller name to show (may be empty; at most [`MAX_FROM_NAME_LEN`] bytes).
    pub from_name: &'a str,
    /// The recipient's number (E.164).
    pub to_number: &'a str,
    /// The payload's media type ([`CONTENT_TYPE_PDF`] for faxes).
    pub content_type: &'a str,
    /// The plaintext chunk size (normally [`crate::stream::V1_CHUNK_SIZE`]).
    pub chunk_size: u64,
}

/// The sender's randomness: the content key and the X-Wing encapsulation seed.
pub struct SealRandomness {
    /// The content key.
    pub cek: Zeroizing<[u8; 32]>,
    /// The seed of the X-Wing encapsulation.
    pub kem_eseed: Zeroizing<[u8; 64]>,
}

impl SealRandomness {
    /// Fresh randomness from the system; fails only with [`Error::Rng`].
    pub fn random() -> Result<Self> {
        Ok(SealRandomness {
            cek: Zeroizing::new(crate::random_bytes()?),
            kem_eseed: Zeroizing::new(crate::random_bytes()?),
        })
    }
}

/// Seals one message chunk by chunk; [`Sealer::finish`] signs the envelope.
pub struct Sealer {
    header: Envelope,
    payload: PayloadSealer,
    payload_key: Zeroizing<[u8; 32]>,
    signing: sign::SecretSigningKey,
}

impl Sealer {
    /// Starts sealing: verifies the recipient bundle against its identity, checks every header field, and wraps a content key to the bundle. Fails with [`Error::BadBundle`], [`Error::Invalid`] or [`Error::Seal`].
    pub fn new(req: &SealRequest<'_>, rnd: SealRandomness) -> Result<Sealer> {
        req.recipient_bundle.verify(req.recipient_identity_pub)?;
        let sender = &req.sender.bundle;
        let mut header = Envelope {
            v: 1,
            message_id: req.message_id.to_owned(),
            created_at: req.created_at,
            sender_org_id: sender.org_id.clone(),
            sender_bundle_id: sender.bundle_id.clone(),
            recipient_org_id: req.recipient_bundle.org_id.clone(),
            recipient_bundle_id: req.recipient_bundle.bundle_id.clone(),
            from_number: req.from_number.to_owned(),
            from_name: req.from_name.to_owned(),
            to_number: req.to_number.to_owned(),
            content_type: req.content_type.to_owned(),
            chunk_size: req.chunk_size,
            ciphertext_len: stream::ciphertext_len(0, req.chunk_size),
            ciphertext_sha256: [0; 32],
            kem_ct: vec![0; crate::kem::CIPHERTEXT_LEN],
            wrapped_cek: [0; 48],
            cek_commit: [0; 32],
            sig: [0; 64],
        };
        header.check_shape()?;

        let (kem_ct, ss) = req.recipient_bundle.kem_public()?.encapsulate_derand(&rnd.kem_eseed);
        let kek = kek(
            &ss,
            &header.message_id,
            &header.sender_org_id,
            &header.sender_bundle_id,
            &header.recipient_org_id,
            &header.recipient_bundle_id,
        );
        let mut wrapped = rnd.cek.to_vec();
        let tag = Aes256Gcm::new(&(*kek).into())
            .encrypt_inout_detached(&[0u8; 12].into(), &wrap_aad(&header.message_id), wrapped.as_mut_slice().into())
            .map_err(|_| Error::Seal("key wrap failed"))?;
        wrapped.extend_from_slice(tag.as_slice());
        header.wrapped_cek = wrapped.as_slice().try_into().map_err(|_| Error::Seal("key wrap length"))?;
        header.kem_ct = kem_ct;
        let keys = derive_from_cek(&rnd.cek, &header.message_id);
        header.cek_commit = keys.cek_commit;
        let payload = PayloadSealer::new(&keys.payload_key, req.chunk_size)?;
        Ok(Sealer { header, payload, payload_key: keys.payload_key, signing: req.sender.signing.clone() })
    }

    /// For a caller that runs the chunks' AES-256-GCM itself (the browser, through
    /// WebCrypto): the [`ChunkPlan`] of a `plaintext_len`-byte payload, to be
    /// reported chunk by chunk to the [`PlannedSeal`] and finished with the
    /// ciphertext's SHA-256. Fails with [`Error::Invalid`] for a plaintext whose
    /// ciphertext would exceed [`MAX_CIPHERTEXT_LEN`], or [`Error::Seal`] once a chunk was sealed here.
    pub fn plan(self, plaintext_len: u64) -> Result<PlannedSeal> {
        if self.payload.started() {
            return Err(Error::Seal("chunks were already sealed"));
        }
        let plan = ChunkPlan::new(&self.payload_key, self.header.chunk_size, plaintext_len, MAX_CIPHERTEXT_LEN)?;
        Ok(PlannedSeal { header: self.header, progress: PlanProgress::new(plan), signing: self.signing })
    }

    /// The plaintext chunk size: every chunk but the last has exactly this many bytes.
    pub fn chunk_size(&self) -> usize {
        self.payload.chunk_size()
    }

    /// Seals one chunk in place, appending its tag. `buf` must hold exactly one
    /// full chunk, or for the `last` chunk 1..=chunk_size bytes (0 only when it is
    /// also the first); anything else, or a chunk after the last, fails with [`Error::Seal`].
    pub fn seal_in_place(&mut self, buf: &mut Vec<u8>, last: bool) -> Result<()> {
        self.payload.seal_in_place(buf, last)
    }

    /// Seals one chunk, returning the sealed bytes.
    /// Fails as [`Sealer::seal_in_place`] does.
    pub fn seal_chunk(&mut self, chunk: &[u8], last: bool) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(chunk.len() + stream::TAG_SIZE);
        buf.extend_from_slice(chunk);
        self.seal_in_place(&mut buf, last)?;
        Ok(buf)
    }

    /// Completes the header with the ciphertext length and hash and signs it.
    /// Fails with [`Error::Seal`] unless the last chunk was sealed.
    pub fn finish(self) -> Result<Envelope> {
        let (len, hash) = self.payload.finish()?;
        let mut header = self.header;
        header.ciphertext_len = len;
        header.ciphertext_sha256 = hash;
        header.check_shape()?;
        header.sig = self.signing.sign(&header.tbs());
        Ok(header)
    }
}

/// A message being sealed by a caller that runs each chunk's AES-256-GCM itself,
/// with the key, nonce and AAD of [`PlannedSeal::plan`]; [`PlannedSeal::finish`]
/// signs the envelope once every chunk was reported, in order, with its length.
pub struct PlannedSeal {
    header: Envelope,
    progress: PlanProgress,
    signing: sign::SecretSigningKey,
}

impl PlannedSeal {
    /// What to seal: the payload key and every chunk's nonce, offsets and lengths.
    pub fn plan(&self) -> &ChunkPlan {
        self.progress.plan()
    }

    /// Records that `chunk` (the plan's next) was sealed into `sealed_len` bytes.
    /// Fails with [`Error::Seal`] for a chunk out of order or a length that is not the plan's.
    pub fn sealed(&mut self, chunk: &PlannedChunk, sealed_len: usize) -> Result<()> {
        self.progress.record(chunk, sealed_len, chunk.ciphertext_len).map_err(Error::Seal)
    }

    /// Completes the header with the ciphertext's length and `ciphertext_sha256`
    /// (the SHA-256 of every sealed chunk in order) and signs it.
    /// Fails with [`Error::Seal`] unless every chunk was sealed.
    pub fn finish(self, ciphertext_sha256: [u8; 32]) -> Result<Envelope> {
        if !self.progress.is_complete() {
            return Err(Error::Seal("the payload was not finished with a last chunk"));
        }
        let mut header = self.header;
        header.ciphertext_len = self.progress.plan().ciphertext_len();
        header.ciphertext_sha256 = ciphertext_sha256;
        header.check_shape()?;
        header.sig = self.signing.sign(&header.tbs());
        Ok(header)
    }
}

/// Seals everything `reader` yields into `writer`, one chunk in memory at a time
/// (plus one chunk of read-ahead to know which chunk is last).
/// Fails with [`Error::Io`] when reading or writing fails, or as [`Sealer::new`] does.
pub fn seal_stream<R: Read, W: Write>(
    req: &SealRequest<'_>, rnd: SealRandomness, mut reader: R, mut writer: W,
) -> Result<Envelope> {
    let mut sealer = Sealer::new(req, rnd)?;
    let cs = sealer.chunk_size();
    seal_chunks(
        cs,
        &mut reader,
        |buf, last| sealer.seal_in_place(buf, last),
        |sealed| writer.write_all(sealed).map_err(|e| Error::Io(e.to_string())),
    )?;
    writer.flush().map_err(|e| Error::Io(e.to_string()))?;
    sealer.finish()
}

/// The chunking of [`seal_stream`]: reads `reader` in chunks of `cs` bytes (one chunk of
/// read-ahead to know which is last), seals each with `seal` and hands it to `sink`,
/// refusing a plaintext whose ciphertext would exceed [`MAX_CIPHERTEXT_LEN`].
fn seal_chunks<R: Read>(
    cs: usize, reader: &mut R, mut seal: impl FnMut(&mut Vec<u8>, bool) -> Result<()>,
    mut sink: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut cur = Vec::with_capacity(cs + 16);
    let mut next = Vec::with_capacity(cs + 16);
    stream::read_up_to(reader, &mut cur, cs)?;
    let mut written: u64 = 0;
    loop {
        let last = cur.len() < cs || stream::read_up_to(reader, &mut next, cs)? == 0;
        written += cur.len() as u64 + stream::TAG_LEN;
        if written > MAX_CIPHERTEXT_LEN {
            return Err(Error::invalid(
                "plaintext",
                format!("too large: the sealed fax would exceed {MAX_CIPHERTEXT_LEN} bytes"),
            ));
        }
        seal(&mut cur, last)?;
        sink(&cur)?;
        if last {
            return Ok(());
        }
        std::mem::swap(&mut cur, &mut next);
    }
}

/// `cek_commit = HKDF(CEK, "", T("fxe/v1 commit", message_id), 32)` (PROTOCOL.md §4 step 5).
pub fn cek_commit(cek: &[u8; 32], message_id: &str) -> [u8; 32] {
    derive_from_cek(cek, message_id).cek_commit
}

/// Seals `reader` again with the content key `cek` of message `message_id` (the
/// STREAM payload is deterministic given both) and returns the ciphertext's length
/// and SHA-256, without keeping it: what a proof's verifier compares with the
/// envelope's `ciphertext_len` and `ciphertext_sha256`. One chunk in memory at a time.
/// Fails with [`Error::Invalid`] for an invalid chunk size or a plaintext over the cap, or [`Error::Io`].
pub fn reseal_digest<R: Read>(
    cek: &[u8; 32], message_id: &str, chunk_size: u64, mut reader: R,
) -> Result<(u64, [u8; 32])> {
    let keys = derive_from_cek(cek, message_id);
    let mut sealer = PayloadSealer::new(&keys.payload_key, chunk_size)?;
    let cs = sealer.chunk_size();
    seal_chunks(cs, &mut reader, |buf, last| sealer.seal_in_place(buf, last), |_| Ok(()))?;
    sealer.finish()
}

/// The content key of `envelope`, unwrapped with the secrets of the bundle it was sealed
/// to (one of `bundles`) and checked against `cek_commit`. The envelope's signature is
/// not checked here ([`Opener::new`] does that first).
/// Fails with [`Error::Open`]: [`OpenError::UnknownRecipientBundle`], [`OpenError::Decapsulation`],
/// [`OpenError::Unwrap`] or [`OpenError::Commitment`].
pub fn unwrap_cek(envelope: &Envelope, bundles: &[BundleKeys]) -> Result<Zeroizing<[u8; 32]>> {
    let bundle = bundles
        .iter()
        .find(|b| b.bundle.bundle_id == envelope.recipient_bundle_id)
        .ok_or(Error::Open(OpenError::UnknownRecipientBundle))?;
    let ss = bundle.kem.decapsulate(&envelope.kem_ct).map_err(|_| Error::Open(OpenError::Decapsulation))?;
    let kek = kek(
        &ss,
        &envelope.message_id,
        &envelope.sender_org_id,
        &envelope.sender_bundle_id,
        &envelope.recipient_org_id,
        &envelope.recipient_bundle_id,
    );
    let mut cek = Zeroizing::new(envelope.wrapped_cek[..32].to_vec());
    let tag: [u8; 16] = envelope.wrapped_cek[32..].try_into().map_err(|_| Error::Open(OpenError::Unwrap))?;
    Aes256Gcm::new(&(*kek).into())
        .decrypt_inout_detached(
            &[0u8; 12].into(),
            &wrap_aad(&envelope.message_id),
            cek.as_mut_slice().into(),
            &tag.into(),
        )
        .map_err(|_| Error::Open(OpenError::Unwrap))?;
    let cek: Zeroizing<[u8; 32]> =
        Zeroizing::new(cek.as_slice().try_into().map_err(|_| Error::Open(OpenError::Unwrap))?);
    if !bool::from(cek_commit(&cek, &envelope.message_id).ct_eq(&envelope.cek_commit)) {
        return Err(OpenError::Commitment.into());
    }
    Ok(cek)
}

/// Seals an in-memory plaintext with fresh randomness.
/// Fails as [`seal_stream`] does, or with [`Error::Rng`].
pub fn seal(req: &SealRequest<'_>, plaintext: &[u8]) -> Result<(Envelope, Vec<u8>)> {
    seal_with(req, SealRandomness::random()?, plaintext)
}

/// Seals an in-memory plaintext with the given randomness (known-answer vectors).
/// Fails as [`seal_stream`] does.
pub fn seal_with(req: &SealRequest<'_>, rnd: SealRandomness, plaintext: &[u8]) -> Result<(Envelope, Vec<u8>)> {
    // Sized before the request is checked: bounded by the cap, whatever the chunk size.
    let capacity = stream::ciphertext_len(plaintext.len() as u64, req.chunk_size).min(MAX_CIPHERTEXT_LEN + 16);
    let mut out = Vec::with_capacity(capacity as usize);
    let env = seal_stream(req, rnd, plaintext, &mut out)?;
    Ok((env, out))
}

/// What a receiver holds: its org id, its numbers and every bundle it has had.
#[derive(Clone, Copy, Debug)]
pub struct Recipient<'a> {
    /// The receiving org's id.
    pub org_id: &'a str,
    /// The numbers it holds (E.164).
    pub numbers: &'a [String],
    /// Every bundle it has had with its secrets (messages sealed to retired bundles still open).
    pub bundles: &'a [BundleKeys],
}

/// Opens one message chunk by chunk, after the header checks of PROTOCOL.md §4
/// passed. Each chunk is released only after its tag verifies; [`Opener::finish`]
/// fails unless the final chunk was opened and the ciphertext hash matches.
#[must_use = "an Opener must be finished: a payload without its final chunk is an error"]
pub struct Opener {
    envelope: Envelope,
    payload: PayloadOpener,
    payload_key: Zeroizing<[u8; 32]>,
    /// The whole ciphertext's length and hash were checked before any chunk (in-memory open).
    prechecked: bool,
}

impl Opener {
    /// Runs every header check in order: sender bundle chain, envelope signature,
    /// recipient org, number and bundle, decapsulation, unwrap, commitment.
    /// `sender_identity_pub` must come from a trusted source (pins).
    /// Fails with the [`Error::Open`] of the first check that fails (or [`Error::Invalid`] for a malformed envelope).
    pub fn new(
        envelope: &Envelope, sender_identity_pub: &[u8; 32], sender_bundle: &Bundle, recipient: &Recipient<'_>,
    ) -> Result<Opener> {
        check_sender(envelope, sender_identity_pub, sender_bundle)?;
        Self::after_signature(envelope, recipient)
    }

    fn after_signature(envelope: &Envelope, recipient: &Recipient<'_>) -> Result<Opener> {
        if envelope.recipient_org_id != recipient.org_id {
            return Err(OpenError::WrongRecipientOrg.into());
        }
        if !recipient.numbers.contains(&envelope.to_number) {
            return Err(OpenError::WrongRecipientNumber.into());
        }
        let cek = unwrap_cek(envelope, recipient.bundles)?;
        let keys = derive_from_cek(&cek, &envelope.message_id);
        let payload = PayloadOpener::new(&keys.payload_key, envelope.chunk_size, envelope.ciphertext_len)?;
        Ok(Opener { envelope: envelope.clone(), payload, payload_key: keys.payload_key, prechecked: false })
    }

    /// For a caller that runs the chunks' AES-256-GCM itself (the browser, through
    /// WebCrypto), after every header check passed: the [`ChunkPlan`] of the
    /// envelope's payload, whose chunks are reported to the [`PlannedOpen`] in
    /// order and which [`PlannedOpen::finish`] checks against the envelope's
    /// ciphertext length and SHA-256. Fails with [`Error::Open`] once a chunk was opened here.
    pub fn plan(self) -> Result<PlannedOpen> {
        if !self.payload.is_unstarted() {
            return Err(OpenError::ChunkTag.into());
        }
        let plaintext_len = self.envelope.plaintext_len()?;
        let plan =
            ChunkPlan::new(&self.payload_key, self.envelope.chunk_size, plaintext_len, self.envelope.ciphertext_len)?;
        Ok(PlannedOpen { envelope: self.envelope, progress: PlanProgress::new(plan) })
    }

    /// The envelope being opened (checked).
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// How many sealed bytes the next chunk has; `None` once the final chunk is opened.
    pub fn next_chunk_len(&self) -> Option<usize> {
        self.payload.next_chunk_len()
    }

    /// Opens the next sealed chunk in place, removing its tag. `buf` must be
    /// exactly [`Opener::next_chunk_len`] bytes; on any error (an [`Error::Open`])
    /// `buf` is wiped, so nothing unauthenticated is released.
    pub fn open_in_place(&mut self, buf: &mut Vec<u8>) -> Result<()> {
        self.payload.open_in_place(buf)
    }

    /// Fails unless the whole payload was opened and its length and hash are the envelope's.
    pub fn finish(self) -> Result<()> {
        let (len, hash) = self.payload.finish()?;
        if self.prechecked {
            return Ok(());
        }
        if len != self.envelope.ciphertext_len {
            return Err(OpenError::CiphertextLength.into());
        }
        if !bool::from(hash.ct_eq(&self.envelope.ciphertext_sha256)) {
            return Err(OpenError::CiphertextHash.into());
        }
        Ok(())
    }
}

/// A message whose header checks passed, being opened by a caller that runs each
/// chunk's AES-256-GCM itself with the key, nonce and AAD of [`PlannedOpen::plan`].
/// Nothing may be shown before [`PlannedOpen::finish`] succeeds.
#[must_use = "a PlannedOpen must be finished: it checks the final chunk, the length and the hash"]
pub struct PlannedOpen {
    envelope: Envelope,
    progress: PlanProgress,
}

impl PlannedOpen {
    /// The envelope being opened (checked).
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// What to open: the payload key and every chunk's nonce, offsets and lengths.
    pub fn plan(&self) -> &ChunkPlan {
        self.progress.plan()
    }

    /// Records that `chunk` (the plan's next) authenticated and gave `plaintext_len` bytes.
    /// A chunk whose tag does not verify is [`OpenError::ChunkTag`]: report it as such, never here.
    /// Fails with [`Error::Open`] ([`OpenError::ChunkTag`]) for a chunk out of order or of the wrong length.
    pub fn opened(&mut self, chunk: &PlannedChunk, plaintext_len: usize) -> Result<()> {
        self.progress.record(chunk, plaintext_len, chunk.plaintext_len).map_err(|_| Error::Open(OpenError::ChunkTag))
    }

    /// Fails unless every chunk was opened and the ciphertext seen (`ciphertext_len`
    /// bytes with SHA-256 `ciphertext_sha256`) is the envelope's.
    /// Fails with [`Error::Open`]: [`OpenError::MissingFinalChunk`], [`OpenError::CiphertextLength`] or [`OpenError::CiphertextHash`].
    pub fn finish(self, ciphertext_len: u64, ciphertext_sha256: [u8; 32]) -> Result<()> {
        if !self.progress.is_complete() {
            return Err(OpenError::MissingFinalChunk.into());
        }
        if ciphertext_len != self.envelope.ciphertext_len {
            return Err(OpenError::CiphertextLength.into());
        }
        if !bool::from(ciphertext_sha256.ct_eq(&self.envelope.ciphertext_sha256)) {
            return Err(OpenError::CiphertextHash.into());
        }
        Ok(())
    }
}

/// Opens a ciphertext read from `reader` into `writer`, chunk by chunk. Each
/// chunk reaches `writer` only after it authenticates. On `Err`, what was
/// written must be discarded (write to a temporary file and publish only on `Ok`).
pub fn open_stream<R: Read, W: Write>(
    envelope: &Envelope, sender_identity_pub: &[u8; 32], sender_bundle: &Bundle, recipient: &Recipient<'_>,
    mut reader: R, mut writer: W,
) -> Result<()> {
    let mut opener = Opener::new(envelope, sender_identity_pub, sender_bundle, recipient)?;
    // Only a capacity: the opener checked the chunk size, so this is at most 16 MiB + 16.
    let mut buf =
        Zeroizing::new(Vec::with_capacity(usize::try_from(envelope.chunk_size + stream::TAG_LEN).unwrap_or(0)));
    while let Some(want) = opener.next_chunk_len() {
        if stream::read_up_to(&mut reader, &mut buf, want)? != want {
            return Err(OpenError::MissingFinalChunk.into());
        }
        opener.open_in_place(&mut buf)?;
        writer.write_all(&buf).map_err(|e| Error::Io(e.to_string()))?;
    }
    let mut probe = [0u8; 1];
    loop {
        match reader.read(&mut probe) {
            Ok(0) => break,
            Ok(_) => return Err(OpenError::TrailingData.into()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Io(e.to_string())),
        }
    }
    opener.finish()?;
    writer.flush().map_err(|e| Error::Io(e.to_string()))
}

/// Opens an in-memory ciphertext in exactly the order of PROTOCOL.md §4: chain,
/// signature, ciphertext length and hash, recipient, decapsulate, unwrap,
/// commitment, chunks. Returns the plaintext only if every check passes.
/// Fails with the [`Error::Open`] of the first check that fails (or [`Error::Invalid`] for a malformed envelope).
pub fn open(
    envelope: &Envelope, sender_identity_pub: &[u8; 32], sender_bundle: &Bundle, recipient: &Recipient<'_>,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    check_sender(envelope, sender_identity_pub, sender_bundle)?;
    check_ciphertext(envelope, ciphertext)?;
    let mut opener = Opener::after_signature(envelope, recipient)?;
    // The hash of the whole ciphertext was just checked: each chunk is not hashed again.
    opener.payload = opener.payload.without_hashing();
    opener.prechecked = true;
    let mut out = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    let mut rest = ciphertext;
    let mut buf = Zeroizing::new(Vec::new());
    while let Some(want) = opener.next_chunk_len() {
        let (chunk, tail) = rest.split_at(want.min(rest.len()));
        buf.clear();
        buf.extend_from_slice(chunk);
        opener.open_in_place(&mut buf)?;
        out.extend_from_slice(&buf);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(OpenError::TrailingData.into());
    }
    opener.finish()?;
    Ok(out)
}

/// The checks before any key of the recipient is used: the envelope's shape, the sender
/// bundle's chain to `sender_identity_pub` and the envelope's signature by that bundle.
/// Fails with [`Error::Invalid`] for a malformed envelope, or [`Error::Open`]:
/// [`OpenError::SenderBundle`] or [`OpenError::EnvelopeSignature`].
fn check_sender(envelope: &Envelope, sender_identity_pub: &[u8; 32], sender_bundle: &Bundle) -> Result<()> {
    envelope.check_shape()?;
    sender_bundle.verify(sender_identity_pub).map_err(|_| Error::Open(OpenError::SenderBundle))?;
    envelope.verify_signature(sender_bundle).map_err(|e| match e {
        Error::Open(o) => Error::Open(o),
        _ => Error::Open(OpenError::EnvelopeSignature),
    })
}

/// Checks a whole ciphertext's length and SHA-256 against the envelope.
/// Fails with [`Error::Open`]: [`OpenError::CiphertextLength`] or [`OpenError::CiphertextHash`].
pub fn check_ciphertext(envelope: &Envelope, ciphertext: &[u8]) -> Result<()> {
    let mut h = CiphertextHasher::new();
    h.update(ciphertext);
    check_hashed(envelope, h)
}

/// Checks a hasher that saw a whole ciphertext against the envelope.
/// Fails with [`Error::Open`]: [`OpenError::CiphertextLength`] or [`OpenError::CiphertextHash`].
pub fn check_hashed(envelope: &Envelope, hasher: CiphertextHasher) -> Result<()> {
    let (len, hash) = hasher.finish();
    if len != envelope.ciphertext_len {
        return Err(OpenError::CiphertextLength.into());
    }
    if !bool::from(hash.ct_eq(&envelope.ciphertext_sha256)) {
        return Err(OpenError::CiphertextHash.into());
    }
    Ok(())
}
