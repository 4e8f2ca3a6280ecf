//! `/dashboard/messages/{id}`: one fax. Its status and timeline, both orgs
//! with fingerprints, its receipt or refusal verified in this browser, and
//! where it is (the relay, this browser's archive). For a received fax:
//! **Open** keeps the sealed fax in this browser, opens it in WASM, shows the
//! PDF and posts the signed receipt; a fax this browser keeps reopens from
//! there. Refusing is apart from Open and always confirmed in the page.

mod export;
mod facts;
mod kept;
mod opening;
mod refuse;
mod shown;

use fxe_protocol::{
    api::{Message, MessageStatus},
    directory::OrgKeys,
    envelope::Envelope,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    browser::http,
    components::{Alert, Fingerprint, KeyChanged, Loading, UnlockKeys, sealed_size_text},
    fax::{
        archive,
        peers::{self, PeerError, Pinned},
    },
    pages::messages::StatusBadge,
    session::use_session,
    vault::Vault,
};
use export::ProofSection;
use kept::WhereItIs;
use opening::{Ctx, Opening, Subject};
use refuse::RefuseSection;
use shown::OpeningView;

/// A fax as this browser checked it.
#[derive(Clone)]
struct Fax {
    msg: Message,
    env: Envelope,
    /// Addressed to this org (otherwise sent by it).
    incoming: bool,
    /// The other org, verified and pinned.
    peer: Result<Pinned<OrgKeys>, PeerError>,
    /// The receipt's or refusal's signature, checked here.
    proof: Proof,
}

#[derive(Clone, PartialEq)]
enum Proof {
    None,
    Verified,
    Forged(String),
    Unchecked(String),
}

async fn load(me: String, id: String) -> Result<Fax, String> {
    let msg: Message = http::get(&format!("/messages/{}", http::segment(&id))).await.map_err(|f| f.message)?;
    let env = msg.envelope.clone().ok_or("The relay sent this fax without its envelope.")?;
    if env.message_id != msg.message_id || env.hash_hex() != msg.envelope_hash {
        return Err("The relay's envelope does not match this fax: it may be faulty or tampered with.".into());
    }
    let incoming = msg.recipient_org_id == me;
    let other = if incoming { msg.sender_org_id.clone() } else { msg.recipient_org_id.clone() };
    let peer = peers::org(&me, &other).await;
    let proof = match (&msg.receipt, &msg.refusal) {
        (None, None) => Proof::None,
        (receipt, refusal) => {
            // Signed by the recipient: the other org for a sent fax, this one for a received one.
            let recipient =
                if incoming { peers::org(&me, &me).await.map(|p| p.value) } else { peer.clone().map(|p| p.value) };
            match recipient.as_ref().map(|keys| keys.bundle(&env.recipient_bundle_id)) {
                Ok(Ok(bundle)) => {
                    let checked = match receipt {
                        Some(r) => r.verify(&env, bundle),
                        None => refusal.as_ref().map_or(Ok(()), |r| r.verify(&env, bundle)),
                    };
                    match checked {
                        Ok(()) => Proof::Verified,
                        Err(e) => Proof::Forged(e.to_string()),
                    }
                }
                Ok(Err(e)) => Proof::Forged(e.to_string()),
                Err(e) => Proof::Unchecked(e.message()),
            }
        }
    };
    Ok(Fax { msg, env, incoming, peer, proof })
}

#[component]
pub fn MessagePage() -> impl IntoView {
    let params = use_params_map();
    let session = use_session();
    let me = move || session.0.get().and_then(Result::ok).and_then(|m| m.org);
    let id = move || params.read().get("id").unwrap_or_default();
    let fax = LocalResource::new(move || {
        let (org, id) = (me(), id());
        async move {
            match org {
                Some(org) => Some(load(org.org_id, id).await),
                None => None,
            }
        }
    });
    let ctx = Ctx {
        vault: Vault::get(),
        opening: RwSignal::new(Opening::Idle),
        receipt_note: RwSignal::new(None),
        archived: RwSignal::new(0),
        refetch: Callback::new(move |()| fax.refetch()),
    };
    // The opened fax belongs to one fax: forget it when the page shows another or closes.
    let forget = move || {
        if let Some(Opening::Shown { url, .. } | Opening::NotPdf { url, .. }) = ctx.opening.try_get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        ctx.opening.try_set(Opening::Idle);
        ctx.receipt_note.try_set(None);
    };
    Effect::new(move |previous: Option<String>| {
        let current = id();
        if previous.is_some_and(|p| p != current) {
            forget();
        }
        current
    });
    on_cleanup(forget);
    // A sent fax still on its way: follow it until the receipt or refusal arrives.
    crate::browser::files::every(std::time::Duration::from_secs(3), move || {
        if let Some(Some(Ok(f))) = fax.get_untracked()
            && !f.incoming
            && matches!(f.msg.status, MessageStatus::AwaitingUpload | MessageStatus::Queued)
        {
            fax.refetch();
        }
    });

    view! {
        <Title text="Fax" />
        <p><A href="/dashboard/inbox">"← Inbox"</A> " · " <A href="/dashboard/outbox">"Outbox"</A></p>
        {move || match fax.get() {
            None | Some(None) => view! { <Loading label="Loading the fax…" /> }.into_any(),
            Some(Some(Err(m))) => view! { <Alert kind="danger"><p id="message-error">{m}</p></Alert> }.into_any(),
            Some(Some(Ok(f))) => {
                let org_id = me().map(|o| o.org_id).unwrap_or_default();
                let admin = session.0.get().and_then(Result::ok).is_some_and(|m| m.role == "admin");
                view! { <FaxView fax=f org_id admin ctx /> }.into_any()
            }
        }}
    }
}

