//! `/redeem?token=…`: an org joins the relay. Its keys are made here, in the
//! browser, by `fxe-protocol`; the relay receives only public keys and
//! signatures, and only after keys.zip has been saved: the registration is
//! kept in this tab (session storage, public data only) so that a reload
//! resumes it, and the relay accepts it again while the org is unused.

use fxe_protocol::{
    api::{RedeemRequest, RedeemResponse},
    e164, keyszip,
    redeem::{RedeemInput, prepare},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{
    browser::{
        files, http,
        storage::{self, Area},
    },
    components::{Alert, CheckBox, Field, FieldCheck, Fingerprint, Loading, TextField},
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

/// What the form sends, once every field checks out.
struct Application {
    token: String,
    org_name: String,
    email: String,
    numbers: Vec<String>,
    passphrase: Option<Zeroizing<String>>,
}

/// The form's fields checked in the order they are shown: the application,
/// or the first problem in words. `numbers` is [`parse_numbers`] of the
/// typed numbers; `passphrase` is `None` when keys.zip is not protected.
fn application(
    token: &str, org_name: &str, email: &str, numbers: Option<Result<Vec<String>, String>>,
    passphrase: Option<Zeroizing<String>>, passphrase_again: &str,
) -> Result<Application, String> {
    let token = token_of(token);
    let (org_name, email) = (org_name.trim().to_string(), email.trim().to_string());
    if token.is_empty() {
        return Err("Paste the invite token (or the whole invite link).".to_string());
    }
    if org_name.is_empty() {
        return Err("Enter your organization's name as other members should see it.".to_string());
    }
    if !email.contains('@') {
        return Err("Enter the admin's e-mail address.".to_string());
    }
    let numbers = match numbers {
        None => return Err("Enter at least one fax number.".to_string()),
        Some(Err(e)) => return Err(format!("Fax numbers: {e}")),
        Some(Ok(numbers)) => numbers,
    };
    match &passphrase {
        Some(p) if p.chars().count() < MIN_PASSPHRASE => {
            return Err(format!("The passphrase must be at least {MIN_PASSPHRASE} characters long."));
        }
        Some(p) if **p != passphrase_again => return Err("The two passphrases differ.".to_string()),
        _ => {}
    }
    Ok(Application { token, org_name, email, numbers, passphrase })
}

/// Keys made in this browser for an application, not yet registered: the
/// redeem request (public keys and signatures only) and what the page shows.
/// Kept in this tab's session storage from the moment keys.zip is saved, so a
/// reload resumes the registration instead of losing it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Pending {
    request: RedeemRequest,
    org_id: String,
    fingerprint: String,
    protected: bool,
}

/// The session-storage key of the [`Pending`] registration of this tab.
const PENDING_KEY: &str = "fxe-redeem-pending";

impl Pending {
    /// The registration this tab was in the middle of, if any.
    fn resumed() -> Option<Pending> {
        serde_json::from_str(&storage::get(Area::Tab, PENDING_KEY)?).ok()
    }

    /// Remembers it for this tab (before the relay is asked).
    fn keep(&self) -> Result<(), String> {
        let json = serde_json::to_string(self).map_err(|e| e.to_string())?;
        storage::set(Area::Tab, PENDING_KEY, &json)
    }

    fn forget() {
        storage::remove(Area::Tab, PENDING_KEY);
    }
}

/// Makes the org's keys in this browser: the registration to send once
/// keys.zip is saved, and keys.zip. Nothing is sent to the relay yet.
async fn make_keys(a: Application) -> Result<(Pending, Zeroizing<Vec<u8>>), String> {
    files::yield_to_page().await;
    let relay_url = files::origin();
    let (redemption, bytes) = prepare(&RedeemInput {
        token: &a.token,
        org_name: &a.org_name,
        numbers: &a.numbers,
        admin_email: &a.email,
        relay_url: &relay_url,
        now: files::now_secs(),
        api_key_label: "web redeem",
    })
    .and_then(|r| {
        let bytes = keyszip::write(&r.keys, a.passphrase.as_deref().map(|p| p.as_str()))?;
        Ok((r, Zeroizing::new(bytes)))
    })
    .map_err(|e| format!("The keys could not be made in this browser: {e}"))?;
    let pending = Pending {
        org_id: redemption.keys.org_id.clone(),
        fingerprint: redemption.keys.fingerprint(),
        request: redemption.request,
        protected: a.passphrase.is_some(),
    };
    Ok((pending, bytes))
}

/// Registers the org with the relay (`POST /invites/redeem`), remembering the
/// registration for this tab first. Sent again after an interruption, the
/// relay answers a new setup link while the org is unused (docs/api.md).
async fn register(p: &Pending) -> Result<Redeemed, String> {
    p.keep()?;
    let answer = http::post::<RedeemResponse>("/invites/redeem", &p.request).await.map_err(|e| e.message)?;
    Ok(Redeemed {
        org_name: answer.org.org_name,
        org_id: p.org_id.clone(),
        fingerprint: p.fingerprint.clone(),
        numbers: answer.org.numbers.iter().map(|n| n.number.clone()).collect(),
        setup_url: answer.setup_url,
        protected: p.protected,
    })
}

/// The keys.zip bytes of a redeemed org, kept in this tab only. Thread-safe storage, not `new_local`: server
/// rendering may drop the page's values on another thread than made them, and a local value panics then.
type KeysZip = StoredValue<Option<Zeroizing<Vec<u8>>>>;

#[component]
pub fn RedeemPage() -> impl IntoView {
    let pending = RwSignal::new(None::<Pending>);
    let redeemed = RwSignal::new(None::<Redeemed>);
    // The keys.zip bytes stay in this tab only, until it is closed.
    let zip: KeysZip = StoredValue::new(None);
    let saved = RwSignal::new(false);
    let resumed = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    // A registration this tab was in the middle of (a reload): keys.zip was saved.
    Effect::new(move |_| {
        if let Some(p) = Pending::resumed() {
            pending.set(Some(p));
            saved.set(true);
            resumed.set(true);
        }
    });
    ask_before_leaving_unsaved(pending, saved);

    view! {
        <Title text="Redeem an invite" />
        <div class="container narrow stack">
            <h1>"Redeem an invite"</h1>
            <p class="lead">
                "Register your organization. Its keys are made here, in your browser; the relay receives "
                "only the public halves."
            </p>
            {move || match (redeemed.get(), pending.get()) {
                (Some(org), _) => view! { <RedeemDone org zip saved failure /> }.into_any(),
                (None, Some(p)) => view! { <SaveThenRegister p zip saved resumed redeemed pending failure /> }.into_any(),
                (None, None) => view! { <RedeemForm pending zip failure /> }.into_any(),
            }}
        </div>
    }
}

/// Leaving after the keys were made but before keys.zip is saved loses them
/// (nothing was registered yet): the browser asks first.
fn ask_before_leaving_unsaved(pending: RwSignal<Option<Pending>>, saved: RwSignal<bool>) {
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if pending.get_untracked().is_some() && !saved.get_untracked() {
                ev.prevent_default();
                ev.set_return_value("keys.zip has not been saved");
            }
        });
        on_cleanup(move || handle.remove());
    });
}

