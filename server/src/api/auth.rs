//! Passkeys and browser sessions (API.md, Passkeys): enrol from a setup link
//! or add another passkey, sign in with a discoverable credential, recover by
//! mail, sign out (here or everywhere), who am I, remove a passkey.
//!
//! These calls are made by the relay's own pages: every `POST` must carry the
//! relay's `Origin`. Ceremonies are single use, live 5 minutes and are capped
//! per client address and in all ([`crate::accounts::passkeys`]); a ceremony
//! that fails is used up all the same. Recovery requests go to a bounded
//! queue ([`crate::accounts::recovery`]).

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use fxe_protocol::api::{
    CeremonyFinish, CeremonyStarted, ErrorBody, Me, MeOrg, MeUpdate, PasskeyInfo, PasskeyRegisterStart, RecoverRequest,
};
use serde::Deserialize;
use sqlx::AnyConnection;
use utoipa_axum::{router::OpenApiRouter, routes};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::http::error::ErrorCode;
use crate::{
    AppState,
    accounts::passkeys::{self, CeremonyCaps, Login, Registration},
    accounts::recovery::RecoveryRequest,
    clock, db,
    db::audit::{self, Actor, ActorKind},
    db::ceremonies::CeremonyKind,
    db::invites::hash_token,
    db::orgs,
    db::sessions,
    db::setup_links::{self, SetupLinkState},
    db::users::{self, ActiveUser},
    http::auth::ClientAddress,
    http::client_ip::ClientKey,
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
    http::session_cookie,
    ids::UserId,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_start))
        .routes(routes!(register_finish))
        .routes(routes!(login_start))
        .routes(routes!(login_finish))
        .routes(routes!(recover))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
        .routes(routes!(remove_passkey))
}

fn webauthn(state: &AppState) -> Result<&webauthn_rs::prelude::Webauthn, ApiError> {
    state.passkeys.get().map_err(|why| {
        ApiError::new(ErrorCode::PasskeysUnavailable, format!("Passkeys are not available on this relay: {why}."))
    })
}

fn caps(state: &AppState) -> CeremonyCaps {
    CeremonyCaps {
        per_client: u64::from(state.limits.max_ceremonies_per_ip),
        total: u64::from(state.limits.max_ceremonies),
    }
}

fn internal_json(e: serde_json::Error) -> ApiError {
    ApiError::internal(format!("WebAuthn options: {e}"))
}

fn actor_for(user: &ActiveUser, address: Option<String>) -> Actor {
    Actor { kind: ActorKind::User, id: Some(user.user_id.clone()), label: Some(user.email.clone()), address }
}

async fn me_of(conn: &mut AnyConnection, user: &ActiveUser) -> Result<Me, ApiError> {
    let org = match &user.org_id {
        Some(org_id) => match orgs::get(&mut *conn, org_id).await? {
            Some(o) => {
                let identity = fxe_protocol::encoding::b64u_fixed::<32>("identity_pub", &o.identity_pub)
                    .map_err(ApiError::internal)?;
                Some(MeOrg {
                    org_id: o.org_id,
                    org_name: o.org_name,
                    fingerprint: fxe_protocol::ids::fingerprint(&identity),
                })
            }
            None => None,
        },
        None => None,
    };
    let passkeys = passkeys::of_user(conn, &user.user_id)
        .await?
        .into_iter()
        .map(|p| PasskeyInfo {
            id: p.id,
            label: p.label,
            created_at: clock::rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(clock::rfc3339),
        })
        .collect();
    Ok(Me {
        user_id: user.user_id.clone(),
        email: user.email.clone(),
        role: user.role.clone(),
        org,
        passkeys,
        notify_arrivals: user.notify_arrivals,
    })
}

