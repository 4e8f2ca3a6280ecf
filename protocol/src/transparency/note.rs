//! C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures (type
//! 0x01), timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature, type
//! 0x04), and verifier keys (`name+keyid+base64(type || key)`).

use super::LogError;
use crate::encoding::{b64_std_decode, b64_std_encode};
use crate::sign::{self, SecretSigningKey};
use sha2::{Digest, Sha256};

/// The signature type byte of a log's Ed25519 signature.
pub const TYPE_ED25519: u8 = 0x01;
/// The signature type byte of a witness's timestamped Ed25519 cosignature.
pub const TYPE_COSIGNATURE: u8 = 0x04;
/// The most signature lines a note may carry (the spec's floor is 16).
pub const MAX_SIGNATURES: usize = 100;
/// The largest note accepted, in bytes.
pub const MAX_NOTE_LEN: usize = 64 * 1024;
/// The line that starts a cosignature's signed message.
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// What a key signs: the log's checkpoints, or witnesses' cosignatures of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// An Ed25519 note signature (type 0x01): the log.
    Log,
    /// A timestamped Ed25519 cosignature (type 0x04): a witness.
    Witness,
}

impl KeyKind {
    fn type_byte(self) -> u8 {
        match self {
            KeyKind::Log => TYPE_ED25519,
            KeyKind::Witness => TYPE_COSIGNATURE,
        }
    }
}

/// A public key that signs notes, with its name and key id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoteKey {
    /// The key name (for a log: its origin).
    pub name: String,
    /// What it signs.
    pub kind: KeyKind,
    /// The Ed25519 public key.
    pub public: [u8; 32],
}

fn check_name(name: &str) -> Result<(), LogError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control()) || name.len() > 255 {
        return Err(LogError::malformed("key name", "must be 1–255 characters without spaces or '+'"));
    }
    Ok(())
}

impl NoteKey {
    /// A key named `name` of `kind`; fails when the name has spaces or '+' or the key is not a valid Ed25519 key.
    pub fn new(name: &str, kind: KeyKind, public: [u8; 32]) -> Result<NoteKey, LogError> {
        check_name(name)?;
        sign::parse_public("note key", &public).map_err(|e| LogError::malformed("note key", e.to_string()))?;
        Ok(NoteKey { name: name.to_owned(), kind, public })
    }

    /// `SHA-256(name || 0x0A || type || public)[:4]`, big-endian.
    pub fn key_id(&self) -> u32 {
        let mut h = Sha256::new();
        h.update(self.name.as_bytes());
        h.update([b'\n', self.kind.type_byte()]);
        h.update(self.public);
        let d: [u8; 32] = h.finalize().into();
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    /// The verifier key string: `name+<8 hex key id>+base64(type || public)`.
    pub fn vkey(&self) -> String {
        let mut material = vec![self.kind.type_byte()];
        material.extend_from_slice(&self.public);
        format!("{}+{:08x}+{}", self.name, self.key_id(), b64_std_encode(&material))
    }

    /// Parses a verifier key string; the key id must be the one its name and key give.
    pub fn from_vkey(s: &str) -> Result<NoteKey, LogError> {
        let bad = |why: &str| LogError::malformed("verifier key", why.to_owned());
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+keyid+key"));
        };
        if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(bad("the key id must be 8 lowercase hex digits"));
        }
        let bytes = b64_std_decode("verifier key", material).map_err(|e| bad(&e.to_string()))?;
        let (kind, key) = match bytes.split_first() {
            Some((&TYPE_ED25519, k)) => (KeyKind::Log, k),
            Some((&TYPE_COSIGNATURE, k)) => (KeyKind::Witness, k),
            _ => return Err(bad("unsupported signature type (want 0x01 or 0x04)")),
        };
        let public: [u8; 32] = key.try_into().map_err(|_| bad("the Ed25519 key must be 32 bytes"))?;
        let k = NoteKey::new(name, kind, public)?;
        if format!("{:08x}", k.key_id()) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(k)
    }

    /// The fingerprint people compare out of band: the hex SHA-256 of the verifier key string, in groups.
    pub fn fingerprint(&self) -> String {
        grouped_fingerprint(self.vkey().as_bytes())
    }
}

