//! The org's team: list, invite (a single-use passkey setup link, mailed and
//! returned to the admin), remove (ends the user's sessions), new setup link.

use axum::{extract::State, http::StatusCode};
use fxe_protocol::api::{CreateUserRequest, Page, User, UserWithSetupLink};
use serde::Deserialize;
use serde_json::json;
use sqlx::AnyConnection;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{api_keys::PageQuery, pagination::PageRequest};
use crate::api;
use crate::http::error::ErrorCode;
use crate::ids::{OrgId, UserId};
use crate::{
    AppState,
    db::orgs,
    db::sessions,
    db::setup_links::{self, SetupLinkPurpose},
    db::users::{self, UserRole},
    http::auth::{Caller, Need},
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
    mail,
    webhooks::events,
};

/// The member a call is about (`/users/{id}…`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct UserPath {
    /// The user's id (UUIDv4, lowercase).
    #[param(pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    id: String,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(remove)).routes(routes!(new_setup_link))
}

/// The 404 for a user id that is not a current member of the caller's org.
fn no_such_member() -> ApiError {
    ApiError::not_found("No such user in this org.")
}

/// A current member of the caller's org, or 404.
async fn member(conn: &mut AnyConnection, org_id: &OrgId, user_id: &UserId) -> Result<User, ApiError> {
    users::member(conn, org_id, user_id).await?.ok_or_else(no_such_member)
}

/// The org's current members, newest first.
#[utoipa::path(
    get, path = "/users", operation_id = "list_users", tag = "team",
    params(PageQuery),
    responses((status = 200, description = "A page of users.", body = Page<User>)),
)]
async fn list(
    State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<ApiJson<Page<User>>, ApiError> {
    caller.require(Need::Admin)?;
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let users = users::page(&state.db, &caller.org_id, &page).await?;
    Ok(ApiJson(users))
}

fn parse_role(role: &str) -> Result<UserRole, ApiError> {
    match UserRole::parse(role) {
        Some(r @ (UserRole::Admin | UserRole::User)) => Ok(r),
        _ => Err(ApiError::new(ErrorCode::InvalidBody, "role must be admin or user.")),
    }
}

/// Mails a setup link; a failure is logged, not fatal: the admin also gets
/// the link in the answer and can pass it on.
async fn mail_link(state: &AppState, to: &str, org_name: &str, url: &str, invited: bool) {
    if let Err(e) = state.mailer.send(&mail::setup_link_mail(to, org_name, url, invited)).await {
        tracing::error!(error = %e, to = %to, "could not mail the setup link; the admin has it in the answer");
    }
}

crate::api_errors!(CreateErrors: UserExists = "a member of this org has this address", InvalidEmail, InvalidBody = "role");
/// Adds a teammate and mails them a single-use passkey setup link (24 h),
/// also returned here. `org.user.added` fires.
#[utoipa::path(
    post, path = "/users", operation_id = "create_user", tag = "team",
    request_body = CreateUserRequest,
    responses((status = 201, description = "Added; the setup link is in the answer (shown once) and in the mail.", body = UserWithSetupLink), CreateErrors),
)]
async fn create(
    State(state): State<AppState>, caller: Caller, ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, ApiJson<UserWithSetupLink>), ApiError> {
    caller.require(Need::Admin)?;
    let email = req.email.trim();
    crate::api::redeem::validate_email(email)?;
    let role = parse_role(&req.role)?;
    let now = state.clock.now_secs();
    let user_id = UserId::generate().map_err(ApiError::internal)?;

    let mut tx = state.db.begin_write().await?;
    orgs::lock(&mut tx, &caller.org_id).await?;
    let org = orgs::get(&mut tx, &caller.org_id).await?.ok_or_else(|| ApiError::not_found("No such org."))?;
    if users::email_in_org(&mut tx, &caller.org_id, email).await? {
        return Err(ApiError::new(ErrorCode::UserExists, format!("{email} is already a member of this org.")));
    }
    users::insert(&mut tx, &user_id, Some(&caller.org_id), email, role, now).await?;
    let token = setup_links::create(&mut tx, &user_id, SetupLinkPurpose::Invite, now).await?;
    caller.audit(&mut tx, "user.added", Some(&user_id), Some(json!({ "email": email, "role": role.as_str() }))).await?;
    events::emit(
        &mut tx,
        &caller.org_id,
        events::ORG_USER_ADDED,
        json!({ "user_id": user_id, "email": email, "role": role.as_str() }),
        caller.at_ms,
    )
    .await?;
    let user = member(&mut tx, &caller.org_id, &user_id).await?;
    tx.commit().await?;
    state.events.notify();

    let setup_url = setup_links::url(&state.config.public_origin(), &token);
    mail_link(&state, email, &org.org_name, &setup_url, true).await;
    tracing::info!(org_id = %caller.org_id, user_id = %user_id, role = role.as_str(), "user added");
    Ok((StatusCode::CREATED, ApiJson(UserWithSetupLink { user, setup_url })))
}

