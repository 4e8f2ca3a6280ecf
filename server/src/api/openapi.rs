//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every route under
//! `/api/v1`, built from the handlers' own `#[utoipa::path]` annotations as
//! the routes are registered, so the two cannot drift apart.

use std::sync::OnceLock;

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use utoipa::openapi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, http};

/// Every route under `/api/v1`, with its documentation.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(http::openapi::base()).merge(super::routes()).routes(routes!(openapi_json))
}

/// The document, built once.
pub fn document() -> &'static openapi::OpenApi {
    static DOC: OnceLock<openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = api_routes().into_openapi();
        http::openapi::complete(&mut doc);
        doc
    })
}

/// This document: OpenAPI 3.1, generated from the relay's code.
#[utoipa::path(
    get, path = "/openapi.json", operation_id = "get_openapi", tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", content_type = "application/json")),
)]
async fn openapi_json() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| {
        document().to_json().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot serialise the OpenAPI document");
            String::from("{}")
        })
    });
    let mut response = json.as_str().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The `(METHOD, path)` pairs of the document.
    fn documented() -> BTreeSet<(String, String)> {
        let doc = document();
        let mut out = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
            ] {
                if op.is_some() {
                    out.insert((method.to_owned(), path.clone()));
                }
            }
        }
        out
    }

    /// The paths registered in the API router, read from its debug form
    /// (axum lists its route table there); a route added with a plain
    /// `.route(…)`, bypassing the document, shows up here.
    fn registered_paths(routes: OpenApiRouter<AppState>) -> BTreeSet<String> {
        let (router, _) = routes.split_for_parts();
        let debug = format!("{router:?}");
        // Only the route table, not the fallback router's internal routes.
        let table = debug.split("fallback_router").next().unwrap_or_default();
        let mut out = BTreeSet::new();
        let mut rest = table;
        while let Some(i) = rest.find(": \"/") {
            let after = &rest[i + 3..];
            let Some(end) = after.find('"') else { break };
            out.insert(after[..end].to_owned());
            rest = &after[end..];
        }
        out
    }

    #[test]
    fn every_registered_route_is_documented() {
        let registered = registered_paths(api_routes());
        assert!(registered.len() >= 15, "the router's debug form lists its routes: {registered:?}");
        let documented: BTreeSet<String> = documented().into_iter().map(|(_, p)| p).collect();
        let missing: Vec<_> = registered.difference(&documented).collect();
        assert!(missing.is_empty(), "routes without OpenAPI documentation: {missing:?}");
        let phantom: Vec<_> = documented.difference(&registered).collect();
        assert!(phantom.is_empty(), "documented paths the router does not serve: {phantom:?}");
    }

    #[test]
    fn the_route_table_shows_routes_added_around_the_document() {
        let sneaky = api_routes().route("/undocumented/{id}", axum::routing::get(|| async {}));
        assert!(registered_paths(sneaky).contains("/undocumented/{id}"));
    }

    #[test]
    fn the_document_covers_the_api() {
        let ops = documented();
        for (method, path) in [
            ("POST", "/invites/redeem"),
            ("GET", "/directory/{number}"),
            ("GET", "/orgs/{org_id}"),
            ("GET", "/orgs/{org_id}/bundles"),
            ("POST", "/messages"),
            ("GET", "/messages"),
            ("GET", "/messages/{id}"),
            ("PUT", "/messages/{id}/content"),
            ("GET", "/messages/{id}/content"),
            ("POST", "/messages/{id}/receipt"),
            ("POST", "/messages/{id}/reject"),
            ("GET", "/org"),
            ("POST", "/numbers"),
            ("DELETE", "/numbers/{number}"),
            ("POST", "/bundles"),
            ("GET", "/api-keys"),
            ("POST", "/api-keys"),
            ("DELETE", "/api-keys/{key_id}"),
            ("GET", "/users"),
            ("POST", "/users"),
            ("DELETE", "/users/{id}"),
            ("POST", "/users/{id}/setup-link"),
            ("GET", "/audit"),
            ("GET", "/openapi.json"),
        ] {
            assert!(ops.contains(&(method.to_owned(), path.to_owned())), "{method} {path} is not documented");
        }

        let json: serde_json::Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        let mut ids = BTreeSet::new();
        for item in json["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().expect("every operation has an id");
                assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            }
        }
        assert_eq!(json["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
        for schema in [
            "Org",
            "Bundle",
            "Envelope",
            "Receipt",
            "Refusal",
            "Message",
            "ErrorBody",
            "AuditEntry",
            "UserWithSetupLink",
        ] {
            assert!(json["components"]["schemas"].get(schema).is_some(), "schema {schema} missing");
        }
        let claim = &json["paths"]["/numbers"]["post"];
        assert!(claim["responses"]["409"]["description"].as_str().unwrap().contains("number_taken"));
        assert!(claim["responses"]["409"]["description"].as_str().unwrap().contains("idempotency_key_reused"));
        assert!(claim["responses"]["429"].is_object());
        assert!(claim["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "Idempotency-Key"));
        let redeem = &json["paths"]["/invites/redeem"]["post"];
        assert!(redeem["responses"].get("401").is_none(), "redemption needs no credentials");
    }

    /// A JSON body of the wrong shape is 422 `invalid_body` on every call
    /// that takes one (schemathesis found it undocumented on the passkey calls).
    #[test]
    fn every_json_body_can_be_invalid() {
        let json: serde_json::Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        let mut checked = 0;
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op["requestBody"]["content"].get("application/json").is_none() {
                    continue;
                }
                checked += 1;
                let described = op["responses"]["422"]["description"].as_str().unwrap_or_default();
                assert!(described.contains("invalid_body"), "{method} {path}: 422 invalid_body is not listed");
            }
        }
        assert!(checked >= 12, "only {checked} calls take JSON");
    }

    /// A path parameter that does not decode is 400 `invalid_path` on every
    /// route (docs/api.md); every operation with one says so.
    #[test]
    fn every_path_parameter_can_be_undecodable() {
        let json: serde_json::Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        let mut checked = 0;
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                if !params.iter().any(|p| p["in"] == "path") {
                    continue;
                }
                checked += 1;
                let described = op["responses"]["400"]["description"].as_str().unwrap_or_default();
                assert!(described.contains("invalid_path"), "{method} {path}: 400 invalid_path is not listed");
            }
        }
        assert!(checked >= 20, "only {checked} calls have path parameters");
    }

    /// The limits the relay enforces on queries and ids are in the document,
    /// so a client (and schemathesis) can tell a valid request from one the
    /// relay turns away.
    #[test]
    fn the_document_states_the_limits_the_relay_enforces() {
        let json: serde_json::Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        let param = |path: &str, method: &str, name: &str| -> serde_json::Value {
            let params = json["paths"][path][method]["parameters"].as_array().cloned().unwrap_or_default();
            let found = params.into_iter().find(|p| p["name"] == name);
            found.unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))["schema"].clone()
        };
        for (path, method) in [
            ("/messages", "get"),
            ("/api-keys", "get"),
            ("/users", "get"),
            ("/audit", "get"),
            ("/webhooks", "get"),
            ("/webhooks/{id}/deliveries", "get"),
            ("/events", "get"),
        ] {
            let limit = param(path, method, "limit");
            assert_eq!((limit["minimum"].as_u64(), limit["maximum"].as_u64()), (Some(1), Some(500)), "{path} limit");
        }
        assert_eq!(param("/messages", "get", "box")["pattern"], "^(inbox|outbox)$");
        assert_eq!(param("/messages", "get", "order")["pattern"], "^(asc|desc)$");
        let uuid = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";
        for path in ["/messages/{id}", "/messages/{id}/content", "/messages/{id}/receipt", "/messages/{id}/reject"] {
            let method = if path == "/messages/{id}" || path.ends_with("content") { "get" } else { "post" };
            assert_eq!(param(path, method, "id")["pattern"], uuid, "{path}");
        }
        assert_eq!(param("/users/{id}", "delete", "id")["pattern"], uuid);
        assert_eq!(param("/orgs/{org_id}", "get", "org_id")["pattern"], "^[0-9a-f]{32}$");
        assert_eq!(param("/api-keys/{key_id}", "delete", "key_id")["pattern"], "^ak_[0-9a-f]{24}$");
        assert_eq!(param("/numbers", "post", "Idempotency-Key")["pattern"], "^[ -~]+$");
    }

    #[test]
    fn the_calls_anyone_may_make_list_their_limits() {
        let json: serde_json::Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        for (path, method) in [
            ("/invites/redeem", "post"),
            ("/openapi.json", "get"),
            ("/auth/recover", "post"),
            ("/auth/login/start", "post"),
            ("/auth/login/finish", "post"),
            ("/auth/passkey/register/start", "post"),
        ] {
            let limited = &json["paths"][path][method]["responses"]["429"];
            assert!(limited["description"].as_str().unwrap().contains("rate_limited"), "{method} {path}: {limited}");
            assert!(limited["headers"].get("Retry-After").is_some(), "{method} {path}: {limited}");
        }
        let login = &json["paths"]["/auth/login/start"]["post"]["responses"];
        assert!(login["429"]["description"].as_str().unwrap().contains("--max-ceremonies-per-ip"));
        assert!(login["503"]["description"].as_str().unwrap().contains("--max-ceremonies"));
        let recover = &json["paths"]["/auth/recover"]["post"]["responses"];
        assert!(recover["503"]["description"].as_str().unwrap().contains("recovery queue"));
        let create_key = &json["paths"]["/api-keys"]["post"]["responses"];
        assert!(create_key["409"]["description"].as_str().unwrap().contains("too_many_api_keys"));
    }

    #[test]
    fn the_document_lists_every_error_code_from_the_enum() {
        let json: serde_json::Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        let listed: Vec<&str> = json["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
            .as_array()
            .expect("ErrorDetail.code lists its values")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let all: Vec<&str> = crate::http::error_code::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
    }
}
