//! Opening a received fax: the header checks, then the sealed fax is kept in
//! this browser's archive (downloaded once, before anything else happens),
//! opened from there, its type checked, shown if it is a PDF, and only then
//! is the signed receipt posted. A fax sealed to a bundle the unlocked keys
//! lack is named as such and left waiting; a real verification failure is
//! shown and a refusal offered, never sent on its own.

use fxe_protocol::{
    api::{Message, MessageStatus, Org},
    directory::OrgKeys,
    envelope::{Envelope, Opener, Recipient},
    error::{Error, OpenError},
    receipt::Receipt,
};
use leptos::prelude::*;

use crate::{
    browser::{files, http},
    fax::{
        archive,
        open::{self, OpenFailure},
        sniff::{self, Kind, PDF},
    },
    vault::Vault,
};

/// Where opening is.
#[derive(Clone, PartialEq)]
pub(super) enum Opening {
    Idle,
    Working(String),
    /// Opened: a PDF shown in the page, or another file kept under its own type.
    Shown {
        url: String,
        name: String,
        kind: Kind,
    },
    /// Opened, but not a PDF: no receipt yet, the person chooses.
    NotPdf {
        url: String,
        name: String,
        kind: Kind,
    },
    /// Sealed to a bundle the unlocked keys do not hold: left waiting.
    Stale(String),
    /// A real verification failure: not shown; a refusal may be offered.
    Unverified(String),
    Refused(String),
    Failed(String),
}

impl Opening {
    pub(super) fn busy(&self) -> bool {
        matches!(self, Opening::Working(_))
    }
}

/// What the opening of one fax reports to.
#[derive(Clone, Copy)]
pub(super) struct Ctx {
    pub vault: Vault,
    pub opening: RwSignal<Opening>,
    pub receipt_note: RwSignal<Option<Result<String, String>>>,
    /// Bumped when this browser's archive changed for this fax.
    pub archived: RwSignal<u32>,
    pub refetch: Callback<()>,
}

/// The fax being opened, as the page checked it.
#[derive(Clone)]
pub(super) struct Subject {
    pub msg: Message,
    pub env: Envelope,
    /// The sender's keys, verified and pinned.
    pub sender: Option<OrgKeys>,
    pub org_id: String,
}

/// "Sealed to bundle X, your keys.zip is older".
pub(super) fn stale_text(bundle_id: &str) -> String {
    format!(
        "This fax is sealed to bundle {bundle_id}, which the keys.zip unlocked in this tab does not hold: your keys.zip is older than your organization's current keys. Unlock the current keys.zip (an admin saved it when the bundle was rotated). The fax stays waiting; nothing was sent to the sender."
    )
}

/// Whether the unlocked keys hold `bundle_id` (`None`: locked).
pub(super) fn holds(vault: Vault, bundle_id: &str) -> Option<bool> {
    vault.with(|k| k.bundles.iter().any(|b| b.bundle.bundle_id == bundle_id))
}

fn unverified(e: &Error) -> Opening {
    Opening::Unverified(format!(
        "This fax failed verification ({e}). It was not shown, and nothing was sent to the sender."
    ))
}

