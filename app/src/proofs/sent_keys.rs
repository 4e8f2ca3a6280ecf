//! The content key (CEK) of each fax this browser sent, kept per org in local
//! storage (`fxe-sent-keys/{org_id}`) so that the sender can later export a
//! proof *with the document* (docs/proof.md §6–7, docs/web.md). The recipient
//! needs none of this: it unwraps the CEK again with its keys.
//!
//! Each record is tied to its envelope (message id and envelope hash), like the
//! CLI's `fxe-sent/` records. A CEK opens that one fax only, and never leaves
//! this browser (the relay never sees it). Records stay until the site's data
//! is cleared; the newest [`MAX_KEPT`] per org are kept.

use fxe_protocol::{encoding, envelope::Envelope};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::browser::storage::{self, Area};

/// How many sent faxes' keys this browser keeps per org (about 150 bytes each).
pub const MAX_KEPT: usize = 5_000;

/// One fax's content key, tied to its envelope.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    message_id: String,
    /// The envelope's hash (hex): the key is only used for this very envelope.
    envelope_hash: String,
    /// The content key (b64u).
    cek: String,
}

impl Drop for Record {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.cek);
    }
}

fn key(org_id: &str) -> String {
    format!("fxe-sent-keys/{org_id}")
}

fn load(org_id: &str) -> Vec<Record> {
    storage::get(Area::Browser, &key(org_id))
        .map(Zeroizing::new)
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn save(org_id: &str, records: &[Record]) -> Result<(), String> {
    let text = Zeroizing::new(serde_json::to_string(records).map_err(|e| e.to_string())?);
    storage::set(Area::Browser, &key(org_id), &text)
}

/// Keeps the CEK of `envelope`, sent by `org_id` (before the relay hears of the fax).
/// When the storage is full, the oldest half is forgotten and it is tried again.
pub fn keep(org_id: &str, envelope: &Envelope, cek: &[u8; 32]) -> Result<(), String> {
    let mut records: Vec<Record> = load(org_id).into_iter().filter(|r| r.message_id != envelope.message_id).collect();
    records.push(Record {
        message_id: envelope.message_id.clone(),
        envelope_hash: envelope.hash_hex(),
        cek: encoding::b64u_encode(cek),
    });
    let from = records.len().saturating_sub(MAX_KEPT);
    records.drain(..from);
    save(org_id, &records).or_else(|_| {
        let half = records.len() / 2;
        save(org_id, records.get(half..).unwrap_or_default())
    })
}

/// The CEK this browser kept for `envelope` (sent by `org_id`), if any and if it is this envelope's.
pub fn find(org_id: &str, envelope: &Envelope) -> Option<Zeroizing<[u8; 32]>> {
    let hash = envelope.hash_hex();
    load(org_id)
        .iter()
        .find(|r| r.message_id == envelope.message_id && r.envelope_hash == hash)
        .and_then(|r| encoding::b64u_fixed::<32>("cek", &r.cek).ok())
        .map(Zeroizing::new)
}
