//! Handing bytes to the person: a download through a Blob URL, text to the
//! clipboard.

use wasm_bindgen::{JsCast, JsValue};

/// Offers `bytes` as a file named `name`. The Blob URL is revoked right after
/// the click has started the download, so the bytes are not reachable by URL
/// afterwards.
pub fn save(bytes: &[u8], name: &str, mime: &str) -> Result<(), String> {
    let fail = |_| "The browser refused to save the file.".to_string();
    let window = web_sys::window().ok_or("No browser window.")?;
    let document = window.document().ok_or("No document.")?;
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array.buffer());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_buffer_source_sequence_and_options(&parts, &options).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let anchor: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(fail)?.dyn_into().map_err(|_| "No link element.")?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.set_attribute("hidden", "").map_err(fail)?;
    let body = document.body().ok_or("No document body.")?;
    body.append_child(&anchor).map_err(fail)?;
    anchor.click();
    let _ = body.remove_child(&anchor);
    // Revoke after the download has started (a task later).
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 1_000);
    Ok(())
}

/// Copies `text` to the clipboard.
pub async fn copy(text: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("No browser window.")?;
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|_: JsValue| "The browser did not allow copying; select the text and copy it by hand.".to_string())
}

/// Seconds since 1970 by the browser's clock.
pub fn now_secs() -> u64 {
    crate::number::count(js_sys::Date::now() / 1000.0)
}

/// The page's origin (`http://localhost:3000`): the relay's public URL.
pub fn origin() -> String {
    web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
}

/// A full page load of `path` (after sign-in and sign-out, so that the
/// server decides afresh what the session may see).
pub fn go(path: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(path);
    }
}

/// Waits `ms` milliseconds without holding the page (a browser timer).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Lets the page repaint (a status line) before a stretch of work that holds
/// the main thread, such as key generation.
pub async fn yield_to_page() {
    sleep(16).await;
}

/// Runs `f` every `period` while the calling component is shown (only in the
/// browser: effects do not run on the server). The timer stops with it.
pub fn every(period: std::time::Duration, f: impl Fn() + 'static) {
    use leptos::prelude::*;
    let timer = StoredValue::new(None::<IntervalHandle>);
    let f = std::rc::Rc::new(f);
    Effect::new(move |_| {
        let f = f.clone();
        if let Ok(handle) = set_interval_with_handle(move || f(), period) {
            timer.set_value(Some(handle));
        }
    });
    on_cleanup(move || {
        if let Some(h) = timer.try_get_value().flatten() {
            h.clear();
        }
    });
}

/// The bytes of a file the person chose or dropped.
pub async fn read(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| "The browser could not read that file.".to_string())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The file picked in a file input's `change` event. The input is cleared,
/// so picking the same file again is seen too.
pub fn picked(ev: &web_sys::Event) -> Option<web_sys::File> {
    let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())?;
    let file = input.files().and_then(|f| f.get(0));
    input.set_value("");
    file
}

/// The first file of a `drop` event (the browser's own handling, opening
/// the file, is prevented).
pub fn dropped(ev: &web_sys::DragEvent) -> Option<web_sys::File> {
    ev.prevent_default();
    ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0))
}

/// The two ways to give a page a file: the handlers of a file input's
/// `change` ([`picked`]) and of a drop zone's `drop` ([`dropped`]), both
/// handing the file to `take`. `over` (the zone's highlight while a file is
/// dragged over it) is cleared on drop.
pub fn file_handlers(
    over: leptos::prelude::RwSignal<bool>, take: impl Fn(web_sys::File) + Copy + 'static,
) -> (impl Fn(web_sys::Event) + Copy + 'static, impl Fn(web_sys::DragEvent) + Copy + 'static) {
    use leptos::prelude::Set;
    let on_change = move |ev: web_sys::Event| {
        if let Some(file) = picked(&ev) {
            take(file);
        }
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        over.set(false);
        if let Some(file) = dropped(&ev) {
            take(file);
        }
    };
    (on_change, on_drop)
}
