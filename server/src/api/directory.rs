//! The directory: who owns a number, and every org's identity and bundles
//! (to verify senders and old receipts). Any authenticated caller.

use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use fxe_protocol::api::{DirectoryEntry, OrgBundles, OrgPublic};

use crate::{
    AppState,
    auth::Caller,
    error::{ApiError, ApiJson},
    orgs,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/directory/{number}", get(lookup))
        .route("/orgs/{org_id}", get(org))
        .route("/orgs/{org_id}/bundles", get(bundles))
}

/// Loose input (`+1 (555) 123-4567`) is normalised; anything else is 422 `invalid_number`.
pub fn normalize_number(raw: &str) -> Result<String, ApiError> {
    fxe_protocol::e164::normalize(raw).map_err(|e| ApiError::unprocessable("invalid_number", e.to_string()))
}

async fn lookup(State(state): State<AppState>, _caller: Caller, Path(number): Path<String>) -> Result<ApiJson<DirectoryEntry>, ApiError> {
    let number = normalize_number(&number)?;
    let mut conn = state.db.pool().acquire().await?;
    let not_on_network = || ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_on_network", "This number is not on fxe; send through your usual fax carrier.");
    let Some(org) = orgs::owner_of(&mut conn, &number).await? else { return Err(not_on_network()) };
    let Some(bundle) = orgs::active_bundle(&mut conn, &org.org_id).await? else { return Err(not_on_network()) };
    Ok(ApiJson(DirectoryEntry { number, org_id: org.org_id, org_name: org.org_name, identity_pub: org.identity_pub, bundle }))
}

fn validate_org_id(org_id: &str) -> Result<(), ApiError> {
    fxe_protocol::encoding::validate_id32("org_id", org_id).map_err(|_| ApiError::not_found("No such org."))
}

async fn org(State(state): State<AppState>, _caller: Caller, Path(org_id): Path<String>) -> Result<ApiJson<OrgPublic>, ApiError> {
    validate_org_id(&org_id)?;
    let mut conn = state.db.pool().acquire().await?;
    let org = orgs::get(&mut conn, &org_id).await?.ok_or_else(|| ApiError::not_found("No such org."))?;
    let identity = org.identity_bytes()?;
    Ok(ApiJson(OrgPublic {
        fingerprint: fxe_protocol::ids::fingerprint(&identity),
        org_id: org.org_id,
        org_name: org.org_name,
        identity_pub: org.identity_pub,
    }))
}

async fn bundles(State(state): State<AppState>, _caller: Caller, Path(org_id): Path<String>) -> Result<ApiJson<OrgBundles>, ApiError> {
    validate_org_id(&org_id)?;
    let mut conn = state.db.pool().acquire().await?;
    if orgs::get(&mut conn, &org_id).await?.is_none() {
        return Err(ApiError::not_found("No such org."));
    }
    Ok(ApiJson(OrgBundles { items: orgs::bundles(&mut conn, &org_id).await? }))
}
