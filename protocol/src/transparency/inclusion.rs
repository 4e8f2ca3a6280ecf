//! A directory answer's transparency proof (docs/transparency.md §6): the
//! witnessed checkpoint and, for each fact behind the answer (the number's
//! binding, the org's identity, the bundle offered), the entry with its
//! inclusion proof. This shows the relay logged what it answers, so it showed
//! everyone the same; whether the answer is still the latest is the replica's
//! check ([`super::LogState::check_directory`]).

use super::LogError;
use super::checkpoint::{TrustPolicy, VerifiedCheckpoint};
use super::entry::Entry;
use super::merkle::{self, Hash};
use crate::api::DirectoryEntry;
use crate::encoding::{b64_std_decode, b64_std_encode, b64u_decode, b64u_encode};
use serde::{Deserialize, Serialize};

/// One logged entry with its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProvenEntry {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry's canonical bytes, b64u.
    pub entry: String,
    /// The inclusion proof under the checkpoint, leaf to root, each hash in standard base64.
    pub proof: Vec<String>,
}

/// The proof attached to a directory answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogProof {
    /// The checkpoint note, with the log's signature and the witnesses' cosignatures.
    pub checkpoint: String,
    /// The number's latest binding, the org's identity, the bundle offered.
    pub entries: Vec<ProvenEntry>,
}

impl ProvenEntry {
    /// Builds one from an entry's bytes and its proof.
    pub fn new(index: u64, entry: &[u8], proof: &[Hash]) -> ProvenEntry {
        ProvenEntry { index, entry: b64u_encode(entry), proof: proof.iter().map(|h| b64_std_encode(h)).collect() }
    }

    fn check(&self, size: u64, root: &Hash) -> Result<Entry, LogError> {
        let bytes = b64u_decode("entry", &self.entry).map_err(|e| LogError::malformed("log proof", e.to_string()))?;
        let proof = self
            .proof
            .iter()
            .map(|h| {
                b64_std_decode("proof", h)
                    .ok()
                    .and_then(|b| <Hash>::try_from(b).ok())
                    .ok_or_else(|| LogError::malformed("log proof", "a proof hash is not 32 bytes of base64"))
            })
            .collect::<Result<Vec<Hash>, LogError>>()?;
        merkle::verify_inclusion(self.index, size, &merkle::leaf_hash(&bytes), &proof, root)?;
        Entry::decode(&bytes)
    }
}

/// Verifies `proof` for `answer` at `now` under the pinned `policy`: the checkpoint (signature,
/// quorum, freshness), each entry's inclusion, and that the entries are exactly the answer's facts:
/// `answer.number` bound to `answer.org_id`, that org's identity `answer.identity_pub`, and a bundle
/// entry equal to `answer.bundle`. Returns the checkpoint, to check against the last one seen.
pub fn verify_directory(
    policy: &TrustPolicy, answer: &DirectoryEntry, proof: &LogProof, now: u64,
) -> Result<VerifiedCheckpoint, LogError> {
    let cp = policy.verify(&proof.checkpoint, now)?;
    let (size, root) = (cp.checkpoint.size, cp.checkpoint.root);
    let (mut bound, mut identity, mut bundle) = (false, false, false);
    for p in &proof.entries {
        match p.check(size, &root)? {
            Entry::NumberBound { number, org_id, .. } if number == answer.number && org_id == answer.org_id => {
                bound = true
            }
            Entry::Identity { org_id, identity_pub, .. }
                if org_id == answer.org_id && b64u_encode(&identity_pub) == answer.identity_pub =>
            {
                identity = true;
            }
            Entry::Bundle { bundle: b, .. } if b == answer.bundle => bundle = true,
            other => {
                return Err(LogError::NotInLog {
                    reason: format!("the proof carries an entry unrelated to the answer ({:?})", other.org_id()),
                });
            }
        }
    }
    let missing = [(bound, "the number's binding"), (identity, "the org's identity"), (bundle, "the bundle offered")];
    if let Some((_, what)) = missing.iter().find(|(ok, _)| !ok) {
        return Err(LogError::NotInLog { reason: format!("{what} is not proven to be in the log") });
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundleKeys;
    use crate::ids::IdentityKey;
    use crate::sign::SecretSigningKey;
    use crate::transparency::checkpoint::Checkpoint;
    use crate::transparency::note::{KeyKind, NoteKey, SignedNote, cosign, sign_note};
    use crate::transparency::state::LogState;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const ORIGIN: &str = "relay.example/fxe-log";

    #[test]
    fn a_directory_answer_is_proven_by_its_entries() {
        let log_key = SecretSigningKey::from_seed(&[1; 32]);
        let w = SecretSigningKey::from_seed(&[2; 32]);
        let policy = TrustPolicy {
            log: NoteKey::new(ORIGIN, KeyKind::Log, log_key.public()).unwrap().vkey(),
            witnesses: vec![NoteKey::new("w.example", KeyKind::Witness, w.public()).unwrap().vkey()],
            quorum: 1,
            max_age: 600,
        };
        let id = IdentityKey::from_seed(&[5; 32]);
        let b = BundleKeys::generate(&id, 1_700_000_000).unwrap().bundle;
        let entries = [
            Entry::Identity { time: 1, org_id: id.org_id(), identity_pub: id.public() },
            Entry::Bundle { time: 1, bundle: b.clone() },
            Entry::NumberBound { time: 1, number: "+15550100001".into(), org_id: id.org_id(), seq: 1 },
        ];
        let mut log = LogState::new();
        let bytes: Vec<Vec<u8>> = entries.iter().map(Entry::encode).collect();
        for e in &bytes {
            log.apply(e).unwrap();
        }
        let body = Checkpoint { origin: ORIGIN.into(), size: log.size(), root: log.root() }.body();
        let mut note = SignedNote { text: body.clone(), signatures: vec![sign_note(&body, ORIGIN, &log_key).unwrap()] };
        note.push(cosign(&body, 1000, "w.example", &w).unwrap());
        let proven = |i: usize| {
            ProvenEntry::new(i as u64, &bytes[i], &merkle::inclusion_proof(log.tree(), i as u64, log.size()).unwrap())
        };
        let proof = LogProof { checkpoint: note.format(), entries: vec![proven(2), proven(0), proven(1)] };
        let answer = DirectoryEntry {
            number: "+15550100001".into(),
            org_id: id.org_id(),
            org_name: "Clinic".into(),
            identity_pub: b64u_encode(&id.public()),
            bundle: b,
            log: None,
        };
        let json = serde_json::to_string(&proof).unwrap();
        let proof: LogProof = serde_json::from_str(&json).unwrap();
        assert_eq!(verify_directory(&policy, &answer, &proof, 1100).unwrap().checkpoint.size, 3);
        // A missing fact, a substituted key, a wrong index: refused.
        let short = LogProof { entries: proof.entries[..2].to_vec(), ..proof.clone() };
        assert!(matches!(verify_directory(&policy, &answer, &short, 1100), Err(LogError::NotInLog { .. })));
        let other = IdentityKey::from_seed(&[6; 32]);
        let forged = DirectoryEntry { identity_pub: b64u_encode(&other.public()), ..answer.clone() };
        assert!(verify_directory(&policy, &forged, &proof, 1100).is_err());
        let mut moved = proof.clone();
        moved.entries[0].index = 1;
        assert!(matches!(verify_directory(&policy, &answer, &moved, 1100), Err(LogError::Proof(_))));
        // Too old for the policy.
        assert!(matches!(verify_directory(&policy, &answer, &proof, 1000 + 601), Err(LogError::Stale { .. })));
    }
}
