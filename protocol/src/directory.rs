//! Checking what the relay says about other orgs (PROTOCOL.md §3) before
//! anything is sealed to them or opened from them: the identity key hashes to
//! the org id, and each bundle is signed by that identity. The relay is not
//! trusted with either; the pin store (`pins`) then decides whether the
//! identity is the one seen before. The CLI and the browser both call this.

use crate::api::{DirectoryEntry, OrgBundles, OrgPublic};
use crate::bundle::Bundle;
use crate::encoding::b64u_fixed;
use crate::{Error, Result, ids};

fn unverifiable(reason: impl Into<String>) -> Error {
    Error::Invalid { field: "directory answer", reason: reason.into() }
}

fn identity(identity_pub: &str, org_id: &str) -> Result<[u8; 32]> {
    let id = b64u_fixed::<32>("identity_pub", identity_pub).map_err(|e| unverifiable(e.to_string()))?;
    if ids::org_id(&id) != org_id {
        return Err(unverifiable("the org id is not the identity's"));
    }
    Ok(id)
}

/// A number's owner as the directory named it, verified (not yet pinned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberOwner {
    /// The number, E.164, as asked.
    pub number: String,
    /// The owning org's id (checked to be its identity's).
    pub org_id: String,
    /// The owning org's name, as the relay reports it (not verifiable).
    pub org_name: String,
    /// The owning org's identity public key.
    pub identity_pub: [u8; 32],
    /// The org's active bundle, signed by `identity_pub`.
    pub bundle: Bundle,
}

impl NumberOwner {
    /// The fingerprint of the owner's identity key, for reading aloud.
    pub fn fingerprint(&self) -> String {
        ids::fingerprint(&self.identity_pub)
    }
}

/// Verifies `GET /directory/{number}`'s answer for `asked` (normalised).
/// Fails with [`Error::Invalid`] (field `directory answer`) when it answers for another number, the identity does not give the org id, or the bundle does not verify.
pub fn verify_entry(asked: &str, entry: DirectoryEntry) -> Result<NumberOwner> {
    if entry.number != asked {
        return Err(unverifiable(format!("it answers for {} instead of {asked}", entry.number)));
    }
    let id = identity(&entry.identity_pub, &entry.org_id)?;
    entry.bundle.verify(&id).map_err(|e| unverifiable(e.to_string()))?;
    Ok(NumberOwner {
        number: entry.number,
        org_id: entry.org_id,
        org_name: entry.org_name,
        identity_pub: id,
        bundle: entry.bundle,
    })
}

/// An org and every bundle it published, verified against its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgKeys {
    /// The org's id (checked to be its identity's).
    pub org_id: String,
    /// The org's name, as the relay reports it (not verifiable).
    pub org_name: String,
    /// The org's identity public key.
    pub identity_pub: [u8; 32],
    /// Each bundle with whether it is active.
    pub bundles: Vec<(Bundle, bool)>,
}

impl OrgKeys {
    /// The fingerprint of the org's identity key, for reading aloud.
    pub fn fingerprint(&self) -> String {
        ids::fingerprint(&self.identity_pub)
    }

    /// The newest active bundle (what the pins compare against).
    /// Fails with [`Error::Invalid`] when the org has no active bundle.
    pub fn newest_active(&self) -> Result<&Bundle> {
        self.bundles
            .iter()
            .filter(|(_, active)| *active)
            .map(|(b, _)| b)
            .max_by_key(|b| b.created_at)
            .ok_or_else(|| unverifiable("the org has no active bundle"))
    }

    /// The bundle `bundle_id`, active or retired.
    /// Fails with [`Error::Invalid`] when the org has no such bundle.
    pub fn bundle(&self, bundle_id: &str) -> Result<&Bundle> {
        self.bundles
            .iter()
            .map(|(b, _)| b)
            .find(|b| b.bundle_id == bundle_id)
            .ok_or_else(|| unverifiable(format!("bundle {bundle_id} is not among the org's bundles")))
    }
}

