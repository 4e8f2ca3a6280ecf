//! Faxes this browser sent lately, so that sending the same file to the same
//! number again within [`WINDOW_MS`] asks first. Kept per org in local
//! storage (`fxe-sent/{org_id}`): the number, the file's name, size and
//! modification time, and when it was sent. Nothing of the content.

use serde::{Deserialize, Serialize};

/// How long a send counts as recent: 10 minutes.
pub const WINDOW_MS: f64 = 10.0 * 60.0 * 1000.0;

/// One send: which file to which number, and when (ms since 1970).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    pub to: String,
    pub file: String,
    pub at: f64,
}

/// What identifies a chosen file without reading it.
pub fn file_id(file: &web_sys::File) -> String {
    format!("{}/{}/{}", file.name(), file.size(), file.last_modified())
}

/// The latest of `sent` that is `file` to `to` within the window before `now`.
pub fn again<'a>(sent: &'a [Sent], to: &str, file: &str, now: f64) -> Option<&'a Sent> {
    sent.iter().rev().find(|s| s.to == to && s.file == file && now - s.at < WINDOW_MS && s.at <= now)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn key(org_id: &str) -> String {
    format!("fxe-sent/{org_id}")
}

/// This browser's recent sends for `org_id` (none if unreadable).
pub fn load(org_id: &str) -> Vec<Sent> {
    storage()
        .and_then(|s| s.get_item(&key(org_id)).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Records a send of `file` to `to` now, forgetting sends older than the window.
pub fn record(org_id: &str, to: &str, file: &str) {
    let now = js_sys::Date::now();
    let mut sent: Vec<Sent> = load(org_id).into_iter().filter(|s| now - s.at < WINDOW_MS).collect();
    sent.push(Sent { to: to.into(), file: file.into(), at: now });
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(&sent)) {
        let _ = s.set_item(&key(org_id), &text);
    }
}

#[cfg(test)]
mod tests {
    use super::{Sent, WINDOW_MS, again};

    #[test]
    fn same_file_same_number_within_ten_minutes() {
        let sent = vec![Sent { to: "+15550001".into(), file: "a.pdf/10/1".into(), at: 1_000.0 }];
        assert!(again(&sent, "+15550001", "a.pdf/10/1", 1_000.0 + WINDOW_MS - 1.0).is_some());
        assert!(again(&sent, "+15550001", "a.pdf/10/1", 1_000.0 + WINDOW_MS).is_none(), "older than the window");
        assert!(again(&sent, "+15550002", "a.pdf/10/1", 2_000.0).is_none(), "another number");
        assert!(again(&sent, "+15550001", "a.pdf/11/1", 2_000.0).is_none(), "another file");
    }
}
