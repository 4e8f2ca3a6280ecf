//! Checkpoints (c2sp.org/tlog-checkpoint): `origin\nsize\nbase64(root)\n`,
//! signed by the log and cosigned by witnesses; the trust policy a client
//! pinned at redemption (log key, witnesses, quorum, freshness) and the
//! checks that a new checkpoint extends the last one seen.

use super::LogError;
use super::merkle::{self, Hash};
use super::note::{KeyKind, NoteKey, SignedNote};
use crate::encoding::{b64_std_decode, b64_std_encode};
use serde::{Deserialize, Serialize};

/// A tree head: the log's origin, its size and root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (its name; the log key's name).
    pub origin: String,
    /// The number of entries.
    pub size: u64,
    /// The RFC 6962 tree head.
    pub root: Hash,
}

fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse::<u64>().ok().filter(|n| *n <= i64::MAX as u64)
}

impl Checkpoint {
    /// The note text: three lines, each ending in a newline; no extension lines.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, b64_std_encode(&self.root))
    }

    /// Parses a checkpoint's text (exactly the three lines fxe logs write).
    pub fn parse_body(text: &str) -> Result<Checkpoint, LogError> {
        let bad = |why: &str| LogError::malformed("checkpoint", why.to_owned());
        let Some(body) = text.strip_suffix('\n') else {
            return Err(bad("the text must end in a newline"));
        };
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root] = lines.as_slice() else {
            return Err(bad("expected exactly three lines: origin, size, root hash"));
        };
        if origin.is_empty() || origin.chars().any(char::is_whitespace) {
            return Err(bad("the origin line is empty or has spaces"));
        }
        let size = parse_size(size).ok_or_else(|| bad("the size is not a decimal without leading zeros"))?;
        let root = b64_std_decode("checkpoint root", root).map_err(|e| bad(&e.to_string()))?;
        let root: Hash = root.try_into().map_err(|_| bad("the root hash is not 32 bytes"))?;
        Ok(Checkpoint { origin: (*origin).to_owned(), size, root })
    }
}

/// What a client trusts about a log, pinned when its org redeems (never taken from later answers):
/// the log's key (its name is the origin), the witnesses, how many must cosign, and how old a
/// checkpoint may be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    /// The log's verifier key (`origin+keyid+base64(0x01 || key)`).
    pub log: String,
    /// The witnesses' verifier keys (`name+keyid+base64(0x04 || key)`).
    pub witnesses: Vec<String>,
    /// How many distinct witnesses must have cosigned.
    pub quorum: u32,
    /// How old (seconds) the quorum's cosignatures may be.
    pub max_age: u64,
}

/// Cosignatures dated further ahead of the verifier's clock than this are refused.
pub const MAX_CLOCK_SKEW: u64 = 300;

/// A checkpoint whose log signature, witness quorum and freshness verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The tree head.
    pub checkpoint: Checkpoint,
    /// The note as received (kept as evidence).
    pub note: String,
    /// When the quorum cosigned: the oldest of the `quorum` newest cosignatures (0 with no quorum).
    pub witnessed_at: u64,
}

impl TrustPolicy {
    /// The parsed log key; fails when the policy's key is malformed or is not a log key.
    pub fn log_key(&self) -> Result<NoteKey, LogError> {
        let k = NoteKey::from_vkey(&self.log)?;
        if k.kind != KeyKind::Log {
            return Err(LogError::malformed("trust policy", "the log key is not an Ed25519 note key (type 0x01)"));
        }
        Ok(k)
    }

