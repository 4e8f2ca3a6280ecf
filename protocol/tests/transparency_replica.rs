//! A client's replica (docs/transparency.md §4.2, §5) and an org's monitor:
//! a replica follows an honest log through checkpoints, refuses a rollback,
//! a same-size fork and entries that do not lead to the signed root, and
//! stays unchanged when it refuses; the monitor names what an org did not make.

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's;
// indexes are small test sizes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)]

use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::sign::SecretSigningKey;
use fxe_protocol::transparency::entry::encode_bundle;
use fxe_protocol::transparency::monitor::{self, OwnOrg, Severity};
use fxe_protocol::transparency::note::{KeyKind, NoteKey, SignedNote, cosign, sign_note};
use fxe_protocol::transparency::tile::TILE_WIDTH;
use fxe_protocol::transparency::{Applied, Checkpoint, Entry, LogError, LogState, Replica, TrustPolicy};

const ORIGIN: &str = "relay.example/fxe/log";

struct Log {
    key: SecretSigningKey,
    witness: SecretSigningKey,
    policy: TrustPolicy,
    entries: Vec<Vec<u8>>,
    state: LogState,
}

impl Log {
    fn new() -> Log {
        let key = SecretSigningKey::from_seed(&[1; 32]);
        let witness = SecretSigningKey::from_seed(&[2; 32]);
        let policy = TrustPolicy {
            log: NoteKey::new(ORIGIN, KeyKind::Log, key.public()).unwrap().vkey(),
            witnesses: vec![NoteKey::new("w.example", KeyKind::Witness, witness.public()).unwrap().vkey()],
            quorum: 1,
            max_age: 600,
        };
        Log { key, witness, policy, entries: Vec::new(), state: LogState::new() }
    }

    fn push(&mut self, e: Entry) {
        let bytes = e.encode();
        self.state.apply(&bytes).unwrap();
        self.entries.push(bytes);
    }

    fn note_for(&self, size: u64, root: [u8; 32]) -> String {
        let body = Checkpoint { origin: ORIGIN.into(), size, root }.body();
        let mut n = SignedNote { text: body.clone(), signatures: vec![sign_note(&body, ORIGIN, &self.key).unwrap()] };
        n.push(cosign(&body, 1000, "w.example", &self.witness).unwrap());
        n.format()
    }

    fn note(&self) -> String {
        self.note_for(self.state.size(), self.state.root())
    }

    /// Verifies `note`, serves the entry bundles `replica` asks for, and advances it.
    fn advance_to(&self, replica: &mut Replica, note: &str) -> Result<Vec<Applied>, LogError> {
        let cp = self.policy.verify(note, 1100)?;
        let bundles = replica
            .tiles_needed(&cp)?
            .iter()
            .map(|t| {
                let first = (t.index * TILE_WIDTH) as usize;
                (*t, encode_bundle(&self.entries[first..first + t.width as usize]).unwrap())
            })
            .collect::<Vec<_>>();
        replica.advance(cp, &bundles)
    }

    /// What a copy of `replica` makes of `note` (the replica itself is left as it is).
    fn serve(&self, replica: &Replica, note: &str) -> Result<Vec<Applied>, LogError> {
        self.advance_to(&mut replica.clone(), note)
    }

    /// Brings `replica` up to the log's newest checkpoint.
    fn sync(&self, replica: &mut Replica) -> Result<Vec<Applied>, LogError> {
        self.advance_to(replica, &self.note())
    }
}

fn org(seed: u8, log: &mut Log, number: &str, time: u64) -> (IdentityKey, String) {
    let id = IdentityKey::from_seed(&[seed; 32]);
    let b = BundleKeys::generate(&id, 1_700_000_000).unwrap().bundle;
    log.push(Entry::Identity { time, org_id: id.org_id(), identity_pub: id.public() });
    let bundle_id = b.bundle_id.clone();
    log.push(Entry::Bundle { time, bundle: b });
    log.push(Entry::NumberBound { time, number: number.into(), org_id: id.org_id(), seq: 1 });
    (id, bundle_id)
}

