//! Browser sessions: the `fxe_session` cookie (HttpOnly, SameSite=Strict,
//! Secure on https) names a server-side record that is revocable and expires
//! when idle and absolutely. A cookie-authenticated request that changes
//! state must carry an `Origin` equal to the relay's public origin.

use axum::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use sha2::Digest;
use sqlx::Row;

use crate::{
    AppState,
    auth::{Caller, Principal, Role},
    clock,
    error::ApiError,
};

pub const COOKIE_NAME: &str = "fxe_session";
/// A session unused for this long ends.
pub const IDLE_TIMEOUT_SECS: i64 = 12 * 60 * 60;
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 7 * 24 * 60 * 60;

pub fn hash_id(id: &str) -> String {
    hex::encode(sha2::Sha256::digest(id.as_bytes()))
}

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
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Not signed in, or the session has ended.")
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

/// Resolves the session cookie to an org member. Operators (no org) are
/// resolved by the operator pages, not here. Returns `Ok(None)` without a
/// cookie; 401 for an unknown, expired or revoked session.
pub async fn caller_from_cookie(
    state: &AppState,
    parts: &Parts,
    address: Option<String>,
) -> Result<Option<Caller>, ApiError> {
    let Some(id) = cookie_value(&parts.headers) else { return Ok(None) };
    let Some(session) = lookup(state, &id).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Your session has ended; sign in again.",
        ));
    };
    if changes_state(&parts.method) {
        check_origin(state, &parts.headers)?;
    }
    let Some(org_id) = session.org_id else { return Ok(None) };
    let role = if session.role == "admin" { Role::Admin } else { Role::User };
    Ok(Some(Caller {
        org_id,
        principal: Principal::User { user_id: session.user_id, email: session.email, role },
        address,
    }))
}

/// A live session's user.
pub struct SessionUser {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub org_id: Option<String>,
}

/// Looks up a live session by its cookie value and records the activity.
pub async fn lookup(state: &AppState, id: &str) -> Result<Option<SessionUser>, ApiError> {
    let now = clock::now_secs();
    let row = sqlx::query(
        "SELECT s.user_id, s.last_seen_at, u.email, u.role, u.org_id FROM sessions s JOIN users u ON u.id = s.user_id \
         LEFT JOIN orgs o ON o.org_id = u.org_id \
         WHERE s.id_sha256 = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3 \
         AND u.removed_at IS NULL AND o.disabled_at IS NULL",
    )
    .bind(hash_id(id))
    .bind(now)
    .bind(now - IDLE_TIMEOUT_SECS)
    .fetch_optional(state.db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let last_seen: i64 = row.try_get("last_seen_at")?;
    if last_seen < now - 60 {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_sha256 = $2")
            .bind(now)
            .bind(hash_id(id))
            .execute(state.db.pool())
            .await?;
    }
    Ok(Some(SessionUser {
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        role: row.try_get("role")?,
        org_id: row.try_get("org_id")?,
    }))
}

/// Starts a session for `user_id` and returns the cookie value (shown to the
/// browser only; the database keeps its SHA-256).
pub async fn create(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<String, crate::db::DbError> {
    let b: [u8; 32] = fxe_protocol::random_bytes()
        .map_err(|_| crate::db::DbError::Query(sqlx::Error::Protocol("no randomness".into())))?;
    let id = fxe_protocol::encoding::b64u_encode(&b);
    let now = clock::now_secs();
    sqlx::query(
        "INSERT INTO sessions (id_sha256, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(hash_id(&id))
    .bind(user_id)
    .bind(now)
    .bind(now + ABSOLUTE_TIMEOUT_SECS)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Ends the session with this cookie value (if it exists).
pub async fn revoke(conn: &mut sqlx::AnyConnection, id: &str) -> Result<(), crate::db::DbError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id_sha256 = $2 AND revoked_at IS NULL")
        .bind(clock::now_secs())
        .bind(hash_id(id))
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of a user ("sign out everywhere").
pub async fn revoke_all(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<u64, crate::db::DbError> {
    Ok(sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(clock::now_secs())
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected())
}

/// A state-changing request from a browser must come from the relay's own
/// pages: `Origin` equal to the public origin.
pub fn check_origin(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(state.config.public_origin().as_str()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_origin",
            "This request did not come from the relay's own pages (Origin mismatch).",
        ));
    }
    Ok(())
}