    /// The parsed witness keys; fails on a malformed one, a duplicate, or a quorum larger than the list.
    pub fn witness_keys(&self) -> Result<Vec<NoteKey>, LogError> {
        let mut keys: Vec<NoteKey> = Vec::new();
        for w in &self.witnesses {
            let k = NoteKey::from_vkey(w)?;
            if k.kind != KeyKind::Witness {
                return Err(LogError::malformed("trust policy", "a witness key is not a cosignature key (type 0x04)"));
            }
            if keys.iter().any(|o| o.name == k.name || o.public == k.public) {
                return Err(LogError::malformed("trust policy", "a witness is listed twice"));
            }
            keys.push(k);
        }
        if self.quorum as usize > keys.len() {
            return Err(LogError::malformed("trust policy", "the quorum is larger than the witness list"));
        }
        Ok(keys)
    }

    /// The policy's canonical text, what its fingerprint covers (docs/transparency.md §4.1):
    /// `fxe/v1 log policy\n`, `log <vkey>\n`, one `witness <vkey>\n` per witness in byte
    /// order, `quorum <n>\n`, `max_age <n>\n`.
    pub fn canonical_text(&self) -> String {
        let mut witnesses: Vec<&String> = self.witnesses.iter().collect();
        witnesses.sort();
        let mut t = format!("fxe/v1 log policy\nlog {}\n", self.log);
        for w in witnesses {
            t.push_str(&format!("witness {w}\n"));
        }
        t.push_str(&format!("quorum {}\nmax_age {}\n", self.quorum, self.max_age));
        t
    }

    /// The fingerprint an org checks out of band before it pins the policy: SHA-256 of
    /// [`TrustPolicy::canonical_text`], hex in eight groups of eight. It covers the witnesses
    /// and the quorum too, so a relay cannot keep its log key and swap in witnesses it runs.
    pub fn fingerprint(&self) -> String {
        super::note::grouped_fingerprint(self.canonical_text().as_bytes())
    }

    /// The log's origin (its key's name).
    pub fn origin(&self) -> Result<String, LogError> {
        Ok(self.log_key()?.name)
    }

    /// Checks a checkpoint note at time `now`: its text is a checkpoint of this log, the log signed
    /// it, at least `quorum` distinct witnesses cosigned it (a bad line from a known witness is an
    /// error), none in the future, and the quorum is no older than `max_age`.
    pub fn verify(&self, note: &str, now: u64) -> Result<VerifiedCheckpoint, LogError> {
        self.check(note, Some(now))
    }

    /// Checks a note the client accepted earlier and stored: the log's signature and the
    /// witness quorum, not its age (it was fresh when accepted).
    pub fn verify_signatures(&self, note: &str) -> Result<VerifiedCheckpoint, LogError> {
        self.check(note, None)
    }

    fn check(&self, note: &str, now: Option<u64>) -> Result<VerifiedCheckpoint, LogError> {
        let log = self.log_key()?;
        let witnesses = self.witness_keys()?;
        let parsed = SignedNote::parse(note)?;
        let checkpoint = Checkpoint::parse_body(&parsed.text)?;
        if checkpoint.origin != log.name {
            return Err(LogError::malformed(
                "checkpoint",
                format!("it is for log {:?}, not {:?}", checkpoint.origin, log.name),
            ));
        }
        parsed.verify_log(&log)?;
        let mut times = Vec::new();
        for w in &witnesses {
            if let Some(t) = parsed.verify_cosignature(w)? {
                if now.is_some_and(|now| t > now.saturating_add(MAX_CLOCK_SKEW)) {
                    return Err(LogError::signature(format!("witness {} dated its cosignature in the future", w.name)));
                }
                times.push(t);
            }
        }
        times.sort_unstable_by(|a, b| b.cmp(a));
        let quorum = self.quorum as usize;
        if times.len() < quorum {
            return Err(LogError::Quorum { have: times.len(), need: quorum });
        }
        let witnessed_at = if quorum == 0 { 0 } else { times[quorum - 1] };
        if let Some(now) = now
            && quorum > 0
            && now.saturating_sub(witnessed_at) > self.max_age
        {
            return Err(LogError::Stale { age: now.saturating_sub(witnessed_at), max_age: self.max_age });
        }
        Ok(VerifiedCheckpoint { checkpoint, note: note.to_owned(), witnessed_at })
    }
}

