//! `/dashboard/send`: a fax to a number on fxe. The recipient is looked up as
//! the number is typed (verified and checked against this browser's pins);
//! the PDF is sealed in WASM chunk by chunk and uploaded with real progress,
//! both cancellable. A changed recipient key blocks sending until an admin
//! confirms the new fingerprint.

use fxe_protocol::{
    api::{CreateMessageRequest, CreateMessageResponse, MeOrg, Message, MessageStatus, NumberStatus, Org},
    directory::NumberOwner,
    envelope::{CONTENT_TYPE_PDF, MAX_FROM_NAME_LEN, SealRandomness, SealRequest, Sealer},
    stream::V1_CHUNK_SIZE,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use send_wrapper::SendWrapper;

use crate::{
    browser::{
        files,
        http::{self, ApiFailure},
        transfer::{self, Upload},
    },
    components::{
        Alert, CheckBox, FailureLine, Field, Fingerprint, KeyChanged, TextField, UnlockKeys, loaded, size_text,
        unix_date,
    },
    fax::{
        peers::{self, PeerError, Pinned},
        recent, seal,
    },
    number,
    session::use_session,
    vault::Vault,
};

/// What the recipient field has found.
#[derive(Clone, Debug, PartialEq)]
enum Recipient {
    Empty,
    Invalid(String),
    Checking,
    OnNetwork(Box<Pinned<NumberOwner>>),
    NotOnNetwork(String),
    Failed(PeerError),
}

/// Where a send is.
#[derive(Clone, Debug, PartialEq)]
enum Stage {
    Idle,
    Sealing(f64),
    Uploading(f64),
    /// The same file went to the same number a few minutes ago (ms since 1970): ask first.
    Again(f64),
    Sent(String),
    Failed(String),
}

#[component]
pub fn SendPage() -> impl IntoView {
    let session = use_session();
    let org = move || {
        session.0.get().and_then(Result::ok).and_then(|me| {
            let admin = me.role == "admin";
            me.org.map(|o| (o, admin))
        })
    };
    view! {
        <Title text="Send a fax" />
        {move || org().map(|(org, admin)| view! {
            <div class="stack">
                <UnlockKeys org_id=org.org_id.clone() />
                <SendForm org=org admin=admin />
            </div>
        })}
    }
}

/// The PDF being chosen: the file itself, its name and size as shown, and
/// what is wrong with it.
#[derive(Clone, Copy)]
struct Pdf {
    file: StoredValue<Option<SendWrapper<web_sys::File>>>,
    shown: RwSignal<Option<(String, f64)>>,
    not_pdf: RwSignal<bool>,
    send_anyway: RwSignal<bool>,
    problem: RwSignal<Option<String>>,
}

impl Pdf {
    /// Forgets the chosen file (after it was sent).
    fn clear(self) {
        self.file.set_value(None);
        self.shown.set(None);
        self.not_pdf.set(false);
        self.send_anyway.set(false);
        self.problem.set(None);
    }

    fn new() -> Self {
        Pdf {
            file: StoredValue::new(None),
            shown: RwSignal::new(None),
            not_pdf: RwSignal::new(false),
            send_anyway: RwSignal::new(false),
            problem: RwSignal::new(None),
        }
    }

    /// Why this file cannot be sent (yet), if it cannot.
    fn blocker(self) -> Option<&'static str> {
        if self.shown.get().is_none() || self.problem.get().is_some() {
            return Some("Choose the PDF to send.");
        }
        if self.not_pdf.get() && !self.send_anyway.get() {
            return Some("Confirm that you want to send a file that is not a PDF.");
        }
        None
    }
}

