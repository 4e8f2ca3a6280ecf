//! `/dashboard/keys` (admins): the org's fingerprint and bundles, bundle
//! rotation (made in WASM, signed by the identity key; the new keys.zip must
//! be saved before the bundle is published), and API keys (made in WASM; the
//! secret is shown once).

use fxe_protocol::{
    api::{ApiKeyInfo, CreateApiKeyRequest, OrgBundle, Page, PublishBundleRequest},
    apikey::ApiKey,
    bundle::BundleKeys,
    encoding::b64u_encode,
    keyszip::{self, OrgKeys, StoredApiKey},
};
use leptos::prelude::*;
use leptos_meta::Title;
use zeroize::Zeroizing;

use fxe_protocol::transparency::TrustPolicy;

use crate::{
    browser::{
        files,
        http::{self, ApiFailure},
    },
    components::{
        Alert, ConfirmButton, FailureLine, Fingerprint, ShownOnce, Table, TextField, UnlockKeys, loaded, unix_date,
        when, when_or_dash,
    },
    fax::transparency::{self, LogCheck},
    session::use_session,
    vault::Vault,
};

#[component]
pub fn KeysPage() -> impl IntoView {
    let session = use_session();
    let org = move || session.0.get().and_then(Result::ok).and_then(|me| me.org);
    view! {
        <Title text="Keys" />
        {move || org().map(|org| view! {
            <div class="stack">
                <section class="card stack-sm" aria-labelledby="identity-title">
                    <h2 id="identity-title" class="h3">"Your organization's identity"</h2>
                    <dl class="facts">
                        <dt>"Fingerprint"</dt><dd><Fingerprint value=org.fingerprint.clone() /></dd>
                        <dt>"Org id"</dt><dd><code>{org.org_id.clone()}</code></dd>
                    </dl>
                    <p class="hint">"Other members check this fingerprint with you, by phone or in person, before they trust your faxes."</p>
                </section>
                <LogPolicy org_id=org.org_id.clone() />
                <UnlockKeys org_id=org.org_id.clone() />
                <StaffKeys />
                <Bundles org_id=org.org_id.clone() />
                <ApiKeys />
            </div>
        })}
    }
}

/// The relay's transparency log as this browser pinned it (docs/transparency.md §4.1): the
/// policy's fingerprint, to compare with the one the relay operator gave with the invite
/// (and `fxe-client log status` prints), its log and its witnesses.
#[component]
fn LogPolicy(org_id: String) -> impl IntoView {
    let pinned = RwSignal::new(None::<Result<Option<TrustPolicy>, String>>);
    let org = StoredValue::new(org_id);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let got = transparency::pinned_policy(&org.get_value()).await.map_err(|e| match e {
                LogCheck::Refused(m) | LogCheck::Storage(m) => m,
                LogCheck::Behind(e) => e.to_string(),
            });
            pinned.set(Some(got));
        });
    });
    view! {
        <section class="card stack-sm" aria-labelledby="log-policy-title" id="log-policy">
            <h2 id="log-policy-title" class="h3">"The relay's transparency log"</h2>
            {move || match pinned.get() {
                None => view! { <p class="hint">"Reading the log policy this browser pinned…"</p> }.into_any(),
                Some(Ok(None)) => view! {
                    <p>"This relay publishes no transparency log: only this browser's pins guard the keys it hands out."</p>
                }.into_any(),
                Some(Ok(Some(p))) => {
                    let witnesses = if p.witnesses.is_empty() {
                        "none: forks are caught only by members comparing what they saw".to_owned()
                    } else {
                        format!("{} of {} must cosign each checkpoint", p.quorum, p.witnesses.len())
                    };
                    view! {
                        <dl class="facts">
                            <dt>"Policy fingerprint"</dt>
                            <dd id="log-policy-fingerprint"><Fingerprint value=p.fingerprint() /></dd>
                            <dt>"Log"</dt><dd><code>{p.origin().unwrap_or_default()}</code></dd>
                            <dt>"Witnesses"</dt><dd>{witnesses}</dd>
                        </dl>
                        <p class="hint">"Every key this browser takes from the relay must be in this log. Compare the fingerprint with the one your relay operator gave you with the invite; if they differ, tell the operator before you send."</p>
                    }.into_any()
                }
                Some(Err(m)) => view! { <Alert kind="warning"><p>{m}</p></Alert> }.into_any(),
            }}
        </section>
    }
}