/// Checks that `next` extends `prev` (RFC 9162 consistency): a smaller size is a rollback, an equal
/// size with another root or a failing proof is a fork. Both notes are kept in the error as evidence.
pub fn check_extends(prev: &VerifiedCheckpoint, next: &VerifiedCheckpoint, proof: &[Hash]) -> Result<(), LogError> {
    let (a, b) = (&prev.checkpoint, &next.checkpoint);
    if a.origin != b.origin {
        return Err(LogError::malformed("checkpoint", "the two checkpoints are of different logs"));
    }
    if b.size < a.size {
        return Err(LogError::Rollback { seen: prev.note.clone(), offered: next.note.clone() });
    }
    merkle::verify_consistency(a.size, b.size, &a.root, &b.root, proof)
        .map_err(|_| LogError::Fork { seen: prev.note.clone(), offered: next.note.clone() })
}

/// What a client without a replica (the browser, the Python SDK) can check of `next` against
/// the last checkpoint it accepted, with no consistency proof: a smaller size is a rollback, the
/// same size with another root a fork (both notes kept in the error as evidence). Returns
/// whether `next` is newer than `prev` (then it becomes the one to keep). A larger checkpoint is
/// not proven to extend `prev` here; the witnesses' cosignatures (the policy's quorum) and the
/// members' replicas are what catch a fork between two sizes.
pub fn check_not_behind(prev: &VerifiedCheckpoint, next: &VerifiedCheckpoint) -> Result<bool, LogError> {
    let (a, b) = (&prev.checkpoint, &next.checkpoint);
    if a.origin != b.origin {
        return Err(LogError::malformed("checkpoint", "the two checkpoints are of different logs"));
    }
    if b.size < a.size {
        return Err(LogError::Rollback { seen: prev.note.clone(), offered: next.note.clone() });
    }
    if b.size == a.size && b.root != a.root {
        return Err(LogError::Fork { seen: prev.note.clone(), offered: next.note.clone() });
    }
    Ok(b.size > a.size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::SecretSigningKey;
    use crate::transparency::note::{cosign, sign_note};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const ORIGIN: &str = "relay.example/fxe-log";

    fn keys() -> (SecretSigningKey, Vec<SecretSigningKey>, TrustPolicy) {
        let log = SecretSigningKey::from_seed(&[1; 32]);
        let ws: Vec<_> = (2..5u8).map(|i| SecretSigningKey::from_seed(&[i; 32])).collect();
        let policy = TrustPolicy {
            log: NoteKey::new(ORIGIN, KeyKind::Log, log.public()).unwrap().vkey(),
            witnesses: ws
                .iter()
                .enumerate()
                .map(|(i, k)| NoteKey::new(&format!("w{i}.example"), KeyKind::Witness, k.public()).unwrap().vkey())
                .collect(),
            quorum: 2,
            max_age: 600,
        };
        (log, ws, policy)
    }

    fn note(cp: &Checkpoint, log: &SecretSigningKey, ws: &[(usize, &SecretSigningKey, u64)]) -> String {
        let body = cp.body();
        let mut n = SignedNote { text: body.clone(), signatures: vec![sign_note(&body, ORIGIN, log).unwrap()] };
        for (i, w, t) in ws {
            n.push(cosign(&body, *t, &format!("w{i}.example"), w).unwrap());
        }
        n.format()
    }

    #[test]
    fn checkpoint_bodies_are_strict() {
        let cp = Checkpoint { origin: ORIGIN.into(), size: 20852163, root: [7; 32] };
        assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
        for bad in [
            "relay.example/fxe-log\n01\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "relay.example/fxe-log\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
            "relay.example/fxe-log\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\n",
            "relay.example/fxe-log\n-1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "relay.example/fxe-log\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\nextension\n",
            "\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "relay.example/fxe-log\n99999999999999999999\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
        ] {
            assert!(Checkpoint::parse_body(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quorum_freshness_and_signatures_are_enforced() {
        let (log, ws, policy) = keys();
        let cp = Checkpoint { origin: ORIGIN.into(), size: 3, root: [5; 32] };
        let now = 1_800_000_000;
        let good = note(&cp, &log, &[(0, &ws[0], now - 10), (2, &ws[2], now - 20)]);
        let v = policy.verify(&good, now).unwrap();
        assert_eq!((v.checkpoint.size, v.witnessed_at), (3, now - 20));
        // One witness is not a quorum of two.
        let one = note(&cp, &log, &[(0, &ws[0], now)]);
        assert!(matches!(policy.verify(&one, now), Err(LogError::Quorum { have: 1, need: 2 })));
        // The same witness twice counts once.
        let twice = note(&cp, &log, &[(0, &ws[0], now), (0, &ws[0], now - 1)]);
        assert!(matches!(policy.verify(&twice, now), Err(LogError::Quorum { have: 1, need: 2 })));
        // Stale: the second-newest cosignature is older than max_age.
        let stale = note(&cp, &log, &[(0, &ws[0], now), (1, &ws[1], now - 601)]);
        assert!(matches!(policy.verify(&stale, now), Err(LogError::Stale { .. })));
        // From the future.
        let future = note(&cp, &log, &[(0, &ws[0], now + 301), (1, &ws[1], now)]);
        assert!(policy.verify(&future, now).is_err());
        // Another log's key, or another origin.
        let other = SecretSigningKey::from_seed(&[42; 32]);
        assert!(policy.verify(&note(&cp, &other, &[(0, &ws[0], now), (1, &ws[1], now)]), now).is_err());
        let elsewhere = Checkpoint { origin: "evil.example/log".into(), ..cp.clone() };
        assert!(policy.verify(&note(&elsewhere, &log, &[(0, &ws[0], now), (1, &ws[1], now)]), now).is_err());
        // An unknown witness is ignored, not counted.
        let stranger = SecretSigningKey::from_seed(&[77; 32]);
        let with_stranger = note(&cp, &log, &[(0, &ws[0], now), (5, &stranger, now)]);
        assert!(matches!(policy.verify(&with_stranger, now), Err(LogError::Quorum { have: 1, need: 2 })));
    }

    #[test]
    fn rollbacks_and_forks_are_caught_with_both_notes() {
        let (log, ws, policy) = keys();
        let now = 1_800_000_000;
        let mut t = merkle::MemoryTree::new();
        for i in 0..9u8 {
            t.push(merkle::leaf_hash(&[i]));
        }
        let at = |size: u64, root: Hash| {
            let cp = Checkpoint { origin: ORIGIN.into(), size, root };
            policy.verify(&note(&cp, &log, &[(0, &ws[0], now), (1, &ws[1], now)]), now).unwrap()
        };
        let five = at(5, t.root_at(5).unwrap());
        let nine = at(9, t.root_at(9).unwrap());
        check_extends(&five, &nine, &merkle::consistency_proof(&t, 5, 9).unwrap()).unwrap();
        assert!(matches!(check_extends(&nine, &five, &[]), Err(LogError::Rollback { .. })));
        let forked = at(9, [0; 32]);
        let err = check_extends(&five, &forked, &merkle::consistency_proof(&t, 5, 9).unwrap()).unwrap_err();
        let LogError::Fork { seen, offered } = err else { panic!("{err}") };
        assert!(seen.contains("\n5\n") && offered.contains("\n9\n"));
        assert!(matches!(check_extends(&nine, &forked, &[]), Err(LogError::Fork { .. })));
        // Without a proof: only what sizes and roots alone show.
        assert!(check_not_behind(&five, &nine).unwrap());
        assert!(!check_not_behind(&nine, &nine).unwrap());
        assert!(matches!(check_not_behind(&nine, &five), Err(LogError::Rollback { .. })));
        assert!(matches!(check_not_behind(&nine, &forked), Err(LogError::Fork { .. })));
    }
}