#[test]
fn a_replica_follows_an_honest_log_across_tiles() {
    let mut log = Log::new();
    let mut replica = Replica::new();
    org(10, &mut log, "+15550100001", 1);
    assert_eq!(log.sync(&mut replica).unwrap().len(), 3);
    // Grow across a tile boundary with number entries, syncing mid-way.
    for i in 0..300u64 {
        let n = format!("+1555020{i:04}");
        let org_id = IdentityKey::from_seed(&[10; 32]).org_id();
        log.push(Entry::NumberBound { time: 2, number: n, org_id, seq: 1 });
        if i == 100 {
            assert_eq!(log.sync(&mut replica).unwrap().len(), 101);
        }
    }
    let applied = log.sync(&mut replica).unwrap();
    assert_eq!(applied.len(), 199);
    assert_eq!(applied[0].index, 104);
    assert_eq!(replica.size(), 303);
    assert_eq!(replica.state().root(), log.state.root());
    // Nothing new: nothing to fetch, nothing applied.
    assert!(log.sync(&mut replica).unwrap().is_empty());

    // A stored replica restores to the same head; entries beyond the checkpoint are dropped.
    let note = replica.checkpoint().unwrap().note.clone();
    let mut stored = log.entries.clone();
    stored.push(Entry::IdentityRetired { time: 9, org_id: "0".repeat(32) }.encode());
    let restored = Replica::restore(&log.policy, &stored, Some(&note)).unwrap();
    assert_eq!(restored.state().root(), replica.state().root());
    assert!(Replica::restore(&log.policy, &stored[..10], Some(&note)).is_err());
    // Restoring does not verify the bundles' signatures again, so it rests on the root: a
    // stored entry swapped for another the org could have signed is refused.
    let id = IdentityKey::from_seed(&[10; 32]);
    let other = BundleKeys::generate(&id, 1_700_000_000).unwrap().bundle;
    let mut swapped = stored.clone();
    swapped[1] = Entry::Bundle { time: 1, bundle: other }.encode();
    assert_ne!(swapped[1], stored[1]);
    assert!(matches!(Replica::restore(&log.policy, &swapped, Some(&note)), Err(LogError::Proof(_))));
    // And one that breaks a cheap rule (a second identity for the org) is refused by the rule.
    let mut twice = stored;
    twice[2] = twice[0].clone();
    assert!(matches!(Replica::restore(&log.policy, &twice, Some(&note)), Err(LogError::InvalidEntry { index: 2, .. })));
}

#[test]
fn rollbacks_forks_and_bad_entries_are_refused_and_change_nothing() {
    let mut log = Log::new();
    let mut replica = Replica::new();
    org(10, &mut log, "+15550100001", 1);
    org(11, &mut log, "+15550100002", 1);
    log.sync(&mut replica).unwrap();
    let seen = replica.checkpoint().unwrap().note.clone();

    // A signed checkpoint of a smaller tree: a rollback, with both notes as evidence.
    let small = log.note_for(3, fxe_protocol::transparency::merkle::empty_root());
    match log.serve(&replica, &small) {
        Err(LogError::Rollback { seen: s, offered }) => {
            assert_eq!(s, seen);
            assert_eq!(offered, small);
        }
        other => panic!("expected a rollback, got {other:?}"),
    }
    // The same size with another root: a fork.
    let forked = log.note_for(6, [7; 32]);
    assert!(matches!(log.serve(&replica, &forked), Err(LogError::Fork { .. })));
    // A bigger tree whose entries do not lead to its root: a fork too.
    let mut grown = Log { entries: log.entries.clone(), state: log.state.clone(), ..Log::new() };
    org(12, &mut grown, "+15550100003", 2);
    let lying = log.note_for(9, [9; 32]);
    let cp = log.policy.verify(&lying, 1100).unwrap();
    let tiles = replica.tiles_needed(&cp).unwrap();
    let bundles: Vec<_> =
        tiles.iter().map(|t| (*t, encode_bundle(&grown.entries[..t.width as usize]).unwrap())).collect();
    assert!(matches!(replica.advance(cp, &bundles), Err(LogError::Fork { .. })));
    // An entry breaking the rules (the number bound twice): the log is invalid.
    let mut bad = Log { entries: log.entries.clone(), state: log.state.clone(), ..Log::new() };
    let double = Entry::NumberBound {
        time: 3,
        number: "+15550100001".into(),
        org_id: IdentityKey::from_seed(&[11; 32]).org_id(),
        seq: 2,
    }
    .encode();
    bad.entries.push(double.clone());
    let mut tree = fxe_protocol::transparency::merkle::MemoryTree::new();
    for e in &bad.entries {
        tree.push(fxe_protocol::transparency::merkle::leaf_hash(e));
    }
    let note = log.note_for(7, tree.root());
    let cp = log.policy.verify(&note, 1100).unwrap();
    let tiles = replica.tiles_needed(&cp).unwrap();
    let bundles: Vec<_> =
        tiles.iter().map(|t| (*t, encode_bundle(&bad.entries[..t.width as usize]).unwrap())).collect();
    assert!(matches!(replica.advance(cp, &bundles), Err(LogError::InvalidEntry { index: 6, .. })));
    // A bundle with an entry missing or one too few: refused.
    let cp = log.policy.verify(&log.note(), 1100).unwrap();
    let short = vec![(tiles[0], encode_bundle(&log.entries[..5]).unwrap())];
    assert!(replica.clone().advance(cp, &short).is_err());

    // After every refusal the replica is where it was and still syncs honestly.
    assert_eq!(replica.checkpoint().unwrap().note, seen);
    assert_eq!(replica.size(), 6);
    org(13, &mut log, "+15550100004", 4);
    assert_eq!(log.sync(&mut replica).unwrap().len(), 3);
}

