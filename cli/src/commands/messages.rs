//! `lookup`, `send`, `inbox`/`outbox`, `status`, `reject`, `trust`.

use super::{Ctx, message_id_arg, number_arg};
use crate::cli::{ListArgs, SendArgs};
use crate::crypto;
use crate::directory::{self, Verified};
use crate::error::{CliError, Result, exit, io_err};
use crate::files;
use crate::http::{Relay, encode};
use crate::keys::LoadedKeys;
use crate::output::{self, ProgressReader};
use crate::state::State;
use fxe_protocol::api::{CreateMessageRequest, CreateMessageResponse, Message, MessageStatus, NumberStatus, Org, Page};
use fxe_protocol::bundle::Bundle;
use fxe_protocol::envelope::{CONTENT_TYPE_PDF, Envelope, SealRandomness, SealRequest};
use fxe_protocol::receipt::{Refusal, RefusalReason};
use serde_json::{Value, json};
use std::io::{Seek, SeekFrom};
use std::time::{Duration, Instant};

pub fn lookup(ctx: &Ctx, number: &str) -> Result<i32> {
    let number = number_arg(number)?;
    let keys = ctx.keys()?;
    let relay = ctx.relay(&keys, "send")?;
    match directory::lookup(&relay, &ctx.state(&keys), &number)? {
        Some(v) => {
            ctx.out.result(&v.to_json(), || describe(&v));
            Ok(exit::OK)
        }
        None => {
            ctx.out.result(&json!({"on_network": false, "number": number}), || {
                format!("{number} is not on the fxe network")
            });
            Ok(exit::NOT_ON_NETWORK)
        }
    }
}

fn describe(v: &Verified) -> String {
    let mut s = String::new();
    if let Some(n) = &v.number {
        s.push_str(&format!("{n} is on the fxe network\n"));
    }
    s.push_str(&format!(
        "Organization: {}\nOrg id:       {}\nFingerprint:  {}\nBundle:       {} (created {})",
        v.org_name,
        v.org_id,
        v.fingerprint(),
        v.bundle.bundle_id,
        output::unix_time(v.bundle.created_at)
    ));
    if v.first_contact {
        s.push_str("\nFirst contact: pinned now. Check the fingerprint with the organization out of band.");
    }
    s
}

/// The number to send from when `--from` is not given: the org's only active number.
fn only_active_number(org: &Org) -> Result<String> {
    let mut active: Vec<&str> =
        org.numbers.iter().filter(|n| n.status == NumberStatus::Active).map(|n| n.number.as_str()).collect();
    active.sort_unstable();
    match active[..] {
        [only] => Ok(only.to_owned()),
        [] => Err(CliError::new(
            exit::ERROR,
            "no_active_number",
            format!("{} has no active number to send from", org.org_name),
        )
        .with_hint("an admin claims one on the Numbers page (POST /numbers) and the relay operator approves it")),
        _ => Err(CliError::new(
            exit::USAGE,
            "from_required",
            format!("{} has {} active numbers: {}", org.org_name, active.len(), active.join(", ")),
        )
        .with_hint("pass --from with the one to send from")),
    }
}

