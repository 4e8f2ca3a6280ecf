//! `/login`: sign in with a passkey (discoverable: no username), and
//! Recover, which mails a new setup link.

use fxe_protocol::api::{CeremonyFinish, CeremonyStarted, Me, RecoverRequest};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    browser::{files, http, passkey},
    components::{Alert, TextField},
    session::home_of,
};

/// Where to go after signing in: `next` when it is a path on this site.
fn after_sign_in(next: Option<String>, me: &Me) -> String {
    match next {
        Some(n) if is_local_path(&n) => n,
        _ => home_of(me).to_string(),
    }
}

/// A path on this relay, and nothing a browser could read as another host:
/// it starts with one `/`, and has no backslash, white space or control
/// character anywhere (browsers drop tabs and newlines from URLs, so
/// `/\t/evil.example` would become `//evil.example`).
fn is_local_path(n: &str) -> bool {
    n.starts_with('/') && !n.starts_with("//") && !n.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

async fn sign_in() -> Result<Me, String> {
    let started: CeremonyStarted = http::call("POST", "/auth/login/start", None::<&()>).await.map_err(|e| e.message)?;
    let credential = passkey::get(&started.options).await.map_err(|e| e.0)?;
    let finish = CeremonyFinish { ceremony_id: started.ceremony_id, credential, label: None };
    http::post::<Me>("/auth/login/finish", &finish).await.map_err(|e| e.message)
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let signed_out = query.read_untracked().get("signed_out");
    let working = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);

    let start = move |_| {
        if working.get_untracked() {
            return;
        }
        working.set(true);
        failure.set(None);
        let next = query.read_untracked().get("next");
        leptos::task::spawn_local(async move {
            match sign_in().await {
                Ok(me) => files::go(&after_sign_in(next, &me)),
                Err(m) => {
                    failure.set(Some(m));
                    working.set(false);
                }
            }
        });
    };

    view! {
        <Title text="Sign in" />
        <div class="container narrow stack-lg">
            <section class="stack" aria-labelledby="sign-in-title">
                <h1 id="sign-in-title">"Sign in"</h1>
                {signed_out.map(|how| view! {
                    <Alert kind="info">
                        <p id="signed-out-notice">
                            {if how == "everywhere" { "You have signed out on every device." } else { "You have signed out." }}
                        </p>
                    </Alert>
                })}
                <SignedInAlready />
                <div class="card stack">
                    <p>"Use the passkey you set up for this relay: your device will ask for its screen lock or your security key."</p>
                    {move || failure.get().map(|m| view! { <Alert kind="danger"><p id="login-error">{m}</p></Alert> })}
                    <div class="button-row">
                        <button type="button" class="button button--primary" id="sign-in" on:click=start disabled=move || working.get()>
                            {move || if working.get() { "Waiting for your passkey…" } else { "Sign in with a passkey" }}
                        </button>
                    </div>
                </div>
            </section>
            <Recover />
        </div>
    }
}

/// A note for someone who is signed in already, with the way to their pages.
#[component]
fn SignedInAlready() -> impl IntoView {
    let session = crate::session::use_session();
    move || {
        session.0.get().and_then(Result::ok).map(|me| {
            view! {
                <Alert kind="info">
                    <p id="signed-in-already">
                        {format!("You are signed in as {}. ", me.email)}
                        <a href=home_of(&me)>{if me.org.is_some() { "Open your dashboard" } else { "Open the operator pages" }}</a>
                    </p>
                </Alert>
            }
        })
    }
}

/// "Lost your passkey?": a new setup link by mail. The answer is the same
/// whether or not the address belongs to anyone.
#[component]
fn Recover() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let working = RwSignal::new(false);
    let answer = RwSignal::new(None::<Result<String, String>>);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let address = email.get_untracked().trim().to_string();
        if !address.contains('@') {
            answer.set(Some(Err("Enter the e-mail address you use with fxe.".into())));
            return;
        }
        working.set(true);
        leptos::task::spawn_local(async move {
            let result =
                http::call_empty("POST", "/auth/recover", Some(&RecoverRequest { email: address.clone() })).await;
            answer.set(Some(match result {
                Ok(()) => Ok(format!(
                    "If {address} belongs to an fxe account, a setup link is on its way. It works once, for 24 hours. Your existing passkeys keep working."
                )),
                Err(e) => Err(e.message),
            }));
            working.set(false);
        });
    };

    view! {
        <section class="card stack" aria-labelledby="recover-title">
            <h2 id="recover-title" class="h3">"Lost your passkey?"</h2>
            <p>"We can e-mail you a link to set up a new one."</p>
            <form class="stack" on:submit=submit>
                <TextField id="recover-email" label="Your e-mail address" value=email kind="email" autocomplete="email"
                    required=true />
                {move || answer.get().map(|a| match a {
                    Ok(m) => view! { <Alert kind="success"><p id="recover-sent">{m}</p></Alert> }.into_any(),
                    Err(m) => view! { <Alert kind="danger"><p>{m}</p></Alert> }.into_any(),
                })}
                <div class="button-row">
                    <button type="submit" class="button" id="recover" disabled=move || working.get()>"Send me a setup link"</button>
                </div>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::after_sign_in;
    use fxe_protocol::api::Me;

    #[test]
    fn next_stays_on_this_site() {
        let me = Me {
            user_id: "u".into(),
            email: "a@b.c".into(),
            role: "operator".into(),
            org: None,
            passkeys: vec![],
            notify_arrivals: false,
        };
        assert_eq!(after_sign_in(Some("/dashboard/keys".into()), &me), "/dashboard/keys");
        assert_eq!(after_sign_in(Some("//evil.example".into()), &me), "/operator");
        assert_eq!(after_sign_in(Some("https://evil.example".into()), &me), "/operator");
        assert_eq!(after_sign_in(None, &me), "/operator");
        for evil in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r//evil.example",
            "/\\evil.example",
            "/x\\..\\",
            " //evil.example",
            "/\u{0}/evil",
        ] {
            assert_eq!(after_sign_in(Some(evil.into()), &me), "/operator", "{evil:?}");
        }
        assert_eq!(
            after_sign_in(Some("/dashboard/messages?box=inbox&status=queued".into()), &me),
            "/dashboard/messages?box=inbox&status=queued"
        );
    }
}