crate::api_errors!(RemoveErrors: NotFound = "not a member of this org", LastAdmin = "the org needs at least one admin");
/// Removes a member: their sessions end at once and their unused setup links
/// stop working. The last admin cannot be removed. `org.user.removed` fires.
#[utoipa::path(
    delete, path = "/users/{id}", operation_id = "remove_user", tag = "team",
    params(UserPath),
    responses((status = 204, description = "Removed."), RemoveErrors),
)]
async fn remove(
    State(state): State<AppState>, caller: Caller, ApiPath(UserPath { id }): ApiPath<UserPath>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::Admin)?;
    let id: UserId = api::path_id(&id, no_such_member)?;
    let now = state.clock.now_secs();
    let mut tx = state.db.begin_write().await?;
    orgs::lock(&mut tx, &caller.org_id).await?;
    let user = member(&mut tx, &caller.org_id, &id).await?;
    if user.role == UserRole::Admin.as_str() {
        let admins = users::admins(&mut tx, &caller.org_id).await?;
        if admins <= 1 {
            return Err(ApiError::new(
                ErrorCode::LastAdmin,
                "This is the org's last admin; make someone else an admin first.",
            ));
        }
    }
    users::remove(&mut tx, &id, now).await?;
    let sessions = sessions::revoke_all(&mut tx, &id, now).await?;
    setup_links::expire_unused(&mut tx, &id, now).await?;
    caller
        .audit(
            &mut tx,
            "user.removed",
            Some(&id),
            Some(json!({ "email": user.email, "role": user.role, "sessions_ended": sessions })),
        )
        .await?;
    events::emit(
        &mut tx,
        &caller.org_id,
        events::ORG_USER_REMOVED,
        json!({ "user_id": id, "email": user.email, "role": user.role }),
        caller.at_ms,
    )
    .await?;
    tx.commit().await?;
    state.events.notify();
    tracing::info!(org_id = %caller.org_id, user_id = %id, sessions_ended = sessions, "user removed");
    Ok(StatusCode::NO_CONTENT)
}

crate::api_errors!(NewSetupLinkErrors: NotFound = "not a member of this org");
/// A new single-use passkey setup link for a member (lost passkey, expired
/// invitation), mailed and returned. Earlier unused links stop working.
#[utoipa::path(
    post, path = "/users/{id}/setup-link", operation_id = "create_setup_link", tag = "team",
    params(UserPath),
    responses((status = 201, description = "A new link (shown once; also mailed).", body = UserWithSetupLink), NewSetupLinkErrors),
)]
async fn new_setup_link(
    State(state): State<AppState>, caller: Caller, ApiPath(UserPath { id }): ApiPath<UserPath>,
) -> Result<(StatusCode, ApiJson<UserWithSetupLink>), ApiError> {
    caller.require(Need::Admin)?;
    let id: UserId = api::path_id(&id, no_such_member)?;
    let now = state.clock.now_secs();
    let mut tx = state.db.begin_write().await?;
    let user = member(&mut tx, &caller.org_id, &id).await?;
    let org = orgs::get(&mut tx, &caller.org_id).await?.ok_or_else(|| ApiError::not_found("No such org."))?;
    setup_links::expire_unused(&mut tx, &id, now).await?;
    let token = setup_links::create(&mut tx, &id, SetupLinkPurpose::Recover, now).await?;
    caller.audit(&mut tx, "user.setup_link_created", Some(&id), None).await?;
    tx.commit().await?;

    let setup_url = setup_links::url(&state.config.public_origin(), &token);
    mail_link(&state, &user.email, &org.org_name, &setup_url, false).await;
    tracing::info!(org_id = %caller.org_id, user_id = %id, "setup link created");
    Ok((StatusCode::CREATED, ApiJson(UserWithSetupLink { user, setup_url })))
}