/// Verifies `GET /orgs/{org_id}` and `GET /orgs/{org_id}/bundles` for `asked`.
/// Fails with [`Error::Invalid`] (field `directory answer`) when it answers for another org, the identity does not give the org id, or a bundle does not verify.
pub fn verify_org(asked: &str, org: OrgPublic, bundles: OrgBundles) -> Result<OrgKeys> {
    if org.org_id != asked {
        return Err(unverifiable("it answers for another org"));
    }
    let id = identity(&org.identity_pub, asked)?;
    let mut out = Vec::with_capacity(bundles.items.len());
    for b in bundles.items {
        b.bundle.verify(&id).map_err(|e| unverifiable(e.to_string()))?;
        out.push((b.bundle, b.active));
    }
    Ok(OrgKeys { org_id: org.org_id, org_name: org.org_name, identity_pub: id, bundles: out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::OrgBundle;
    use crate::bundle::BundleKeys;
    use crate::ids::IdentityKey;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn org() -> (IdentityKey, [u8; 32], BundleKeys) {
        let identity = IdentityKey::generate().unwrap();
        let id = identity.public();
        let bundle = BundleKeys::generate(&identity, 1_800_000_000).unwrap();
        (identity, id, bundle)
    }

    fn entry(id: &[u8; 32], bundle: &Bundle) -> DirectoryEntry {
        DirectoryEntry {
            number: "+15551230001".into(),
            org_id: ids::org_id(id),
            org_name: "Clinic".into(),
            identity_pub: crate::encoding::b64u_encode(id),
            bundle: bundle.clone(),
            log: None,
        }
    }

    #[test]
    fn an_honest_answer_verifies() {
        let (_, id, keys) = org();
        let owner = verify_entry("+15551230001", entry(&id, &keys.bundle)).unwrap();
        assert_eq!(owner.fingerprint(), ids::fingerprint(&id));
    }

    #[test]
    fn a_substituted_identity_or_bundle_is_refused() {
        let (_, id, keys) = org();
        let (_, other_id, other_keys) = org();
        // Another org's bundle under this identity.
        assert!(verify_entry("+15551230001", entry(&id, &other_keys.bundle)).is_err());
        // Another identity under this org id.
        let mut e = entry(&id, &keys.bundle);
        e.identity_pub = crate::encoding::b64u_encode(&other_id);
        assert!(verify_entry("+15551230001", e).is_err());
        // An answer for another number.
        assert!(verify_entry("+15551230002", entry(&id, &keys.bundle)).is_err());
    }

    #[test]
    fn org_bundles_verify_one_by_one() {
        let (identity, id, keys) = org();
        let org_id = ids::org_id(&id);
        let newer = BundleKeys::generate(&identity, 1_800_000_100).unwrap();
        let public = OrgPublic {
            org_id: org_id.clone(),
            org_name: "Clinic".into(),
            identity_pub: crate::encoding::b64u_encode(&id),
            fingerprint: String::new(),
        };
        let item = |b: &BundleKeys, active| OrgBundle { bundle: b.bundle.clone(), active, retired_at: None };
        let ok =
            verify_org(&org_id, public.clone(), OrgBundles { items: vec![item(&newer, true), item(&keys, false)] })
                .unwrap();
        assert_eq!(ok.newest_active().unwrap().bundle_id, newer.bundle.bundle_id);
        assert_eq!(ok.bundle(&keys.bundle.bundle_id).unwrap().bundle_id, keys.bundle.bundle_id);
        assert!(ok.bundle("nope").is_err());
        let (_, _, stranger) = org();
        assert!(verify_org(&org_id, public.clone(), OrgBundles { items: vec![item(&stranger, true)] }).is_err());
        assert!(verify_org("someone-else", public, OrgBundles { items: vec![] }).is_err());
    }
}
