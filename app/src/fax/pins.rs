//! The pin store of PROTOCOL.md §3, kept per org in this browser's local
//! storage (`fxe-pins/{org_id}`): what this browser has seen of other orgs'
//! identities. It is never sent to the relay, which it guards against.

use fxe_protocol::pins::PinStore;

fn key(org_id: &str) -> String {
    format!("fxe-pins/{org_id}")
}

fn storage() -> Result<web_sys::Storage, String> {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .ok_or_else(|| "This browser does not allow fxe to keep the keys it has seen (local storage is off). Allow site data for this relay to send faxes.".to_string())
}

/// The pins of `org_id`'s members in this browser (empty at first).
pub fn load(org_id: &str) -> Result<PinStore, String> {
    match storage()?.get_item(&key(org_id)) {
        Ok(Some(text)) => PinStore::from_json(&text).map_err(|e| {
            format!("The keys this browser has seen are unreadable ({e}). Ask your admin before clearing this site's data: it removes them.")
        }),
        Ok(None) => Ok(PinStore::new()),
        Err(_) => Err("The browser refused to read the keys it has seen.".into()),
    }
}

/// Keeps `pins` for `org_id`.
pub fn save(org_id: &str, pins: &PinStore) -> Result<(), String> {
    storage()?
        .set_item(&key(org_id), &pins.to_json())
        .map_err(|_| "The browser refused to keep the keys it has seen (storage full or blocked).".to_string())
}
