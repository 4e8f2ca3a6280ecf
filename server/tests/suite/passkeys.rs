//! Passkeys and sessions over real HTTP, with a software authenticator
//! (webauthn-authenticator-rs `SoftPasskey`): enrol from the setup link a
//! redemption printed, sign in without a username, use the session on the
//! REST API, recover by mail, add and remove passkeys, sign out.
//!
//! The soft token cannot keep resident credentials, so the test plays the
//! part of the browser for discoverable sign-in: it names the credential in
//! the request and returns the user handle with the assertion, as a passkey
//! does (the handle is not signed; the server checks it against the stored
//! credential).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{TestServer, client::TestOrg};
use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::{WebauthnAuthenticator, softpasskey::SoftPasskey};
use webauthn_rs::prelude::{CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse};

const ORIGIN: &str = "http://localhost";

async fn start() -> TestServer {
    // WebAuthn needs a host name; the browser would be on this origin.
    TestServer::start_configured(|config| config.public_url = url::Url::parse(ORIGIN).unwrap()).await
}

/// What `fxe-server operator add --email <email>` does: adds an operator (or finds the one
/// with that address) and returns the setup link it prints.
async fn add_operator(
    server: &TestServer, email: &str,
) -> Result<fxe_server::accounts::operators::OperatorSetup, fxe_server::accounts::operators::OperatorError> {
    let operator = fxe_server::db::audit::Actor::operator_cli();
    fxe_server::accounts::operators::add(&server.state.db, ORIGIN, email, &operator, &server.state.clock).await
}

/// `POST /auth/login/start` (no session) sent from `origin`.
async fn login_start_from(server: &TestServer, origin: &str) -> reqwest::Response {
    server
        .client
        .post(server.url("/api/v1/auth/login/start"))
        .header("origin", origin)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

/// A browser: the session cookie it holds and the relay's origin on each POST.
struct Browser<'a> {
    server: &'a TestServer,
    cookie: Option<String>,
    token: SoftPasskey,
}

impl<'a> Browser<'a> {
    fn new(server: &'a TestServer) -> Self {
        Browser { server, cookie: None, token: SoftPasskey::new(true) }
    }

