//! `fxe-client` against a relay that publishes its key transparency log
//! (docs/transparency.md), and against one made dishonest: a relay in front
//! of the real one (a proxy in this test) that substitutes a number's keys at
//! first contact or rolls its log back, and a relay whose database moves a
//! number. The sender refuses what the log does not back; the owner's
//! monitor alerts on what the log shows it did not do.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::{Arc, Mutex};

use axum::{body::Body, extract::State, http::Request, response::Response};
use common::{Org, Relay, pdf_bytes};
use fxe_protocol::api::DirectoryEntry;

/// What the dishonest relay does to the real one's answers.
#[derive(Default)]
struct Rig {
    /// The directory path whose answer is replaced, and the answer given instead.
    substitute: Option<(String, String)>,
    /// The checkpoint served instead of the real one.
    checkpoint: Option<String>,
    /// The last real checkpoint seen.
    last_checkpoint: Option<String>,
}

struct Proxy {
    url: String,
    rig: Arc<Mutex<Rig>>,
    _rt: tokio::runtime::Runtime,
}

async fn forward(State((upstream, rig)): State<(String, Arc<Mutex<Rig>>)>, req: Request<Body>) -> Response {
    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut out = reqwest::Client::new().request(method, format!("{upstream}{path}"));
    for (k, v) in req.headers() {
        if k != "host" {
            out = out.header(k.as_str(), v.as_bytes());
        }
    }
    let body = axum::body::to_bytes(req.into_body(), usize::MAX).await.unwrap();
    let res = out.body(body).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let mut bytes = res.bytes().await.unwrap().to_vec();
    {
        let mut rig = rig.lock().unwrap();
        if path.ends_with("/transparency/checkpoint") && status == 200 {
            rig.last_checkpoint = Some(String::from_utf8(bytes.clone()).unwrap());
            if let Some(c) = &rig.checkpoint {
                bytes = c.clone().into_bytes();
            }
        }
        if let Some((p, answer)) = &rig.substitute
            && p == &path
        {
            bytes = answer.clone().into_bytes();
        }
    }
    let mut r = Response::builder().status(status);
    for (k, v) in &headers {
        if k != "content-length" && k != "transfer-encoding" {
            r = r.header(k.as_str(), v.as_bytes());
        }
    }
    r.body(Body::from(bytes)).unwrap()
}

impl Proxy {
    fn start(relay: &Relay) -> Proxy {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let rig = Arc::new(Mutex::new(Rig::default()));
        let app = axum::Router::new().fallback(forward).with_state((relay.base_url.clone(), rig.clone()));
        rt.spawn(async move { axum::serve(listener, app).await });
        Proxy { url, rig, _rt: rt }
    }
}

/// What the relay's own directory says about `number`.
fn directory_entry(relay: &Relay, number: &str) -> DirectoryEntry {
    relay.block_on(async {
        let mut conn = relay.state().db.pool().acquire().await.unwrap();
        let org = fxe_server::db::orgs::owner_of(&mut conn, number).await.unwrap().unwrap();
        let bundle = fxe_server::db::orgs::active_bundle(&mut conn, &org.org_id).await.unwrap().unwrap();
        DirectoryEntry {
            number: number.to_owned(),
            org_id: org.org_id,
            org_name: org.org_name,
            identity_pub: org.identity_pub,
            bundle,
            log: None,
        }
    })
}

#[test]
fn a_sender_refuses_keys_the_log_does_not_back_even_at_first_contact() {
    let relay = Relay::start();
    let proxy = Proxy::start(&relay);
    let sender = Org::redeem_at(&relay, &proxy.url, "Sender", "+15550000101");
    let victim = Org::redeem(&relay, "Victim", "+15550000102");
    let mallory = Org::redeem(&relay, "Mallory", "+15550000103");

    // redeem pinned the relay's trust policy and printed its fingerprint.
    let status = sender.run(&["log", "status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let fingerprint = relay.state().log.policy().fingerprint();
    assert!(status.stdout.contains(&fingerprint), "{}", status.stdout);

    // Honest answers check against the sender's replica.
    let r = sender.run(&["lookup", "+15550000102", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["org_id"], victim.org_id);

    // The relay hands the sender Mallory's keys for the victim's number, at first contact
    // for this number's owner: well-formed, self-consistent, and not what the log says.
    let mut forged = directory_entry(&relay, "+15550000103");
    forged.number = "+15550000102".into();
    let other = Org::redeem_at(&relay, &proxy.url, "Other sender", "+15550000104");
    proxy.rig.lock().unwrap().substitute =
        Some(("/api/v1/directory/%2B15550000102".into(), serde_json::to_string(&forged).unwrap()));
    let r = other.run(&["lookup", "+15550000102"]);
    assert_eq!(r.code, 4, "refused as a pin/log failure: {}", r.stderr);
    assert!(r.stderr.contains("transparency log"), "{}", r.stderr);
    std::fs::write(other.path().join("scan.pdf"), pdf_bytes(3_000, 1)).unwrap();
    let r = other.run(&["send", "--to", "+15550000102", "--from", "+15550000104", "scan.pdf"]);
    assert_eq!(r.code, 4, "nothing is sealed to unlogged keys: {}", r.stderr);
    let inbox = mallory.run(&["inbox", "--json"]);
    assert_eq!(inbox.code, 0, "{}", inbox.stderr);
    assert!(!inbox.stdout.contains("+15550000104"), "Mallory received nothing: {}", inbox.stdout);
    proxy.rig.lock().unwrap().substitute = None;

    // The relay shows an older checkpoint than one the sender saw: a rollback, kept as evidence.
    let old = proxy.rig.lock().unwrap().last_checkpoint.clone().unwrap();
    let _late = Org::redeem(&relay, "Late", "+15550000105");
    let r = sender.run(&["lookup", "+15550000105"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    proxy.rig.lock().unwrap().checkpoint = Some(old);
    let r = sender.run(&["log", "sync"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("rolled"), "{}", r.stderr);
    let evidence = std::fs::read_dir(sender.path().join("fxe-log/evidence")).unwrap().count();
    assert_eq!(evidence, 1);
    proxy.rig.lock().unwrap().checkpoint = None;
    let r = sender.run(&["log", "sync"]);
    assert_eq!(r.code, 0, "the honest log syncs again: {}", r.stderr);
}

#[test]
fn the_owner_monitor_alerts_when_the_relay_moves_its_number() {
    let relay = Relay::start();
    let victim = Org::redeem(&relay, "Victim", "+15550000111");
    let mallory = Org::redeem(&relay, "Mallory", "+15550000112");
    let r = victim.run(&["monitor"]);
    assert_eq!(r.code, 0, "nothing to alert on: {} {}", r.stdout, r.stderr);

    // The relay's database is edited: the victim's number routes to Mallory.
    relay.block_on(async {
        sqlx::query("UPDATE numbers SET org_id = $1 WHERE number = $2")
            .bind(&mallory.org_id)
            .bind("+15550000111")
            .execute(relay.state().db.pool())
            .await
            .unwrap();
    });
    // A sender now gets Mallory's keys for the number: the relay had to log that ...
    let sender = Org::redeem(&relay, "Sender", "+15550000113");
    let r = sender.run(&["lookup", "+15550000111", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["org_id"], mallory.org_id);
    // ... and the victim's monitor says so at its next run.
    let r = victim.run(&["monitor", "--json"]);
    assert_eq!(r.code, 4, "{} {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("number_moved") || r.stdout.contains("number_released"), "{}", r.stdout);
}
