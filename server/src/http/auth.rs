//! Who is calling: signed requests (PROTOCOL.md §6) for machines, the
//! `fxe_session` cookie for people (see `sessions`). The [`authenticate`]
//! middleware runs on every API request and applies the rate limits
//! ([`crate::http::rate_limit`]) as soon as it knows whom to count, before it
//! writes anything; handlers take a [`Caller`] (401 when the request carried
//! no credentials) and check what they need with [`Caller::require`].

use std::net::SocketAddr;

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, FromRequestParts, OriginalUri, Request, State},
    http::{Method, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use fxe_protocol::request::{ClaimedBody, RequestAuth};
use sha2::Digest;

use crate::http::error::ErrorCode;
use crate::{
    AppState,
    db::audit::{Actor, ActorKind},
    http::client_ip::{self, ClientIp},
    http::error::ApiError,
    http::session_cookie,
    ids::{ApiKeyId, OrgId, UserId},
};

/// JSON bodies larger than this are refused (an envelope is a few KiB).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// The headers of a signed request (PROTOCOL.md §6).
const SIGNATURE_HEADERS: [&str; 5] = [
    fxe_protocol::request::HEADER_KEY,
    fxe_protocol::request::HEADER_TIMESTAMP,
    fxe_protocol::request::HEADER_CONTENT_SHA256,
    fxe_protocol::request::HEADER_NONCE,
    fxe_protocol::request::HEADER_SIGNATURE,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Send,
    Receive,
    Admin,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "send" => Some(Scope::Send),
            "receive" => Some(Scope::Receive),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

/// What a route needs (API.md, Roles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// API key scope `send`; any org member.
    Send,
    /// API key scope `receive`; any org member.
    Receive,
    /// Either `send` or `receive`; any org member.
    SendOrReceive,
    /// API key scope `admin`; org admins.
    Admin,
}

#[derive(Clone, Debug)]
pub enum Principal {
    ApiKey { key_id: ApiKeyId, label: String, scopes: Vec<Scope> },
    User { user_id: UserId, email: String, role: Role },
}

/// An authenticated member of an org.
#[derive(Clone, Debug)]
pub struct Caller {
    pub org_id: OrgId,
    pub principal: Principal,
    pub address: Option<String>,
    /// When the request was authenticated (`state.clock`, milliseconds): the
    /// time of its audit rows.
    pub at_ms: i64,
}

impl Caller {
    /// 403 `forbidden` unless the caller may do what `need` names.
    pub fn require(&self, need: Need) -> Result<(), ApiError> {
        let ok = match &self.principal {
            Principal::ApiKey { scopes, .. } => match need {
                Need::Send => scopes.contains(&Scope::Send),
                Need::Receive => scopes.contains(&Scope::Receive),
                Need::SendOrReceive => scopes.contains(&Scope::Send) || scopes.contains(&Scope::Receive),
                Need::Admin => scopes.contains(&Scope::Admin),
            },
            Principal::User { role, .. } => need != Need::Admin || *role == Role::Admin,
        };
        if ok {
            Ok(())
        } else {
            let what = match need {
                Need::Send => "the send scope",
                Need::Receive => "the receive scope",
                Need::SendOrReceive => "the send or receive scope",
                Need::Admin => "an org admin (or the admin scope)",
            };
            Err(ApiError::new(ErrorCode::Forbidden, format!("This call needs {what}.")))
        }
    }

    /// The audit actor for this caller.
    /// Writes an audit row of this caller's org, with the caller as actor,
    /// inside the caller's transaction.
    pub async fn audit(
        &self, conn: &mut sqlx::AnyConnection, action: &str, target: Option<&str>, detail: Option<serde_json::Value>,
    ) -> Result<(), crate::db::DbError> {
        let actor = self.actor();
        let entry = crate::db::audit::Entry {
            at_ms: self.at_ms,
            org_id: Some(&self.org_id),
            actor: &actor,
            action,
            target,
            detail,
        };
        crate::db::audit::write(conn, entry).await
    }

    pub fn actor(&self) -> Actor {
        match &self.principal {
            Principal::ApiKey { key_id, label, .. } => Actor {
                kind: ActorKind::ApiKey,
                id: Some(key_id.to_string()),
                label: Some(if label.is_empty() { key_id.to_string() } else { label.clone() }),
                address: self.address.clone(),
            },
            Principal::User { user_id, email, .. } => Actor {
                kind: ActorKind::User,
                id: Some(user_id.to_string()),
                label: Some(email.clone()),
                address: self.address.clone(),
            },
        }
    }

    /// A stable id of the principal (idempotency and rate-limit scope).
    pub fn principal_id(&self) -> &str {
        match &self.principal {
            Principal::ApiKey { key_id, .. } => key_id,
            Principal::User { user_id, .. } => user_id,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(unauthenticated)
    }
}

/// The content hash a signed upload claimed (`UNSIGNED-PAYLOAD` or a SHA-256
/// to check once the body has been streamed).
#[derive(Clone, Copy, Debug)]
pub struct ClaimedUploadHash(pub ClaimedBody);

/// The client's address, when known: as [`authenticate`] resolved it
/// ([`client_ip`]), else the TCP peer.
#[derive(Clone, Debug)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(ClientIp::of(parts).map(|ip| ip.to_string())))
    }
}

