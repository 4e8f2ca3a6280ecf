//! `/operator`: the relay operator's page. Create an invite and copy its
//! link, list and revoke invites, list orgs and disable one, decide pending
//! number claims. The same actions as `fxe-server invite|org|number`.

use fxe_protocol::api::{CreateInviteRequest, InviteInfo, InviteState, Items, Me, NewInvite, NumberClaim, OperatorOrg};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    browser::{
        files,
        http::{self, ApiFailure},
    },
    components::{
        ConfirmButton, CopyButton, Failure, FailureLine, Field, FieldCheck, Fingerprint, Loading, Table, TextField,
        count, loaded, when, when_or_dash,
    },
    session::use_session,
};

/// Expiry choices for a new invite, in seconds.
const EXPIRIES: [(i64, &str); 4] =
    [(86_400, "1 day"), (7 * 86_400, "7 days"), (30 * 86_400, "30 days"), (90 * 86_400, "90 days")];

type Loaded<T> = LocalResource<Result<Items<T>, ApiFailure>>;

#[component]
pub fn OperatorPage() -> impl IntoView {
    view! {
        <Title text="Operator" />
        <OperatorOnly next="/operator".into() children=move |me: Me| view! {
            <header class="stack-sm">
                <p class="eyebrow">"Relay operator"</p>
                <h1>"Invites and member organizations"</h1>
                <p class="muted">{format!("Signed in as {}.", me.email)}</p>
            </header>
            <OperatorWork />
        }.into_any() />
    }
}

/// The operator pages' frame: `children` once an operator is signed in; otherwise off to
/// sign in (back to `next`) or to the dashboard of an org member.
#[component]
pub(crate) fn OperatorOnly(next: String, children: impl Fn(Me) -> AnyView + Send + Sync + 'static) -> impl IntoView {
    let session = use_session();
    view! {
        <div class="container stack-lg">
            {move || match session.0.get() {
                None => view! { <Loading label="Opening the operator pages…" /> }.into_any(),
                Some(Err(e)) if e.is_signed_out() => {
                    let next = url_encode(&next);
                    files::go(&format!("/login?next={next}"));
                    view! { <Loading label="Your session has ended. Opening the sign-in page…" /> }.into_any()
                }
                Some(Err(e)) => view! { <Failure failure=e /> }.into_any(),
                Some(Ok(me)) if me.org.is_some() => {
                    files::go("/dashboard");
                    view! { <Loading label="Opening your dashboard…" /> }.into_any()
                }
                Some(Ok(me)) => children(me),
            }}
        </div>
    }
}

