//! `rotate-bundle`, `api-key create|list|revoke`, `keys show|export`.

use super::Ctx;
use super::onboarding::new_passphrase;
use crate::cli::{ApiKeyCommand, KeysCommand};
use crate::error::{CliError, Result, exit};
use crate::files;
use crate::http::encode;
use crate::keys;
use fxe_protocol::api::{ApiKeyInfo, CreateApiKeyRequest, OrgBundle, Page, PublishBundleRequest};
use fxe_protocol::apikey::{self, ApiKey};
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::encoding::b64u_encode;
use fxe_protocol::keyszip::KeysKind;
use fxe_protocol::keyszip::StoredApiKey;
use reqwest::Method;
use serde_json::{Value, json};

pub fn rotate_bundle(ctx: &Ctx) -> Result<i32> {
    let loaded = ctx.keys()?;
    let identity = loaded.keys.identity()?;
    let relay = ctx.relay(&loaded, "admin")?;
    let active = loaded.keys.active_bundle()?;
    let created_at = crate::now().max(active.bundle.created_at + 1);
    let new = BundleKeys::generate(identity, created_at)?;
    let mut keys = loaded.keys.clone();
    keys.bundles.push(new.clone());
    // The new keys.zip is on disk (beside the old one) before the relay learns
    // of the bundle, and replaces the old one only once it is published.
    let staged = loaded.stage(&keys)?;
    let _: OrgBundle = relay.post("/bundles", &PublishBundleRequest { bundle: new.bundle.clone() })?;
    files::publish(staged, &loaded.path, true).map_err(|e| {
        CliError::msg(format!(
            "the bundle was published but {} could not be replaced: {}",
            loaded.path.display(),
            e.message
        ))
    })?;
    let state = ctx.state(&loaded);
    // Our own org, if pinned here, moves on to the new bundle.
    if let Ok(mut pins) = state.load_pins()
        && pins.orgs.contains_key(&keys.org_id)
        && pins.check_and_record(None, &keys.identity_pub, &new.bundle).is_ok()
    {
        let _ = state.save_pins(&pins);
    }
    ctx.out.result(
        &json!({"bundle_id": new.bundle.bundle_id, "created_at": created_at, "previous_bundle_id": active.bundle.bundle_id, "keys": loaded.path, "bundles": keys.bundles.len()}),
        || format!("Published bundle {} (previous {} kept for opening older faxes).\n{} rewritten; back it up again.", new.bundle.bundle_id, active.bundle.bundle_id, loaded.path.display()),
    );
    Ok(exit::OK)
}

pub fn api_key(ctx: &Ctx, c: ApiKeyCommand) -> Result<i32> {
    let loaded = ctx.keys()?;
    let relay = ctx.relay(&loaded, "admin")?;
    match c {
        ApiKeyCommand::Create { scopes, label } => {
            loaded.keys.identity()?;
            let scopes: Vec<String> =
                scopes.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
            apikey::validate_scopes(&scopes)
                .map_err(|e| CliError::new(exit::USAGE, "invalid_scopes", e.to_string()))?;
            let key = ApiKey::generate()?;
            let body = CreateApiKeyRequest {
                public_key: b64u_encode(&key.public()),
                scopes: scopes.clone(),
                label,
                proof: b64u_encode(&key.registration_proof(&loaded.keys.org_id, &scopes)),
            };
            let mut keys = loaded.keys.clone();
            keys.api_keys.push(StoredApiKey { key: key.clone(), scopes: scopes.clone() });
            let staged = loaded.stage(&keys)?;
            let info: ApiKeyInfo = relay.post("/api-keys", &body)?;
            files::publish(staged, &loaded.path, true)?;
            ctx.out.result(&serde_json::to_value(&info).unwrap_or_default(), || {
                format!("Created API key {} ({}); added to {}.", info.key_id, scopes.join(","), loaded.path.display())
            });
        }
        ApiKeyCommand::List => {
            let page: Page<ApiKeyInfo> = relay.get("/api-keys?limit=500")?;
            ctx.out.result(&serde_json::to_value(&page).unwrap_or_default(), || {
                let mut s = format!("{:<28}  {:<20}  {:<20}  {}\n", "KEY", "SCOPES", "CREATED", "STATE");
                for k in &page.items {
                    let state = match &k.revoked_at {
                        Some(at) => format!("revoked {at}"),
                        None => "active".into(),
                    };
                    s.push_str(&format!(
                        "{:<28}  {:<20}  {:<20}  {state}  {}\n",
                        k.key_id,
                        k.scopes.join(","),
                        k.created_at,
                        k.label
                    ));
                }
                s
            });
        }
        ApiKeyCommand::Revoke { key_id } => {
            apikey::validate_key_id(&key_id)
                .map_err(|e| CliError::new(exit::USAGE, "invalid_key_id", e.to_string()))?;
            // A revoked key is also dropped from keys.zip, so no command signs with it again.
            let held = loaded.keys.api_keys.iter().any(|k| k.key.key_id() == key_id);
            let staged = if held {
                let mut keys = loaded.keys.clone();
                keys.api_keys.retain(|k| k.key.key_id() != key_id);
                Some(loaded.stage(&keys)?)
            } else {
                None
            };
            let _: Value = relay.call(Method::DELETE, &format!("/api-keys/{}", encode(&key_id)), None::<&()>)?;
            if let Some(staged) = staged {
                files::publish(staged, &loaded.path, true)?;
            }
            ctx.out.result(&json!({"key_id": key_id, "revoked": true, "removed_from_keys": held}), || {
                if held {
                    format!("Revoked {key_id} and removed it from {}.", loaded.path.display())
                } else {
                    format!("Revoked {key_id}.")
                }
            });
        }
    }
    Ok(exit::OK)
}

