//! The relay's key transparency log as this browser checks it
//! (docs/transparency.md §4, §6): the trust policy pinned per org in local
//! storage (`fxe-log/{org_id}`) the first time this browser looks a number
//! up, and every directory answer's proof checked under it — the checkpoint's
//! signature, witness quorum and freshness, the inclusion of the answer's
//! three facts — and against the last checkpoint this browser saw (a smaller
//! one is a rollback, another head of the same size a fork), and then against
//! the tab's replica of the log (`fax::log_replica`): the answer must be the
//! number's latest binding and the org's current bundle. An org's keys fetched
//! by id (to open a fax, check a receipt) are checked against the replica too:
//! its identity and every bundle offered must be the logged ones. The checks are
//! `fxe_protocol::transparency`'s; this module keeps what they need.

use fxe_protocol::api::DirectoryEntry;
use fxe_protocol::directory::OrgKeys;
use fxe_protocol::transparency::{LogError, Replica, TrustPolicy, VerifiedCheckpoint, check_not_behind, inclusion};
use serde::{Deserialize, Serialize};

use super::log_replica::{self, Outcome};
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
    /// A checkpoint behind the last one accepted: a rollback or a fork, with both notes.
    Behind(LogError),
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

/// The trust policy `me` pinned (pinning the relay's on first use); `None` when the relay
/// publishes no log.
pub async fn pinned_policy(me: &str) -> Result<Option<TrustPolicy>, LogCheck> {
    Ok(policy(me).await?.map(|kept| kept.policy))
}

/// Takes `next` (verified under `me`'s pinned policy) as the newest checkpoint seen unless
/// it is behind the last one this browser accepted, from a directory answer or the monitor:
/// smaller (a rollback) or another head of the same size (a fork) is refused, with both
/// notes. An older `next` that is consistent changes nothing.
pub fn accept(me: &str, next: &VerifiedCheckpoint) -> Result<(), LogCheck> {
    let Some(mut kept) = load(me).map_err(LogCheck::Storage)? else {
        return Err(LogCheck::Storage("the transparency log's policy is not pinned in this browser".into()));
    };
    if let Some(seen) = &kept.seen
        && let Ok(prev) = kept.policy.verify_signatures(seen)
    {
        let newer = check_not_behind(&prev, next).map_err(LogCheck::Behind)?;
        if !newer {
            return Ok(());
        }
    }
    kept.seen = Some(next.note.clone());
    save(me, &kept).map_err(LogCheck::Storage)
}

/// Checks `entry`'s transparency proof for `me` (docs/transparency.md §6) and keeps its
/// checkpoint as the newest seen.
pub async fn check(me: &str, entry: &DirectoryEntry) -> Result<(), LogCheck> {
    let Some(kept) = policy(me).await? else { return Ok(()) };
    let Some(proof) = &entry.log else {
        return Err(LogCheck::Refused("the answer carries no transparency log proof".into()));
    };
    let now = crate::browser::files::now_secs();
    let next = inclusion::verify_directory(&kept.policy, entry, proof, now)
        .map_err(|e| LogCheck::Refused(format!("the transparency log does not back it: {e}")))?;
    accept(me, &next).map_err(|e| match e {
        LogCheck::Behind(e) => LogCheck::Refused(e.to_string()),
        other => other,
    })?;
    // The proof shows the facts are in the log, not that they are still the latest: an
    // older binding of the number, or a bundle the org has since replaced, is in the log
    // too. The tab's replica, synced to at least the answer's checkpoint, says which is.
    let latest = |replica: &Replica, _: &[Vec<u8>]| replica.state().check_directory(entry);
    ready(log_replica::synced(me, &kept.policy, next.checkpoint.size, false, latest).await)?
        .map_err(|e| LogCheck::Refused(format!("it is not what the transparency log holds now: {e}")))
}

/// What a check on the synced replica answered; a replica that could not be synced
/// (no checkpoint published, a log that breaks its rules, a failed request) refuses.
fn ready<R>(synced: Result<Outcome<R>, String>) -> Result<R, LogCheck> {
    match synced {
        Ok(Outcome::Ready(r)) => Ok(r),
        Ok(Outcome::NoLog) => {
            Err(LogCheck::Refused("the relay's transparency log publishes no checkpoint to check it against".into()))
        }
        Ok(Outcome::Broken(e)) => Err(LogCheck::Refused(e.to_string())),
        Err(m) => Err(LogCheck::Refused(m)),
    }
}

/// How long to wait before asking the log again about keys it does not hold yet: the
/// relay sequences within 2 s (docs/transparency.md §2.2); another relay instance may
/// read what was sequenced half a second later.
const BATCH_WAIT_MS: i32 = 2500;

/// Checks an org's keys as the relay gave them by id (`GET /orgs/{id}` and its bundles)
/// against the tab's replica (docs/transparency.md §6): the org is logged with that
/// identity and every bundle offered is one of its logged bundles. The relay answers only
/// what its published checkpoint covers, so a synced replica holds them; keys it does not
/// hold are asked about once more after the batch time before they are refused.
pub async fn check_org(me: &str, keys: &OrgKeys) -> Result<(), LogCheck> {
    let Some(kept) = policy(me).await? else { return Ok(()) };
    let logged = |replica: &Replica, _: &[Vec<u8>]| {
        keys.bundles
            .iter()
            .try_for_each(|(bundle, _)| replica.state().check_org_bundle(&keys.org_id, &keys.identity_pub, bundle))
    };
    let mut waited = false;
    loop {
        match ready(log_replica::synced(me, &kept.policy, 0, waited, &logged).await)? {
            Ok(()) => return Ok(()),
            Err(_) if !waited => {
                crate::browser::files::sleep(BATCH_WAIT_MS).await;
                waited = true;
            }
            Err(e) => {
                return Err(LogCheck::Refused(format!(
                    "org {}'s keys are not what the transparency log holds: {e}",
                    keys.org_id
                )));
            }
        }
    }
}