fn url_encode(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

#[component]
fn OperatorWork() -> impl IntoView {
    let invites: Loaded<InviteInfo> = LocalResource::new(|| http::get("/operator/invites"));
    let orgs: Loaded<OperatorOrg> = LocalResource::new(|| http::get("/operator/orgs"));
    let pending: Loaded<NumberClaim> = LocalResource::new(|| http::get("/operator/numbers?pending=true"));
    view! {
        <CreateInvite on_created=move || invites.refetch() />
        <InviteList invites />
        <PendingNumbers pending on_change=move || { pending.refetch(); orgs.refetch(); } />
        <OrgList orgs />
    }
}

/// Posts an action (no body; the answer is not needed). On success clears
/// `failure` and runs `done`; otherwise says why in `failure`.
pub(crate) fn post_then(path: String, failure: RwSignal<Option<String>>, done: impl FnOnce() + 'static) {
    leptos::task::spawn_local(async move {
        match http::post_action(&path).await {
            Ok(()) => {
                failure.set(None);
                done();
            }
            Err(e) => failure.set(Some(e.message)),
        }
    });
}

/// Numbers as typed, comma- or line-separated; empty means any free numbers.
fn typed_numbers(raw: &str) -> Vec<String> {
    raw.split([',', '\n', ';']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

#[component]
fn CreateInvite(on_created: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let numbers = RwSignal::new(String::new());
    let expiry = RwSignal::new(7 * 86_400_i64);
    let note = RwSignal::new(String::new());
    let working = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let created = RwSignal::new(None::<NewInvite>);
    let numbers_check = Memo::new(move |_| {
        let list = typed_numbers(&numbers.get());
        if list.is_empty() {
            return None;
        }
        Some(fxe_protocol::e164::normalize_list(&list.join(",")).map_err(|e| e.to_string()))
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(Err(e)) = numbers_check.get_untracked() {
            failure.set(Some(format!("Numbers: {e}")));
            return;
        }
        working.set(true);
        failure.set(None);
        let request = CreateInviteRequest {
            numbers: typed_numbers(&numbers.get_untracked()),
            expires_in_secs: expiry.get_untracked(),
            note: note.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match http::post::<NewInvite>("/operator/invites", &request).await {
                Ok(invite) => {
                    created.set(Some(invite));
                    numbers.set(String::new());
                    note.set(String::new());
                    on_created();
                }
                Err(e) => failure.set(Some(e.message)),
            }
            working.set(false);
        });
    };

    view! {
        <section class="card stack" aria-labelledby="create-invite-title">
            <h2 id="create-invite-title" class="h3">"Create an invite"</h2>
            <form class="stack" on:submit=submit>
                <TextField id="invite-numbers" label="Fax numbers the org may claim (optional)" value=numbers
                    spellcheck="false" placeholder="+1 555 123 4567, +1 555 123 4568"
                    invalid=Signal::derive(move || matches!(numbers_check.get(), Some(Err(_))))
                    hint="Name numbers only after checking who controls them. Empty: the numbers the org names when it redeems (any free ones) are active at once; numbers it claims later wait for your approval.">
                    <FieldCheck check=Signal::derive(move || numbers_check.get().map(|list| list.map(|l| l.join(", ")))) />
                </TextField>
                <Field id="invite-expiry" label="Expires after">
                    <select id="invite-expiry" on:change=move |ev| {
                        if let Ok(secs) = event_target_value(&ev).parse() { expiry.set(secs) }
                    }>
                        {EXPIRIES.iter().map(|(secs, name)| view! {
                            <option value=secs.to_string() selected=*secs == 7 * 86_400>{*name}</option>
                        }).collect_view()}
                    </select>
                </Field>
                <TextField id="invite-note" label="Note (optional, only you see it)" value=note maxlength=500
                    placeholder="e.g. Riverside Clinic, asked by Dr. Lee" />
                <FailureLine failure />
                <div class="button-row">
                    <button type="submit" class="button button--primary" id="create-invite" disabled=move || working.get()>
                        "Create invite"
                    </button>
                </div>
            </form>
            {move || created.get().map(|invite| view! { <InviteLink invite title="Invite created." /> })}
        </section>
    }
}

/// A new invite's link, shown once (only its hash is kept): after creating an invite, or a new link for one.
#[component]
fn InviteLink(invite: NewInvite, title: &'static str) -> impl IntoView {
    view! {
        <div class="alert alert--success stack-sm" role="status" id="new-invite">
            <p><strong>{title}</strong>
                {format!(" It works once and expires {}. This is the only time this link is shown.", when(&invite.expires_at))}
            </p>
            <label for="invite-link">"Redeem link: send it to the organization over a channel you trust"</label>
            <div class="copy-field">
                <input id="invite-link" readonly prop:value=invite.redeem_url.clone() on:focus=move |ev| {
                    use wasm_bindgen::JsCast;
                    if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                        input.select();
                    }
                } />
                <CopyButton text=invite.redeem_url.clone() label="Copy link" />
            </div>
        </div>
    }
}

pub(crate) fn state_badge(state: InviteState) -> impl IntoView + use<> {
    let kind = match state {
        InviteState::Active => "success",
        InviteState::Used => "info",
        InviteState::Revoked | InviteState::Expired => "muted",
    };
    view! { <span class=format!("badge badge--{kind}")>{state.as_str()}</span> }
}

#[component]
fn InviteList(invites: Loaded<InviteInfo>) -> impl IntoView {
    let failure = RwSignal::new(None::<String>);
    let reissued = RwSignal::new(None::<NewInvite>);
    let new_link = move |id: String| {
        failure.set(None);
        leptos::task::spawn_local(async move {
            let path = format!("/operator/invites/{}/link", http::segment(&id));
            match http::call::<NewInvite>("POST", &path, None::<&()>).await {
                Ok(invite) => reissued.set(Some(invite)),
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    let revoke = move |id: String| {
        post_then(format!("/operator/invites/{}/revoke", http::segment(&id)), failure, move || invites.refetch());
    };
    view! {
        <section class="stack" aria-labelledby="invites-title">
            <h2 id="invites-title" class="h3">"Invites"</h2>
            <FailureLine failure />
            {move || reissued.get().map(|invite| view! {
                <InviteLink invite title="New link made; the invite's old link no longer works." />
            })}
            {loaded(invites, "Loading invites…", move |value| match value {
                list if list.items.is_empty() => view! { <p class="muted">"No invites yet."</p> }.into_any(),
                list => view! {
                    <Table id="invites" columns=&["Created", "State", "Numbers", "Expires", "Note"] actions=true>
                                {list.items.into_iter().rev().map(|i| {
                                    let id = i.id.clone();
                                    let link_id = i.id.clone();
                                    let active = i.state == InviteState::Active;
                                    view! {
                                        <tr data-invite=i.id.clone()>
                                            <td>{when(&i.created_at)}</td>
                                            <td>{state_badge(i.state)}</td>
                                            <td>{if i.numbers.is_empty() { "any free".to_string() } else { i.numbers.join(", ") }}</td>
                                            <td>{when(&i.expires_at)}</td>
                                            <td>{i.note.clone()}</td>
                                            <td>{active.then(|| view! {
                                                <div class="button-row">
                                                    <button type="button" class="button button--quiet new-link" title="The old link stops working"
                                                        on:click=move |_| new_link(link_id.clone())>"New link"</button>
                                                    <ConfirmButton id=format!("revoke-{}", i.id) label="Revoke" quiet=true
                                                        question="Revoke this invite? Its link will stop working." yes="Yes, revoke"
                                                        on_yes=Callback::new(move |()| revoke(id.clone())) />
                                                </div>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </Table>
                }.into_any(),
            })}
        </section>
    }
}

#[component]
fn PendingNumbers(pending: Loaded<NumberClaim>, on_change: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let failure = RwSignal::new(None::<String>);
    let decide = move |number: String, approve: bool| {
        let verb = if approve { "approve" } else { "deny" };
        post_then(format!("/operator/numbers/{}/{verb}", http::segment(&number)), failure, on_change);
    };
    view! {
        <section class="stack" aria-labelledby="pending-title">
            <h2 id="pending-title" class="h3">"Number claims waiting for you"</h2>
            <FailureLine failure />
            {loaded(pending, "Loading number claims…", move |value| match value {
                list if list.items.is_empty() => view! { <p class="muted">"None: every claimed number has been decided."</p> }.into_any(),
                list => view! {
                    <ul class="plain-list">
                        {list.items.into_iter().map(|n| {
                            let (a, d) = (n.number.clone(), n.number.clone());
                            view! {
                                <li class="row">
                                    <div>
                                        <strong>{n.number.clone()}</strong>
                                        <p class="hint">{format!("claimed by {} on {}", n.org_name, when(&n.created_at))}</p>
                                    </div>
                                    <div class="button-row">
                                        <button type="button" class="button" on:click=move |_| decide(a.clone(), true)>"Approve"</button>
                                        <ConfirmButton id=format!("deny-{}", n.number.trim_start_matches('+')) label="Deny" quiet=true
                                            question=format!("Deny the claim on {}?", n.number) yes="Yes, deny"
                                            on_yes=Callback::new(move |()| decide(d.clone(), false)) />
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            })}
        </section>
    }
}

#[component]
fn OrgList(orgs: Loaded<OperatorOrg>) -> impl IntoView {
    let failure = RwSignal::new(None::<String>);
    view! {
        <section class="stack" aria-labelledby="orgs-title">
            <h2 id="orgs-title" class="h3">"Member organizations"</h2>
            <FailureLine failure />
            {loaded(orgs, "Loading organizations…", move |list| view! {
                    <Table id="orgs" columns=&["Organization", "Fingerprint", "Numbers", "People", "Status"] actions=true>
                                {list.items.into_iter().map(|o| {
                                    let disabled = o.disabled_at.is_some();
                                    let numbers = o.numbers.iter().cloned()
                                        .chain(o.pending_numbers.iter().map(|n| format!("{n} (pending)")))
                                        .collect::<Vec<_>>().join(", ");
                                    view! {
                                        <tr data-org=o.org_id.clone()>
                                            <td><a href=format!("/operator/orgs/{}", o.org_id) class="org-link"><strong>{o.org_name.clone()}</strong></a><br /><span class="hint">{format!("since {}", when(&o.created_at))}</span></td>
                                            <td><Fingerprint value=o.fingerprint.clone() /></td>
                                            <td>{numbers}</td>
                                            <td>{format!("{}, {}", count(o.users, "user", "users"), count(o.api_keys, "API key", "API keys"))}
                                                {(!o.echo && o.passkeys == 0).then(|| view! {
                                                    <br /><span class="badge badge--warning never-enrolled">"no passkey set up yet: redemption unfinished?"</span>
                                                })}</td>
                                            <td>{if o.echo { "built-in echo".to_string() } else if disabled { format!("disabled {}", when_or_dash(&o.disabled_at)) } else { "active".to_string() }}</td>
                                            <td>{(!o.echo).then(|| view! {
                                                <OrgToggle org=o.clone() failure on_done=Callback::new(move |()| orgs.refetch()) />
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </Table>
                }
            )}
        </section>
    }
}

/// Disable (or enable again) an org, asked in the page first.
#[component]
pub(crate) fn OrgToggle(org: OperatorOrg, failure: RwSignal<Option<String>>, on_done: Callback<()>) -> impl IntoView {
    let disabled = org.disabled_at.is_some();
    let question = if disabled {
        format!("Enable {} again?", org.org_name)
    } else {
        format!(
            "Disable {}? Its keys and sessions stop working and its numbers leave the directory. Nothing is deleted.",
            org.org_name
        )
    };
    let org_id = org.org_id.clone();
    let on_yes = Callback::new(move |()| {
        let verb = if disabled { "enable" } else { "disable" };
        post_then(format!("/operator/orgs/{}/{verb}", http::segment(&org_id)), failure, move || on_done.run(()));
    });
    view! {
        <ConfirmButton id=format!("toggle-{}", org.org_id) quiet=true
            label=if disabled { "Enable" } else { "Disable" } question
            yes=if disabled { "Yes, enable" } else { "Yes, disable" } on_yes />
    }
}
