//! "Where this fax is": on the relay (until it is opened, refused or
//! expires) and/or in this browser's archive (sealed, until the person
//! removes it or the retention they chose ends).

use fxe_protocol::api::{Message, MessageStatus};
use leptos::prelude::*;

use super::opening::{Ctx, Opening};
use crate::{
    components::{Alert, ConfirmButton, unix_date, when},
    fax::archive,
    number,
};

const KEEP_CHOICES: &[(&str, &str)] =
    &[("", "until I remove them"), ("365", "1 year"), ("90", "90 days"), ("30", "30 days"), ("7", "7 days")];

#[component]
pub(super) fn WhereItIs(msg: Message, org_id: String, ctx: Ctx) -> impl IntoView {
    let org = StoredValue::new(org_id);
    let id = StoredValue::new(msg.message_id.clone());
    let problem = RwSignal::new(None::<String>);
    // When this browser stored it (ms), after forgetting what the retention says is too old.
    let stored_at = LocalResource::new(move || {
        ctx.archived.track();
        async move {
            archive::sweep(&org.get_value()).await?;
            Ok::<_, String>(archive::find(&org.get_value(), &id.get_value()).await?.map(|k| k.stored_at))
        }
    });
    let keep = RwSignal::new(archive::keep_days(&org.get_value()).map(|d| d.to_string()).unwrap_or_default());
    let set_keep = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        keep.set(value.clone());
        match archive::set_keep_days(&org.get_value(), value.parse().ok()) {
            Ok(()) => ctx.archived.update(|n| *n += 1),
            Err(m) => problem.set(Some(m)),
        }
    };
    let remove = Callback::new(move |()| {
        leptos::task::spawn_local(async move {
            match archive::remove(&org.get_value(), &id.get_value()).await {
                Ok(()) => {
                    if let Opening::Shown { url, .. } | Opening::NotPdf { url, .. } = ctx.opening.get_untracked() {
                        let _ = web_sys::Url::revoke_object_url(&url);
                        ctx.opening.set(Opening::Idle);
                    }
                    ctx.archived.update(|n| *n += 1);
                }
                Err(m) => problem.set(Some(m)),
            }
        });
    });
    let relay = match msg.status {
        MessageStatus::Queued => format!("On the relay, waiting to be opened (until {}).", when(&msg.expires_at)),
        MessageStatus::AwaitingUpload => "On its way to the relay.".to_string(),
        _ => "The relay has deleted its copy.".to_string(),
    };
    let state = move || match stored_at.get() {
        None => "checking",
        Some(Err(_)) => "unknown",
        Some(Ok(None)) => "none",
        Some(Ok(Some(_))) => "kept",
    };
    let browser = move || {
        match stored_at.get() {
        None => view! { <span>"Checking this browser…"</span> }.into_any(),
        Some(Err(m)) => view! { <span>{m}</span> }.into_any(),
        Some(Ok(None)) => view! { <span>"Not kept in this browser."</span> }.into_any(),
        Some(Ok(Some(at))) => view! {
            <span>{format!("Kept in this browser since {}, still sealed: only your keys.zip opens it.", unix_date(number::count(at / 1000.0)))}</span>
            " "
            <ConfirmButton id="remove-kept" label="Remove from this browser…"
                question="Remove this fax from this browser? Once the relay has deleted its copy, nobody can open it again here."
                yes="Yes, remove" on_yes=remove />
        }.into_any(),
    }
    };
    view! {
        <section class="card stack-sm" aria-labelledby="where-title" id="fax-location"
            data-browser=state>
            <h2 id="where-title" class="h4">"Where this fax is"</h2>
            <p id="fax-on-relay">{relay}</p>
            <p id="fax-in-browser">{browser}</p>
            <p class="hint">
                <label for="keep-days">"This browser keeps received faxes "</label>
                <select id="keep-days" on:change=set_keep prop:value=move || keep.get()>
                    {KEEP_CHOICES.iter().map(|(v, t)| view! { <option value=*v>{*t}</option> }).collect_view()}
                </select>
            </p>
            {move || problem.get().map(|m| view! { <Alert kind="danger"><p>{m}</p></Alert> })}
        </section>
    }
}
