//! A test client: redeems orgs with keys made by fxe-protocol and speaks the
//! API with real signed requests, as an integrator's code would.

use fxe_protocol::{
    api::{DirectoryEntry, ECHO_NUMBER},
    apikey::ApiKey,
    bundle::{Bundle, BundleKeys},
    encoding::b64u_encode,
    envelope::{self, Envelope, Recipient, SealRequest},
    ids::IdentityKey,
    keyszip::{OrgKeys, StoredApiKey},
    receipt::Receipt,
    redeem::RedeemClaims,
    request::{self, Body},
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::TestServer;

/// A relay the client can talk to: in-process ([`TestServer`]) or a spawned binary.
pub trait Relay {
    fn base(&self) -> &str;
    fn http(&self) -> &reqwest::Client;
    fn db(&self) -> &fxe_server::db::Db;
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }
}

impl Relay for TestServer {
    fn base(&self) -> &str {
        &self.base_url
    }
    fn http(&self) -> &reqwest::Client {
        &self.client
    }
    fn db(&self) -> &fxe_server::db::Db {
        &self.state.db
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A fresh invite token from the operator side.
pub async fn invite(server: &impl Relay, numbers: &[&str]) -> String {
    let numbers: Vec<String> = numbers.iter().map(|s| s.to_string()).collect();
    let (_, token) = fxe_server::db::invites::create(
        server.db(),
        &numbers,
        7 * 86_400,
        "test",
        &fxe_server::db::audit::Actor::operator_cli(),
        fxe_server::clock::Clock::system().now_ms(),
    )
    .await
    .expect("invite created");
    token
}

/// An org redeemed through the API, with all its keys.
pub struct TestOrg {
    pub keys: OrgKeys,
    pub api: ApiKey,
    pub numbers: Vec<String>,
    pub setup_url: String,
}

/// The body of `POST /invites/redeem` for new keys.
pub fn redeem_body(
    token: &str, name: &str, numbers: &[String], identity: &IdentityKey, bundle: &BundleKeys, api: &ApiKey,
) -> Value {
    let org_id = identity.org_id();
    let scopes = vec!["send".to_string(), "receive".to_string(), "admin".to_string()];
    let claims = RedeemClaims {
        token,
        org_name: name,
        numbers,
        admin_email: "admin@example.org",
        bundle_id: &bundle.bundle.bundle_id,
        api_key_id: api.key_id(),
    };
    json!({
        "token": token,
        "org_name": name,
        "numbers": numbers,
        "admin_email": "admin@example.org",
        "identity_pub": b64u_encode(&identity.public()),
        "bundle": bundle.bundle,
        "api_key": {
            "public_key": b64u_encode(&api.public()),
            "scopes": scopes,
            "proof": b64u_encode(&api.registration_proof(&org_id, &scopes)),
        },
        "proof": b64u_encode(&claims.sign(identity)),
    })
}

impl TestOrg {
    pub async fn redeem(server: &impl Relay, name: &str, numbers: &[&str]) -> TestOrg {
        let token = invite(server, &[]).await;
        let numbers: Vec<String> = numbers.iter().map(|s| s.to_string()).collect();
        let identity = IdentityKey::generate().unwrap();
        let bundle = BundleKeys::generate(&identity, now() - 10).unwrap();
        let api = ApiKey::generate().unwrap();
        let body = redeem_body(&token, name, &numbers, &identity, &bundle, &api);
        let res = server.http().post(server.url("/api/v1/invites/redeem")).json(&body).send().await.unwrap();
        let status = res.status();
        let answer: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "redeem: {answer}");
        let keys = OrgKeys {
            relay_url: server.base().to_owned(),
            org_id: identity.org_id(),
            org_name: name.into(),
            identity_pub: identity.public(),
            identity: Some(identity),
            bundles: vec![bundle],
            api_keys: vec![StoredApiKey {
                key: api.clone(),
                scopes: vec!["send".into(), "receive".into(), "admin".into()],
            }],
            created_at: now(),
        };
        TestOrg { keys, api, numbers, setup_url: answer["setup_url"].as_str().unwrap().to_owned() }
    }

    pub fn org_id(&self) -> &str {
        &self.keys.org_id
    }

    /// Signed headers for a request.
    pub fn sign(&self, method: &str, path: &str, body: Body<'_>) -> request::SignedHeaders {
        request::sign_request(&self.api, method, path, now(), body).unwrap()
    }

    /// A signed JSON request; returns status and JSON body (Null when empty).
    pub async fn call(
        &self, server: &impl Relay, method: &str, path: &str, body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let (status, _, body) = signed_call(server, &self.api, method, path, body).await;
        (status, body)
    }

    /// Uploads ciphertext with UNSIGNED-PAYLOAD.
    pub async fn upload(&self, server: &impl Relay, message_id: &str, ct: Vec<u8>) -> (StatusCode, Value) {
        let path = format!("/api/v1/messages/{message_id}/content");
        let headers = self.sign("PUT", &path, Body::Unsigned);
        let mut req = server.http().put(server.url(&path)).header("content-type", "application/octet-stream");
        for (k, v) in headers.pairs() {
            req = req.header(k, v);
        }
        let res = req.body(ct).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Looks a number up and verifies the answer (identity → bundle → org).
    pub async fn lookup(&self, server: &impl Relay, number: &str) -> Option<DirectoryEntry> {
        let path = format!("/api/v1/directory/{}", number.replace('+', "%2B"));
        let (status, body) = self.call(server, "GET", &path, None).await;
        if status == StatusCode::NOT_FOUND {
            assert_eq!(body["error"]["code"], "not_on_network");
            return None;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        let entry: DirectoryEntry = serde_json::from_value(body).unwrap();
        let identity = fxe_protocol::encoding::b64u_fixed::<32>("identity_pub", &entry.identity_pub).unwrap();
        entry.bundle.verify(&identity).unwrap();
        assert_eq!(fxe_protocol::ids::org_id(&identity), entry.org_id);
        Some(entry)
    }

    /// Seals `plaintext` to `to` (looked up) from this org's first number.
    pub async fn seal_to(&self, server: &impl Relay, to: &str, plaintext: &[u8]) -> (Envelope, Vec<u8>) {
        let entry = self.lookup(server, to).await.expect("recipient on the network");
        self.seal_for(&entry, to, plaintext)
    }

    /// Seals `plaintext` to `to`, whose directory entry is `entry`, from this
    /// org's first number.
    pub fn seal_for(&self, entry: &DirectoryEntry, to: &str, plaintext: &[u8]) -> (Envelope, Vec<u8>) {
        let identity = fxe_protocol::encoding::b64u_fixed::<32>("identity_pub", &entry.identity_pub).unwrap();
        let id = fxe_protocol::encoding::new_uuid_v4().unwrap();
        let req = SealRequest {
            message_id: &id,
            created_at: now(),
            sender: self.keys.active_bundle().unwrap(),
            recipient_identity_pub: &identity,
            recipient_bundle: &entry.bundle,
            from_number: &self.numbers[0],
            from_name: "Test Sender",
            to_number: to,
            content_type: "application/pdf",
            chunk_size: fxe_protocol::stream::V1_CHUNK_SIZE,
        };
        envelope::seal(&req, plaintext).unwrap()
    }

    /// Creates the message and uploads its ciphertext; returns the message id.
    pub async fn send(&self, server: &impl Relay, to: &str, plaintext: &[u8]) -> String {
        let (env, ct) = self.seal_to(server, to, plaintext).await;
        let (status, body) = self.call(server, "POST", "/api/v1/messages", Some(&json!({ "envelope": env }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["upload_url"], format!("/api/v1/messages/{}/content", env.message_id));
        let (status, body) = self.upload(server, &env.message_id, ct).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "queued");
        env.message_id
    }

    /// The sender's identity and the bundle an envelope names, from the directory.
    pub async fn sender_keys(&self, server: &impl Relay, env: &Envelope) -> ([u8; 32], Bundle) {
        let (status, org) = self.call(server, "GET", &format!("/api/v1/orgs/{}", env.sender_org_id), None).await;
        assert_eq!(status, StatusCode::OK);
        let identity =
            fxe_protocol::encoding::b64u_fixed::<32>("identity_pub", org["identity_pub"].as_str().unwrap()).unwrap();
        let (status, bundles) =
            self.call(server, "GET", &format!("/api/v1/orgs/{}/bundles", env.sender_org_id), None).await;
        assert_eq!(status, StatusCode::OK);
        let bundle = bundles["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| serde_json::from_value::<Bundle>(b["bundle"].clone()).unwrap())
            .find(|b| b.bundle_id == env.sender_bundle_id)
            .expect("sender bundle listed");
        (identity, bundle)
    }

    /// Downloads one message's ciphertext (`GET …/content`, signed); asserts 200.
    pub async fn download(&self, server: &impl Relay, message_id: &str) -> Vec<u8> {
        let path = format!("/api/v1/messages/{message_id}/content");
        let headers = self.sign("GET", &path, Body::Bytes(b""));
        let mut req = server.http().get(server.url(&path));
        for (k, v) in headers.pairs() {
            req = req.header(k, v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.bytes().await.unwrap().to_vec()
    }

    /// Fetches, opens and receipts one message; returns envelope and plaintext.
    pub async fn receive(&self, server: &impl Relay, message_id: &str) -> (Envelope, Vec<u8>) {
        let (status, msg) = self.call(server, "GET", &format!("/api/v1/messages/{message_id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{msg}");
        let env: Envelope = serde_json::from_value(msg["envelope"].clone()).unwrap();
        let ct = self.download(server, message_id).await;
        let (identity, bundle) = self.sender_keys(server, &env).await;
        let mut numbers = self.numbers.clone();
        numbers.push(ECHO_NUMBER.into());
        let rec = Recipient { org_id: &self.keys.org_id, numbers: &numbers, bundles: &self.keys.bundles };
        let pt = envelope::open(&env, &identity, &bundle, &rec, &ct).expect("message opens");
        let receipt = Receipt::make(&env, &self.keys.bundles, now()).unwrap();
        let (status, body) = self
            .call(
                server,
                "POST",
                &format!("/api/v1/messages/{message_id}/receipt"),
                Some(&serde_json::to_value(&receipt).unwrap()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "delivered");
        (env, pt.to_vec())
    }

    /// Queued inbox message ids, oldest first.
    pub async fn queued(&self, server: &impl Relay) -> Vec<Value> {
        let (status, page) = self.call(server, "GET", "/api/v1/messages?box=inbox&status=queued", None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut items = page["items"].as_array().unwrap().clone();
        items.reverse();
        items
    }
}

/// A JSON request signed with `key`: status, answer headers and JSON body
/// (Null when empty, the text as a string when not JSON).
pub async fn signed_call(
    server: &impl Relay, key: &ApiKey, method: &str, path: &str, body: Option<&Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
    let headers = request::sign_request(key, method, path, now(), Body::Bytes(&bytes)).unwrap();
    let mut req = server.http().request(Method::from_bytes(method.as_bytes()).unwrap(), server.url(path));
    for (k, v) in headers.pairs() {
        req = req.header(k, v);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json").body(bytes);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    (
        status,
        headers,
        if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) },
    )
}
