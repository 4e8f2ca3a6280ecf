//! The browser bundle: hydrates the server-rendered pages of `app`.
//!
//! cargo-leptos builds this crate to wasm32 with the `hydrate` feature; the
//! hydration script in the page calls [`hydrate`] once the bundle has loaded.

// The web pages' view types nest deeply (Leptos builds one type per page).
#![recursion_limit = "256"]

#[cfg(feature = "hydrate")]
use wasm_bindgen::prelude::wasm_bindgen;

/// Attaches the app to the markup the server rendered.
///
/// When it returns, the page is interactive; it then marks `<html>` with
/// `data-hydrated="true"` so that tests (and CSS, if ever needed) can tell a
/// live page from the server-rendered one.
#[cfg(feature = "hydrate")]
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);

    if let Some(root) = leptos::prelude::document().document_element() {
        // Only a marker: failing to set it changes nothing for people.
        let _ = root.set_attribute("data-hydrated", "true");
    }
}
