//! This tab's replica of the relay's transparency log (docs/transparency.md
//! §5), shared by the send page's lookups (`fax::transparency`: the answer
//! must be the log's latest binding) and the dashboard's monitor
//! (`fax::monitor`). It is kept in IndexedDB (database `fxe-log`, store
//! `replicas`, key the org id: `{entries, note}`, the entries as one entry
//! bundle), held in memory while the tab lives, and brought up to the
//! relay's newest checkpoint before it is believed: the checkpoint verified
//! under the pinned policy and not behind the last one this browser accepted,
//! then the entry tiles it lacks through `Replica::advance` (every entry's
//! rules, the rebuilt root against the checkpoint's). A kept replica that no
//! longer checks is dropped and read again from the log's start (it is a
//! cache: the rollback check also rests on the checkpoint kept with the
//! pinned policy). The decisions are `fxe_protocol`'s; this module fetches
//! and stores.

use std::cell::RefCell;

use fxe_protocol::transparency::entry::{decode_bundle, encode_bundle};
use fxe_protocol::transparency::tile::Tile;
use fxe_protocol::transparency::{LogError, Replica, TrustPolicy, VerifiedCheckpoint, entries_between};
use wasm_bindgen::{JsCast, JsValue};

use super::transparency::{self, LogCheck};
use crate::browser::{http, idb::Store};

const REPLICAS: Store = Store { database: "fxe-log", store: "replicas" };
const LOG: &str = "/transparency";

/// A replica synced this recently is used as it is (milliseconds), unless the caller needs
/// a larger one: lookups while someone types do not each fetch the checkpoint.
const FRESH_MS: f64 = 2000.0;

