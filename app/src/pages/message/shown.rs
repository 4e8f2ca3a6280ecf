//! What opening shows: the PDF in the page with Download; a file that is
//! not a PDF with the choice to keep it (under its real type) or refuse it;
//! stale keys and verification failures in words.

use fxe_protocol::{envelope::Envelope, receipt::RefusalReason};
use leptos::prelude::*;

use super::{
    opening::{Ctx, Opening, send_receipt},
    refuse::RefuseButton,
};
use crate::{
    components::{Alert, Loading},
    fax::sniff::{Kind, PDF},
};

#[component]
pub(super) fn OpeningView(ctx: Ctx, env: StoredValue<Envelope>) -> impl IntoView {
    move || {
        match ctx.opening.get() {
        Opening::Idle => ().into_any(),
        Opening::Working(m) => view! { <Loading label=m /> }.into_any(),
        Opening::Shown { url, name, kind } if kind == PDF => view! {
            <section class="card stack-sm" aria-labelledby="fax-title">
                <div class="row">
                    <h2 id="fax-title" class="h4">"The fax"</h2>
                    <a class="button button--primary" id="fax-download" href=url.clone() download=name>"Download PDF"</a>
                </div>
                <iframe id="fax-view" class="fax-view" src=url title="The fax, opened in this tab"></iframe>
            </section>
        }
        .into_any(),
        Opening::Shown { url, name, kind } => view! {
            <section class="card stack-sm" aria-labelledby="fax-title" id="fax-file" data-mime=kind.mime>
                <h2 id="fax-title" class="h4">"The file"</h2>
                <p>{format!("This fax is {}, not a PDF. It is not shown here; download it to look at it.", kind.name)}</p>
                <a class="button" id="fax-download" href=url download=name.clone()>{format!("Download {name}")}</a>
            </section>
        }
        .into_any(),
        Opening::NotPdf { url, name, kind } => not_pdf(ctx, env, url, name, kind).into_any(),
        Opening::Stale(m) => view! { <Alert kind="warning"><p id="fax-keys-stale">{m}</p></Alert> }.into_any(),
        Opening::Unverified(m) => view! {
            <Alert kind="danger">
                <p id="fax-unverified">{m}</p>
                <p>"If it stays so after checking your keys.zip, you may refuse it; the sender then knows it did not arrive."</p>
                <RefuseButton id="refuse-unverified" ctx env reason=RefusalReason::CannotOpen label="Refuse: cannot open…" />
            </Alert>
        }
        .into_any(),
        Opening::Refused(m) => view! { <Alert kind="warning"><p id="fax-refused">{m}</p></Alert> }.into_any(),
        Opening::Failed(m) => view! { <Alert kind="danger"><p id="open-error">{m}</p></Alert> }.into_any(),
    }
    }
}

/// Not a PDF: nothing shown, no receipt yet; keep it (the receipt is then
/// sent) or refuse it (`not_a_pdf`).
fn not_pdf(ctx: Ctx, env: StoredValue<Envelope>, url: String, name: String, kind: Kind) -> impl IntoView {
    let what = kind.name;
    let keep = move |_| {
        let (url, name) = (url.clone(), name.clone());
        ctx.opening.set(Opening::Shown { url, name, kind });
        leptos::task::spawn_local(async move { send_receipt(ctx, &env.get_value()).await });
    };
    view! {
        <div class="alert alert--warning stack-sm" role="status" id="not-a-pdf">
            <p id="not-a-pdf-text">{format!("This fax opened, but it is not a PDF: it is {what}. It was not shown, and no receipt was sent yet.")}</p>
            <p>"Keep it to download it under its real type (the sender is then told it was delivered), or refuse it as not a PDF."</p>
            <div class="button-row">
                <button type="button" class="button" id="keep-file" on:click=keep>"Keep the file"</button>
                <RefuseButton id="refuse-not-pdf" ctx env reason=RefusalReason::NotAPdf label="Refuse: not a PDF…" />
            </div>
        </div>
    }
}
