//! `/operator/orgs/{org_id}`: one member org as the operator sees it (from the
//! operator API's lists): its name and fingerprint, its numbers and their
//! states, how many members, passkeys and API keys it has (no passkey yet: the
//! redemption was left unfinished), the invite it redeemed, and disable/enable.

use fxe_protocol::api::{InviteInfo, Items, NumberClaim, NumberStatus, OperatorOrg};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::operator::{OperatorOnly, OrgToggle, state_badge};
use crate::{
    browser::http::{self, ApiFailure},
    components::{Alert, FailureLine, Fingerprint, Loading, Table, count, when, when_or_dash},
};

/// What the page shows of one org.
#[derive(Clone)]
struct OrgDetail {
    org: OperatorOrg,
    numbers: Vec<NumberClaim>,
    invites: Vec<InviteInfo>,
}

async fn load(org_id: String) -> Result<Option<OrgDetail>, ApiFailure> {
    let orgs: Items<OperatorOrg> = http::get("/operator/orgs").await?;
    let Some(org) = orgs.items.into_iter().find(|o| o.org_id == org_id) else { return Ok(None) };
    let numbers: Items<NumberClaim> = http::get("/operator/numbers").await?;
    let invites: Items<InviteInfo> = http::get("/operator/invites").await?;
    Ok(Some(OrgDetail {
        numbers: numbers.items.into_iter().filter(|n| n.org_id == org_id).collect(),
        invites: invites.items.into_iter().filter(|i| i.used_by_org_id.as_deref() == Some(org_id.as_str())).collect(),
        org,
    }))
}

#[component]
pub fn OperatorOrgPage() -> impl IntoView {
    let params = use_params_map();
    let org_id = move || params.read().get("org_id").unwrap_or_default();
    let next = format!("/operator/orgs/{}", org_id());
    view! {
        <Title text="Organization" />
        <OperatorOnly next children=move |_| view! { <OrgView org_id=org_id() /> }.into_any() />
    }
}

#[component]
fn OrgView(org_id: String) -> impl IntoView {
    let id = StoredValue::new(org_id);
    let detail = LocalResource::new(move || load(id.get_value()));
    let failure = RwSignal::new(None::<String>);
    view! {
        <p><a href="/operator">"← Operator"</a></p>
        <FailureLine failure />
        {move || match detail.get() {
            None => view! { <Loading label="Loading the organization…" /> }.into_any(),
            Some(Err(e)) => view! { <Alert kind="danger"><p>{e.message}</p></Alert> }.into_any(),
            Some(Ok(None)) => view! {
                <Alert kind="warning"><p id="org-missing">{format!("No member organization has the id {}.", id.get_value())}</p></Alert>
            }.into_any(),
            Some(Ok(Some(d))) => view! {
                <OrgFacts detail=d failure on_change=Callback::new(move |()| detail.refetch()) />
            }.into_any(),
        }}
    }
}

#[component]
fn OrgFacts(detail: OrgDetail, failure: RwSignal<Option<String>>, on_change: Callback<()>) -> impl IntoView {
    let OrgDetail { org, numbers, invites } = detail;
    let status = if org.echo {
        "built-in echo".to_string()
    } else {
        org.disabled_at.as_ref().map_or("active".to_string(), |at| format!("disabled {}", when(at)))
    };
    let passkeys = if org.passkeys == 0 && !org.echo {
        view! { <span class="badge badge--warning" id="org-never-enrolled">"none: nobody has set up a passkey or signed in yet (redemption unfinished?)"</span> }.into_any()
    } else {
        view! { <span>{count(org.passkeys, "passkey", "passkeys")} " set up by its members"</span> }.into_any()
    };
    let number_rows = numbers
        .into_iter()
        .map(|n| {
            let state = match n.status {
                NumberStatus::Active => format!("active since {}", when_or_dash(&n.approved_at)),
                NumberStatus::Pending => "waiting for your approval".to_string(),
                NumberStatus::Denied => "denied".to_string(),
            };
            view! {
                <li data-number=n.number.clone() data-state=n.status.as_str()>
                    <strong class="mono">{n.number.clone()}</strong> " · " {state}
                    <span class="hint">{format!(" (claimed {})", when(&n.created_at))}</span>
                </li>
            }
        })
        .collect_view();
    let invite_rows = invites
        .into_iter()
        .map(|i| {
            view! {
                <tr data-invite=i.id.clone()>
                    <td><code>{i.id.clone()}</code></td>
                    <td>{state_badge(i.state)}</td>
                    <td>{when(&i.created_at)}</td>
                    <td>{when_or_dash(&i.used_at)}</td>
                    <td>{i.note.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card stack-sm" aria-labelledby="org-title" id="operator-org" data-org=org.org_id.clone()
            data-disabled=org.disabled_at.is_some().to_string()>
            <div class="row">
                <h1 id="org-title" class="h2">{org.org_name.clone()}</h1>
                {(!org.echo).then(|| view! { <OrgToggle org=org.clone() failure on_done=on_change /> })}
            </div>
            <dl class="facts">
                <dt>"Org id"</dt><dd><code id="org-id">{org.org_id.clone()}</code></dd>
                <dt>"Fingerprint"</dt><dd><Fingerprint value=org.fingerprint.clone() /></dd>
                <dt>"Joined"</dt><dd>{when(&org.created_at)}</dd>
                <dt>"Status"</dt><dd id="org-status">{status}</dd>
                <dt>"Members"</dt><dd id="org-members">{count(org.users, "member", "members")}</dd>
                <dt>"Passkeys"</dt><dd id="org-passkeys">{passkeys}</dd>
                <dt>"API keys"</dt><dd id="org-api-keys">{count(org.api_keys, "API key", "API keys")}</dd>
            </dl>
            <p class="hint">"Its keys.zip never reaches the relay, so whether the org saved it is not known here; its public keys were registered when it redeemed its invite."</p>
        </section>
        <section class="card stack-sm" aria-labelledby="org-numbers-title">
            <h2 id="org-numbers-title" class="h3">"Numbers"</h2>
            <ul class="plain-list" id="org-numbers">{number_rows}</ul>
        </section>
        <section class="card stack-sm" aria-labelledby="org-invites-title">
            <h2 id="org-invites-title" class="h3">"Invites"</h2>
            <Table id="org-invites" columns=&["Invite", "State", "Created", "Redeemed", "Note"]>{invite_rows}</Table>
        </section>
    }
}
