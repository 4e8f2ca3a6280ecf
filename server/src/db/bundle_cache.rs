//! Stored bundles, parsed once: a bounded cache from a bundle's stored JSON
//! to the [`Bundle`] it parses to.
//!
//! Every signed send reads the recipient's and the sender's bundles, and
//! parsing one (JSON, base64, the X-Wing and Ed25519 key checks) cost about
//! 6 % of the relay's CPU in the fax-cycle profile (docs/relay.md). A stored
//! bundle never changes, but the cache does not rely on that: it is keyed by
//! the exact stored text, so a hit is the parse of the same bytes, whatever
//! wrote them (another instance, the operator's CLI, a restore). It needs no
//! invalidation and cannot return a stale bundle; only memory is bounded.

use std::sync::{LazyLock, Mutex, PoisonError};

use fxe_protocol::bundle::Bundle;
use hashlink::LruCache;

/// How many parsed bundles the process keeps: each entry is about 3.5 KiB
/// (the JSON and the parsed keys), so at most ~3.5 MiB; the least recently
/// read bundle goes first.
pub const CAPACITY: usize = 1024;

static PARSED: LazyLock<Mutex<LruCache<String, Bundle>>> = LazyLock::new(|| Mutex::new(LruCache::new(CAPACITY)));

/// The bundle `json` parses to, checked as [`Bundle::from_json`] checks it.
/// A bundle that does not parse is not cached (its error comes every time).
pub fn parse(json: &str) -> fxe_protocol::error::Result<Bundle> {
    // A poisoned lock only means another thread panicked between two cache
    // operations; the map itself is always consistent, so keep using it.
    if let Some(bundle) = PARSED.lock().unwrap_or_else(PoisonError::into_inner).get(json) {
        return Ok(bundle.clone());
    }
    let bundle = Bundle::from_json(json)?;
    PARSED.lock().unwrap_or_else(PoisonError::into_inner).insert(json.to_owned(), bundle.clone());
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use fxe_protocol::{bundle::BundleKeys, ids::IdentityKey};

    fn bundle_json(seed: u8) -> String {
        let identity = IdentityKey::from_seed(&[seed; 32]);
        BundleKeys::from_seeds(&identity, 1_700_000_000, &[seed; 32], &[seed.wrapping_add(1); 32]).bundle.to_json()
    }

    #[test]
    fn a_hit_is_the_parse_of_the_same_text() {
        let json = bundle_json(41);
        let first = parse(&json).unwrap();
        let again = parse(&json).unwrap();
        assert_eq!(first, again);
        assert_eq!(first, Bundle::from_json(&json).unwrap());
    }

    #[test]
    fn other_text_is_parsed_again_and_bad_text_always_fails() {
        let json = bundle_json(42);
        let good = parse(&json).unwrap();
        // The same bundle with one key byte changed is other text: it is not
        // answered from the cache (here it fails the shape check or parses to
        // another bundle, never to the cached one).
        let tampered = json.replacen("\"sign_pub\":\"", "\"sign_pub\":\"A", 1);
        assert!(parse(&tampered).is_err());
        assert!(parse(&tampered).is_err());
        assert!(parse("{\"not\":\"a bundle\"}").is_err());
        assert_eq!(parse(&json).unwrap(), good);
    }

    #[test]
    fn the_cache_is_bounded() {
        // The same bundle with 0..CAPACITY+8 spaces after it: that many
        // different texts, each a valid bundle.
        let json = bundle_json(43);
        for spaces in 0..(CAPACITY + 8) {
            parse(&format!("{json}{}", " ".repeat(spaces))).unwrap();
        }
        assert!(PARSED.lock().unwrap().len() <= CAPACITY);
    }
}
