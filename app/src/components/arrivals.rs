//! Arrivals, noticed (docs/api.md, "Arrival notices"): how many faxes wait in
//! the inbox, beside "Inbox" in the dashboard's navigation, refreshed while the
//! tab is open, with a browser notification when the count grows; and the
//! member's own choices: a mail per arrival, notifications in this browser.

use fxe_protocol::api::{Me, MeUpdate, Message, Page};
use leptos::prelude::*;

use crate::browser::{
    files,
    http::{self, ApiFailure},
    notify::{self, Permission},
};
use crate::components::FailureLine;

/// How often the count is asked for.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(10);
/// The count stops at this many ("100+").
const COUNTED: usize = 100;

/// The waiting faxes' count for the "Inbox" link; empty while none wait.
#[component]
pub fn InboxCount() -> impl IntoView {
    let waiting = RwSignal::new(None::<usize>);
    let load = move || {
        leptos::task::spawn_local(async move {
            let path = format!("/messages?box=inbox&status=queued&limit={COUNTED}");
            // A failed refresh keeps the last count; the next one tries again.
            let Ok(page) = http::get::<Page<Message>>(&path).await else { return };
            let now = page.items.len();
            if let (Some(before), Some(newest)) = (waiting.get_untracked(), page.items.first())
                && now > before
            {
                let number = fxe_protocol::e164::display(&newest.to_number);
                notify::show("A fax arrived", &format!("A fax arrived for {number}."), "fxe-arrival");
            }
            waiting.set(Some(now));
        });
    };
    Effect::new(move |_| load());
    files::every(REFRESH, load);
    move || {
        waiting.get().filter(|n| *n > 0).map(|n| {
            let text = if n >= COUNTED { format!("{COUNTED}+") } else { n.to_string() };
            let label = if n == 1 { "1 fax waiting".to_owned() } else { format!("{text} faxes waiting") };
            view! { <span class="nav-count" id="inbox-count" data-count=n title=label.clone() aria-label=label>{text}</span> }
        })
    }
}

/// "Tell me when a fax arrives": the member's arrival mail and this browser's notifications.
#[component]
pub fn ArrivalSettings(me: Me) -> impl IntoView {
    let mailed = RwSignal::new(me.notify_arrivals);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let permission = RwSignal::new(Permission::Unsupported);
    Effect::new(move |_| permission.set(notify::permission()));
    let set_mail = move |on: bool| {
        busy.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            let update = MeUpdate { notify_arrivals: Some(on) };
            let answer: Result<Me, ApiFailure> = http::call("PATCH", "/auth/me", Some(&update)).await;
            match answer {
                Ok(me) => mailed.set(me.notify_arrivals),
                Err(e) => failure.set(Some(format!("Could not change it: {}", e.message))),
            }
            busy.set(false);
        });
    };
    let ask = move |_| {
        leptos::task::spawn_local(async move { permission.set(notify::request().await) });
    };
    view! {
        <section class="card stack-sm" aria-labelledby="arrivals-title">
            <h2 id="arrivals-title" class="h3">"When a fax arrives"</h2>
            <label class="check">
                <input type="checkbox" id="notify-arrivals" prop:checked=move || mailed.get()
                    prop:disabled=move || busy.get()
                    on:change=move |ev| set_mail(event_target_checked(&ev)) />
                {format!("E-mail me at {} when a fax arrives", me.email)}
            </label>
            <p class="hint">"The mail names the number the fax came to and nothing else: not the sender, not the content."</p>
            <FailureLine failure=failure />
            <p id="browser-notifications" data-permission=move || format!("{:?}", permission.get()).to_lowercase()>
                {move || match permission.get() {
                    Permission::Granted => view! { "This browser shows a notification while a dashboard tab is open." }.into_any(),
                    Permission::Denied => view! { "This browser blocks notifications from this relay; its site settings can allow them." }.into_any(),
                    Permission::Unsupported => view! { "This browser cannot show notifications." }.into_any(),
                    Permission::Ask => view! {
                        <button type="button" class="button" id="allow-notifications" on:click=ask>
                            "Notify me in this browser"
                        </button>
                    }.into_any(),
                }}
            </p>
        </section>
    }
}