/// A setup link's user, if the link is live; otherwise the answer saying why not.
async fn setup_link_user(conn: &mut AnyConnection, token: &str, now: i64) -> Result<UserId, ApiError> {
    let Some(link) = setup_links::by_token(conn, token).await? else {
        return Err(ApiError::new(
            ErrorCode::SetupLinkNotFound,
            "This setup link is not known to the relay; check that the whole link was copied.",
        ));
    };
    match link.state(now) {
        SetupLinkState::Live => Ok(link.user_id),
        SetupLinkState::Used => Err(ApiError::new(
            ErrorCode::SetupLinkUsed,
            "This setup link has already been used. Sign in, or choose \u{201c}Lost your passkey?\u{201d} on the sign-in page for a new link.",
        )),
        SetupLinkState::Expired => Err(ApiError::new(
            ErrorCode::SetupLinkExpired,
            "This setup link has expired (links last 24 hours). Ask an admin for a new one, or choose \u{201c}Lost your passkey?\u{201d} on the sign-in page.",
        )),
    }
}

fn with_cookie(state: &AppState, session: Option<&str>, status: StatusCode, body: Option<Me>) -> Response {
    let mut res = match body {
        Some(me) => (status, ApiJson(me)).into_response(),
        None => status.into_response(),
    };
    res.headers_mut().insert(header::SET_COOKIE, session_cookie::set_cookie(state, session));
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    res
}

crate::api_errors!(RegisterStartErrors: Unauthenticated = "no token and not signed in", BadOrigin, SetupLinkNotFound, SetupLinkUsed, SetupLinkExpired, UserInactive, RateLimited = "this address has as many passkey requests open as it may (`--max-ceremonies-per-ip`)", PasskeysUnavailable = "the relay's public URL is not a host name", Unavailable = "the relay has as many passkey requests open as it may (`--max-ceremonies`), with `Retry-After`");
/// Starts enrolling a passkey: from a setup link (`setup_token`), or for
/// the signed-in user (no token).
#[utoipa::path(
    post, path = "/auth/passkey/register/start", operation_id = "passkey_register_start", tag = "passkeys",
    request_body = PasskeyRegisterStart,
    responses((status = 200, description = "Options for `navigator.credentials.create()`; finish within 5 minutes.", body = CeremonyStarted), RegisterStartErrors),
)]
async fn register_start(
    State(state): State<AppState>, ClientKey(client): ClientKey, headers: HeaderMap,
    ApiJson(req): ApiJson<PasskeyRegisterStart>,
) -> Result<ApiJson<CeremonyStarted>, ApiError> {
    session_cookie::check_origin(&state, &headers)?;
    let webauthn = webauthn(&state)?;
    let mut conn = state.db.pool().acquire().await?;
    let (user_id, token_hash) = match &req.setup_token {
        Some(token) => (setup_link_user(&mut conn, token, state.clock.now_secs()).await?, Some(hash_token(token))),
        None => match session_cookie::current(&state, &headers).await? {
            Some(s) => (s.user_id, None),
            None => return Err(crate::http::auth::unauthenticated()),
        },
    };
    let Some(user) = users::active(&mut conn, &user_id).await? else {
        return Err(ApiError::new(ErrorCode::UserInactive, "This account has been removed, or its org disabled."));
    };
    let handle = passkeys::user_handle(&user.user_id).ok_or_else(|| ApiError::internal("user id is not a UUID"))?;
    let existing = passkeys::of_user(&mut conn, &user.user_id).await?;
    let (ccr, reg) = webauthn
        .start_passkey_registration(handle, &user.email, &user.email, passkeys::exclude_list(&existing))
        .map_err(ApiError::internal)?;
    drop(conn);
    let opening = passkeys::Opening {
        client: client.as_deref(),
        kind: CeremonyKind::Register,
        user_id: Some(&user.user_id),
        setup_token_sha256: token_hash.as_deref(),
    };
    let ceremony_id = passkeys::store_ceremony(&state.db, caps(&state), opening, &reg, state.clock.now_secs()).await?;
    Ok(ApiJson(CeremonyStarted {
        ceremony_id,
        options: passkeys::registration_options(&ccr).map_err(internal_json)?,
        email: Some(user.email),
    }))
}