/// Step 2: keys.zip saved first, then the org registered. Resumed after a
/// reload, it offers to finish the registration (or start over).
#[component]
fn SaveThenRegister(
    p: Pending, zip: KeysZip, saved: RwSignal<bool>, resumed: RwSignal<bool>, redeemed: RwSignal<Option<Redeemed>>,
    pending: RwSignal<Option<Pending>>, failure: RwSignal<Option<String>>,
) -> impl IntoView {
    let working = RwSignal::new(false);
    let name = p.request.org_name.clone();
    let p = StoredValue::new(p);
    let go = move |_| {
        if working.get_untracked() || !saved.get_untracked() {
            return;
        }
        working.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            match register(&p.get_value()).await {
                Ok(org) => redeemed.set(Some(org)),
                Err(m) => failure.set(Some(m)),
            }
            working.set(false);
        });
    };
    let start_over = move |_| {
        Pending::forget();
        failure.set(None);
        saved.set(false);
        resumed.set(false);
        pending.set(None);
    };
    view! {
        <div class="stack">
            <dl class="facts card">
                <dt>"Organization"</dt><dd>{name.clone()}</dd>
                <dt>"Org id"</dt><dd><code id="org-id">{p.with_value(|p| p.org_id.clone())}</code></dd>
                <dt>"Fingerprint"</dt><dd><Fingerprint value=p.with_value(|p| p.fingerprint.clone()) /></dd>
            </dl>
            {move || if resumed.get() {
                let name = name.clone();
                view! {
                    <Alert kind="info">
                        <p id="redeem-resume">
                            "The registration of " <strong>{name}</strong>
                            " was interrupted. Its keys.zip was saved before anything was sent to the relay: "
                            "finish the registration to get the admin's passkey set-up link."
                        </p>
                    </Alert>
                }.into_any()
            } else {
                view! { <SaveKeysZip protected=p.with_value(|p| p.protected) zip saved failure /> }.into_any()
            }}
            <section class="card stack" aria-labelledby="register-title">
                <h2 id="register-title" class="h3">"Register with the relay"</h2>
                <p>"Your organization, its numbers and its public keys are sent to the relay only now, after keys.zip is saved."</p>
                {move || failure.get().map(|m| view! { <Alert kind="danger"><p id="redeem-error">{m}</p></Alert> })}
                {move || working.get().then(|| view! { <Loading label="Registering your organization with the relay…" /> })}
                <div class="button-row">
                    <button type="button" class="button button--primary" id="redeem-register"
                        disabled=move || working.get() || !saved.get() on:click=go>
                        {move || if resumed.get() { "Finish registering" } else { "Register" }}
                    </button>
                    {move || resumed.get().then(|| view! {
                        <button type="button" class="button" id="redeem-start-over" on:click=start_over>"Start over"</button>
                    })}
                </div>
                {move || (!saved.get()).then(|| view! { <p class="hint">"Save keys.zip first."</p> })}
            </section>
        </div>
    }
}

