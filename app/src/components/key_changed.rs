//! A changed key of another org (PROTOCOL.md §3, pins), shown where it blocks
//! work: on Send and on a fax's page.

use leptos::prelude::*;

use crate::{
    components::{Alert, FailureLine, Fingerprint, TextField},
    fax::peers::{self, PinChange},
};

/// Another org's key differs from the one this browser pinned: sending to it
/// and opening its faxes are blocked; an admin who checked the new
/// fingerprint out of band confirms it, then `again` looks it up anew.
#[component]
pub fn KeyChanged(
    change: PinChange, admin: bool, me: String, again: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<String>);
    let change = StoredValue::new(change);
    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match peers::confirm(&me, &change.get_value(), &typed.get_untracked()) {
            Ok(()) => again(),
            Err(m) => failure.set(Some(m)),
        }
    };
    view! {
        <Alert kind="danger">
            <div class="stack-sm" id="key-changed">
                <p><strong>{format!("{}'s key has changed. Sending is blocked.", change.get_value().org_name)}</strong></p>
                <p>{change.get_value().message}</p>
                <p>"The relay now offers fingerprint " <Fingerprint value=change.get_value().offered_fingerprint() />
                   ". This happens when an organization replaces its keys, and also when someone tries to intercept faxes."</p>
                {if admin {
                    view! {
                        <form class="stack-sm" on:submit=confirm>
                            <TextField id="confirm-fingerprint" value=typed autocomplete="off"
                                label="Call the organization on a number you already know, read the fingerprint together, and type it here" />
                            <button type="submit" class="button">"Confirm the new key"</button>
                            <FailureLine failure />
                        </form>
                    }.into_any()
                } else {
                    view! { <p>"Ask an admin of your organization to check the new fingerprint with them and confirm it in this browser."</p> }.into_any()
                }}
            </div>
        </Alert>
    }
}
