//! Identity keys, org ids and fingerprints (PROTOCOL.md §3).

use crate::sign::SecretSigningKey;
use crate::transcript::{Transcript, sha256};
use crate::{Result, encoding};

fn org_digest(identity_pub: &[u8; 32]) -> [u8; 32] {
    sha256(&Transcript::new("fxe/v1 org").bytes(identity_pub).finish())
}

/// `org_id = hex(H(T("fxe/v1 org", identity_pub))[0..16])`
pub fn org_id(identity_pub: &[u8; 32]) -> String {
    encoding::hex_encode(&org_digest(identity_pub)[..16])
}

/// The full fingerprint, 64 hex characters in 8 groups of 8 separated by spaces.
pub fn fingerprint(identity_pub: &[u8; 32]) -> String {
    let h = encoding::hex_encode(&org_digest(identity_pub));
    h.as_bytes().chunks(8).map(|c| core::str::from_utf8(c).unwrap_or_default()).collect::<Vec<_>>().join(" ")
}

/// Compares a fingerprint a person typed (any spacing or case) with an identity.
pub fn fingerprint_matches(identity_pub: &[u8; 32], typed: &str) -> bool {
    let want: String = typed.chars().filter(|c| !c.is_whitespace() && *c != ':' && *c != '-').collect();
    let have = encoding::hex_encode(&org_digest(identity_pub));
    want.eq_ignore_ascii_case(&have)
}

/// The org's identity key (Ed25519). Never rotates.
#[derive(Clone, Debug)]
pub struct IdentityKey(pub(crate) SecretSigningKey);

impl IdentityKey {
    /// A new identity from the system's randomness; fails only with [`Error::Rng`](crate::Error::Rng).
    pub fn generate() -> Result<Self> {
        Ok(IdentityKey(SecretSigningKey::generate()?))
    }
    /// The identity whose Ed25519 seed is `seed` (deterministic).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        IdentityKey(SecretSigningKey::from_seed(seed))
    }
    /// The identity's secret seed, as kept in keys.zip.
    pub fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        self.0.seed()
    }
    /// The identity's Ed25519 public key (`identity_pub`).
    pub fn public(&self) -> [u8; 32] {
        self.0.public()
    }
    /// The org id this identity defines (see [`org_id`]).
    pub fn org_id(&self) -> String {
        org_id(&self.public())
    }
    /// The identity's fingerprint, for reading aloud (see [`fingerprint`]).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public())
    }
    /// An Ed25519 signature over `msg` (bundles and redeem proofs).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn org_id_and_fingerprint_shapes() {
        let id = IdentityKey::from_seed(&[1u8; 32]);
        let oid = id.org_id();
        assert_eq!(oid.len(), 32);
        let fp = id.fingerprint();
        assert_eq!(fp.len(), 64 + 7);
        assert!(fp.replace(' ', "").starts_with(&oid));
        assert!(fingerprint_matches(&id.public(), &fp.to_uppercase()));
        assert!(!fingerprint_matches(&id.public(), &oid));
    }
}