/// The invite form: token, org, numbers, admin, keys.zip's protection. Its
/// submission makes the keys and sets `pending` (and `zip`): nothing is sent
/// to the relay before keys.zip is saved. What goes wrong is set in `failure`.
#[component]
fn RedeemForm(pending: RwSignal<Option<Pending>>, zip: KeysZip, failure: RwSignal<Option<String>>) -> impl IntoView {
    let query = use_query_map();
    let token = RwSignal::new(query.read_untracked().get("token").unwrap_or_default());
    let org_name = RwSignal::new(String::new());
    let numbers = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let protect = RwSignal::new(false);
    let passphrase = RwSignal::new(String::new());
    let passphrase_again = RwSignal::new(String::new());
    let working = RwSignal::new(None::<&'static str>);
    let numbers_check = Memo::new(move |_| parse_numbers(&numbers.get()));

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if working.get_untracked().is_some() {
            return;
        }
        failure.set(None);
        let checked = application(
            &token.get_untracked(),
            &org_name.get_untracked(),
            &email.get_untracked(),
            numbers_check.get_untracked(),
            protect.get_untracked().then(|| Zeroizing::new(passphrase.get_untracked())),
            &passphrase_again.get_untracked(),
        );
        let application = match checked {
            Ok(a) => a,
            Err(problem) => return failure.set(Some(problem)),
        };
        working.set(Some("Generating your keys in this browser…"));
        leptos::task::spawn_local(async move {
            match make_keys(application).await {
                Ok((made, bytes)) => {
                    zip.set_value(Some(bytes));
                    pending.set(Some(made));
                }
                Err(m) => failure.set(Some(m)),
            }
            working.set(None);
        });
    };

    view! {
        <form class="card stack" on:submit=submit novalidate>
            <TextField id="token" name="token" label="Invite token" value=token autocomplete="off" spellcheck="false"
                required=true hint="From the invite link the relay's operator sent you." />
            <TextField id="org-name" name="org_name" label="Organization name" value=org_name autocomplete="organization"
                required=true maxlength=200 hint="Shown to the members you exchange faxes with." />
            <NumbersField numbers check=numbers_check />
            <TextField id="email" name="email" label="Admin's e-mail address" value=email kind="email"
                autocomplete="email" required=true
                hint="The first admin. They set up a passkey to sign in right after this step." />
            <ProtectKeysZip protect passphrase passphrase_again />
            {move || failure.get().map(|m| view! { <Alert kind="danger"><p id="redeem-error">{m}</p></Alert> })}
            {move || working.get().map(|step| view! { <Loading label=step /> })}
            <div class="button-row">
                <button type="submit" class="button button--primary" id="redeem-submit"
                    disabled=move || working.get().is_some()>
                    "Generate keys"
                </button>
            </div>
        </form>
    }
}

/// The org's fax numbers, checked while they are typed (`check`).
#[component]
fn NumbersField(numbers: RwSignal<String>, check: Memo<Option<Result<Vec<String>, String>>>) -> impl IntoView {
    view! {
        <Field id="numbers" label="Fax numbers">
            <textarea id="numbers" name="numbers" rows="2" required spellcheck="false"
                aria-describedby="numbers-hint numbers-check"
                aria-invalid=move || if matches!(check.get(), Some(Err(_))) { "true" } else { "false" }
                prop:value=move || numbers.get()
                on:input=move |ev| numbers.set(event_target_value(&ev))></textarea>
            <p class="hint" id="numbers-hint">
                "International format with the country code, e.g. +1 555 123 4567. Separate several with commas or new lines."
            </p>
            <FieldCheck id="numbers-check"
                check=Signal::derive(move || check.get().map(|list| list.map(|l| l.join(", ")))) />
        </Field>
    }
}

