//! The redemption proof (PROTOCOL.md §6): the identity key signs everything the org asserts.
//!
//! `redeem_tbs = T("fxe/v1 redeem", token, org_name, numbers joined by ",", admin_email, bundle_id, api_key_id)`

use crate::ids::IdentityKey;
use crate::transcript::Transcript;
use crate::{Result, sign};

pub struct RedeemClaims<'a> {
    pub token: &'a str,
    pub org_name: &'a str,
    pub numbers: &'a [String],
    pub admin_email: &'a str,
    pub bundle_id: &'a str,
    pub api_key_id: &'a str,
}

impl RedeemClaims<'_> {
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

    pub fn sign(&self, identity: &IdentityKey) -> [u8; 64] {
        identity.sign(&self.tbs())
    }

    pub fn verify(&self, identity_pub: &[u8; 32], proof: &[u8; 64]) -> Result<()> {
        sign::verify(identity_pub, &self.tbs(), proof, "redemption proof")
    }
}
