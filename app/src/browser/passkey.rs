//! Passkeys in the browser: the relay's WebAuthn options (JSON, base64url)
//! go through `PublicKeyCredential.parse…OptionsFromJSON`, the authenticator
//! answers through `navigator.credentials`, and `credential.toJSON()` is what
//! the relay reads back.

use js_sys::{Function, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Why no credential came back, in words for people.
#[derive(Clone, Debug, PartialEq)]
pub struct PasskeyFailure(pub String);

impl std::fmt::Display for PasskeyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn unsupported() -> PasskeyFailure {
    PasskeyFailure(
        "This browser cannot use passkeys on this page. Use a current version of Chrome, Edge, Firefox or Safari."
            .into(),
    )
}

/// The words for a DOMException from `navigator.credentials`.
fn explain(error: JsValue, creating: bool) -> PasskeyFailure {
    let name = error.dyn_ref::<web_sys::DomException>().map(|e| e.name()).unwrap_or_default();
    PasskeyFailure(match name.as_str() {
        "NotAllowedError" => {
            if creating {
                "No passkey was created: the request was cancelled or timed out. Try again when you are ready.".into()
            } else {
                "No passkey was used: the request was cancelled or timed out, or this device has no passkey for this relay.".into()
            }
        }
        "InvalidStateError" => "This authenticator already holds a passkey for your account here. Use another device or security key, or sign in with the one you have.".into(),
        "SecurityError" => "The browser refused passkeys for this address. Open the relay by its name (for example http://localhost:3000, not an IP address) or over https.".into(),
        "NotSupportedError" => "This device cannot create the kind of passkey the relay asks for.".into(),
        "AbortError" => "The passkey request was interrupted. Try again.".into(),
        _ => "The passkey request failed in the browser. Try again.".into(),
    })
}

fn public_key_options(options: &serde_json::Value, parser: &str) -> Result<JsValue, PasskeyFailure> {
    let public_key = options.get("publicKey").unwrap_or(options);
    let class = Reflect::get(&js_sys::global(), &"PublicKeyCredential".into()).map_err(|_| unsupported())?;
    let parse = Reflect::get(&class, &parser.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(unsupported)?;
    let json = JSON::parse(&public_key.to_string())
        .map_err(|_| PasskeyFailure("The relay's passkey options could not be read.".into()))?;
    let parsed = parse
        .call1(&class, &json)
        .map_err(|_| PasskeyFailure("The relay's passkey options were refused by the browser.".into()))?;
    let wrapper = Object::new();
    Reflect::set(&wrapper, &"publicKey".into(), &parsed).map_err(|_| unsupported())?;
    Ok(wrapper.into())
}

fn credential_json(credential: JsValue) -> Result<serde_json::Value, PasskeyFailure> {
    let to_json = Reflect::get(&credential, &"toJSON".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(unsupported)?;
    let value = to_json.call0(&credential).map_err(|_| unsupported())?;
    let text = JSON::stringify(&value).ok().and_then(|s| s.as_string()).ok_or_else(unsupported)?;
    serde_json::from_str(&text).map_err(|_| unsupported())
}

fn credentials() -> Result<web_sys::CredentialsContainer, PasskeyFailure> {
    Ok(web_sys::window().ok_or_else(unsupported)?.navigator().credentials())
}

/// `navigator.credentials.create` with the relay's registration options,
/// asking the authenticator to enable the PRF extension (docs/device-keys.md:
/// some authenticators can give PRF outputs only for passkeys made so).
pub async fn create(options: &serde_json::Value) -> Result<serde_json::Value, PasskeyFailure> {
    let mut options = options.clone();
    let public_key = match options.get_mut("publicKey") {
        Some(p) => p,
        None => &mut options,
    };
    if let Some(o) = public_key.as_object_mut() {
        let extensions = o.entry("extensions").or_insert_with(|| serde_json::json!({}));
        if let Some(e) = extensions.as_object_mut() {
            e.insert("prf".into(), serde_json::json!({}));
        }
    }
    let request = public_key_options(&options, "parseCreationOptionsFromJSON")?;
    let promise = credentials()?.create_with_options(request.unchecked_ref()).map_err(|e| explain(e, true))?;
    let credential = JsFuture::from(promise).await.map_err(|e| explain(e, true))?;
    if credential.is_null() || credential.is_undefined() {
        return Err(explain(JsValue::NULL, true));
    }
    credential_json(credential)
}

/// `navigator.credentials.get` with the relay's authentication options.
pub async fn get(options: &serde_json::Value) -> Result<serde_json::Value, PasskeyFailure> {
    let request = public_key_options(options, "parseRequestOptionsFromJSON")?;
    let promise = credentials()?.get_with_options(request.unchecked_ref()).map_err(|e| explain(e, false))?;
    let credential = JsFuture::from(promise).await.map_err(|e| explain(e, false))?;
    if credential.is_null() || credential.is_undefined() {
        return Err(explain(JsValue::NULL, false));
    }
    credential_json(credential)
}

/// The PRF output of a passkey of this relay for `input`, with the raw id of
/// the credential that gave it (docs/device-keys.md). `allow` names the
/// credential to use; `None` lets the person's passkey for this relay be
/// picked. The assertion is not sent anywhere: its challenge is random.
/// `Ok(None)` when the authenticator or browser has no PRF extension.
pub async fn prf(allow: Option<&[u8]>, input: &[u8; 32]) -> Result<Option<(Vec<u8>, [u8; 32])>, PasskeyFailure> {
    use fxe_protocol::encoding::b64u_encode;
    let challenge: [u8; 32] = fxe_protocol::random_bytes().map_err(|_| unsupported())?;
    let allow_credentials: Vec<serde_json::Value> =
        allow.map(|id| vec![serde_json::json!({ "type": "public-key", "id": b64u_encode(id) })]).unwrap_or_default();
    let options = serde_json::json!({
        "publicKey": {
            "challenge": b64u_encode(&challenge),
            "allowCredentials": allow_credentials,
            "userVerification": "required",
            "timeout": 120_000,
            "extensions": { "prf": { "eval": { "first": b64u_encode(input) } } },
        }
    });
    let request = public_key_options(&options, "parseRequestOptionsFromJSON")?;
    let promise = credentials()?.get_with_options(request.unchecked_ref()).map_err(|e| explain(e, false))?;
    let credential = JsFuture::from(promise).await.map_err(|e| explain(e, false))?;
    if credential.is_null() || credential.is_undefined() {
        return Err(explain(JsValue::NULL, false));
    }
    let raw_id = Reflect::get(&credential, &"rawId".into()).map_err(|_| unsupported())?;
    let raw_id = js_sys::Uint8Array::new(&raw_id).to_vec();
    let results = Reflect::get(&credential, &"getClientExtensionResults".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call0(&credential).ok());
    let first = results
        .and_then(|r| Reflect::get(&r, &"prf".into()).ok())
        .filter(|p| p.is_object())
        .and_then(|p| Reflect::get(&p, &"results".into()).ok())
        .filter(|r| r.is_object())
        .and_then(|r| Reflect::get(&r, &"first".into()).ok())
        .filter(|f| f.is_object());
    let Some(first) = first else { return Ok(None) };
    let bytes = js_sys::Uint8Array::new(&first).to_vec();
    let output: [u8; 32] = match bytes.as_slice().try_into() {
        Ok(o) => o,
        Err(_) => return Ok(None),
    };
    Ok(Some((raw_id, output)))
}
