//! The transparency log as C2SP tlog-tiles serves it (docs/transparency.md
//! §7), below `/api/v1/transparency/`: the newest published checkpoint, the
//! hash tiles and entry bundles under it, and the trust policy members pin.
//! Members only (any authenticated caller): the log is the members' directory.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use fxe_protocol::transparency::{TrustPolicy, tile::Tile};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    http::auth::Caller,
    http::error::{ApiError, ApiJson, ApiPath},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkpoint))
        .routes(routes!(policy))
        .routes(routes!(tile_1))
        .routes(routes!(tile_2))
        .routes(routes!(tile_3))
        .routes(routes!(tile_4))
}

/// Tiles and entry bundles never change: a member's client may keep them.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";

fn no_checkpoint() -> ApiError {
    ApiError::not_found("The transparency log has no published checkpoint yet.")
}

crate::api_errors!(CheckpointErrors: NotFound = "nothing is published yet");
/// The newest published checkpoint: a signed note (c2sp.org/tlog-checkpoint) with the
/// witnesses' cosignatures.
#[utoipa::path(
    get, path = "/transparency/checkpoint", operation_id = "get_log_checkpoint", tag = "transparency",
    responses((status = 200, description = "The checkpoint note.", content_type = "text/plain; charset=utf-8", body = String), CheckpointErrors),
)]
async fn checkpoint(State(state): State<AppState>, _caller: Caller) -> Result<Response, ApiError> {
    let view = state.log.view();
    let note = view.published_note().ok_or_else(no_checkpoint)?;
    Ok(text(note.to_owned(), "no-store"))
}

/// The log's trust policy (its key, the witnesses' keys, the quorum, the freshness
/// limit): pinned by a member when it redeems, checked out of band by its fingerprint.
#[utoipa::path(
    get, path = "/transparency/policy", operation_id = "get_log_policy", tag = "transparency",
    responses((status = 200, description = "The trust policy.", body = TrustPolicy)),
)]
async fn policy(State(state): State<AppState>, _caller: Caller) -> ApiJson<TrustPolicy> {
    ApiJson(state.log.policy().clone())
}

fn text(body: String, cache: &'static str) -> Response {
    let mut r = (StatusCode::OK, Body::from(body)).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

/// Serves `tile/<parts…>` if the published checkpoint covers it.
fn tile(state: &AppState, parts: &[&str]) -> Result<Response, ApiError> {
    let missing = || ApiError::not_found("No such tile under the published checkpoint.");
    let path = format!("tile/{}", parts.join("/"));
    let tile = Tile::parse(&path).map_err(|_| missing())?;
    let bytes = state.log.view().tile(&tile).ok_or_else(missing)?;
    let mut r = (StatusCode::OK, Body::from(bytes)).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    Ok(r)
}

// The errors of the four tile calls.
crate::api_errors!(TileErrors: NotFound = "no such tile under the published checkpoint");
/// `tile/<L>/<N>`: a full tile whose index is one 3-digit group (`L` a level, or `entries`).
#[utoipa::path(
    get, path = "/transparency/tile/{level}/{n}", operation_id = "get_log_tile", tag = "transparency",
    params(("level" = String, Path, description = "A tile level, or `entries`."),
           ("n" = String, Path, description = "The tile index's 3-digit group.")),
    responses((status = 200, description = "The tile's hashes or entries (c2sp.org/tlog-tiles).", content_type = "application/octet-stream"), TileErrors),
)]
async fn tile_1(
    State(state): State<AppState>, _caller: Caller, ApiPath((level, n)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    tile(&state, &[&level, &n])
}

/// `tile/<L>/<N>.p/<W>` or `tile/<L>/x<N1>/<N2>`.
#[utoipa::path(
    get, path = "/transparency/tile/{level}/{a}/{b}", operation_id = "get_log_tile_2", tag = "transparency",
    params(("level" = String, Path, description = "A tile level, or `entries`."),
           ("a" = String, Path, description = "The index's first group, or its only one with `.p`."),
           ("b" = String, Path, description = "The index's second group, or the partial tile's width.")),
    responses((status = 200, description = "The tile's hashes or entries (c2sp.org/tlog-tiles).", content_type = "application/octet-stream"), TileErrors),
)]
async fn tile_2(
    State(state): State<AppState>, _caller: Caller, ApiPath((level, a, b)): ApiPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    tile(&state, &[&level, &a, &b])
}

/// A tile path with three segments after the level.
#[utoipa::path(
    get, path = "/transparency/tile/{level}/{a}/{b}/{c}", operation_id = "get_log_tile_3", tag = "transparency",
    params(("level" = String, Path, description = "A tile level, or `entries`."),
           ("a" = String, Path, description = "A segment of the tile's index."),
           ("b" = String, Path, description = "A segment of the tile's index."),
           ("c" = String, Path, description = "A segment of the tile's index, or the partial tile's width.")),
    responses((status = 200, description = "The tile's hashes or entries (c2sp.org/tlog-tiles).", content_type = "application/octet-stream"), TileErrors),
)]
async fn tile_3(
    State(state): State<AppState>, _caller: Caller,
    ApiPath((level, a, b, c)): ApiPath<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    tile(&state, &[&level, &a, &b, &c])
}

/// A tile path with four segments after the level (logs beyond 256 million entries).
#[utoipa::path(
    get, path = "/transparency/tile/{level}/{a}/{b}/{c}/{d}", operation_id = "get_log_tile_4", tag = "transparency",
    params(("level" = String, Path, description = "A tile level, or `entries`."),
           ("a" = String, Path, description = "A segment of the tile's index."),
           ("b" = String, Path, description = "A segment of the tile's index."),
           ("c" = String, Path, description = "A segment of the tile's index."),
           ("d" = String, Path, description = "A segment of the tile's index, or the partial tile's width.")),
    responses((status = 200, description = "The tile's hashes or entries (c2sp.org/tlog-tiles).", content_type = "application/octet-stream"), TileErrors),
)]
async fn tile_4(
    State(state): State<AppState>, _caller: Caller,
    ApiPath((level, a, b, c, d)): ApiPath<(String, String, String, String, String)>,
) -> Result<Response, ApiError> {
    tile(&state, &[&level, &a, &b, &c, &d])
}
