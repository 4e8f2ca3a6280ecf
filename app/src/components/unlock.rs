//! "Unlock your keys": keys.zip chosen or dropped, read in this tab only.

use leptos::prelude::*;

use crate::{
    browser::files,
    components::{Alert, Fingerprint, TextField},
    vault::{UnlockError, Vault},
};

/// The keys panel: unlock (picker or drop, passphrase when needed) or, when
/// unlocked, the fingerprint held and Lock.
#[component]
pub fn UnlockKeys(org_id: String) -> impl IntoView {
    let vault = Vault::get();
    let pending = StoredValue::new_local(None::<zeroize::Zeroizing<Vec<u8>>>);
    let needs_passphrase = RwSignal::new(false);
    let passphrase = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<String>);
    let over = RwSignal::new(false);
    let org_id = StoredValue::new(org_id);

    let try_unlock = move || {
        let pass = passphrase.get_untracked();
        let result = pending.with_value(|bytes| {
            bytes.as_ref().map(|b| vault.unlock(b, (!pass.is_empty()).then_some(pass.as_str()), &org_id.get_value()))
        });
        match result {
            None => {}
            Some(Ok(_)) => {
                pending.set_value(None);
                passphrase.set(String::new());
                needs_passphrase.set(false);
                failure.set(None);
            }
            Some(Err(UnlockError::NeedsPassphrase)) => {
                needs_passphrase.set(true);
                failure.set(None);
            }
            Some(Err(UnlockError::Refused(m))) => failure.set(Some(m)),
        }
    };
    let take = move |file: web_sys::File| {
        leptos::task::spawn_local(async move {
            match files::read(&file).await {
                Ok(bytes) => {
                    pending.set_value(Some(zeroize::Zeroizing::new(bytes)));
                    passphrase.set(String::new());
                    try_unlock();
                }
                Err(m) => failure.set(Some(m)),
            }
        });
    };
    let (picked, dropped) = files::file_handlers(over, take);

    move || {
        match vault.unlocked() {
        Some(u) => view! {
            <div class="unlocked card" id="keys-unlocked">
                <div>
                    <p><strong>"Keys unlocked in this tab"</strong>
                        {if u.machine { " (machine keys: sending and opening only)" } else { "" }}</p>
                    <p class="hint">"Fingerprint " <Fingerprint value=u.fingerprint.clone() /></p>
                </div>
                <button type="button" class="button" id="lock-keys" on:click=move |_| vault.lock()>"Lock"</button>
            </div>
        }.into_any(),
        None => view! {
            <section class="card stack-sm dropzone" class:dropzone--over=move || over.get()
                aria-labelledby="unlock-title"
                on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); over.set(true) }
                on:dragleave=move |_| over.set(false)
                on:drop=dropped>
                <h2 id="unlock-title" class="h4">"Unlock your keys"</h2>
                <p>"Sending and opening faxes needs your organisation's keys.zip. It is read in this tab only and forgotten when you lock, sign out or close the tab; the relay never sees it."</p>
                <label class="button" for="keys-file">"Choose keys.zip"</label>
                <input id="keys-file" class="visually-hidden" type="file" accept=".zip,application/zip" on:change=picked />
                <span class="hint">" or drop it here"</span>
                <form class="stack-sm" hidden=move || !needs_passphrase.get()
                    on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); try_unlock() }>
                    <TextField id="keys-passphrase" label="This keys.zip is protected: its passphrase" value=passphrase
                        kind="password" autocomplete="off" />
                    <button type="submit" class="button button--primary">"Unlock"</button>
                </form>
                {move || failure.get().map(|m| view! { <Alert kind="danger"><p id="unlock-error">{m}</p></Alert> })}
            </section>
        }.into_any(),
    }
    }
}
