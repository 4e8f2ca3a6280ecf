//! `proof export` and `proof verify` (docs/proof.md): a `.fxeproof` that shows
//! offline that the recipient's key signed for one fax (and, with the content
//! key, for one document). Everything cryptographic is `fxe_protocol::proof`.

use super::messages::{fetch, party_bundle, verified};
use super::{Ctx, message_id_arg};
use crate::cli::ProofCommand;
use crate::error::{CliError, Result, exit, io_err};
use crate::files;
use crate::http::Relay;
use crate::keys::LoadedKeys;
use crate::state::State;
use fxe_protocol::api::{Message, MessageStatus};
use fxe_protocol::envelope::{self, Envelope};
use fxe_protocol::proof::{self, Outcome, Party, Proof, ProofError};
use serde_json::json;
use std::io::{BufReader, Read};
use std::path::Path;
use zeroize::Zeroizing;

/// What `proof export --with-document` discloses, said where a person chooses it.
pub const DISCLOSURE: &str = "This proof discloses the fax's content key: it decrypts this one fax and nothing else \
     (no other fax, no key of your org). Share it with whom you would show the document.";

pub fn run(ctx: &Ctx, c: ProofCommand) -> Result<i32> {
    match c {
        ProofCommand::Export { message_id, out, with_document } => export(ctx, &message_id, &out, with_document),
        ProofCommand::Verify { file, document } => verify(ctx, &file, document.as_deref()),
    }
}

/// Why a message has no proof yet, or `None` when it has one (delivered or rejected).
pub fn unavailable(msg: &Message) -> Option<String> {
    match msg.status {
        MessageStatus::Delivered | MessageStatus::Rejected => None,
        s => Some(format!(
            "{} is {}: a proof needs the recipient's signed receipt or refusal",
            msg.message_id,
            s.as_str()
        )),
    }
}

/// Whether this side can disclose the content key: the recipient always, the sender when it kept it.
pub fn can_open(state: &State, keys: &LoadedKeys, env: &Envelope) -> bool {
    env.recipient_org_id == keys.keys.org_id || matches!(state.sent_cek(&keys.keys.org_id, env), Ok(Some(_)))
}

/// The content key of `env`: unwrapped again by the recipient, or the one the sender kept.
fn cek(state: &State, keys: &LoadedKeys, env: &Envelope) -> Result<Zeroizing<[u8; 32]>> {
    if env.recipient_org_id == keys.keys.org_id {
        return envelope::unwrap_cek(env, &keys.keys.bundles)
            .map_err(|e| CliError::msg(format!("cannot unwrap the content key of {}: {e}", env.message_id)));
    }
    state.sent_cek(&keys.keys.org_id, env)?.ok_or_else(|| {
        CliError::new(
            exit::ERROR,
            "no_content_key",
            format!("the content key of {} is not in {}", env.message_id, state.dir.display()),
        )
        .with_hint(
            "the sender keeps it only for faxes sent by this fxe-client with this state folder; \
             export without --with-document, or ask the recipient for a proof with the document",
        )
    })
}

fn outcome(msg: &Message, env: &Envelope, recipient_bundle: &fxe_protocol::bundle::Bundle) -> Result<Outcome> {
    if let Some(why) = unavailable(msg) {
        return Err(CliError::new(exit::ERROR, "no_proof_yet", why));
    }
    Ok(match msg.status {
        MessageStatus::Delivered => Outcome::Receipt(
            verified(msg, msg.receipt.as_ref(), "delivered", "receipt", |r| r.verify(env, recipient_bundle))?.clone(),
        ),
        _ => Outcome::Refusal(
            verified(msg, msg.refusal.as_ref(), "rejected", "refusal", |r| r.verify(env, recipient_bundle))?.clone(),
        ),
    })
}