/// Takes the ceremony in a transaction of its own: used up even if what follows fails.
async fn take<S: serde::de::DeserializeOwned>(
    state: &AppState, kind: CeremonyKind, id: &str,
) -> Result<passkeys::Ceremony<S>, ApiError> {
    // No transaction: an unknown id is only read, a known one deleted by one statement.
    let mut conn = state.db.pool().acquire().await?;
    let ceremony = passkeys::take_ceremony::<S>(&mut conn, kind, id, state.clock.now_secs()).await?;
    drop(conn);
    ceremony.ok_or_else(|| {
        ApiError::new(ErrorCode::CeremonyExpired, "This passkey request has expired or was already used; start again.")
    })
}

fn label_of(label: Option<&str>) -> Result<String, ApiError> {
    let label = label.map(str::trim).filter(|l| !l.is_empty()).unwrap_or("passkey");
    if label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            "label must be at most 100 characters without control characters.",
        ));
    }
    Ok(label.to_owned())
}

crate::api_errors!(RegisterFinishErrors: BadOrigin, PasskeyExists = "this authenticator's credential is already enrolled", CeremonyExpired, SetupLinkUsed, SetupLinkExpired, UserInactive, PasskeyRejected = "the authenticator's answer does not verify", InvalidBody);
/// Finishes enrolment: the passkey is saved, the setup link used up, and the
/// user signed in (a new session cookie).
#[utoipa::path(
    post, path = "/auth/passkey/register/finish", operation_id = "passkey_register_finish", tag = "passkeys",
    request_body = CeremonyFinish,
    responses((status = 201, description = "Enrolled and signed in (`Set-Cookie: fxe_session`).", body = Me), RegisterFinishErrors),
)]
async fn register_finish(
    State(state): State<AppState>, ClientAddress(address): ClientAddress, headers: HeaderMap,
    ApiJson(req): ApiJson<CeremonyFinish>,
) -> Result<Response, ApiError> {
    session_cookie::check_origin(&state, &headers)?;
    let webauthn = webauthn(&state)?;
    let label = label_of(req.label.as_deref())?;
    let credential: RegisterPublicKeyCredential = serde_json::from_value(req.credential).map_err(|e| {
        ApiError::new(ErrorCode::InvalidBody, format!("credential is not a WebAuthn registration response: {e}."))
    })?;
    let ceremony = take::<Registration>(&state, CeremonyKind::Register, &req.ceremony_id).await?;
    let passkey = webauthn.finish_passkey_registration(&credential, &ceremony.state).map_err(|e| {
        ApiError::new(
            ErrorCode::PasskeyRejected,
            format!("The authenticator's answer does not verify ({e}); try again."),
        )
    })?;
    let user_id = ceremony.user_id.ok_or_else(|| ApiError::internal("registration ceremony without a user"))?;

    let mut tx = state.db.begin_write().await?;
    let Some(user) = users::active(&mut tx, &user_id).await? else {
        return Err(ApiError::new(ErrorCode::UserInactive, "This account has been removed, or its org disabled."));
    };
    let now = state.clock.now_secs();
    if let Some(token_hash) = &ceremony.setup_token_sha256
        && !setup_links::mark_used(&mut tx, token_hash, now).await?
    {
        return Err(ApiError::new(
            ErrorCode::SetupLinkUsed,
            "This setup link was used or expired meanwhile; ask for a new one.",
        ));
    }
    let Some(passkey_id) = passkeys::insert(&mut tx, &user.user_id, &label, &passkey, now).await? else {
        return Err(ApiError::new(ErrorCode::PasskeyExists, "This passkey is already enrolled."));
    };
    let session = sessions::create(&mut tx, &user.user_id, now).await?;
    let actor = actor_for(&user, address);
    let detail = serde_json::json!({ "label": label, "via": if ceremony.setup_token_sha256.is_some() { "setup_link" } else { "signed_in" } });
    audit::write(
        &mut tx,
        audit::Entry {
            at_ms: state.clock.now_ms(),
            org_id: user.org_id.as_deref(),
            actor: &actor,
            action: "passkey.enrolled",
            target: Some(&passkey_id),
            detail: Some(detail),
        },
    )
    .await?;
    let me = me_of(&mut tx, &user).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.user_id, "passkey enrolled");
    Ok(with_cookie(&state, Some(&session), StatusCode::CREATED, Some(me)))
}

