//! The org's API keys: list, register (the key pair is made on the org's
//! side; the relay stores only the public key), revoke.

use axum::{extract::State, http::StatusCode};
use fxe_protocol::{
    api::{ApiKeyInfo, CreateApiKeyRequest, ErrorBody, Page},
    apikey, encoding,
};
use serde::Deserialize;
use serde_json::json;
use sqlx::Row;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::pagination::{self, PageRequest};
use crate::http::error::ErrorCode;
use crate::{
    AppState, clock,
    db::audit::{self, Entry},
    http::auth::{Caller, Need},
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

/// `?limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

const COLUMNS: &str = "key_id, label, scopes, created_at, revoked_at, last_used_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<ApiKeyInfo, sqlx::Error> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiKeyInfo {
        key_id: row.try_get("key_id")?,
        label: row.try_get("label")?,
        scopes: scopes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        created_at: clock::rfc3339(row.try_get("created_at")?),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(clock::rfc3339),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(clock::rfc3339),
    })
}

/// The org's API keys, revoked ones included, newest first.
#[utoipa::path(
    get, path = "/api-keys", operation_id = "list_api_keys", tag = "api keys",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of keys.", body = Page<ApiKeyInfo>),
        (status = 400, description = "`invalid_query`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
    ),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<ApiJson<Page<ApiKeyInfo>>, ApiError> {
    caller.require(Need::Admin)?;
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let select = format!("SELECT {COLUMNS} FROM api_keys WHERE org_id = $1");
    let keys = pagination::fetch(
        state.db.pool(),
        &select,
        std::slice::from_ref(&caller.org_id),
        ("created_at", "key_id"),
        &page,
        from_row,
    )
    .await?;
    Ok(ApiJson(keys))
}

/// Checks a label people will see: at most 200 characters, no control characters.
pub fn validate_label(label: &str) -> Result<(), ApiError> {
    if label.chars().count() > 200 || label.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidBody,
            "label must be at most 200 characters without control characters.",
        ));
    }
    Ok(())
}

/// Registers an API key. `proof` is the new key's signature over
/// `T("fxe/v1 api-key", org_id, key_id, scopes joined by ",")` (PROTOCOL.md §6).
#[utoipa::path(
    post, path = "/api-keys", operation_id = "create_api_key", tag = "api keys",
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Registered.", body = ApiKeyInfo),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 409, description = "`key_exists`: this key is already registered on the relay.", body = ErrorBody),
        (status = 422, description = "`bad_proof`: the key or its proof does not verify; `invalid_body`: scopes or label.", body = ErrorBody),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, ApiJson<ApiKeyInfo>), ApiError> {
    caller.require(Need::Admin)?;
    apikey::validate_scopes(&req.scopes).map_err(|e| ApiError::unprocessable(ErrorCode::InvalidBody, e.to_string()))?;
    let label = req.label.trim();
    validate_label(label)?;
    let bad_proof = |what: &str| ApiError::unprocessable(ErrorCode::BadProof, format!("The {what} does not verify."));
    let public = encoding::b64u_fixed::<32>("public_key", &req.public_key).map_err(|_| bad_proof("public key"))?;
    fxe_protocol::sign::parse_public("public_key", &public).map_err(|_| bad_proof("public key"))?;
    let proof = encoding::b64u_fixed::<64>("proof", &req.proof).map_err(|_| bad_proof("registration proof"))?;
    apikey::verify_registration(&public, &caller.org_id, &req.scopes, &proof)
        .map_err(|_| bad_proof("registration proof (for this org, key and scopes)"))?;
    let key_id = apikey::key_id(&public);

    let now = clock::now_secs();
    let mut tx = state.db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO api_keys (key_id, org_id, public_key, scopes, label, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (key_id) DO NOTHING",
    )
    .bind(&key_id)
    .bind(&caller.org_id)
    .bind(&req.public_key)
    .bind(req.scopes.join(","))
    .bind(label)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(ApiError::conflict(ErrorCode::KeyExists, "This API key is already registered."));
    }
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "api_key.created",
            target: Some(&key_id),
            detail: Some(json!({ "scopes": req.scopes, "label": label })),
        },
    )
    .await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_keys WHERE key_id = $1"))
        .bind(&key_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(org_id = %caller.org_id, key_id = %key_id, scopes = ?req.scopes, "API key registered");
    Ok((StatusCode::CREATED, ApiJson(from_row(&row)?)))
}

/// Revokes one of the org's keys at once. Revoking a revoked key is a no-op.
#[utoipa::path(
    delete, path = "/api-keys/{key_id}", operation_id = "revoke_api_key", tag = "api keys",
    params(("key_id" = String, Path, description = "`ak_` and 24 hex characters.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`not_found`: not one of this org's keys.", body = ErrorBody),
    ),
)]
async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::Admin)?;
    let not_found = || ApiError::not_found("No such API key in this org.");
    apikey::validate_key_id(&key_id).map_err(|_| not_found())?;
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query("SELECT revoked_at FROM api_keys WHERE key_id = $1 AND org_id = $2")
        .bind(&key_id)
        .bind(&caller.org_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(not_found)?;
    if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
        return Ok(StatusCode::NO_CONTENT);
    }
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL")
        .bind(clock::now_secs())
        .bind(&key_id)
        .execute(&mut *tx)
        .await?;
    let actor = caller.actor();
    audit::write(
        &mut tx,
        Entry {
            org_id: Some(&caller.org_id),
            actor: &actor,
            action: "api_key.revoked",
            target: Some(&key_id),
            detail: None,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(org_id = %caller.org_id, key_id = %key_id, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
