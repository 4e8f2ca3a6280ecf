//! The witness's decision (c2sp.org/tlog-witness `add-checkpoint`), without
//! I/O: parse the request, check it against the last checkpoint the witness
//! cosigned for that log, and cosign. The caller stores the new state and the
//! decision atomically (and keeps refused-but-signed checkpoints as evidence).

use super::checkpoint::Checkpoint;
use super::merkle::{self, Hash};
use super::note::{NoteKey, NoteSignature, SignedNote, cosign};
use crate::encoding::b64_std_decode;
use crate::sign::SecretSigningKey;

/// An `add-checkpoint` request body, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the log believes the witness last cosigned.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The checkpoint note (with the log's signature).
    pub note: String,
}

/// Why a witness refuses, with the HTTP status tlog-witness gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the request is malformed, or the old size is beyond the checkpoint's.
    BadRequest(String),
    /// 403: no signature by a key the witness trusts for the origin.
    Forbidden(String),
    /// 404: the witness does not know the origin.
    UnknownLog(String),
    /// 409 with `text/x.tlog.size`: the old size is not the last cosigned size.
    SizeConflict {
        /// The last cosigned size, the response body (`{size}\n`).
        size: u64,
    },
    /// 409: same size as the last cosigned checkpoint, another root. Evidence of a fork.
    RootConflict,
    /// 422: the consistency proof does not verify. Evidence of a fork if the note is signed.
    BadProof,
}

impl Refusal {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::Forbidden(_) => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::SizeConflict { .. } | Refusal::RootConflict => 409,
            Refusal::BadProof => 422,
        }
    }

    /// Whether the checkpoint was validly signed by the log yet refused: keep it as evidence.
    pub fn is_evidence(&self) -> bool {
        matches!(self, Refusal::RootConflict | Refusal::BadProof)
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl AddCheckpoint {
    /// Parses `old N\n`, up to 63 base64 hash lines, an empty line, then the checkpoint.
    pub fn parse(body: &str) -> Result<AddCheckpoint, Refusal> {
        let bad = |why: &str| Refusal::BadRequest(why.to_owned());
        let (head, note) = body.split_once("\n\n").ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old =
            lines.next().and_then(|l| l.strip_prefix("old ")).ok_or_else(|| bad("the first line must be `old N`"))?;
        let old_size = parse_u64(old).ok_or_else(|| bad("the old size is not a decimal without leading zeros"))?;
        let mut proof = Vec::new();
        for l in lines {
            let h = b64_std_decode("proof", l).map_err(|_| bad("a proof line is not base64"))?;
            proof.push(h.try_into().map_err(|_| bad("a proof hash is not 32 bytes"))?);
            if proof.len() > merkle::MAX_PROOF_LEN {
                return Err(bad("more than 63 proof lines"));
            }
        }
        Ok(AddCheckpoint { old_size, proof, note: note.to_owned() })
    }

    /// The request body.
    pub fn format(&self) -> String {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&crate::encoding::b64_std_encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.note);
        s
    }
}

/// A witness: its name, key, and the logs it follows (each by its verifier key; the key's name is the origin).
pub struct Witness<'a> {
    /// The witness's key name.
    pub name: &'a str,
    /// Its cosigning key.
    pub key: &'a SecretSigningKey,
    /// The log keys it trusts.
    pub logs: &'a [NoteKey],
}

/// What a witness accepted: the checkpoint to store as its latest for the origin, and the cosignature line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The new latest cosigned checkpoint.
    pub checkpoint: Checkpoint,
    /// The cosignature to answer with.
    pub cosignature: NoteSignature,
}

