//! The parts of the relay's OpenAPI 3.1 document that are not a route's own
//! (`crate::api::openapi` adds the routes and serves it). It is generated
//! from the handlers: each route is registered with `utoipa_axum`'s
//! `routes!`, which adds the handler's `#[utoipa::path]` to the document as
//! it adds the route to the router, so the two cannot drift apart. What every
//! call shares (authentication errors, rate limiting (on the calls anyone may
//! make too), `Idempotency-Key` on POST, JSON body errors) is added here to
//! each operation.

use std::collections::BTreeMap;

use super::error_code::ErrorCode;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, Content, HttpMethod, Ref, RefOr, ResponseBuilder,
        header::HeaderBuilder,
        path::{Operation, ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Schema, Type},
        security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme},
    },
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fxe relay REST API",
        version = "1",
        description = "One API for the web UI (passkey session) and integrators (signed requests, PROTOCOL.md §6). \
            Errors are `{\"error\":{\"code\",\"message\"}}`; the codes are part of the contract. \
            Times are RFC 3339 UTC strings; protocol objects (bundles, envelopes, receipts) keep their own JSON forms. \
            Lists are `{\"items\",\"next_cursor\"}`, newest first, with `?limit=` (1–500, default 50) and `?cursor=`.",
        license(name = "AGPL-3.0-only"),
    ),
    servers((url = "/api/v1", description = "this relay")),
    security(("signed_request" = []), ("session" = [])),
    tags(
        (name = "onboarding", description = "Joining the relay with an invite."),
        (name = "directory", description = "Who owns a number; every member org's identity and bundles."),
        (name = "messages", description = "Sending, receiving, receipts and refusals."),
        (name = "org", description = "The caller's own org: numbers and bundles."),
        (name = "api keys", description = "The org's API keys (admin)."),
        (name = "team", description = "The org's people (admin)."),
        (name = "audit", description = "The org's audit trail (admin)."),
        (name = "webhooks", description = "Webhook endpoints, deliveries and the 30-day event log (admin)."),
        (name = "operator", description = "The relay operator's invites, orgs and number claims (operator sessions only)."),
        (name = "meta", description = "This document."),
    ),
    components(schemas(fxe_protocol::api::ErrorBody)),
    modifiers(&Security),
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "signed_request",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-FXE-Key",
                "A request signed with an API key (PROTOCOL.md §6): X-FXE-Key, X-FXE-Timestamp, X-FXE-Content-SHA256, \
                 X-FXE-Nonce and X-FXE-Request-Signature.",
            ))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "fxe_session",
                "A signed-in person's session cookie. Requests that change state must carry the relay's own Origin.",
            ))),
        );
    }
}

/// Ciphertext bytes (`application/octet-stream`), for bodies that are not JSON.
pub struct Ciphertext;

impl utoipa::PartialSchema for Ciphertext {
    fn schema() -> RefOr<openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/octet-stream")
            .description(Some("The ciphertext: the envelope's STREAM payload, at most 104,857,600 bytes."))
            .into()
    }
}

impl utoipa::ToSchema for Ciphertext {}

/// The document's shared parts (info, tags, security schemes), before any
/// route is added.
pub fn base() -> openapi::OpenApi {
    ApiDoc::openapi()
}

/// Adds what every operation shares (authentication errors, the rate limit,
/// `Idempotency-Key` on POST, JSON body errors) to a document whose routes
/// are all in.
pub fn complete(doc: &mut openapi::OpenApi) {
    add_shared_parts(doc);
    list_error_codes(doc);
}

/// The `code` of every error answer is one of [`ErrorCode::ALL`]: the
/// document lists them as the schema's values, from the enum itself.
fn list_error_codes(doc: &mut openapi::OpenApi) {
    let Some(components) = doc.components.as_mut() else { return };
    let Some(RefOr::T(Schema::Object(detail))) = components.schemas.get_mut("ErrorDetail") else { return };
    if let Some(RefOr::T(Schema::Object(code))) = detail.properties.get_mut("code") {
        code.enum_values = Some(ErrorCode::ALL.iter().map(|c| c.as_str().into()).collect());
    }
}

/// Declares `$name`, a type whose [`utoipa::IntoResponses`] are the error
/// answers of one operation: its codes (each an [`ErrorCode`] variant,
/// optionally `= "a note"` on what it means for this call) grouped under
/// [`ErrorCode::status`], one response a status that names its codes, with
/// an `ErrorBody`. Put `$name` in the operation's `responses(…)`; what every
/// operation shares is added by [`complete`].
#[macro_export]
macro_rules! api_errors {
    ($name:ident: $($code:ident $(= $note:literal)?),+ $(,)?) => {
        struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
                use $crate::http::error_code::ErrorCode;
                $crate::http::openapi::error_responses(&[$((ErrorCode::$code, $crate::api_errors!(@note $($note)?))),+])
            }
        }
    };
    (@note) => { "" };
    (@note $note:literal) => { $note };
}

