//! The caller's own org (API.md, The org): `GET /org`, number claims and
//! releases, bundle rotation.

use axum::{extract::State, http::StatusCode};
use fxe_protocol::api::{ClaimNumberRequest, NumberInfo, NumberStatus, Org, OrgBundle, PublishBundleRequest};
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::error::ErrorCode;
use crate::{
    AppState, clock,
    db::orgs,
    http::auth::{Caller, Need},
    http::error::{ApiError, ApiJson, ApiPath},
    webhooks::events,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_org))
        .routes(routes!(claim_number))
        .routes(routes!(release_number))
        .routes(routes!(publish_bundle))
}

/// An org may have this many claims waiting for the operator at once, so that
/// no member can block a range of numbers by claiming them all.
pub const MAX_PENDING_CLAIMS: u64 = 20;

/// A published bundle may be dated at most this far ahead of the relay's
/// clock (a larger value would block every later rotation).
pub const MAX_BUNDLE_CLOCK_AHEAD_SECS: i64 = 24 * 3600;

/// The caller's org: name, ids, fingerprint, numbers, active bundle, counts.
#[utoipa::path(
    get, path = "/org", operation_id = "get_org", tag = "org",
    responses((status = 200, description = "The caller's org.", body = Org)),
)]
async fn get_org(State(state): State<AppState>, caller: Caller) -> Result<ApiJson<Org>, ApiError> {
    let mut conn = state.db.pool().acquire().await?;
    let org = orgs::org_view(&mut conn, &caller.org_id).await?.ok_or_else(|| ApiError::not_found("No such org."))?;
    Ok(ApiJson(org))
}

crate::api_errors!(ClaimNumberErrors: Forbidden = "needs an org admin or the admin scope", NumberTaken = "another org holds or claims it", TooManyPendingNumbers, InvalidNumber, InvalidBody);
/// Claims a number: `pending` until the relay operator approves it.
///
/// Claiming a number the org already holds or claims answers 200 with it.
#[utoipa::path(
    post, path = "/numbers", operation_id = "claim_number", tag = "org",
    request_body = ClaimNumberRequest,
    responses((status = 201, description = "Claimed; pending the operator's approval.", body = NumberInfo), (status = 200, description = "The org already holds or claims this number.", body = NumberInfo), ClaimNumberErrors),
)]
async fn claim_number(
    State(state): State<AppState>, caller: Caller, ApiJson(req): ApiJson<ClaimNumberRequest>,
) -> Result<(StatusCode, ApiJson<NumberInfo>), ApiError> {
    caller.require(Need::Admin)?;
    let number = crate::api::directory::normalize_number(&req.number)?;
    let now = state.clock.now_secs();
    let mut tx = state.db.begin_write().await?;
    orgs::lock(&mut tx, &caller.org_id).await?;
    let pending = orgs::pending_claims(&mut tx, &caller.org_id).await?;
    // ON CONFLICT: a concurrent claim of the same number by another org loses cleanly.
    if !orgs::insert_number(&mut tx, &number, &caller.org_id, false, now).await? {
        return match orgs::number(&mut tx, &number).await? {
            Some((holder, info)) if holder == caller.org_id => Ok((StatusCode::OK, ApiJson(info))),
            _ => Err(ApiError::new(
                ErrorCode::NumberTaken,
                format!("{number} is held or claimed by another org on this relay."),
            )),
        };
    }
    if pending >= MAX_PENDING_CLAIMS {
        return Err(ApiError::new(
            ErrorCode::TooManyPendingNumbers,
            format!(
                "This org already has {pending} claims waiting for the relay operator; withdraw some or wait for approval."
            ),
        ));
    }
    caller.audit(&mut tx, "number.claimed", Some(&number), None).await?;
    tx.commit().await?;
    tracing::info!(org_id = %caller.org_id, number = %number, "number claimed; awaiting operator approval");
    Ok((
        StatusCode::CREATED,
        ApiJson(NumberInfo { number, status: NumberStatus::Pending, created_at: clock::rfc3339(now) }),
    ))
}