#[test]
fn the_monitor_names_what_the_org_did_not_make() {
    let mut log = Log::new();
    let mut replica = Replica::new();
    let (me, my_bundle) = org(10, &mut log, "+15550100001", 1);
    let made = vec![(my_bundle.clone(), 1_700_000_000)];
    let own = OwnOrg { org_id: &me.org_id(), bundles: &made };
    let first = monitor::watch(&own, &log.sync(&mut replica).unwrap());
    let codes: Vec<_> = first.iter().map(|f| (f.code, f.severity)).collect();
    assert_eq!(
        codes,
        [
            ("identity_registered", Severity::Notice),
            ("bundle_published", Severity::Notice),
            ("number_bound", Severity::Notice)
        ]
    );
    assert!(monitor::withheld(&own, &["+15550100001".into()], replica.state(), 1_800_000_000, 60).is_empty());

    // The relay moves the number to an org it made: release, new identity, bound there.
    log.push(Entry::NumberReleased { time: 5, number: "+15550100001".into(), org_id: me.org_id(), seq: 2 });
    let evil = IdentityKey::from_seed(&[66; 32]);
    log.push(Entry::Identity { time: 5, org_id: evil.org_id(), identity_pub: evil.public() });
    log.push(Entry::NumberBound { time: 5, number: "+15550100001".into(), org_id: evil.org_id(), seq: 3 });
    let found = monitor::watch(&own, &log.sync(&mut replica).unwrap());
    let alerts: Vec<_> = found.iter().filter(|f| f.severity == Severity::Alert).map(|f| (f.code, f.index)).collect();
    assert_eq!(alerts, [("number_released", Some(3)), ("number_moved", Some(5))]);
    // And the relay, still claiming the org holds the number, is caught by `withheld`.
    let w = monitor::withheld(&own, &["+15550100001".into()], replica.state(), 1_800_000_000, 60);
    assert_eq!(w.iter().map(|f| f.code).collect::<Vec<_>>(), ["number_not_logged"]);
    // A bundle the org made that the relay never logged.
    let unlogged = vec![(my_bundle, 1_700_000_000), ("ab".repeat(16), 1_799_999_000)];
    let own2 = OwnOrg { org_id: &me.org_id(), bundles: &unlogged };
    let w = monitor::withheld(&own2, &[], replica.state(), 1_800_000_000, 60);
    assert_eq!(w.iter().map(|f| f.code).collect::<Vec<_>>(), ["bundle_not_logged"]);
    assert!(monitor::withheld(&own2, &[], replica.state(), 1_799_999_030, 60).is_empty());
}

#[test]
fn foreign_bundles_are_found_in_the_whole_log() {
    let mut log = Log::new();
    let mut replica = Replica::new();
    let (me, my_bundle) = org(10, &mut log, "+15550100001", 1);
    // Someone with the org's identity key publishes a second bundle; the monitor applied it
    // without knowing the org's bundles (locked keys), so `watch` cannot have told.
    let other = BundleKeys::generate(&me, 1_700_000_100).unwrap().bundle;
    let other_id = other.bundle_id.clone();
    log.push(Entry::Bundle { time: 2, bundle: other });
    log.sync(&mut replica).unwrap();
    let made = vec![(my_bundle.clone(), 1_700_000_000)];
    let own = OwnOrg { org_id: &me.org_id(), bundles: &made };
    let found = monitor::foreign_bundles(&own, replica.state());
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].code, found[0].severity, found[0].index), ("foreign_bundle", Severity::Alert, None));
    assert!(found[0].message.contains(&other_id), "{}", found[0].message);
    // Both bundles made by the org: nothing; an org the log does not hold: nothing.
    let both = vec![(my_bundle, 1_700_000_000), (other_id, 1_700_000_100)];
    assert!(monitor::foreign_bundles(&OwnOrg { org_id: &me.org_id(), bundles: &both }, replica.state()).is_empty());
    assert!(monitor::foreign_bundles(&OwnOrg { org_id: "nobody", bundles: &[] }, replica.state()).is_empty());
}

#[test]
fn the_policy_fingerprint_covers_witnesses_and_quorum() {
    let log = Log::new();
    let p = log.policy.clone();
    let fp = p.fingerprint();
    assert_eq!(fp.split(' ').count(), 8);
    assert!(p.canonical_text().starts_with("fxe/v1 log policy\nlog relay.example/fxe/log+"));
    let swapped = TrustPolicy {
        witnesses: vec![
            NoteKey::new("w.example", KeyKind::Witness, SecretSigningKey::from_seed(&[3; 32]).public()).unwrap().vkey(),
        ],
        ..p.clone()
    };
    assert_ne!(swapped.fingerprint(), fp);
    assert_ne!(TrustPolicy { quorum: 0, ..p.clone() }.fingerprint(), fp);
    // Witness order does not matter.
    let two = TrustPolicy { witnesses: vec![p.witnesses[0].clone(), swapped.witnesses[0].clone()], ..p.clone() };
    let two_rev = TrustPolicy { witnesses: vec![swapped.witnesses[0].clone(), p.witnesses[0].clone()], ..p };
    assert_eq!(two.fingerprint(), two_rev.fingerprint());
}
