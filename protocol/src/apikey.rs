//! API keys (PROTOCOL.md §6): Ed25519 key pairs made on the org's side.
//!
//! * `key_id = "ak_" + hex(H(T("fxe/v1 api-key", api_pub))[0..12])`
//! * secret string: `fxe_sk_<key_id without "ak_">_<b64u(seed)>`
//! * registration proof: signature over `T("fxe/v1 api-key", org_id, key_id, scopes joined by ",")`

use crate::sign::{self, SecretSigningKey};
use crate::transcript::{Transcript, sha256};
use crate::{Error, Result, encoding};
use zeroize::Zeroizing;

/// The scopes an API key can be given: `send` (send faxes), `receive` (list, fetch and acknowledge the inbox) and `admin` (manage the org).
pub const SCOPES: [&str; 3] = ["send", "receive", "admin"];

/// An API key's id, `ak_` + hex of the first 12 bytes of `H(T("fxe/v1 api-key", api_pub))`.
pub fn key_id(api_pub: &[u8; 32]) -> String {
    let h = sha256(&Transcript::new("fxe/v1 api-key").bytes(api_pub).finish());
    format!("ak_{}", encoding::hex_encode(&h[..12]))
}

/// `ak_` followed by 24 lowercase hex characters.
/// Fails with [`Error::Invalid`] otherwise.
pub fn validate_key_id(s: &str) -> Result<()> {
    let ok = s.len() == 27
        && s.starts_with("ak_")
        && s[3..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok { Ok(()) } else { Err(Error::invalid("key_id", "must be ak_ followed by 24 lowercase hex characters")) }
}

/// Scopes: a non-empty list of distinct known scopes.
/// Fails with [`Error::Invalid`] naming the first problem.
pub fn validate_scopes(scopes: &[String]) -> Result<()> {
    if scopes.is_empty() {
        return Err(Error::invalid("scopes", "at least one of send, receive, admin"));
    }
    for (i, s) in scopes.iter().enumerate() {
        if !SCOPES.contains(&s.as_str()) {
            return Err(Error::invalid("scopes", format!("unknown scope {s:?} (send, receive, admin)")));
        }
        if scopes[..i].contains(s) {
            return Err(Error::invalid("scopes", format!("{s:?} is listed twice")));
        }
    }
    Ok(())
}

/// The bytes a registration proof signs: `T("fxe/v1 api-key", org_id, key_id, scopes joined by ",")`.
pub fn registration_tbs(org_id: &str, key_id: &str, scopes: &[String]) -> Vec<u8> {
    Transcript::new("fxe/v1 api-key").str(org_id).str(key_id).str(&scopes.join(",")).finish()
}

/// Verifies a registration proof by the key `api_pub` (whose id must be `key_id(api_pub)`).
/// Fails with [`Error::BadSignature`].
pub fn verify_registration(api_pub: &[u8; 32], org_id: &str, scopes: &[String], proof: &[u8; 64]) -> Result<()> {
    sign::verify(api_pub, &registration_tbs(org_id, &key_id(api_pub), scopes), proof, "api key registration proof")
}

/// An API key with its secret.
#[derive(Clone, Debug)]
pub struct ApiKey {
    signing: SecretSigningKey,
    key_id: String,
}

impl ApiKey {
    /// A new key pair from the system's randomness; fails only with [`Error::Rng`].
    pub fn generate() -> Result<ApiKey> {
        Ok(Self::from_seed(&crate::random_bytes()?))
    }

    /// The key pair whose Ed25519 seed is `seed` (deterministic).
    pub fn from_seed(seed: &[u8; 32]) -> ApiKey {
        let signing = SecretSigningKey::from_seed(seed);
        let key_id = key_id(&signing.public());
        ApiKey { signing, key_id }
    }

    /// The key's id (`ak_…`), as the relay knows it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key's Ed25519 public key.
    pub fn public(&self) -> [u8; 32] {
        self.signing.public()
    }

    /// An Ed25519 signature over `msg` by this key.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg)
    }

    /// `fxe_sk_<hex>_<b64u(seed)>`, the string machines are configured with.
    pub fn secret_string(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("fxe_sk_{}_{}", &self.key_id[3..], encoding::b64u_encode(&*self.signing.seed())))
    }

    /// Parses a secret string, checking its key id matches its seed.
    /// Fails with [`Error::Invalid`] saying what is wrong with it.
    pub fn parse_secret(s: &str) -> Result<ApiKey> {
        let s = s.trim();
        let rest = s.strip_prefix("fxe_sk_").ok_or_else(|| Error::invalid("API secret", "must start with fxe_sk_"))?;
        let (id_hex, seed_b64) =
            rest.split_once('_').ok_or_else(|| Error::invalid("API secret", "must be fxe_sk_<key id>_<secret>"))?;
        validate_key_id(&format!("ak_{id_hex}"))
            .map_err(|_| Error::invalid("API secret", "the key id part must be 24 lowercase hex characters"))?;
        let seed =
            Zeroizing::new(encoding::b64u_fixed::<32>("API secret", seed_b64).map_err(|_| {
                Error::invalid("API secret", "the secret part must be 43 base64url characters (32 bytes)")
            })?);
        let key = ApiKey::from_seed(&seed);
        if key.key_id[3..] != *id_hex {
            return Err(Error::invalid(
                "API secret",
                "the key id does not match the secret (a truncated or altered secret?)",
            ));
        }
        Ok(key)
    }

    /// The proof that registers this key for `org_id` with `scopes` (see [`registration_tbs`]).
    pub fn registration_proof(&self, org_id: &str, scopes: &[String]) -> [u8; 64] {
        self.sign(&registration_tbs(org_id, &self.key_id, scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn secret_roundtrip_and_errors() {
        let k = ApiKey::from_seed(&[5; 32]);
        validate_key_id(k.key_id()).unwrap();
        let s = k.secret_string();
        let back = ApiKey::parse_secret(&s).unwrap();
        assert_eq!(back.key_id(), k.key_id());
        assert!(ApiKey::parse_secret("sk_nope").is_err());
        assert!(ApiKey::parse_secret(&s[..s.len() - 1]).is_err());
        let other = ApiKey::from_seed(&[6; 32]);
        let spliced = format!("fxe_sk_{}_{}", &other.key_id()[3..], s.rsplit('_').next().unwrap());
        assert!(ApiKey::parse_secret(&spliced).is_err());
    }

    #[test]
    fn registration_proof() {
        let k = ApiKey::from_seed(&[5; 32]);
        let scopes = vec!["send".to_string(), "receive".to_string()];
        let p = k.registration_proof("00112233445566778899aabbccddeeff", &scopes);
        verify_registration(&k.public(), "00112233445566778899aabbccddeeff", &scopes, &p).unwrap();
        assert!(verify_registration(&k.public(), "00112233445566778899aabbccddeefe", &scopes, &p).is_err());
        assert!(verify_registration(&k.public(), "00112233445566778899aabbccddeeff", &scopes[..1], &p).is_err());
        assert!(validate_scopes(&["send".into(), "send".into()]).is_err());
        assert!(validate_scopes(&[]).is_err());
        assert!(validate_scopes(&["root".into()]).is_err());
    }
}
