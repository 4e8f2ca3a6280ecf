//! The pin store (PROTOCOL.md §3): `number → org_id`, `org_id → identity_pub`
//! and the newest bundle seen per org, remembered on first contact. A later
//! answer that changes either mapping, or offers an older bundle, is refused
//! until a person confirms the new fingerprint.

use crate::bundle::Bundle;
use crate::error::PinError;
use crate::{Error, Result, encoding, ids};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What is pinned for one org: its identity and the newest bundle seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPin {
    /// b64u identity public key.
    pub identity_pub: String,
    /// The newest bundle seen for the org; an older one offered later is a rollback.
    pub newest_bundle_id: String,
    /// When that bundle was made (unix seconds).
    pub newest_bundle_created_at: u64,
}

/// Every pin a client holds, in its JSON file form (`fxe-pins/v1`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinStore {
    /// Always [`FORMAT`].
    pub format: String,
    /// `number → org_id`, for numbers sent to.
    pub numbers: BTreeMap<String, String>,
    /// `org_id → what is pinned for it`.
    pub orgs: BTreeMap<String, OrgPin>,
}

/// What a successful check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinStatus {
    /// Nothing was pinned for this number or org: trust on first use.
    FirstContact,
    /// Everything matches the pins.
    Known,
}

/// The `format` value of a pin store's JSON.
pub const FORMAT: &str = "fxe-pins/v1";

impl PinStore {
    /// An empty store.
    pub fn new() -> Self {
        PinStore { format: FORMAT.into(), ..Default::default() }
    }

    /// Parses a pin store's JSON; fails with [`Error::Json`], or [`Error::Invalid`] for another format.
    pub fn from_json(s: &str) -> Result<PinStore> {
        let p: PinStore = serde_json::from_str(s).map_err(|e| Error::json("pin store", e))?;
        if p.format != FORMAT {
            return Err(Error::invalid("pin store", format!("unsupported format {:?}", p.format)));
        }
        Ok(p)
    }

    /// The store's JSON, pretty-printed for the file it is kept in.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks a directory answer (the caller verified `bundle` against `identity_pub`).
    /// `number` is `None` when an org is looked up by id (e.g. to verify a sender).
    /// Fails with the [`PinError`] naming what changed.
    pub fn check(&self, number: Option<&str>, identity_pub: &[u8; 32], bundle: &Bundle) -> Result<PinStatus, PinError> {
        let org_id = ids::org_id(identity_pub);
        let mut status = PinStatus::Known;
        if let Some(number) = number {
            match self.numbers.get(number) {
                Some(pinned) if *pinned != org_id => {
                    return Err(PinError::NumberOrgChanged {
                        number: number.to_owned(),
                        pinned_org_id: pinned.clone(),
                        offered_org_id: org_id,
                        offered_fingerprint: ids::fingerprint(identity_pub),
                    });
                }
                Some(_) => {}
                None => status = PinStatus::FirstContact,
            }
        }
        match self.orgs.get(&org_id) {
            Some(pin) => {
                let offered = encoding::b64u_encode(identity_pub);
                if pin.identity_pub != offered {
                    let pinned_fp = encoding::b64u_fixed::<32>("pin", &pin.identity_pub)
                        .map(|p| ids::fingerprint(&p))
                        .unwrap_or_else(|_| "(unreadable pin)".into());
                    return Err(PinError::IdentityChanged {
                        org_id,
                        pinned_fingerprint: pinned_fp,
                        offered_fingerprint: ids::fingerprint(identity_pub),
                    });
                }
                let older = bundle.created_at < pin.newest_bundle_created_at
                    || (bundle.created_at == pin.newest_bundle_created_at && bundle.bundle_id != pin.newest_bundle_id);
                if older {
                    return Err(PinError::BundleRollback {
                        org_id,
                        offered_bundle_id: bundle.bundle_id.clone(),
                        offered_created_at: bundle.created_at,
                        newest_bundle_id: pin.newest_bundle_id.clone(),
                        newest_created_at: pin.newest_bundle_created_at,
                    });
                }
            }
            None => status = PinStatus::FirstContact,
        }
        Ok(status)
    }