/// Builds the proof of one of our messages from the relay's record and our keys and pins.
fn build(relay: &Relay, state: &State, keys: &LoadedKeys, id: &str, with_document: bool) -> Result<(Proof, Envelope)> {
    let (msg, env) = fetch(relay, id)?;
    let (s_id, s_bundle) = party_bundle(relay, state, keys, &env.sender_org_id, &env.sender_bundle_id)?;
    let (r_id, r_bundle) = party_bundle(relay, state, keys, &env.recipient_org_id, &env.recipient_bundle_id)?;
    let outcome = outcome(&msg, &env, &r_bundle)?;
    let mut p = Proof::new(
        env.clone(),
        Party { identity_pub: s_id, bundle: s_bundle },
        Party { identity_pub: r_id, bundle: r_bundle },
        outcome,
    );
    if with_document {
        p = p.with_opening(&*cek(state, keys, &env)?);
    }
    Ok((p, env))
}

fn export(ctx: &Ctx, id: &str, out: &Path, with_document: bool) -> Result<i32> {
    let id = message_id_arg(id)?;
    if out.exists() {
        return Err(files::refuse_overwrite(out));
    }
    let keys = ctx.keys()?;
    let relay = ctx.relay(&keys, "send")?;
    let state = ctx.state(&keys);
    let (p, env) = build(&relay, &state, &keys, &id, with_document)?;
    // Verified before it is written: a relay record that does not make a valid proof writes nothing.
    let mut statement = proof::verify(&p, None)
        .map_err(|e| failed(&e).with_hint("the relay's record does not make a valid proof; nothing was written"))?;
    // The recipient also checks the PDF it saved, when it still has it.
    let mut checked_against = None;
    if let Some(pdf) =
        state.received_file(&keys.keys.org_id, &env.sender_org_id, &env.message_id).filter(|_| with_document)
    {
        match verify_file(&p, Some(&pdf)) {
            Ok(st) => {
                statement = st;
                checked_against = Some(pdf);
            }
            Err(e) => ctx.out.warn(format!(
                "the saved copy {} is not the fax ({}); the proof is still valid",
                pdf.display(),
                e.message
            )),
        }
    }
    let json = p.to_json();
    files::write_atomic(out, json.as_bytes(), false)?;
    if with_document {
        ctx.out.note(DISCLOSURE);
    } else {
        ctx.out
            .note("Without --with-document the proof shows that this fax was received or refused, not which document.");
    }
    let v = json!({"path": out, "bytes": json.len(), "message_id": id, "with_document": with_document,
        "checked_against": checked_against, "statement": statement});
    ctx.out.result(&v, || format!("wrote {} ({} bytes)\n{}", out.display(), json.len(), statement.text()));
    Ok(exit::OK)
}

/// The one failed check, as an error naming it (kind = the check's code).
fn failed(e: &ProofError) -> CliError {
    match e {
        ProofError::Io(_) => CliError::new(exit::ERROR, "io", e.to_string()),
        ProofError::Malformed(_) => {
            CliError::new(exit::ERROR, "malformed", format!("the file is not a valid .fxeproof: {e}"))
        }
        _ => CliError::new(exit::ERROR, e.code(), format!("the proof does not verify: check {} failed: {e}", e.code())),
    }
}

fn verify_file(p: &Proof, document: Option<&Path>) -> Result<proof::Statement> {
    match document {
        None => proof::verify(p, None).map_err(|e| failed(&e)),
        Some(path) => {
            let f = std::fs::File::open(path).map_err(io_err(format!("cannot read {}", path.display())))?;
            proof::verify_reader(p, Some(BufReader::with_capacity(1 << 20, f))).map_err(|e| failed(&e))
        }
    }
}

fn verify(ctx: &Ctx, file: &Path, document: Option<&Path>) -> Result<i32> {
    let f = std::fs::File::open(file).map_err(io_err(format!("cannot read {}", file.display())))?;
    let mut bytes = Vec::new();
    f.take(proof::MAX_PROOF_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(format!("cannot read {}", file.display())))?;
    let p = Proof::from_json(&bytes).map_err(|e| failed(&e))?;
    let statement = verify_file(&p, document)?;
    ctx.out.result(&json!({"verified": true, "statement": statement}), || statement.text());
    Ok(exit::OK)
}
