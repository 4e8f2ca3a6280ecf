//! The org's team: list, invite (a single-use passkey setup link, mailed and
//! returned to the admin), remove (ends the user's sessions), new setup link.

use axum::{extract::State, http::StatusCode};
use fxe_protocol::api::{CreateUserRequest, ErrorBody, Page, User, UserWithSetupLink};
use serde_json::json;
use sqlx::{AnyConnection, Row};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    api_keys::PageQuery,
    pagination::{self, PageRequest},
};
use crate::http::error::ErrorCode;
use crate::{
    AppState, clock,
    db::audit::{self, Entry},
    db::orgs,
    db::setup_links,
    http::auth::{Caller, Need},
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
    mail,
    webhooks::events,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(remove)).routes(routes!(new_setup_link))
}

const COLUMNS: &str =
    "id, email, role, created_at, (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = users.id) AS passkeys";

fn from_row(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: row.try_get("role")?,
        created_at: clock::rfc3339(row.try_get("created_at")?),
        passkeys: u64::try_from(row.try_get::<i64, _>("passkeys")?).unwrap_or(0),
    })
}

/// A current member of the caller's org, or 404.
async fn member(conn: &mut AnyConnection, org_id: &str, user_id: &str) -> Result<User, ApiError> {
    let not_found = || ApiError::not_found("No such user in this org.");
    fxe_protocol::encoding::validate_uuid_v4("id", user_id).map_err(|_| not_found())?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1 AND org_id = $2 AND removed_at IS NULL"))
        .bind(user_id)
        .bind(org_id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(not_found)?;
    Ok(from_row(&row)?)
}

/// The org's current members, newest first.
#[utoipa::path(
    get, path = "/users", operation_id = "list_users", tag = "team",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of users.", body = Page<User>),
        (status = 400, description = "`invalid_query`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
    ),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<ApiJson<Page<User>>, ApiError> {
    caller.require(Need::Admin)?;
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let select = format!("SELECT {COLUMNS} FROM users WHERE org_id = $1 AND removed_at IS NULL");
    let users = pagination::fetch(
        state.db.pool(),
        &select,
        std::slice::from_ref(&caller.org_id),
        ("created_at", "id"),
        &page,
        from_row,
    )
    .await?;
    Ok(ApiJson(users))
}

fn parse_role(role: &str) -> Result<&'static str, ApiError> {
    match role {
        "admin" => Ok("admin"),
        "user" => Ok("user"),
        _ => Err(ApiError::unprocessable(ErrorCode::InvalidBody, "role must be admin or user.")),
    }
}

/// Mails a setup link; a failure is logged, not fatal: the admin also gets
/// the link in the answer and can pass it on.
async fn mail_link(state: &AppState, to: &str, org_name: &str, url: &str, invited: bool) {
    if let Err(e) = state.mailer.send(&mail::setup_link_mail(to, org_name, url, invited)).await {
        tracing::error!(error = %e, to = %to, "could not mail the setup link; the admin has it in the answer");
    }
}

/// Adds a teammate and mails them a single-use passkey setup link (24 h),
/// also returned here. `org.user.added` fires.
#[utoipa::path(
    post, path = "/users", operation_id = "create_user", tag = "team",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Added; the setup link is in the answer (shown once) and in the mail.", body = UserWithSetupLink),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 409, description = "`user_exists`: a member of this org has this address.", body = ErrorBody),
        (status = 422, description = "`invalid_email`, `invalid_body` (role).", body = ErrorBody),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, ApiJson<UserWithSetupLink>), ApiError> {
    caller.require(Need::Admin)?;
    let email = req.email.trim();
    crate::api::redeem::validate_email(email)?;
    let role = parse_role(&req.role)?;
    let now = clock::now_secs();
    let user_id = fxe_protocol::encoding::new_uuid_v4().map_err(ApiError::internal)?;

    let mut tx = state.db.begin_write().await?;
    orgs::lock(&mut tx, &caller.org_id).await?;
    let org = orgs::get(&mut tx, &caller.org_id).await?.ok_or_else(|| ApiError::not_found("No such org."))?;
    let exists =
        sqlx::query("SELECT id FROM users WHERE org_id = $1 AND removed_at IS NULL AND LOWER(email) = LOWER($2)")
            .bind(&caller.org_id)
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_some() {
        return Err(ApiError::conflict(ErrorCode::UserExists, format!("{email} is already a member of this org.")));
    }
    sqlx::query("INSERT INTO users (id, org_id, email, role, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&user_id)
        .bind(&caller.org_id)
        .bind(email)
        .bind(role)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let token = setup_links::create(&mut tx, &user_id, "invite").await?;
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "user.added",
            target: Some(&user_id),
            detail: Some(json!({ "email": email, "role": role })),
        },
    )
    .await?;
    events::emit(
        &mut tx,
        &caller.org_id,
        events::ORG_USER_ADDED,
        json!({ "user_id": user_id, "email": email, "role": role }),
    )
    .await?;
    let user = member(&mut tx, &caller.org_id, &user_id).await?;
    tx.commit().await?;
    state.events.notify();

    let setup_url = setup_links::url(&state.config.public_origin(), &token);
    mail_link(&state, email, &org.org_name, &setup_url, true).await;
    tracing::info!(org_id = %caller.org_id, user_id = %user_id, role = %role, "user added");
    Ok((StatusCode::CREATED, ApiJson(UserWithSetupLink { user, setup_url })))
}

