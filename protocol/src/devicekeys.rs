//! Keys remembered on a device (docs/device-keys.md): an org's keys, as
//! `fxe-keys.json`, encrypted in the browser under a key derived from the
//! output of a passkey's WebAuthn PRF extension, so that a later sign-in on
//! that device unlocks them without keys.zip. The relay never sees the record,
//! the PRF output or the keys.
//!
//! ```text
//! prf_input  = SHA-256(T("fxe/v1 device-keys prf", org_id, user_id))
//! prf_output = the passkey's PRF over prf_input (32 bytes, `results.first`)
//! key        = HKDF-SHA256(ikm = prf_output, salt = salt, info = "fxe/v1 device-keys")
//! aad        = T("fxe/v1 device-keys", org_id, user_id, credential_id)
//! ciphertext = AES-256-GCM(key, nonce, aad, fxe-keys.json) (tag appended)
//! ```
//!
//! `salt` (32 bytes) and `nonce` (12 bytes) are fresh random values for each
//! record. The record is JSON ([`FORMAT`]).

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::encoding::{b64u_decode, b64u_encode, b64u_fixed};
use crate::keyszip::OrgKeys;
use crate::transcript::Transcript;
use crate::{Error, Result};

/// The `format` value of a record.
pub const FORMAT: &str = "fxe-device-keys/v1";
/// The transcript label of the PRF input.
pub const PRF_LABEL: &str = "fxe/v1 device-keys prf";
/// The HKDF info string, also the transcript label of the associated data.
pub const INFO: &str = "fxe/v1 device-keys";
/// Larger ciphertexts are refused before decoding (fxe-keys.json is a few KiB).
const MAX_CIPHERTEXT_B64: usize = 1024 * 1024;

/// The input to evaluate the passkey's PRF on (`prf.eval.first`), fixed for
/// an org and a user, so that the same passkey gives the same output on
/// every sign-in.
pub fn prf_input(org_id: &str, user_id: &str) -> [u8; 32] {
    crate::transcript::sha256(&Transcript::new(PRF_LABEL).str(org_id).str(user_id).finish())
}

fn aad(org_id: &str, user_id: &str, credential_id: &[u8]) -> Vec<u8> {
    Transcript::new(INFO).str(org_id).str(user_id).bytes(credential_id).finish()
}

fn key(prf_output: &[u8; 32], salt: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit (255 × 32): expand cannot fail.
    let _ =
        hkdf::Hkdf::<sha2::Sha256>::new(Some(salt.as_slice()), prf_output).expand(INFO.as_bytes(), out.as_mut_slice());
    out
}

fn invalid(reason: &str) -> Error {
    Error::Invalid { field: "device keys", reason: reason.into() }
}

/// A record of remembered keys, as stored in the browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceKeys {
    /// [`FORMAT`].
    pub format: String,
    /// The org whose keys these are.
    pub org_id: String,
    /// The signed-in user who remembered them.
    pub user_id: String,
    /// The passkey whose PRF protects them (base64url of the raw credential id).
    pub credential_id: String,
    /// base64url, 32 bytes.
    pub salt: String,
    /// base64url, 12 bytes.
    pub nonce: String,
    /// base64url: AES-256-GCM of `fxe-keys.json`, the 16-byte tag appended.
    pub ciphertext: String,
    /// When the record was made (unix seconds).
    pub created_at: u64,
}

/// The fresh randomness of one record.
pub struct Randomness {
    /// The HKDF salt.
    pub salt: [u8; 32],
    /// The AES-GCM nonce.
    pub nonce: [u8; 12],
}

impl Randomness {
    /// From the system's random number generator.
    pub fn generate() -> Result<Randomness> {
        Ok(Randomness { salt: crate::random_bytes()?, nonce: crate::random_bytes()? })
    }
}

