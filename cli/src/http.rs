//! The relay's REST API over HTTP(S) (reqwest, rustls): signed requests
//! (PROTOCOL.md §6), JSON calls, and streamed ciphertext uploads and downloads
//! that never hold a whole message in memory.

use crate::error::{CliError, Result, exit};
use fxe_protocol::api::{API_PREFIX, ErrorBody};
use fxe_protocol::apikey::ApiKey;
use fxe_protocol::request::{self, Body};
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Read;
use std::time::Duration;

/// How long a JSON call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Relay {
    base: String,
    http: Client,
    key: Option<ApiKey>,
}

/// Percent-encodes a value for a path segment or query (`+` as `%2B`, as PROTOCOL.md §6 asks).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Relay {
    /// A client for the relay at `base` (`https://relay.example`), signing with `key`.
    pub fn new(base: &str, key: Option<ApiKey>) -> Result<Relay> {
        let base = base.trim().trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base)
            .map_err(|e| CliError::new(exit::USAGE, "bad_relay_url", format!("invalid relay URL {base:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CliError::new(exit::USAGE, "bad_relay_url", format!("the relay URL must be http(s): {base}")));
        }
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(None)
            .tcp_keepalive(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("fxe-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::msg(format!("cannot start the HTTP client: {e}")))?;
        Ok(Relay { base, http, key })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `API_PREFIX + path`, signed over the exact request target.
    fn request(&self, method: Method, path: &str, body: Body<'_>) -> Result<RequestBuilder> {
        let full = format!("{}{API_PREFIX}{path}", self.base);
        let url = reqwest::Url::parse(&full).map_err(|e| CliError::msg(format!("invalid request URL {full}: {e}")))?;
        let mut target = url.path().to_owned();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let mut req = self.http.request(method.clone(), url);
        if let Some(key) = &self.key {
            let headers = request::sign_request(key, method.as_str(), &target, crate::now(), body)?;
            for (k, v) in headers.pairs() {
                req = req.header(k, v);
            }
        }
        Ok(req)
    }

    fn send(&self, req: RequestBuilder) -> Result<Response> {
        let res = req.send().map_err(|e| self.transport_error(e))?;
        if res.status().is_success() { Ok(res) } else { Err(api_error(res)) }
    }

    pub fn transport_error(&self, e: reqwest::Error) -> CliError {
        let mut inner: &dyn std::error::Error = &e;
        let mut detail = e.to_string();
        while let Some(src) = inner.source() {
            detail = src.to_string();
            inner = src;
        }
        CliError::new(
            exit::UNREACHABLE,
            "relay_unreachable",
            format!("cannot reach the relay at {}: {detail}", self.base),
        )
    }

    /// A JSON call; `body` is sent as JSON with its SHA-256 signed.
    pub fn call<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> Result<T> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| CliError::msg(format!("cannot encode the request: {e}")))?,
            None => Vec::new(),
        };
        let mut req = self.request(method, path, Body::Bytes(&bytes))?.timeout(CALL_TIMEOUT);
        if body.is_some() {
            req = req.header("content-type", "application/json").body(bytes);
        }
        let res = self.send(req)?;
        let text = res.text().map_err(|e| self.transport_error(e))?;
        let text = if text.is_empty() { "null" } else { &text };
        serde_json::from_str(text)
            .map_err(|e| CliError::msg(format!("unexpected answer from the relay to {path}: {e}")))
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None::<&()>)
    }

    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        self.call(Method::POST, path, Some(body))
    }

    /// Streams `len` bytes from `reader` as the body (UNSIGNED-PAYLOAD: the signed
    /// envelope binds the ciphertext).
    pub fn upload<T: DeserializeOwned>(&self, path: &str, reader: impl Read + Send + 'static, len: u64) -> Result<T> {
        let req = self
            .request(Method::PUT, path, Body::Unsigned)?
            .header("content-type", "application/octet-stream")
            .body(reqwest::blocking::Body::sized(reader, len));
        let res = self.send(req)?;
        res.json().map_err(|e| CliError::msg(format!("unexpected answer from the relay to {path}: {e}")))
    }

    /// A GET whose answer is bytes (a transparency tile), read whole with the call timeout.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let req = self.request(Method::GET, path, Body::Bytes(b""))?.timeout(CALL_TIMEOUT);
        let res = self.send(req)?;
        res.bytes().map(|b| b.to_vec()).map_err(|e| self.transport_error(e))
    }

    /// A GET whose answer is UTF-8 text (a checkpoint note).
    pub fn get_text(&self, path: &str) -> Result<String> {
        String::from_utf8(self.get_bytes(path)?)
            .map_err(|_| CliError::msg(format!("unexpected answer from the relay to {path}: not UTF-8 text")))
    }

    /// A streamed GET (the ciphertext): the answer is read as it arrives.
    pub fn download(&self, path: &str) -> Result<Response> {
        let req = self.request(Method::GET, path, Body::Bytes(b""))?;
        self.send(req)
    }
}

/// A non-2xx answer as a one-line error with its exit code.
fn api_error(res: Response) -> CliError {
    let status = res.status();
    let text = res.text().unwrap_or_default();
    let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
        Ok(b) => (b.error.code, b.error.message),
        Err(_) => (format!("http_{}", status.as_u16()), text.chars().take(200).collect()),
    };
    // 401: the credentials; 403 `forbidden`: the key's scope or the user's role.
    // Other 403s (`from_number_not_yours`, `sender_mismatch`) are about the request.
    let exit_code = match (status.as_u16(), code.as_str()) {
        (401, _) | (403, "forbidden") => exit::AUTH,
        _ => exit::ERROR,
    };
    let mut err =
        CliError::new(exit_code, code.clone(), format!("the relay refused ({} {code}): {message}", status.as_u16()));
    err.status = Some(status.as_u16());
    if exit_code == exit::AUTH {
        err = err.with_hint(
            "check that keys.zip belongs to this relay and that its API key is not revoked and has the needed scope",
        );
    }
    err
}
