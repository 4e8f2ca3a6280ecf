//! Who may open which web page, decided before the page renders.
//!
//! * A page asked for by IP address (`http://127.0.0.1:3000/…`) when the
//!   relay's public URL names a host (`http://localhost:3000`) is redirected
//!   there: browsers refuse passkeys on IP addresses, and the session cookie
//!   belongs to the public host.
//! * `/dashboard…` needs a signed-in org member, `/operator…` a signed-in
//!   operator. Signed out: `303` to `/login?next=…`. Signed in as the other
//!   kind: `303` to that kind's home.
//!
//! The API (`/api/…`), health checks and assets are never redirected.

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, http::session_cookie};

/// The org members' pages.
pub const DASHBOARD: &str = "/dashboard";
/// The operators' pages.
pub const OPERATOR: &str = "/operator";

fn under(path: &str, prefix: &str) -> bool {
    path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
}

fn is_page_request(req: &Request) -> bool {
    let path = req.uri().path();
    matches!(*req.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !matches!(path, "/healthz" | "/readyz" | "/metrics")
}

fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = header::HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    res
}

/// The public URL for a page asked for by IP address, when the public URL
/// names a host.
fn public_host_redirect(state: &AppState, req: &Request) -> Option<String> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h).trim_matches(['[', ']']);
    if hostname.parse::<std::net::IpAddr>().is_err() {
        return None;
    }
    match state.config.public_url.host() {
        Some(url::Host::Domain(_)) => {}
        _ => return None,
    }
    let path_and_query = req.uri().path_and_query().map_or("/", |p| p.as_str());
    Some(format!("{}{path_and_query}", state.config.public_origin()))
}

/// `/login?next=<path and query>`.
fn login_redirect(req: &Request) -> String {
    let next = req.uri().path_and_query().map_or("/", |p| p.as_str());
    format!("/login?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>())
}

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_page_request(&req) {
        return next.run(req).await;
    }
    if let Some(location) = public_host_redirect(&state, &req) {
        return see_other(&location);
    }
    let path = req.uri().path();
    let (dashboard, operator) = (under(path, DASHBOARD), under(path, OPERATOR));
    if !dashboard && !operator {
        return next.run(req).await;
    }
    let user = match session_cookie::current(&state, req.headers()).await {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    match user {
        None => see_other(&login_redirect(&req)),
        Some(u) if u.org_id.is_none() && dashboard => see_other(OPERATOR),
        Some(u) if u.org_id.is_some() && operator => see_other(DASHBOARD),
        Some(_) => {
            let mut res = next.run(req).await;
            // Signed-in pages are never cached (a shared machine's back button).
            res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::under;

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(under("/dashboard", "/dashboard"));
        assert!(under("/dashboard/keys", "/dashboard"));
        assert!(!under("/dashboards", "/dashboard"));
        assert!(!under("/operatorx", "/operator"));
    }
}