struct Held {
    org_id: String,
    replica: Replica,
    /// Every entry of the replica, in order.
    entries: Vec<Vec<u8>>,
    /// When it was last synced (`performance.now()`), if ever in this tab.
    synced_ms: Option<f64>,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// What a sync came to.
pub enum Outcome<R> {
    /// The relay publishes no checkpoint (no log, or none yet).
    NoLog,
    /// The log failed a check: a forged or stale checkpoint, a rollback or fork (with both
    /// notes), an invalid entry, a head the entries do not lead to.
    Broken(LogError),
    /// The replica, synced: what the caller's function returned.
    Ready(R),
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

fn failed(f: http::ApiFailure) -> String {
    format!("The transparency log could not be read: {}", f.message)
}

async fn load(org_id: &str) -> Result<Option<(Vec<Vec<u8>>, Option<String>)>, String> {
    let Some(value) = REPLICAS.get(org_id).await? else { return Ok(None) };
    let get = |name: &str| js_sys::Reflect::get(&value, &JsValue::from_str(name)).ok();
    let entries = get("entries")
        .and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok())
        .map(|a| a.to_vec())
        .and_then(|bytes| decode_bundle(&bytes).ok());
    let Some(entries) = entries else { return Ok(None) };
    Ok(Some((entries, get("note").and_then(|v| v.as_string()))))
}

async fn save(org_id: &str, entries: &[Vec<u8>], note: &str) -> Result<(), String> {
    let bytes = encode_bundle(entries).map_err(|e| e.to_string())?;
    let value = js_sys::Object::new();
    let set = |name: &str, v: &JsValue| js_sys::Reflect::set(&value, &JsValue::from_str(name), v).map(|_| ());
    set("entries", &js_sys::Uint8Array::from(bytes.as_slice()).into())
        .and_then(|()| set("note", &JsValue::from_str(note)))
        .map_err(|_| "The browser refused to keep the transparency log's replica.".to_string())?;
    REPLICAS.put(org_id, &value).await
}

/// The replica kept for `org_id`, as far as it still checks, else an empty one.
async fn restore(org_id: &str, policy: &TrustPolicy) -> Result<Held, String> {
    let empty = || Held { org_id: org_id.to_owned(), replica: Replica::new(), entries: Vec::new(), synced_ms: None };
    let Some((mut entries, note)) = load(org_id).await? else { return Ok(empty()) };
    match Replica::restore(policy, &entries, note.as_deref()) {
        Ok(replica) => {
            // Entries kept past the checkpoint (a tab closed mid-write) are dropped.
            entries.truncate(usize::try_from(replica.size()).unwrap_or(usize::MAX));
            Ok(Held { org_id: org_id.to_owned(), replica, entries, synced_ms: None })
        }
        Err(_) => Ok(empty()),
    }
}

/// Brings `held` up to `cp` and keeps it.
async fn advance(held: &mut Held, cp: VerifiedCheckpoint) -> Result<Result<(), LogError>, String> {
    let tiles = match held.replica.tiles_needed(&cp) {
        Ok(t) => t,
        Err(e) => return Ok(Err(e)),
    };
    if tiles.is_empty() && held.replica.checkpoint().is_some_and(|c| c.checkpoint == cp.checkpoint) {
        return Ok(Ok(()));
    }
    let mut bundles: Vec<(Tile, Vec<u8>)> = Vec::with_capacity(tiles.len());
    for t in tiles {
        let bytes = http::get_bytes(&format!("{LOG}/{}", t.path())).await.map_err(failed)?;
        bundles.push((t, bytes));
    }
    let from = held.replica.size();
    if let Err(e) = held.replica.advance(cp, &bundles) {
        return Ok(Err(e));
    }
    match entries_between(&bundles, from, held.replica.size()) {
        Ok(new) => held.entries.extend(new),
        Err(e) => return Ok(Err(e)),
    }
    if let Some(cp) = held.replica.checkpoint() {
        save(&held.org_id, &held.entries, &cp.note).await?;
    }
    Ok(Ok(()))
}

/// One sync to the relay's newest checkpoint. `Ok(None)`: it has none.
async fn sync(policy: &TrustPolicy, held: &mut Held) -> Result<Option<Result<(), LogError>>, String> {
    let note = match http::get_text(&format!("{LOG}/checkpoint")).await {
        Ok(n) => n,
        Err(f) if f.status == 404 => return Ok(None),
        Err(f) => return Err(failed(f)),
    };
    let cp = match policy.verify(&note, crate::browser::files::now_secs()) {
        Ok(cp) => cp,
        Err(e) => return Ok(Some(Err(e))),
    };
    match transparency::accept(&held.org_id, &cp) {
        Ok(()) => {}
        Err(LogCheck::Behind(e)) => return Ok(Some(Err(e))),
        Err(LogCheck::Refused(m) | LogCheck::Storage(m)) => return Err(m),
    }
    let step = advance(held, cp).await?;
    if step.is_ok() {
        held.synced_ms = Some(now_ms());
    }
    Ok(Some(step))
}

/// Runs `f` on `org_id`'s replica (and its entries) once it is synced: now, unless it was
/// synced in the last two seconds and holds at least `min_size` entries; always with
/// `force`.
pub async fn synced<R>(
    org_id: &str, policy: &TrustPolicy, min_size: u64, force: bool, f: impl FnOnce(&Replica, &[Vec<u8>]) -> R,
) -> Result<Outcome<R>, String> {
    let mut held = match HELD.with(|h| h.borrow_mut().take()) {
        Some(h) if h.org_id == org_id => h,
        _ => restore(org_id, policy).await?,
    };
    let fresh = held.synced_ms.is_some_and(|t| now_ms() - t < FRESH_MS) && held.replica.size() >= min_size;
    let step = if force || !fresh { sync(policy, &mut held).await } else { Ok(Some(Ok(()))) };
    let outcome = match step {
        Ok(None) => Ok(Outcome::NoLog),
        Ok(Some(Err(e))) => Ok(Outcome::Broken(e)),
        Ok(Some(Ok(()))) => Ok(Outcome::Ready(f(&held.replica, &held.entries))),
        Err(m) => Err(m),
    };
    HELD.with(|h| *h.borrow_mut() = Some(held));
    outcome
}
