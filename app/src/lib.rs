//! fxe's web pages.
//!
//! The same components render on the server (feature `ssr`, used by
//! `fxe-server`) and hydrate in the browser (feature `hydrate`, used by the
//! `frontend` wasm bundle). Anything that only makes sense on the server sits
//! behind `#[cfg(feature = "ssr")]`.

// The web pages' view types nest deeply (Leptos builds one type per page).
#![recursion_limit = "256"]

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, StaticSegment,
    components::{A, ParentRoute, Route, Router, Routes},
};

mod browser;
mod components;
mod fax;
mod number;
mod pages;
mod proofs;
mod session;
mod vault;

pub use pages::{
    dashboard::{DashboardHome, DashboardSection, DashboardShell},
    home::HomePage,
    login::LoginPage,
    message::MessagePage,
    not_found::NotFound,
    operator::OperatorPage,
    operator_org::OperatorOrgPage,
    redeem::RedeemPage,
    setup::SetupPage,
    verify::VerifyPage,
};

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
    session::provide_session();

    view! {
        <Stylesheet id="fxe-style" href=format!("/pkg/{OUTPUT_NAME}.css") />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="color-scheme" content="light dark" />
        <Meta
            name="description"
            content="fxe relays faxes between member organizations, encrypted end to end."
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
                    <Route path=StaticSegment("redeem") view=RedeemPage />
                    <Route path=StaticSegment("login") view=LoginPage />
                    <Route path=(StaticSegment("setup"), ParamSegment("token")) view=SetupPage />
                    <Route path=StaticSegment("operator") view=OperatorPage />
                    <Route path=(StaticSegment("operator"), StaticSegment("orgs"), ParamSegment("org_id")) view=OperatorOrgPage />
                    <Route path=StaticSegment("verify") view=VerifyPage />
                    <ParentRoute path=StaticSegment("dashboard") view=DashboardShell>
                        <Route path=StaticSegment("") view=DashboardHome />
                        <Route path=ParamSegment("section") view=DashboardSection />
                        <Route path=(StaticSegment("messages"), ParamSegment("id")) view=MessagePage />
                    </ParentRoute>
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
                    <AccountMenu />
                </nav>
            </div>
        </header>
    }
}

/// "Sign in", or the signed-in user with sign-out buttons.
#[component]
fn AccountMenu() -> impl IntoView {
    let session = session::use_session();
    let failure = RwSignal::new(None::<String>);
    let sign_out = move |everywhere: bool| {
        leptos::task::spawn_local(async move {
            if let Err(e) = session::sign_out(everywhere).await {
                failure.set(Some(e.message));
            }
        });
    };
    move || match session.0.get() {
        Some(Ok(me)) => view! {
            <details class="account">
                <summary class="button button--quiet" data-testid="account-menu">
                    <span class="account__email">{me.email.clone()}</span>
                </summary>
                <div class="account__menu card stack-sm">
                    <p class="muted">
                        {match &me.org {
                            Some(org) => format!("{} of {}", me.role, org.org_name),
                            None => "Relay operator".to_string(),
                        }}
                    </p>
                    <a class="button button--quiet" href=session::home_of(&me)>
                        {if me.org.is_some() { "Dashboard" } else { "Operator pages" }}
                    </a>
                    <button type="button" class="button" id="sign-out" on:click=move |_| sign_out(false)>
                        "Sign out"
                    </button>
                    <button type="button" class="button" id="sign-out-everywhere" on:click=move |_| sign_out(true)>
                        "Sign out everywhere"
                    </button>
                    <p class="hint">"Everywhere: every browser where you are signed in."</p>
                    {move || failure.get().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                </div>
            </details>
        }
        .into_any(),
        _ => view! { <a class="button button--quiet" href="/login">"Sign in"</a> }.into_any(),
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