crate::api_errors!(LoginStartErrors: BadOrigin, RateLimited = "this address has as many passkey requests open as it may (`--max-ceremonies-per-ip`)", PasskeysUnavailable, Unavailable = "the relay has as many passkey requests open as it may (`--max-ceremonies`), with `Retry-After`");
/// Starts a sign-in with a discoverable credential (no username).
#[utoipa::path(
    post, path = "/auth/login/start", operation_id = "login_start", tag = "passkeys",
    responses((status = 200, description = "Options for `navigator.credentials.get()`; finish within 5 minutes.", body = CeremonyStarted), LoginStartErrors),
)]
async fn login_start(
    State(state): State<AppState>, ClientKey(client): ClientKey, headers: HeaderMap,
) -> Result<ApiJson<CeremonyStarted>, ApiError> {
    session_cookie::check_origin(&state, &headers)?;
    let webauthn = webauthn(&state)?;
    let (rcr, login) = webauthn.start_discoverable_authentication().map_err(ApiError::internal)?;
    let opening = passkeys::Opening {
        client: client.as_deref(),
        kind: CeremonyKind::Login,
        user_id: None,
        setup_token_sha256: None,
    };
    let ceremony_id =
        passkeys::store_ceremony(&state.db, caps(&state), opening, &login, state.clock.now_secs()).await?;
    Ok(ApiJson(CeremonyStarted {
        ceremony_id,
        options: passkeys::authentication_options(&rcr).map_err(internal_json)?,
        email: None,
    }))
}

fn sign_in_refused() -> ApiError {
    ApiError::with_status(
        StatusCode::UNAUTHORIZED,
        ErrorCode::PasskeyRejected,
        "This passkey is not accepted here. Choose \u{201c}Lost your passkey?\u{201d} to set up a new one.",
    )
}

crate::api_errors!(LoginFinishErrors: BadOrigin, CeremonyExpired);
/// Finishes a sign-in: a new session (any session the browser had ends).
#[utoipa::path(
    post, path = "/auth/login/finish", operation_id = "login_finish", tag = "passkeys",
    request_body = CeremonyFinish,
    responses(
        (status = 200, description = "Signed in (`Set-Cookie: fxe_session`).", body = Me),
        (status = 401, description = "`passkey_rejected`: unknown or removed passkey, removed user, disabled org, or a signature that does not verify.", body = ErrorBody),
        LoginFinishErrors,
    ),
)]
async fn login_finish(
    State(state): State<AppState>, ClientAddress(address): ClientAddress, headers: HeaderMap,
    ApiJson(req): ApiJson<CeremonyFinish>,
) -> Result<Response, ApiError> {
    session_cookie::check_origin(&state, &headers)?;
    let webauthn = webauthn(&state)?;
    let credential: PublicKeyCredential = serde_json::from_value(req.credential).map_err(|e| {
        ApiError::new(ErrorCode::InvalidBody, format!("credential is not a WebAuthn authentication response: {e}."))
    })?;
    let ceremony = take::<Login>(&state, CeremonyKind::Login, &req.ceremony_id).await?;
    let (handle, credential_id) =
        webauthn.identify_discoverable_authentication(&credential).map_err(|_| sign_in_refused())?;

    let mut tx = state.db.begin_write().await?;
    let Some(mut stored) = passkeys::by_credential(&mut tx, credential_id).await? else {
        return Err(sign_in_refused());
    };
    if passkeys::user_handle(&stored.user_id) != Some(handle) {
        return Err(sign_in_refused());
    }
    let Some(user) = users::active(&mut tx, &stored.user_id).await? else {
        return Err(sign_in_refused());
    };
    let result =
        webauthn.finish_discoverable_authentication_v2(&credential, ceremony.state, &stored.passkey).map_err(|e| {
            tracing::warn!(user_id = %user.user_id, error = %e, "passkey sign-in refused");
            sign_in_refused()
        })?;
    stored.passkey.update_credential(&result);
    let now = state.clock.now_secs();
    passkeys::record_use(&mut tx, &stored, now).await?;
    if let Some(old) = session_cookie::cookie_value(&headers) {
        sessions::revoke(&mut tx, &old, now).await?;
    }
    let session = sessions::create(&mut tx, &user.user_id, now).await?;
    let actor = actor_for(&user, address);
    audit::write(
        &mut tx,
        audit::Entry {
            at_ms: state.clock.now_ms(),
            org_id: user.org_id.as_deref(),
            actor: &actor,
            action: "user.signed_in",
            target: Some(&stored.id),
            detail: None,
        },
    )
    .await?;
    let me = me_of(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(with_cookie(&state, Some(&session), StatusCode::OK, Some(me)))
}

crate::api_errors!(RecoverErrors: BadOrigin, InvalidEmail, Unavailable = "the recovery queue is full (`--recovery-queue`), with `Retry-After`; nothing was queued");
/// Mails a setup link to the users with this address, if any. The answer is
/// the same either way (no account enumeration): the request is only queued
/// for the recovery worker ([`crate::accounts::recovery`]), which looks the
/// address up and mails after the answer, so its timing says nothing either.
#[utoipa::path(
    post, path = "/auth/recover", operation_id = "recover", tag = "passkeys",
    request_body = RecoverRequest,
    responses((status = 202, description = "If the address belongs to a user, a setup link is on its way."), RecoverErrors),
)]
async fn recover(
    State(state): State<AppState>, ClientAddress(address): ClientAddress, headers: HeaderMap,
    ApiJson(req): ApiJson<RecoverRequest>,
) -> Result<StatusCode, ApiError> {
    session_cookie::check_origin(&state, &headers)?;
    let email = req.email.trim().to_owned();
    if email.len() > 254 || !email.contains('@') || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::new(ErrorCode::InvalidEmail, "Enter the e-mail address your account uses."));
    }
    state.recovery.submit(RecoveryRequest { email, client: address }).map_err(|_| {
        ApiError::new(
            ErrorCode::Unavailable,
            "The relay has too many recovery requests waiting right now; nothing was sent. Try again in a minute.",
        )
        .with_header(header::RETRY_AFTER, header::HeaderValue::from_static("30"))
    })?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct LogoutQuery {
    /// `true`: end every session of this user, on every device.
    #[serde(default)]
    everywhere: bool,
}

