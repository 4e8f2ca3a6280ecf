//! Key transparency costs (docs/transparency.md §5, issue 21), client side:
//! a replica's first sync of a log of 10,000 orgs (each with its identity,
//! two bundles and three numbers: 60,000 entries), restoring it from storage, an incremental sync of one
//! entry bundle, the bytes that takes, the proofs in a directory answer and
//! the time to check them, and the rate a log applies entries. Every figure
//! sits next to a ceiling measured in the same run: SHA-256 over the same
//! bytes (the least any client must do to check them), one Ed25519
//! verification.
//!
//! `cargo bench -p fxe-protocol --bench transparency` writes
//! `target/bench-results/transparency.json` (see report.rs), and the directory
//! answer it checks, with its proof and the policy, to
//! `target/bench-results/transparency-fixture.json`: the browser benchmark
//! times the same check in WASM. `FXE_BENCH_ORGS`
//! changes the 10,000.

// Counts here are far below 2^52: the casts to f64 and usize are exact.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

mod report;

use fxe_protocol::api::DirectoryEntry;
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::encoding::b64u_encode;
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::sign::SecretSigningKey;
use fxe_protocol::transparency::entry::encode_bundle;
use fxe_protocol::transparency::inclusion::{LogProof, ProvenEntry, verify_directory};
use fxe_protocol::transparency::merkle;
use fxe_protocol::transparency::note::{KeyKind, NoteKey, SignedNote, cosign, sign_note};
use fxe_protocol::transparency::tile::TILE_WIDTH;
use fxe_protocol::transparency::{Checkpoint, Entry, LogState, Replica, TrustPolicy};
use report::Record;
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::{Duration, Instant};

const ORIGIN: &str = "relay.example/fxe/log";
const NOW: u64 = 1_800_000_000;

/// The median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

struct Log {
    key: SecretSigningKey,
    witnesses: Vec<SecretSigningKey>,
    policy: TrustPolicy,
    entries: Vec<Vec<u8>>,
    state: LogState,
}

impl Log {
    fn note(&self) -> String {
        let body = Checkpoint { origin: ORIGIN.into(), size: self.state.size(), root: self.state.root() }.body();
        let mut n = SignedNote { text: body.clone(), signatures: vec![sign_note(&body, ORIGIN, &self.key).unwrap()] };
        for (i, w) in self.witnesses.iter().enumerate() {
            n.push(cosign(&body, NOW, &format!("w{i}.example"), w).unwrap());
        }
        n.format()
    }

    fn bundles_for(
        &self, replica: &Replica, note: &str,
    ) -> (fxe_protocol::transparency::VerifiedCheckpoint, Vec<(fxe_protocol::transparency::tile::Tile, Vec<u8>)>) {
        let cp = self.policy.verify(note, NOW).unwrap();
        let tiles = replica.tiles_needed(&cp).unwrap();
        let bundles = tiles
            .iter()
            .map(|t| {
                let first = (t.index * TILE_WIDTH) as usize;
                (*t, encode_bundle(&self.entries[first..first + t.width as usize]).unwrap())
            })
            .collect();
        (cp, bundles)
    }
}

