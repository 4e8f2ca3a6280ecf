//! "Proof of delivery" on a delivered or refused fax's page: downloads a
//! `.fxeproof` (docs/proof.md), with the document's content key if the person
//! chooses it, and links to `/verify`, where anyone checks one offline.

use fxe_protocol::{api::Message, envelope::Envelope};
use leptos::prelude::*;

use super::opening::Ctx;
use crate::{
    browser::files,
    components::{Alert, CheckBox, UnlockKeys},
    proofs::{self, DISCLOSURE},
};

#[component]
pub(super) fn ProofSection(
    msg: Message, env: Envelope, org_id: String, incoming: bool, ctx: Ctx,
    /// The page shows no keys panel elsewhere: the recipient unlocks its keys here to disclose the content key.
    #[prop(into)]
    unlock_here: Signal<bool>,
) -> impl IntoView {
    let refused = msg.refusal.is_some();
    let with_document = RwSignal::new(false);
    let working = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<String, String>>);
    // The sender can disclose the content key only if this browser kept it when it sent the fax.
    let sender_kept = incoming || proofs::sent_keys::find(&org_id, &env).is_some();
    let (msg, env, org) = (StoredValue::new(msg), StoredValue::new(env), StoredValue::new(org_id));
    let download = move |_| {
        working.set(true);
        result.set(None);
        leptos::task::spawn_local(async move {
            let (msg, env, me) = (msg.get_value(), env.get_value(), org.get_value());
            let done = async {
                let cek =
                    if with_document.get_untracked() { Some(proofs::content_key(ctx.vault, &me, &env)?) } else { None };
                let (p, _) = proofs::build(&me, &msg, &env, cek.as_deref()).await?;
                let json = p.to_json();
                let name = proofs::file_name(&msg.message_id);
                files::save(json.as_bytes(), &name, "application/vnd.fxe.proof+json")?;
                Ok::<_, String>(format!(
                    "Saved {name} ({} bytes){}.",
                    json.len(),
                    if cek.is_some() { ", with the document's key" } else { "" }
                ))
            };
            result.set(Some(done.await));
            working.set(false);
        });
    };
    let what = if refused { "refused" } else { "received" };
    let available = format!(
        "Proof available: a .fxeproof shows anyone, offline and without the relay, that the recipient's key signed that it {what} this fax."
    );
    let no_key = (!sender_kept).then(|| view! {
        <p class="hint" id="proof-no-key">"This browser did not keep this fax's content key (it was sent from another browser, or this site's data was cleared): the proof can show that the fax was "{what}", not which document."</p>
    });
    view! {
        <section class="card stack-sm" aria-labelledby="proof-title" id="proof">
            <h2 id="proof-title" class="h4">{if refused { "Proof of refusal" } else { "Proof of delivery" }}</h2>
            <p id="proof-available">{available}</p>
            <p>
                <CheckBox id="proof-with-document" checked=with_document disabled=!sender_kept
                    text="With the document: the proof can then show which PDF it was" />
            </p>
            {move || with_document.get().then(|| view! { <p class="hint" id="proof-disclosure">{DISCLOSURE}</p> })}
            {no_key}
            {move || (unlock_here.get() && with_document.get()).then(|| view! { <UnlockKeys org_id=org.get_value() /> })}
            <div class="button-row">
                <button type="button" class="button" id="download-proof" disabled=move || working.get()
                    on:click=download>"Download proof"</button>
            </div>
            {move || result.get().map(|r| match r {
                Ok(m) => view! { <Alert kind="success"><p id="proof-saved">{m}</p></Alert> }.into_any(),
                Err(m) => view! { <Alert kind="danger"><p id="proof-error">{m}</p></Alert> }.into_any(),
            })}
            <p class="hint">"Anyone can check a proof on the relay's "<a href="/verify" id="verify-link">"/verify"</a>" page, without signing in, or with "<code>"fxe-client proof verify"</code>"."</p>
        </section>
    }
}