#[component]
fn SendForm(org: MeOrg, admin: bool) -> impl IntoView {
    let vault = Vault::get();
    let me = StoredValue::new(org.org_id.clone());
    let recipient = RwSignal::new(Recipient::Empty);
    let from = RwSignal::new(String::new());
    let caller = RwSignal::new(org.org_name.clone());
    let pdf = Pdf::new();
    let stage = RwSignal::new(Stage::Idle);
    let cancelled = StoredValue::new(false);
    let upload = StoredValue::new(None::<SendWrapper<Upload>>);

    let busy = move || matches!(stage.get(), Stage::Sealing(_) | Stage::Uploading(_));
    let blocker = move || -> Option<&'static str> {
        if vault.unlocked().is_none() {
            return Some("Unlock your keys to send.");
        }
        if !matches!(recipient.get(), Recipient::OnNetwork(_)) {
            return Some("Enter a recipient number that is on fxe.");
        }
        if from.get().is_empty() {
            return Some("Choose the number you send from.");
        }
        if caller.get().len() > MAX_FROM_NAME_LEN {
            return Some("The caller name is too long.");
        }
        pdf.blocker()
    };

    // One click, one fax: set before anything else runs, cleared when the send ends.
    let in_flight = StoredValue::new(false);
    let to = RwSignal::new(String::new());
    let start = move |confirmed: bool| {
        if in_flight.get_value() || blocker().is_some() || busy() {
            return;
        }
        let Recipient::OnNetwork(owner) = recipient.get_untracked() else { return };
        let Some(f) = pdf.file.get_value().map(SendWrapper::take) else { return };
        let file_id = recent::file_id(&f);
        let earlier = recent::load(&me.get_value());
        if let (false, Some(s)) =
            (confirmed, recent::again(&earlier, &owner.value.number, &file_id, js_sys::Date::now()))
        {
            stage.set(Stage::Again(s.at));
            return;
        }
        in_flight.set_value(true);
        let (from_number, from_name) = (from.get_untracked(), caller.get_untracked().trim().to_string());
        cancelled.set_value(false);
        stage.set(Stage::Sealing(0.0));
        leptos::task::spawn_local(async move {
            let to_number = owner.value.number.clone();
            match send_fax(vault, owner.value, from_number, from_name, f, stage, cancelled, upload).await {
                Ok(id) => {
                    recent::record(&me.get_value(), &to_number, &file_id);
                    // Sent: the form starts afresh, so a second click cannot send it again.
                    to.set(String::new());
                    recipient.set(Recipient::Empty);
                    pdf.clear();
                    stage.set(Stage::Sent(id));
                }
                Err(m) => stage.set(Stage::Failed(m)),
            }
            upload.set_value(None);
            in_flight.set_value(false);
        });
    };
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        start(false);
    };
    let cancel = move |_| {
        cancelled.set_value(true);
        if let Some(u) = upload.get_value() {
            u.cancel();
        }
    };

    view! {
        <form class="card stack" aria-labelledby="send-title" on:submit=send novalidate>
            <h2 id="send-title" class="h3">"Send a fax"</h2>
            <RecipientField to recipient admin me />
            <FromField from />
            <TextField id="send-name" label="Caller name" value=caller maxlength=MAX_FROM_NAME_LEN
                hint="Shown to the recipient with your number." />
            <PdfPicker pdf stage />
            <div class="button-row">
                <button type="submit" id="send-submit" class="button button--primary"
                    disabled=move || blocker().is_some() || busy() || matches!(stage.get(), Stage::Again(_))>"Seal and send"</button>
                {move || busy().then(|| view! { <button type="button" id="send-cancel" class="button" on:click=cancel>"Cancel"</button> })}
                <span class="hint">{move || if busy() { None } else { blocker() }}</span>
            </div>
            {move || match stage.get() {
                Stage::Again(at) => again_view(at, move || start(true), move || stage.set(Stage::Idle)).into_any(),
                other => progress_view(other).into_any(),
            }}
        </form>
    }
}

