//! The relay's key transparency log as this browser checks it
//! (docs/transparency.md §4, §6): the trust policy pinned per org in local
//! storage (`fxe-log/{org_id}`) the first time this browser looks a number
//! up, and every directory answer's proof checked under it — the checkpoint's
//! signature, witness quorum and freshness, the inclusion of the answer's
//! three facts — and against the last checkpoint this browser saw (a smaller
//! one is a rollback, another head of the same size a fork). The checks are
//! `fxe_protocol::transparency`'s; this module keeps what they need.

use fxe_protocol::api::DirectoryEntry;
use fxe_protocol::transparency::{TrustPolicy, check_not_behind, inclusion};
use serde::{Deserialize, Serialize};

use crate::browser::http;

/// What this browser keeps about the relay's log, per org.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Kept {
    policy: TrustPolicy,
    /// The last checkpoint note accepted.
    #[serde(default)]
    seen: Option<String>,
}

fn key(org_id: &str) -> String {
    format!("fxe-log/{org_id}")
}

fn storage() -> Result<web_sys::Storage, String> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten()).ok_or_else(|| {
        "This browser does not allow fxe to keep the relay's log key (local storage is off). Allow site data for this relay to send faxes.".to_string()
    })
}

fn load(org_id: &str) -> Result<Option<Kept>, String> {
    match storage()?.get_item(&key(org_id)) {
        Ok(Some(text)) => serde_json::from_str(&text).map(Some).map_err(|e| {
            format!("The transparency log key this browser keeps is unreadable ({e}). Ask your admin before clearing this site's data.")
        }),
        Ok(None) => Ok(None),
        Err(_) => Err("The browser refused to read the transparency log key it keeps.".into()),
    }
}

fn save(org_id: &str, kept: &Kept) -> Result<(), String> {
    let text = serde_json::to_string(kept).map_err(|e| e.to_string())?;
    storage()?
        .set_item(&key(org_id), &text)
        .map_err(|_| "The browser refused to keep the transparency log's state (storage full or blocked).".to_string())
}

/// Why an answer is not taken.
pub enum LogCheck {
    /// The answer is not backed by the log (or the log misbehaves): refuse it.
    Refused(String),
    /// This browser cannot keep or read its log state.
    Storage(String),
}

/// The pinned policy of `me`, pinning the relay's on first use; `None` when the relay
/// publishes no log (then only the pins guard the answer).
async fn policy(me: &str) -> Result<Option<Kept>, LogCheck> {
    if let Some(kept) = load(me).map_err(LogCheck::Storage)? {
        return Ok(Some(kept));
    }
    let policy: TrustPolicy = match http::get("/transparency/policy").await {
        Ok(p) => p,
        Err(f) if f.status == 404 => return Ok(None),
        Err(f) => {
            return Err(LogCheck::Refused(format!("cannot read the relay's transparency log policy: {}", f.message)));
        }
    };
    policy
        .log_key()
        .and_then(|_| policy.witness_keys())
        .map_err(|e| LogCheck::Refused(format!("the relay's transparency log policy is malformed: {e}")))?;
    let kept = Kept { policy, seen: None };
    save(me, &kept).map_err(LogCheck::Storage)?;
    Ok(Some(kept))
}

/// Checks `entry`'s transparency proof for `me` (docs/transparency.md §6) and keeps its
/// checkpoint as the newest seen.
pub async fn check(me: &str, entry: &DirectoryEntry) -> Result<(), LogCheck> {
    let Some(mut kept) = policy(me).await? else { return Ok(()) };
    let Some(proof) = &entry.log else {
        return Err(LogCheck::Refused("the answer carries no transparency log proof".into()));
    };
    let now = crate::browser::files::now_secs();
    let next = inclusion::verify_directory(&kept.policy, entry, proof, now)
        .map_err(|e| LogCheck::Refused(format!("the transparency log does not back it: {e}")))?;
    if let Some(seen) = &kept.seen
        && let Ok(prev) = kept.policy.verify_signatures(seen)
    {
        let newer = check_not_behind(&prev, &next).map_err(|e| LogCheck::Refused(e.to_string()))?;
        if !newer {
            return Ok(());
        }
    }
    kept.seen = Some(next.note);
    save(me, &kept).map_err(LogCheck::Storage)
}
