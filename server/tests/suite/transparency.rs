//! The relay's key transparency log over real HTTP (docs/transparency.md):
//! every directory fact is logged before the directory answers it, the log
//! is served as C2SP checkpoints and tiles that a member's replica syncs and
//! agrees with, witnesses must cosign before anything is published, and a
//! relay made dishonest (its database edited, a checkpoint forged with its
//! key) is caught by the owner's monitor, the witnesses and the clients.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::client::{TestOrg, now, signed_call};
use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::transparency::{
    Checkpoint, KeyKind, LogError, Replica, SignedNote, TrustPolicy,
    inclusion::verify_directory,
    monitor::{self, OwnOrg, Severity},
    note::{NoteSigner, sign_note},
    tile::Tile,
    witness::AddCheckpoint,
};
use fxe_server::witness::{WitnessServeArgs, serve};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Edits the relay's database as a dishonest operator would: `number` now routes to `org_id`
/// (and the directory's change counter moves, as the relay's own storage code moves it).
async fn move_number(server: &TestServer, number: &str, org_id: &str) {
    sqlx::query("UPDATE numbers SET org_id = $1 WHERE number = $2")
        .bind(org_id)
        .bind(number)
        .execute(server.state.db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE directory_version SET version = version + 1").execute(server.state.db.pool()).await.unwrap();
}

/// A signed GET answered with raw bytes.
async fn get_raw(server: &TestServer, org: &TestOrg, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let headers = org.sign("GET", path, fxe_protocol::request::Body::Bytes(b""));
    let mut req = server.client.get(server.url(path));
    for (k, v) in headers.pairs() {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.bytes().await.unwrap().to_vec())
}

const LOG: &str = "/api/v1/transparency";

/// Syncs `replica` to the relay's checkpoint as a member client does; returns what it applied.
async fn sync(
    server: &TestServer, org: &TestOrg, policy: &TrustPolicy, replica: &mut Replica,
) -> Result<Vec<fxe_protocol::transparency::Applied>, LogError> {
    let (status, _, note) = get_raw(server, org, &format!("{LOG}/checkpoint")).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&note));
    let cp = policy.verify(std::str::from_utf8(&note).unwrap(), now())?;
    let tiles = replica.tiles_needed(&cp)?;
    let mut bundles = Vec::new();
    for t in tiles {
        let (status, headers, bytes) = get_raw(server, org, &format!("{LOG}/{}", t.path())).await;
        assert_eq!(status, StatusCode::OK, "{}", t.path());
        assert_eq!(headers["cache-control"], "private, max-age=31536000, immutable");
        bundles.push((t, bytes));
    }
    replica.advance(cp, &bundles)
}