/// "To (fax number)": the recipient is looked up a moment after typing
/// stops and set in `recipient`; `me` is this org's id (for its pins).
#[component]
fn RecipientField(
    to: RwSignal<String>, recipient: RwSignal<Recipient>, admin: bool, me: StoredValue<String>,
) -> impl IntoView {
    let generation = StoredValue::new(0u64);
    let look_up = move |value: String| {
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        let trimmed = value.trim().to_string();
        if trimmed.is_empty() {
            recipient.set(Recipient::Empty);
            return;
        }
        let number = match fxe_protocol::e164::normalize(&trimmed) {
            Ok(n) => n,
            Err(e) => {
                recipient.set(Recipient::Invalid(e.to_string()));
                return;
            }
        };
        recipient.set(Recipient::Checking);
        leptos::task::spawn_local(async move {
            files::sleep(300).await;
            if generation.get_value() != mine {
                return;
            }
            let found = match peers::lookup(&me.get_value(), &number).await {
                Ok(Some(owner)) => Recipient::OnNetwork(Box::new(owner)),
                Ok(None) => Recipient::NotOnNetwork(number),
                Err(e) => Recipient::Failed(e),
            };
            if generation.get_value() == mine {
                recipient.set(found);
            }
        });
    };
    view! {
        <TextField id="send-to" label="To (fax number)" value=to inputmode="tel" autocomplete="off"
            placeholder="+1 555 123 4567" describedby="recipient" on_input=look_up>
            <div id="recipient" aria-live="polite">
                {move || recipient_view(recipient.get(), admin, me.get_value(), move || look_up(to.get_untracked()))}
            </div>
        </TextField>
    }
}

/// "From": the org's active numbers, the first chosen; a warning when it has none.
#[component]
fn FromField(from: RwSignal<String>) -> impl IntoView {
    let numbers: LocalResource<Result<Org, ApiFailure>> = LocalResource::new(|| http::get("/org"));
    loaded(numbers, "Loading your numbers…", move |org: Org| {
        let active: Vec<String> =
            org.numbers.iter().filter(|n| n.status == NumberStatus::Active).map(|n| n.number.clone()).collect();
        if let (true, Some(first)) = (from.get_untracked().is_empty(), active.first()) {
            from.set(first.clone());
        }
        if active.is_empty() {
            return view! { <Alert kind="warning"><p>"Your organization has no active fax number yet, so it cannot send. An admin adds one under Numbers."</p></Alert> }.into_any();
        }
        view! {
            <Field id="send-from" label="From">
                <select id="send-from" on:change=move |ev| from.set(event_target_value(&ev)) prop:value=move || from.get()>
                    {active.into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                </select>
            </Field>
        }.into_any()
    })
}

/// The PDF: chosen or dropped, checked (size, `%PDF-`) into `pdf`; a new
/// choice clears the last send's `stage`.
#[component]
fn PdfPicker(pdf: Pdf, stage: RwSignal<Stage>) -> impl IntoView {
    let over = RwSignal::new(false);
    let take = move |f: web_sys::File| {
        pdf.problem.set(None);
        pdf.send_anyway.set(false);
        stage.set(Stage::Idle);
        let size = number::count(f.size());
        let shown = (f.name(), f.size());
        leptos::task::spawn_local(async move {
            match transfer::slice(&f, 0, 5).await {
                Ok(head) => {
                    pdf.not_pdf.set(head != b"%PDF-");
                    if !seal::fits(size, V1_CHUNK_SIZE) {
                        pdf.problem
                            .set(Some("This file is too large: a fax may be at most 100 MiB once sealed.".into()));
                    }
                    pdf.file.set_value(Some(SendWrapper::new(f)));
                    pdf.shown.set(Some(shown));
                }
                Err(m) => pdf.problem.set(Some(m)),
            }
        });
    };
    let (picked, dropped) = files::file_handlers(over, take);
    view! {
        <div class="dropzone file-drop stack-sm" class:dropzone--over=move || over.get()
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); over.set(true) }
            on:dragleave=move |_| over.set(false)
            on:drop=dropped>
            <label class="button" for="send-file">"Choose PDF"</label>
            <input id="send-file" class="visually-hidden" type="file" accept="application/pdf,.pdf" on:change=picked />
            <span class="hint">" or drop it here"</span>
            {move || pdf.shown.get().map(|(name, size)| view! {
                <p id="send-file-name"><strong>{name}</strong> {format!(" · {}", size_text(number::count(size)))}</p>
            })}
            <FailureLine failure=pdf.problem />
            {move || pdf.not_pdf.get().then(|| view! {
                <Alert kind="warning">
                    <p id="not-pdf-warning">"This file is not a PDF (it does not start with %PDF-). The recipient's fax software may refuse it."</p>
                    <CheckBox id="send-anyway" checked=pdf.send_anyway text=" Send it anyway" />
                </Alert>
            })}
        </div>
    }
}

