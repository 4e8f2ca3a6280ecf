//! `/verify`: anyone checks a `.fxeproof` (and optionally the PDF) without
//! signing in. Every check is `fxe_protocol::proof::verify`, run in this tab
//! (WASM); nothing is sent anywhere, so the page works offline once loaded.
//! It tells the same statement as `fxe-client proof verify`, or names the one
//! check that failed (docs/proof.md §3–4).

use leptos::prelude::*;
use leptos_meta::Title;
use send_wrapper::SendWrapper;

use crate::{browser::files, browser::transfer, components::Alert, number, proofs};
use fxe_protocol::{MAX_CIPHERTEXT_LEN, proof::MAX_PROOF_LEN};

/// What the page shows of the last check.
#[derive(Clone, PartialEq)]
enum Verdict {
    Idle,
    Working,
    Verified(String),
    /// The check's code (docs/proof.md §3) and the sentence.
    Failed(&'static str, String),
    /// Not a verdict: a file could not be read.
    Unreadable(String),
}

/// The first `max + 1` bytes of `file` at most: a longer file is refused by its reader, not read whole.
async fn read_capped(file: &web_sys::File, max: u64) -> Result<Vec<u8>, String> {
    let size = number::count(file.size());
    transfer::slice(file, 0, size.min(max + 1)).await
}

#[component]
pub fn VerifyPage() -> impl IntoView {
    let proof_file = StoredValue::new(None::<Vec<u8>>);
    let proof_name = RwSignal::new(None::<String>);
    let document = StoredValue::new(None::<SendWrapper<web_sys::File>>);
    let document_name = RwSignal::new(None::<String>);
    let verdict = RwSignal::new(Verdict::Idle);
    // A check started before the latest choice of files is not shown.
    let generation = StoredValue::new(0u32);
    // How many verdicts were shown (`data-checks`, for whoever waits for the next one).
    let checks = RwSignal::new(0u32);
    let show = move |v: Verdict| {
        verdict.set(v);
        checks.update(|n| *n += 1);
    };

    let run = move || {
        let Some(bytes) = proof_file.get_value() else { return };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        verdict.set(Verdict::Working);
        let doc = document.get_value().map(|d| (*d).clone());
        leptos::task::spawn_local(async move {
            let doc = match doc {
                None => None,
                // The verifier refuses a document over the largest fax by its length.
                Some(f) => match read_capped(&f, MAX_CIPHERTEXT_LEN).await {
                    Ok(b) => Some(b),
                    Err(m) => return show(Verdict::Unreadable(m)),
                },
            };
            files::yield_to_page().await;
            let shown = match proofs::check(&bytes, doc.as_deref()) {
                Ok(st) => Verdict::Verified(st.text()),
                Err(e) => Verdict::Failed(e.code(), proofs::failure_text(&e)),
            };
            if generation.get_value() == mine {
                show(shown);
            }
        });
    };
    let take_proof = move |file: web_sys::File| {
        proof_name.set(Some(file.name()));
        verdict.set(Verdict::Working);
        leptos::task::spawn_local(async move {
            match read_capped(&file, MAX_PROOF_LEN as u64).await {
                Ok(bytes) => {
                    proof_file.set_value(Some(bytes));
                    run();
                }
                Err(m) => show(Verdict::Unreadable(m)),
            }
        });
    };
    let take_document = move |file: web_sys::File| {
        document_name.set(Some(file.name()));
        document.set_value(Some(SendWrapper::new(file)));
        run();
    };
    let drop_document = move |_| {
        document_name.set(None);
        document.set_value(None);
        run();
    };
    let state = move || match verdict.get() {
        Verdict::Idle => "idle",
        Verdict::Working => "working",
        Verdict::Verified(_) => "verified",
        Verdict::Failed(..) => "failed",
        Verdict::Unreadable(_) => "unreadable",
    };
    view! {
        <Title text="Check a proof of delivery" />
        <div class="stack" id="verify" data-state=state data-checks=move || checks.get().to_string()>
            <section class="card stack-sm" aria-labelledby="verify-title">
                <h1 id="verify-title" class="h2">"Check a proof of delivery"</h1>
                <p>"A proof (a .fxeproof file) shows that an organization's key signed that it received, or refused, one fax. With the PDF, and a proof exported with the document, it also shows that it was exactly this PDF."</p>
                <p class="hint">"Everything is checked in this page: nothing is sent to the relay or anywhere else, and the page works offline once it has loaded. No sign-in is needed."</p>
            </section>
            <FileZone id="verify-proof" title="1. The proof" button="Choose .fxeproof"
                accept=".fxeproof,application/vnd.fxe.proof+json,application/json" take=take_proof>
                {move || proof_name.get().map(|n| view! { <p id="verify-proof-name">{n}</p> })}
            </FileZone>
            <FileZone id="verify-document" title="2. The document (optional)" button="Choose PDF"
                accept="application/pdf,.pdf" take=take_document>
                <p class="hint">"Give the PDF to check that it is the fax, byte for byte."</p>
                {move || document_name.get().map(|n| view! {
                    <p><span id="verify-document-name">{n}</span> " "
                        <button type="button" class="button button--quiet" id="verify-document-remove"
                            on:click=drop_document>"Remove"</button></p>
                })}
            </FileZone>
            {move || match verdict.get() {
                Verdict::Idle => ().into_any(),
                Verdict::Working => view! { <p id="verify-working" aria-live="polite">"Checking…"</p> }.into_any(),
                Verdict::Verified(text) => view! {
                    <Alert kind="success">
                        <p id="verify-verdict"><strong>"Verified."</strong> " Every check of the proof passed."</p>
                        <pre id="verify-statement" class="statement">{text}</pre>
                    </Alert>
                }.into_any(),
                Verdict::Failed(code, text) => view! {
                    <Alert kind="danger">
                        <p><strong>"Not verified."</strong></p>
                        <p id="verify-failure" data-check=code>{text}</p>
                    </Alert>
                }.into_any(),
                Verdict::Unreadable(m) => view! {
                    <Alert kind="danger"><p id="verify-unreadable">{m}</p></Alert>
                }.into_any(),
            }}
        </div>
    }
}

/// One file to give the page (`#{id}`): a picker, and a drop zone around it.
#[component]
fn FileZone(
    id: &'static str, title: &'static str, button: &'static str, accept: &'static str,
    take: impl Fn(web_sys::File) + Copy + 'static, children: Children,
) -> impl IntoView {
    let over = RwSignal::new(false);
    let (picked, dropped) = files::file_handlers(over, take);
    let (title_id, labelled_by) = (format!("{id}-title"), format!("{id}-title"));
    view! {
        <section class="card stack-sm dropzone" class:dropzone--over=move || over.get() aria-labelledby=labelled_by
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); over.set(true) }
            on:dragleave=move |_| over.set(false)
            on:drop=dropped>
            <h2 id=title_id class="h4">{title}</h2>
            <label class="button" for=id>{button}</label>
            <input id=id class="visually-hidden" type="file" accept=accept on:change=picked />
            <span class="hint">" or drop it here"</span>
            {children()}
        </section>
    }
}
