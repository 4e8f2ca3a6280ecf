//! The directory: who owns a number, and every org's identity and bundles
//! (to verify senders and old receipts). Any authenticated caller.

use axum::extract::State;
use fxe_protocol::api::{DirectoryEntry, OrgBundle, OrgBundles, OrgPublic};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::error::ErrorCode;
use crate::{
    AppState, api,
    db::{DbError, orgs},
    http::auth::Caller,
    http::error::{ApiError, ApiJson, ApiPath},
    ids::OrgId,
    transparency::View,
};

/// The member org a call is about (`/orgs/{org_id}…`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct OrgPath {
    /// 32 lowercase hex characters.
    #[param(pattern = "^[0-9a-f]{32}$")]
    org_id: String,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(lookup)).routes(routes!(org)).routes(routes!(bundles))
}

/// Loose input (`+1 (555) 123-4567`) is normalised; anything else is 422 `invalid_number`.
pub fn normalize_number(raw: &str) -> Result<String, ApiError> {
    fxe_protocol::e164::normalize(raw).map_err(|e| ApiError::new(ErrorCode::InvalidNumber, e.to_string()))
}

crate::api_errors!(LookupErrors: NotOnNetwork, InvalidNumber, LogPending = "the transparency log does not cover the answer yet (`Retry-After`)");
/// Who owns this number now, with the org's active bundle; 404
/// `not_on_network` when no member org does (use the PSTN carrier).
#[utoipa::path(
    get, path = "/directory/{number}", operation_id = "lookup_number", tag = "directory",
    params(("number" = String, Path, description = "E.164; loosely formatted input is normalised; send `+` as `%2B`.")),
    responses((status = 200, description = "The owner and its active bundle, with the transparency log's proof of both (`log`).", body = DirectoryEntry), LookupErrors),
)]
async fn lookup(
    State(state): State<AppState>, _caller: Caller, ApiPath(number): ApiPath<String>,
) -> Result<ApiJson<DirectoryEntry>, ApiError> {
    let number = normalize_number(&number)?;
    let not_on_network =
        || ApiError::new(ErrorCode::NotOnNetwork, "This number is not on fxe; send through your usual fax carrier.");
    let (db, number) = (&state.db, &number);
    let load = move || async move {
        let mut conn = db.pool().acquire().await?;
        let Some(org) = orgs::owner_of(&mut conn, number).await? else { return Ok(None) };
        let Some(bundle) = orgs::active_bundle(&mut conn, &org.org_id).await? else { return Ok(None) };
        Ok::<_, DbError>(Some(DirectoryEntry {
            number: number.clone(),
            org_id: org.org_id,
            org_name: org.org_name,
            identity_pub: org.identity_pub,
            bundle,
            log: None,
        }))
    };
    let (mut entry, view) = state.log.backed(load, View::covers_directory).await?.ok_or_else(not_on_network)?;
    entry.log = view.proof(&entry);
    Ok(ApiJson(entry))
}

/// The directory's 404 for an org id it does not know (or a malformed one).
fn no_such_org() -> ApiError {
    ApiError::not_found("No such org.")
}

// The errors of the calls on one member org.
crate::api_errors!(OrgLookupErrors: NotFound, LogPending = "the transparency log does not cover the answer yet (`Retry-After`)");
/// A member org's identity, to verify what it signed.
#[utoipa::path(
    get, path = "/orgs/{org_id}", operation_id = "get_org_public", tag = "directory",
    params(OrgPath),
    responses((status = 200, description = "The org's public identity.", body = OrgPublic), OrgLookupErrors),
)]
async fn org(
    State(state): State<AppState>, _caller: Caller, ApiPath(OrgPath { org_id }): ApiPath<OrgPath>,
) -> Result<ApiJson<OrgPublic>, ApiError> {
    let org_id: OrgId = api::path_id(&org_id, no_such_org)?;
    let (db, id) = (&state.db, &org_id);
    let load = move || async move {
        let mut conn = db.pool().acquire().await?;
        orgs::get(&mut conn, id).await
    };
    let covered = |v: &View, o: &orgs::OrgRow| v.covers_org(&o.org_id, &o.identity_pub);
    let (org, _) = state.log.backed(load, covered).await?.ok_or_else(no_such_org)?;
    let identity = org.identity_bytes()?;
    Ok(ApiJson(OrgPublic {
        fingerprint: fxe_protocol::ids::fingerprint(&identity),
        org_id: org.org_id,
        org_name: org.org_name,
        identity_pub: org.identity_pub,
    }))
}

/// Every bundle the org has published, newest first (to verify old envelopes and receipts).
#[utoipa::path(
    get, path = "/orgs/{org_id}/bundles", operation_id = "list_org_bundles", tag = "directory",
    params(OrgPath),
    responses((status = 200, description = "The org's bundles.", body = OrgBundles), OrgLookupErrors),
)]
async fn bundles(
    State(state): State<AppState>, _caller: Caller, ApiPath(OrgPath { org_id }): ApiPath<OrgPath>,
) -> Result<ApiJson<OrgBundles>, ApiError> {
    let org_id: OrgId = api::path_id(&org_id, no_such_org)?;
    let (db, id) = (&state.db, &org_id);
    let load = move || async move {
        let mut conn = db.pool().acquire().await?;
        if orgs::get(&mut conn, id).await?.is_none() {
            return Ok(None);
        }
        orgs::bundles(&mut conn, id).await.map(Some)
    };
    let covered = |v: &View, items: &Vec<OrgBundle>| v.covers_bundles(items.iter().map(|b| &b.bundle));
    let (items, _) = state.log.backed(load, covered).await?.ok_or_else(no_such_org)?;
    Ok(ApiJson(OrgBundles { items }))
}