/// Seals `file` to `owner`, creates the message and uploads it; the message id.
#[allow(clippy::too_many_arguments)]
async fn send_fax(
    vault: Vault, owner: NumberOwner, from_number: String, from_name: String, file: web_sys::File,
    stage: RwSignal<Stage>, cancelled: StoredValue<bool>, upload: StoredValue<Option<SendWrapper<Upload>>>,
) -> Result<String, String> {
    let message_id = fxe_protocol::encoding::new_uuid_v4().map_err(|e| e.to_string())?;
    let (sealer, cek) = vault
        .with(|keys| -> Result<(Sealer, zeroize::Zeroizing<[u8; 32]>), String> {
            let sender = keys.active_bundle().map_err(|e| e.to_string())?;
            let req = SealRequest {
                message_id: &message_id,
                created_at: files::now_secs(),
                sender,
                recipient_identity_pub: &owner.identity_pub,
                recipient_bundle: &owner.bundle,
                from_number: &from_number,
                from_name: &from_name,
                to_number: &owner.number,
                content_type: CONTENT_TYPE_PDF,
                chunk_size: V1_CHUNK_SIZE,
            };
            let rnd = SealRandomness::random().map_err(|e| e.to_string())?;
            let cek = rnd.cek.clone();
            Ok((Sealer::new(&req, rnd).map_err(|e| format!("Cannot seal to this recipient: {e}"))?, cek))
        })
        .ok_or("Your keys were locked. Unlock them and send again.")??;
    let sealed = seal::seal_file(
        sealer,
        &file,
        |done, total| stage.set(Stage::Sealing(fraction(done, total))),
        || cancelled.get_value(),
    )
    .await?;
    if cancelled.get_value() {
        return Err("Cancelled. Nothing was sent.".into());
    }
    // Kept before the relay hears of the fax, so that a delivered fax's proof can show the document.
    let env = &sealed.envelope;
    if let Err(m) = crate::proofs::sent_keys::keep(&env.sender_org_id, env, &cek) {
        leptos::logging::warn!("fxe: the content key of {} was not kept: {m}", env.message_id);
    }
    let created: CreateMessageResponse =
        http::post("/messages", &CreateMessageRequest { envelope: sealed.envelope }).await.map_err(|f| f.message)?;
    stage.set(Stage::Uploading(0.0));
    let path = format!("/messages/{}/content", http::segment(&created.message.message_id));
    let (handle, done) = transfer::put(&path, &sealed.ciphertext, move |sent, total| {
        stage.set(Stage::Uploading(fraction(number::count(sent), number::count(total))))
    })
    .map_err(|f| f.message)?;
    upload.set_value(Some(SendWrapper::new(handle)));
    if let (true, Some(u)) = (cancelled.get_value(), upload.get_value()) {
        u.cancel();
    }
    match done.finish::<Message>().await {
        Ok(_) => Ok(message_id),
        Err(f) if f.code == "cancelled" => Err(after_cancel(&created.message.message_id).await),
        Err(f) => Err(format!("The upload failed: {} Nothing was delivered; send it again.", f.message)),
    }
}

/// What a cancelled upload came to. Cancel stops the browser's request, but
/// when the last bytes had already left, the relay may have the whole fax
/// and queue it: it is the authority, so the page asks it (twice, a second
/// apart, for a commit still under way) instead of assuming.
async fn after_cancel(message_id: &str) -> String {
    let path = format!("/messages/{}", http::segment(message_id));
    for attempt in 0..2 {
        if attempt > 0 {
            files::sleep(1_000).await;
        }
        match http::get::<Message>(&path).await {
            Ok(m) if m.status == MessageStatus::AwaitingUpload => continue,
            // Its upload window closed without the ciphertext: nothing reached the recipient.
            Ok(m) if m.status == MessageStatus::Failed => break,
            Ok(_) => {
                return "Too late to cancel: the relay had already received the whole fax, and it was sent. \
                        It is in your Outbox."
                    .into();
            }
            Err(_) => {
                return "Cancelled, but the relay could not be asked whether the whole fax had already reached it: \
                        check your Outbox before sending it again."
                    .into();
            }
        }
    }
    "Cancelled. Nothing was delivered: the relay discards the unfinished fax within the hour.".into()
}

