//! A replica of the log (docs/transparency.md §5): every entry applied in
//! order under the log's rules, the Merkle tree rebuilt alongside, and the
//! directory derived from it, so a client knows the current owner of a number
//! and an org's current bundle without trusting the relay's answer.

use super::LogError;
use super::entry::Entry;
use super::merkle::{self, Hash, MemoryTree};
use crate::api::DirectoryEntry;
use crate::bundle::Bundle;
use crate::encoding::b64u_encode;
use std::collections::BTreeMap;

/// What the log says about one org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgRecord {
    /// The identity key.
    pub identity_pub: [u8; 32],
    /// Every bundle the org published, in log order; the last is current.
    pub bundles: Vec<Bundle>,
    /// Whether the identity was retired.
    pub retired: bool,
    /// The index of the identity entry.
    pub registered_at: u64,
}

impl OrgRecord {
    /// The org's current (newest logged) bundle.
    pub fn current_bundle(&self) -> Option<&Bundle> {
        self.bundles.last()
    }
}

/// What the log says about one number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberRecord {
    /// The org holding it now (`None` after a release).
    pub org_id: Option<String>,
    /// The sequence of its last entry.
    pub seq: u64,
    /// The index of its last entry.
    pub index: u64,
}

/// The replica: entries applied under the log's rules.
#[derive(Clone, Debug, Default)]
pub struct LogState {
    tree: MemoryTree,
    orgs: BTreeMap<String, OrgRecord>,
    numbers: BTreeMap<String, NumberRecord>,
    last_time: u64,
}

impl LogState {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of entries applied.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The tree head over every entry applied.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The Merkle tree (for proofs).
    pub fn tree(&self) -> &MemoryTree {
        &self.tree
    }

    /// An org's record.
    pub fn org(&self, org_id: &str) -> Option<&OrgRecord> {
        self.orgs.get(org_id)
    }

    /// A number's record.
    pub fn number(&self, number: &str) -> Option<&NumberRecord> {
        self.numbers.get(number)
    }