/// The hex SHA-256 of `bytes` in eight groups of eight, as people read fingerprints aloud.
pub(crate) fn grouped_fingerprint(bytes: &[u8]) -> String {
    let d: [u8; 32] = Sha256::digest(bytes).into();
    let hex = hex::encode(d);
    hex.as_bytes().chunks(8).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// A note signing key with its name and kind, in the Go/C2SP private key form
/// `PRIVATE+KEY+name+keyid+base64(type || seed)` (kept in a private file).
#[derive(Clone, Debug)]
pub struct NoteSigner {
    /// The public half.
    pub key: NoteKey,
    seed: SecretSigningKey,
}

impl NoteSigner {
    /// A new signer named `name` of `kind`, from the system's randomness.
    pub fn generate(name: &str, kind: KeyKind) -> Result<NoteSigner, LogError> {
        let seed = SecretSigningKey::generate().map_err(|e| LogError::malformed("note key", e.to_string()))?;
        Ok(NoteSigner { key: NoteKey::new(name, kind, seed.public())?, seed })
    }

    /// The signer with `seed`.
    pub fn from_seed(name: &str, kind: KeyKind, seed: &[u8; 32]) -> Result<NoteSigner, LogError> {
        let seed = SecretSigningKey::from_seed(seed);
        Ok(NoteSigner { key: NoteKey::new(name, kind, seed.public())?, seed })
    }

    /// The private key string (a secret: keep it in a file only its owner reads).
    pub fn to_private(&self) -> zeroize::Zeroizing<String> {
        let mut material = zeroize::Zeroizing::new(vec![self.key.kind.type_byte()]);
        material.extend_from_slice(self.seed.seed().as_ref());
        zeroize::Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.key.name,
            self.key.key_id(),
            b64_std_encode(&material)
        ))
    }

    /// Parses a private key string; the key id must match.
    pub fn from_private(s: &str) -> Result<NoteSigner, LogError> {
        let bad = |why: &str| LogError::malformed("private note key", why.to_owned());
        let rest =
            s.trim_end_matches('\n').strip_prefix("PRIVATE+KEY+").ok_or_else(|| bad("must start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected PRIVATE+KEY+name+keyid+key"));
        };
        let bytes = zeroize::Zeroizing::new(
            b64_std_decode("private note key", material).map_err(|_| bad("the key is not base64"))?,
        );
        let (kind, seed) = match bytes.split_first() {
            Some((&TYPE_ED25519, k)) => (KeyKind::Log, k),
            Some((&TYPE_COSIGNATURE, k)) => (KeyKind::Witness, k),
            _ => return Err(bad("unsupported signature type (want 0x01 or 0x04)")),
        };
        let seed: [u8; 32] = seed.try_into().map_err(|_| bad("the seed must be 32 bytes"))?;
        let signer = NoteSigner::from_seed(name, kind, &seed)?;
        if format!("{:08x}", signer.key.key_id()) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(signer)
    }

    /// The signing key.
    pub fn secret(&self) -> &SecretSigningKey {
        &self.seed
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The signer's key id.
    pub key_id: u32,
    /// The signature bytes after the key id (64 for Ed25519, 72 for a cosignature).
    pub sig: Vec<u8>,
}

impl NoteSignature {
    /// `— name base64(key id || sig)\n`.
    pub fn line(&self) -> String {
        let mut b = self.key_id.to_be_bytes().to_vec();
        b.extend_from_slice(&self.sig);
        format!("\u{2014} {} {}\n", self.name, b64_std_encode(&b))
    }

    fn is_by(&self, key: &NoteKey) -> bool {
        self.name == key.name && self.key_id == key.key_id()
    }
}

