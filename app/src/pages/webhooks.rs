//! `/dashboard/webhooks` (admins): endpoints (create with an event picker;
//! the secret is shown once), their deliveries with every attempt, redeliver,
//! a test ping, secret rotation, enable/disable and delete.

use fxe_protocol::{
    api::{CreateWebhookRequest, DeliveryStatus, Page, UpdateWebhookRequest, WebhookDelivery, WebhookEndpoint},
    webhook::EVENT_TYPES,
};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    browser::http::{self, ApiFailure},
    components::{ConfirmButton, FailureLine, ShownOnce, TextField, loaded, when, when_or_dash},
};

type Endpoints = LocalResource<Result<Page<WebhookEndpoint>, ApiFailure>>;

/// A secret to show once: (endpoint id, secret).
type Shown = RwSignal<Option<(String, String)>>;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let endpoints: Endpoints = LocalResource::new(|| http::get("/webhooks?limit=100"));
    let secret: Shown = RwSignal::new(None);
    let failure = RwSignal::new(None::<String>);
    view! {
        <Title text="Webhooks" />
        <div class="stack">
            <CreateEndpoint endpoints secret />
            {move || secret.get().map(|(id, s)| view! {
                <ShownOnce id="webhook-secret" title=format!("The signing secret of {id}, shown only now:") value=s>
                    <p class="hint">"Your endpoint checks each delivery's signature with it (API.md, Webhooks)."</p>
                </ShownOnce>
            })}
            <FailureLine failure />
            {loaded(endpoints, "Loading endpoints…", move |value| match value {
                page if page.items.is_empty() => view! { <p class="muted">"No endpoints yet."</p> }.into_any(),
                page => page.items.into_iter().map(|e| view! { <Endpoint endpoint=e endpoints secret failure /> }).collect_view().into_any(),
            })}
        </div>
    }
}

