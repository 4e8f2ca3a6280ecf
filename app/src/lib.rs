//! fxe's web pages.
//!
//! The same components render on the server (feature `ssr`, used by
//! `fxe-server`) and hydrate in the browser (feature `hydrate`, used by the
//! `frontend` wasm bundle). Anything that only makes sense on the server sits
//! behind `#[cfg(feature = "ssr")]`.

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{A, Route, Router, Routes},
};

mod pages;

pub use pages::{home::HomePage, not_found::NotFound};

/// The name cargo-leptos gives the bundle (`[[workspace.metadata.leptos]] name`):
/// the browser loads `/pkg/fxe.js`, `/pkg/fxe.wasm` and `/pkg/fxe.css`.
pub const OUTPUT_NAME: &str = "fxe";

/// The product name as shown to people.
pub const PRODUCT_NAME: &str = "fxe";

/// The HTML document around the app, rendered on the server only. The
/// hydration scripts load the wasm bundle that takes over the same markup.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The whole web UI: header, routed page, footer.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="fxe-style" href=format!("/pkg/{OUTPUT_NAME}.css") />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="color-scheme" content="light dark" />
        <Meta
            name="description"
            content="fxe relays faxes between member organisations, encrypted end to end."
        />
        <Title formatter=|page: String| {
            if page.is_empty() { PRODUCT_NAME.to_string() } else { format!("{page} · {PRODUCT_NAME}") }
        } />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <SiteHeader />
            <main id="main" class="page" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=HomePage />
                </Routes>
            </main>
            <SiteFooter />
        </Router>
    }
}

#[component]
fn SiteHeader() -> impl IntoView {
    view! {
        <header class="site-header">
            <div class="container site-header__inner">
                <A href="/" attr:class="wordmark">
                    <span class="wordmark__mark" aria-hidden="true">"⟨⟩"</span>
                    <span class="wordmark__name">{PRODUCT_NAME}</span>
                </A>
                <nav aria-label="Account">
                    <a class="button button--quiet" href="/login">"Sign in"</a>
                </nav>
            </div>
        </header>
    }
}

#[component]
fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container">
                <p>
                    {PRODUCT_NAME}
                    " is an invite-only relay. Membership is arranged with the relay's operator."
                </p>
            </div>
        </footer>
    }
}
