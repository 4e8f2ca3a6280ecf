//! Bundles (PROTOCOL.md §3): one X-Wing key and one Ed25519 signing key, signed
//! by the org's identity key.
//!
//! ```text
//! bundle_tbs = T("fxe/v1 bundle", org_id, u64 created_at, "X-Wing", kem_pub, sign_pub)
//! bundle_sig = Ed25519.sign(identity_sk, bundle_tbs)
//! bundle_id  = hex(H(bundle_tbs)[0..16])
//! ```

use crate::encoding::{self, serde_b64u};
use crate::ids::{IdentityKey, org_id};
use crate::kem::{KemPublic, KemSecret};
use crate::sign::{self, SecretSigningKey};
use crate::transcript::{Transcript, sha256};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The one KEM a v1 bundle may name.
pub const KEM_ALG: &str = "X-Wing";

/// A bundle in its JSON form. Parsing checks shapes; [`Bundle::verify`] checks
/// it against an identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct Bundle {
    /// The org the bundle belongs to: its id, derived from the identity key.
    pub org_id: String,
    /// When the bundle was made (unix seconds); a newer bundle replaces older ones.
    pub created_at: u64,
    /// Always [`KEM_ALG`].
    pub kem_alg: String,
    /// The X-Wing public key messages are sealed to ([`crate::kem::PUBLIC_LEN`] bytes).
    #[serde(with = "serde_kem_pub")]
    pub kem_pub: Vec<u8>,
    /// The Ed25519 key that signs the org's envelopes, receipts and refusals.
    #[serde(with = "serde_b64u")]
    pub sign_pub: [u8; 32],
    /// `hex(H(bundle_tbs)[0..16])`.
    pub bundle_id: String,
    /// The identity key's Ed25519 signature over the bundle's transcript.
    #[serde(with = "serde_b64u")]
    pub sig: [u8; 64],
}

encoding::object_only_serde!(Bundle);

mod serde_kem_pub {
    pub use crate::encoding::serde_b64u_len::serialize;
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        crate::encoding::serde_b64u_len::deserialize(d, "kem_pub", crate::kem::PUBLIC_LEN)
    }
}

fn tbs(org_id: &str, created_at: u64, kem_pub: &[u8], sign_pub: &[u8; 32]) -> Vec<u8> {
    Transcript::new("fxe/v1 bundle").str(org_id).u64(created_at).str(KEM_ALG).bytes(kem_pub).bytes(sign_pub).finish()
}

impl Bundle {
    /// Makes and signs a bundle for the given keys.
    pub fn make(identity: &IdentityKey, created_at: u64, kem: &KemSecret, signing: &SecretSigningKey) -> Bundle {
        let org_id = identity.org_id();
        let kem_pub = kem.public();
        let sign_pub = signing.public();
        let t = tbs(&org_id, created_at, &kem_pub, &sign_pub);
        let bundle_id = encoding::hex_encode(&sha256(&t)[..16]);
        let sig = identity.sign(&t);
        Bundle { org_id, created_at, kem_alg: KEM_ALG.into(), kem_pub, sign_pub, bundle_id, sig }
    }

    /// Parses a bundle's JSON and checks its shape ([`Bundle::check_shape`]); fails with [`Error::Json`] or [`Error::Invalid`].
    pub fn from_json(s: &str) -> Result<Bundle> {
        encoding::checked_json("bundle", serde_json::from_str(s), Bundle::check_shape)
    }

    /// The bundle's canonical JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks everything that does not need the identity: ids, algorithm, keys.
    /// Fails with [`Error::Invalid`] naming the field.
    pub fn check_shape(&self) -> Result<()> {
        encoding::validate_id32("bundle.org_id", &self.org_id)?;
        encoding::validate_id32("bundle.bundle_id", &self.bundle_id)?;
        if self.kem_alg != KEM_ALG {
            return Err(Error::invalid("bundle.kem_alg", format!("must be {KEM_ALG:?}")));
        }
        KemPublic::parse(&self.kem_pub)?;
        sign::parse_public("bundle.sign_pub", &self.sign_pub)?;
        Ok(())
    }

    /// The bytes the identity key signed.
    pub fn tbs(&self) -> Vec<u8> {
        tbs(&self.org_id, self.created_at, &self.kem_pub, &self.sign_pub)
    }

    /// Verifies the chain identity → bundle → org_id: the org id is the identity's,
    /// the bundle id is recomputed, the identity's signature verifies (strictly),
    /// and both keys are valid.
    /// Fails with [`Error::BadBundle`] naming the broken link.
    pub fn verify(&self, identity_pub: &[u8; 32]) -> Result<()> {
        self.check_shape().map_err(|_| Error::BadBundle("malformed keys or ids"))?;
        if org_id(identity_pub) != self.org_id {
            return Err(Error::BadBundle("org_id is not the identity's"));
        }
        let t = self.tbs();
        if encoding::hex_encode(&sha256(&t)[..16]) != self.bundle_id {
            return Err(Error::BadBundle("bundle_id does not match its contents"));
        }
        sign::verify(identity_pub, &t, &self.sig, "bundle").map_err(|_| Error::BadBundle("identity signature"))
    }