/// Removes a member: their sessions end at once and their unused setup links
/// stop working. The last admin cannot be removed. `org.user.removed` fires.
#[utoipa::path(
    delete, path = "/users/{id}", operation_id = "remove_user", tag = "team",
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`: not a member of this org.", body = ErrorBody),
        (status = 409, description = "`last_admin`: the org needs at least one admin.", body = ErrorBody),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::Admin)?;
    let now = clock::now_secs();
    let mut tx = state.db.begin_write().await?;
    orgs::lock(&mut tx, &caller.org_id).await?;
    let user = member(&mut tx, &caller.org_id, &id).await?;
    if user.role == "admin" {
        let admins: i64 =
            sqlx::query("SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = 'admin' AND removed_at IS NULL")
                .bind(&caller.org_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        if admins <= 1 {
            return Err(ApiError::conflict(
                ErrorCode::LastAdmin,
                "This is the org's last admin; make someone else an admin first.",
            ));
        }
    }
    sqlx::query("UPDATE users SET removed_at = $1 WHERE id = $2").bind(now).bind(&id).execute(&mut *tx).await?;
    let sessions = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    expire_setup_links(&mut tx, &id, now).await?;
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "user.removed",
            target: Some(&id),
            detail: Some(json!({ "email": user.email, "role": user.role, "sessions_ended": sessions })),
        },
    )
    .await?;
    events::emit(
        &mut tx,
        &caller.org_id,
        events::ORG_USER_REMOVED,
        json!({ "user_id": id, "email": user.email, "role": user.role }),
    )
    .await?;
    tx.commit().await?;
    state.events.notify();
    tracing::info!(org_id = %caller.org_id, user_id = %id, sessions_ended = sessions, "user removed");
    Ok(StatusCode::NO_CONTENT)
}

/// Ends the user's unused setup links (a new one replaces them; a removed user keeps none).
async fn expire_setup_links(conn: &mut AnyConnection, user_id: &str, now: i64) -> Result<(), ApiError> {
    sqlx::query("UPDATE setup_tokens SET expires_at = $1 WHERE user_id = $2 AND used_at IS NULL AND expires_at > $1")
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new single-use passkey setup link for a member (lost passkey, expired
/// invitation), mailed and returned. Earlier unused links stop working.
#[utoipa::path(
    post, path = "/users/{id}/setup-link", operation_id = "create_setup_link", tag = "team",
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 201, description = "A new link (shown once; also mailed).", body = UserWithSetupLink),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`: not a member of this org.", body = ErrorBody),
    ),
)]
async fn new_setup_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, ApiJson<UserWithSetupLink>), ApiError> {
    caller.require(Need::Admin)?;
    let now = clock::now_secs();
    let mut tx = state.db.begin_write().await?;
    let user = member(&mut tx, &caller.org_id, &id).await?;
    let org = orgs::get(&mut tx, &caller.org_id).await?.ok_or_else(|| ApiError::not_found("No such org."))?;
    expire_setup_links(&mut tx, &id, now).await?;
    let token = setup_links::create(&mut tx, &id, "recover").await?;
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "user.setup_link_created",
            target: Some(&id),
            detail: None,
        },
    )
    .await?;
    tx.commit().await?;

    let setup_url = setup_links::url(&state.config.public_origin(), &token);
    mail_link(&state, &user.email, &org.org_name, &setup_url, false).await;
    tracing::info!(org_id = %caller.org_id, user_id = %id, "setup link created");
    Ok((StatusCode::CREATED, ApiJson(UserWithSetupLink { user, setup_url })))
}