pub fn unauthenticated() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "Sign in, or sign the request with an API key (X-FXE-* headers).")
}

/// Whether this request is a ciphertext upload (`PUT /messages/{id}/content`),
/// whose body is streamed and may be `UNSIGNED-PAYLOAD`.
fn is_upload(method: &Method, path: &str) -> bool {
    method == Method::PUT && path.starts_with("/messages/") && path.ends_with("/content")
}

/// Authenticates signed requests and sessions; inserts a [`Caller`] into the
/// request's extensions. Requests without credentials pass through (public
/// routes); handlers that need a caller answer 401.
///
/// The limits, in order: the client address's, for every request; then
/// either the key's and its org's (a signed request whose signature
/// verifies, a live session: the address's token is given back, so
/// authenticated traffic is bounded per key and org, not per address), or
/// the anonymous one of the address (no credentials, or credentials that do
/// not authenticate: the 401 becomes a 429 once that is spent). All before
/// the nonce or anything else is stored.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match authenticate_inner(&state, req).await {
        // The nonce just recorded is made durable while the handler runs
        // (on an SQLite file, group commit; elsewhere it already is): the
        // answer waits for both. A handler's own commit comes after the
        // nonce in the same log, so it can never be durable without it.
        Ok((req, true)) => {
            let (response, durable) = tokio::join!(next.run(req), state.db.durable());
            match durable {
                Ok(()) => response,
                Err(e) => ApiError::from(e).into_response(),
            }
        }
        Ok((req, false)) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// The request to hand on, and whether a nonce was recorded for it.