/// A signed note: its text (ending in a newline) and its signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, including its final newline.
    pub text: String,
    /// The signatures, in order.
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Parses a note: text, a blank line, then `— name base64` lines. Unknown keys are kept, unverified.
    pub fn parse(s: &str) -> Result<SignedNote, LogError> {
        let bad = |why: &str| LogError::malformed("signed note", why.to_owned());
        if s.len() > MAX_NOTE_LEN {
            return Err(bad("larger than 64 KiB"));
        }
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("contains control characters"));
        }
        let Some(split) = s.rfind("\n\n") else {
            return Err(bad("no blank line before the signatures"));
        };
        let text = &s[..=split];
        let sigs = &s[split + 2..];
        if !sigs.ends_with('\n') {
            return Err(bad("the last signature line does not end in a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return Err(bad("a signature line must start with an em dash and a space"));
            };
            let Some((name, b64)) = rest.split_once(' ') else {
                return Err(bad("a signature line is `— name signature`"));
            };
            check_name(name)?;
            let bytes = b64_std_decode("note signature", b64).map_err(|e| bad(&e.to_string()))?;
            if bytes.len() < 5 {
                return Err(bad("a signature is shorter than its key id"));
            }
            let key_id = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            signatures.push(NoteSignature { name: name.to_owned(), key_id, sig: bytes[4..].to_vec() });
            if signatures.len() > MAX_SIGNATURES {
                return Err(bad("more than 100 signatures"));
            }
        }
        if signatures.is_empty() {
            return Err(bad("no signatures"));
        }
        Ok(SignedNote { text: text.to_owned(), signatures })
    }

    /// The note's text form.
    pub fn format(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.line());
        }
        s
    }

    /// The signatures by `key` (name and key id both match).
    pub fn by<'a>(&'a self, key: &'a NoteKey) -> impl Iterator<Item = &'a NoteSignature> + 'a {
        self.signatures.iter().filter(move |s| s.is_by(key))
    }

    /// Checks the log key's signature: at least one line by `key`, and every line by it verifies.
    pub fn verify_log(&self, key: &NoteKey) -> Result<(), LogError> {
        let mut seen = false;
        for s in self.by(key) {
            let sig: [u8; 64] = s
                .sig
                .as_slice()
                .try_into()
                .map_err(|_| LogError::signature("the log's signature has the wrong length"))?;
            sign::verify(&key.public, self.text.as_bytes(), &sig, "checkpoint")
                .map_err(|_| LogError::signature("the log's signature does not verify"))?;
            seen = true;
        }
        if seen { Ok(()) } else { Err(LogError::signature("the note is not signed by the log's key")) }
    }

    /// The newest valid cosignature time by witness `key`, if it cosigned; an invalid line by it is an error.
    pub fn verify_cosignature(&self, key: &NoteKey) -> Result<Option<u64>, LogError> {
        let mut newest = None;
        for s in self.by(key) {
            let t = verify_cosignature_bytes(key, &self.text, &s.sig)?;
            newest = newest.max(Some(t));
        }
        Ok(newest)
    }

    /// Adds a signature line.
    pub fn push(&mut self, sig: NoteSignature) {
        self.signatures.push(sig);
    }
}

/// Signs `text` with the log's key: one Ed25519 signature line.
pub fn sign_note(text: &str, name: &str, key: &SecretSigningKey) -> Result<NoteSignature, LogError> {
    let k = NoteKey::new(name, KeyKind::Log, key.public())?;
    Ok(NoteSignature { name: k.name.clone(), key_id: k.key_id(), sig: key.sign(text.as_bytes()).to_vec() })
}

fn cosigned_message(time: u64, text: &str) -> Vec<u8> {
    format!("{COSIGNATURE_HEADER}time {time}\n{text}").into_bytes()
}

/// A witness's cosignature of a checkpoint's text at `time`: `u64be(time) || Ed25519(cosignature/v1 message)`.
pub fn cosign(text: &str, time: u64, name: &str, key: &SecretSigningKey) -> Result<NoteSignature, LogError> {
    let k = NoteKey::new(name, KeyKind::Witness, key.public())?;
    if time > i64::MAX as u64 {
        return Err(LogError::malformed("cosignature time", "beyond 2^63 − 1"));
    }
    let mut sig = time.to_be_bytes().to_vec();
    sig.extend_from_slice(&key.sign(&cosigned_message(time, text)));
    Ok(NoteSignature { name: k.name.clone(), key_id: k.key_id(), sig })
}

