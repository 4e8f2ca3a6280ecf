//! Small building blocks shared by the pages: alerts, loading and error
//! states, form fields, fingerprints, copy buttons, dates.

use leptos::prelude::*;

mod arrivals;
mod confirm;
mod field;
mod key_changed;
mod log_monitor;
mod page_footer;
mod table;
mod unlock;
pub use arrivals::{ArrivalSettings, InboxCount};
pub use confirm::ConfirmButton;
pub use field::{CheckBox, Field, FieldCheck, TextField};
pub use key_changed::KeyChanged;
pub use log_monitor::LogMonitor;
pub use page_footer::{PageFooter, Paged};
pub use table::Table;
pub use unlock::UnlockKeys;

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

/// What shows a resource from the API: "Loading …" (`loading`) until it
/// answers, its failure in words, or `show` of its value.
pub fn loaded<T, V>(
    resource: LocalResource<Result<T, ApiFailure>>, loading: &'static str,
    show: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl Fn() -> AnyView + Send + Sync + 'static
where
    T: Clone + 'static,
    V: IntoView + 'static,
{
    move || match resource.get() {
        None => view! { <Loading label=loading /> }.into_any(),
        Some(Err(failure)) => view! { <Failure failure /> }.into_any(),
        Some(Ok(value)) => show(value).into_any(),
    }
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

/// A secret shown once, with Copy: the box has id `{id}`, the field `{id}-value`.
#[component]
pub fn ShownOnce(id: &'static str, #[prop(into)] title: String, value: String, children: Children) -> impl IntoView {
    view! {
        <div class="alert alert--warning stack-sm" role="status" id=id>
            <p><strong>{title}</strong></p>
            <div class="copy-field">
                <input readonly aria-label="Secret" id=format!("{id}-value") prop:value=value.clone() />
                <CopyButton text=value label="Copy secret" />
            </div>
            {children()}
        </div>
    }
}

/// `2026-11-22T10:00:00Z` as `2026-11-22 10:00 UTC`.
pub fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) if rfc3339.ends_with('Z') => format!("{day} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// Unix seconds as `2026-11-22 10:00 UTC`.
pub fn unix_date(secs: u64) -> String {
    when(&fxe_protocol::time::format_rfc3339(i64::try_from(secs).unwrap_or(i64::MAX)))
}

/// `n` and the noun for it: `count(1, "user", "users")` is `1 user`, `count(3, …)` is `3 users`.
pub fn count(n: impl Into<i128>, one: &str, many: &str) -> String {
    let n: i128 = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1234567` as `1.2 MB`.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", crate::number::float(b) / 1_000_000.0),
        b if b >= 1_000 => format!("{:.0} kB", crate::number::float(b) / 1_000.0),
        b => format!("{b} bytes"),
    }
}

/// A fax's size wherever it is shown (the message list and the fax's page): the sealed payload's length,
/// `ciphertext_len`, the one figure the relay reports for every fax (the document's own length also
/// needs the envelope's chunk size). `631 bytes sealed`.
pub fn sealed_size_text(ciphertext_len: u64) -> String {
    format!("{} sealed", size_text(ciphertext_len))
}

/// An optional time, or a dash.
pub fn when_or_dash(t: &Option<String>) -> String {
    t.as_deref().map(when).unwrap_or_else(|| "—".into())
}

#[cfg(test)]
mod tests {
    use super::{unix_date, when};

    #[test]
    fn dates_read_the_same_both_ways() {
        assert_eq!(unix_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(unix_date(1_795_347_000), "2026-11-22 11:30 UTC");
        assert_eq!(unix_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(when("2026-11-22T08:50:00Z"), "2026-11-22 08:50 UTC");
    }
}