async fn authenticate_inner(state: &AppState, req: Request) -> Result<(Request, bool), ApiError> {
    let (mut parts, body) = req.into_parts();
    let limits = &state.limits;
    let ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| client_ip::resolve(peer.ip(), &parts.headers, &limits.trusted_proxies));
    if let Some(ip) = ip {
        parts.extensions.insert(ClientIp(ip));
    }
    let address = ip.map(|ip| ip.to_string());
    limits.check_address(ip)?;
    // A request that does not authenticate counts as anonymous: its error,
    // or 429 once the address has sent too many of them.
    let refuse = |e: ApiError| match limits.check_anonymous(ip) {
        Ok(()) => e,
        Err(limited) => limited,
    };

    let headers = &parts.headers;
    // Each signature header once: with two, which one was signed is ambiguous.
    for name in SIGNATURE_HEADERS {
        if headers.get_all(name).iter().nth(1).is_some() {
            return Err(refuse(ApiError::new(ErrorCode::BadRequest, format!("{name} appears more than once."))));
        }
    }
    let auth = RequestAuth::parse(|name| headers.get(name).and_then(|v| v.to_str().ok())).map_err(|e| {
        refuse(ApiError::new(super::error_map::request_error_code(e), format!("Request signature headers: {e}.")))
    })?;
    let Some(auth) = auth else {
        // The passkey and session calls (`/auth/…`) read the cookie themselves:
        // an ended session must not stand in the way of signing in again.
        let own_cookie = parts.uri.path().starts_with("/auth/");
        let cookie = session_cookie::cookie_value(&parts.headers);
        let session = match &cookie {
            Some(id) => session_cookie::lookup(state, id).await?,
            None => None,
        };
        match session {
            Some(session) => {
                limits.check_principal(&session.user_id, session.org_id.as_deref())?;
                limits.refund_address(ip);
                if !own_cookie && let Some(caller) = session_cookie::caller_of(state, &parts, session, address)? {
                    parts.extensions.insert(caller);
                }
            }
            None if cookie.is_some() && !own_cookie => {
                return Err(refuse(session_cookie::session_ended()));
            }
            None => limits.check_anonymous(ip)?,
        }
        return Ok((Request::from_parts(parts, body), false));
    };

    // The key: known, not revoked, its org not disabled. (A key id of the
    // wrong form is one the relay cannot know.)
    let unknown_key = || refuse(ApiError::new(ErrorCode::UnknownKey, "This API key is not known to the relay."));
    let Ok(key_id) = ApiKeyId::parse(&auth.key_id) else {
        return Err(unknown_key());
    };
    let Some(key) = crate::db::api_keys::for_request(&state.db, &key_id).await? else {
        return Err(unknown_key());
    };
    if key.revoked {
        return Err(refuse(ApiError::new(ErrorCode::KeyRevoked, "This API key has been revoked.")));
    }
    if key.org_disabled {
        return Err(refuse(ApiError::new(
            ErrorCode::OrgDisabled,
            "This organization has been disabled by the relay operator.",
        )));
    }
    let now = state.clock.now_secs();
    auth.check_timestamp(state.clock.unix_secs()).map_err(|_| {
        refuse(ApiError::new(
            ErrorCode::TimestampSkew,
            "X-FXE-Timestamp is more than 300 s from the relay's clock; check this machine's clock.",
        ))
    })?;

    let public = fxe_protocol::encoding::b64u_fixed::<32>("public_key", &key.public_key).map_err(ApiError::internal)?;
    let target =
        parts.extensions.get::<OriginalUri>().map(|OriginalUri(u)| u.clone()).unwrap_or_else(|| parts.uri.clone());
    let path_and_query = target.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    auth.verify_signature(&public, parts.method.as_str(), path_and_query).map_err(|_| {
        refuse(ApiError::new(
            ErrorCode::BadRequestSignature,
            "The request signature does not verify for this method, path and headers.",
        ))
    })?;
    // The key holder signed it: the key's and the org's limits (only now, or
    // anyone who knows a key id could spend its tokens), before any write.
    limits.check_principal(&auth.key_id, Some(&key.org_id))?;
    limits.refund_address(ip);

    // The body: buffered and hashed, except the streamed ciphertext upload.
    let body = if is_upload(&parts.method, parts.uri.path()) {
        parts.extensions.insert(ClaimedUploadHash(auth.content));
        body
    } else {
        let bytes = read_body(body, &parts).await?;
        let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        auth.check_body(&digest, false).map_err(|e| match e {
            fxe_protocol::error::RequestError::UnsignedPayloadNotAllowed => ApiError::new(
                ErrorCode::BodyHashMismatch,
                "UNSIGNED-PAYLOAD is only allowed on the ciphertext upload; sign the body's SHA-256.",
            ),
            _ => ApiError::new(ErrorCode::BodyHashMismatch, "The body does not match X-FXE-Content-SHA256."),
        })?;
        Body::from(bytes)
    };

    // Replay: each (key_id, nonce) once. The record is in the database so it holds across instances.
    let fresh = crate::db::nonces::remember(&state.db, &auth.key_id, &auth.nonce, now).await?;
    if !fresh {
        return Err(ApiError::new(
            ErrorCode::ReplayedRequest,
            "This request (key and nonce) was already seen; sign every request with a new nonce.",
        ));
    }
    if key.last_used_at.is_none_or(|t| t < now - 60) {
        crate::db::api_keys::touch(&state.db, &auth.key_id, now).await?;
    }

    parts.extensions.insert(Caller {
        org_id: key.org_id,
        principal: Principal::ApiKey {
            key_id,
            label: key.label,
            scopes: key.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        },
        address,
        at_ms: state.clock.now_ms(),
    });
    Ok((Request::from_parts(parts, body), true))
}

/// Reads a JSON-sized body: 413 `too_large` past [`MAX_JSON_BODY`].
async fn read_body(body: Body, parts: &Parts) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::new(ErrorCode::TooLarge, format!("The body is larger than {MAX_JSON_BODY} bytes."));
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_JSON_BODY as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_JSON_BODY).await.map_err(|e| {
        let inner = e.into_inner();
        if inner.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            too_large()
        } else {
            ApiError::new(ErrorCode::UnreadableBody, "The request body could not be read.")
        }
    })
}
