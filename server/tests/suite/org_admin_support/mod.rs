//! Shared by `org_admin.rs` and `operator_cli.rs`: orgs redeemed through the
//! API, signed calls with any API key and extra headers, sessions made in the
//! database, new bundles and keys.

#![allow(dead_code)]

use fxe_protocol::{
    apikey::ApiKey,
    bundle::BundleKeys,
    encoding::b64u_encode,
    ids::IdentityKey,
    request::{self, Body},
};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

use crate::common::TestServer;

/// The same redemption body and clock as the other tests' client.
pub use crate::common::client::{now, redeem_body};

/// An org redeemed through the API, with its keys.
pub struct TestOrg {
    pub identity: IdentityKey,
    pub bundles: Vec<BundleKeys>,
    /// Scopes send, receive and admin.
    pub api: ApiKey,
    pub numbers: Vec<String>,
    pub setup_url: String,
}

impl TestOrg {
    pub fn org_id(&self) -> String {
        self.identity.org_id()
    }

    /// Redeems a new invite (any numbers) as `name` with `numbers`.
    pub async fn redeem(server: &TestServer, name: &str, numbers: &[&str]) -> TestOrg {
        let (_, token) = fxe_server::db::invites::create(
            &server.state.db,
            &[],
            7 * 86_400,
            "test",
            &fxe_server::db::audit::Actor::operator_cli(),
            server.state.clock.now_ms(),
        )
        .await
        .unwrap();
        Self::redeem_token(server, &token, name, numbers, None).await.expect("redeemed")
    }

    /// Redeems `token`; the answer when it is not 201. With `idempotency_key`, sends that header.
    pub async fn redeem_token(
        server: &TestServer, token: &str, name: &str, numbers: &[&str], idempotency_key: Option<&str>,
    ) -> Result<TestOrg, Answer> {
        let identity = IdentityKey::generate().unwrap();
        let bundle = BundleKeys::generate(&identity, now() - 10).unwrap();
        let api = ApiKey::generate().unwrap();
        let numbers: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
        let body = redeem_body(token, name, &numbers, &identity, &bundle, &api);
        let mut req = server.client.post(server.url("/api/v1/invites/redeem")).json(&body);
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        let a = answer(req.send().await.unwrap()).await;
        if a.status != StatusCode::CREATED {
            return Err(a);
        }
        let setup_url = a.body["setup_url"].as_str().unwrap().to_owned();
        Ok(TestOrg { identity, bundles: vec![bundle], api, numbers, setup_url })
    }
}

/// An answer: status, JSON body (Null when empty) and headers.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// Asserts an error answer with this status and code.
    #[track_caller]
    pub fn expect_error(&self, status: StatusCode, code: &str) {
        self.expect_error_of("", status, code);
    }

    /// [`Answer::expect_error`] naming the call (`what`) in the failure message.
    #[track_caller]
    pub fn expect_error_of(&self, what: &str, status: StatusCode, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "{what}{}", self.body);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}{}", self.body);
    }

    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        &self.body
    }
}

async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Answer { status, body, headers }
}

/// A request signed with `key`, with a JSON body and extra headers.
pub async fn signed(
    server: &TestServer, key: &ApiKey, method: &str, path: &str, body: Option<&Value>, extra: &[(&str, &str)],
) -> Answer {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
    let headers = request::sign_request(key, method, path, now(), Body::Bytes(&bytes)).unwrap();
    let mut req = server.client.request(Method::from_bytes(method.as_bytes()).unwrap(), server.url(path));
    for (k, v) in headers.pairs() {
        req = req.header(k, v);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json").body(bytes);
    }
    answer(req.send().await.unwrap()).await
}

/// A call with the org's first (send, receive, admin) key.
pub async fn call(server: &TestServer, org: &TestOrg, method: &str, path: &str, body: Option<&Value>) -> Answer {
    signed(server, &org.api, method, path, body, &[]).await
}

/// A call that must fail: the org whose first key signs it, method, path and JSON body,
/// then the status and error code it must answer.
pub type ErrorCase<'a> = (&'a TestOrg, &'a str, &'a str, Option<Value>, StatusCode, &'a str);

/// Makes each call in turn (in order: a case may depend on the ones before) and asserts its error.
pub async fn expect_errors(server: &TestServer, cases: &[ErrorCase<'_>]) {
    for (org, method, path, body, status, code) in cases {
        call(server, org, method, path, body.as_ref()).await.expect_error_of(
            &format!("{method} {path}: "),
            *status,
            code,
        );
    }
}

/// A request with a session cookie (and the relay's Origin).
pub async fn with_session(
    server: &TestServer, cookie: &str, method: &str, path: &str, body: Option<&Value>, origin: Option<&str>,
) -> Answer {
    let mut req = server
        .client
        .request(Method::from_bytes(method.as_bytes()).unwrap(), server.url(path))
        .header("cookie", format!("fxe_session={cookie}"));
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    answer(req.send().await.unwrap()).await
}

/// Signs a session in for `user_id` directly in the database (passkey
/// sign-in is another part of the relay); returns the cookie value.
pub async fn session_for(server: &TestServer, user_id: &str) -> String {
    let cookie = format!("test-session-{}", uuid::Uuid::new_v4().simple());
    let now = i64::try_from(now()).unwrap();
    sqlx::query(
        "INSERT INTO sessions (id_sha256, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(fxe_server::db::sessions::hash_id(&cookie))
    .bind(user_id)
    .bind(now)
    .bind(now + 3600)
    .execute(server.state.db.pool())
    .await
    .unwrap();
    cookie
}

/// The body of `POST /api-keys` for `key` with `scopes`, proved for `org_id`.
pub fn key_registration(org_id: &str, key: &ApiKey, scopes: &[&str], label: &str) -> Value {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    json!({
        "public_key": b64u_encode(&key.public()),
        "scopes": scopes,
        "label": label,
        "proof": b64u_encode(&key.registration_proof(org_id, &scopes)),
    })
}

/// Registers a new key with `scopes` for `org`; returns it.
pub async fn new_key(server: &TestServer, org: &TestOrg, scopes: &[&str]) -> ApiKey {
    let key = ApiKey::generate().unwrap();
    let a =
        call(server, org, "POST", "/api/v1/api-keys", Some(&key_registration(&org.org_id(), &key, scopes, "test key")))
            .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    key
}

/// A new bundle of the org, dated `created_at`.
pub fn bundle_for(org: &TestOrg, created_at: u64) -> BundleKeys {
    BundleKeys::generate(&org.identity, created_at).unwrap()
}

/// The number in a URL path (`+` as `%2B`).
pub fn path_number(n: &str) -> String {
    n.replace('+', "%2B")
}

/// How many rows `sql` (one `$1` bound to `arg`) counts.
pub async fn count(server: &TestServer, sql: &str, arg: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql).bind(arg).fetch_one(server.state.db.pool()).await.unwrap().try_get::<i64, _>(0).unwrap()
}
