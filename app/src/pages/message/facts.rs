//! The fax's timeline and the receipt or refusal as verified in this browser.

use fxe_protocol::api::{Message, MessageStatus};
use leptos::prelude::*;

use super::Proof;
use crate::components::{Alert, unix_date, when};

pub(super) fn timeline(msg: &Message) -> AnyView {
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

pub(super) fn proof_view(msg: &Message, proof: &Proof, incoming: bool) -> AnyView {
    let what = if msg.receipt.is_some() { "receipt" } else { "refusal" };
    let outcome = if msg.receipt.is_some() { "delivered" } else { "refused" };
    match proof.clone() {
        Proof::None => ().into_any(),
        Proof::Verified => {
            let who = if incoming { "your organization" } else { "the recipient" };
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