impl DeviceKeys {
    /// Encrypts `keys` for `user_id` under the PRF output of the passkey
    /// `credential_id` (evaluated on [`prf_input`]`(keys.org_id, user_id)`).
    pub fn seal(
        keys: &OrgKeys, user_id: &str, credential_id: &[u8], prf_output: &[u8; 32], created_at: u64, rnd: &Randomness,
    ) -> Result<DeviceKeys> {
        if credential_id.is_empty() || user_id.is_empty() {
            return Err(invalid("the user and the passkey must be named"));
        }
        let json = keys.to_json();
        let mut buf = Zeroizing::new(json.as_bytes().to_vec());
        let tag = Aes256Gcm::new(&(*key(prf_output, &rnd.salt)).into())
            .encrypt_inout_detached(
                &rnd.nonce.into(),
                &aad(&keys.org_id, user_id, credential_id),
                buf.as_mut_slice().into(),
            )
            .map_err(|_| Error::Seal("device keys encryption failed"))?;
        let mut ciphertext = buf.to_vec();
        ciphertext.extend_from_slice(tag.as_slice());
        Ok(DeviceKeys {
            format: FORMAT.into(),
            org_id: keys.org_id.clone(),
            user_id: user_id.into(),
            credential_id: b64u_encode(credential_id),
            salt: b64u_encode(&rnd.salt),
            nonce: b64u_encode(&rnd.nonce),
            ciphertext: b64u_encode(&ciphertext),
            created_at,
        })
    }

    /// The raw credential id of the passkey that protects the record.
    pub fn credential(&self) -> Result<Vec<u8>> {
        b64u_decode("credential_id", &self.credential_id)
    }

    /// Decrypts the keys with the passkey's PRF output, for `org_id` and
    /// `user_id` (the signed-in user: a record of another user or org is
    /// refused before any decryption). The keys are validated as keys.zip's
    /// are, and must be `org_id`'s.
    pub fn open(&self, prf_output: &[u8; 32], org_id: &str, user_id: &str) -> Result<OrgKeys> {
        if self.format != FORMAT {
            return Err(invalid("unknown format"));
        }
        if self.org_id != org_id || self.user_id != user_id {
            return Err(invalid("these remembered keys belong to another user or organization"));
        }
        let credential = self.credential()?;
        let salt = b64u_fixed::<32>("salt", &self.salt)?;
        let nonce = b64u_fixed::<12>("nonce", &self.nonce)?;
        if self.ciphertext.len() > MAX_CIPHERTEXT_B64 {
            return Err(invalid("the ciphertext is too long"));
        }
        let sealed = b64u_decode("ciphertext", &self.ciphertext)?;
        let split = sealed.len().checked_sub(16).ok_or_else(|| invalid("the ciphertext is too short"))?;
        let tag: [u8; 16] = sealed[split..].try_into().map_err(|_| invalid("the ciphertext is too short"))?;
        let mut plain = Zeroizing::new(sealed[..split].to_vec());
        Aes256Gcm::new(&(*key(prf_output, &salt)).into())
            .decrypt_inout_detached(
                &nonce.into(),
                &aad(org_id, user_id, &credential),
                plain.as_mut_slice().into(),
                &tag.into(),
            )
            .map_err(|_| invalid("they do not open with this passkey (another passkey, or the record was altered)"))?;
        let text = std::str::from_utf8(&plain).map_err(|_| invalid("the keys are not UTF-8"))?;
        let keys = OrgKeys::from_json(text)?;
        if keys.org_id != org_id {
            return Err(invalid("the keys inside belong to another organization"));
        }
        Ok(keys)
    }

