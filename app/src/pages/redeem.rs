//! `/redeem?token=…`: an org joins the relay. Its keys are made here, in the
//! browser, by `fxe-protocol`; the relay receives only public keys and
//! signatures. keys.zip is then offered, and the admin's passkey set-up waits
//! until it has been saved once.

use fxe_protocol::{
    api::RedeemResponse,
    e164, keyszip,
    redeem::{RedeemInput, prepare},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use zeroize::Zeroizing;

use crate::{
    browser::{files, http},
    components::{Alert, Fingerprint},
};

/// A passphrase for keys.zip must be at least this long.
const MIN_PASSPHRASE: usize = 10;

/// The org's numbers as typed (commas, spaces or new lines between them),
/// normalised to E.164; `None` while nothing is typed.
fn parse_numbers(raw: &str) -> Option<Result<Vec<String>, String>> {
    let joined = raw.replace(['\n', ';'], ",");
    if joined.trim_matches([',', ' ']).is_empty() {
        return None;
    }
    Some(e164::normalize_list(&joined).map_err(|e| e.to_string()))
}

/// The token itself, also when the whole link was pasted.
fn token_of(s: &str) -> String {
    let s = s.trim();
    match s.split_once("token=") {
        Some((_, rest)) => rest.split('&').next().unwrap_or(rest).to_owned(),
        None => s.to_owned(),
    }
}

/// A redeemed org, with its keys.zip waiting to be saved.
#[derive(Clone)]
struct Redeemed {
    org_name: String,
    org_id: String,
    fingerprint: String,
    numbers: Vec<String>,
    setup_url: String,
    protected: bool,
}

#[component]
pub fn RedeemPage() -> impl IntoView {
    let query = use_query_map();
    let token = RwSignal::new(query.read_untracked().get("token").unwrap_or_default());
    let org_name = RwSignal::new(String::new());
    let numbers = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let protect = RwSignal::new(false);
    let passphrase = RwSignal::new(String::new());
    let passphrase_again = RwSignal::new(String::new());

    let working = RwSignal::new(None::<&'static str>);
    let failure = RwSignal::new(None::<String>);
    let redeemed = RwSignal::new(None::<Redeemed>);
    // The keys.zip bytes stay in this tab only, until it is closed.
    let zip = StoredValue::new_local(None::<Zeroizing<Vec<u8>>>);
    let saved = RwSignal::new(false);

    let numbers_check = Memo::new(move |_| parse_numbers(&numbers.get()));

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if working.get_untracked().is_some() {
            return;
        }
        failure.set(None);
        let token = token_of(&token.get_untracked());
        let org_name = org_name.get_untracked().trim().to_string();
        let email = email.get_untracked().trim().to_string();
        let problem = if token.is_empty() {
            Some("Paste the invite token (or the whole invite link).".to_string())
        } else if org_name.is_empty() {
            Some("Enter your organisation's name as other members should see it.".to_string())
        } else if !email.contains('@') {
            Some("Enter the admin's e-mail address.".to_string())
        } else {
            match numbers_check.get_untracked() {
                None => Some("Enter at least one fax number.".to_string()),
                Some(Err(e)) => Some(format!("Fax numbers: {e}")),
                Some(Ok(_)) => None,
            }
        };
        let passphrase = protect.get_untracked().then(|| Zeroizing::new(passphrase.get_untracked()));
        let problem = problem.or_else(|| match &passphrase {
            Some(p) if p.chars().count() < MIN_PASSPHRASE => {
                Some(format!("The passphrase must be at least {MIN_PASSPHRASE} characters long."))
            }
            Some(p) if **p != passphrase_again.get_untracked() => Some("The two passphrases differ.".to_string()),
            _ => None,
        });
        if let Some(problem) = problem {
            failure.set(Some(problem));
            return;
        }
        let Some(Ok(numbers)) = numbers_check.get_untracked() else { return };

        working.set(Some("Generating your keys in this browser…"));
        leptos::task::spawn_local(async move {
            files::yield_to_page().await;
            let relay_url = files::origin();
            let made = prepare(&RedeemInput {
                token: &token,
                org_name: &org_name,
                numbers: &numbers,
                admin_email: &email,
                relay_url: &relay_url,
                now: files::now_secs(),
                api_key_label: "web redeem",
            })
            .and_then(|r| {
                let bytes = keyszip::write(&r.keys, passphrase.as_deref().map(|p| p.as_str()))?;
                Ok((r, Zeroizing::new(bytes)))
            });
            let (redemption, bytes) = match made {
                Ok(made) => made,
                Err(e) => {
                    failure.set(Some(format!("The keys could not be made in this browser: {e}")));
                    working.set(None);
                    return;
                }
            };
            working.set(Some("Registering your organisation with the relay…"));
            match http::post::<RedeemResponse>("/invites/redeem", &redemption.request).await {
                Ok(answer) => {
                    zip.set_value(Some(bytes));
                    redeemed.set(Some(Redeemed {
                        org_name: answer.org.org_name,
                        org_id: redemption.keys.org_id.clone(),
                        fingerprint: redemption.keys.fingerprint(),
                        numbers: answer.org.numbers.iter().map(|n| n.number.clone()).collect(),
                        setup_url: answer.setup_url,
                        protected: passphrase.is_some(),
                    }));
                }
                Err(e) => failure.set(Some(e.message)),
            }
            working.set(None);
        });
    };

    // Leaving before keys.zip is saved loses the org's keys: the browser asks first.
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if redeemed.get_untracked().is_some() && !saved.get_untracked() {
                ev.prevent_default();
                ev.set_return_value("keys.zip has not been saved");
            }
        });
        on_cleanup(move || handle.remove());
    });

    let save = move |_| {
        zip.with_value(|bytes| {
            if let Some(bytes) = bytes {
                match files::save(bytes, "keys.zip", "application/zip") {
                    Ok(()) => saved.set(true),
                    Err(e) => failure.set(Some(e)),
                }
            }
        })
    };

    let form = move || {
        view! {
            <form class="card stack" on:submit=submit novalidate>
                <div class="field">
                    <label for="token">"Invite token"</label>
                    <input id="token" name="token" autocomplete="off" spellcheck="false" required
                        prop:value=move || token.get()
                        on:input=move |ev| token.set(event_target_value(&ev)) />
                    <p class="hint">"From the invite link the relay's operator sent you."</p>
                </div>
                <div class="field">
                    <label for="org-name">"Organisation name"</label>
                    <input id="org-name" name="org_name" autocomplete="organization" required maxlength="200"
                        prop:value=move || org_name.get()
                        on:input=move |ev| org_name.set(event_target_value(&ev)) />
                    <p class="hint">"Shown to the members you exchange faxes with."</p>
                </div>
                <div class="field">
                    <label for="numbers">"Fax numbers"</label>
                    <textarea id="numbers" name="numbers" rows="2" required spellcheck="false"
                        aria-describedby="numbers-hint numbers-check"
                        aria-invalid=move || if matches!(numbers_check.get(), Some(Err(_))) { "true" } else { "false" }
                        prop:value=move || numbers.get()
                        on:input=move |ev| numbers.set(event_target_value(&ev))></textarea>
                    <p class="hint" id="numbers-hint">
                        "International format with the country code, e.g. +1 555 123 4567. Separate several with commas or new lines."
                    </p>
                    <p id="numbers-check" aria-live="polite">
                        {move || match numbers_check.get() {
                            None => view! { <span></span> }.into_any(),
                            Some(Ok(list)) => view! {
                                <span class="field-ok">{format!("✓ {}", list.join(", "))}</span>
                            }.into_any(),
                            Some(Err(e)) => view! { <span class="field-error">{e}</span> }.into_any(),
                        }}
                    </p>
                </div>
                <div class="field">
                    <label for="email">"Admin's e-mail address"</label>
                    <input id="email" name="email" type="email" autocomplete="email" required
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev)) />
                    <p class="hint">"The first admin. They set up a passkey to sign in right after this step."</p>
                </div>
                <fieldset class="stack-sm">
                    <legend>"Protect keys.zip"</legend>
                    <label class="check">
                        <input type="checkbox" id="protect"
                            prop:checked=move || protect.get()
                            on:change=move |ev| protect.set(event_target_checked(&ev)) />
                        " Encrypt keys.zip with a passphrase (recommended if it is stored on shared drives)"
                    </label>
                    <div class="stack-sm" hidden=move || !protect.get()>
                        <div class="field">
                            <label for="passphrase">"Passphrase"</label>
                            <input id="passphrase" type="password" autocomplete="new-password"
                                prop:value=move || passphrase.get()
                                on:input=move |ev| passphrase.set(event_target_value(&ev)) />
                        </div>
                        <div class="field">
                            <label for="passphrase-again">"Passphrase again"</label>
                            <input id="passphrase-again" type="password" autocomplete="new-password"
                                prop:value=move || passphrase_again.get()
                                on:input=move |ev| passphrase_again.set(event_target_value(&ev)) />
                        </div>
                        <p class="hint">"Nobody can recover a forgotten passphrase, the relay included."</p>
                    </div>
                </fieldset>
                {move || failure.get().map(|m| view! { <Alert kind="danger"><p id="redeem-error">{m}</p></Alert> })}
                {move || working.get().map(|step| view! {
                    <p class="loading" role="status" aria-live="polite">
                        <span class="spinner" aria-hidden="true"></span>{step}
                    </p>
                })}
                <div class="button-row">
                    <button type="submit" class="button button--primary" id="redeem-submit"
                        disabled=move || working.get().is_some()>
                        "Generate keys & redeem"
                    </button>
                </div>
            </form>
        }
    };

    let done = move |r: Redeemed| {
        let setup_url = r.setup_url.clone();
        let registered = format!("{} is registered.", r.org_name);
        view! {
            <div class="stack">
                <Alert kind="success">
                    <p><strong>{registered}</strong></p>
                </Alert>
                <dl class="facts card">
                    <dt>"Organisation"</dt><dd>{r.org_name.clone()}</dd>
                    <dt>"Org id"</dt><dd><code id="org-id">{r.org_id.clone()}</code></dd>
                    <dt>"Fingerprint"</dt><dd><Fingerprint value=r.fingerprint.clone() /></dd>
                    <dt>"Fax numbers"</dt><dd>{r.numbers.join(", ")}</dd>
                </dl>
                <section class="card stack keys-warning" aria-labelledby="save-title">
                    <h2 id="save-title" class="h3">"Save keys.zip now"</h2>
                    <p>
                        "keys.zip holds your organisation's secret keys. They were made in this browser and "
                        <strong>"the relay does not have them and cannot make them again"</strong>
                        ". Without this file nobody can open the faxes sent to you or prove what you sent."
                    </p>
                    <p>
                        {if r.protected { "It is encrypted with your passphrase. " } else { "" }}
                        "Keep it offline and backed up, like the key to a records room."
                    </p>
                    <div class="button-row">
                        <button type="button" class="button button--primary" id="save-keys" on:click=save>
                            {move || if saved.get() { "Save keys.zip again" } else { "Save keys.zip" }}
                        </button>
                    </div>
                    {move || saved.get().then(|| view! {
                        <p class="field-ok" role="status">"✓ keys.zip was handed to your browser's downloads. Check that it is there before you go on."</p>
                    })}
                </section>
                <section class="card stack" aria-labelledby="next-title">
                    <h2 id="next-title" class="h3">"Next: the admin's passkey"</h2>
                    <p>"Signing in to fxe uses a passkey on this device (or a security key) instead of a password."</p>
                    {move || if saved.get() {
                        view! {
                            <a class="button button--primary" id="setup-passkey" href=setup_url.clone()>
                                "Set up passkey for admin login"
                            </a>
                        }.into_any()
                    } else {
                        view! {
                            <button type="button" class="button" id="setup-passkey" disabled=true aria-describedby="setup-hint">
                                "Set up passkey for admin login"
                            </button>
                            <p class="hint" id="setup-hint">"Save keys.zip first."</p>
                        }.into_any()
                    }}
                </section>
            </div>
        }
    };

    view! {
        <Title text="Redeem an invite" />
        <div class="container narrow stack">
            <h1>"Redeem an invite"</h1>
            <p class="lead">
                "Register your organisation. Its keys are made here, in your browser; the relay receives "
                "only the public halves."
            </p>
            {move || match redeemed.get() {
                None => form().into_any(),
                Some(r) => done(r).into_any(),
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_checked_while_typing() {
        assert_eq!(parse_numbers("  "), None);
        assert_eq!(
            parse_numbers("+1 555 123 0001\n+15551230002"),
            Some(Ok(vec!["+15551230001".into(), "+15551230002".into()]))
        );
        assert!(matches!(parse_numbers("555"), Some(Err(_))));
    }

    #[test]
    fn a_pasted_link_gives_its_token() {
        assert_eq!(token_of(" http://localhost:3000/redeem?token=abc&x=1 "), "abc");
        assert_eq!(token_of("abc"), "abc");
    }
}
