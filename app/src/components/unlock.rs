//! "Unlock your keys": keys.zip chosen or dropped, read in this tab only, or
//! the keys remembered on this device unlocked with the passkey
//! (docs/device-keys.md). Unlocked keys that lack the org's current bundle
//! are flagged.

use fxe_protocol::keyszip::KeysKind;
use leptos::prelude::*;

use crate::{
    browser::{files, http},
    components::{Alert, Fingerprint, TextField},
    session::use_session,
    vault::{self, UnlockError, Vault},
};

/// The org's current (active) bundle id, from the relay.
async fn current_bundle() -> Option<String> {
    http::get::<fxe_protocol::api::Org>("/org").await.ok().map(|o| o.active_bundle.bundle_id)
}

/// Unlocked keys that lack the org's current bundle: what to tell the person.
#[component]
fn StaleKeys() -> impl IntoView {
    let vault = Vault::get();
    let current = LocalResource::new(current_bundle);
    move || {
        let id = current.get().flatten()?;
        (vault.unlocked().is_some() && !vault.holds_bundle(&id)).then(|| {
            view! {
                <Alert kind="warning">
                    <p id="keys-stale">
                        <strong>"This keys.zip is out of date."</strong>
                        " It does not hold your organization's current keys (bundle " <code>{id.clone()}</code>
                        "), made by a later rotation: faxes sent to you since then cannot be opened with it. "
                        "This is not the sender's fault. Ask an admin for the keys.zip saved after the last rotation "
                        "(Keys page: a staff keys.zip will do) and unlock that one."
                    </p>
                </Alert>
            }
        })
    }
}

/// "Remember keys on this device" / "Forget on this device", and "Unlock with
/// your passkey" when keys are remembered here.
#[component]
fn DeviceKeysControls(org_id: StoredValue<String>, failure: RwSignal<Option<String>>) -> impl IntoView {
    let vault = Vault::get();
    let session = use_session();
    let user_id = move || session.0.get().and_then(Result::ok).map(|me| me.user_id);
    let remembered = RwSignal::new(false);
    let working = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(user) = user_id() {
            remembered.set(vault::remembered(&org_id.get_value(), &user).is_some());
        }
    });
    let run = move |remember: bool| {
        let Some(user) = user_id() else { return };
        if working.get_untracked() {
            return;
        }
        working.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            let org = org_id.get_value();
            let done = if remember {
                vault.remember(&org, &user).await
            } else {
                vault.unlock_remembered(&org, &user).await.map(|_| ())
            };
            match done {
                Ok(()) => remembered.set(true),
                Err(m) => failure.set(Some(m)),
            }
            working.set(false);
        });
    };
    let forget = move |_| {
        if let Some(user) = user_id() {
            vault::forget_on_device(&org_id.get_value(), &user);
            remembered.set(false);
        }
    };
    move || {
        let unlocked = vault.unlocked().is_some();
        match (unlocked, remembered.get()) {
            (true, false) => view! {
                <div class="stack-sm">
                    <button type="button" class="button" id="remember-keys" disabled=move || working.get()
                        on:click=move |_| run(true)>"Remember keys on this device"</button>
                    <p class="hint">"Keeps them in this browser, encrypted so that only your passkey unlocks them: next time, sign in and unlock with the passkey, without keys.zip."</p>
                </div>
            }.into_any(),
            (true, true) => view! {
                <div class="button-row">
                    <span class="hint" id="keys-remembered">"Remembered on this device (unlocked with your passkey)."</span>
                    <button type="button" class="button button--quiet" id="forget-device" on:click=forget>"Forget on this device"</button>
                </div>
            }.into_any(),
            (false, true) => view! {
                <div class="stack-sm">
                    <p>"Your keys are remembered on this device."</p>
                    <div class="button-row">
                        <button type="button" class="button button--primary" id="unlock-passkey" disabled=move || working.get()
                            on:click=move |_| run(false)>"Unlock with your passkey"</button>
                        <button type="button" class="button button--quiet" id="forget-device" on:click=forget>"Forget on this device"</button>
                    </div>
                </div>
            }.into_any(),
            (false, false) => ().into_any(),
        }
    }
}

/// The keys panel: unlock (picker or drop, passphrase when needed) or, when
/// unlocked, the fingerprint held and Lock.
#[component]
pub fn UnlockKeys(org_id: String) -> impl IntoView {
    let vault = Vault::get();
    let pending = StoredValue::new(None::<zeroize::Zeroizing<Vec<u8>>>);
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
            <div class="stack-sm">
                <div class="unlocked card" id="keys-unlocked">
                    <div>
                        <p><strong>"Keys unlocked in this tab"</strong>
                            {match u.kind {
                                KeysKind::Full => "",
                                KeysKind::Machine => " (machine keys: sending and opening only)",
                                KeysKind::Staff => " (staff keys: opening, receipts and sending)",
                            }}</p>
                        <p class="hint">"Fingerprint " <Fingerprint value=u.fingerprint.clone() /></p>
                    </div>
                    <button type="button" class="button" id="lock-keys" on:click=move |_| vault.lock()>"Lock"</button>
                </div>
                <StaleKeys />
                <DeviceKeysControls org_id failure />
                {move || failure.get().map(|m| view! { <Alert kind="danger"><p id="unlock-error">{m}</p></Alert> })}
            </div>
        }.into_any(),
        None => view! {
            <section class="card stack-sm dropzone" class:dropzone--over=move || over.get()
                aria-labelledby="unlock-title"
                on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); over.set(true) }
                on:dragleave=move |_| over.set(false)
                on:drop=dropped>
                <h2 id="unlock-title" class="h4">"Unlock your keys"</h2>
                <DeviceKeysControls org_id failure />
                <p>"Sending and opening faxes needs your organization's keys.zip (a staff keys.zip from an admin is enough). It is read in this tab only and forgotten when you lock, sign out or close the tab; the relay never sees it."</p>
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
