//! The org's API keys: list, register (the key pair is made on the org's
//! side; the relay stores only the public key; at most
//! `--max-api-keys-per-org` not revoked), revoke.

use axum::{extract::State, http::StatusCode};
use fxe_protocol::{
    api::{ApiKeyInfo, CreateApiKeyRequest, Page},
    apikey, encoding,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::pagination::PageRequest;
use crate::http::error::ErrorCode;
use crate::{
    AppState,
    db::api_keys::{self, NewApiKey},
    http::auth::{Caller, Need},
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
};
use crate::{api, ids::ApiKeyId};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

/// `?limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The org's API keys, revoked ones included, newest first.
#[utoipa::path(
    get, path = "/api-keys", operation_id = "list_api_keys", tag = "api keys",
    params(PageQuery),
    responses((status = 200, description = "A page of keys.", body = Page<ApiKeyInfo>)),
)]
async fn list(
    State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<ApiJson<Page<ApiKeyInfo>>, ApiError> {
    caller.require(Need::Admin)?;
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let keys = api_keys::page(&state.db, &caller.org_id, &page).await?;
    Ok(ApiJson(keys))
}

/// Checks a label people will see: at most 200 characters, no control characters.
pub fn validate_label(label: &str) -> Result<(), ApiError> {
    if label.chars().count() > 200 || label.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            "label must be at most 200 characters without control characters.",
        ));
    }
    Ok(())
}

crate::api_errors!(CreateErrors: KeyExists = "this key is already registered on the relay", TooManyApiKeys = "the org has as many keys (not revoked) as it may (`--max-api-keys-per-org`, default 50): revoke one first", BadProof = "the key or its proof does not verify", InvalidBody = "scopes or label");
/// Registers an API key. `proof` is the new key's signature over
/// `T("fxe/v1 api-key", org_id, key_id, scopes joined by ",")` (PROTOCOL.md §6).
#[utoipa::path(
    post, path = "/api-keys", operation_id = "create_api_key", tag = "api keys",
    request_body = CreateApiKeyRequest,
    responses((status = 201, description = "Registered.", body = ApiKeyInfo), CreateErrors),
)]
async fn create(
    State(state): State<AppState>, caller: Caller, ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, ApiJson<ApiKeyInfo>), ApiError> {
    caller.require(Need::Admin)?;
    apikey::validate_scopes(&req.scopes).map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.to_string()))?;
    let label = req.label.trim();
    validate_label(label)?;
    let bad_proof = |what: &str| ApiError::new(ErrorCode::BadProof, format!("The {what} does not verify."));
    let public = encoding::b64u_fixed::<32>("public_key", &req.public_key).map_err(|_| bad_proof("public key"))?;
    fxe_protocol::sign::parse_public("public_key", &public).map_err(|_| bad_proof("public key"))?;
    let proof = encoding::b64u_fixed::<64>("proof", &req.proof).map_err(|_| bad_proof("registration proof"))?;
    apikey::verify_registration(&public, &caller.org_id, &req.scopes, &proof)
        .map_err(|_| bad_proof("registration proof (for this org, key and scopes)"))?;
    let key_id = apikey::key_id(&public);

    let now = state.clock.now_secs();
    let mut tx = state.db.begin_write().await?;
    let cap = state.limits.max_api_keys_per_org;
    if api_keys::live_count(&mut tx, &caller.org_id).await? >= u64::from(cap) {
        return Err(ApiError::new(
            ErrorCode::TooManyApiKeys,
            format!(
                "This org has {cap} API keys that are not revoked, as many as it may; revoke one it no longer uses."
            ),
        ));
    }
    let new = NewApiKey {
        key_id: &key_id,
        org_id: &caller.org_id,
        public_key: &req.public_key,
        scopes: &req.scopes,
        label,
        created_at: now,
    };
    let inserted = api_keys::insert(&mut tx, new).await?;
    if !inserted {
        return Err(ApiError::new(ErrorCode::KeyExists, "This API key is already registered."));
    }
    caller
        .audit(&mut tx, "api_key.created", Some(&key_id), Some(json!({ "scopes": req.scopes, "label": label })))
        .await?;
    let info = api_keys::get(&mut tx, &key_id).await?.ok_or_else(|| ApiError::internal("API key vanished"))?;
    tx.commit().await?;
    tracing::info!(org_id = %caller.org_id, key_id = %key_id, scopes = ?req.scopes, "API key registered");
    Ok((StatusCode::CREATED, ApiJson(info)))
}

crate::api_errors!(RevokeErrors: NotFound = "not one of this org's keys");
/// Revokes one of the org's keys at once. Revoking a revoked key is a no-op.
#[utoipa::path(
    delete, path = "/api-keys/{key_id}", operation_id = "revoke_api_key", tag = "api keys",
    params(("key_id" = String, Path, description = "`ak_` and 24 lowercase hex characters.", pattern = "^ak_[0-9a-f]{24}$")),
    responses((status = 204, description = "Revoked."), RevokeErrors),
)]
async fn revoke(
    State(state): State<AppState>, caller: Caller, ApiPath(key_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::Admin)?;
    let not_found = || ApiError::not_found("No such API key in this org.");
    let key_id: ApiKeyId = api::path_id(&key_id, not_found)?;
    let mut tx = state.db.begin_write().await?;
    if api_keys::is_revoked(&mut tx, &caller.org_id, &key_id).await?.ok_or_else(not_found)? {
        return Ok(StatusCode::NO_CONTENT);
    }
    api_keys::revoke(&mut tx, &key_id, state.clock.now_secs()).await?;
    caller.audit(&mut tx, "api_key.revoked", Some(&key_id), None).await?;
    tx.commit().await?;
    tracing::info!(org_id = %caller.org_id, key_id = %key_id, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