/// Saves the keys held in this tab as a new keys.zip (optionally protected).
fn save_keys(keys: &OrgKeys, passphrase: &str) -> Result<(), String> {
    save_as(keys, passphrase, "keys.zip")
}

fn save_as(keys: &OrgKeys, passphrase: &str, name: &str) -> Result<(), String> {
    let bytes = keyszip::write(keys, (!passphrase.is_empty()).then_some(passphrase)).map_err(|e| e.to_string())?;
    files::save(&Zeroizing::new(bytes), name, "application/zip")
}

/// "Staff keys.zip": a copy of the unlocked keys without the identity secret
/// and the API keys (`OrgKeys::staff`), for members who open, receipt and
/// send in the web app. Shown once keys are unlocked.
#[component]
fn StaffKeys() -> impl IntoView {
    let vault = Vault::get();
    let passphrase = RwSignal::new(String::new());
    let saved = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let save = move |_| {
        let pass = Zeroizing::new(passphrase.get_untracked());
        match vault.with(|keys| save_as(&keys.staff(), &pass, "staff-keys.zip")) {
            Some(Ok(())) => saved.set(true),
            Some(Err(m)) => failure.set(Some(m)),
            None => failure.set(Some("Unlock your keys first.".into())),
        }
    };
    move || {
        vault.unlocked().map(|_| view! {
        <section class="card stack-sm" aria-labelledby="staff-keys-title">
            <h2 id="staff-keys-title" class="h3">"Staff keys.zip"</h2>
            <p>
                "What your team needs to open faxes, sign their receipts and send: every bundle, "
                <strong>"without the identity secret"</strong>
                " (which rotates keys and registers API keys, and stays offline with the admins) and without API keys. "
                "Give it to each member with their sign-in link; after a rotation, give them the new one."
            </p>
            <TextField id="staff-passphrase" label="Passphrase for the staff keys.zip (optional, recommended)" value=passphrase
                kind="password" autocomplete="new-password" />
            <div class="button-row">
                <button type="button" class="button" id="staff-keys-save" on:click=save>"Save staff keys.zip"</button>
            </div>
            {move || saved.get().then(|| view! { <p class="field-ok" role="status">"✓ staff-keys.zip was handed to your browser's downloads."</p> })}
            <FailureLine failure />
        </section>
    })
    }
}

/// "Save the new keys.zip" with an optional passphrase; `saved` turns true.
/// `id` prefixes the element ids (`{id}-passphrase`, `{id}-save`).
#[component]
fn SaveNewKeys(saved: RwSignal<bool>, id: &'static str) -> impl IntoView {
    let vault = Vault::get();
    let passphrase = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<String>);
    let save = move |_| {
        let pass = Zeroizing::new(passphrase.get_untracked());
        match vault.with(|keys| save_keys(keys, &pass)) {
            Some(Ok(())) => saved.set(true),
            Some(Err(m)) => failure.set(Some(m)),
            None => failure.set(Some("The keys were locked; unlock them again.".into())),
        }
    };
    view! {
        <div class="stack-sm">
            <TextField id=format!("{id}-passphrase") label="Passphrase for the new keys.zip (optional)" value=passphrase
                kind="password" autocomplete="new-password" />
            <button type="button" class="button button--primary" id=format!("{id}-save") on:click=save>"Save the new keys.zip"</button>
            {move || saved.get().then(|| view! { <p class="field-ok" role="status">"✓ Saved. Replace every older copy of keys.zip with this one."</p> })}
            <FailureLine failure />
        </div>
    }
}

