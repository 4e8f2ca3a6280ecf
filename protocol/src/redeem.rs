//! The redemption proof (PROTOCOL.md §6): the identity key signs everything the org asserts.
//!
//! `redeem_tbs = T("fxe/v1 redeem", token, org_name, numbers joined by ",", admin_email, bundle_id, api_key_id)`

use crate::ids::IdentityKey;
use crate::transcript::Transcript;
use crate::{Result, sign};

/// Everything an org asserts when it redeems an invite, as its identity signs it.
pub struct RedeemClaims<'a> {
    /// The invite token.
    pub token: &'a str,
    /// The org's name.
    pub org_name: &'a str,
    /// The org's numbers (E.164).
    pub numbers: &'a [String],
    /// The first admin's e-mail address.
    pub admin_email: &'a str,
    /// The id of the org's first bundle.
    pub bundle_id: &'a str,
    /// The id of the org's first API key.
    pub api_key_id: &'a str,
}

impl RedeemClaims<'_> {
    /// `redeem_tbs`, the bytes the identity key signs.
    pub fn tbs(&self) -> Vec<u8> {
        Transcript::new("fxe/v1 redeem")
            .str(self.token)
            .str(self.org_name)
            .str(&self.numbers.join(","))
            .str(self.admin_email)
            .str(self.bundle_id)
            .str(self.api_key_id)
            .finish()
    }

    /// The proof: the identity's signature over [`RedeemClaims::tbs`].
    pub fn sign(&self, identity: &IdentityKey) -> [u8; 64] {
        identity.sign(&self.tbs())
    }

    /// Verifies a proof by `identity_pub`; fails with [`crate::Error::BadSignature`].
    pub fn verify(&self, identity_pub: &[u8; 32], proof: &[u8; 64]) -> Result<()> {
        sign::verify(identity_pub, &self.tbs(), proof, "redemption proof")
    }
}

/// What an org enters to redeem an invite. `numbers` are already E.164
/// (see [`crate::e164::normalize_list`]).
pub struct RedeemInput<'a> {
    /// The invite token (from the invite link).
    pub token: &'a str,
    /// The org's name as members will see it.
    pub org_name: &'a str,
    /// The org's numbers.
    pub numbers: &'a [String],
    /// The first admin's e-mail address.
    pub admin_email: &'a str,
    /// The relay's public URL, recorded in keys.zip.
    pub relay_url: &'a str,
    /// Unix seconds: the bundle's and keys.zip's creation time.
    pub now: u64,
    /// The label of the first API key, as the relay will show it.
    pub api_key_label: &'a str,
}

/// A redemption ready to post: the request body and the keys it commits to.
pub struct Redemption {
    /// The body of `POST /invites/redeem`.
    pub request: crate::api::RedeemRequest,
    /// The org's new keys, to be written to keys.zip ([`crate::keyszip::write`]).
    pub keys: crate::keyszip::OrgKeys,
}

/// The scopes of the API key made at redemption.
pub const FIRST_API_KEY_SCOPES: [&str; 3] = ["send", "receive", "admin"];

/// Makes an org's keys (identity, first bundle, first API key with every
/// scope) and the signed redemption request for them (PROTOCOL.md §6). The
/// same code runs in `fxe-client redeem` and on the web `/redeem` page.
/// Fails with [`crate::Error::Rng`], or [`crate::Error::Invalid`] for an invalid input.
pub fn prepare(input: &RedeemInput<'_>) -> Result<Redemption> {
    use crate::api::{ApiKeyRegistration, RedeemRequest};
    use crate::encoding::b64u_encode;
    use crate::keyszip::{OrgKeys, StoredApiKey};

    let identity = IdentityKey::generate()?;
    let org_id = identity.org_id();
    let bundle = crate::bundle::BundleKeys::generate(&identity, input.now)?;
    let api = crate::apikey::ApiKey::generate()?;
    let scopes: Vec<String> = FIRST_API_KEY_SCOPES.map(String::from).to_vec();
    let claims = RedeemClaims {
        token: input.token,
        org_name: input.org_name,
        numbers: input.numbers,
        admin_email: input.admin_email,
        bundle_id: &bundle.bundle.bundle_id,
        api_key_id: api.key_id(),
    };
    let request = RedeemRequest {
        token: input.token.to_owned(),
        org_name: input.org_name.to_owned(),
        numbers: input.numbers.to_vec(),
        admin_email: input.admin_email.to_owned(),
        identity_pub: b64u_encode(&identity.public()),
        bundle: bundle.bundle.clone(),
        api_key: ApiKeyRegistration {
            public_key: b64u_encode(&api.public()),
            scopes: scopes.clone(),
            proof: b64u_encode(&api.registration_proof(&org_id, &scopes)),
            label: Some(input.api_key_label.to_owned()),
        },
        proof: b64u_encode(&claims.sign(&identity)),
    };
    let keys = OrgKeys {
        relay_url: input.relay_url.to_owned(),
        org_id,
        org_name: input.org_name.to_owned(),
        identity_pub: identity.public(),
        identity: Some(identity),
        bundles: vec![bundle],
        api_keys: vec![StoredApiKey { key: api, scopes }],
        created_at: input.now,
    };
    Ok(Redemption { request, keys })
}

#[cfg(test)]
mod prepare_tests {
    use super::*;

    #[test]
    fn prepared_redemption_verifies() {
        let numbers = vec!["+15551230001".to_string()];
        let r = prepare(&RedeemInput {
            token: "tok",
            org_name: "Clinic",
            numbers: &numbers,
            admin_email: "a@example.org",
            relay_url: "http://localhost:3000",
            now: 1_800_000_000,
            api_key_label: "web",
        })
        .unwrap();
        let identity_pub = r.keys.identity_pub;
        let claims = RedeemClaims {
            token: "tok",
            org_name: "Clinic",
            numbers: &numbers,
            admin_email: "a@example.org",
            bundle_id: &r.request.bundle.bundle_id,
            api_key_id: r.keys.api_keys[0].key.key_id(),
        };
        let proof = crate::encoding::b64u_fixed::<64>("proof", &r.request.proof).unwrap();
        claims.verify(&identity_pub, &proof).unwrap();
        assert_eq!(r.keys.org_id, crate::ids::org_id(&identity_pub));
        // keys.zip round-trips what was made.
        let zip = crate::keyszip::write(&r.keys, None).unwrap();
        let back = crate::keyszip::read(&zip, None).unwrap();
        assert_eq!(back.org_id, r.keys.org_id);
        assert_eq!(back.api_keys[0].key.key_id(), r.keys.api_keys[0].key.key_id());
    }
}
