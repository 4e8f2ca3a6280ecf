//! Proofs of delivery in the browser (docs/proof.md): a `.fxeproof` made on a
//! delivered or refused fax's page, and checked on `/verify`. Everything
//! cryptographic is `fxe_protocol::proof`; this module gathers what a proof
//! holds (the relay's record of the fax, both orgs' keys, the content key) and
//! hands files to and from the person.

pub mod sent_keys;

use fxe_protocol::{
    api::{Message, MessageStatus},
    envelope::{self, Envelope},
    proof::{self, Outcome, Party, Proof, ProofError, Statement},
};
use zeroize::Zeroizing;

use crate::{fax::peers, vault::Vault};

/// What exporting with the document discloses, said where a person chooses it (as the CLI says it).
pub const DISCLOSURE: &str = "A proof with the document discloses the fax's content key: it decrypts this one fax and nothing else (no other fax, no key of your organization). Share it with whom you would show the document.";

/// Whether `msg` can have a proof: the recipient signed a receipt or a refusal.
pub fn available(msg: &Message) -> bool {
    matches!(msg.status, MessageStatus::Delivered | MessageStatus::Rejected)
        && (msg.receipt.is_some() || msg.refusal.is_some())
}

/// The file name a proof of `message_id` is saved as.
pub fn file_name(message_id: &str) -> String {
    format!("fax-{message_id}.{}", proof::EXTENSION)
}

/// The one failed check, in words, with its code (docs/proof.md §3).
pub fn failure_text(e: &ProofError) -> String {
    match e {
        ProofError::Malformed(_) => format!("This is not a valid proof file ({e})."),
        ProofError::Io(_) => e.to_string(),
        _ => format!("The proof does not verify: check {} failed: {e}.", e.code()),
    }
}

/// The content key of `env` for org `me`: unwrapped again by the recipient (keys unlocked
/// in `vault`), or the one this browser kept when it sent the fax. The error is in words.
pub fn content_key(vault: Vault, me: &str, env: &Envelope) -> Result<Zeroizing<[u8; 32]>, String> {
    if env.recipient_org_id == me {
        return match vault.with(|k| envelope::unwrap_cek(env, &k.bundles)) {
            None => Err("Unlock your keys on this page to export the proof with the document.".into()),
            Some(Err(e)) => Err(format!("Your keys cannot unwrap this fax's content key ({e}).")),
            Some(Ok(cek)) => Ok(cek),
        };
    }
    sent_keys::find(me, env).ok_or_else(|| {
        "This browser did not keep this fax's content key (it was sent from another browser, or this site's data was cleared). Export the proof without the document, or ask the recipient for a proof with the document.".into()
    })
}

/// Builds and verifies the proof of `msg` for org `me`, with the content key when `cek` is
/// given. Both orgs' keys come from the relay, verified (and the other's checked against
/// this browser's pins); the proof is verified before it is offered, as docs/proof.md §7 asks.
pub async fn build(
    me: &str, msg: &Message, env: &Envelope, cek: Option<&[u8; 32]>,
) -> Result<(Proof, Statement), String> {
    let party = |keys: &fxe_protocol::directory::OrgKeys, bundle_id: &str| -> Result<Party, String> {
        let bundle = keys.bundle(bundle_id).map_err(|e| e.to_string())?.clone();
        Ok(Party { identity_pub: keys.identity_pub, bundle })
    };
    let sender = peers::org(me, &env.sender_org_id).await.map_err(|e| e.message())?.value;
    let recipient = peers::org(me, &env.recipient_org_id).await.map_err(|e| e.message())?.value;
    let outcome = match (&msg.receipt, &msg.refusal) {
        (Some(r), _) => Outcome::Receipt(r.clone()),
        (None, Some(r)) => Outcome::Refusal(r.clone()),
        (None, None) => return Err("The recipient has not signed a receipt or a refusal for this fax yet.".into()),
    };
    let mut p = Proof::new(
        env.clone(),
        party(&sender, &env.sender_bundle_id)?,
        party(&recipient, &env.recipient_bundle_id)?,
        outcome,
    );
    if let Some(cek) = cek {
        p = p.with_opening(cek);
    }
    let statement = proof::verify(&p, None).map_err(|e| {
        format!(
            "The relay's record of this fax does not make a valid proof, so nothing was saved. {}",
            failure_text(&e)
        )
    })?;
    Ok((p, statement))
}

/// Reads and verifies a proof file, and the document when one is given.
pub fn check(proof_bytes: &[u8], document: Option<&[u8]>) -> Result<Statement, ProofError> {
    let p = Proof::from_json(proof_bytes)?;
    proof::verify(&p, document)
}