crate::api_errors!(LogoutErrors: BadOrigin);
/// Signs out: this session, or (`?everywhere=true`) all of the user's.
#[utoipa::path(
    post, path = "/auth/logout", operation_id = "logout", tag = "passkeys",
    params(LogoutQuery),
    responses((status = 204, description = "Signed out; the cookie is cleared."), LogoutErrors),
)]
async fn logout(
    State(state): State<AppState>, ClientAddress(address): ClientAddress, headers: HeaderMap,
    ApiQuery(q): ApiQuery<LogoutQuery>,
) -> Result<Response, ApiError> {
    session_cookie::check_origin(&state, &headers)?;
    if let Some(id) = session_cookie::cookie_value(&headers) {
        let user = session_cookie::lookup(&state, &id).await?;
        let mut tx = state.db.begin_write().await?;
        let now = state.clock.now_secs();
        sessions::revoke(&mut tx, &id, now).await?;
        if let Some(user) = user {
            let ended = if q.everywhere { sessions::revoke_all(&mut tx, &user.user_id, now).await? + 1 } else { 1 };
            let actor = Actor {
                kind: ActorKind::User,
                id: Some(user.user_id.to_string()),
                label: Some(user.email.clone()),
                address,
            };
            let action = if q.everywhere { "user.signed_out_everywhere" } else { "user.signed_out" };
            audit::write(
                &mut tx,
                audit::Entry {
                    at_ms: state.clock.now_ms(),
                    org_id: user.org_id.as_deref(),
                    actor: &actor,
                    action,
                    target: Some(&user.user_id),
                    detail: Some(serde_json::json!({ "sessions": ended })),
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(with_cookie(&state, None, StatusCode::NO_CONTENT, None))
}

crate::api_errors!(MeErrors: Unauthenticated = "no session, or it ended");
/// The signed-in user, their org (with its fingerprint) and passkeys.
#[utoipa::path(
    get, path = "/auth/me", operation_id = "me", tag = "passkeys",
    responses((status = 200, description = "Signed in.", body = Me), MeErrors),
)]
async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let mut conn = state.db.pool().acquire().await?;
    let user = signed_in(&state, &headers, &mut conn).await?;
    me_answer(&mut conn, &user).await
}

/// The user this request's session is, if it is live and they may still sign in; otherwise the signed-out answer.
async fn signed_in(state: &AppState, headers: &HeaderMap, conn: &mut AnyConnection) -> Result<ActiveUser, ApiError> {
    let Some(session) = session_cookie::current(state, headers).await? else {
        return Err(session_cookie::signed_out());
    };
    users::active(conn, &session.user_id).await?.ok_or_else(session_cookie::signed_out)
}

/// `GET /auth/me`'s answer for `user`, never cached.
async fn me_answer(conn: &mut AnyConnection, user: &ActiveUser) -> Result<Response, ApiError> {
    let mut res = ApiJson(me_of(conn, user).await?).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(res)
}

crate::api_errors!(UpdateMeErrors: Unauthenticated = "no session, or it ended", BadOrigin, Forbidden = "relay operators belong to no org and get no arrival notices", InvalidBody);
/// Changes the signed-in member's own settings: arrival notices (docs/api.md,
/// "Arrival notices"). Answers the user as `GET /auth/me` does.
#[utoipa::path(
    patch, path = "/auth/me", operation_id = "update_me", tag = "passkeys", request_body = MeUpdate,
    responses((status = 200, description = "Changed.", body = Me), UpdateMeErrors),
)]
async fn update_me(
    State(state): State<AppState>, headers: HeaderMap, ApiJson(update): ApiJson<MeUpdate>,
) -> Result<Response, ApiError> {
    session_cookie::check_origin(&state, &headers)?;
    let mut conn = state.db.pool().acquire().await?;
    let mut user = signed_in(&state, &headers, &mut conn).await?;
    if let Some(on) = update.notify_arrivals {
        if user.org_id.is_none() {
            let why = "Relay operators belong to no org and get no arrival notices.";
            return Err(ApiError::new(ErrorCode::Forbidden, why));
        }
        users::set_notify_arrivals(&mut conn, &user.user_id, on).await?;
        user.notify_arrivals = on;
    }
    me_answer(&mut conn, &user).await
}

