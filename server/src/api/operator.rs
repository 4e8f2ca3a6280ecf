//! The operator's calls (docs/api.md, "Operator API"): the same actions as
//! `fxe-server invite|org|number …`, for operator accounts signed in with a
//! passkey. Only a session of a user with role `operator` (and no org) may
//! call them; state changes must come from the relay's own pages (Origin).

use axum::{
    extract::{FromRequestParts, State},
    http::{StatusCode, request::Parts},
};
use fxe_protocol::api::{CreateInviteRequest, InviteInfo, Items, NewInvite, NumberClaim, OperatorOrg};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::error::ErrorCode;
use crate::{
    AppState,
    accounts::operators as operator,
    api,
    db::audit::{Actor, ActorKind},
    db::users::UserRole,
    http::auth::ClientAddress,
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
    http::session_cookie,
    ids::OrgId,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invites, create_invite))
        .routes(routes!(revoke_invite))
        .routes(routes!(reissue_invite_link))
        .routes(routes!(list_orgs))
        .routes(routes!(disable_org))
        .routes(routes!(enable_org))
        .routes(routes!(list_numbers))
        .routes(routes!(approve_number))
        .routes(routes!(deny_number))
}

/// A signed-in relay operator.
pub struct OperatorSession {
    actor: Actor,
}

impl FromRequestParts<AppState> for OperatorSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = session_cookie::current(state, &parts.headers).await?.ok_or_else(session_cookie::signed_out)?;
        if user.role != UserRole::Operator || user.org_id.is_some() {
            return Err(ApiError::new(ErrorCode::Forbidden, "This call is for the relay's operators."));
        }
        if session_cookie::changes_state(&parts.method) {
            session_cookie::check_origin(state, &parts.headers)?;
        }
        let ClientAddress(address) =
            ClientAddress::from_request_parts(parts, state).await.unwrap_or(ClientAddress(None));
        Ok(OperatorSession {
            actor: Actor {
                kind: ActorKind::Operator,
                id: Some(user.user_id.to_string()),
                label: Some(user.email),
                address,
            },
        })
    }
}

crate::api_errors!(ListInvitesErrors: Unauthenticated, Forbidden = "not an operator");
/// Every invite, newest last (never their tokens).
#[utoipa::path(
    get, path = "/operator/invites", operation_id = "operator_list_invites", tag = "operator",
    responses((status = 200, description = "The invites.", body = Items<InviteInfo>), ListInvitesErrors),
)]
async fn list_invites(
    State(state): State<AppState>, _op: OperatorSession,
) -> Result<ApiJson<Items<InviteInfo>>, ApiError> {
    Ok(ApiJson(Items { items: operator::list_invites(&state.db, &state.clock).await.map_err(ApiError::from)? }))
}

crate::api_errors!(CreateInviteErrors: Forbidden, BadOrigin, InvalidBody = "a number, the expiry or the note");
/// Issues a single-use invite; the answer is the only time its token and
/// redeem link are shown.
#[utoipa::path(
    post, path = "/operator/invites", operation_id = "operator_create_invite", tag = "operator",
    request_body = CreateInviteRequest,
    responses((status = 201, description = "Created.", body = NewInvite), CreateInviteErrors),
)]
async fn create_invite(
    State(state): State<AppState>, op: OperatorSession, ApiJson(req): ApiJson<CreateInviteRequest>,
) -> Result<(StatusCode, ApiJson<NewInvite>), ApiError> {
    let numbers = req.numbers.join(",");
    let numbers = (!numbers.trim_matches([',', ' ']).is_empty()).then_some(numbers.as_str());
    let origin = state.config.public_origin();
    let invite =
        operator::create_invite(&state.db, &origin, numbers, req.expires_in_secs, &req.note, &op.actor, &state.clock)
            .await
            .map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, ApiJson(invite)))
}

crate::api_errors!(ReissueInviteLinkErrors: NotFound = "no such invite", Conflict = "used, revoked or expired");
/// A new link for an active invite (the old link stops working): only the
/// token's hash is kept, so a lost link cannot be shown again.
#[utoipa::path(
    post, path = "/operator/invites/{id}/link", operation_id = "operator_reissue_invite_link", tag = "operator",
    params(("id" = String, Path, description = "The invite's id.")),
    responses((status = 200, description = "The new link; the old one no longer works.", body = NewInvite), ReissueInviteLinkErrors),
)]
async fn reissue_invite_link(
    State(state): State<AppState>, op: OperatorSession, ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<NewInvite>, ApiError> {
    let origin = state.config.public_origin();
    let invite = operator::reissue_invite(&state.db, &origin, id.trim(), &op.actor, &state.clock).await?;
    Ok(ApiJson(invite))
}

crate::api_errors!(RevokeInviteErrors: NotFound = "no such invite", Conflict = "already used, revoked or expired");
/// Revokes an active invite.
#[utoipa::path(
    post, path = "/operator/invites/{id}/revoke", operation_id = "operator_revoke_invite", tag = "operator",
    params(("id" = String, Path, description = "The invite's id.")),
    responses((status = 204, description = "Revoked."), RevokeInviteErrors),
)]
async fn revoke_invite(
    State(state): State<AppState>, op: OperatorSession, ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    operator::revoke_invite(&state.db, id.trim(), &op.actor, &state.clock).await.map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

// The errors of the operator's lists.
crate::api_errors!(OperatorListErrors: Forbidden = "not an operator");
/// Every member org with its numbers and counts.
#[utoipa::path(
    get, path = "/operator/orgs", operation_id = "operator_list_orgs", tag = "operator",
    responses((status = 200, description = "The orgs.", body = Items<OperatorOrg>), OperatorListErrors),
)]
async fn list_orgs(
    State(state): State<AppState>, _op: OperatorSession,
) -> Result<ApiJson<Items<OperatorOrg>>, ApiError> {
    Ok(ApiJson(Items { items: operator::list_orgs(&state.db).await.map_err(ApiError::from)? }))
}