pub fn keys(ctx: &Ctx, c: KeysCommand) -> Result<i32> {
    let loaded = ctx.keys()?;
    let k = &loaded.keys;
    match c {
        KeysCommand::Show => {
            let active = k.active_bundle()?.bundle.bundle_id.clone();
            let bundles: Vec<Value> = k
                .bundles
                .iter()
                .map(|b| json!({"bundle_id": b.bundle.bundle_id, "created_at": b.bundle.created_at, "active": b.bundle.bundle_id == active}))
                .collect();
            let api_keys: Vec<Value> =
                k.api_keys.iter().map(|a| json!({"key_id": a.key.key_id(), "scopes": a.scopes})).collect();
            let v = json!({
                "org_id": k.org_id, "org_name": k.org_name, "fingerprint": k.fingerprint(), "relay_url": k.relay_url,
                "kind": k.kind().as_str(), "protected": loaded.passphrase.is_some(),
                "bundles": bundles, "api_keys": api_keys,
            });
            ctx.out.result(&v, || {
                let mut s = format!(
                    "Organization: {}\nOrg id:       {}\nFingerprint:  {}\nRelay:        {}\nkeys.zip:     {}{}\nBundles:\n",
                    k.org_name,
                    k.org_id,
                    k.fingerprint(),
                    k.relay_url,
                    match k.kind() {
                        KeysKind::Full => "full (holds the identity secret)",
                        KeysKind::Machine => "machine (no identity secret)",
                        KeysKind::Staff => "staff (no identity secret, no API keys)",
                    },
                    if loaded.passphrase.is_some() { ", passphrase-protected" } else { "" },
                );
                for b in &k.bundles {
                    let mark = if b.bundle.bundle_id == active { "  (active)" } else { "" };
                    s.push_str(&format!("  {}  created {}{mark}\n", b.bundle.bundle_id, crate::output::unix_time(b.bundle.created_at)));
                }
                s.push_str("API keys:\n");
                for a in &k.api_keys {
                    s.push_str(&format!("  {}  {}\n", a.key.key_id(), a.scopes.join(",")));
                }
                s
            });
        }
        KeysCommand::Export { machine, staff, out, out_passphrase, protect } => {
            let copy = if staff {
                k.staff()
            } else if machine {
                k.machine()
            } else {
                k.clone()
            };
            if out.exists() {
                return Err(files::refuse_overwrite(&out));
            }
            let pass = new_passphrase(out_passphrase.as_deref(), protect)?;
            let zip = keys::to_zip(&copy, pass.as_deref().map(|s| s.as_str()))?;
            files::write_atomic(&out, &zip, false)?;
            let kind = copy.kind().as_str();
            ctx.out.result(&json!({"out": out, "kind": kind, "protected": pass.is_some()}), || {
                format!(
                    "Wrote {} ({kind} keys.zip{}).",
                    out.display(),
                    if pass.is_some() { ", passphrase-protected" } else { "" }
                )
            });
        }
    }
    Ok(exit::OK)
}
