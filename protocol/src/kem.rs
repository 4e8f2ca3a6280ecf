//! X-Wing (draft-connolly-cfrg-xwing-kem-06): ML-KEM-768 + X25519.
//! Decapsulation rejects an all-zero X25519 shared secret; a public key whose
//! X25519 part is of low order is invalid.

use crate::error::OpenError;
use crate::{Error, Result};
use x_wing::{Decapsulator, KeyExport, TryDecapsulate};
use zeroize::Zeroizing;

/// The length of an X-Wing public (encapsulation) key: 1216 bytes.
pub const PUBLIC_LEN: usize = x_wing::ENCAPSULATION_KEY_SIZE;
/// The length of an X-Wing ciphertext: 1120 bytes.
pub const CIPHERTEXT_LEN: usize = x_wing::CIPHERTEXT_SIZE;

/// An X-Wing decapsulation key, held as its 32-byte seed.
pub struct KemSecret {
    seed: Zeroizing<[u8; 32]>,
    key: x_wing::DecapsulationKeyRejectNonContrib,
}

impl KemSecret {
    /// The decapsulation key expanded from its 32-byte seed (deterministic).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        KemSecret { seed: Zeroizing::new(*seed), key: x_wing::DecapsulationKeyRejectNonContrib::from(*seed) }
    }

    /// A new key from the system's randomness; fails only with [`Error::Rng`].
    pub fn generate() -> Result<Self> {
        let seed = Zeroizing::new(crate::random_bytes::<32>()?);
        Ok(Self::from_seed(&seed))
    }

    /// The 32-byte seed, as kept in keys.zip.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        self.seed.clone()
    }

    /// The public (encapsulation) key, [`PUBLIC_LEN`] bytes.
    pub fn public(&self) -> Vec<u8> {
        self.key.encapsulation_key().to_bytes().to_vec()
    }

    /// Decapsulates; fails on a malformed ciphertext or an all-zero X25519 secret.
    pub fn decapsulate(&self, ct: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let ct: &x_wing::Ciphertext =
            ct.try_into().map_err(|_| Error::invalid("kem_ct", format!("must be {CIPHERTEXT_LEN} bytes")))?;
        let ss = self.key.try_decapsulate(ct).map_err(|_| Error::Open(OpenError::Decapsulation))?;
        Ok(Zeroizing::new(ss.into()))
    }
}

impl core::fmt::Debug for KemSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KemSecret(..)")
    }
}

/// A checked X-Wing public key.
pub struct KemPublic(x_wing::EncapsulationKey);

impl KemPublic {
    /// Parses 1216 bytes; rejects a malformed ML-KEM key or a low-order X25519 key.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != PUBLIC_LEN {
            return Err(Error::invalid("kem_pub", format!("must be {PUBLIC_LEN} bytes, got {}", bytes.len())));
        }
        let x: [u8; 32] = bytes[PUBLIC_LEN - 32..].try_into().map_err(|_| Error::invalid("kem_pub", "length"))?;
        if is_low_order_x25519(&x) {
            return Err(Error::invalid("kem_pub", "the X25519 public key is of low order"));
        }
        let key = x_wing::EncapsulationKey::try_from(bytes)
            .map_err(|_| Error::invalid("kem_pub", "not a valid ML-KEM-768 encapsulation key"))?;
        Ok(KemPublic(key))
    }

    /// Encapsulates with fresh randomness.
    /// Fails only with [`Error::Rng`].
    pub fn encapsulate(&self) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>)> {
        let eseed = Zeroizing::new(crate::random_bytes::<64>()?);
        Ok(self.encapsulate_derand(&eseed))
    }

    /// Encapsulates with the given 64 bytes: ML-KEM randomness, then the ephemeral
    /// X25519 secret (X-Wing's EncapsulateDerand). For known-answer vectors.
    pub fn encapsulate_derand(&self, eseed: &[u8; 64]) -> (Vec<u8>, Zeroizing<[u8; 32]>) {
        let rand = x_wing::kem::common::array::Array::from(*eseed);
        let (ct, ss) = self.0.encapsulate_deterministic(&rand);
        (ct.to_vec(), Zeroizing::new(ss.into()))
    }
}

/// True when `u` is a low-order point of Curve25519 or its twist: multiplying by
/// any clamped scalar (a multiple of the cofactor 8) gives the all-zero output.
pub(crate) fn is_low_order_x25519(u: &[u8; 32]) -> bool {
    let probe = x25519_dalek::StaticSecret::from([0x5a; 32]);
    !probe.diffie_hellman(&x25519_dalek::PublicKey::from(*u)).was_contributory()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn low_order_points_detected() {
        assert!(is_low_order_x25519(&[0u8; 32]));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(is_low_order_x25519(&one));
        let base = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([3u8; 32]));
        assert!(!is_low_order_x25519(base.as_bytes()));
    }

    #[test]
    fn roundtrip() {
        let sk = KemSecret::from_seed(&[9u8; 32]);
        let pk = KemPublic::parse(&sk.public()).unwrap();
        let (ct, ss) = pk.encapsulate().unwrap();
        assert_eq!(*sk.decapsulate(&ct).unwrap(), *ss);
    }

    #[test]
    fn rejects_all_zero_x25519_secret() {
        // A ciphertext whose X25519 part is the zero point yields an all-zero shared secret.
        let sk = KemSecret::from_seed(&[9u8; 32]);
        let pk = KemPublic::parse(&sk.public()).unwrap();
        let (mut ct, _) = pk.encapsulate().unwrap();
        let n = ct.len();
        ct[n - 32..].fill(0);
        assert!(matches!(sk.decapsulate(&ct), Err(Error::Open(crate::error::OpenError::Decapsulation))));
    }

    #[test]
    fn rejects_low_order_public() {
        let sk = KemSecret::from_seed(&[9u8; 32]);
        let mut pk = sk.public();
        let n = pk.len();
        pk[n - 32..].fill(0);
        assert!(KemPublic::parse(&pk).is_err());
    }
}