crate::api_errors!(DisableOrgErrors: NotFound = "no such org", Conflict = "already disabled, or the echo org");
/// Disables an org: its keys and sessions stop working and its numbers
/// leave the directory; nothing is deleted.
#[utoipa::path(
    post, path = "/operator/orgs/{org_id}/disable", operation_id = "operator_disable_org", tag = "operator",
    params(("org_id" = String, Path, description = "The org's id.")),
    responses((status = 204, description = "Disabled."), DisableOrgErrors),
)]
async fn disable_org(
    State(state): State<AppState>, op: OperatorSession, ApiPath(org_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let org_id: OrgId = api::path_id(&org_id, || operator::no_such_org(&org_id))?;
    operator::set_org_disabled(&state.db, &org_id, true, &op.actor, &state.clock).await.map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

crate::api_errors!(EnableOrgErrors: NotFound = "no such org", Conflict = "not disabled");
/// Enables a disabled org again.
#[utoipa::path(
    post, path = "/operator/orgs/{org_id}/enable", operation_id = "operator_enable_org", tag = "operator",
    params(("org_id" = String, Path, description = "The org's id.")),
    responses((status = 204, description = "Enabled."), EnableOrgErrors),
)]
async fn enable_org(
    State(state): State<AppState>, op: OperatorSession, ApiPath(org_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let org_id: OrgId = api::path_id(&org_id, || operator::no_such_org(&org_id))?;
    operator::set_org_disabled(&state.db, &org_id, false, &op.actor, &state.clock).await.map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct NumbersQuery {
    /// Only claims waiting for approval.
    #[serde(default)]
    pending: bool,
}

/// Claimed numbers, active and pending.
#[utoipa::path(
    get, path = "/operator/numbers", operation_id = "operator_list_numbers", tag = "operator",
    params(NumbersQuery),
    responses((status = 200, description = "The numbers.", body = Items<NumberClaim>), OperatorListErrors),
)]
async fn list_numbers(
    State(state): State<AppState>, _op: OperatorSession, ApiQuery(q): ApiQuery<NumbersQuery>,
) -> Result<ApiJson<Items<NumberClaim>>, ApiError> {
    Ok(ApiJson(Items { items: operator::list_numbers(&state.db, q.pending).await.map_err(ApiError::from)? }))
}

// The errors of approving or denying a number claim.
crate::api_errors!(ClaimDecisionErrors: NotFound = "no org claims it", Conflict = "not pending");
/// Approves a pending claim: the number becomes active and enters the directory.
#[utoipa::path(
    post, path = "/operator/numbers/{number}/approve", operation_id = "operator_approve_number", tag = "operator",
    params(("number" = String, Path, description = "The number, E.164.")),
    responses((status = 200, description = "Approved.", body = NumberClaim), ClaimDecisionErrors),
)]
async fn approve_number(
    State(state): State<AppState>, op: OperatorSession, ApiPath(number): ApiPath<String>,
) -> Result<ApiJson<NumberClaim>, ApiError> {
    Ok(ApiJson(
        operator::decide_number(&state.db, &number, true, &op.actor, &state.clock).await.map_err(ApiError::from)?,
    ))
}

/// Denies a pending claim (the claim is deleted).
#[utoipa::path(
    post, path = "/operator/numbers/{number}/deny", operation_id = "operator_deny_number", tag = "operator",
    params(("number" = String, Path, description = "The number, E.164.")),
    responses((status = 200, description = "Denied.", body = NumberClaim), ClaimDecisionErrors),
)]
async fn deny_number(
    State(state): State<AppState>, op: OperatorSession, ApiPath(number): ApiPath<String>,
) -> Result<ApiJson<NumberClaim>, ApiError> {
    Ok(ApiJson(
        operator::decide_number(&state.db, &number, false, &op.actor, &state.clock).await.map_err(ApiError::from)?,
    ))
}
