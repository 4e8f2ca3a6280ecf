//! `/dashboard/messages/{id}`: one fax. Its status and timeline, both orgs
//! with fingerprints, and its receipt or refusal verified in this browser.
//! For a fax waiting in the inbox: **Open** downloads and opens it in WASM,
//! shows the PDF and posts the signed receipt; **Refuse** posts a signed
//! refusal. A fax that fails any check is refused (`cannot_open`) and never
//! shown.

use fxe_protocol::{
    api::{Message, MessageStatus, Org},
    directory::OrgKeys,
    envelope::{CONTENT_TYPE_PDF, Envelope, Opener, Recipient},
    receipt::{Receipt, Refusal, RefusalReason},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    browser::{files, http},
    components::{Alert, Fingerprint, KeyChanged, Loading, UnlockKeys, confirm, size_text, unix_date, when},
    fax::{
        open::{self, OpenFailure},
        peers::{self, PeerError, Pinned},
    },
    pages::messages::StatusBadge,
    session::use_session,
    vault::Vault,
};

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

/// Where opening is.
#[derive(Clone, PartialEq)]
enum Opening {
    Idle,
    Working(String),
    Shown { url: String, name: String },
    Refused(String),
    Failed(String),
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
    let opening = RwSignal::new(Opening::Idle);
    let receipt_note = RwSignal::new(None::<Result<String, String>>);
    // The opened PDF belongs to one fax: forget it when the page shows another or closes.
    let forget = move || {
        if let Some(Opening::Shown { url, .. }) = opening.try_get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        opening.try_set(Opening::Idle);
        receipt_note.try_set(None);
    };
    Effect::new(move |previous: Option<String>| {
        let current = id();
        if previous.is_some_and(|p| p != current) {
            forget();
        }
        current
    });
    on_cleanup(forget);
    let refetch = move || fax.refetch();
    // A sent fax still on its way: follow it until the receipt or refusal arrives.
    files::every(std::time::Duration::from_secs(3), move || {
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
                view! { <FaxView fax=f org_id admin opening receipt_note refetch /> }.into_any()
            }
        }}
    }
}

#[component]
fn FaxView(
    fax: Fax,
    org_id: String,
    admin: bool,
    opening: RwSignal<Opening>,
    receipt_note: RwSignal<Option<Result<String, String>>>,
    refetch: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let Fax { msg, env, incoming, peer, proof } = fax;
    let can_act = incoming && msg.status == MessageStatus::Queued;
    let peer_view = match peer.clone() {
        Ok(p) => view! {
            <dd id="peer-org"><strong>{p.value.org_name.clone()}</strong> " · " <Fingerprint value=p.value.fingerprint() />
                {p.first_contact.then(|| view! { <span class="hint">" (first seen now: check this fingerprint with them)"</span> })}
            </dd>
        }
        .into_any(),
        Err(PeerError::Changed(c)) => view! { <dd><KeyChanged change=*c admin me=org_id.clone() again=refetch /></dd> }.into_any(),
        Err(e) => view! { <dd><Alert kind="danger"><p>{e.message()}</p></Alert></dd> }.into_any(),
    };
    let title = if incoming { format!("Fax from {}", msg.from_number) } else { format!("Fax to {}", msg.to_number) };
    let vault = Vault::get();
    let stored = StoredValue::new((msg.clone(), env.clone(), peer.clone().ok().map(|p| p.value), org_id.clone()));
    let open_it = move |_| {
        let (msg, env, peer, org_id) = stored.get_value();
        leptos::task::spawn_local(open_fax(vault, msg, env, peer, org_id, opening, receipt_note, refetch));
    };
    let reason = RwSignal::new("policy".to_string());
    let refuse_it = move |_| {
        if !confirm("Refuse this fax? The sender is told, with your signature, and the relay deletes it.") {
            return;
        }
        let env = stored.get_value().1;
        let why = RefusalReason::parse(&reason.get_untracked()).unwrap_or(RefusalReason::Other);
        leptos::task::spawn_local(async move {
            match refuse(vault, &env, why).await {
                Ok(()) => {
                    opening.set(Opening::Refused(format!(
                        "Refused ({}). The sender sees your signed refusal.",
                        why.as_str()
                    )));
                    refetch();
                }
                Err(m) => opening.set(Opening::Failed(m)),
            }
        });
    };
    let steps = timeline(&msg);
    let proof = proof_view(&msg, &proof, incoming);

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
                    <dt>"Size"</dt><dd>{size_text(env.plaintext_len().unwrap_or(0))}</dd>
                    <dt>"Fax id"</dt><dd><code>{msg.message_id.clone()}</code></dd>
                </dl>
            </section>
            <section class="card stack-sm" aria-labelledby="timeline-title">
                <h2 id="timeline-title" class="h4">"Timeline"</h2>
                <ol class="timeline" id="timeline">{steps}</ol>
                {proof}
            </section>
            {can_act.then(|| view! {
                <UnlockKeys org_id=org_id.clone() />
                <section class="card stack-sm" aria-labelledby="open-title">
                    <h2 id="open-title" class="h4">"Open this fax"</h2>
                    <p>"It is opened in this tab, checked, and shown below. Opening sends the sender a signed receipt, and the relay then deletes its copy: download the PDF to keep it."</p>
                    <div class="button-row">
                        <button type="button" class="button button--primary" id="open-fax"
                            disabled=move || vault.unlocked().is_none() || matches!(opening.get(), Opening::Working(_) | Opening::Shown { .. })
                            on:click=open_it>"Open"</button>
                        <label for="refuse-reason" class="visually-hidden">"Reason"</label>
                        <select id="refuse-reason" on:change=move |ev| reason.set(event_target_value(&ev)) prop:value=move || reason.get()>
                            <option value="policy">"Refuse: not for us (policy)"</option>
                            <option value="not_a_pdf">"Refuse: not a PDF"</option>
                            <option value="cannot_open">"Refuse: cannot open"</option>
                            <option value="other">"Refuse: other reason"</option>
                        </select>
                        <button type="button" class="button" id="refuse-fax"
                            disabled=move || vault.unlocked().is_none() || matches!(opening.get(), Opening::Working(_))
                            on:click=refuse_it>"Refuse"</button>
                    </div>
                </section>
            })}
            {move || opening_view(opening.get())}
            {move || receipt_note.get().map(|r| match r {
                Ok(m) => view! { <Alert kind="success"><p id="receipt-sent">{m}</p></Alert> }.into_any(),
                Err(m) => view! { <Alert kind="danger"><p id="receipt-error">{m}</p></Alert> }.into_any(),
            })}
        </div>
    }
}

