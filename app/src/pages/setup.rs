//! `/setup/{token}`: enrol a passkey from a single-use setup link (the first
//! admin after redeeming, an invited teammate, a recovery, an operator).

use fxe_protocol::api::{CeremonyFinish, CeremonyStarted, Me, PasskeyRegisterStart};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::{
    browser::{files, http, passkey},
    components::{Alert, TextField},
    session::home_of,
};

/// Enrols a passkey: with a setup link's token, or for the signed-in user
/// (`None`). Returns the user as the relay now knows them.
pub async fn enrol(setup_token: Option<String>, label: String) -> Result<Me, String> {
    let started: CeremonyStarted = http::post("/auth/passkey/register/start", &PasskeyRegisterStart { setup_token })
        .await
        .map_err(|e| e.message)?;
    let credential = passkey::create(&started.options).await.map_err(|e| e.0)?;
    let label = label.trim().to_string();
    let finish =
        CeremonyFinish { ceremony_id: started.ceremony_id, credential, label: (!label.is_empty()).then_some(label) };
    http::post::<Me>("/auth/passkey/register/finish", &finish).await.map_err(|e| e.message)
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let label = RwSignal::new(String::new());
    let working = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let enrolled = RwSignal::new(None::<Me>);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if working.get_untracked() {
            return;
        }
        working.set(true);
        failure.set(None);
        let token = token();
        let label = label.get_untracked();
        leptos::task::spawn_local(async move {
            match enrol(Some(token), label).await {
                Ok(me) => {
                    let home = home_of(&me);
                    enrolled.set(Some(me));
                    files::go(home);
                }
                Err(m) => failure.set(Some(m)),
            }
            working.set(false);
        });
    };

    view! {
        <Title text="Set up your passkey" />
        <div class="container narrow stack">
            <h1>"Set up your passkey"</h1>
            <p class="lead">
                "A passkey lets you sign in with this device's screen lock or a security key. "
                "There is no password to remember or to steal."
            </p>
            {move || match enrolled.get() {
                Some(me) => view! {
                    <Alert kind="success">
                        <p>{format!("Passkey saved for {}. Opening your pages…", me.email)}</p>
                    </Alert>
                }.into_any(),
                None => view! {
                    <form class="card stack" on:submit=submit>
                        <TextField id="passkey-label" label="Name this passkey (optional)" value=label maxlength=100
                            placeholder="e.g. Front desk PC" hint="Helps you tell your passkeys apart later." />
                        {move || failure.get().map(|m| view! { <Alert kind="danger"><p id="setup-error">{m}</p></Alert> })}
                        {move || working.get().then(|| view! {
                            <p class="loading" role="status" aria-live="polite">
                                <span class="spinner" aria-hidden="true"></span>
                                "Follow your browser's prompt to create the passkey…"
                            </p>
                        })}
                        <div class="button-row">
                            <button type="submit" class="button button--primary" id="create-passkey" disabled=move || working.get()>
                                "Create passkey"
                            </button>
                        </div>
                        <p class="hint">"This link works once and expires 24 hours after it was issued."</p>
                    </form>
                }.into_any(),
            }}
        </div>
    }
}