#[component]
fn Bundles(org_id: String) -> impl IntoView {
    let vault = Vault::get();
    let org_id = StoredValue::new(org_id);
    let bundles: LocalResource<Result<Vec<OrgBundle>, ApiFailure>> = LocalResource::new(move || async move {
        http::get::<fxe_protocol::api::OrgBundles>(&format!("/orgs/{}/bundles", org_id.get_value()))
            .await
            .map(|b| b.items)
    });
    // A prepared bundle waits here until the keys.zip holding it is saved (thread-safe storage: see redeem.rs).
    let prepared = StoredValue::new(None::<BundleKeys>);
    let stage = RwSignal::new(0_u8); // 0 idle, 1 prepared (save first), 2 published
    let saved = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);

    let prepare = move |_| {
        failure.set(None);
        let made = vault.with(|keys| -> Result<OrgKeys, String> {
            let identity = keys.identity().map_err(|_| {
                "These are machine keys: rotating needs the full keys.zip with the identity key.".to_string()
            })?;
            let bundle = BundleKeys::generate(identity, files::now_secs()).map_err(|e| e.to_string())?;
            prepared.set_value(Some(bundle.clone()));
            let mut next = keys.clone();
            next.bundles.push(bundle);
            Ok(next)
        });
        match made {
            Some(Ok(next)) => {
                vault.keep(next);
                saved.set(false);
                stage.set(1);
            }
            Some(Err(m)) => failure.set(Some(m)),
            None => failure.set(Some("Unlock your keys first.".into())),
        }
    };
    let publish = move |_| {
        let Some(bundle) = prepared.with_value(|b| b.as_ref().map(|b| b.bundle.clone())) else { return };
        leptos::task::spawn_local(async move {
            match http::post::<OrgBundle>("/bundles", &PublishBundleRequest { bundle }).await {
                Ok(_) => {
                    prepared.set_value(None);
                    stage.set(2);
                    bundles.refetch();
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };

    view! {
        <section class="card stack" aria-labelledby="bundles-title">
            <h2 id="bundles-title" class="h3">"Bundles"</h2>
            <p>"A bundle is the pair of keys others seal faxes to and your receipts are signed with. Rotating makes a new one; older bundles are kept in keys.zip so earlier faxes still open."</p>
            {loaded(bundles, "Loading bundles…", move |list| view! {
                    <ul class="plain-list" id="bundles">
                        {list.into_iter().rev().map(|b| view! {
                            <li class="row">
                                <code>{b.bundle.bundle_id.clone()}</code>
                                <span class="hint">{format!(
                                    "made {}{}",
                                    unix_date(b.bundle.created_at),
                                    match &b.retired_at { Some(at) => format!(" · retired {}", when(at)), None if b.active => " · active".into(), None => String::new() }
                                )}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }
            )}
            {move || match stage.get() {
                1 => view! {
                    <Alert kind="warning"><p>"A new bundle is ready in this tab. Save the new keys.zip first: once the bundle is published, faxes sealed to it open only with that file."</p></Alert>
                    <SaveNewKeys saved id="rotated-keys" />
                    <button type="button" class="button button--primary" id="publish-bundle" disabled=move || !saved.get() on:click=publish>
                        "Publish the new bundle"
                    </button>
                }.into_any(),
                2 => view! { <Alert kind="success"><p id="bundle-published">"The new bundle is published and active."</p></Alert> }.into_any(),
                _ => view! {
                    <button type="button" class="button" id="rotate-bundle" disabled=move || vault.unlocked().is_none() on:click=prepare>
                        "Rotate bundle"
                    </button>
                    {move || vault.unlocked().is_none().then(|| view! { <p class="hint">"Unlock your keys to rotate."</p> })}
                }.into_any(),
            }}
            <FailureLine failure />
        </section>
    }
}

const SCOPES: [(&str, &str); 3] =
    [("send", "Send faxes"), ("receive", "Receive and open faxes"), ("admin", "Administer the org")];

#[component]
fn ApiKeys() -> impl IntoView {
    let vault = Vault::get();
    let keys: LocalResource<Result<Page<ApiKeyInfo>, ApiFailure>> =
        LocalResource::new(|| http::get("/api-keys?limit=500"));
    let label = RwSignal::new(String::new());
    let scopes = RwSignal::new(vec!["send".to_string(), "receive".to_string()]);
    let failure = RwSignal::new(None::<String>);
    let secret = RwSignal::new(None::<(String, String)>); // (key id, secret)
    let saved = RwSignal::new(false);

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        failure.set(None);
        let Some(org_id) = vault.unlocked().map(|u| u.org_id) else {
            failure.set(Some("Unlock your keys first: a new API key is added to keys.zip.".into()));
            return;
        };
        let chosen = scopes.get_untracked();
        let key = match ApiKey::generate() {
            Ok(k) => k,
            Err(e) => return failure.set(Some(e.to_string())),
        };
        let request = CreateApiKeyRequest {
            public_key: b64u_encode(&key.public()),
            scopes: chosen.clone(),
            label: label.get_untracked().trim().to_string(),
            proof: b64u_encode(&key.registration_proof(&org_id, &chosen)),
        };
        leptos::task::spawn_local(async move {
            match http::post::<ApiKeyInfo>("/api-keys", &request).await {
                Ok(info) => {
                    secret.set(Some((info.key_id.clone(), key.secret_string().to_string())));
                    let updated = vault.with(|k| {
                        let mut next = k.clone();
                        next.api_keys.push(StoredApiKey { key, scopes: chosen });
                        next
                    });
                    if let Some(next) = updated {
                        vault.keep(next);
                    }
                    saved.set(false);
                    label.set(String::new());
                    keys.refetch();
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    let revoke = move |id: String| {
        leptos::task::spawn_local(async move {
            match http::call_empty("DELETE", &format!("/api-keys/{}", http::segment(&id)), None::<&()>).await {
                Ok(()) => keys.refetch(),
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    let toggle = move |scope: &'static str, on: bool| {
        scopes.update(|s| {
            s.retain(|x| x != scope);
            if on {
                s.push(scope.to_string());
            }
        })
    };

    view! {
        <section class="card stack" aria-labelledby="api-keys-title">
            <h2 id="api-keys-title" class="h3">"API keys"</h2>
            <p>"For fax software and scripts (fxe-client, your own code). Each key is made in this browser; the relay keeps only its public half."</p>
            {loaded(keys, "Loading API keys…", move |page| view! {
                    <Table id="api-keys" columns=&["Key", "Scopes", "Created", "Last used"] actions=true>
                                {page.items.into_iter().map(|k| {
                                    let id = k.key_id.clone();
                                    view! {
                                        <tr data-key=k.key_id.clone()>
                                            <td><code>{k.key_id.clone()}</code><br /><span class="hint">{k.label.clone()}</span></td>
                                            <td>{k.scopes.join(", ")}</td>
                                            <td>{when(&k.created_at)}</td>
                                            <td>{when_or_dash(&k.last_used_at)}</td>
                                            <td>{match &k.revoked_at {
                                                Some(at) => view! { <span class="hint">{format!("revoked {}", when(at))}</span> }.into_any(),
                                                None => view! {
                                                    <ConfirmButton id=format!("revoke-{}", k.key_id) label="Revoke" quiet=true
                                                        question=format!("Revoke {}? Machines using it stop working at once.", k.key_id)
                                                        yes="Yes, revoke" on_yes=Callback::new(move |()| revoke(id.clone())) />
                                                }.into_any(),
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </Table>
                }
            )}
            <form class="stack-sm" on:submit=create>
                <TextField id="api-key-label" label="New key's label" value=label maxlength=100
                    placeholder="e.g. Fax server in records room" />
                <fieldset>
                    <legend>"Scopes"</legend>
                    {SCOPES.iter().map(|(scope, name)| {
                        let scope = *scope;
                        view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=move || scopes.with(|s| s.iter().any(|x| x == scope))
                                    on:change=move |ev| toggle(scope, event_target_checked(&ev)) />
                                {format!(" {name} ({scope})")}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <button type="submit" class="button" id="create-api-key" disabled=move || vault.unlocked().is_none()>"Create API key"</button>
            </form>
            {move || secret.get().map(|(id, s)| view! {
                <ShownOnce id="api-key-secret" title=format!("{id} is registered. Its secret is shown only now:") value=s>
                    <p>"It is also in the keys held by this tab; save keys.zip again to keep it there."</p>
                    <SaveNewKeys saved id="api-keys-zip" />
                </ShownOnce>
            })}
            <FailureLine failure />
        </section>
    }
}
