//! `/dashboard/audit` (admins): the org's audit trail, newest first, filtered
//! by actor and action, a page at a time.

use fxe_protocol::api::{AuditEntry, Page};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    browser::http,
    components::{FailureLine, PageFooter, Paged, Table, TextField, when},
};

const PAGE: u32 = 50;

fn query(actor: &str, action: &str, cursor: Option<&str>) -> String {
    let mut q = format!("/audit?limit={PAGE}");
    for (name, value) in [("actor", actor.trim()), ("action", action.trim()), ("cursor", cursor.unwrap_or(""))] {
        if !value.is_empty() {
            q.push_str(&format!("&{name}={}", js_sys::encode_uri_component(value)));
        }
    }
    q
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let Paged { items: entries, next, loading, failure } = Paged::<AuditEntry>::default();

    let load = move |more: bool| {
        loading.set(true);
        failure.set(None);
        let cursor = if more { next.get_untracked() } else { None };
        let path = query(&actor.get_untracked(), &action.get_untracked(), cursor.as_deref());
        leptos::task::spawn_local(async move {
            match http::get::<Page<AuditEntry>>(&path).await {
                Ok(page) => {
                    if more {
                        entries.update(|e| e.extend(page.items));
                    } else {
                        entries.set(page.items);
                    }
                    next.set(page.next_cursor);
                }
                Err(e) => failure.set(Some(e.message)),
            }
            loading.set(false);
        });
    };
    Effect::new(move |_| load(false));

    view! {
        <Title text="Audit" />
        <div class="stack">
            <form class="card filters" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); load(false) }>
                <TextField id="audit-actor" label="Actor" value=actor
                    placeholder="e-mail, user or key id, or user / api_key / operator" />
                <TextField id="audit-action" label="Action" value=action placeholder="e.g. message.* or user.signed_in" />
                <div class="button-row"><button type="submit" class="button">"Filter"</button></div>
            </form>
            <FailureLine failure />
            <Table id="audit" columns=&["When", "Who", "What", "Target", "From"]>
                        <For each=move || entries.get() key=|e| e.id.clone() let:e>
                            <tr>
                                <td>{when(&e.at)}</td>
                                <td>{e.actor.label.clone().or(e.actor.id.clone()).unwrap_or_else(|| e.actor.kind.clone())}<br /><span class="hint">{e.actor.kind.clone()}</span></td>
                                <td><code>{e.action.clone()}</code></td>
                                <td class="mono">{e.target.clone().unwrap_or_default()}</td>
                                <td>{e.address.clone().unwrap_or_default()}</td>
                            </tr>
                        </For>
                    </Table>
            <PageFooter loading next is_empty=Signal::derive(move || entries.with(Vec::is_empty))
                loading_label="Loading the audit trail…" older="Older entries" on_older=move |()| load(true)
                empty="Nothing matches." end="That is the whole trail." />
        </div>
    }
}