#[component]
fn FaxView(fax: Fax, org_id: String, admin: bool, ctx: Ctx) -> impl IntoView {
    let Fax { msg, env, incoming, peer, proof } = fax;
    let queued = incoming && msg.status == MessageStatus::Queued;
    let peer_view = peer_view(peer.clone(), admin, org_id.clone(), ctx.refetch);
    let title = if incoming { format!("Fax from {}", msg.from_number) } else { format!("Fax to {}", msg.to_number) };
    let vault = ctx.vault;
    let bundle = StoredValue::new(env.recipient_bundle_id.clone());
    let subject = StoredValue::new(Subject {
        msg: msg.clone(),
        env: env.clone(),
        sender: peer.ok().map(|p| p.value),
        org_id: org_id.clone(),
    });
    let stored_env = StoredValue::new(env.clone());
    let (org, id) = (StoredValue::new(org_id.clone()), StoredValue::new(msg.message_id.clone()));
    let kept = LocalResource::new(move || {
        ctx.archived.track();
        async move { archive::find(&org.get_value(), &id.get_value()).await.ok().flatten().is_some() }
    });
    let can_open = move || incoming && (queued || kept.get() == Some(true));
    let open_it = move || leptos::task::spawn_local(opening::open_fax(ctx, subject.get_value()));
    // The unlocked keys.zip lacks the bundle this fax is sealed to: named before Open, never refused.
    let stale = move || vault.unlocked().is_some() && opening::holds(vault, &bundle.get_value()) == Some(false);
    // A fax this browser keeps and that needs no receipt reopens as soon as the keys are unlocked (Back, reload).
    Effect::new(move |_| {
        let ready = kept.get() == Some(true) && vault.unlocked().is_some() && !stale();
        if incoming && !queued && ready && ctx.opening.get_untracked() == Opening::Idle {
            open_it();
        }
    });
    let open_text = if queued {
        "It is kept in this browser (still sealed), opened in this tab, checked, and shown below. Opening sends the sender a signed receipt, and the relay then deletes its copy."
    } else {
        "The relay no longer has it; this browser keeps it sealed. Unlock your keys to open it again here."
    };
    let steps = facts::timeline(&msg);
    let proof = facts::proof_view(&msg, &proof, incoming);
    let unlock_here = Signal::derive(move || incoming && !can_open());
    let export = crate::proofs::available(&msg).then(|| {
        view! { <ProofSection msg=msg.clone() env=env.clone() org_id=org_id.clone() incoming ctx unlock_here /> }
    });

    view! {
        <div class="stack" id="message" data-status=msg.status.as_str()>
            <section class="card stack-sm" aria-labelledby="message-title">
                <div class="row">
                    <h2 id="message-title" class="h3">{title}</h2>
                    <StatusBadge status=msg.status />
                </div>
                <dl class="facts">
                    <dt>{if incoming { "Sender" } else { "Recipient" }}</dt>
                    {peer_view}
                    <dt>"From"</dt><dd>{format!("{} {}", msg.from_number, msg.from_name).trim_end().to_string()}</dd>
                    <dt>"To"</dt><dd>{msg.to_number.clone()}</dd>
                    <dt>"Size"</dt><dd id="fax-size">{sealed_size_text(msg.ciphertext_len)}</dd>
                    <dt>"Fax id"</dt><dd><code>{msg.message_id.clone()}</code></dd>
                </dl>
            </section>
            <section class="card stack-sm" aria-labelledby="timeline-title">
                <h2 id="timeline-title" class="h4">"Timeline"</h2>
                <ol class="timeline" id="timeline">{steps}</ol>
                {proof}
            </section>
            {export}
            {incoming.then(|| view! { <WhereItIs msg=msg.clone() org_id=org_id.clone() ctx /> })}
            {move || can_open().then(|| view! {
                <UnlockKeys org_id=org.get_value() />
                <section class="card stack-sm" aria-labelledby="open-title">
                    <h2 id="open-title" class="h4">"Open this fax"</h2>
                    <p>{open_text}</p>
                    {move || stale().then(|| view! {
                        <Alert kind="warning"><p id="fax-keys-stale">{opening::stale_text(&bundle.get_value())}</p></Alert>
                    })}
                    <button type="button" class="button button--primary" id="open-fax"
                        disabled=move || vault.unlocked().is_none() || stale()
                            || matches!(ctx.opening.get(), Opening::Working(_) | Opening::Shown { .. } | Opening::NotPdf { .. })
                        on:click=move |_| open_it()>"Open"</button>
                </section>
            })}
            <OpeningView ctx env=stored_env />
            {move || ctx.receipt_note.get().map(|r| match r {
                Ok(m) => view! { <Alert kind="success"><p id="receipt-sent">{m}</p></Alert> }.into_any(),
                Err(m) => view! { <Alert kind="danger"><p id="receipt-error">{m}</p></Alert> }.into_any(),
            })}
            {queued.then(|| view! { <RefuseSection ctx env=stored_env /> })}
        </div>
    }
}

fn peer_view(peer: Result<Pinned<OrgKeys>, PeerError>, admin: bool, me: String, again: Callback<()>) -> AnyView {
    match peer {
        Ok(p) => view! {
            <dd id="peer-org"><strong>{p.value.org_name.clone()}</strong> " · " <Fingerprint value=p.value.fingerprint() />
                {p.first_contact.then(|| view! { <span class="hint">" (first seen now: check this fingerprint with them)"</span> })}
            </dd>
        }
        .into_any(),
        Err(PeerError::Changed(c)) => view! { <dd><KeyChanged change=*c admin me again=move || again.run(()) /></dd> }.into_any(),
        Err(e) => view! { <dd><Alert kind="danger"><p>{e.message()}</p></Alert></dd> }.into_any(),
    }
}