impl Witness<'_> {
    /// Decides a request, given the last checkpoint this witness cosigned for its origin (if any).
    /// The caller looks `last` up by [`Witness::origin_of`] and stores the result in one transaction.
    pub fn add_checkpoint(
        &self, req: &AddCheckpoint, last: Option<(u64, Hash)>, now: u64,
    ) -> Result<Accepted, Refusal> {
        let note = SignedNote::parse(&req.note).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let cp = Checkpoint::parse_body(&note.text).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let known: Vec<&NoteKey> = self.logs.iter().filter(|k| k.name == cp.origin).collect();
        if known.is_empty() {
            return Err(Refusal::UnknownLog(cp.origin));
        }
        if !known.iter().any(|k| note.verify_log(k).is_ok()) {
            return Err(Refusal::Forbidden("no valid signature by a trusted key for this log".into()));
        }
        if req.old_size > cp.size {
            return Err(Refusal::BadRequest("the old size is beyond the checkpoint's".into()));
        }
        let (last_size, last_root) = last.unwrap_or((0, merkle::empty_root()));
        if req.old_size != last_size {
            return Err(Refusal::SizeConflict { size: last_size });
        }
        if cp.size == last_size {
            if last_size > 0 && cp.root != last_root {
                return Err(Refusal::RootConflict);
            }
            if !req.proof.is_empty() {
                return Err(Refusal::BadProof);
            }
        } else if merkle::verify_consistency(last_size, cp.size, &last_root, &cp.root, &req.proof).is_err() {
            return Err(Refusal::BadProof);
        }
        let cosignature =
            cosign(&note.text, now, self.name, self.key).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        Ok(Accepted { checkpoint: cp, cosignature })
    }

    /// The origin a request is for (to look up the witness's state), if its note parses.
    pub fn origin_of(req: &AddCheckpoint) -> Option<String> {
        let note = SignedNote::parse(&req.note).ok()?;
        Checkpoint::parse_body(&note.text).ok().map(|c| c.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transparency::merkle::{MemoryTree, leaf_hash};
    use crate::transparency::note::{KeyKind, sign_note};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const ORIGIN: &str = "relay.example/fxe-log";

    fn signed(log: &SecretSigningKey, size: u64, root: Hash) -> String {
        let body = Checkpoint { origin: ORIGIN.into(), size, root }.body();
        SignedNote { text: body.clone(), signatures: vec![sign_note(&body, ORIGIN, log).unwrap()] }.format()
    }

    #[test]
    fn the_witness_follows_tlog_witness() {
        let log = SecretSigningKey::from_seed(&[1; 32]);
        let wk = SecretSigningKey::from_seed(&[2; 32]);
        let logs = [NoteKey::new(ORIGIN, KeyKind::Log, log.public()).unwrap()];
        let w = Witness { name: "w.example", key: &wk, logs: &logs };
        let mut t = MemoryTree::new();
        for i in 0..10u8 {
            t.push(leaf_hash(&[i]));
        }
        let req = |old: u64, new: u64| AddCheckpoint {
            old_size: old,
            proof: merkle::consistency_proof(&t, old, new).unwrap(),
            note: signed(&log, new, t.root_at(new).unwrap()),
        };
        // First contact: old 0, empty proof.
        let first = w.add_checkpoint(&AddCheckpoint::parse(&req(0, 4).format()).unwrap(), None, 100).unwrap();
        assert_eq!(first.checkpoint.size, 4);
        let last = Some((4, first.checkpoint.root));
        // The cosignature verifies as the witness's.
        let mut n = SignedNote::parse(&req(0, 4).note).unwrap();
        n.push(first.cosignature.clone());
        let wkey = NoteKey::new("w.example", KeyKind::Witness, wk.public()).unwrap();
        assert_eq!(n.verify_cosignature(&wkey).unwrap(), Some(100));
        // Extending with a proof; the same checkpoint again (a fresh timestamp).
        assert_eq!(w.add_checkpoint(&req(4, 10), last, 101).unwrap().checkpoint.size, 10);
        assert!(w.add_checkpoint(&req(4, 4), last, 102).is_ok());
        // Stale old size: 409 with the size.
        assert_eq!(w.add_checkpoint(&req(0, 10), last, 103), Err(Refusal::SizeConflict { size: 4 }));
        // Old beyond new: 400.
        let mut r = req(4, 10);
        r.old_size = 11;
        assert!(matches!(w.add_checkpoint(&r, last, 104), Err(Refusal::BadRequest(_))));
        // A fork: same size, other root (409), or a proof that does not verify (422).
        let fork = AddCheckpoint { old_size: 4, proof: vec![], note: signed(&log, 4, [9; 32]) };
        assert_eq!(w.add_checkpoint(&fork, last, 105), Err(Refusal::RootConflict));
        let mut bad = req(4, 10);
        bad.note = signed(&log, 10, [8; 32]);
        assert_eq!(w.add_checkpoint(&bad, last, 106), Err(Refusal::BadProof));
        assert!(Refusal::BadProof.is_evidence());
        // Unknown origin (404), unsigned by the log (403).
        let other = SecretSigningKey::from_seed(&[3; 32]);
        let mut forged = req(4, 10);
        forged.note = signed(&other, 10, t.root_at(10).unwrap());
        assert!(matches!(w.add_checkpoint(&forged, last, 107), Err(Refusal::Forbidden(_))));
        let body = Checkpoint { origin: "elsewhere.example/log".into(), size: 1, root: [0; 32] }.body();
        let elsewhere = SignedNote {
            text: body.clone(),
            signatures: vec![sign_note(&body, "elsewhere.example/log", &log).unwrap()],
        };
        let r = AddCheckpoint { old_size: 0, proof: vec![], note: elsewhere.format() };
        assert!(matches!(w.add_checkpoint(&r, None, 108), Err(Refusal::UnknownLog(_))));
        // Malformed bodies.
        for b in ["", "old 1\n", "old 01\n\nx", "new 1\n\nx", "old 1\nnot-base64!\n\nx"] {
            assert!(AddCheckpoint::parse(b).is_err(), "{b:?}");
        }
    }
}