fn timeline(msg: &Message) -> AnyView {
    let mut steps: Vec<(String, String)> = vec![(when(&msg.created_at), "Sealed and sent".into())];
    match msg.status {
        MessageStatus::AwaitingUpload => steps.push((String::new(), "Uploading…".into())),
        MessageStatus::Queued => {
            steps.push((String::new(), format!("Waiting to be opened (until {})", when(&msg.expires_at))))
        }
        MessageStatus::Failed => steps.push((when(&msg.updated_at), "The upload was not completed".into())),
        MessageStatus::Expired => steps.push((when(&msg.updated_at), "Expired unopened; the relay deleted it".into())),
        MessageStatus::Delivered | MessageStatus::Rejected => {}
    }
    if let Some(r) = &msg.receipt {
        steps.push((unix_date(r.received_at), "Opened by the recipient (signed receipt)".into()));
    }
    if let Some(r) = &msg.refusal {
        steps.push((unix_date(r.refused_at), format!("Refused by the recipient: {}", r.reason.as_str())));
    }
    steps
        .into_iter()
        .map(|(at, what)| view! { <li><span class="hint">{at}</span> " " {what}</li> })
        .collect_view()
        .into_any()
}

fn proof_view(msg: &Message, proof: &Proof, incoming: bool) -> AnyView {
    let what = if msg.receipt.is_some() { "receipt" } else { "refusal" };
    let outcome = if msg.receipt.is_some() { "delivered" } else { "refused" };
    match proof.clone() {
        Proof::None => ().into_any(),
        Proof::Verified => {
            let who = if incoming { "your organisation" } else { "the recipient" };
            let text = format!("The {what} is signed by {who} and verified in this browser.");
            view! { <Alert kind="success"><p id="receipt-verified">{text}</p></Alert> }.into_any()
        }
        Proof::Forged(e) => {
            let text = format!("The {what} does not verify ({e}). Do not treat this fax as {outcome}.");
            view! { <Alert kind="danger"><p id="receipt-forged">{text}</p></Alert> }.into_any()
        }
        Proof::Unchecked(e) => {
            let text = format!("The {what} could not be checked: {e}");
            view! { <Alert kind="warning"><p>{text}</p></Alert> }.into_any()
        }
    }
}