crate::api_errors!(RemovePasskeyErrors: Unauthenticated, BadOrigin, NotFound = "not one of your passkeys", LastPasskey);
/// Removes one of the signed-in user's passkeys (not the last one: without
/// any, only a recovery link would let them in again).
#[utoipa::path(
    delete, path = "/auth/passkeys/{id}", operation_id = "remove_passkey", tag = "passkeys",
    params(("id" = String, Path, description = "The passkey's id from `GET /auth/me`.")),
    responses((status = 204, description = "Removed."), RemovePasskeyErrors),
)]
async fn remove_passkey(
    State(state): State<AppState>, ClientAddress(address): ClientAddress, headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    session_cookie::check_origin(&state, &headers)?;
    let Some(session) = session_cookie::current(&state, &headers).await? else {
        return Err(session_cookie::signed_out());
    };
    let mut tx = state.db.begin_write().await?;
    let mine = passkeys::of_user(&mut tx, &session.user_id).await?;
    if !mine.iter().any(|p| p.id == id) {
        return Err(ApiError::not_found("No such passkey among yours."));
    }
    if mine.len() == 1 {
        return Err(ApiError::new(
            ErrorCode::LastPasskey,
            "This is your only passkey; enrol another one before removing it.",
        ));
    }
    db::passkeys::remove(&mut tx, &id, &session.user_id).await?;
    let actor = Actor {
        kind: ActorKind::User,
        id: Some(session.user_id.to_string()),
        label: Some(session.email.clone()),
        address,
    };
    audit::write(
        &mut tx,
        audit::Entry {
            at_ms: state.clock.now_ms(),
            org_id: session.org_id.as_deref(),
            actor: &actor,
            action: "passkey.removed",
            target: Some(&id),
            detail: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