    async fn send(&mut self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.server.client.request(method.clone(), self.server.url(path));
        if method != reqwest::Method::GET {
            req = req.header("origin", ORIGIN);
        }
        if let Some(c) = &self.cookie {
            req = req.header("cookie", format!("fxe_session={c}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        if let Some(set) = res.headers().get("set-cookie").and_then(|v| v.to_str().ok()) {
            let value = set.split(';').next().unwrap().trim_start_matches("fxe_session=").to_owned();
            assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
            self.cookie = (!value.is_empty()).then_some(value);
        }
        let text = res.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    async fn post(&mut self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&mut self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// Runs an enrolment ceremony (with a setup token or signed in).
    async fn enrol(&mut self, start: Value, label: &str) -> (StatusCode, Value) {
        let (status, started) = self.post("/api/v1/auth/passkey/register/start", start).await;
        if status != StatusCode::OK {
            return (status, started);
        }
        let mut options = started["options"].clone();
        assert_eq!(options["publicKey"]["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(options["publicKey"]["authenticatorSelection"]["userVerification"], "required");
        // The soft token has no resident storage (see the module comment).
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = false.into();
        let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let credential =
            self.token.do_registration(url::Url::parse(ORIGIN).unwrap(), ccr).expect("soft token registers");
        self.post(
            "/api/v1/auth/passkey/register/finish",
            json!({ "ceremony_id": started["ceremony_id"], "credential": credential, "label": label }),
        )
        .await
    }

    /// An assertion for a fresh sign-in ceremony, with `credential_id` (b64u) and `user_id`.
    async fn assertion(&mut self, credential_id: &str, user_id: &str) -> (String, PublicKeyCredential) {
        let (status, started) = self.post("/api/v1/auth/login/start", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let mut options = started["options"].clone();
        assert!(options.get("mediation").is_none(), "a button sign-in, not conditional UI");
        assert_eq!(
            options["publicKey"]["allowCredentials"],
            json!([]),
            "discoverable: no username, no credential list"
        );
        options["publicKey"]["allowCredentials"] = json!([{ "type": "public-key", "id": credential_id }]);
        let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let mut assertion =
            self.token.do_authentication(url::Url::parse(ORIGIN).unwrap(), rcr).expect("soft token signs");
        assertion.response.user_handle = Some(uuid::Uuid::parse_str(user_id).unwrap().as_bytes().to_vec());
        (started["ceremony_id"].as_str().unwrap().to_owned(), assertion)
    }
}

fn setup_token(setup_url: &str) -> String {
    setup_url.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn enrol_sign_in_use_the_api_and_sign_out() {
    let server = start().await;
    let org = TestOrg::redeem(&server, "Lakeside Clinic", &["+15550100001"]).await;
    assert!(org.setup_url.starts_with("http://localhost/setup/set_"), "{}", org.setup_url);
    let token = setup_token(&org.setup_url);
    let mut browser = Browser::new(&server);

    // Enrol from the setup link: signed in at once.
    let (status, me) = browser.enrol(json!({ "setup_token": token }), "work laptop").await;
    assert_eq!(status, StatusCode::CREATED, "{me}");
    assert_eq!(me["email"], "admin@example.org");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["org"]["org_name"], "Lakeside Clinic");
    assert_eq!(me["org"]["fingerprint"], fxe_protocol::ids::fingerprint(&org.keys.identity_pub));
    assert_eq!(me["passkeys"][0]["label"], "work laptop");
    let user_id = me["user_id"].as_str().unwrap().to_owned();
    let first_cookie = browser.cookie.clone().expect("a session cookie");

    // The link works once.
    let mut other = Browser::new(&server);
    let (status, body) = other.enrol(json!({ "setup_token": token }), "again").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::GONE, Some("setup_link_used")));
    let (status, body) = other.enrol(json!({ "setup_token": "set_nonsense" }), "x").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("setup_link_not_found")));

    // The session works on the REST API, for the org's own data.
    let (status, me_again) = browser.get("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me_again["user_id"], user_id.as_str());
    let (status, org_view) = browser.get("/api/v1/org").await;
    assert_eq!(status, StatusCode::OK, "{org_view}");
    assert_eq!(org_view["org_id"], org.org_id());

    // Sign in again, without a username; the session id changes.
    let (_, me) = browser.get("/api/v1/auth/me").await;
    let passkey_id = me["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let credential_id = {
        let mut conn = server.state.db.pool().acquire().await.unwrap();
        let row: (String,) = sqlx::query_as("SELECT credential_id FROM passkeys WHERE id = $1")
            .bind(&passkey_id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        row.0
    };
    let (ceremony, assertion) = browser.assertion(&credential_id, &user_id).await;
    let (status, signed_in) =
        browser.post("/api/v1/auth/login/finish", json!({ "ceremony_id": ceremony, "credential": assertion })).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["user_id"], user_id.as_str());
    let second_cookie = browser.cookie.clone().unwrap();
    assert_ne!(first_cookie, second_cookie, "the session id is rotated at sign-in");
    // The session the browser presented at sign-in has ended.
    let mut stale = Browser::new(&server);
    stale.cookie = Some(first_cookie);
    assert_eq!(stale.get("/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);

    // A ceremony is single-use.
    let (status, body) =
        browser.post("/api/v1/auth/login/finish", json!({ "ceremony_id": ceremony, "credential": assertion })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::GONE, Some("ceremony_expired")));

    // A forged assertion (a signature over something else) is refused.
    let (ceremony, mut assertion) = browser.assertion(&credential_id, &user_id).await;
    let mut sig = assertion.response.signature.to_vec();
    let last = sig.len() - 2;
    sig[last] ^= 1;
    assertion.response.signature = sig;
    let mut attacker = Browser::new(&server);
    let (status, body) =
        attacker.post("/api/v1/auth/login/finish", json!({ "ceremony_id": ceremony, "credential": assertion })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("passkey_rejected")));
    assert!(attacker.cookie.is_none());

    // Another user's handle with this credential is refused.
    let (ceremony, mut assertion) = browser.assertion(&credential_id, &user_id).await;
    assertion.response.user_handle = Some(uuid::Uuid::new_v4().as_bytes().to_vec());
    let (status, _) =
        attacker.post("/api/v1/auth/login/finish", json!({ "ceremony_id": ceremony, "credential": assertion })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // State-changing calls need the relay's Origin.
    let res = login_start_from(&server, "https://evil.example").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = server
        .client
        .post(server.url("/api/v1/auth/logout"))
        .header("cookie", format!("fxe_session={second_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no Origin, no sign-out (and no CSRF)");

    // Sign out: the session ends, on the API too.
    let (status, _) = browser.post("/api/v1/auth/logout", json!(null)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(browser.cookie.is_none(), "the cookie is cleared");
    browser.cookie = Some(second_cookie);
    assert_eq!(browser.get("/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.get("/api/v1/org").await.0, StatusCode::UNAUTHORIZED);

    // The relay's housekeeping forgets ended sessions; the live ones stay.
    let sessions = |server: &TestServer| {
        let pool = server.state.db.pool().clone();
        async move { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions").fetch_one(&pool).await.unwrap() }
    };
    assert_eq!(sessions(&server).await, 2, "the enrolment's and the sign-in's, both ended");
    fxe_server::housekeeping::sweep_once(&server.state).await.unwrap();
    assert_eq!(sessions(&server).await, 0, "every session of this test has ended");

    // The audit trail has the enrolment and the sign-ins.
    let (status, audit) = org.call(&server, "GET", "/api/v1/audit", None).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["passkey.enrolled", "user.signed_in", "user.signed_out"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn recovery_by_mail_second_passkey_and_sign_out_everywhere() {
    let server = start().await;
    let org = TestOrg::redeem(&server, "Hill Law LLP", &["+15550100002"]).await;
    let mut laptop = Browser::new(&server);
    let (status, me) = laptop.enrol(json!({ "setup_token": setup_token(&org.setup_url) }), "laptop").await;
    assert_eq!(status, StatusCode::CREATED, "{me}");

    // Recovery answers the same for a known and an unknown address; only the
    // known one gets a mail.
    let mut phone = Browser::new(&server);
    let (known, _) = phone.post("/api/v1/auth/recover", json!({ "email": "Admin@Example.org" })).await;
    let (unknown, _) = phone.post("/api/v1/auth/recover", json!({ "email": "nobody@example.org" })).await;
    assert_eq!((known, unknown), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    let (bad, body) = phone.post("/api/v1/auth/recover", json!({ "email": "not an address" })).await;
    assert_eq!((bad, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_email")));
    let outbox = server.state.config.storage.data_dir.join("outbox");
    // The mail is sent after the answer: wait for it, then a little longer
    // (a second, wrong mail would show up in that time).
    for _ in 0..100 {
        if std::fs::read_dir(&outbox).is_ok_and(|mut d| d.next().is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mails: Vec<String> =
        std::fs::read_dir(&outbox).unwrap().flatten().map(|e| std::fs::read_to_string(e.path()).unwrap()).collect();
    assert_eq!(mails.len(), 1, "one mail, to the known address only");
    assert!(mails[0].contains("To: admin@example.org"), "{}", mails[0]);
    let link =
        mails[0].lines().find(|l| l.contains("/setup/set_")).expect("a setup link in the mail").trim().to_owned();

    // The mailed link enrols a second passkey on another device.
    let (status, me) = phone.enrol(json!({ "setup_token": setup_token(&link) }), "phone").await;
    assert_eq!(status, StatusCode::CREATED, "{me}");
    assert_eq!(me["passkeys"].as_array().unwrap().len(), 2);

    // A signed-in user adds a third without a link.
    let (status, me) = phone.enrol(json!({}), "security key").await;
    assert_eq!(status, StatusCode::CREATED, "{me}");
    let ids: Vec<String> =
        me["passkeys"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 3);
    // Not signed in and no link: refused.
    let (status, _) = Browser::new(&server).enrol(json!({}), "x").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Remove two; the last one stays.
    for id in &ids[1..] {
        let (status, body) = phone.send(reqwest::Method::DELETE, &format!("/api/v1/auth/passkeys/{id}"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let (status, body) = phone.send(reqwest::Method::DELETE, &format!("/api/v1/auth/passkeys/{}", ids[0]), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("last_passkey")));

    // Sign out everywhere ends the laptop's session too.
    assert_eq!(laptop.get("/api/v1/auth/me").await.0, StatusCode::OK);
    let (status, _) = phone.send(reqwest::Method::POST, "/api/v1/auth/logout?everywhere=true", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(laptop.get("/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn relay_on_an_ip_address_says_passkeys_need_a_host_name() {
    let server = TestServer::start().await; // public URL http://127.0.0.1
    let res = login_start_from(&server, "http://127.0.0.1").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "passkeys_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("--public-url http://localhost"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn an_operator_enrols_from_the_printed_link() {
    let server = start().await;
    // What `fxe-server operator add --email …` prints.
    let setup = add_operator(&server, "ops@example.org").await.unwrap();
    assert!(setup.created);
    assert!(setup.setup_url.starts_with("http://localhost/setup/set_"));
    let mut browser = Browser::new(&server);
    let (status, me) = browser.enrol(json!({ "setup_token": setup_token(&setup.setup_url) }), "ops laptop").await;
    assert_eq!(status, StatusCode::CREATED, "{me}");
    assert_eq!(me["role"], "operator");
    assert!(me["org"].is_null());
    // An operator is not an org member: the org API refuses the session.
    assert_eq!(browser.get("/api/v1/org").await.0, StatusCode::UNAUTHORIZED);

    // Adding the same address again issues a new link for the same operator.
    let again = add_operator(&server, "OPS@example.org").await.unwrap();
    assert!(!again.created);
    assert_eq!(again.user_id, setup.user_id);
    let listed = fxe_server::accounts::operators::list(&server.state.db).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].passkeys, 1);
    assert!(add_operator(&server, "not-an-address").await.is_err());
    server.stop().await;
}

/// The operator's calls behind the `/operator` page, and who may open which page.
#[tokio::test]
async fn operator_calls_and_page_access() {
    let server = start().await;
    let setup = add_operator(&server, "ops@example.org").await.unwrap();
    let mut op = Browser::new(&server);
    assert_eq!(op.enrol(json!({ "setup_token": setup_token(&setup.setup_url) }), "ops").await.0, StatusCode::CREATED);

    // Create an invite (loose numbers are normalised), list it, revoke it.
    let (status, invite) = op
        .post(
            "/api/v1/operator/invites",
            json!({ "numbers": ["+1 (555) 010-0009"], "expires_in_secs": 86400, "note": "Harbor Lab" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    assert_eq!(invite["numbers"], json!(["+15550100009"]));
    assert!(invite["redeem_url"].as_str().unwrap().starts_with("http://localhost/redeem?token="), "{invite}");
    let (status, listed) = op.get("/api/v1/operator/invites").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"][0]["state"], "active");
    assert_eq!(listed["items"][0]["note"], "Harbor Lab");
    assert!(listed["items"][0].get("token").is_none(), "tokens are never listed");
    let id = invite["id"].as_str().unwrap();

    // A lost link: a new one for the same invite (issue 15, finding 10); the old link stops working.
    let (status, again) = op.post(&format!("/api/v1/operator/invites/{id}/link"), json!(null)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!((&again["id"], &again["numbers"]), (&invite["id"], &invite["numbers"]));
    assert_ne!(again["token"], invite["token"]);
    assert!(again["redeem_url"].as_str().unwrap().ends_with(again["token"].as_str().unwrap()));
    let redeem_with = |token: &str| {
        let identity = fxe_protocol::ids::IdentityKey::generate().unwrap();
        let bundle = fxe_protocol::bundle::BundleKeys::generate(&identity, common::client::now()).unwrap();
        let api = fxe_protocol::apikey::ApiKey::generate().unwrap();
        common::client::redeem_body(token, "Harbor Lab", &["+15550100009".to_string()], &identity, &bundle, &api)
    };
    let (status, old) = op.post("/api/v1/invites/redeem", redeem_with(invite["token"].as_str().unwrap())).await;
    assert_eq!((status, old["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("invite_not_found")));
    let (status, unknown) = op.post("/api/v1/operator/invites/inv_nope/link", json!(null)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");

    assert_eq!(op.post(&format!("/api/v1/operator/invites/{id}/revoke"), json!(null)).await.0, StatusCode::NO_CONTENT);
    let (status, revoked) = op.post(&format!("/api/v1/operator/invites/{id}/link"), json!(null)).await;
    assert_eq!((status, revoked["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (status, again) = op.post(&format!("/api/v1/operator/invites/{id}/revoke"), json!(null)).await;
    assert_eq!((status, again["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));

    // Bad input is a 422 in words, never a 500.
    for bad in [
        json!({ "numbers": ["555"], "expires_in_secs": 86400 }),
        json!({ "numbers": [], "expires_in_secs": 5 }),
        json!({ "expires_in_secs": 86400, "note": "line\nbreak" }),
    ] {
        let (status, body) = op.post("/api/v1/operator/invites", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} → {body}");
        assert!(body["error"]["message"].as_str().unwrap().ends_with('.'), "{body}");
    }

    // Orgs: the echo org is listed and cannot be disabled; a member org can.
    let org = TestOrg::redeem(&server, "Lakeside Clinic", &["+15550100001"]).await;
    let (status, orgs) = op.get("/api/v1/operator/orgs").await;
    assert_eq!(status, StatusCode::OK);
    let echo = orgs["items"].as_array().unwrap().iter().find(|o| o["echo"] == true).unwrap()["org_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(op.post(&format!("/api/v1/operator/orgs/{echo}/disable"), json!(null)).await.0, StatusCode::CONFLICT);
    assert_eq!(op.post("/api/v1/operator/orgs/nope/disable", json!(null)).await.0, StatusCode::NOT_FOUND);
    let (status, pending) = op.get("/api/v1/operator/numbers?pending=true").await;
    assert_eq!(status, StatusCode::OK, "{pending}");

    // An org member's session may not call the operator's API, nor open its page.
    let mut member = Browser::new(&server);
    assert_eq!(
        member.enrol(json!({ "setup_token": setup_token(&org.setup_url) }), "desk").await.0,
        StatusCode::CREATED
    );
    let (status, team) = member.get("/api/v1/users").await;
    assert_eq!((status, &team["items"][0]["passkeys"]), (StatusCode::OK, &json!(1)), "the team list counts passkeys");
    let (status, body) = member.get("/api/v1/operator/invites").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert_eq!(Browser::new(&server).get("/api/v1/operator/orgs").await.0, StatusCode::UNAUTHORIZED);
    // State changes need the relay's Origin.
    let res = server
        .client
        .post(server.url("/api/v1/operator/invites"))
        .header("cookie", format!("fxe_session={}", op.cookie.as_deref().unwrap()))
        .json(&json!({ "expires_in_secs": 86400 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Pages, asked for by the relay's name (Host), as a browser would.
    let page = |path: &str, cookie: Option<&str>| {
        let mut req = server.client.get(server.url(path)).header("host", "localhost");
        if let Some(c) = cookie {
            req = req.header("cookie", format!("fxe_session={c}"));
        }
        req.send()
    };
    let location = |res: &reqwest::Response| res.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    let res = page("/dashboard/team", None).await.unwrap();
    assert_eq!(
        (res.status(), location(&res).as_deref()),
        (StatusCode::SEE_OTHER, Some("/login?next=%2Fdashboard%2Fteam"))
    );
    let res = page("/operator", None).await.unwrap();
    assert_eq!((res.status(), location(&res).as_deref()), (StatusCode::SEE_OTHER, Some("/login?next=%2Foperator")));
    let res = page("/dashboard", op.cookie.as_deref()).await.unwrap();
    assert_eq!((res.status(), location(&res).as_deref()), (StatusCode::SEE_OTHER, Some("/operator")));
    let res = page("/operator", member.cookie.as_deref()).await.unwrap();
    assert_eq!((res.status(), location(&res).as_deref()), (StatusCode::SEE_OTHER, Some("/dashboard")));
    let res = page("/operator", op.cookie.as_deref()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = page("/dashboard", member.cookie.as_deref()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Public pages need no session: signing in, and checking a proof of delivery.
    assert_eq!(page("/login", None).await.unwrap().status(), StatusCode::OK);
    assert_eq!(page("/verify", None).await.unwrap().status(), StatusCode::OK);
    assert_eq!(page("/verify", member.cookie.as_deref()).await.unwrap().status(), StatusCode::OK);
    // One org's operator page is an operator page.
    let res = page("/operator/orgs/0123456789abcdef0123456789abcdef", None).await.unwrap();
    assert_eq!(
        (res.status(), location(&res).as_deref()),
        (StatusCode::SEE_OTHER, Some("/login?next=%2Foperator%2Forgs%2F0123456789abcdef0123456789abcdef"))
    );
    let res = page("/operator/orgs/0123456789abcdef0123456789abcdef", op.cookie.as_deref()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A page asked for by IP address goes to the public name (passkeys refuse IPs); the API does not move.
    let res = server.client.get(server.url("/login?x=1")).send().await.unwrap();
    assert_eq!((res.status(), location(&res).as_deref()), (StatusCode::SEE_OTHER, Some("http://localhost/login?x=1")));
    assert_eq!(server.client.get(server.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        server.client.get(server.url("/api/v1/auth/me")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    server.stop().await;
}

/// The arrival notices in the relay's outbox folder (the mailer without SMTP).
fn arrival_mails(server: &TestServer) -> Vec<String> {
    let outbox = server.state.config.storage.data_dir.join("outbox");
    let Ok(dir) = std::fs::read_dir(&outbox) else { return vec![] };
    let mut mails: Vec<(std::path::PathBuf, String)> =
        dir.flatten().map(|e| (e.path(), std::fs::read_to_string(e.path()).unwrap())).collect();
    mails.sort();
    mails.into_iter().map(|(_, m)| m).filter(|m| m.contains("Subject: A fax arrived on fxe")).collect()
}

/// Waits (up to a minute: the machine may be loaded) until `n` arrival notices are in the outbox.
async fn wait_for_arrival_mails(server: &TestServer, n: usize) -> Vec<String> {
    for _ in 0..600 {
        let mails = arrival_mails(server);
        if mails.len() >= n {
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{n} arrival notices expected, found {:?}", arrival_mails(server));
}

#[tokio::test]
async fn arrival_notices_mail_the_members_who_asked_and_say_nothing_of_the_fax() {
    let server = start().await;
    let sender = TestOrg::redeem(&server, "Sender Clinic", &["+15550100030"]).await;
    let org = TestOrg::redeem(&server, "Receiving Clinic", &["+15550100031"]).await;
    let mut browser = Browser::new(&server);
    let (status, me) = browser.enrol(json!({ "setup_token": setup_token(&org.setup_url) }), "laptop").await;
    assert_eq!(status, StatusCode::CREATED, "{me}");
    assert_eq!(me["notify_arrivals"], false, "off until the member turns it on");

    // Only from the relay's own pages, only known settings.
    let res = server
        .client
        .patch(server.url("/api/v1/auth/me"))
        .header("cookie", format!("fxe_session={}", browser.cookie.as_deref().unwrap()))
        .json(&json!({ "notify_arrivals": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (status, body) =
        browser.send(reqwest::Method::PATCH, "/api/v1/auth/me", Some(json!({ "notify_arrival": true }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));

    // Not asked: a fax arrives, no notice is queued for it.
    sender.send(&server, "+15550100031", b"%PDF-1.7 first").await;
    let (status, me) =
        browser.send(reqwest::Method::PATCH, "/api/v1/auth/me", Some(json!({ "notify_arrivals": true }))).await;
    assert_eq!((status, &me["notify_arrivals"]), (StatusCode::OK, &json!(true)), "{me}");
    assert_eq!(browser.get("/api/v1/auth/me").await.1["notify_arrivals"], true);

    // Asked: the next fax is noticed, naming the number it came to and where to open it, nothing else.
    sender.send(&server, "+15550100031", b"%PDF-1.7 second").await;
    let mails = wait_for_arrival_mails(&server, 1).await;
    let mail = &mails[0];
    assert!(mail.contains("To: admin@example.org"), "{mail}");
    assert!(mail.contains("A fax arrived for +1 555 010 0031."), "{mail}");
    assert!(mail.contains("http://localhost/dashboard/inbox"), "{mail}");
    for secret in ["Sender Clinic", "+15550100030", "555 010 0030", "PDF"] {
        assert!(!mail.contains(secret), "the notice says nothing of the fax ({secret}): {mail}");
    }

    // Turned off, then on again: the fax in between is not noticed, the one after is.
    let (status, _) =
        browser.send(reqwest::Method::PATCH, "/api/v1/auth/me", Some(json!({ "notify_arrivals": false }))).await;
    assert_eq!(status, StatusCode::OK);
    sender.send(&server, "+15550100031", b"%PDF-1.7 third").await;
    browser.send(reqwest::Method::PATCH, "/api/v1/auth/me", Some(json!({ "notify_arrivals": true }))).await;
    sender.send(&server, "+15550100031", b"%PDF-1.7 fourth").await;
    let mails = wait_for_arrival_mails(&server, 2).await;
    assert_eq!(mails.len(), 2, "the second and the fourth fax were noticed, not the first or the third");
    // Nobody of the sending org is mailed about its own sends.
    assert!(mails.iter().all(|m| m.contains("To: admin@example.org") && m.contains("+1 555 010 0031")));
}

/// A redemption interrupted after the relay answered (the page reloaded, the
/// setup link lost) is sent again by the same org: while nobody has enrolled a
/// passkey and nothing else exists, the retry answers a new setup link (the old
/// one ends) and is audited; once it differs or the org is in use, it is
/// refused as `invite_used`.
#[tokio::test]
async fn a_redemption_retried_before_any_passkey_gets_a_new_setup_link() {
    use common::client::{invite, now, redeem_body};
    let server = start().await;
    let redeem = |body: Value| {
        let req = server.client.post(server.url("/api/v1/invites/redeem")).json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let token = invite(&server, &[]).await;
    let numbers = vec!["+15550100071".to_string()];
    let identity = fxe_protocol::ids::IdentityKey::generate().unwrap();
    let bundle = fxe_protocol::bundle::BundleKeys::generate(&identity, now() - 10).unwrap();
    let api = fxe_protocol::apikey::ApiKey::generate().unwrap();
    let body = redeem_body(&token, "Retry Clinic", &numbers, &identity, &bundle, &api);

    let (status, first) = redeem(body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = redeem(body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["org"]["org_id"], first["org"]["org_id"]);
    assert_ne!(again["setup_url"], first["setup_url"], "a new link");

    // Another identity, or the same identity with other keys: the invite is used.
    let other = fxe_protocol::ids::IdentityKey::generate().unwrap();
    let other_bundle = fxe_protocol::bundle::BundleKeys::generate(&other, now() - 10).unwrap();
    let stranger = redeem_body(&token, "Retry Clinic", &numbers, &other, &other_bundle, &api);
    assert_eq!(redeem(stranger).await.1["error"]["code"], "invite_used");
    let new_bundle = fxe_protocol::bundle::BundleKeys::generate(&identity, now() - 5).unwrap();
    let (status, refused) = redeem(redeem_body(&token, "Retry Clinic", &numbers, &identity, &new_bundle, &api)).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::GONE, Some("invite_used")));
    assert!(refused["error"]["message"].as_str().unwrap().contains("keys differ"), "{refused}");

    // The first link ended; the retry's enrols the admin.
    let mut browser = Browser::new(&server);
    let (status, body_used) =
        browser.enrol(json!({ "setup_token": setup_token(first["setup_url"].as_str().unwrap()) }), "old").await;
    assert_eq!(status, StatusCode::GONE, "{body_used}");
    let (status, me) =
        browser.enrol(json!({ "setup_token": setup_token(again["setup_url"].as_str().unwrap()) }), "desk").await;
    assert_eq!(status, StatusCode::CREATED, "{me}");

    // With a passkey set up, the same request is refused.
    let (status, refused) = redeem(body).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::GONE, Some("invite_used")));
    assert!(refused["error"]["message"].as_str().unwrap().contains("passkey"), "{refused}");

    let org_id = identity.org_id();
    let retried: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE org_id = $1 AND action = 'org.redemption_retried'")
            .bind(&org_id)
            .fetch_one(server.state.db.pool())
            .await
            .unwrap();
    assert_eq!(retried, 1);
    server.stop().await;
}

/// A retry is refused once the org has sent or received a fax.
#[tokio::test]
async fn a_redemption_is_not_retried_once_faxes_moved() {
    use common::client::{invite, now, redeem_body};
    let server = start().await;
    let sender = TestOrg::redeem(&server, "Sender", &["+15550100072"]).await;
    let token = invite(&server, &[]).await;
    let numbers = vec!["+15550100073".to_string()];
    let identity = fxe_protocol::ids::IdentityKey::generate().unwrap();
    let bundle = fxe_protocol::bundle::BundleKeys::generate(&identity, now() - 10).unwrap();
    let api = fxe_protocol::apikey::ApiKey::generate().unwrap();
    let body = redeem_body(&token, "Receiver", &numbers, &identity, &bundle, &api);
    let post = || server.client.post(server.url("/api/v1/invites/redeem")).json(&body).send();
    assert_eq!(post().await.unwrap().status(), StatusCode::CREATED);
    sender.send(&server, "+15550100073", b"%PDF-1.4 a fax").await;
    let r = post().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let refused: Value = r.json().await.unwrap();
    assert!(refused["error"]["message"].as_str().unwrap().contains("faxes"), "{refused}");
    server.stop().await;
}
