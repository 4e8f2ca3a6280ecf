//! The relay's side of the rules (docs/transparency.md §2.1, §2.2): turning
//! directory facts into the next entries of the log. Each fact is checked
//! against the log as it stands after the facts before it, so a batch never
//! holds an entry that would make the log invalid; a fact already logged is
//! skipped (a retried batch, a backfill), one that breaks a rule is refused
//! with the rule, and the number sequences and times are filled in here, so
//! the relay cannot get them wrong. No I/O: the relay stores what it returns.

use super::entry::Entry;
use super::state::LogState;
use crate::bundle::Bundle;

/// A directory change the relay logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// An org registered with this identity.
    Identity {
        /// The org's id.
        org_id: String,
        /// Its identity key.
        identity_pub: [u8; 32],
    },
    /// A bundle published.
    Bundle(Bundle),
    /// A number bound to an org (redemption, an approved claim).
    Bound {
        /// The number (E.164).
        number: String,
        /// The org it is bound to.
        org_id: String,
    },
    /// A number released by its org.
    Released {
        /// The number (E.164).
        number: String,
        /// The org that held it.
        org_id: String,
    },
    /// An org's identity retired (a re-invite).
    Retired {
        /// The org's id.
        org_id: String,
    },
}

/// What [`LogState::sequence`] made of a batch of facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequenced {
    /// The new entries' bytes, in log order (already applied to the state).
    pub entries: Vec<Vec<u8>>,
    /// Facts the log already holds: nothing to write.
    pub already_logged: usize,
    /// Facts that would break a rule, with the rule: not logged.
    pub refused: Vec<(Fact, String)>,
}

impl LogState {
    /// Whether the log already says what `fact` says.
    fn holds(&self, fact: &Fact) -> bool {
        match fact {
            Fact::Identity { org_id, identity_pub } => {
                self.org(org_id).is_some_and(|o| &o.identity_pub == identity_pub)
            }
            Fact::Bundle(b) => {
                self.org(&b.org_id).is_some_and(|o| o.bundles.iter().any(|x| x.bundle_id == b.bundle_id))
            }
            Fact::Bound { number, org_id } => {
                self.number(number).and_then(|r| r.org_id.as_deref()) == Some(org_id.as_str())
            }
            Fact::Released { number, .. } => self.number(number).is_some_and(|r| r.org_id.is_none()),
            Fact::Retired { org_id } => self.org(org_id).is_some_and(|o| o.retired),
        }
    }

    fn entry_for(&self, fact: &Fact, time: u64) -> Entry {
        let next_seq = |number: &str| self.number(number).map_or(1, |r| r.seq.saturating_add(1));
        match fact.clone() {
            Fact::Identity { org_id, identity_pub } => Entry::Identity { time, org_id, identity_pub },
            Fact::Bundle(bundle) => Entry::Bundle { time, bundle },
            Fact::Bound { number, org_id } => Entry::NumberBound { time, seq: next_seq(&number), number, org_id },
            Fact::Released { number, org_id } => Entry::NumberReleased { time, seq: next_seq(&number), number, org_id },
            Fact::Retired { org_id } => Entry::IdentityRetired { time, org_id },
        }
    }

    /// Sequences `facts` at the relay's clock `now` (unix seconds; never before the last
    /// entry's time): each fact the log does not hold yet becomes an entry, checked against
    /// the log so far and applied, so later facts of the batch see it.
    pub fn sequence(&mut self, facts: &[Fact], now: u64) -> Sequenced {
        let time = now.max(self.last_time());
        let mut out = Sequenced::default();
        for fact in facts {
            if self.holds(fact) {
                out.already_logged += 1;
                continue;
            }
            let entry = self.entry_for(fact, time);
            let bytes = entry.encode();
            match self.apply(&bytes) {
                Ok(_) => out.entries.push(bytes),
                Err(e) => out.refused.push((fact.clone(), e.to_string())),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundleKeys;
    use crate::ids::IdentityKey;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn redemption(seed: u8, number: &str) -> (IdentityKey, Vec<Fact>) {
        let id = IdentityKey::from_seed(&[seed; 32]);
        let b = BundleKeys::generate(&id, 1_700_000_000).unwrap().bundle;
        let facts = vec![
            Fact::Identity { org_id: id.org_id(), identity_pub: id.public() },
            Fact::Bundle(b),
            Fact::Bound { number: number.into(), org_id: id.org_id() },
        ];
        (id, facts)
    }

    #[test]
    fn facts_become_valid_entries_with_sequences_and_times() {
        let mut log = LogState::new();
        let (a, facts) = redemption(1, "+15550100001");
        let s = log.sequence(&facts, 100);
        assert_eq!((s.entries.len(), s.already_logged, s.refused.len()), (3, 0, 0));
        // A retried batch writes nothing.
        let again = log.sequence(&facts, 101);
        assert_eq!((again.entries.len(), again.already_logged), (0, 3));
        // The number moves to a new org at a re-invite: release, retire, new redemption.
        let (b, mut re) = redemption(2, "+15550100001");
        let mut batch = vec![
            Fact::Released { number: "+15550100001".into(), org_id: a.org_id() },
            Fact::Retired { org_id: a.org_id() },
        ];
        batch.append(&mut re);
        // The relay's clock went back: entries keep the last time.
        let s = log.sequence(&batch, 50);
        assert_eq!(s.refused, vec![]);
        let decoded: Vec<Entry> = s.entries.iter().map(|e| Entry::decode(e).unwrap()).collect();
        assert!(decoded.iter().all(|e| e.time() == 100));
        assert!(matches!(&decoded[0], Entry::NumberReleased { seq: 2, .. }));
        assert!(matches!(&decoded[4], Entry::NumberBound { seq: 3, org_id, .. } if *org_id == b.org_id()));
        assert_eq!(log.number("+15550100001").unwrap().org_id.as_deref(), Some(b.org_id().as_str()));
    }

    #[test]
    fn a_fact_that_breaks_a_rule_is_refused_and_the_rest_go_on() {
        let mut log = LogState::new();
        let (a, facts) = redemption(1, "+15550100001");
        log.sequence(&facts, 100);
        let (b, mut other) = redemption(2, "+15550100002");
        let mut batch = vec![
            // b's number before b exists, and a's number given to b while a holds it.
            Fact::Bound { number: "+15550100003".into(), org_id: b.org_id() },
            Fact::Bound { number: "+15550100001".into(), org_id: b.org_id() },
            // a retired while it still holds a number.
            Fact::Retired { org_id: a.org_id() },
        ];
        batch.append(&mut other);
        let s = log.sequence(&batch, 200);
        assert_eq!(s.refused.len(), 3, "{:?}", s.refused);
        assert_eq!(s.entries.len(), 3);
        assert_eq!(log.size(), 6);
    }
}