/// Whether keys.zip is encrypted, and with which passphrase (typed twice).
#[component]
fn ProtectKeysZip(
    protect: RwSignal<bool>, passphrase: RwSignal<String>, passphrase_again: RwSignal<String>,
) -> impl IntoView {
    view! {
        <fieldset class="stack-sm">
            <legend>"Protect keys.zip"</legend>
            <CheckBox id="protect" checked=protect
                text=" Encrypt keys.zip with a passphrase (recommended if it is stored on shared drives)" />
            <div class="stack-sm" hidden=move || !protect.get()>
                <TextField id="passphrase" label="Passphrase" value=passphrase kind="password"
                    autocomplete="new-password" />
                <TextField id="passphrase-again" label="Passphrase again" value=passphrase_again kind="password"
                    autocomplete="new-password" />
                <p class="hint">"Nobody can recover a forgotten passphrase, the relay included."</p>
            </div>
        </fieldset>
    }
}

/// The redeemed org: its facts, keys.zip to save, then the admin's passkey.
#[component]
fn RedeemDone(org: Redeemed, zip: KeysZip, saved: RwSignal<bool>, failure: RwSignal<Option<String>>) -> impl IntoView {
    let registered = format!("{} is registered.", org.org_name);
    view! {
        <div class="stack">
            <Alert kind="success">
                <p><strong>{registered}</strong></p>
            </Alert>
            <dl class="facts card">
                <dt>"Organization"</dt><dd>{org.org_name.clone()}</dd>
                <dt>"Org id"</dt><dd><code id="org-id">{org.org_id.clone()}</code></dd>
                <dt>"Fingerprint"</dt><dd><Fingerprint value=org.fingerprint.clone() /></dd>
                <dt>"Fax numbers"</dt><dd>{org.numbers.join(", ")}</dd>
            </dl>
            {zip.with_value(Option::is_some).then(|| view! { <SaveKeysZip protected=org.protected zip saved failure /> })}
            <PasskeyNext setup_url=org.setup_url saved />
        </div>
    }
}

/// "Save keys.zip now": the download, again as often as wanted; `saved`
/// once the browser took it, what went wrong in `failure`.
#[component]
fn SaveKeysZip(
    protected: bool, zip: KeysZip, saved: RwSignal<bool>, failure: RwSignal<Option<String>>,
) -> impl IntoView {
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
    view! {
        <section class="card stack keys-warning" aria-labelledby="save-title">
            <h2 id="save-title" class="h3">"Save keys.zip now"</h2>
            <p>
                "keys.zip holds your organization's secret keys. They were made in this browser and "
                <strong>"the relay does not have them and cannot make them again"</strong>
                ". Without this file nobody can open the faxes sent to you or prove what you sent."
            </p>
            <p>
                {if protected { "It is encrypted with your passphrase. " } else { "" }}
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
    }
}

/// "Next: the admin's passkey": the set-up link, usable once keys.zip is `saved`.
#[component]
fn PasskeyNext(setup_url: String, saved: RwSignal<bool>) -> impl IntoView {
    view! {
        <section class="card stack" aria-labelledby="next-title">
            <h2 id="next-title" class="h3">"Next: the admin's passkey"</h2>
            <p>"Signing in to fxe uses a passkey on this device (or a security key) instead of a password."</p>
            {move || if saved.get() {
                view! {
                    <a class="button button--primary" id="setup-passkey" href=setup_url.clone()
                        on:click=|_| Pending::forget()>
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
    fn the_first_problem_is_named() {
        let numbers = || Some(Ok(vec!["+15551230001".to_string()]));
        let pass = |p: &str| Some(Zeroizing::new(p.to_string()));
        let problem = |t, o, e, n, p, a| application(t, o, e, n, p, a).err();
        assert_eq!(
            problem("", "", "", None, None, ""),
            Some("Paste the invite token (or the whole invite link).".into())
        );
        assert!(problem("t", " ", "a@b", numbers(), None, "").is_some_and(|p| p.contains("organization's name")));
        assert!(problem("t", "Org", "ab", numbers(), None, "").is_some_and(|p| p.contains("e-mail")));
        assert_eq!(problem("t", "Org", "a@b", None, None, ""), Some("Enter at least one fax number.".into()));
        assert!(problem("t", "Org", "a@b", numbers(), pass("short"), "short").is_some_and(|p| p.contains("10")));
        assert_eq!(
            problem("t", "Org", "a@b", numbers(), pass("long enough!"), "long enough?"),
            Some("The two passphrases differ.".into())
        );
        let a = application("x?token=t&y", " Org ", " a@b ", numbers(), pass("long enough!"), "long enough!");
        assert!(a.is_ok_and(|a| a.token == "t" && a.org_name == "Org" && a.email == "a@b" && a.passphrase.is_some()));
    }

    #[test]
    fn a_pasted_link_gives_its_token() {
        assert_eq!(token_of(" http://localhost:3000/redeem?token=abc&x=1 "), "abc");
        assert_eq!(token_of("abc"), "abc");
    }
}
