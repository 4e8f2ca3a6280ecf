//! `/dashboard/inbox` and `/dashboard/outbox`: the org's message log, newest
//! first, filtered by status and number, a page at a time. The first page
//! refreshes itself every few seconds, so new arrivals and receipts appear
//! without reloading.

use fxe_protocol::api::{Message, MessageStatus, Org, Page};
use fxe_protocol::e164::display;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    browser::{
        files,
        http::{self, ApiFailure},
    },
    components::{FailureLine, Field, PageFooter, Paged, sealed_size_text, when},
};

const PAGE: u32 = 50;
const REFRESH: std::time::Duration = std::time::Duration::from_secs(4);

/// A status in words, for people.
pub fn status_text(s: MessageStatus) -> &'static str {
    match s {
        MessageStatus::AwaitingUpload => "Uploading",
        MessageStatus::Queued => "Waiting to be opened",
        MessageStatus::Delivered => "Delivered",
        MessageStatus::Rejected => "Refused",
        MessageStatus::Expired => "Expired",
        MessageStatus::Failed => "Upload failed",
    }
}

/// A status badge.
#[component]
pub fn StatusBadge(status: MessageStatus) -> impl IntoView {
    view! { <span class=format!("badge badge--{}", status.as_str()) data-status=status.as_str()>{status_text(status)}</span> }
}

fn query(inbox: bool, status: &str, number: &str, cursor: Option<&str>) -> String {
    let mut q = format!("/messages?box={}&limit={PAGE}", if inbox { "inbox" } else { "outbox" });
    for (name, value) in [("status", status), ("number", number), ("cursor", cursor.unwrap_or(""))] {
        if !value.is_empty() {
            q.push_str(&format!("&{name}={}", http::segment(value)));
        }
    }
    q
}

#[component]
pub fn MessagesPage(inbox: bool) -> impl IntoView {
    let status = RwSignal::new(String::new());
    let number = RwSignal::new(String::new());
    let Paged { items, next, loading, failure } = Paged::<Message>::default();
    let org: LocalResource<Result<Org, ApiFailure>> = LocalResource::new(|| http::get("/org"));

    // `more`: the next page after the last one shown; otherwise the first page
    // (on a refresh, what is already shown below it stays).
    let load = move |more: bool, refresh: bool| {
        if !refresh {
            loading.set(true);
            failure.set(None);
        }
        let cursor = if more { next.get_untracked() } else { None };
        let path = query(inbox, &status.get_untracked(), &number.get_untracked(), cursor.as_deref());
        leptos::task::spawn_local(async move {
            match http::get::<Page<Message>>(&path).await {
                Ok(page) if more => {
                    items.update(|e| e.extend(page.items));
                    next.set(page.next_cursor);
                }
                Ok(page) if refresh && items.with_untracked(|i| i.len() > PAGE as usize) => {
                    items.update(|shown| {
                        let fresh: Vec<&str> = page.items.iter().map(|m| m.message_id.as_str()).collect();
                        let older: Vec<Message> =
                            shown.drain(..).filter(|m| !fresh.contains(&m.message_id.as_str())).collect();
                        *shown = page.items.clone();
                        shown.extend(older);
                    });
                }
                Ok(page) => {
                    items.set(page.items);
                    next.set(page.next_cursor);
                    failure.set(None);
                }
                Err(e) if refresh => {
                    if e.is_signed_out() {
                        failure.set(Some(e.message));
                    }
                }
                Err(e) => failure.set(Some(e.message)),
            }
            if !refresh {
                loading.set(false);
            }
        });
    };
    Effect::new(move |_| load(false, false));
    // Live refresh while the page is open.
    files::every(REFRESH, move || load(false, true));

    let (title, empty) =
        if inbox { ("Inbox", "No faxes have arrived yet.") } else { ("Outbox", "You have not sent a fax yet.") };
    view! {
        <Title text=title />
        <div class="stack">
            <nav class="tabs" aria-label="Message boxes">
                <A href="/dashboard/inbox">"Inbox"</A>
                <A href="/dashboard/outbox">"Outbox"</A>
            </nav>
            <form class="card filters" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); load(false, false) }>
                <Field id="filter-status" label="Status">
                    <select id="filter-status" prop:value=move || status.get()
                        on:change=move |ev| { status.set(event_target_value(&ev)); load(false, false) }>
                        <option value="">"Any"</option>
                        {MessageStatus::ALL.iter().map(|s| view! { <option value=s.as_str()>{status_text(*s)}</option> }).collect_view()}
                    </select>
                </Field>
                <Field id="filter-number" label="Number">
                    <select id="filter-number" prop:value=move || number.get()
                        on:change=move |ev| { number.set(event_target_value(&ev)); load(false, false) }>
                        <option value="">"Any of ours"</option>
                        {move || org.get().and_then(Result::ok).map(|o| o.numbers.into_iter().map(|n| {
                            let v = n.number.clone();
                            view! { <option value=v.clone()>{v.clone()}</option> }
                        }).collect_view())}
                    </select>
                </Field>
            </form>
            <FailureLine failure />
            <div class="table-wrap">
                <table class="table" id="messages" data-box=if inbox { "inbox" } else { "outbox" }>
                    <thead><tr>
                        <th scope="col">"When"</th>
                        <th scope="col">{if inbox { "From" } else { "To" }}</th>
                        <th scope="col">{if inbox { "To" } else { "From" }}</th>
                        <th scope="col">"Status"</th><th scope="col">"Size"</th>
                    </tr></thead>
                    <tbody>
                        <For each=move || items.get() key=|m| (m.message_id.clone(), m.status.as_str()) let:m>
                            <tr data-message=m.message_id.clone() class:unread=inbox && m.status == MessageStatus::Queued>
                                <td><A href=format!("/dashboard/messages/{}", m.message_id)>{when(&m.created_at)}</A></td>
                                <td>
                                    {display(if inbox { &m.from_number } else { &m.to_number })}
                                    {(inbox && !m.from_name.is_empty()).then(|| view! { <br /><span class="hint">{m.from_name.clone()}</span> })}
                                </td>
                                <td>{display(if inbox { &m.to_number } else { &m.from_number })}</td>
                                <td><StatusBadge status=m.status /></td>
                                <td class="fax-size">{sealed_size_text(m.ciphertext_len)}</td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </div>
            <PageFooter loading next is_empty=Signal::derive(move || items.with(Vec::is_empty))
                loading_label="Loading faxes…" older="Older faxes" older_id="older-messages"
                on_older=move |()| load(true, false) empty empty_id="no-messages" />
        </div>
    }
}
