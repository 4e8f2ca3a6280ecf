//! The local archive: each received fax is kept in this browser as it
//! arrived — the signed envelope and the ciphertext, still sealed to the
//! org, so only its keys open it — before its receipt is posted. The relay
//! deletes its copy after the receipt; the archive is what reopens the fax
//! after Back, a reload, a closed tab or another day.
//!
//! IndexedDB `fxe-archive`, store `faxes`, one value per fax under
//! `{org_id}/{message_id}`. How long faxes are kept is the person's choice
//! for this browser (`fxe-archive-keep/{org_id}` in local storage, days;
//! absent: until removed); [`sweep`] forgets older ones.

use fxe_protocol::envelope::Envelope;
use wasm_bindgen::{JsCast, JsValue};

use crate::browser::idb::Store;

const STORE: Store = Store { database: "fxe-archive", store: "faxes" };

/// A fax kept in this browser.
#[derive(Clone)]
pub struct Kept {
    pub envelope: Envelope,
    /// The sealed payload, exactly as downloaded.
    pub ciphertext: web_sys::Blob,
    /// When it was stored (ms since 1970, the browser's clock).
    pub stored_at: f64,
}

fn key(org_id: &str, message_id: &str) -> String {
    format!("{org_id}/{message_id}")
}

fn field(value: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(value, &JsValue::from_str(name)).ok()
}

fn decode(value: &JsValue) -> Option<Kept> {
    let envelope = Envelope::from_json(&field(value, "envelope")?.as_string()?).ok()?;
    let ciphertext = field(value, "ciphertext")?.dyn_into::<web_sys::Blob>().ok()?;
    let stored_at = field(value, "stored_at")?.as_f64()?;
    Some(Kept { envelope, ciphertext, stored_at })
}

/// Keeps `ciphertext` of `envelope` for `org_id`; resolves once it is stored.
pub async fn keep(org_id: &str, envelope: &Envelope, ciphertext: &web_sys::Blob) -> Result<Kept, String> {
    let stored_at = js_sys::Date::now();
    let value = js_sys::Object::new();
    let set = |name: &str, v: &JsValue| js_sys::Reflect::set(&value, &JsValue::from_str(name), v);
    set("v", &JsValue::from_f64(1.0))
        .and_then(|_| set("org_id", &JsValue::from_str(org_id)))
        .and_then(|_| set("envelope", &JsValue::from_str(&envelope.to_json())))
        .and_then(|_| set("ciphertext", ciphertext))
        .and_then(|_| set("stored_at", &JsValue::from_f64(stored_at)))
        .map_err(|_| "The browser could not prepare the fax for keeping.".to_string())?;
    STORE.put(&key(org_id, &envelope.message_id), &value).await?;
    Ok(Kept { envelope: envelope.clone(), ciphertext: ciphertext.clone(), stored_at })
}

/// The fax `message_id` of `org_id`, if this browser keeps it (and it is readable).
pub async fn find(org_id: &str, message_id: &str) -> Result<Option<Kept>, String> {
    Ok(STORE.get(&key(org_id, message_id)).await?.as_ref().and_then(decode))
}

/// Forgets the fax `message_id` of `org_id` in this browser.
pub async fn remove(org_id: &str, message_id: &str) -> Result<(), String> {
    STORE.delete(&[key(org_id, message_id)]).await
}

/// How many days `org_id`'s faxes are kept in this browser (`None`: until removed).
pub fn keep_days(org_id: &str) -> Option<u32> {
    let storage = web_sys::window()?.local_storage().ok().flatten()?;
    storage.get_item(&format!("fxe-archive-keep/{org_id}")).ok().flatten()?.parse().ok()
}

/// Sets how long `org_id`'s faxes are kept in this browser.
pub fn set_keep_days(org_id: &str, days: Option<u32>) -> Result<(), String> {
    let storage = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .ok_or("This browser does not allow fxe to keep settings (local storage is off).")?;
    let name = format!("fxe-archive-keep/{org_id}");
    match days {
        Some(d) => storage.set_item(&name, &d.to_string()),
        None => storage.remove_item(&name),
    }
    .map_err(|_| "The browser refused to keep the setting.".to_string())
}

/// Whether a fax stored at `stored_at` (ms) is past `days` at `now` (ms).
pub fn expired(stored_at: f64, days: Option<u32>, now: f64) -> bool {
    days.is_some_and(|d| now - stored_at > f64::from(d) * 86_400_000.0)
}

/// Forgets `org_id`'s faxes kept longer than the chosen retention; how many.
pub async fn sweep(org_id: &str) -> Result<usize, String> {
    let days = keep_days(org_id);
    if days.is_none() {
        return Ok(0);
    }
    let now = js_sys::Date::now();
    let prefix = key(org_id, "");
    let old: Vec<String> = STORE
        .all()
        .await?
        .into_iter()
        .filter(|(k, v)| {
            k.starts_with(&prefix)
                && field(v, "stored_at").and_then(|s| s.as_f64()).is_some_and(|s| expired(s, days, now))
        })
        .map(|(k, _)| k)
        .collect();
    if !old.is_empty() {
        STORE.delete(&old).await?;
    }
    Ok(old.len())
}

#[cfg(test)]
mod tests {
    use super::expired;

    #[test]
    fn retention_counts_whole_days_from_storing() {
        let day = 86_400_000.0;
        assert!(!expired(0.0, None, 1e15), "until removed: never expires");
        assert!(!expired(0.0, Some(7), 7.0 * day));
        assert!(expired(0.0, Some(7), 7.0 * day + 1.0));
        assert!(!expired(10.0 * day, Some(1), 10.5 * day));
    }
}