fn fraction(done: u64, total: u64) -> f64 {
    if total == 0 { 1.0 } else { number::float(done) / number::float(total) }
}

/// "You sent this file to this number at …": Send again, or Cancel.
fn again_view(at: f64, yes: impl Fn() + 'static, no: impl Fn() + 'static) -> impl IntoView {
    let when = unix_date(number::count(at / 1000.0));
    view! {
        <div class="alert alert--warning stack-sm" role="alertdialog" id="send-again" aria-labelledby="send-again-question">
            <p id="send-again-question">{format!("You sent this file to this number at {when}, a few minutes ago. Send it again?")}</p>
            <div class="button-row">
                <button type="button" class="button button--primary" id="send-again-yes" on:click=move |_| yes()>"Send again"</button>
                <button type="button" class="button" id="send-again-no" on:click=move |_| no()>"Cancel"</button>
            </div>
        </div>
    }
}

fn progress_view(stage: Stage) -> impl IntoView {
    let bar = |label: &'static str, f: f64| {
        let pct = (f * 100.0).round().clamp(0.0, 100.0);
        view! {
            <div class="progress stack-sm" role="status">
                <label for="send-progress">{format!("{label} {pct}%")}</label>
                <progress id="send-progress" max="100" value=pct.to_string()></progress>
            </div>
        }
        .into_any()
    };
    match stage {
        Stage::Idle | Stage::Again(_) => ().into_any(),
        Stage::Sealing(f) => bar("Sealing in this tab…", f),
        Stage::Uploading(f) => bar("Uploading the sealed fax…", f),
        Stage::Sent(id) => view! {
            <Alert kind="success">
                <p id="send-result">"Sent. The recipient's receipt will show on "
                    <A href=format!("/dashboard/messages/{id}")>"the fax's page"</A> "."</p>
            </Alert>
        }
        .into_any(),
        Stage::Failed(m) => view! { <Alert kind="danger"><p id="send-error">{m}</p></Alert> }.into_any(),
    }
}

fn recipient_view(r: Recipient, admin: bool, me: String, again: impl Fn() + Copy + Send + Sync + 'static) -> AnyView {
    match r {
        Recipient::Empty => view! { <p class="hint">"Type a number: fxe checks whether it is on the network."</p> }.into_any(),
        Recipient::Invalid(m) => view! { <p class="field-error">{m}</p> }.into_any(),
        Recipient::Checking => view! { <p class="hint">"Looking up…"</p> }.into_any(),
        Recipient::NotOnNetwork(n) => view! {
            <p class="hint" id="not-on-network">{format!("{n} is not on fxe: send through your usual fax carrier.")}</p>
        }
        .into_any(),
        Recipient::OnNetwork(p) => view! {
            <div class="recipient" id="recipient-found">
                <p><strong id="recipient-org">{p.value.org_name.clone()}</strong> " · fingerprint " <Fingerprint value=p.value.fingerprint() /></p>
                {p.first_contact.then(|| view! {
                    <p class="hint" id="first-contact">"First fax to this organization from this browser: its fingerprint is remembered now. Check it with them by phone for sensitive faxes."</p>
                })}
            </div>
        }
        .into_any(),
        Recipient::Failed(PeerError::Changed(change)) => view! { <KeyChanged change=*change admin=admin me=me again=again /> }.into_any(),
        Recipient::Failed(e) => view! { <Alert kind="danger"><p id="recipient-error">{e.message()}</p></Alert> }.into_any(),
    }
}