    /// Records an answer that passed [`Self::check`] (first contact, or a newer bundle).
    pub fn record(&mut self, number: Option<&str>, identity_pub: &[u8; 32], bundle: &Bundle) {
        let org_id = ids::org_id(identity_pub);
        if let Some(n) = number {
            self.numbers.entry(n.to_owned()).or_insert_with(|| org_id.clone());
        }
        let pin = self.orgs.entry(org_id).or_insert_with(|| OrgPin {
            identity_pub: encoding::b64u_encode(identity_pub),
            newest_bundle_id: bundle.bundle_id.clone(),
            newest_bundle_created_at: bundle.created_at,
        });
        if bundle.created_at > pin.newest_bundle_created_at {
            pin.newest_bundle_id = bundle.bundle_id.clone();
            pin.newest_bundle_created_at = bundle.created_at;
        }
    }

    /// Checks and records in one step.
    /// Fails as [`PinStore::check`] does, recording nothing then.
    pub fn check_and_record(
        &mut self, number: Option<&str>, identity_pub: &[u8; 32], bundle: &Bundle,
    ) -> Result<PinStatus, PinError> {
        let s = self.check(number, identity_pub, bundle)?;
        self.record(number, identity_pub, bundle);
        Ok(s)
    }

    /// A person confirmed `fingerprint` out of band: replace the pins for this
    /// number and org with the offered identity and bundle.
    /// Fails with [`Error::Invalid`] when `fingerprint` is not the offered identity's.
    pub fn trust(
        &mut self, number: Option<&str>, identity_pub: &[u8; 32], bundle: &Bundle, fingerprint: &str,
    ) -> Result<()> {
        if !ids::fingerprint_matches(identity_pub, fingerprint) {
            return Err(Error::invalid("fingerprint", "does not match the identity the relay offers; do not trust it"));
        }
        let org_id = ids::org_id(identity_pub);
        if let Some(n) = number {
            self.numbers.insert(n.to_owned(), org_id.clone());
        }
        self.orgs.insert(
            org_id,
            OrgPin {
                identity_pub: encoding::b64u_encode(identity_pub),
                newest_bundle_id: bundle.bundle_id.clone(),
                newest_bundle_created_at: bundle.created_at,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundleKeys;
    use crate::ids::IdentityKey;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn tofu_then_refuse_changes_until_trusted() {
        let a = IdentityKey::from_seed(&[1; 32]);
        let b = IdentityKey::from_seed(&[2; 32]);
        let a1 = BundleKeys::from_seeds(&a, 100, &[3; 32], &[4; 32]).bundle;
        let a2 = BundleKeys::from_seeds(&a, 200, &[5; 32], &[6; 32]).bundle;
        let b1 = BundleKeys::from_seeds(&b, 100, &[7; 32], &[8; 32]).bundle;
        let mut p = PinStore::new();
        assert_eq!(p.check_and_record(Some("+15550001"), &a.public(), &a1).unwrap(), PinStatus::FirstContact);
        assert_eq!(p.check_and_record(Some("+15550001"), &a.public(), &a1).unwrap(), PinStatus::Known);
        assert_eq!(p.check_and_record(Some("+15550001"), &a.public(), &a2).unwrap(), PinStatus::Known);
        assert!(matches!(p.check(Some("+15550001"), &a.public(), &a1), Err(PinError::BundleRollback { .. })));
        assert!(matches!(p.check(Some("+15550001"), &b.public(), &b1), Err(PinError::NumberOrgChanged { .. })));
        assert!(p.trust(Some("+15550001"), &b.public(), &b1, &a.fingerprint()).is_err());
        p.trust(Some("+15550001"), &b.public(), &b1, &b.fingerprint()).unwrap();
        assert_eq!(p.check(Some("+15550001"), &b.public(), &b1).unwrap(), PinStatus::Known);
        let back = PinStore::from_json(&p.to_json()).unwrap();
        assert_eq!(back, p);
    }
}
