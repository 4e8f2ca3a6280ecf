//! `GET /audit`: the org's audit trail, newest first.

use axum::extract::State;
use fxe_protocol::api::{Actor, AuditEntry, Page};
use serde::Deserialize;
use sqlx::Row;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::pagination::{self, PageRequest};
use crate::http::error::ErrorCode;
use crate::{
    AppState, clock,
    http::auth::{Caller, Need},
    http::error::{ApiError, ApiJson, ApiQuery},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only this actor: a user id, an API key id, an e-mail address, or one
    /// of the kinds `user`, `api_key`, `relay`, `operator`.
    actor: Option<String>,
    /// Only this action (e.g. `api_key.created`), or every action starting
    /// with a prefix when it ends in `*` (e.g. `message.*`).
    action: Option<String>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn invalid(message: &'static str) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, message)
}

/// The org's audit trail: who (user, API key, relay, operator) did what,
/// when, from which address. Newest first.
#[utoipa::path(
    get, path = "/audit", operation_id = "list_audit", tag = "audit",
    params(AuditQuery),
    responses((status = 200, description = "A page of audit entries.", body = Page<AuditEntry>)),
)]
async fn list(
    State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<ApiJson<Page<AuditEntry>>, ApiError> {
    caller.require(Need::Admin)?;
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let mut sql = String::from(
        "SELECT id, at_ms, actor_type, actor_id, actor_label, action, target, address, detail_json FROM audit WHERE org_id = $1",
    );
    let mut binds: Vec<String> = vec![caller.org_id.to_string()];
    let placeholder = |value: String, binds: &mut Vec<String>| {
        binds.push(value);
        format!("${}", binds.len())
    };
    if let Some(actor) = q.actor.as_deref().map(str::trim) {
        if actor.is_empty() || actor.len() > 254 {
            return Err(invalid("actor must be 1 to 254 characters."));
        }
        let p = placeholder(actor.to_owned(), &mut binds);
        sql += &format!(" AND (actor_id = {p} OR actor_label = {p} OR actor_type = {p})");
    }
    if let Some(action) = q.action.as_deref().map(str::trim) {
        let prefix = action.strip_suffix('*');
        let body = prefix.unwrap_or(action);
        if body.len() > 100
            || !body.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
            || (prefix.is_none() && body.is_empty())
        {
            return Err(invalid(
                "action must be an action name such as api_key.created, or a prefix ending in * such as message.*",
            ));
        }
        if let Some(prefix) = prefix {
            // `_` is a LIKE wildcard; compare the prefix exactly instead.
            let p = placeholder(prefix.to_owned(), &mut binds);
            sql += &format!(" AND SUBSTR(action, 1, LENGTH({p})) = {p}");
        } else {
            let p = placeholder(action.to_owned(), &mut binds);
            sql += &format!(" AND action = {p}");
        }
    }
    let entries = pagination::fetch(state.db.pool(), &sql, &binds, ("at_ms", "id"), &page, |r| {
        let at_ms: i64 = r.try_get("at_ms")?;
        let detail = r
            .try_get::<Option<String>, _>("detail_json")?
            .map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d)));
        Ok(AuditEntry {
            id: r.try_get("id")?,
            at: clock::rfc3339_ms(at_ms),
            actor: Actor {
                kind: r.try_get("actor_type")?,
                id: r.try_get("actor_id")?,
                label: r.try_get("actor_label")?,
            },
            action: r.try_get("action")?,
            target: r.try_get("target")?,
            address: r.try_get("address")?,
            detail,
        })
    })
    .await?;
    Ok(ApiJson(entries))
}
