//! `redeem`: join a relay with an invite.

use super::Ctx;
use crate::cli::RedeemArgs;
use crate::error::{CliError, Result, exit, io_err};
use crate::files;
use crate::http::Relay;
use crate::keys;
use fxe_protocol::api::RedeemResponse;
use fxe_protocol::redeem::{RedeemInput, Redemption};
use serde_json::json;
use std::io::Write;
use zeroize::Zeroizing;

/// The token itself, also when the whole `/redeem?token=…` link was pasted.
fn token_arg(s: &str) -> String {
    let s = s.trim();
    match s.split_once("token=") {
        Some((_, rest)) => rest.split('&').next().unwrap_or(rest).to_owned(),
        None => s.to_owned(),
    }
}

/// A new passphrase, typed twice.
pub fn new_passphrase(given: Option<&str>, ask: bool) -> Result<Option<Zeroizing<String>>> {
    if let Some(p) = given {
        return Ok(Some(Zeroizing::new(p.to_owned())));
    }
    if !ask {
        return Ok(None);
    }
    let first = keys::prompt_passphrase("New passphrase for keys.zip: ")?;
    let second = keys::prompt_passphrase("Repeat it: ")?;
    if first != second {
        return Err(CliError::msg("the passphrases differ"));
    }
    Ok(Some(first))
}

pub fn redeem(ctx: &Ctx, a: RedeemArgs) -> Result<i32> {
    let relay_url = ctx.global.relay.as_deref().ok_or_else(|| {
        CliError::new(exit::USAGE, "relay_required", "redeem needs --relay URL (the relay named in your invite)")
    })?;
    let relay = Relay::new(relay_url, None)?;
    let numbers = fxe_protocol::e164::normalize_list(&a.numbers)
        .map_err(|e| CliError::new(exit::USAGE, "invalid_number", e.to_string()))?;
    if numbers.is_empty() {
        return Err(CliError::new(exit::USAGE, "invalid_number", "--numbers names no number"));
    }
    if a.out.exists() {
        return Err(files::refuse_overwrite(&a.out));
    }
    let passphrase = new_passphrase(ctx.global.passphrase.as_deref(), a.protect)?;
    let token = token_arg(&a.token);
    let now = crate::now();

    let Redemption { request: body, keys } = fxe_protocol::redeem::prepare(&RedeemInput {
        token: &token,
        org_name: &a.org_name,
        numbers: &numbers,
        admin_email: &a.admin_email,
        relay_url: relay.base(),
        now,
        api_key_label: "fxe-client redeem",
    })
    .map_err(|e| CliError::msg(format!("cannot make the org's keys: {e}")))?;
    let org_id = keys.org_id.clone();
    // keys.zip is written (to a temporary file beside --out) before the relay
    // learns of the keys: a redeemed org never exists without its keys on disk.
    let zip = keys::to_zip(&keys, passphrase.as_deref().map(|s| s.as_str()))?;
    let mut tmp = files::temp_next_to(&a.out)?;
    tmp.write_all(&zip).map_err(io_err(format!("cannot write {}", a.out.display())))?;
    tmp.as_file().sync_all().map_err(io_err(format!("cannot write {}", a.out.display())))?;

    let answer: RedeemResponse = relay.post("/invites/redeem", &body)?;
    files::publish(tmp, &a.out, false).map_err(|e| {
        CliError::msg(format!(
            "the org was redeemed but keys.zip could not be written to {}: {}",
            a.out.display(),
            e.message
        ))
    })?;
    let fingerprint = keys.fingerprint();
    let (log_json, log_text) = pin_log_policy(ctx, &relay, &keys, &a)?;
    ctx.out.result(
        &json!({
            "org_id": org_id,
            "org_name": a.org_name,
            "fingerprint": fingerprint,
            "numbers": numbers,
            "keys": a.out,
            "protected": passphrase.is_some(),
            "setup_url": answer.setup_url,
            "log_policy": log_json,
        }),
        || {
            format!(
                "Redeemed: {} (org {org_id})\nFingerprint: {fingerprint}\nKeys written to {}{}\n\
                 Keep keys.zip offline and backed up: the relay cannot regenerate it.\n\n{log_text}\n\n\
                 Set up the admin's passkey (single use, expires in 24 h):\n  {}",
                a.org_name,
                a.out.display(),
                if passphrase.is_some() { " (passphrase-protected)" } else { "" },
                answer.setup_url
            )
        },
    );
    Ok(exit::OK)
}

/// Pins the relay's transparency log policy for the new org (docs/transparency.md §4.1), in
/// the state folder (`--state-dir`, else keys.zip's). keys.zip is already written: a failure
/// here says so, and `fxe-client log pin` can finish the job.
fn pin_log_policy(
    ctx: &Ctx, relay: &Relay, keys: &fxe_protocol::keyszip::OrgKeys, a: &RedeemArgs,
) -> Result<(serde_json::Value, String)> {
    let state = crate::state::State::new(ctx.global.state_dir.as_deref(), &a.out);
    let key = keys.api_keys.first().map(|k| k.key.clone());
    let signed = Relay::new(relay.base(), key)?;
    let redeemed = |e: CliError| CliError {
        message: format!("the org was redeemed and keys.zip written, but {}", e.message),
        ..e
    };
    match super::log::pin_offered(&signed, &state.dir, a.log_fingerprint.as_deref()) {
        Ok(policy) => {
            let (json, text) = super::log::describe_policy(&policy);
            Ok((json, format!("{text}\nPinned. Check this policy fingerprint with your relay operator out of band.")))
        }
        Err(e) if e.status == Some(404) && a.log_fingerprint.is_none() => Ok((
            serde_json::Value::Null,
            "This relay publishes no transparency log: directory answers are checked against pins only.".to_owned(),
        )),
        Err(e) => Err(redeemed(e)),
    }
}
