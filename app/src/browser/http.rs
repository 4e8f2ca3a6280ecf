//! Calls to the relay's REST API from the page, authenticated by the session
//! cookie (same origin). The browser adds the `Origin` header the relay checks
//! on state-changing calls.

use serde::{Serialize, de::DeserializeOwned};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The API's prefix.
pub const API: &str = "/api/v1";

/// Why a call failed, in words for people.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiFailure {
    /// HTTP status; 0 when the relay could not be reached.
    pub status: u16,
    /// The API's error code (`invite_used`, …), or a local one.
    pub code: String,
    pub message: String,
}

impl ApiFailure {
    pub fn local(code: &str, message: impl Into<String>) -> ApiFailure {
        ApiFailure { status: 0, code: code.into(), message: message.into() }
    }

    pub(crate) fn unreachable() -> ApiFailure {
        ApiFailure::local("network", "The relay could not be reached. Check your connection and try again.")
    }

    /// Not signed in, or the session ended.
    pub fn is_signed_out(&self) -> bool {
        self.status == 401
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Starts a same-origin request; the answer's status and headers are in,
/// its body not yet read.
pub(crate) async fn respond(
    method: &str, path: &str, body: Option<(&JsValue, &str)>,
) -> Result<web_sys::Response, ApiFailure> {
    let window = web_sys::window().ok_or_else(ApiFailure::unreachable)?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(|_| ApiFailure::unreachable())?;
    let _ = headers.set("Accept", "application/json");
    if let Some((body, content_type)) = body {
        let _ = headers.set("Content-Type", content_type);
        init.set_body(body);
    }
    init.set_headers(&headers);
    let url = format!("{API}{path}");
    let request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(|_| ApiFailure::unreachable())?;
    let response = JsFuture::from(window.fetch_with_request(&request)).await.map_err(|_| ApiFailure::unreachable())?;
    response.dyn_into().map_err(|_| ApiFailure::unreachable())
}

/// The whole body of an answer as text.
pub(crate) async fn text(response: &web_sys::Response) -> String {
    match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|v| v.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn send(method: &str, path: &str, body: Option<String>) -> Result<(u16, String), ApiFailure> {
    let body = body.map(|b| JsValue::from_str(&b));
    let response = respond(method, path, body.as_ref().map(|b| (b, "application/json"))).await?;
    let text = text(&response).await;
    Ok((response.status(), text))
}

/// An error answer in words (the API's `{error:{code,message}}`, or a generic one).
pub(crate) fn failure(status: u16, text: &str) -> ApiFailure {
    #[derive(serde::Deserialize)]
    struct Body {
        error: fxe_protocol::api::ErrorDetail,
    }
    match serde_json::from_str::<Body>(text) {
        Ok(b) => ApiFailure { status, code: b.error.code, message: b.error.message },
        Err(_) => ApiFailure {
            status,
            code: "unexpected_answer".into(),
            message: format!("The relay answered with an error (HTTP {status}). Try again in a moment."),
        },
    }
}

/// A call whose answer is JSON.
pub async fn call<T: DeserializeOwned>(
    method: &str, path: &str, body: Option<&impl Serialize>,
) -> Result<T, ApiFailure> {
    let body = body.map(|b| serde_json::to_string(b).unwrap_or_default());
    let (status, text) = send(method, path, body).await?;
    if !(200..300).contains(&status) {
        return Err(failure(status, &text));
    }
    parse(status, &text)
}

/// A 2xx answer's JSON body.
pub(crate) fn parse<T: DeserializeOwned>(status: u16, text: &str) -> Result<T, ApiFailure> {
    serde_json::from_str(text).map_err(|e| ApiFailure {
        status,
        code: "unexpected_answer".into(),
        message: format!("The relay's answer could not be read ({e})."),
    })
}

/// A call whose answer has no body (`204`, `202`).
pub async fn call_empty(method: &str, path: &str, body: Option<&impl Serialize>) -> Result<(), ApiFailure> {
    let body = body.map(|b| serde_json::to_string(b).unwrap_or_default());
    let (status, text) = send(method, path, body).await?;
    if (200..300).contains(&status) { Ok(()) } else { Err(failure(status, &text)) }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    call("GET", path, None::<&()>).await
}

pub async fn post<T: DeserializeOwned>(path: &str, body: &impl Serialize) -> Result<T, ApiFailure> {
    call("POST", path, Some(body)).await
}

/// `POST` without a body, answered without a body.
pub async fn post_action(path: &str) -> Result<(), ApiFailure> {
    call_empty("POST", path, None::<&()>).await
}

/// Percent-encodes one path segment (ids, numbers with `+`).
pub fn segment(s: &str) -> String {
    js_sys::encode_uri_component(s).as_string().unwrap_or_default()
}

/// A `GET` whose answer is text (a signed note, say), not JSON.
pub async fn get_text(path: &str) -> Result<String, ApiFailure> {
    let (status, text) = send("GET", path, None).await?;
    if (200..300).contains(&status) { Ok(text) } else { Err(failure(status, &text)) }
}

/// A `GET` whose answer is bytes (a log tile, say).
pub async fn get_bytes(path: &str) -> Result<Vec<u8>, ApiFailure> {
    let response = respond("GET", path, None).await?;
    let status = response.status();
    if !(200..300).contains(&status) {
        return Err(failure(status, &text(&response).await));
    }
    let buffer = response.array_buffer().map_err(|_| ApiFailure::unreachable())?;
    let buffer = JsFuture::from(buffer).await.map_err(|_| ApiFailure::unreachable())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}