fn verify_cosignature_bytes(key: &NoteKey, text: &str, sig: &[u8]) -> Result<u64, LogError> {
    if sig.len() != 72 {
        return Err(LogError::signature(format!("witness {}'s cosignature has the wrong length", key.name)));
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&sig[..8]);
    let time = u64::from_be_bytes(t);
    if time > i64::MAX as u64 {
        return Err(LogError::signature(format!("witness {}'s cosignature time is beyond 2^63 − 1", key.name)));
    }
    let mut s = [0u8; 64];
    s.copy_from_slice(&sig[8..]);
    sign::verify(&key.public, &cosigned_message(time, text), &s, "cosignature")
        .map_err(|_| LogError::signature(format!("witness {}'s cosignature does not verify", key.name)))?;
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    // The example key and note of the Go reference implementation (golang.org/x/mod/sumdb/note).
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const SEED_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIG_LINE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn go_key() -> SecretSigningKey {
        let b = b64_std_decode("seed", SEED_B64).unwrap();
        assert_eq!(b[0], TYPE_ED25519);
        SecretSigningKey::from_seed(&b[1..].try_into().unwrap())
    }

    #[test]
    fn the_reference_note_verifies_and_signs_byte_for_byte() {
        let key = NoteKey::from_vkey(VKEY).unwrap();
        assert_eq!(key.name, "PeterNeumann");
        assert_eq!(key.key_id(), 0xc74f20a3);
        assert_eq!(key.vkey(), VKEY);
        let note = SignedNote::parse(&format!("{TEXT}\n{SIG_LINE}")).unwrap();
        assert_eq!(note.text, TEXT);
        note.verify_log(&key).unwrap();
        let sk = go_key();
        assert_eq!(sk.public(), key.public);
        assert_eq!(sign_note(TEXT, "PeterNeumann", &sk).unwrap().line(), SIG_LINE);
        // The Go private key form round-trips.
        let skey = format!("PRIVATE+KEY+PeterNeumann+c74f20a3+{SEED_B64}");
        let signer = NoteSigner::from_private(&skey).unwrap();
        assert_eq!(signer.key, key);
        assert_eq!(signer.to_private().as_str(), skey);
        assert!(NoteSigner::from_private(&skey.replace("c74f20a3", "c74f20a4")).is_err());
        assert!(NoteSigner::from_private(&skey[12..]).is_err());
        assert_eq!(note.format(), format!("{TEXT}\n{SIG_LINE}"));
        let tampered = SignedNote::parse(&format!("{}\n{SIG_LINE}", TEXT.replace("answer", "Answer"))).unwrap();
        assert!(tampered.verify_log(&key).is_err());
    }

    #[test]
    fn malformed_keys_and_notes_are_refused() {
        for bad in [
            "",
            "PeterNeumann",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+AhpfAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
        ] {
            assert!(NoteKey::from_vkey(bad).is_err(), "{bad}");
        }
        for bad in [
            TEXT.to_owned(),
            format!("{TEXT}{SIG_LINE}"),
            format!("{TEXT}\n{}", SIG_LINE.trim_end()),
            format!("{TEXT}\n- PeterNeumann x08go/ZJku=\n"),
            format!("{TEXT}\n\u{2014} PeterNeumann AAAA\n"),
            format!("{TEXT}\u{7}\n{SIG_LINE}"),
            format!("{TEXT}\n"),
        ] {
            assert!(SignedNote::parse(&bad).is_err(), "{bad:?}");
        }
        let many = format!("{TEXT}\n{}", SIG_LINE.repeat(101));
        assert!(SignedNote::parse(&many).is_err());
    }

    #[test]
    fn cosignatures_carry_their_time_and_bind_the_text() {
        let sk = SecretSigningKey::from_seed(&[9; 32]);
        let key = NoteKey::new("witness.example/w1", KeyKind::Witness, sk.public()).unwrap();
        assert_eq!(NoteKey::from_vkey(&key.vkey()).unwrap(), key);
        let body = "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let mut note = SignedNote { text: body.into(), signatures: vec![] };
        note.push(cosign(body, 1_679_315_147, "witness.example/w1", &sk).unwrap());
        let note = SignedNote::parse(&note.format()).unwrap();
        assert_eq!(note.verify_cosignature(&key).unwrap(), Some(1_679_315_147));
        // A cosignature is not a log signature (another type byte, so another key id).
        let as_log = NoteKey::new("witness.example/w1", KeyKind::Log, sk.public()).unwrap();
        assert!(note.verify_log(&as_log).is_err());
        let mut other = note.clone();
        other.text = body.replace('5', "6");
        assert!(other.verify_cosignature(&key).is_err());
        let mut late = note.clone();
        late.signatures[0].sig[7] ^= 1;
        assert!(late.verify_cosignature(&key).is_err());
    }
}
