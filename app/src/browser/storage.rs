//! The browser's Web Storage: `sessionStorage` (this tab, survives a reload)
//! and `localStorage` (this browser). Callers store public data or
//! ciphertext, with one exception: the content keys of faxes this browser
//! sent (`proofs::sent_keys`), each of which opens that one fax only, kept so
//! the sender can export a proof with the document (docs/web.md).

/// Which of the two storages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// `sessionStorage`: this tab, until it is closed.
    Tab,
    /// `localStorage`: this browser, until removed.
    Browser,
}

fn storage(area: Area) -> Option<web_sys::Storage> {
    let window = web_sys::window()?;
    match area {
        Area::Tab => window.session_storage().ok().flatten(),
        Area::Browser => window.local_storage().ok().flatten(),
    }
}

/// The item `key`, if the storage is available and holds it.
pub fn get(area: Area, key: &str) -> Option<String> {
    storage(area)?.get_item(key).ok().flatten()
}

/// Keeps `value` under `key`; the error is in words.
pub fn set(area: Area, key: &str, value: &str) -> Result<(), String> {
    storage(area)
        .ok_or_else(|| "This browser does not let the page keep data (site data is blocked).".to_string())?
        .set_item(key, value)
        .map_err(|_| "The browser refused to keep the data (storage full or blocked).".to_string())
}

/// Removes `key` (nothing when absent or unavailable).
pub fn remove(area: Area, key: &str) {
    if let Some(s) = storage(area) {
        let _ = s.remove_item(key);
    }
}