    /// The bundle's X-Wing public key; fails with [`Error::Invalid`] if it is not a valid key.
    pub fn kem_public(&self) -> Result<KemPublic> {
        KemPublic::parse(&self.kem_pub)
    }
}

/// A bundle with its secrets, as kept in keys.zip.
#[derive(Debug, Clone)]
pub struct BundleKeys {
    /// The signed public bundle.
    pub bundle: Bundle,
    /// Its X-Wing secret (shared: sealers and openers of one process hold the same key).
    pub kem: std::sync::Arc<KemSecret>,
    /// Its Ed25519 signing secret.
    pub signing: SecretSigningKey,
}

impl BundleKeys {
    /// A new bundle with fresh keys, signed by the identity.
    /// Fails only with [`Error::Rng`].
    pub fn generate(identity: &IdentityKey, created_at: u64) -> Result<BundleKeys> {
        let kem = KemSecret::generate()?;
        let signing = SecretSigningKey::generate()?;
        Ok(Self::from_parts(identity, created_at, kem, signing))
    }

    /// The bundle keys made from these seeds (deterministic), signed by the identity.
    pub fn from_seeds(
        identity: &IdentityKey, created_at: u64, kem_seed: &[u8; 32], sign_seed: &[u8; 32],
    ) -> BundleKeys {
        Self::from_parts(identity, created_at, KemSecret::from_seed(kem_seed), SecretSigningKey::from_seed(sign_seed))
    }

    fn from_parts(identity: &IdentityKey, created_at: u64, kem: KemSecret, signing: SecretSigningKey) -> BundleKeys {
        let bundle = Bundle::make(identity, created_at, &kem, &signing);
        BundleKeys { bundle, kem: std::sync::Arc::new(kem), signing }
    }

    /// Rebuilds from a stored bundle and its seeds, checking the seeds give its keys.
    /// Fails with [`Error::Invalid`] when a seed is not the bundle's.
    pub fn from_stored(bundle: Bundle, kem_seed: &[u8; 32], sign_seed: &[u8; 32]) -> Result<BundleKeys> {
        let kem = KemSecret::from_seed(kem_seed);
        let signing = SecretSigningKey::from_seed(sign_seed);
        if kem.public() != bundle.kem_pub {
            return Err(Error::invalid("kem_seed", format!("does not match bundle {}", bundle.bundle_id)));
        }
        if signing.public() != bundle.sign_pub {
            return Err(Error::invalid("sign_seed", format!("does not match bundle {}", bundle.bundle_id)));
        }
        Ok(BundleKeys { bundle, kem: std::sync::Arc::new(kem), signing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn make_and_verify() {
        let id = IdentityKey::from_seed(&[1; 32]);
        let bk = BundleKeys::from_seeds(&id, 1_700_000_000, &[2; 32], &[3; 32]);
        bk.bundle.verify(&id.public()).unwrap();
        let json = bk.bundle.to_json();
        let back = Bundle::from_json(&json).unwrap();
        assert_eq!(back, bk.bundle);
        back.verify(&id.public()).unwrap();

        let other = IdentityKey::from_seed(&[4; 32]);
        assert!(back.verify(&other.public()).is_err());
        let mut t = back.clone();
        t.created_at += 1;
        assert!(t.verify(&id.public()).is_err());
        let mut t = back.clone();
        t.sig[0] ^= 1;
        assert!(t.verify(&id.public()).is_err());
    }

    #[test]
    fn json_rejects_unknown_and_missing_fields() {
        let id = IdentityKey::from_seed(&[1; 32]);
        let bk = BundleKeys::from_seeds(&id, 5, &[2; 32], &[3; 32]);
        let mut v: serde_json::Value = serde_json::from_str(&bk.bundle.to_json()).unwrap();
        v["extra"] = 1.into();
        assert!(Bundle::from_json(&v.to_string()).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&bk.bundle.to_json()).unwrap();
        v.as_object_mut().unwrap().remove("sig");
        assert!(Bundle::from_json(&v.to_string()).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&bk.bundle.to_json()).unwrap();
        v["created_at"] = "5".into();
        assert!(Bundle::from_json(&v.to_string()).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&bk.bundle.to_json()).unwrap();
        v["created_at"] = serde_json::json!(5.0);
        assert!(Bundle::from_json(&v.to_string()).is_err());
    }

    #[test]
    fn seeds_must_match_bundle() {
        let id = IdentityKey::from_seed(&[1; 32]);
        let bk = BundleKeys::from_seeds(&id, 5, &[2; 32], &[3; 32]);
        assert!(BundleKeys::from_stored(bk.bundle.clone(), &[2; 32], &[3; 32]).is_ok());
        assert!(BundleKeys::from_stored(bk.bundle.clone(), &[9; 32], &[3; 32]).is_err());
        assert!(BundleKeys::from_stored(bk.bundle, &[2; 32], &[9; 32]).is_err());
    }
}
