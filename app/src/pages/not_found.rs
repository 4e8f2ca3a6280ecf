//! The page for any path the app does not know.

use leptos::prelude::*;
use leptos_meta::Title;

/// "Page not found", answered with HTTP 404 when rendered on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }

    view! {
        <Title text="Page not found" />
        <div class="container stack narrow">
            <h1>"Page not found"</h1>
            <p class="lead">"There is nothing at this address. It may have moved, or the link may be incomplete."</p>
            <div class="button-row">
                <a class="button button--primary" href="/">"Go to the home page"</a>
            </div>
        </div>
    }
}