#[component]
fn CreateEndpoint(endpoints: Endpoints, secret: Shown) -> impl IntoView {
    let url = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let events = RwSignal::new(vec!["message.received".to_string(), "message.delivered".to_string()]);
    let failure = RwSignal::new(None::<String>);
    let toggle = move |event: &'static str, on: bool| {
        events.update(|list| {
            list.retain(|x| x != event);
            if on {
                list.push(event.to_string());
            }
        })
    };
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        failure.set(None);
        let request = CreateWebhookRequest {
            url: url.get_untracked().trim().to_string(),
            events: events.get_untracked(),
            description: description.get_untracked().trim().to_string(),
        };
        leptos::task::spawn_local(async move {
            match http::post::<WebhookEndpoint>("/webhooks", &request).await {
                Ok(created) => {
                    secret.set(created.secret.clone().map(|s| (created.id.clone(), s)));
                    url.set(String::new());
                    description.set(String::new());
                    endpoints.refetch();
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    view! {
        <form class="card stack" on:submit=create aria-labelledby="new-webhook-title">
            <h2 id="new-webhook-title" class="h3">"Add an endpoint"</h2>
            <TextField id="webhook-url" label="URL" value=url kind="url" required=true
                placeholder="https://records.example.org/fxe-events"
                hint="https, on a public address. The relay signs every delivery and retries for a day." />
            <fieldset class="event-picker">
                <legend>"Events"</legend>
                {EVENT_TYPES.iter().map(|event| {
                    let event = *event;
                    view! {
                        <label class="check">
                            <input type="checkbox" value=event prop:checked=move || events.with(|l| l.iter().any(|x| x == event))
                                on:change=move |ev| toggle(event, event_target_checked(&ev)) />
                            <code>{event}</code>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <TextField id="webhook-description" label="Description (optional)" value=description maxlength=500 />
            <FailureLine failure />
            <div class="button-row"><button type="submit" class="button button--primary" id="create-webhook">"Add endpoint"</button></div>
        </form>
    }
}

#[component]
fn Endpoint(
    endpoint: WebhookEndpoint, endpoints: Endpoints, secret: Shown, failure: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = StoredValue::new(endpoint.id.clone());
    let deliveries: LocalResource<Result<Page<WebhookDelivery>, ApiFailure>> = LocalResource::new(move || async move {
        http::get(&format!("/webhooks/{}/deliveries?limit=20", http::segment(&id.get_value()))).await
    });
    let path = move |rest: &str| format!("/webhooks/{}{rest}", http::segment(&id.get_value()));
    let report = move |r: Result<(), ApiFailure>| match r {
        Ok(()) => failure.set(None),
        Err(e) => failure.set(Some(e.message)),
    };
    let ping = move |_| {
        leptos::task::spawn_local(async move {
            let r = http::call::<WebhookDelivery>("POST", &path("/test"), None::<&()>).await.map(|_| ());
            report(r);
            deliveries.refetch();
        })
    };
    let rotate = move |()| {
        leptos::task::spawn_local(async move {
            match http::call::<WebhookEndpoint>("POST", &path("/rotate-secret"), None::<&()>).await {
                Ok(e) => secret.set(e.secret.map(|s| (e.id, s))),
                Err(e) => failure.set(Some(e.message)),
            }
        })
    };
    let enabled = endpoint.enabled;
    let switch = move |_| {
        leptos::task::spawn_local(async move {
            let body = UpdateWebhookRequest { url: None, events: None, description: None, enabled: Some(!enabled) };
            report(http::call::<WebhookEndpoint>("PATCH", &path(""), Some(&body)).await.map(|_| ()));
            endpoints.refetch();
        })
    };
    let delete = move |()| {
        leptos::task::spawn_local(async move {
            report(http::call_empty("DELETE", &path(""), None::<&()>).await);
            endpoints.refetch();
        })
    };
    let redeliver = move |delivery: String| {
        leptos::task::spawn_local(async move {
            let r = http::call::<WebhookDelivery>(
                "POST",
                &format!("/deliveries/{}/redeliver", http::segment(&delivery)),
                None::<&()>,
            )
            .await;
            report(r.map(|_| ()));
            deliveries.refetch();
        })
    };

    view! {
        <section class="card stack-sm webhook" data-webhook=endpoint.id.clone()>
            <div class="row">
                <div>
                    <h2 class="h4"><code>{endpoint.url.clone()}</code></h2>
                    <p class="hint">{format!(
                        "{} · {} · added {}",
                        endpoint.id,
                        if endpoint.enabled { "enabled".to_string() } else { format!("disabled{}", endpoint.disabled_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()) },
                        when(&endpoint.created_at)
                    )}</p>
                    <p>{endpoint.events.join(", ")}</p>
                    {(!endpoint.description.is_empty()).then(|| view! { <p class="muted">{endpoint.description.clone()}</p> })}
                </div>
                <div class="button-row">
                    <button type="button" class="button" on:click=ping>"Send test ping"</button>
                    <ConfirmButton id=format!("rotate-{}", endpoint.id) label="Rotate secret" quiet=true
                        question="Rotate the signing secret? The old one keeps working for 24 hours while you switch."
                        yes="Yes, rotate" on_yes=Callback::new(rotate) />
                    <button type="button" class="button button--quiet" on:click=switch>{if enabled { "Disable" } else { "Enable" }}</button>
                    <ConfirmButton id=format!("delete-{}", endpoint.id) label="Delete" quiet=true
                        question="Delete this endpoint? Its pending deliveries stop." yes="Yes, delete"
                        on_yes=Callback::new(delete) />
                </div>
            </div>
            <div class="row">
                <h3 class="h4">"Recent deliveries"</h3>
                <button type="button" class="button button--quiet" on:click=move |_| deliveries.refetch()>"Refresh"</button>
            </div>
            {loaded(deliveries, "Loading deliveries…", move |value| match value {
                page if page.items.is_empty() => view! { <p class="muted">"None yet."</p> }.into_any(),
                page => view! {
                    <ul class="plain-list deliveries">
                        {page.items.into_iter().map(|d| {
                            let delivery = d.id.clone();
                            view! {
                                <li class="stack-sm delivery" data-delivery=d.id.clone() data-status=d.status.as_str()>
                                    <div class="row">
                                        <span><code>{d.event_type.clone()}</code>" "<span class=format!("badge badge--{}", match d.status { DeliveryStatus::Succeeded => "success", DeliveryStatus::Dead => "muted", DeliveryStatus::Pending => "info" })>{d.status.as_str()}</span></span>
                                        <span class="hint">{format!("created {} · next try {}", when(&d.created_at), when_or_dash(&d.next_attempt_at))}</span>
                                        <button type="button" class="button button--quiet" on:click=move |_| redeliver(delivery.clone())>"Redeliver"</button>
                                    </div>
                                    <ol class="attempts">
                                        {d.attempts.into_iter().map(|a| view! {
                                            <li>{format!(
                                                "{} · {} · {} ms{}",
                                                when(&a.at),
                                                a.status_code.map(|c| format!("HTTP {c}")).unwrap_or_else(|| "no answer".into()),
                                                a.latency_ms,
                                                a.error.map(|e| format!(" · {e}")).unwrap_or_default()
                                            )}</li>
                                        }).collect_view()}
                                    </ol>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            })}
        </section>
    }
}
