//! The browser hardening headers on every kind of answer (issue 14, finding
//! 9): a Content-Security-Policy whose nonce is the one the page's scripts
//! carry and is new for every answer, HSTS exactly when the public URL is
//! https, COOP, Permissions-Policy, and `Cache-Control: no-store` on API
//! answers and pages (not on assets).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::org_admin_support;

use common::TestServer;
use org_admin_support::{TestOrg, call, session_for};
use reqwest::{StatusCode, header::HeaderMap};

const NUMBER: &str = "+15550001001";

/// The nonce in a CSP header's `script-src 'nonce-…'`.
fn csp_nonce(headers: &HeaderMap) -> String {
    let csp = headers.get("content-security-policy").expect("a Content-Security-Policy").to_str().unwrap();
    let start = csp.find("'nonce-").unwrap_or_else(|| panic!("no nonce in {csp}")) + "'nonce-".len();
    let len = csp[start..].find('\'').unwrap();
    let nonce = csp[start..start + len].to_owned();
    assert!(nonce.len() >= 22, "a nonce of at least 128 bits: {nonce}");
    nonce
}

/// What every answer carries, whatever it is.
#[track_caller]
fn assert_common(what: &str, headers: &HeaderMap, https: bool) {
    let csp = headers.get("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP")).to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-src blob:",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(headers["cross-origin-opener-policy"], "same-origin", "{what}");
    let permissions = headers["permissions-policy"].to_str().unwrap();
    for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"] {
        assert!(permissions.contains(feature), "{what}: {feature} missing from {permissions}");
    }
    for kept in ["publickey-credentials-get=(self)", "publickey-credentials-create=(self)"] {
        assert!(permissions.contains(kept), "{what}: passkeys need {kept}: {permissions}");
    }
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
    if https {
        assert_eq!(headers["strict-transport-security"], "max-age=63072000; includeSubDomains", "{what}");
    } else {
        assert!(headers.get("strict-transport-security").is_none(), "{what}: HSTS on a plain-http relay");
    }
}

#[track_caller]
fn assert_no_store(what: &str, headers: &HeaderMap) {
    assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "{what}");
}

/// A page: the common headers, no-store, and every `<script>` carries the
/// header's nonce (and nothing else does). Returns the nonce.
async fn assert_page(what: &str, res: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status, "{what}");
    let headers = res.headers().clone();
    assert_common(what, &headers, false);
    assert_no_store(what, &headers);
    let nonce = csp_nonce(&headers);
    let html = res.text().await.unwrap();
    let scripts: Vec<&str> = html.split("<script").skip(1).map(|rest| &rest[..rest.find('>').unwrap()]).collect();
    assert!(!scripts.is_empty(), "{what}: the page has its hydration script");
    for tag in &scripts {
        assert!(tag.contains(&format!(r#"nonce="{nonce}""#)), "{what}: <script{tag}> lacks nonce {nonce}");
    }
    for (i, _) in html.match_indices(" nonce=\"") {
        let value = &html[i + 8..];
        assert_eq!(&value[..value.find('"').unwrap()], nonce, "{what}: another nonce in the page");
    }
    nonce
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_browser_policy() {
    // A site root with a stylesheet, to see assets stay cacheable.
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg").join("fxe.css"), "body { margin: 0 }\n").unwrap();
    let site_root = site.path().to_string_lossy().into_owned();
    let server = TestServer::start_configured(|config| {
        config.leptos = fxe_server::config::leptos_options_from(config.bind, |name| {
            (name == "LEPTOS_SITE_ROOT").then(|| site_root.clone())
        })
        .unwrap();
    })
    .await;

    let org = TestOrg::redeem(&server, "Clinic A", &[NUMBER]).await;
    let users = call(&server, &org, "GET", "/api/v1/users", None).await;
    let admin_id = users.expect(StatusCode::OK)["items"][0]["id"].as_str().unwrap().to_owned();
    let cookie = session_for(&server, &admin_id).await;
    let with_cookie =
        |path: &str| server.client.get(server.url(path)).header("cookie", format!("fxe_session={cookie}")).send();

    // Pages: a fresh nonce each time, the same in the header and the scripts.
    let first = assert_page("home", server.get("/").await, StatusCode::OK).await;
    let second = assert_page("home again", server.get("/").await, StatusCode::OK).await;
    assert_ne!(first, second, "every answer has its own nonce");
    let setup_path = org.setup_url.split_once("/setup/").map(|(_, t)| format!("/setup/{t}")).unwrap();
    assert_page("the setup link's page", server.get(&setup_path).await, StatusCode::OK).await;
    assert_page("the redeem page", server.get("/redeem?token=inv_x").await, StatusCode::OK).await;
    assert_page("sign-in", server.get("/login").await, StatusCode::OK).await;
    assert_page("the proof checker", server.get("/verify").await, StatusCode::OK).await;
    assert_page("an unknown page", server.get("/no/such/page").await, StatusCode::NOT_FOUND).await;
    assert_page("the dashboard", with_cookie("/dashboard").await.unwrap(), StatusCode::OK).await;
    assert_page("a dashboard section", with_cookie("/dashboard/keys").await.unwrap(), StatusCode::OK).await;

    // Redirects away from signed-in pages.
    let res = server.get("/dashboard").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_common("redirect to sign-in", res.headers(), false);
    assert_no_store("redirect to sign-in", res.headers());

    // API answers: signed, by session, signed out, errors.
    let signed = call(&server, &org, "GET", "/api/v1/org", None).await;
    assert_eq!(signed.status, StatusCode::OK);
    assert_common("a signed API answer", &signed.headers, false);
    assert_no_store("a signed API answer", &signed.headers);
    let me = with_cookie("/api/v1/auth/me").await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_common("a session's API answer", me.headers(), false);
    assert_no_store("a session's API answer", me.headers());
    for (path, status) in [("/api/v1/auth/me", StatusCode::UNAUTHORIZED), ("/api/v1/nope", StatusCode::NOT_FOUND)] {
        let res = server.get(path).await;
        assert_eq!(res.status(), status, "{path}");
        assert_common(path, res.headers(), false);
        assert_no_store(path, res.headers());
    }
    let openapi = server.get("/api/v1/openapi.json").await;
    assert_common("the OpenAPI document", openapi.headers(), false);
    assert_no_store("the OpenAPI document", openapi.headers());

    // Health checks and assets get the policy too; assets may be cached.
    let health = server.get("/healthz").await;
    assert_common("/healthz", health.headers(), false);
    let css = server.get("/pkg/fxe.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert_common("the stylesheet", css.headers(), false);
    assert_ne!(css.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "assets cache");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_only_when_the_public_url_is_https() {
    let server =
        TestServer::start_configured(|config| config.public_url = url::Url::parse("https://fax.example.org").unwrap())
            .await;

    // Asked for by address, a page redirects to the public name; API answers and health checks stay.
    let page = server.get("/").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "https://fax.example.org/");
    assert_common("a page's redirect", page.headers(), true);
    let page = server.client.get(server.url("/login")).header("host", "fax.example.org").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_common("a page by its public name", page.headers(), true);
    for path in ["/api/v1/auth/me", "/healthz", "/api/v1/nope"] {
        assert_common(path, server.get(path).await.headers(), true);
    }

    server.stop().await;
}
