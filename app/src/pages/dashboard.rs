//! `/dashboard…`: a signed-in org member's pages. The shell shows the org and
//! its fingerprint and the sections; the overview holds the member's account
//! and passkeys. (The server sends signed-out visits to `/login` before the
//! page renders: [`crate`] is never asked to draw a private page for nobody.)

use fxe_protocol::api::{Me, NumberStatus, PasskeyInfo};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Outlet},
    hooks::use_params_map,
};

use crate::{
    browser::{files, http},
    components::{
        Alert, ArrivalSettings, ConfirmButton, Failure, Fingerprint, InboxCount, Loading, LogMonitor, TextField, count,
        loaded, when, when_or_dash,
    },
    pages::{
        audit::AuditPage, keys::KeysPage, messages::MessagesPage, not_found::NotFound, numbers::NumbersPage,
        send::SendPage, setup::enrol, team::TeamPage, webhooks::WebhooksPage,
    },
    session::use_session,
    vault::Vault,
};

/// The dashboard's sections in the navigation: path segment, name, and
/// whether only admins see it. (The outbox is a tab of the inbox.)
const SECTIONS: [(&str, &str, bool); 7] = [
    ("inbox", "Inbox", false),
    ("send", "Send", false),
    ("keys", "Keys", true),
    ("numbers", "Numbers", true),
    ("webhooks", "Webhooks", true),
    ("team", "Team", true),
    ("audit", "Audit", true),
];

fn is_admin(me: &Me) -> bool {
    me.role == "admin"
}

#[component]
pub fn DashboardShell() -> impl IntoView {
    let session = use_session();
    // Keys unlocked on any dashboard page stay unlocked while the tab moves between them.
    Vault::provide();
    move || match session.0.get() {
        None => view! { <div class="container"><Loading label="Opening your dashboard…" /></div> }.into_any(),
        Some(Err(e)) if e.is_signed_out() => {
            files::go("/login?next=/dashboard");
            view! { <div class="container"><Loading label="Your session has ended. Opening the sign-in page…" /></div> }
                .into_any()
        }
        Some(Err(e)) => view! { <div class="container"><Failure failure=e /></div> }.into_any(),
        Some(Ok(me)) => {
            let Some(org) = me.org.clone() else {
                files::go("/operator");
                return view! { <div class="container"><Loading label="Opening the operator pages…" /></div> }
                    .into_any();
            };
            let admin = is_admin(&me);
            view! {
                <div class="container dashboard">
                    <header class="org-banner">
                        <div>
                            <p class="eyebrow">"Your organization"</p>
                            <h1 class="h2" id="org-name">{org.org_name.clone()}</h1>
                        </div>
                        <div class="org-banner__fingerprint">
                            <span class="hint">"Fingerprint"</span>
                            <Fingerprint value=org.fingerprint.clone() />
                        </div>
                    </header>
                    <LogMonitor org_id=org.org_id.clone() />
                    <nav class="dashboard-nav" aria-label="Dashboard">
                        <A href="/dashboard" exact=true>"Overview"</A>
                        {SECTIONS
                            .iter()
                            .filter(|(_, _, admin_only)| admin || !admin_only)
                            .map(|(path, name, _)| {
                                let count = (*path == "inbox").then(|| view! { <InboxCount /> });
                                view! { <A href=format!("/dashboard/{path}")>{*name}{count}</A> }
                            })
                            .collect_view()}
                    </nav>
                    <div class="dashboard-body">
                        <Outlet />
                    </div>
                </div>
            }
            .into_any()
        }
    }
}

/// `/dashboard`: the member's account and passkeys.
#[component]
pub fn DashboardHome() -> impl IntoView {
    let session = use_session();
    view! {
        <Title text="Dashboard" />
        {move || session.0.get().and_then(Result::ok).map(|me| view! {
            <div class="stack">
                <OrgSummary />
                <section class="card stack-sm" aria-labelledby="account-title">
                    <h2 id="account-title" class="h3">"Your account"</h2>
                    <dl class="facts">
                        <dt>"E-mail"</dt><dd id="account-email">{me.email.clone()}</dd>
                        <dt>"Role"</dt>
                        <dd>{if is_admin(&me) { "Admin: runs the org's keys, numbers, team and webhooks" } else { "User: sends and opens faxes" }}</dd>
                    </dl>
                </section>
                <ArrivalSettings me=me.clone() />
                <Passkeys passkeys=me.passkeys.clone() />
            </div>
        })}
    }
}