    /// The record as JSON, to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored record.
    pub fn from_json(s: &str) -> Result<DeviceKeys> {
        serde_json::from_str(s).map_err(|e| invalid(&format!("unreadable record: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::bundle::BundleKeys;
    use crate::ids::IdentityKey;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn keys() -> OrgKeys {
        let identity = IdentityKey::from_seed(&[1; 32]);
        let bundle = BundleKeys::from_seeds(&identity, 1_700_000_000, &[2; 32], &[3; 32]);
        OrgKeys {
            relay_url: "https://relay.example".into(),
            org_id: identity.org_id(),
            org_name: "Lakeside Clinic".into(),
            identity_pub: identity.public(),
            identity: Some(identity),
            bundles: vec![bundle],
            api_keys: vec![],
            created_at: 1_700_000_001,
        }
    }

    const RND: Randomness = Randomness { salt: [9; 32], nonce: [8; 12] };
    const PRF: [u8; 32] = [7; 32];

    #[test]
    fn round_trip_and_fixed_bytes() {
        let k = keys();
        let rec = DeviceKeys::seal(&k, "user-1", b"cred", &PRF, 5, &RND).unwrap();
        assert_eq!(rec.format, FORMAT);
        assert_eq!(rec.salt, b64u_encode(&[9; 32]));
        assert_eq!(rec.nonce, b64u_encode(&[8; 12]));
        // Deterministic for fixed randomness: the same record twice.
        assert_eq!(DeviceKeys::seal(&k, "user-1", b"cred", &PRF, 5, &RND).unwrap(), rec);
        // The ciphertext is fxe-keys.json's length plus the tag.
        let ct = b64u_decode("ciphertext", &rec.ciphertext).unwrap();
        assert_eq!(ct.len(), k.to_json().len() + 16);
        let back = DeviceKeys::from_json(&rec.to_json()).unwrap().open(&PRF, &k.org_id, "user-1").unwrap();
        assert_eq!(back.to_json(), k.to_json());
        assert_eq!(rec.credential().unwrap(), b"cred");
    }

    #[test]
    fn the_key_is_hkdf_of_the_prf_output_with_the_fixed_info() {
        let mut expected = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(&[9u8; 32][..]), &PRF)
            .expand(b"fxe/v1 device-keys", &mut expected)
            .unwrap();
        assert_eq!(*key(&PRF, &[9; 32]), expected);
        let t = Transcript::new("fxe/v1 device-keys prf").str("org").str("user").finish();
        assert_eq!(prf_input("org", "user"), crate::transcript::sha256(&t));
        assert_ne!(prf_input("org", "user"), prf_input("org", "user2"));
    }

    #[test]
    fn other_passkeys_users_orgs_and_alterations_are_refused() {
        let k = keys();
        let rec = DeviceKeys::seal(&k, "user-1", b"cred", &PRF, 5, &RND).unwrap();
        assert!(rec.open(&[6; 32], &k.org_id, "user-1").is_err(), "another PRF output");
        assert!(rec.open(&PRF, &k.org_id, "user-2").is_err(), "another user");
        assert!(rec.open(&PRF, "0".repeat(32).as_str(), "user-1").is_err(), "another org");
        // The associated data binds the user and the credential: moving the
        // record to another user or passkey does not open.
        let moved = DeviceKeys { user_id: "user-2".into(), ..rec.clone() };
        assert!(moved.open(&PRF, &k.org_id, "user-2").is_err());
        let other_cred = DeviceKeys { credential_id: b64u_encode(b"other"), ..rec.clone() };
        assert!(other_cred.open(&PRF, &k.org_id, "user-1").is_err());
        let mut ct = b64u_decode("ciphertext", &rec.ciphertext).unwrap();
        ct[0] ^= 1;
        let flipped = DeviceKeys { ciphertext: b64u_encode(&ct), ..rec.clone() };
        assert!(flipped.open(&PRF, &k.org_id, "user-1").is_err());
        let short = DeviceKeys { ciphertext: b64u_encode(&[1; 5]), ..rec.clone() };
        assert!(short.open(&PRF, &k.org_id, "user-1").is_err());
        let bad_nonce = DeviceKeys { nonce: "AA".into(), ..rec.clone() };
        assert!(bad_nonce.open(&PRF, &k.org_id, "user-1").is_err());
        assert!(DeviceKeys::from_json("{}").is_err());
        assert!(DeviceKeys::from_json(r#"{"format":1}"#).is_err());
        assert!(DeviceKeys::seal(&k, "", b"cred", &PRF, 5, &RND).is_err());
    }
}