/// Opens `s` (from this browser's archive, or downloaded into it first).
pub(super) async fn open_fax(ctx: Ctx, s: Subject) {
    let Ctx { vault, opening, .. } = ctx;
    let Some(sender) = s.sender.clone() else {
        return opening.set(Opening::Failed(
            "The sender's keys could not be checked (see above), so the fax stays closed.".into(),
        ));
    };
    opening.set(Opening::Working("Checking the fax…".into()));
    match holds(vault, &s.env.recipient_bundle_id) {
        None => return opening.set(Opening::Failed("Your keys were locked. Unlock them and open again.".into())),
        Some(false) => return opening.set(Opening::Stale(stale_text(&s.env.recipient_bundle_id))),
        Some(true) => {}
    }
    let numbers: Vec<String> = match http::get::<Org>("/org").await {
        Ok(org) => org.numbers.into_iter().map(|n| n.number).collect(),
        Err(f) => return opening.set(Opening::Failed(f.message)),
    };
    let sender_bundle = match sender.bundle(&s.env.sender_bundle_id) {
        Ok(b) => b.clone(),
        Err(e) => return opening.set(unverified(&e)),
    };
    let opener = vault.with(|k| {
        let recipient = Recipient { org_id: &s.org_id, numbers: &numbers, bundles: &k.bundles };
        Opener::new(&s.env, &sender.identity_pub, &sender_bundle, &recipient)
    });
    let opener = match opener {
        None => return opening.set(Opening::Failed("Your keys were locked. Unlock them and open again.".into())),
        Some(Err(Error::Open(OpenError::UnknownRecipientBundle))) => {
            return opening.set(Opening::Stale(stale_text(&s.env.recipient_bundle_id)));
        }
        Some(Err(e)) => return opening.set(unverified(&e)),
        Some(Ok(o)) => o,
    };
    let Some(sealed) = sealed_copy(ctx, &s).await else { return };
    let progress = move |done: u64, total: u64| {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        opening.set(Opening::Working(format!("Opening in this tab… {pct}%")));
    };
    let plain = match open::open_blob(opener, &sealed, progress).await {
        Ok(b) => b,
        Err(OpenFailure::Verification(e)) => return opening.set(unverified(&e)),
        Err(OpenFailure::Local(m)) => return opening.set(Opening::Failed(m)),
    };
    let kind = match open::head(&plain, sniff::HEAD_LEN).await {
        Ok(head) => sniff::sniff(&head),
        Err(m) => return opening.set(Opening::Failed(m)),
    };
    let typed = plain.slice_with_f64_and_f64_and_content_type(0.0, plain.size(), kind.mime);
    let Some(url) = typed.ok().and_then(|t| web_sys::Url::create_object_url_with_blob(&t).ok()) else {
        return opening.set(Opening::Failed("The browser could not show the fax.".into()));
    };
    let name = format!(
        "fax-{}-{}.{}",
        s.msg.from_number.trim_start_matches('+'),
        s.msg.message_id.get(..8).unwrap_or_default(),
        kind.extension
    );
    if kind != PDF && s.msg.status == MessageStatus::Queued {
        return opening.set(Opening::NotPdf { url, name, kind });
    }
    opening.set(Opening::Shown { url, name, kind });
    if s.msg.status == MessageStatus::Queued {
        send_receipt(ctx, &s.env).await;
    }
}

/// The sealed fax from this browser's archive; downloaded and kept there
/// first if it is not. `None` (with the page told why) if neither works.
async fn sealed_copy(ctx: Ctx, s: &Subject) -> Option<web_sys::Blob> {
    let opening = ctx.opening;
    let fail = |m: String| {
        opening.set(Opening::Failed(m));
        None
    };
    match archive::find(&s.org_id, &s.msg.message_id).await {
        Ok(Some(kept)) if kept.envelope == s.env => return Some(kept.ciphertext),
        Ok(_) => {}
        Err(m) => return fail(format!("{m} The fax was not opened and stays waiting on the relay.")),
    }
    if s.msg.status != MessageStatus::Queued {
        return fail("The relay no longer has this fax, and this browser does not keep a copy of it.".into());
    }
    let path = format!("/messages/{}/content", http::segment(&s.msg.message_id));
    let progress = move |done: u64, total: u64| {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        opening.set(Opening::Working(format!("Downloading the sealed fax into this browser… {pct}%")));
    };
    let blob = match open::download_sealed(&path, s.env.ciphertext_len, progress).await {
        Ok(b) => b,
        Err(m) => return fail(format!("{m} The fax is still waiting on the relay.")),
    };
    if let Err(m) = archive::keep(&s.org_id, &s.env, &blob).await {
        return fail(format!(
            "This browser could not keep a copy of the fax: {m} It was not opened, so the relay keeps it."
        ));
    }
    ctx.archived.update(|n| *n += 1);
    Some(blob)
}

/// Signs and posts the receipt for `env`; the page says how it went.
pub(super) async fn send_receipt(ctx: Ctx, env: &Envelope) {
    let receipt = ctx.vault.with(|k| Receipt::make(env, &k.bundles, files::now_secs()));
    let sent = match receipt {
        Some(Ok(r)) => http::post::<Message>(&format!("/messages/{}/receipt", http::segment(&env.message_id)), &r)
            .await
            .map_err(|f| f.message),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("your keys were locked".into()),
    };
    ctx.receipt_note.set(Some(match sent {
        Ok(_) => Ok("Receipt sent: the sender sees this fax as delivered. The relay has deleted its copy; this browser keeps the sealed fax (see “Where this fax is”).".into()),
        Err(m) => Err(format!("The receipt could not be sent ({m}). The fax stays in your inbox; open it again later to send the receipt.")),
    }));
    ctx.refetch.run(());
}
