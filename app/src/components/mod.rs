//! Small building blocks shared by the pages: alerts, loading and error
//! states, fingerprints, copy buttons, dates.

use leptos::prelude::*;

use crate::browser::http::ApiFailure;

/// A message box. `kind`: `info`, `success`, `warning` or `danger`.
#[component]
pub fn Alert(kind: &'static str, children: Children) -> impl IntoView {
    let role = if kind == "danger" { "alert" } else { "status" };
    view! { <div class=format!("alert alert--{kind}") role=role>{children()}</div> }
}

/// "Loading …" with a spinner, announced to screen readers.
#[component]
pub fn Loading(#[prop(into)] label: String) -> impl IntoView {
    view! {
        <p class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            {label}
        </p>
    }
}

/// A failed API call, in words.
#[component]
pub fn Failure(failure: ApiFailure) -> impl IntoView {
    view! { <Alert kind="danger"><p>{failure.message}</p></Alert> }
}

/// The message in `failure`, if any, as an alert.
#[component]
pub fn FailureLine(failure: RwSignal<Option<String>>) -> impl IntoView {
    move || failure.get().map(|m| view! { <Alert kind="danger"><p>{m}</p></Alert> })
}

/// An org's key fingerprint, grouped for reading aloud.
#[component]
pub fn Fingerprint(#[prop(into)] value: String) -> impl IntoView {
    let shown = value.clone();
    view! { <code class="fingerprint" data-fingerprint=value>{shown}</code> }
}

/// A button that copies `text` and says so.
#[component]
pub fn CopyButton(#[prop(into)] text: String, #[prop(default = "Copy")] label: &'static str) -> impl IntoView {
    let said = RwSignal::new(None::<String>);
    let copy = move |_| {
        let text = text.clone();
        leptos::task::spawn_local(async move {
            said.set(Some(match crate::browser::files::copy(&text).await {
                Ok(()) => "Copied.".to_string(),
                Err(e) => e,
            }));
        });
    };
    view! {
        <button type="button" class="button" on:click=copy>{label}</button>
        <span class="hint" role="status" aria-live="polite">{move || said.get()}</span>
    }
}

/// `2026-11-22T10:00:00Z` as `2026-11-22 10:00 UTC`.
pub fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) if rfc3339.ends_with('Z') => format!("{day} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// An optional time, or a dash.
pub fn when_or_dash(t: &Option<String>) -> String {
    t.as_deref().map(when).unwrap_or_else(|| "—".into())
}

/// Asks the person to confirm a consequential action (the browser's dialog).
pub fn confirm(question: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false)
}