fn main() {
    let orgs: usize = std::env::var("FXE_BENCH_ORGS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let key = SecretSigningKey::from_seed(&[1; 32]);
    let witnesses: Vec<_> = (2..5u8).map(|i| SecretSigningKey::from_seed(&[i; 32])).collect();
    let policy = TrustPolicy {
        log: NoteKey::new(ORIGIN, KeyKind::Log, key.public()).unwrap().vkey(),
        witnesses: witnesses
            .iter()
            .enumerate()
            .map(|(i, w)| NoteKey::new(&format!("w{i}.example"), KeyKind::Witness, w.public()).unwrap().vkey())
            .collect(),
        quorum: 2,
        max_age: 600,
    };

    // The log: per org an identity, a bundle, three numbers, a rotated bundle.
    let t = Instant::now();
    let mut log = Log { key, witnesses, policy, entries: Vec::new(), state: LogState::new() };
    let mut answer = None;
    for o in 0..orgs {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(o as u64).to_be_bytes());
        seed[31] = 1;
        let id = IdentityKey::from_seed(&seed);
        let time = 1_700_000_000 + o as u64;
        let mut facts = vec![Entry::Identity { time, org_id: id.org_id(), identity_pub: id.public() }];
        let first = BundleKeys::generate(&id, time).unwrap().bundle;
        facts.push(Entry::Bundle { time, bundle: first });
        for n in 0..3 {
            let number = format!("+1{:010}", o * 3 + n);
            facts.push(Entry::NumberBound { time, number, org_id: id.org_id(), seq: 1 });
        }
        let second = BundleKeys::generate(&id, time + 1).unwrap().bundle;
        if o == orgs / 2 {
            answer = Some(DirectoryEntry {
                number: format!("+1{:010}", o * 3),
                org_id: id.org_id(),
                org_name: "Clinic".into(),
                identity_pub: b64u_encode(&id.public()),
                bundle: second.clone(),
                log: None,
            });
        }
        facts.push(Entry::Bundle { time: time + 1, bundle: second });
        for f in facts {
            let bytes = f.encode();
            log.state.apply(&bytes).unwrap();
            log.entries.push(bytes);
        }
    }
    let answer = answer.unwrap();
    println!("built a log of {} entries for {orgs} orgs in {:.1} s", log.entries.len(), t.elapsed().as_secs_f64());
    let mut records = Vec::new();
    let n_entries = log.entries.len() as u64;
    let note = log.note();

    // First sync: every entry bundle, applied under the rules, tree rebuilt.
    let (cp, bundles) = log.bundles_for(&Replica::new(), &note);
    let wire: u64 = bundles.iter().map(|(_, b)| b.len() as u64).sum();
    let full_sync = median(3, || {
        let mut r = Replica::new();
        black_box(r.advance(cp.clone(), &bundles).unwrap());
    });
    let hash_all = median(5, || {
        for (_, b) in &bundles {
            black_box(Sha256::digest(b));
        }
    });
    records.push(Record::new(format!("log entries, {orgs} orgs"), n_entries as f64, "entries"));
    records.push(Record::new(format!("first sync download, {orgs} orgs"), report::round(wire as f64 / 1e6), "MB"));
    records.push(
        Record::new(format!("first sync, {orgs} orgs"), report::round(full_sync.as_secs_f64() * 1e3), "ms")
            .with_peer("SHA-256 over the same bytes", report::round(hash_all.as_secs_f64() * 1e3)),
    );
    records.push(
        Record::new("replica apply rate", report::round(n_entries as f64 / full_sync.as_secs_f64()), "entries/s")
            .with_peer("SHA-256 of entries", report::round(n_entries as f64 / hash_all.as_secs_f64())),
    );

    // A client starting again: its stored replica restored (every rule but the bundles'
    // signatures, checked at the first sync; the root against the signed checkpoint).
    let restore = median(3, || {
        black_box(Replica::restore(&log.policy, &log.entries, Some(&note)).unwrap());
    });
    records.push(
        Record::new(
            format!("restoring the stored replica, {orgs} orgs"),
            report::round(restore.as_secs_f64() * 1e3),
            "ms",
        )
        .with_peer("the first sync of the same entries", report::round(full_sync.as_secs_f64() * 1e3)),
    );

    // An incremental sync: one org joins (6 entries) after the replica is current.
    let mut replica = Replica::new();
    replica.advance(cp, &bundles).unwrap();
    let id = IdentityKey::from_seed(&[0xee; 32]);
    let b = BundleKeys::generate(&id, NOW).unwrap().bundle;
    for f in [
        Entry::Identity { time: NOW, org_id: id.org_id(), identity_pub: id.public() },
        Entry::Bundle { time: NOW, bundle: b },
        Entry::NumberBound { time: NOW, number: "+19999999999".into(), org_id: id.org_id(), seq: 1 },
    ] {
        let bytes = f.encode();
        log.state.apply(&bytes).unwrap();
        log.entries.push(bytes);
    }
    let note2 = log.note();
    let (cp2, bundles2) = log.bundles_for(&replica, &note2);
    let inc_wire: u64 = bundles2.iter().map(|(_, b)| b.len() as u64).sum();
    let inc = median(9, || {
        let mut r = replica.clone();
        black_box(r.advance(cp2.clone(), &bundles2).unwrap());
    });
    let clone_only = median(9, || {
        black_box(replica.clone());
    });
    records.push(Record::new("incremental sync download (1 new org)", inc_wire as f64, "bytes"));
    records.push(
        Record::new("incremental sync (1 new org)", report::round(inc.as_secs_f64() * 1e3), "ms")
            .with_peer("copying the replica", report::round(clone_only.as_secs_f64() * 1e3)),
    );

    // A directory answer's proof: checkpoint + three entries with inclusion proofs.
    let size = log.state.size();
    let tree = log.state.tree();
    let index_of = |want: &dyn Fn(&Entry) -> bool| {
        log.entries.iter().position(|e| want(&Entry::decode(e).unwrap())).unwrap() as u64
    };
    let picks = [
        index_of(&|e| matches!(e, Entry::NumberBound { number, .. } if *number == answer.number)),
        index_of(&|e| matches!(e, Entry::Identity { org_id, .. } if *org_id == answer.org_id)),
        index_of(&|e| matches!(e, Entry::Bundle { bundle, .. } if *bundle == answer.bundle)),
    ];
    let proof = LogProof {
        checkpoint: note2.clone(),
        entries: picks
            .iter()
            .map(|&i| ProvenEntry::new(i, &log.entries[i as usize], &merkle::inclusion_proof(tree, i, size).unwrap()))
            .collect(),
    };
    let proof_json = serde_json::to_vec(&proof).unwrap();
    let hashes: usize = proof.entries.iter().map(|e| e.proof.len()).sum();
    records.push(Record::new(format!("inclusion proof hashes, {size} entries"), (hashes / 3) as f64, "hashes"));
    records.push(Record::new("directory answer's log member", proof_json.len() as f64, "bytes"));
    let verify = median(51, || {
        black_box(verify_directory(&log.policy, &answer, &proof, NOW).unwrap());
    });
    let ed = log.key.public();
    let sig = log.key.sign(b"fxe bench");
    let ed_verify = median(51, || {
        fxe_protocol::sign::verify(black_box(&ed), b"fxe bench", black_box(&sig), "bench").unwrap();
    });
    records.push(
        Record::new("verify a directory answer's proof", report::round(verify.as_secs_f64() * 1e6), "µs")
            .with_peer("one Ed25519 verification", report::round(ed_verify.as_secs_f64() * 1e6)),
    );
    // The same answer and proof for the browser benchmark (end2end/bench.mjs), which times
    // this check in WASM next to these native figures.
    let mut proven = answer.clone();
    proven.log = Some(proof.clone());
    let fixture = serde_json::json!({
        "policy": log.policy,
        "answer": proven,
        "now": NOW,
        "native_verify_us": report::round(verify.as_secs_f64() * 1e6),
        "native_ed25519_us": report::round(ed_verify.as_secs_f64() * 1e6),
    });
    let fixture_path = report::results_dir().join("transparency-fixture.json");
    if let Err(e) = std::fs::create_dir_all(report::results_dir())
        .and_then(|()| std::fs::write(&fixture_path, serde_json::to_vec(&fixture).unwrap()))
    {
        eprintln!("cannot write {}: {e}", fixture_path.display());
        std::process::exit(1);
    }
    let check = median(51, || {
        black_box(replica.state()).check_directory(black_box(&answer)).unwrap();
    });
    records.push(Record::new("check an answer against the replica", report::round(check.as_secs_f64() * 1e6), "µs"));

    if let Err(e) = report::write("transparency", &records) {
        eprintln!("cannot write the results: {e}");
        std::process::exit(1);
    }
}
