//! `fxe-server witness` over real HTTP (docs/transparency.md §8,
//! c2sp.org/tlog-witness): it cosigns checkpoints that extend what it saw,
//! answers each refusal with the status the spec gives it, keeps signed
//! forks as evidence, never rolls back under concurrent requests, and keeps
//! its state across a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{path::Path, process::Command};

use fxe_protocol::transparency::{
    Checkpoint, KeyKind, NoteKey, SignedNote, TrustPolicy,
    merkle::{self, MemoryTree},
    note::{NoteSigner, sign_note},
    witness::AddCheckpoint,
};
use fxe_server::witness::{WitnessServeArgs, serve, store::WitnessStore};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const ORIGIN: &str = "relay.test/fxe/log";
const BIN: &str = env!("CARGO_BIN_EXE_fxe-server");

struct Log {
    signer: NoteSigner,
    tree: MemoryTree,
}

impl Log {
    fn new(size: u64) -> Log {
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.push(merkle::leaf_hash(&i.to_be_bytes()));
        }
        Log { signer: NoteSigner::generate(ORIGIN, KeyKind::Log).unwrap(), tree }
    }

    fn note(&self, size: u64, root: merkle::Hash) -> String {
        let body = Checkpoint { origin: ORIGIN.into(), size, root }.body();
        let sig = sign_note(&body, ORIGIN, self.signer.secret()).unwrap();
        SignedNote { text: body, signatures: vec![sig] }.format()
    }

    fn request(&self, old: u64, new: u64) -> String {
        AddCheckpoint {
            old_size: old,
            proof: merkle::consistency_proof(&self.tree, old, new).unwrap(),
            note: self.note(new, self.tree.root_at(new).unwrap()),
        }
        .format()
    }
}

struct Running {
    url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(dir: &Path, log: &NoteKey) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/add-checkpoint", listener.local_addr().unwrap());
    let args = WitnessServeArgs {
        bind: listener.local_addr().unwrap(),
        key: dir.join("w.key"),
        db: dir.join("w.db"),
        logs: vec![log.vkey()],
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(args, listener, shutdown.clone()));
    Running { url, shutdown, task }
}

async fn post(http: &reqwest::Client, url: &str, body: String) -> (u16, String, String) {
    let r = http.post(url).body(body).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn the_witness_cosigns_only_what_extends_what_it_saw() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    // `init` writes a private key file and prints the verifier key; a second init refuses to overwrite it.
    let out = Command::new(BIN)
        .args(["witness", "init", "--name", "witness.test/w1", "--key"])
        .arg(dir.join("w.key"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let vkey = String::from_utf8(out.stdout).unwrap().lines().next().unwrap().to_owned();
    let wkey = NoteKey::from_vkey(&vkey).unwrap();
    assert_eq!(wkey.kind, KeyKind::Witness);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.join("w.key")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again =
        Command::new(BIN).args(["witness", "init", "--name", "x", "--key"]).arg(dir.join("w.key")).output().unwrap();
    assert!(!again.status.success());

    let log = Log::new(40);
    let w = start(&dir, &log.signer.key).await;
    let http = reqwest::Client::new();
    let policy = TrustPolicy { log: log.signer.key.vkey(), witnesses: vec![vkey.clone()], quorum: 1, max_age: 600 };
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();

    // First contact: old 0. The answer is a cosignature line that makes the checkpoint pass the policy.
    let (status, _, body) = post(&http, &w.url, log.request(0, 4)).await;
    assert_eq!(status, 200, "{body}");
    let cosigned = format!("{}{body}", log.note(4, log.tree.root_at(4).unwrap()));
    assert_eq!(policy.verify(&cosigned, now()).unwrap().checkpoint.size, 4);

    // The log believes an older size: 409 with the witness's size.
    let (status, ct, body) = post(&http, &w.url, log.request(0, 10)).await;
    assert_eq!((status, ct.as_str(), body.as_str()), (409, "text/x.tlog.size", "4\n"));
    assert_eq!(post(&http, &w.url, log.request(4, 10)).await.0, 200);
    // The same checkpoint again gets a fresh cosignature.
    assert_eq!(post(&http, &w.url, log.request(10, 10)).await.0, 200);

    // A fork: size 10 with another root (409), and a size 12 whose proof does not lead to it (422).
    let fork = AddCheckpoint { old_size: 10, proof: vec![], note: log.note(10, [7; 32]) }.format();
    assert_eq!(post(&http, &w.url, fork).await.0, 409);
    let mut bad = AddCheckpoint::parse(&log.request(10, 12)).unwrap();
    bad.note = log.note(12, [8; 32]);
    assert_eq!(post(&http, &w.url, bad.format()).await.0, 422);

    // Unknown log (404), not signed by the followed key (403), garbage (400), old beyond new (400).
    let stranger =
        Log { signer: NoteSigner::generate("other.test/log", KeyKind::Log).unwrap(), tree: MemoryTree::new() };
    let body = Checkpoint { origin: "other.test/log".into(), size: 0, root: merkle::empty_root() }.body();
    let note = SignedNote {
        text: body.clone(),
        signatures: vec![sign_note(&body, "other.test/log", stranger.signer.secret()).unwrap()],
    };
    assert_eq!(
        post(&http, &w.url, AddCheckpoint { old_size: 0, proof: vec![], note: note.format() }.format()).await.0,
        404
    );
    let impostor = Log { signer: NoteSigner::generate(ORIGIN, KeyKind::Log).unwrap(), tree: log.tree.clone() };
    assert_eq!(post(&http, &w.url, impostor.request(10, 12)).await.0, 403);
    assert_eq!(post(&http, &w.url, "hello".into()).await.0, 400);
    let mut beyond = AddCheckpoint::parse(&log.request(10, 12)).unwrap();
    beyond.old_size = 13;
    assert_eq!(post(&http, &w.url, beyond.format()).await.0, 400);

    // Racing requests from size 10 to many sizes: exactly one wins; the state never goes back.
    let mut racers = Vec::new();
    for new in 11..=20u64 {
        let (http, url, body) = (http.clone(), w.url.clone(), log.request(10, new));
        racers.push(tokio::spawn(async move { (new, post(&http, &url, body).await.0) }));
    }
    let mut winners = Vec::new();
    for r in racers {
        let (new, status) = r.await.unwrap();
        assert!(status == 200 || status == 409, "{new}: {status}");
        if status == 200 {
            winners.push(new);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let store = WitnessStore::open(&dir.join("w.db")).await.unwrap();
    assert_eq!(store.witnessed(ORIGIN).await.unwrap().unwrap().size, winners[0]);
    let evidence = store.evidence().await.unwrap();
    assert_eq!(evidence.iter().map(|e| e.status).collect::<Vec<_>>(), [409, 422]);
    assert!(evidence[0].request.contains(&log.note(10, [7; 32])));
    drop(store);

    // A restart keeps the state: the stale size is refused with the stored one.
    w.shutdown.cancel();
    w.task.await.unwrap().unwrap();
    let w = start(&dir, &log.signer.key).await;
    let (status, _, body) = post(&http, &w.url, log.request(10, 30)).await;
    assert_eq!((status, body), (409, format!("{}\n", winners[0])));
    assert_eq!(post(&http, &w.url, log.request(winners[0], 40)).await.0, 200);
    w.shutdown.cancel();
    w.task.await.unwrap().unwrap();

    // `evidence` prints what was kept.
    let out = Command::new(BIN).args(["witness", "evidence", "--db"]).arg(dir.join("w.db")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("refused 409") && text.contains("refused 422"), "{text}");
}