    /// Every number bound now, with the org holding it, in number order: one pass over
    /// the log's numbers (for all orgs at once, where [`LogState::numbers_of`] per org
    /// would read them all once per org).
    pub fn bound_numbers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.numbers.iter().filter_map(|(n, r)| r.org_id.as_deref().map(|o| (n.as_str(), o)))
    }

    /// Every number an org holds now (a pass over every number of the log).
    pub fn numbers_of(&self, org_id: &str) -> Vec<&str> {
        self.numbers.iter().filter(|(_, r)| r.org_id.as_deref() == Some(org_id)).map(|(n, _)| n.as_str()).collect()
    }

    /// The last entry's time (0 for an empty log): the next entry's may not be earlier.
    pub fn last_time(&self) -> u64 {
        self.last_time
    }

    /// Checks `entry` against the log so far, without applying it: the rule it breaks, if any.
    pub fn check(&self, entry: &Entry) -> Result<(), String> {
        self.check_rules(entry, true)
    }

    /// [`LogState::check`]; with `signatures` false a bundle's signature by its org's identity
    /// (the costly part of rule 3) is not verified again.
    fn check_rules(&self, entry: &Entry, signatures: bool) -> Result<(), String> {
        if entry.time() < self.last_time {
            return Err(format!("its time {} is before the previous entry's {}", entry.time(), self.last_time));
        }
        let live = |org_id: &str| match self.orgs.get(org_id) {
            None => Err(format!("org {org_id} has no identity in the log")),
            Some(o) if o.retired => Err(format!("org {org_id}'s identity was retired")),
            Some(o) => Ok(o),
        };
        match entry {
            Entry::Identity { org_id, .. } => {
                if self.orgs.contains_key(org_id) {
                    return Err(format!("org {org_id} is already registered"));
                }
            }
            Entry::Bundle { bundle, .. } => {
                let org = live(&bundle.org_id)?;
                if signatures {
                    bundle.verify(&org.identity_pub).map_err(|e| format!("the bundle is not the org's: {e}"))?;
                }
                if org.bundles.iter().any(|b| b.bundle_id == bundle.bundle_id) {
                    return Err(format!("bundle {} is already logged", bundle.bundle_id));
                }
                if org.current_bundle().is_some_and(|b| bundle.created_at < b.created_at) {
                    return Err(format!("bundle {} is older than the org's current bundle", bundle.bundle_id));
                }
            }
            Entry::NumberBound { number, org_id, seq, .. } => {
                live(org_id)?;
                let prev = self.numbers.get(number);
                if let Some(holder) = prev.and_then(|r| r.org_id.as_deref()) {
                    return Err(format!("{number} is still bound to org {holder}"));
                }
                let want = prev.map_or(1, |r| r.seq + 1);
                if *seq != want {
                    return Err(format!("{number}'s sequence is {seq}, expected {want}"));
                }
            }
            Entry::NumberReleased { number, org_id, seq, .. } => {
                let Some(prev) = self.numbers.get(number) else {
                    return Err(format!("{number} was never bound"));
                };
                if prev.org_id.as_deref() != Some(org_id.as_str()) {
                    return Err(format!("{number} is not bound to org {org_id}"));
                }
                if *seq != prev.seq + 1 {
                    return Err(format!("{number}'s sequence is {seq}, expected {}", prev.seq + 1));
                }
            }
            Entry::IdentityRetired { org_id, .. } => {
                live(org_id)?;
                if let Some(n) = self.numbers_of(org_id).first() {
                    return Err(format!("org {org_id} still holds {n}"));
                }
            }
        }
        Ok(())
    }

    /// Decodes and applies the entry at the next index; on any fault nothing changes and the error
    /// names the index and the rule ([`LogError::InvalidEntry`]): the log itself is then invalid.
    pub fn apply(&mut self, bytes: &[u8]) -> Result<Entry, LogError> {
        self.apply_with(bytes, true)
    }

    /// [`LogState::apply`] for entries this client checked when it first applied them (a
    /// stored replica): every rule but the bundle signatures, which dominate the cost (about
    /// 200 µs a bundle). The caller proves they are those entries by the root they lead to.
    pub(crate) fn apply_stored(&mut self, bytes: &[u8]) -> Result<Entry, LogError> {
        self.apply_with(bytes, false)
    }

    fn apply_with(&mut self, bytes: &[u8], signatures: bool) -> Result<Entry, LogError> {
        let index = self.size();
        let invalid = |reason: String| LogError::InvalidEntry { index, reason };
        let entry = Entry::decode(bytes).map_err(|e| invalid(e.to_string()))?;
        self.check_rules(&entry, signatures).map_err(invalid)?;
        self.tree.push(merkle::leaf_hash(bytes));
        self.last_time = entry.time();
        match &entry {
            Entry::Identity { org_id, identity_pub, .. } => {
                self.orgs.insert(
                    org_id.clone(),
                    OrgRecord {
                        identity_pub: *identity_pub,
                        bundles: Vec::new(),
                        retired: false,
                        registered_at: index,
                    },
                );
            }
            Entry::Bundle { bundle, .. } => {
                if let Some(o) = self.orgs.get_mut(&bundle.org_id) {
                    o.bundles.push(bundle.clone());
                }
            }
            Entry::NumberBound { number, org_id, seq, .. } => {
                self.numbers.insert(number.clone(), NumberRecord { org_id: Some(org_id.clone()), seq: *seq, index });
            }
            Entry::NumberReleased { number, seq, .. } => {
                self.numbers.insert(number.clone(), NumberRecord { org_id: None, seq: *seq, index });
            }
            Entry::IdentityRetired { org_id, .. } => {
                if let Some(o) = self.orgs.get_mut(org_id) {
                    o.retired = true;
                }
            }
        }
        Ok(entry)
    }

    /// Checks a directory answer against the log: the number is bound to that org now, with that
    /// identity, and the bundle offered is the org's current logged bundle, byte for byte.
    pub fn check_directory(&self, answer: &DirectoryEntry) -> Result<(), LogError> {
        let mismatch = |reason: String| LogError::NotInLog { reason };
        let Some(holder) = self.numbers.get(&answer.number).and_then(|r| r.org_id.as_deref()) else {
            return Err(mismatch(format!("the log binds {} to no organization", answer.number)));
        };
        if holder != answer.org_id {
            return Err(mismatch(format!("the log binds {} to org {holder}, not {}", answer.number, answer.org_id)));
        }
        let org = self.orgs.get(holder).ok_or_else(|| mismatch(format!("org {holder} has no identity in the log")))?;
        if b64u_encode(&org.identity_pub) != answer.identity_pub {
            return Err(mismatch(format!("the identity offered for org {holder} is not the logged one")));
        }
        match org.current_bundle() {
            Some(b) if *b == answer.bundle => Ok(()),
            Some(b) => Err(mismatch(format!(
                "the bundle offered ({}) is not org {holder}'s current logged bundle ({})",
                answer.bundle.bundle_id, b.bundle_id
            ))),
            None => Err(mismatch(format!("org {holder} has no logged bundle"))),
        }
    }

    /// Checks an org's keys as the relay gave them for opening or verifying something it
    /// signed: the org is logged with that identity and `bundle_id` is one of its logged
    /// bundles (not necessarily the current one: an old fax names the bundle it was sealed
    /// with; a retired org's old faxes still open).
    pub fn check_org_bundle(&self, org_id: &str, identity_pub: &[u8; 32], bundle: &Bundle) -> Result<(), LogError> {
        let mismatch = |reason: String| LogError::NotInLog { reason };
        let org = self.orgs.get(org_id).ok_or_else(|| mismatch(format!("org {org_id} has no identity in the log")))?;
        if &org.identity_pub != identity_pub {
            return Err(mismatch(format!("the identity offered for org {org_id} is not the logged one")));
        }
        if !org.bundles.iter().any(|b| b == bundle) {
            return Err(mismatch(format!("bundle {} of org {org_id} is not in the log", bundle.bundle_id)));
        }
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

    struct Org {
        id: IdentityKey,
        bundle: Bundle,
    }

    fn org(seed: u8) -> Org {
        let id = IdentityKey::from_seed(&[seed; 32]);
        let bundle = BundleKeys::generate(&id, 1_700_000_000).unwrap().bundle;
        Org { id, bundle }
    }

    fn enrol(log: &mut LogState, o: &Org, number: &str, seq: u64) {
        let time = 10 + 20 * (seq - 1);
        log.apply(&Entry::Identity { time, org_id: o.id.org_id(), identity_pub: o.id.public() }.encode()).unwrap();
        log.apply(&Entry::Bundle { time, bundle: o.bundle.clone() }.encode()).unwrap();
        log.apply(&Entry::NumberBound { time, number: number.into(), org_id: o.id.org_id(), seq }.encode()).unwrap();
    }

    fn answer(o: &Org, number: &str) -> DirectoryEntry {
        DirectoryEntry {
            number: number.into(),
            org_id: o.id.org_id(),
            org_name: "Clinic".into(),
            identity_pub: b64u_encode(&o.id.public()),
            bundle: o.bundle.clone(),
            log: None,
        }
    }

    #[test]
    fn the_directory_is_derived_from_the_log() {
        let (a, b) = (org(1), org(2));
        let mut log = LogState::new();
        enrol(&mut log, &a, "+15550100001", 1);
        enrol(&mut log, &b, "+15550100002", 1);
        log.check_directory(&answer(&a, "+15550100001")).unwrap();
        log.check_directory(&answer(&b, "+15550100002")).unwrap();
        // A substituted identity (b's keys offered for a's number) is not in the log.
        let mut forged = answer(&b, "+15550100001");
        assert!(log.check_directory(&forged).is_err());
        forged.org_id = a.id.org_id();
        assert!(log.check_directory(&forged).is_err());
        // A hidden rotation: the relay still offers the old bundle after a new one is logged.
        let newer = BundleKeys::generate(&a.id, 1_700_000_100).unwrap().bundle;
        log.apply(&Entry::Bundle { time: 11, bundle: newer.clone() }.encode()).unwrap();
        assert!(log.check_directory(&answer(&a, "+15550100001")).is_err());
        let mut current = answer(&a, "+15550100001");
        current.bundle = newer;
        log.check_directory(&current).unwrap();
        // Opening an old fax: any logged bundle of the org, with its logged identity.
        log.check_org_bundle(&a.id.org_id(), &a.id.public(), &a.bundle).unwrap();
        log.check_org_bundle(&a.id.org_id(), &a.id.public(), &current.bundle).unwrap();
        assert!(log.check_org_bundle(&a.id.org_id(), &b.id.public(), &a.bundle).is_err());
        assert!(log.check_org_bundle(&a.id.org_id(), &a.id.public(), &b.bundle).is_err());
        assert!(log.check_org_bundle(&"0".repeat(32), &a.id.public(), &a.bundle).is_err());
        assert_eq!(log.size(), 7);
        assert_eq!(log.root(), log.tree().root_at(7).unwrap());
    }

    #[test]
    fn entries_breaking_the_rules_make_the_log_invalid_and_change_nothing() {
        let (a, b) = (org(1), org(2));
        let mut log = LogState::new();
        enrol(&mut log, &a, "+15550100001", 1);
        let before = (log.size(), log.root());
        let bad = [
            // b's bundle before b's identity.
            Entry::Bundle { time: 20, bundle: b.bundle.clone() },
            // a's identity again.
            Entry::Identity { time: 20, org_id: a.id.org_id(), identity_pub: a.id.public() },
            // a's number bound again while held, and a skipped sequence.
            Entry::NumberBound { time: 20, number: "+15550100001".into(), org_id: a.id.org_id(), seq: 2 },
            Entry::NumberBound { time: 20, number: "+15550100009".into(), org_id: a.id.org_id(), seq: 2 },
            // Released by an org that does not hold it.
            Entry::NumberReleased { time: 20, number: "+15550100001".into(), org_id: b.id.org_id(), seq: 2 },
            // Retired while it still holds a number.
            Entry::IdentityRetired { time: 20, org_id: a.id.org_id() },
            // Time going backwards.
            Entry::NumberReleased { time: 5, number: "+15550100001".into(), org_id: a.id.org_id(), seq: 2 },
            // The same bundle twice.
            Entry::Bundle { time: 20, bundle: a.bundle.clone() },
        ];
        for e in bad {
            let err = log.apply(&e.encode()).unwrap_err();
            assert!(matches!(err, LogError::InvalidEntry { index: 3, .. }), "{e:?}: {err}");
            assert_eq!((log.size(), log.root()), before);
        }
        // A bundle signed by another identity under a's org id.
        let mut alien = b.bundle.clone();
        alien.org_id = a.id.org_id();
        assert!(log.apply(&Entry::Bundle { time: 20, bundle: alien }.encode()).is_err());
        // Re-invite: release, retire, and the number moves to the new org with the next sequence.
        log.apply(
            &Entry::NumberReleased { time: 30, number: "+15550100001".into(), org_id: a.id.org_id(), seq: 2 }.encode(),
        )
        .unwrap();
        log.apply(&Entry::IdentityRetired { time: 30, org_id: a.id.org_id() }.encode()).unwrap();
        assert!(log.apply(&Entry::Bundle { time: 30, bundle: a.bundle.clone() }.encode()).is_err());
        enrol(&mut log, &b, "+15550100001", 3); // at time 50
        log.check_directory(&answer(&b, "+15550100001")).unwrap();
        assert!(log.check_directory(&answer(&a, "+15550100001")).is_err());
    }
}