fn opening_view(o: Opening) -> AnyView {
    match o {
        Opening::Idle => ().into_any(),
        Opening::Working(m) => view! { <Loading label=m /> }.into_any(),
        Opening::Shown { url, name } => view! {
            <section class="card stack-sm" aria-labelledby="fax-title">
                <div class="row">
                    <h2 id="fax-title" class="h4">"The fax"</h2>
                    <a class="button button--primary" id="fax-download" href=url.clone() download=name>"Download PDF"</a>
                </div>
                <iframe id="fax-view" class="fax-view" src=url title="The fax, opened in this tab"></iframe>
            </section>
        }
        .into_any(),
        Opening::Refused(m) => view! { <Alert kind="warning"><p id="fax-refused">{m}</p></Alert> }.into_any(),
        Opening::Failed(m) => view! { <Alert kind="danger"><p id="open-error">{m}</p></Alert> }.into_any(),
    }
}

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

#[allow(clippy::too_many_arguments)]
async fn open_fax(
    vault: Vault,
    msg: Message,
    env: Envelope,
    sender: Option<OrgKeys>,
    org_id: String,
    opening: RwSignal<Opening>,
    receipt_note: RwSignal<Option<Result<String, String>>>,
    refetch: impl Fn() + Copy + 'static,
) {
    let refuse_with = |reason: RefusalReason, why: String| {
        let env = env.clone();
        async move {
            match refuse(vault, &env, reason).await {
                Ok(()) => opening.set(Opening::Refused(format!(
                    "This fax failed verification ({why}) and was refused with your signature. It was not shown."
                ))),
                Err(m) => opening.set(Opening::Failed(format!(
                    "This fax failed verification ({why}); the refusal could not be sent: {m}"
                ))),
            }
            refetch();
        }
    };
    let Some(sender) = sender else {
        opening.set(Opening::Failed(
            "The sender's keys could not be checked (see above), so the fax stays closed.".into(),
        ));
        return;
    };
    if env.content_type != CONTENT_TYPE_PDF {
        return refuse_with(RefusalReason::NotAPdf, format!("its content type is {:?}", env.content_type)).await;
    }
    opening.set(Opening::Working("Checking the fax…".into()));
    let numbers: Vec<String> = match http::get::<Org>("/org").await {
        Ok(org) => org.numbers.into_iter().map(|n| n.number).collect(),
        Err(f) => return opening.set(Opening::Failed(f.message)),
    };
    let sender_bundle = match sender.bundle(&env.sender_bundle_id) {
        Ok(b) => b.clone(),
        Err(e) => return refuse_with(RefusalReason::CannotOpen, e.to_string()).await,
    };
    let opener = vault.with(|k| {
        let recipient = Recipient { org_id: &org_id, numbers: &numbers, bundles: &k.bundles };
        Opener::new(&env, &sender.identity_pub, &sender_bundle, &recipient)
    });
    let opener = match opener {
        None => return opening.set(Opening::Failed("Your keys were locked. Unlock them and open again.".into())),
        Some(Err(e)) => return refuse_with(RefusalReason::CannotOpen, e.to_string()).await,
        Some(Ok(o)) => o,
    };
    let path = format!("/messages/{}/content", http::segment(&env.message_id));
    let progress = move |done: u64, total: u64| {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        opening.set(Opening::Working(format!("Opening in this tab… {pct}%")));
    };
    let blob = match open::open_download(opener, &path, "application/pdf", progress).await {
        Ok(b) => b,
        Err(OpenFailure::Verification(e)) => return refuse_with(RefusalReason::CannotOpen, e.to_string()).await,
        Err(OpenFailure::Local(m)) => {
            return opening.set(Opening::Failed(format!("{m} The fax is still waiting on the relay.")));
        }
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return opening.set(Opening::Failed("The browser could not show the fax.".into()));
    };
    opening.set(Opening::Shown {
        url,
        name: format!("fax-{}-{}.pdf", msg.from_number.trim_start_matches('+'), &msg.message_id[..8]),
    });
    // Shown: now the signed receipt.
    let receipt = vault.with(|k| Receipt::make(&env, &k.bundles, files::now_secs()));
    let sent = match receipt {
        Some(Ok(r)) => http::post::<Message>(&format!("/messages/{}/receipt", http::segment(&env.message_id)), &r)
            .await
            .map_err(|f| f.message),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("your keys were locked".into()),
    };
    receipt_note.set(Some(match sent {
        Ok(_) => Ok("Receipt sent: the sender sees this fax as delivered. The relay has deleted its copy; download the PDF to keep it.".into()),
        Err(m) => Err(format!("The receipt could not be sent ({m}). The fax stays in your inbox; open it again later to send the receipt.")),
    }));
    refetch();
}