pub fn send(ctx: &Ctx, a: SendArgs) -> Result<i32> {
    let meta = std::fs::metadata(&a.file).map_err(io_err(format!("cannot read {}", a.file.display())))?;
    if !meta.is_file() {
        return Err(CliError::msg(format!("{} is not a file", a.file.display())));
    }
    if !files::looks_like_pdf(&a.file)? {
        if !a.force {
            return Err(CliError::new(
                exit::ERROR,
                "not_a_pdf",
                format!("{} is not a PDF (it does not start with %PDF-)", a.file.display()),
            )
            .with_hint("pass --force to send it anyway"));
        }
        ctx.out.warn(format!("{} is not a PDF; sending it anyway (--force)", a.file.display()));
    }
    let to = number_arg(&a.to)?;
    let from = a.from.as_deref().map(number_arg).transpose()?;
    let keys = ctx.keys()?;
    let relay = ctx.relay(&keys, "send")?;
    let from = match from {
        Some(from) => from,
        None => only_active_number(&relay.get::<Org>("/org")?)?,
    };
    let state = ctx.state(&keys);
    let recipient = directory::lookup(&relay, &state, &to)?.ok_or_else(|| CliError::not_on_network(&to))?;
    if recipient.first_contact {
        ctx.out.note(format!(
            "First contact with {} ({to}): fingerprint {} pinned.",
            recipient.org_name,
            recipient.fingerprint()
        ));
    }

    let message_id = fxe_protocol::encoding::new_uuid_v4()?;
    let req = SealRequest {
        message_id: &message_id,
        created_at: crate::now(),
        sender: keys.keys.active_bundle()?,
        recipient_identity_pub: &recipient.identity_pub,
        recipient_bundle: &recipient.bundle,
        from_number: &from,
        from_name: &a.from_name,
        to_number: &to,
        content_type: CONTENT_TYPE_PDF,
        chunk_size: fxe_protocol::stream::V1_CHUNK_SIZE,
    };
    let mut sealed = tempfile::tempfile().map_err(io_err("cannot create a temporary file"))?;
    let rnd = SealRandomness::random()?;
    let cek = rnd.cek.clone();
    let env = crypto::seal_file(&req, rnd, &a.file, &sealed, ctx.out.bar(meta.len(), "sealing"))?;
    // Kept before the relay hears of the fax, so a delivered fax always has it (proof export --with-document).
    state.keep_sent_cek(&keys.keys.org_id, &env, &cek)?;

    let _: CreateMessageResponse = relay.post("/messages", &CreateMessageRequest { envelope: env.clone() })?;
    sealed.seek(SeekFrom::Start(0)).map_err(io_err("cannot read the sealed file"))?;
    let reader = ProgressReader { inner: sealed, bar: ctx.out.bar(env.ciphertext_len, "uploading") };
    let uploaded: Message = relay.upload(&format!("/messages/{message_id}/content"), reader, env.ciphertext_len)?;
    let sent = json!({
        "message_id": message_id,
        "status": uploaded.status,
        "to_number": to,
        "from_number": from,
        "recipient_org_id": recipient.org_id,
        "recipient_org_name": recipient.org_name,
        "recipient_fingerprint": recipient.fingerprint(),
        "ciphertext_len": env.ciphertext_len,
    });
    if !a.wait {
        ctx.out.result(&sent, || message_id.clone());
        return Ok(exit::OK);
    }
    ctx.out.note(format!("Sent {message_id}; waiting for the receipt..."));
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    loop {
        let msg: Message = relay.get(&format!("/messages/{message_id}"))?;
        if !matches!(msg.status, MessageStatus::Queued | MessageStatus::AwaitingUpload) {
            let (verdict, code) = verdict(&msg, &env, &recipient.bundle)?;
            let mut out = sent.clone();
            merge(&mut out, verdict.clone());
            ctx.out.result(&out, || format!("{message_id}\n{}", verdict["summary"].as_str().unwrap_or_default()));
            return Ok(code);
        }
        if Instant::now() >= deadline {
            let mut out = sent;
            merge(&mut out, json!({"status": msg.status, "summary": "no receipt yet"}));
            ctx.out.result(&out, || message_id.clone());
            return Err(CliError::new(
                exit::TIMEOUT,
                "timeout",
                format!("no receipt for {message_id} within {} s (still {})", a.timeout, msg.status.as_str()),
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// A finished message's outcome, with its receipt or refusal verified against
/// the bundle the message was sealed to. Exit 0 delivered, 7 otherwise.
fn verdict(msg: &Message, env: &Envelope, recipient_bundle: &Bundle) -> Result<(Value, i32)> {
    Ok(match msg.status {
        MessageStatus::Delivered => {
            let r = verified(msg, msg.receipt.as_ref(), "delivered", "receipt", |r| r.verify(env, recipient_bundle))?;
            let at = output::unix_time(r.received_at);
            (
                json!({"status": "delivered", "receipt_verified": true, "received_at": at,
                    "summary": format!("delivered: receipt signed by the recipient and verified (received {at})")}),
                exit::OK,
            )
        }
        MessageStatus::Rejected => {
            let r = verified(msg, msg.refusal.as_ref(), "rejected", "refusal", |r| r.verify(env, recipient_bundle))?;
            let reason = r.reason.as_str();
            (
                json!({"status": "rejected", "refusal_verified": true, "reason": reason,
                    "summary": format!("refused by the recipient ({reason}); the refusal is signed and verified")}),
                exit::REFUSED,
            )
        }
        MessageStatus::Queued | MessageStatus::AwaitingUpload => {
            (json!({"status": msg.status, "summary": format!("{}: not received yet", msg.status.as_str())}), exit::OK)
        }
        s => (json!({"status": s, "summary": format!("{}: the fax was not delivered", s.as_str())}), exit::REFUSED),
    })
}

/// The receipt or refusal (`what`) that a message in `state` must carry, checked with `verify`:
/// an error if it is missing, and a `bad_receipt` error (the relay may be hostile) if it does not verify.
pub(super) fn verified<'a, T>(
    msg: &Message, signed: Option<&'a T>, state: &str, what: &str, verify: impl FnOnce(&T) -> fxe_protocol::Result<()>,
) -> Result<&'a T> {
    let s = signed.ok_or_else(|| CliError::msg(format!("{} is {state} but has no {what}", msg.message_id)))?;
    verify(s).map_err(|e| {
        CliError::new(exit::ERROR, "bad_receipt", format!("the {what} of {} does not verify: {e}", msg.message_id))
            .with_hint("the relay may be faulty or hostile: do not treat the fax as delivered")
    })?;
    Ok(s)
}

/// The message with its envelope (`GET /messages/{id}`).
pub fn fetch(relay: &Relay, id: &str) -> Result<(Message, Envelope)> {
    let msg: Message = relay.get(&format!("/messages/{id}"))?;
    let env = msg.envelope.clone().ok_or_else(|| CliError::msg(format!("the relay sent {id} without its envelope")))?;
    if env.message_id != id || env.hash_hex() != msg.envelope_hash {
        return Err(CliError::msg(format!("the relay's envelope for {id} does not match the message")));
    }
    Ok((msg, env))
}

/// The identity and bundle `bundle_id` of the org `org_id`: ours from keys.zip, or another
/// org's from the relay, verified against its pinned identity.
pub(super) fn party_bundle(
    relay: &Relay, state: &State, keys: &LoadedKeys, org_id: &str, bundle_id: &str,
) -> Result<([u8; 32], Bundle)> {
    if org_id != keys.keys.org_id {
        return directory::org_bundle(relay, state, org_id, bundle_id);
    }
    keys.keys
        .bundles
        .iter()
        .find(|b| b.bundle.bundle_id == bundle_id)
        .map(|b| (keys.keys.identity_pub, b.bundle.clone()))
        .ok_or_else(|| CliError::msg(format!("bundle {bundle_id} of this org is not in keys.zip")))
}

/// The bundle a message was sealed to: ours, or the recipient's (pinned) as its sender.
fn recipient_bundle(relay: &Relay, state: &State, keys: &LoadedKeys, env: &Envelope) -> Result<Bundle> {
    party_bundle(relay, state, keys, &env.recipient_org_id, &env.recipient_bundle_id)
        .map(|(_, b)| b)
        .map_err(|e| CliError { message: format!("{}: {}", env.message_id, e.message), ..e })
}

pub fn status(ctx: &Ctx, id: &str) -> Result<i32> {
    let id = message_id_arg(id)?;
    let keys = ctx.keys()?;
    let relay = ctx.relay(&keys, "send")?;
    let (msg, env) = fetch(&relay, &id)?;
    let state = ctx.state(&keys);
    let bundle = recipient_bundle(&relay, &state, &keys, &env)?;
    let (mut verdict, code) = verdict(&msg, &env, &bundle)?;
    if super::proof::unavailable(&msg).is_none() {
        let with_document = super::proof::can_open(&state, &keys, &env);
        let how = if with_document { " [--with-document]" } else { "" };
        let line = format!("proof available: fxe-client proof export {id} --out {id}.fxeproof{how}");
        merge(&mut verdict, json!({"proof_available": true, "proof_with_document": with_document}));
        if let Some(s) = verdict["summary"].as_str() {
            verdict["summary"] = json!(format!("{s}\n{line}"));
        }
    } else {
        merge(&mut verdict, json!({"proof_available": false}));
    }
    let mut out = serde_json::to_value(&msg).unwrap_or_default();
    if let Some(o) = out.as_object_mut() {
        o.remove("envelope");
    }
    merge(&mut out, verdict.clone());
    ctx.out.result(&out, || {
        format!(
            "{id}\nstatus:  {}\nfrom:    {}\nto:      {}\ncreated: {}\n{}",
            msg.status.as_str(),
            format!("{} {}", msg.from_number, msg.from_name).trim_end(),
            msg.to_number,
            msg.created_at,
            verdict["summary"].as_str().unwrap_or_default()
        )
    });
    Ok(code)
}

pub fn reject(ctx: &Ctx, id: &str, reason: &str) -> Result<i32> {
    let id = message_id_arg(id)?;
    let reason =
        RefusalReason::parse(reason).map_err(|e| CliError::new(exit::USAGE, "invalid_reason", e.to_string()))?;
    let keys = ctx.keys()?;
    let relay = ctx.relay(&keys, "receive")?;
    let (_, env) = fetch(&relay, &id)?;
    let msg = send_refusal(&relay, &keys, &env, reason)?;
    ctx.out.result(&json!({"message_id": id, "status": msg.status, "reason": reason.as_str()}), || {
        format!("{id} refused ({})", reason.as_str())
    });
    Ok(exit::OK)
}

/// Signs and posts a refusal for `env`.
pub fn send_refusal(relay: &Relay, keys: &LoadedKeys, env: &Envelope, reason: RefusalReason) -> Result<Message> {
    let refusal = Refusal::make(env, &keys.keys.bundles, crate::now(), reason)?;
    relay.post(&format!("/messages/{}/reject", env.message_id), &refusal)
}

pub fn list(ctx: &Ctx, box_: &str, a: ListArgs) -> Result<i32> {
    let mut query = format!("/messages?box={box_}&limit={}", a.limit.clamp(1, 500));
    if let Some(s) = &a.status {
        if MessageStatus::parse(s).is_none() {
            return Err(CliError::new(
                exit::USAGE,
                "invalid_status",
                format!("unknown status {s:?}: awaiting_upload, queued, delivered, rejected, expired or failed"),
            ));
        }
        query.push_str(&format!("&status={s}"));
    }
    if let Some(n) = &a.number {
        query.push_str(&format!("&number={}", encode(&number_arg(n)?)));
    }
    let keys = ctx.keys()?;
    let relay = ctx.relay(&keys, if box_ == "inbox" { "receive" } else { "send" })?;
    let page: Page<Message> = relay.get(&query)?;
    ctx.out.result(&serde_json::to_value(&page).unwrap_or_default(), || {
        if page.items.is_empty() {
            return format!("(no messages in the {box_})");
        }
        let mut s = format!(
            "{:<36}  {:<15}  {:<16}  {:<16}  {:>10}  {}\n",
            "MESSAGE", "STATUS", "FROM", "TO", "BYTES", "CREATED"
        );
        for m in &page.items {
            s.push_str(&format!(
                "{:<36}  {:<15}  {:<16}  {:<16}  {:>10}  {}\n",
                m.message_id,
                m.status.as_str(),
                m.from_number,
                m.to_number,
                m.ciphertext_len,
                m.created_at
            ));
        }
        s
    });
    Ok(exit::OK)
}

pub fn trust(ctx: &Ctx, target: &str, fingerprint: &str) -> Result<i32> {
    let keys = ctx.keys()?;
    let relay = ctx.relay(&keys, "send")?;
    let v = directory::trust(&relay, &ctx.state(&keys), target.trim(), fingerprint)?;
    ctx.out.result(&v.to_json(), || format!("Trusted.\n{}", describe(&v)));
    Ok(exit::OK)
}