crate::api_errors!(ReleaseNumberErrors: NotFound = "not one of this org's numbers", InvalidNumber);
/// Releases one of the org's numbers (or withdraws a pending claim).
#[utoipa::path(
    delete, path = "/numbers/{number}", operation_id = "release_number", tag = "org",
    params(("number" = String, Path, description = "E.164, loosely formatted input is normalised; send `+` as `%2B`.")),
    responses((status = 204, description = "Released."), ReleaseNumberErrors),
)]
async fn release_number(
    State(state): State<AppState>, caller: Caller, ApiPath(number): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::Admin)?;
    let number = crate::api::directory::normalize_number(&number)?;
    let mut tx = state.db.begin_write().await?;
    let status = orgs::release_number(&mut tx, &number, &caller.org_id).await?;
    let Some(status) = status else {
        return Err(ApiError::not_found(format!("{number} is not one of this org's numbers.")));
    };
    caller.audit(&mut tx, "number.released", Some(&number), Some(json!({ "status": status }))).await?;
    tx.commit().await?;
    tracing::info!(org_id = %caller.org_id, number = %number, "number released");
    Ok(StatusCode::NO_CONTENT)
}

crate::api_errors!(PublishBundleErrors: BundleExists = "this bundle was published before", BundleRollback = "not newer than the active bundle", BadBundle = "does not verify against the org's identity key, or dated in the future", InvalidBody);
/// Publishes a new bundle, signed by the org's identity key. It becomes the
/// active bundle; the previous one is retired but kept (old envelopes and
/// receipts still verify), and `bundle.rotated` fires.
///
/// Publishing the active bundle again answers 200 with it.
#[utoipa::path(
    post, path = "/bundles", operation_id = "publish_bundle", tag = "org",
    request_body = PublishBundleRequest,
    responses((status = 201, description = "The new active bundle.", body = OrgBundle), (status = 200, description = "This bundle is already the active one.", body = OrgBundle), PublishBundleErrors),
)]
async fn publish_bundle(
    State(state): State<AppState>, caller: Caller, ApiJson(req): ApiJson<PublishBundleRequest>,
) -> Result<(StatusCode, ApiJson<OrgBundle>), ApiError> {
    caller.require(Need::Admin)?;
    let bundle = req.bundle;
    let now = state.clock.now_secs();
    let mut tx = state.db.begin_write().await?;
    orgs::lock(&mut tx, &caller.org_id).await?;
    let org = orgs::get(&mut tx, &caller.org_id).await?.ok_or_else(|| ApiError::not_found("No such org."))?;
    bundle.verify(&org.identity_bytes()?).map_err(|e| {
        ApiError::new(ErrorCode::BadBundle, format!("The bundle does not verify against this org's identity key: {e}."))
    })?;
    let created_at =
        i64::try_from(bundle.created_at).ok().filter(|t| *t <= now + MAX_BUNDLE_CLOCK_AHEAD_SECS).ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadBundle,
                "The bundle's created_at is in the future; check the clock of the machine that made it.",
            )
        })?;
    let active = orgs::active_bundle(&mut tx, &caller.org_id)
        .await?
        .ok_or_else(|| ApiError::internal("org without an active bundle"))?;
    if active.bundle_id == bundle.bundle_id {
        return Ok((StatusCode::OK, ApiJson(OrgBundle { bundle: active, active: true, retired_at: None })));
    }
    if orgs::bundle_exists(&mut tx, &bundle.bundle_id).await? {
        return Err(ApiError::new(
            ErrorCode::BundleExists,
            "This bundle was published before; make a new one to rotate.",
        ));
    }
    if bundle.created_at <= active.created_at {
        return Err(ApiError::new(
            ErrorCode::BundleRollback,
            format!(
                "The bundle must be newer than the active one (created_at {} ≤ {}).",
                bundle.created_at, active.created_at
            ),
        ));
    }
    if !orgs::publish_bundle(&mut tx, &caller.org_id, &bundle, now).await? {
        return Err(ApiError::new(
            ErrorCode::BundleExists,
            "This bundle was published before; make a new one to rotate.",
        ));
    }
    caller
        .audit(
            &mut tx,
            "bundle.published",
            Some(&bundle.bundle_id),
            Some(json!({ "retired_bundle_id": active.bundle_id })),
        )
        .await?;
    events::emit(
        &mut tx,
        &caller.org_id,
        events::BUNDLE_ROTATED,
        json!({
            "bundle_id": bundle.bundle_id,
            "created_at": clock::rfc3339(created_at),
            "retired_bundle_id": active.bundle_id,
        }),
        caller.at_ms,
    )
    .await?;
    tx.commit().await?;
    state.events.notify();
    tracing::info!(org_id = %caller.org_id, bundle_id = %bundle.bundle_id, retired = %active.bundle_id, "bundle rotated");
    Ok((StatusCode::CREATED, ApiJson(OrgBundle { bundle, active: true, retired_at: None })))
}