/// The org at a glance: numbers and message counts (`GET /org`).
#[component]
fn OrgSummary() -> impl IntoView {
    let org: LocalResource<Result<fxe_protocol::api::Org, http::ApiFailure>> = LocalResource::new(|| http::get("/org"));
    loaded(org, "Loading your organization…", |org| {
        let numbers = org
            .numbers
            .iter()
            .map(|n| {
                if n.status == NumberStatus::Active {
                    n.number.clone()
                } else {
                    format!("{} (waiting for approval)", n.number)
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let c = org.counts;
        view! {
            <section class="card" aria-labelledby="org-summary-title">
                <h2 id="org-summary-title" class="visually-hidden">"At a glance"</h2>
                <dl class="facts" id="org-summary">
                    <dt>"Fax numbers"</dt><dd>{if numbers.is_empty() { "none yet".to_string() } else { numbers }}</dd>
                    <dt>"Waiting in the inbox"</dt><dd>{c.inbox_queued}</dd>
                    <dt>"Received"</dt><dd>{c.messages_received}</dd>
                    <dt>"Sent"</dt><dd>{c.messages_sent}</dd>
                    <dt>"People"</dt><dd>{format!("{} · {}", count(c.users, "person", "people"), count(c.api_keys, "API key", "API keys"))}</dd>
                </dl>
            </section>
        }
    })
}

/// The signed-in user's passkeys: add another, remove one (not the last).
#[component]
fn Passkeys(passkeys: Vec<PasskeyInfo>) -> impl IntoView {
    let session = use_session();
    let label = RwSignal::new(String::new());
    let working = RwSignal::new(false);
    let message = RwSignal::new(None::<Result<String, String>>);
    let only_one = passkeys.len() <= 1;

    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        working.set(true);
        message.set(None);
        let name = label.get_untracked();
        leptos::task::spawn_local(async move {
            match enrol(None, name).await {
                Ok(_) => {
                    message.set(Some(Ok("Passkey added.".into())));
                    label.set(String::new());
                    session.0.refetch();
                }
                Err(m) => message.set(Some(Err(m))),
            }
            working.set(false);
        });
    };
    let remove = move |id: String, name: String| {
        leptos::task::spawn_local(async move {
            match http::call_empty("DELETE", &format!("/auth/passkeys/{}", http::segment(&id)), None::<&()>).await {
                Ok(()) => {
                    message.set(Some(Ok(format!("Removed \u{201c}{name}\u{201d}."))));
                    session.0.refetch();
                }
                Err(e) => message.set(Some(Err(e.message))),
            }
        });
    };

    view! {
        <section class="card stack" aria-labelledby="passkeys-title">
            <h2 id="passkeys-title" class="h3">"Your passkeys"</h2>
            <ul class="plain-list" id="passkey-list">
                {passkeys.into_iter().map(|p| {
                    let name = if p.label.is_empty() { "Passkey".to_string() } else { p.label.clone() };
                    let (id, shown) = (p.id.clone(), name.clone());
                    view! {
                        <li class="row">
                            <div>
                                <strong>{name}</strong>
                                <p class="hint">
                                    {format!("Added {} · last used {}", when(&p.created_at), when_or_dash(&p.last_used_at))}
                                </p>
                            </div>
                            <span title=if only_one { "Add another passkey before removing this one." } else { "" }>
                                <ConfirmButton id=format!("remove-passkey-{}", p.id) label="Remove" quiet=true disabled=only_one
                                    question=format!("Remove the passkey \u{201c}{}\u{201d}? It will no longer sign you in.", shown)
                                    yes="Yes, remove" on_yes=Callback::new(move |()| remove(id.clone(), shown.clone())) />
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <form class="stack-sm" on:submit=add>
                <TextField id="new-passkey-label" label="Add a passkey on another device or security key" value=label
                    maxlength=100 placeholder="Name, e.g. Backup security key" />
                <div class="button-row">
                    <button type="submit" class="button" disabled=move || working.get()>"Add passkey"</button>
                </div>
            </form>
            {move || message.get().map(|m| match m {
                Ok(t) => view! { <Alert kind="success"><p>{t}</p></Alert> }.into_any(),
                Err(t) => view! { <Alert kind="danger"><p>{t}</p></Alert> }.into_any(),
            })}
        </section>
    }
}

/// `/dashboard/{section}`.
#[component]
pub fn DashboardSection() -> impl IntoView {
    let params = use_params_map();
    let session = use_session();
    move || {
        let name = params.read().get("section").unwrap_or_default();
        if name == "outbox" {
            return view! { <MessagesPage inbox=false /> }.into_any();
        }
        let Some((_, title, admin_only)) = SECTIONS.iter().find(|(path, ..)| *path == name).copied() else {
            return view! { <NotFound /> }.into_any();
        };
        let me = session.0.get().and_then(Result::ok);
        if admin_only && !me.as_ref().is_some_and(is_admin) {
            return view! {
                <Title text=title />
                <Alert kind="warning"><p>"This page is for your organization's admins."</p></Alert>
            }
            .into_any();
        }
        match name.as_str() {
            "inbox" => view! { <MessagesPage inbox=true /> }.into_any(),
            "send" => view! { <SendPage /> }.into_any(),
            "team" => view! { <TeamPage /> }.into_any(),
            "numbers" => view! { <NumbersPage /> }.into_any(),
            "audit" => view! { <AuditPage /> }.into_any(),
            "keys" => view! { <KeysPage /> }.into_any(),
            _ => view! { <WebhooksPage /> }.into_any(),
        }
    }
}
