//! Refusing a fax: a signed refusal, only ever after the person confirms it
//! in the page. Offered on its own (policy, other), for a fax that failed
//! verification (`cannot_open`) and for one that is not a PDF (`not_a_pdf`).

use fxe_protocol::{
    api::Message,
    envelope::Envelope,
    receipt::{Refusal, RefusalReason},
};
use leptos::prelude::*;

use super::opening::{Ctx, Opening};
use crate::{
    browser::{files, http},
    components::ConfirmButton,
    fax::archive,
    vault::Vault,
};

const QUESTION: &str =
    "Refuse this fax? The sender is told, with your signature, and the relay deletes it. This cannot be taken back.";

/// Signs a refusal with the keys held in this tab and posts it.
async fn refuse(vault: Vault, env: &Envelope, reason: RefusalReason) -> Result<(), String> {
    let refusal: Refusal = vault
        .with(|k| Refusal::make(env, &k.bundles, files::now_secs(), reason))
        .ok_or("Your keys were locked. Unlock them first.")?
        .map_err(|e| format!("Cannot sign the refusal: {e}"))?;
    http::post::<Message>(&format!("/messages/{}/reject", http::segment(&env.message_id)), &refusal)
        .await
        .map_err(|f| f.message)?;
    Ok(())
}

/// Refuses `env` for `reason` and tells the page.
fn refuse_now(ctx: Ctx, env: Envelope, reason: RefusalReason) {
    leptos::task::spawn_local(async move {
        match refuse(ctx.vault, &env, reason).await {
            Ok(()) => {
                // Refused: not accepted, so not kept either (a copy kept before opening is forgotten).
                if archive::remove(&env.recipient_org_id, &env.message_id).await.is_ok() {
                    ctx.archived.update(|n| *n += 1);
                }
                ctx.opening.set(Opening::Refused(format!(
                    "Refused ({}). The sender sees your signed refusal.",
                    reason.as_str()
                )));
                ctx.refetch.run(());
            }
            Err(m) => ctx.opening.set(Opening::Failed(m)),
        }
    });
}

/// A confirmed refusal for one reason: button `#{id}`.
#[component]
pub(super) fn RefuseButton(
    id: &'static str, ctx: Ctx, env: StoredValue<Envelope>, reason: RefusalReason, #[prop(into)] label: String,
) -> impl IntoView {
    let on_yes = Callback::new(move |()| refuse_now(ctx, env.get_value(), reason));
    let locked = Signal::derive(move || ctx.vault.unlocked().is_none() || ctx.opening.get().busy());
    view! { <ConfirmButton id label question=QUESTION yes="Yes, refuse" on_yes disabled=locked /> }
}

/// "Refuse this fax instead": its reasons and a confirmed refusal, kept
/// apart from Open (at the bottom of the page, folded).
#[component]
pub(super) fn RefuseSection(ctx: Ctx, env: StoredValue<Envelope>) -> impl IntoView {
    let reason = RwSignal::new("policy".to_string());
    let on_yes = Callback::new(move |()| {
        let why = RefusalReason::parse(&reason.get_untracked()).unwrap_or(RefusalReason::Other);
        refuse_now(ctx, env.get_value(), why)
    });
    let locked = Signal::derive(move || ctx.vault.unlocked().is_none() || ctx.opening.get().busy());
    view! {
        <details class="card stack-sm" id="refuse-details">
            <summary>"Refuse this fax instead"</summary>
            <p class="hint">"A refusal is signed with your keys and tells the sender the fax was not accepted. It cannot be taken back."</p>
            <div class="button-row">
                <label for="refuse-reason">"Reason"</label>
                <select id="refuse-reason" on:change=move |ev| reason.set(event_target_value(&ev)) prop:value=move || reason.get()>
                    <option value="policy">"Not for us (policy)"</option>
                    <option value="not_a_pdf">"Not a PDF"</option>
                    <option value="cannot_open">"Cannot open"</option>
                    <option value="other">"Other reason"</option>
                </select>
                <ConfirmButton id="refuse-fax" label="Refuse…" question=QUESTION yes="Yes, refuse" on_yes disabled=locked />
            </div>
        </details>
    }
}
