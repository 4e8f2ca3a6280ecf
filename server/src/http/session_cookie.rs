//! Browser sessions: the `fxe_session` cookie (HttpOnly, SameSite=Strict,
//! Secure on https) names a server-side record that is revocable and expires
//! when idle and absolutely. A cookie-authenticated request that changes
//! state must carry an `Origin` equal to the relay's public origin.

use axum::http::{HeaderValue, Method, header, request::Parts};

use crate::http::error::ErrorCode;
use crate::{
    AppState,
    db::sessions::{self, ABSOLUTE_TIMEOUT_SECS, SessionUser},
    db::users::UserRole,
    http::auth::{Caller, Principal, Role},
    http::error::ApiError,
};

pub const COOKIE_NAME: &str = "fxe_session";
/// The session id in the request's cookies, if any.
pub fn cookie_value(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.to_owned())
}

/// The signed-in user of this request (its session cookie), if the session is live.
pub async fn current(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Option<SessionUser>, ApiError> {
    let Some(id) = cookie_value(headers) else { return Ok(None) };
    lookup(state, &id).await
}

/// The answer to a call that needs a session when there is none.
pub fn signed_out() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "Not signed in, or the session has ended.")
}

/// The `Set-Cookie` value for a new session id (or for clearing it with `None`).
pub fn set_cookie(state: &AppState, id: Option<&str>) -> HeaderValue {
    let secure = if state.config.public_url_is_https() { "; Secure" } else { "" };
    let v = match id {
        Some(id) => {
            format!("{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ABSOLUTE_TIMEOUT_SECS}{secure}")
        }
        None => format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("fxe_session=; Max-Age=0"))
}

pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The answer to a cookie whose session is unknown, expired or revoked.
pub fn session_ended() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "Your session has ended; sign in again.")
}

/// The org member a live session is (checking the `Origin` of a call that
/// changes state). Operators (no org) are resolved by the operator pages,
/// not here: `Ok(None)`.
pub fn caller_of(
    state: &AppState, parts: &Parts, session: SessionUser, address: Option<String>,
) -> Result<Option<Caller>, ApiError> {
    if changes_state(&parts.method) {
        check_origin(state, &parts.headers)?;
    }
    let Some(org_id) = session.org_id else { return Ok(None) };
    let role = if session.role == UserRole::Admin { Role::Admin } else { Role::User };
    Ok(Some(Caller {
        org_id,
        principal: Principal::User { user_id: session.user_id, email: session.email, role },
        address,
        at_ms: state.clock.now_ms(),
    }))
}

/// Looks up a live session by its cookie value and records the activity.
pub async fn lookup(state: &AppState, id: &str) -> Result<Option<SessionUser>, ApiError> {
    Ok(sessions::live(&state.db, id, state.clock.now_secs()).await?)
}

/// A state-changing request from a browser must come from the relay's own
/// pages: `Origin` equal to the public origin.
pub fn check_origin(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(state.config.public_origin().as_str()) {
        return Err(ApiError::new(
            ErrorCode::BadOrigin,
            "This request did not come from the relay's own pages (Origin mismatch).",
        ));
    }
    Ok(())
}