async fn policy(server: &TestServer, org: &TestOrg) -> TrustPolicy {
    let (status, body) = org.call(server, "GET", &format!("{LOG}/policy"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

fn number_path(n: &str) -> String {
    format!("/api/v1/directory/{}", n.replace('+', "%2B"))
}

#[tokio::test]
async fn every_directory_fact_is_logged_and_a_members_replica_agrees_with_the_directory() {
    let server = TestServer::start().await;
    let a = TestOrg::redeem(&server, "Clinic A", &["+15550100001"]).await;
    let b = TestOrg::redeem(&server, "Clinic B", &["+15550100002"]).await;

    // A directory answer right after redemption: the relay waits for its log to cover it.
    let entry = a.lookup(&server, "+15550100002").await.expect("b is in the directory");
    let policy = policy(&server, &a).await;
    assert_eq!(&policy, server.state.log.policy());
    assert_eq!((policy.quorum, policy.witnesses.len()), (0, 0));
    assert!(policy.log.starts_with("127.0.0.1/fxe/log+"), "{}", policy.log);

    // The answer carries its own proof (§6): checkpoint and inclusion of its three facts.
    let proof = entry.log.clone().expect("the answer carries its log proof");
    let cp = verify_directory(&policy, &entry, &proof, now()).unwrap();
    let mut forged = entry.clone();
    forged.number = "+15550100001".into();
    assert!(matches!(verify_directory(&policy, &forged, &proof, now()), Err(LogError::NotInLog { .. })));

    let mut replica = Replica::new();
    sync(&server, &a, &policy, &mut replica).await.unwrap();
    assert!(replica.size() >= cp.checkpoint.size);
    replica.state().check_directory(&entry).unwrap();
    assert!(replica.state().org(a.org_id()).is_some() && replica.state().org(b.org_id()).is_some());
    assert!(replica.state().number(fxe_protocol::api::ECHO_NUMBER).is_some(), "the echo org is logged too");

    // b rotates its bundle: the directory answers the new one, and so does the log.
    let rotated = BundleKeys::generate(b.keys.identity.as_ref().unwrap(), now()).unwrap();
    let (status, body) = b.call(&server, "POST", "/api/v1/bundles", Some(&json!({ "bundle": rotated.bundle }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let entry = a.lookup(&server, "+15550100002").await.unwrap();
    assert_eq!(entry.bundle.bundle_id, rotated.bundle.bundle_id);
    let applied = sync(&server, &a, &policy, &mut replica).await.unwrap();
    replica.state().check_directory(&entry).unwrap();
    let b_bundles: Vec<(String, u64)> = vec![
        (b.keys.bundles[0].bundle.bundle_id.clone(), b.keys.bundles[0].bundle.created_at),
        (rotated.bundle.bundle_id.clone(), rotated.bundle.created_at),
    ];
    let own = OwnOrg { org_id: b.org_id(), bundles: &b_bundles };
    let found = monitor::watch(&own, &applied);
    assert_eq!(found.iter().map(|f| f.code).collect::<Vec<_>>(), ["bundle_published"], "{found:?}");

    // The org answers stay within what the log holds.
    let (status, body) = a.call(&server, "GET", &format!("/api/v1/orgs/{}/bundles", b.org_id()), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let (status, _) = a.call(&server, "GET", &format!("/api/v1/orgs/{}", b.org_id()), None).await;
    assert_eq!(status, StatusCode::OK);

    // b gives its number up: released in the log, and b's monitor says so.
    let (status, body) = b.call(&server, "DELETE", "/api/v1/numbers/%2B15550100002", None).await;
    assert!(status.is_success(), "{status} {body}");
    assert!(a.lookup(&server, "+15550100002").await.is_none());
    let deadline = Instant::now() + Duration::from_secs(10);
    let applied = loop {
        let applied = sync(&server, &a, &policy, &mut replica).await.unwrap();
        if !applied.is_empty() || Instant::now() > deadline {
            break applied;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(replica.state().number("+15550100002").unwrap().org_id, None);
    let found = monitor::watch(&own, &applied);
    assert!(found.iter().any(|f| f.code == "number_released" && f.severity == Severity::Alert), "{found:?}");

    // Tiles: only the canonical paths under the published checkpoint; members only.
    let size = replica.size();
    let beyond = Tile { kind: fxe_protocol::transparency::tile::TileKind::Entries, index: size / 256 + 1, width: 256 };
    for path in [
        format!("{LOG}/{}", beyond.path()),
        format!("{LOG}/tile/entries/000.p/{}", size % 256 + 1),
        format!("{LOG}/tile/entries/0"),
        format!("{LOG}/tile/99/000"),
        format!("{LOG}/tile/entries/x000/000"),
    ] {
        let (status, _, _) = get_raw(&server, &a, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, headers, _) = get_raw(&server, &a, &format!("{LOG}/checkpoint")).await;
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    let (_, headers, hashes) = get_raw(&server, &a, &format!("{LOG}/tile/0/000.p/{}", size.min(255))).await;
    assert_eq!(headers["cache-control"], "private, max-age=31536000, immutable");
    assert_eq!(hashes.len() as u64, 32 * size.min(255));
    let anonymous = server.get(&format!("{LOG}/checkpoint")).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // A restarted relay serves the same log and logs nothing twice.
    let note = server.state.log.view().published_note().unwrap().to_owned();
    let server = server.stop_keeping_data().await.restart().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.state.log.view().published_note(), Some(note.as_str()));
    let c = TestOrg::redeem(&server, "Clinic C", &["+15550100003"]).await;
    assert!(a.lookup(&server, "+15550100003").await.is_some());
    let applied = sync(&server, &c, &policy, &mut replica).await.unwrap();
    assert_eq!(applied.len(), 3, "identity, bundle, number: {applied:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_number_the_relay_moves_is_logged_and_its_owner_alerted_within_one_sync() {
    let server = TestServer::start().await;
    let victim = TestOrg::redeem(&server, "Victim", &["+15550100011"]).await;
    let mallory = TestOrg::redeem(&server, "Mallory", &["+15550100012"]).await;
    let policy = policy(&server, &victim).await;
    let mut replica = Replica::new();
    victim.lookup(&server, "+15550100011").await.unwrap();
    sync(&server, &victim, &policy, &mut replica).await.unwrap();

    // The relay's database is edited: the victim's number now routes to Mallory's keys.
    move_number(&server, "+15550100011", mallory.org_id()).await;
    // A sender at first contact gets Mallory's keys: the relay could only serve them by
    // logging them ...
    let answer = mallory.lookup(&server, "+15550100011").await.unwrap();
    assert_eq!(answer.org_id, mallory.org_id());
    // ... where the victim's monitor sees it at its next sync.
    let applied = sync(&server, &victim, &policy, &mut replica).await.unwrap();
    replica.state().check_directory(&answer).unwrap();
    let bundles = vec![(victim.keys.bundles[0].bundle.bundle_id.clone(), victim.keys.bundles[0].bundle.created_at)];
    let found = monitor::watch(&OwnOrg { org_id: victim.org_id(), bundles: &bundles }, &applied);
    let codes: Vec<_> = found.iter().filter(|f| f.severity == Severity::Alert).map(|f| f.code).collect();
    assert!(codes.contains(&"number_moved"), "{found:?}");

    // A substituted bundle for the victim cannot even be logged: it does not verify
    // against the victim's identity, and the directory refuses to answer it.
    let forged = BundleKeys::generate(mallory.keys.identity.as_ref().unwrap(), now()).unwrap().bundle;
    let mut forged_json = serde_json::to_value(&forged).unwrap();
    forged_json["org_id"] = Value::String(victim.org_id().to_owned());
    sqlx::query("UPDATE bundles SET active = 0 WHERE org_id = $1")
        .bind(victim.org_id())
        .execute(server.state.db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO bundles (bundle_id, org_id, created_at, bundle_json, published_at, active) VALUES ($1, $2, $3, $4, $3, 1)",
    )
    .bind("f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0")
    .bind(victim.org_id())
    .bind(i64::try_from(now()).unwrap())
    .bind(forged_json.to_string())
    .execute(server.state.db.pool())
    .await
    .unwrap();
    move_number(&server, "+15550100011", victim.org_id()).await;
    let (status, headers, body) = signed_call(&server, &mallory.api, "GET", &number_path("+15550100011"), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "a bundle the log cannot hold is never answered: {body}");
    assert_eq!(body["error"]["code"], "log_pending", "{body}");
    assert_eq!(headers["retry-after"], "2");
    server.stop().await;
}

#[tokio::test]
async fn a_forged_or_rolled_back_checkpoint_is_refused_by_clients() {
    let server = TestServer::start().await;
    let a = TestOrg::redeem(&server, "Clinic A", &["+15550100021"]).await;
    a.lookup(&server, "+15550100021").await.unwrap();
    let policy = policy(&server, &a).await;
    let mut replica = Replica::new();
    sync(&server, &a, &policy, &mut replica).await.unwrap();
    let seen = replica.checkpoint().unwrap().clone();

    // The relay's own key signs a second head of the same size: a split view.
    let key_file = server.state.config.storage.data_dir.join("log.key");
    let signer = fxe_server::transparency::keyfile::load(&key_file, KeyKind::Log).unwrap();
    let origin = signer.key.name.clone();
    let forged = |size: u64, root: [u8; 32]| {
        let body = Checkpoint { origin: origin.clone(), size, root }.body();
        SignedNote { signatures: vec![sign_note(&body, &origin, signer.secret()).unwrap()], text: body }.format()
    };
    let split = policy.verify(&forged(seen.checkpoint.size, [7; 32]), now()).unwrap();
    assert!(matches!(replica.tiles_needed(&split), Err(LogError::Fork { .. })));
    let older = policy.verify(&forged(seen.checkpoint.size - 1, [7; 32]), now()).unwrap();
    assert!(matches!(replica.tiles_needed(&older), Err(LogError::Rollback { .. })));
    // A larger head whose entries do not lead to it: the replica refuses and stays as it was.
    let ahead = policy.verify(&forged(seen.checkpoint.size + 1, [7; 32]), now()).unwrap();
    let tiles = replica.tiles_needed(&ahead).unwrap();
    let mut bundles = Vec::new();
    for t in &tiles {
        // The relay has no entry there yet: the honest relay answers 404 for it.
        let (status, _, _) = get_raw(&server, &a, &format!("{LOG}/{}", t.path())).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let current = Tile { width: t.width - 1, ..*t };
        let (_, _, bytes) = get_raw(&server, &a, &format!("{LOG}/{}", current.path())).await;
        bundles.push((*t, bytes));
    }
    assert!(replica.advance(ahead, &bundles).is_err());
    assert_eq!(replica.checkpoint(), Some(&seen));
    server.stop().await;
}

/// A witness run in this process on a free port.
struct Witness {
    url: String,
    vkey: String,
    args: (std::path::PathBuf, std::path::PathBuf, String),
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Witness {
    async fn start(dir: &std::path::Path, name: &str, log_vkey: &str) -> Witness {
        let key = dir.join(format!("{name}.key"));
        let signer = NoteSigner::generate(&format!("{name}.test/w"), KeyKind::Witness).unwrap();
        fxe_server::transparency::keyfile::create(&key, &signer).unwrap();
        Self::run(key, dir.join(format!("{name}.db")), log_vkey.to_owned(), signer.key.vkey(), None).await
    }

    async fn run(
        key: std::path::PathBuf, db: std::path::PathBuf, log: String, vkey: String, port: Option<u16>,
    ) -> Witness {
        let listener = TcpListener::bind(("127.0.0.1", port.unwrap_or(0))).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let args = WitnessServeArgs { bind: addr, key: key.clone(), db: db.clone(), logs: vec![log.clone()] };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(args, listener, shutdown.clone()));
        Witness { url: format!("http://{addr}/"), vkey, args: (key, db, log), shutdown, task }
    }

    async fn stop(self) -> (std::path::PathBuf, std::path::PathBuf, String, String, u16) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
        let port = url::Url::parse(&self.url).unwrap().port().unwrap();
        (self.args.0, self.args.1, self.args.2, self.vkey, port)
    }
}

#[tokio::test]
async fn nothing_is_published_until_a_quorum_of_witnesses_cosigned() {
    let dir = tempfile::tempdir().unwrap();
    let log_key = dir.path().join("log.key");
    let signer = NoteSigner::generate("127.0.0.1/fxe/log", KeyKind::Log).unwrap();
    fxe_server::transparency::keyfile::create(&log_key, &signer).unwrap();
    let log_vkey = signer.key.vkey();
    let w1 = Witness::start(dir.path(), "one", &log_vkey).await;
    let w2 = Witness::start(dir.path(), "two", &log_vkey).await;
    let witnesses = vec![
        fxe_server::config::LogWitness { url: url::Url::parse(&w1.url).unwrap(), vkey: w1.vkey.clone() },
        fxe_server::config::LogWitness { url: url::Url::parse(&w2.url).unwrap(), vkey: w2.vkey.clone() },
    ];
    let server = TestServer::start_configured(|c| {
        c.log.key_file = Some(log_key.clone());
        c.log.witnesses = witnesses;
        c.log.quorum = 2;
    })
    .await;
    let a = TestOrg::redeem(&server, "Clinic A", &["+15550100031"]).await;
    let entry = a.lookup(&server, "+15550100031").await.expect("logged and cosigned");
    let policy = policy(&server, &a).await;
    assert_eq!((policy.quorum, policy.witnesses.len()), (2, 2));
    verify_directory(&policy, &entry, entry.log.as_ref().unwrap(), now()).expect("cosigned by both witnesses");
    let mut replica = Replica::new();
    sync(&server, &a, &policy, &mut replica).await.unwrap();
    let cp = replica.checkpoint().unwrap().clone();
    assert!(now() - cp.witnessed_at < 60);

    // One witness is down: new facts are logged but not published, so not answered.
    let (key, db, log, vkey, port) = w2.stop().await;
    let b = TestOrg::redeem(&server, "Clinic B", &["+15550100032"]).await;
    let (status, headers, body) = signed_call(&server, &a.api, "GET", &number_path("+15550100032"), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "log_pending");
    assert_eq!(headers["retry-after"], "2");
    let (_, _, note) = get_raw(&server, &a, &format!("{LOG}/checkpoint")).await;
    assert_eq!(String::from_utf8(note).unwrap(), cp.note, "the published checkpoint stays the witnessed one");

    // It comes back: the new checkpoint is cosigned, published, and the answer served.
    let w2 = Witness::run(key, db, log, vkey, Some(port)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, body) = signed_call(&server, &a.api, "GET", &number_path("+15550100032"), None).await;
        if status == StatusCode::OK {
            assert_eq!(body["org_id"], b.org_id());
            break;
        }
        assert!(Instant::now() < deadline, "the log never caught up: {status} {body}");
    }
    sync(&server, &a, &policy, &mut replica).await.unwrap();

    // A split view signed with the relay's key: each witness refuses it and keeps it.
    let size = replica.size();
    let body = Checkpoint { origin: signer.key.name.clone(), size, root: [9; 32] }.body();
    let note =
        SignedNote { signatures: vec![sign_note(&body, &signer.key.name, signer.secret()).unwrap()], text: body }
            .format();
    let http = reqwest::Client::new();
    for w in [&w1, &w2] {
        let req = AddCheckpoint { old_size: size, proof: vec![], note: note.clone() }.format();
        let res = http.post(format!("{}add-checkpoint", w.url)).body(req).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT, "{}", w.url);
    }
    // A rolled-back one: refused too.
    let older = Checkpoint { origin: signer.key.name.clone(), size: size - 1, root: [9; 32] }.body();
    let older =
        SignedNote { signatures: vec![sign_note(&older, &signer.key.name, signer.secret()).unwrap()], text: older }
            .format();
    let req = AddCheckpoint { old_size: size, proof: vec![], note: older }.format();
    let res = http.post(format!("{}add-checkpoint", w1.url)).body(req).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // And a client never takes a checkpoint without the quorum.
    assert!(matches!(policy.verify(&note, now()), Err(LogError::Quorum { have: 0, need: 2 })));

    server.stop().await;
    w1.stop().await;
    w2.stop().await;
}