/// The responses [`crate::api_errors!`] declares: `codes` (with their notes, `""`
/// for none) grouped by status, e.g. 409 "`number_taken`: another org holds
/// it; `too_many_pending_numbers`."
pub fn error_responses(codes: &[(ErrorCode, &str)]) -> BTreeMap<String, RefOr<openapi::Response>> {
    let mut by_status: BTreeMap<u16, (String, bool)> = BTreeMap::new();
    for &(code, note) in codes {
        let (text, noted) = by_status.entry(code.status().as_u16()).or_default();
        if !text.is_empty() {
            text.push_str(if *noted || !note.is_empty() { "; " } else { ", " });
        }
        text.push_str(&format!("`{code}`"));
        if !note.is_empty() {
            text.push_str(": ");
            text.push_str(note);
        }
        *noted = !note.is_empty();
    }
    by_status.into_iter().map(|(status, (text, _))| (status.to_string(), error_response(&format!("{text}.")))).collect()
}

fn error_response(description: &str) -> RefOr<openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
        .build()
        .into()
}

/// Adds `description` under `status`, or appends it to the description there.
fn add_response(op: &mut Operation, status: &str, description: &str) {
    match op.responses.responses.get_mut(status) {
        Some(RefOr::T(existing)) => {
            existing.description = format!("{} Also: {description}", existing.description);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            op.responses.responses.insert(status.to_owned(), error_response(description));
        }
    }
}

/// The 429 answer every operation may give, with its `Retry-After` header
/// (added to a 429 the route documents itself, too).
fn add_limited(op: &mut Operation, description: &str) {
    let retry_after = HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::Integer))
        .description(Some("Seconds to wait."))
        .build();
    match op.responses.responses.get_mut("429") {
        Some(RefOr::T(existing)) => {
            existing.description = format!("{} Also: {description}", existing.description);
            existing.headers.insert("Retry-After".into(), retry_after);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let limited = ResponseBuilder::new()
                .description(description)
                .header("Retry-After", retry_after)
                .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
                .build();
            op.responses.responses.insert("429".into(), limited.into());
        }
    }
}

fn is_public(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|reqs| reqs.iter().any(|r| *r == SecurityRequirement::default()))
}

/// Whether the operation's body is JSON: parsing it into the call's type can
/// fail with 422 `invalid_body` (`http::error`'s `JsonDataError`).
fn takes_json(op: &Operation) -> bool {
    op.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"))
}

fn add_shared_parts(doc: &mut openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let ops = [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            if !is_public(op) {
                add_response(
                    op,
                    "401",
                    "`unauthenticated` (no credentials), `unknown_key`, `key_revoked`, `timestamp_skew`, \
                     `bad_request_signature`, `body_hash_mismatch`, `replayed_request`.",
                );
                add_response(
                    op,
                    "403",
                    "`forbidden`: the role or API key scope does not allow this; `org_disabled`; `bad_origin` (session without the relay's Origin).",
                );
            }
            add_limited(
                op,
                if is_public(op) {
                    "`rate_limited`: too many requests from this address, or without valid credentials from it \
                     (docs/api.md, Limits)."
                } else {
                    "`rate_limited`: too many requests for this key or session, for its org, from this address, or \
                     without valid credentials from it (docs/api.md, Limits)."
                },
            );
            let has_query =
                op.parameters.as_ref().is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Query));
            let has_path =
                op.parameters.as_ref().is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Path));
            if has_path {
                add_response(
                    op,
                    "400",
                    "`invalid_path`: a path parameter does not decode (percent-encoding that is not UTF-8).",
                );
            }
            if has_query {
                add_response(op, "400", "`invalid_query`: a query parameter is missing, unknown or malformed.");
            }
            if op.request_body.is_some() {
                add_response(op, "400", "`malformed_json`, `unreadable_body`.");
                add_response(op, "413", "`too_large`: the JSON body is larger than 1 MiB.");
                add_response(op, "415", "`unsupported_media_type`: send `Content-Type: application/json`.");
            }
            if takes_json(op) {
                add_response(
                    op,
                    "422",
                    "`invalid_body`: the JSON does not fit this call (a field missing, unknown or of the wrong type).",
                );
            }
            if method == HttpMethod::Post {
                let parameter = ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(openapi::Required::False)
                    .description(Some(
                        "Any string of 1 to 255 printable ASCII characters. A repeat with the same key and the same request \
                         within 24 h answers the first answer again (with `Idempotency-Replayed: true`).",
                    ))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .min_length(Some(1))
                            .max_length(Some(255))
                            .pattern(Some("^[ -~]+$")),
                    ))
                    .build();
                op.parameters.get_or_insert_with(Vec::new).push(parameter);
                add_response(op, "400", "`invalid_idempotency_key`.");
                add_response(
                    op,
                    "409",
                    "`idempotency_key_reused`: this Idempotency-Key was used for a different request; \
                     `idempotency_in_progress`: the first request with this key is still running.",
                );
            }
            add_response(op, "503", "`unavailable`: the database or storage is unreachable; retry shortly.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_group_the_codes_by_status() {
        let responses = error_responses(&[
            (ErrorCode::NumberTaken, "another org holds or claims it"),
            (ErrorCode::InvalidNumber, ""),
            (ErrorCode::TooManyPendingNumbers, ""),
            (ErrorCode::InvalidBody, ""),
        ]);
        let described: Vec<(&str, &str)> = responses
            .iter()
            .map(|(status, r)| match r {
                RefOr::T(r) => (status.as_str(), r.description.as_str()),
                RefOr::Ref(_) => (status.as_str(), ""),
            })
            .collect();
        assert_eq!(
            described,
            [
                ("409", "`number_taken`: another org holds or claims it; `too_many_pending_numbers`."),
                ("422", "`invalid_number`, `invalid_body`."),
            ]
        );
    }
}
