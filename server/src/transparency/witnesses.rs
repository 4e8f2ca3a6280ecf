//! Asking the relay's witnesses to cosign a checkpoint (c2sp.org/tlog-witness,
//! docs/transparency.md §8): `POST <url>/add-checkpoint` with the size the
//! witness last cosigned and a consistency proof from it. A witness that
//! answers 409 with another size is asked again once from that size.

use std::collections::HashMap;
use std::time::Duration;

use fxe_protocol::transparency::NoteKey;
use fxe_protocol::transparency::merkle::{self, NodeReader};
use fxe_protocol::transparency::note::{NoteSignature, SignedNote};
use fxe_protocol::transparency::witness::AddCheckpoint;

/// How long one witness may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A witness the relay asks.
#[derive(Clone, Debug)]
pub struct Target {
    pub url: url::Url,
    pub key: NoteKey,
}

/// What the relay believes each witness last cosigned (by verifier key).
#[derive(Debug, Default)]
pub struct Known(HashMap<String, u64>);

impl Known {
    /// Whether nothing is known yet (a new leader).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Assumes every witness last cosigned `size` (a new leader's best guess: the
    /// published size; a witness that says otherwise is asked again from its size).
    pub fn assume(&mut self, size: u64) {
        self.0.insert(String::new(), size);
    }

    fn get(&self, vkey: &str) -> u64 {
        self.0.get(vkey).or_else(|| self.0.get("")).copied().unwrap_or(0)
    }
}

/// Asks every witness to cosign `note` (signed by the log; of size `size`, whose tree
/// `tree` holds), at most [`TIMEOUT`] each, all at once. Returns the valid cosignatures.
pub async fn cosign(
    http: &reqwest::Client, targets: &[Target], known: &mut Known, tree: &(impl NodeReader + Sync), note: &SignedNote,
    size: u64,
) -> Vec<NoteSignature> {
    let asks = targets.iter().map(|t| {
        let old = known.get(&t.key.vkey()).min(size);
        let first = request(tree, note, old, size);
        async move {
            let mut body = first?;
            for _ in 0..2 {
                match ask(http, t, body).await {
                    Answer::Cosigned(sig) => return Some((t.key.vkey(), sig)),
                    Answer::HasSize(other) if other <= size => {
                        body = request(tree, note, other, size)?;
                    }
                    Answer::HasSize(other) => {
                        tracing::error!(witness = %t.key.name, its_size = other, log_size = size,
                            "a witness cosigned a larger log than this relay has: the relay's log was rolled back");
                        return None;
                    }
                    Answer::Refused => return None,
                }
            }
            None
        }
    });
    let answers = futures_util::future::join_all(asks).await;
    let mut sigs = Vec::new();
    for (vkey, sig) in answers.into_iter().flatten() {
        known.0.insert(vkey, size);
        sigs.push(sig);
    }
    sigs
}

fn request(tree: &impl NodeReader, note: &SignedNote, old: u64, size: u64) -> Option<String> {
    let proof = if old == 0 || old == size {
        Vec::new()
    } else {
        match merkle::consistency_proof(tree, old, size) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, old, size, "cannot make a consistency proof");
                return None;
            }
        }
    };
    Some(AddCheckpoint { old_size: old, proof, note: note.format() }.format())
}

enum Answer {
    Cosigned(NoteSignature),
    HasSize(u64),
    Refused,
}

async fn ask(http: &reqwest::Client, t: &Target, body: String) -> Answer {
    let Ok(url) = t.url.join("add-checkpoint") else { return Answer::Refused };
    let note_text = body.split_once("\n\n").map(|(_, n)| n.to_owned()).unwrap_or_default();
    let sent = http.post(url).timeout(TIMEOUT).body(body).send().await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(witness = %t.key.name, error = %e, "cannot reach a transparency witness");
            return Answer::Refused;
        }
    };
    let status = response.status();
    let size_answer = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/x.tlog.size"));
    let text = match response.text().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(witness = %t.key.name, error = %e, "a transparency witness's answer was cut off");
            return Answer::Refused;
        }
    };
    if status == reqwest::StatusCode::CONFLICT && size_answer {
        return match text.trim_end_matches('\n').parse::<u64>() {
            Ok(n) => Answer::HasSize(n),
            Err(_) => Answer::Refused,
        };
    }
    if !status.is_success() {
        tracing::warn!(witness = %t.key.name, status = status.as_u16(), answer = %text.trim(), "a transparency witness refused a checkpoint");
        return Answer::Refused;
    }
    // The answer is the cosignature line(s): check them over the note's text.
    let Ok(note) = SignedNote::parse(&note_text) else { return Answer::Refused };
    let with = format!("{}\n{text}", note.text);
    let parsed = match SignedNote::parse(&with) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(witness = %t.key.name, error = %e, "a transparency witness answered no cosignature");
            return Answer::Refused;
        }
    };
    match parsed.verify_cosignature(&t.key) {
        Ok(Some(_)) => match parsed.by(&t.key).next() {
            Some(sig) => Answer::Cosigned(sig.clone()),
            None => Answer::Refused,
        },
        Ok(None) | Err(_) => {
            tracing::warn!(witness = %t.key.name, "a transparency witness's cosignature does not verify");
            Answer::Refused
        }
    }
}
