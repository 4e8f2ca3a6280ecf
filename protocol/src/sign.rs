//! Ed25519 (RFC 8032, pure) with strict verification: non-canonical S, and
//! non-canonical or small-order A and R are rejected.

use crate::{Error, Result};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// An Ed25519 signing key held as its 32-byte seed; zeroized on drop.
pub struct SecretSigningKey(SigningKey);

impl SecretSigningKey {
    /// The key whose seed is `seed` (deterministic).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SecretSigningKey(SigningKey::from_bytes(seed))
    }

    /// A new key from the system's randomness; fails only with [`Error::Rng`].
    pub fn generate() -> Result<Self> {
        let seed = Zeroizing::new(crate::random_bytes::<32>()?);
        Ok(Self::from_seed(&seed))
    }

    /// The 32-byte seed, as kept in keys.zip.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The Ed25519 public key.
    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// An Ed25519 signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }
}

impl Clone for SecretSigningKey {
    fn clone(&self) -> Self {
        Self::from_seed(&self.seed())
    }
}

impl core::fmt::Debug for SecretSigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SecretSigningKey(public={})", crate::encoding::b64u_encode(&self.public()))
    }
}

/// Parses a public key, rejecting non-canonical encodings and small-order points.
pub fn parse_public(field: &'static str, bytes: &[u8; 32]) -> Result<VerifyingKey> {
    let point = curve25519_dalek::edwards::CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or_else(|| Error::invalid(field, "not a valid Ed25519 public key"))?;
    if point.compress().to_bytes() != *bytes {
        return Err(Error::invalid(field, "non-canonical Ed25519 public key"));
    }
    if point.is_small_order() {
        return Err(Error::invalid(field, "small-order Ed25519 public key"));
    }
    VerifyingKey::from_bytes(bytes).map_err(|_| Error::invalid(field, "not a valid Ed25519 public key"))
}

/// Strict verification of `sig` over `msg` by `public`.
/// Fails with [`Error::BadSignature`] naming `what`.
pub fn verify(public: &[u8; 32], msg: &[u8], sig: &[u8; 64], what: &'static str) -> Result<()> {
    let vk = parse_public("public key", public).map_err(|_| Error::BadSignature(what))?;
    let sig = ed25519_dalek::Signature::from_bytes(sig);
    vk.verify_strict(msg, &sig).map_err(|_| Error::BadSignature(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn sign_and_verify_strict() {
        let k = SecretSigningKey::from_seed(&[7u8; 32]);
        let sig = k.sign(b"hello");
        verify(&k.public(), b"hello", &sig, "test").unwrap();
        assert!(verify(&k.public(), b"hellO", &sig, "test").is_err());
        // S >= L is rejected: add L to S.
        let mut bad = sig;
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for i in 0..32 {
            let [low, high] = (u16::from(bad[32 + i]) + u16::from(l[i]) + carry).to_le_bytes();
            bad[32 + i] = low;
            carry = u16::from(high);
        }
        assert!(verify(&k.public(), b"hello", &bad, "test").is_err());
    }

    #[test]
    fn small_order_and_noncanonical_keys_rejected() {
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(parse_public("k", &identity).is_err());
        // y = p + 1 (non-canonical encoding of y = 1).
        let mut noncanon = [0xffu8; 32];
        noncanon[0] = 0xee;
        noncanon[31] = 0x7f;
        assert!(parse_public("k", &noncanon).is_err());
    }
}
