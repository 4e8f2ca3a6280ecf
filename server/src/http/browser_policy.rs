//! What a browser may do with the relay's answers: the response headers that
//! keep an injected script, a framing page or a cache away from the keys and
//! faxes a signed-in tab holds.
//!
//! Every answer gets (see docs/relay.md, "Browser hardening"):
//! * `Content-Security-Policy` ([`content_security_policy`]): scripts only
//!   from the relay and the page's own inline hydration script, by a fresh
//!   random nonce per answer (the same value the page's `<script nonce>`
//!   carries: [`provide_request_nonce`] hands it to Leptos), WebAssembly
//!   compilation, no plugins, no `<base>`, no framing, forms only to the
//!   relay, frames only from `blob:` (the opened fax's PDF);
//! * `Strict-Transport-Security` when the public URL is https;
//! * `Cross-Origin-Opener-Policy: same-origin`, a `Permissions-Policy` that
//!   turns off every powerful feature the UI does not use (passkeys and
//!   writing the clipboard stay on for the relay itself);
//! * `X-Content-Type-Options`, `X-Frame-Options`, `Referrer-Policy`;
//! * `Cache-Control: no-store` on every API answer (signed-in answers and
//!   the ones carrying secrets: setup links, invite tokens, ciphertext) and on
//!   every HTML page (`/setup/{token}` and `/redeem?token=…` carry a secret in
//!   the URL, signed-in pages show the org's data). Assets (`/pkg/…`) stay
//!   cacheable.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};
use leptos::nonce::Nonce;

use crate::AppState;

/// Two years, the value the HSTS preload list asks for.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Powerful features the web UI never uses, turned off for it and for
/// anything it frames; passkeys (`publickey-credentials-*`) and writing the
/// clipboard (copying a link or fingerprint) stay on for the relay's own
/// pages. Only names Chromium knows (an unknown one is a console error).
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), magnetometer=(), \
     microphone=(), midi=(), payment=(), picture-in-picture=(), screen-wake-lock=(), serial=(), usb=(), \
     xr-spatial-tracking=(), clipboard-read=(), clipboard-write=(self), publickey-credentials-create=(self), \
     publickey-credentials-get=(self)";

/// The policy for an answer whose page scripts carry `nonce`.
///
/// * `script-src`: the bundle (`/pkg/fxe.js`, by `'self'`), the inline
///   hydration script and resource chunks (by nonce), and compiling
///   `/pkg/fxe.wasm` (`'wasm-unsafe-eval'`; no `eval` of JavaScript);
/// * `style-src 'self'`: the one stylesheet, `/pkg/fxe.css`; the UI has no
///   inline styles;
/// * `frame-src blob:`: the PDF of an opened fax is shown in an `<iframe>`
///   of a Blob URL made in the tab; nothing else is framed;
/// * everything else (`connect-src`, `img-src`, fonts, …) from the relay
///   only, by `default-src 'self'`; under `cargo leptos watch`
///   (`live_reload_port`) `connect-src` also allows its live-reload
///   WebSocket on that port.
pub fn content_security_policy(nonce: &str, live_reload_port: Option<u32>) -> String {
    let live_reload = live_reload_port.map(|p| format!(" ws://*:{p} wss://*:{p}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self'; connect-src 'self'{live_reload}; frame-src blob:; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// The live-reload port when the relay runs under `cargo leptos watch`
/// (which sets `LEPTOS_WATCH`; Leptos' `AutoReload` then adds its script).
fn live_reload_port(state: &AppState) -> Option<u32> {
    std::env::var_os("LEPTOS_WATCH").map(|_| state.leptos.reload_external_port.unwrap_or(state.leptos.reload_port))
}

/// Middleware: makes this answer's nonce (into the request's extensions, for
/// [`provide_request_nonce`]) and sets the headers above on the answer.
pub async fn headers(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let is_api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let headers = res.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce, live_reload_port(&state))) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if state.config.public_url_is_https() {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    set(headers, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set(headers, HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    // API answers are never cached unless the handler said otherwise (the
    // transparency log's immutable tiles).
    if is_page || (is_api && !headers.contains_key(header::CACHE_CONTROL)) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

/// For Leptos' `additional_context`: renders the page with the nonce
/// [`headers`] put in the request, so the page's `<script nonce>` is the one
/// its `Content-Security-Policy` names. (Leptos makes a nonce of its own for
/// each page first; this one replaces it.)
pub fn provide_request_nonce() {
    let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        leptos::prelude::provide_context(nonce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_nonce_and_nothing_loose() {
        let csp = content_security_policy("abc123", None);
        assert!(csp.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"), "{csp}");
        for loose in ["unsafe-inline", "unsafe-eval'", "data:", "*", "http:", "https:"] {
            assert!(!csp.replace("'wasm-unsafe-eval'", "").contains(loose), "{loose} in {csp}");
        }
        for strict in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"] {
            assert!(csp.contains(strict), "{strict} missing from {csp}");
        }
    }

    #[test]
    fn live_reload_may_connect_to_its_port_only() {
        let csp = content_security_policy("n", Some(3001));
        assert!(csp.contains("connect-src 'self' ws://*:3001 wss://*:3001;"), "{csp}");
        assert!(content_security_policy("n", None).contains("connect-src 'self';"));
    }

    #[test]
    fn permissions_policy_keeps_passkeys_for_the_relay_only() {
        assert!(PERMISSIONS_POLICY.contains("publickey-credentials-get=(self)"));
        assert!(PERMISSIONS_POLICY.contains("publickey-credentials-create=(self)"));
        for denied in ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"] {
            assert!(PERMISSIONS_POLICY.contains(denied), "{denied}");
        }
        assert!(HeaderValue::from_str(PERMISSIONS_POLICY).is_ok());
    }
}
