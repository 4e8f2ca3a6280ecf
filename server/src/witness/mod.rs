//! `fxe-server witness`: a transparency-log witness (c2sp.org/tlog-witness,
//! docs/transparency.md §8) that any member org can run next to its own
//! systems. It follows the relay logs it is given by verifier key, keeps the
//! last checkpoint it cosigned for each in SQLite, cosigns only checkpoints
//! that extend it, and keeps the signed checkpoints it refuses as evidence.
//! The decision itself is `fxe_protocol::transparency::witness`.

pub mod store;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::Context;
use axum::{
    Router,
    body::Body,
    extract::{DefaultBodyLimit, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use fxe_protocol::transparency::{
    KeyKind, NoteKey,
    note::{MAX_NOTE_LEN, NoteSigner},
    witness::{AddCheckpoint, Refusal, Witness},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::ConnectionLimits;
use store::{Evidence, WitnessStore, Witnessed};

/// The largest request: the note, 63 proof lines and the old size line.
const MAX_REQUEST: usize = MAX_NOTE_LEN + 63 * 46 + 32;

/// `fxe-server witness …`.
#[derive(Debug, clap::Subcommand)]
pub enum WitnessCommand {
    /// Create the witness's signing key in a new file (readable only by you) and print its
    /// verifier key, to give the relay's operator and your members.
    Init {
        /// The witness's name, a schema-less URL (e.g. witness.clinic.example/fxe).
        #[arg(long)]
        name: String,
        /// Where to write the private key; the file must not exist.
        #[arg(long, default_value = "fxe-witness.key")]
        key: PathBuf,
    },
    /// Print the verifier key and fingerprint of a key file.
    Show {
        /// The private key file.
        #[arg(long, default_value = "fxe-witness.key")]
        key: PathBuf,
    },
    /// Serve `POST /add-checkpoint` until SIGINT or SIGTERM.
    Serve(WitnessServeArgs),
    /// Print the refused, validly signed checkpoints kept as evidence of a fork.
    Evidence {
        /// The witness's database.
        #[arg(long, env = "FXE_WITNESS_DB", default_value = "fxe-witness.db")]
        db: PathBuf,
    },
}

/// `fxe-server witness serve`.
#[derive(Debug, clap::Args)]
pub struct WitnessServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FXE_WITNESS_BIND", default_value = "127.0.0.1:3100")]
    pub bind: SocketAddr,
    /// The private key file (`fxe-server witness init`).
    #[arg(long, env = "FXE_WITNESS_KEY", default_value = "fxe-witness.key")]
    pub key: PathBuf,
    /// The witness's database (created if missing).
    #[arg(long, env = "FXE_WITNESS_DB", default_value = "fxe-witness.db")]
    pub db: PathBuf,
    /// A log to follow, by its verifier key (`origin+keyid+key`); repeat for several.
    #[arg(long = "log", env = "FXE_WITNESS_LOGS", value_delimiter = ',', required = true)]
    pub logs: Vec<String>,
}

/// Runs a witness command.
pub async fn run(cmd: WitnessCommand) -> anyhow::Result<()> {
    match cmd {
        WitnessCommand::Init { name, key } => {
            let signer = NoteSigner::generate(&name, KeyKind::Witness).map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::transparency::keyfile::create(&key, &signer)?;
            print_key(&signer.key);
            Ok(())
        }
        WitnessCommand::Show { key } => {
            print_key(&load_key(&key)?.key);
            Ok(())
        }
        WitnessCommand::Evidence { db } => {
            let store = WitnessStore::open(&db).await.with_context(|| format!("cannot open {}", db.display()))?;
            let evidence = store.evidence().await?;
            if evidence.is_empty() {
                println!("No evidence: every checkpoint signed by a followed log was consistent.");
            }
            for e in evidence {
                println!("== {} at {} (refused {}: {})\n{}", e.origin, e.received_at, e.status, e.reason, e.request);
                if let Some(last) = e.last_note {
                    println!("-- the checkpoint cosigned before:\n{last}");
                }
            }
            Ok(())
        }
        WitnessCommand::Serve(args) => {
            let shutdown = CancellationToken::new();
            tokio::spawn(crate::cancel_on_signal(shutdown.clone()));
            let listener =
                TcpListener::bind(args.bind).await.with_context(|| format!("cannot listen on {}", args.bind))?;
            serve(args, listener, shutdown).await
        }
    }
}

fn print_key(key: &NoteKey) {
    println!("{}", key.vkey());
    println!("fingerprint: {}", key.fingerprint());
}

fn load_key(path: &std::path::Path) -> anyhow::Result<NoteSigner> {
    crate::transparency::keyfile::load(path, KeyKind::Witness)
        .context("make a witness key with `fxe-server witness init`")
}

struct WitnessState {
    signer: NoteSigner,
    logs: Vec<NoteKey>,
    store: WitnessStore,
}

/// Serves the witness on `listener` until `shutdown` is cancelled.
pub async fn serve(args: WitnessServeArgs, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    let signer = load_key(&args.key)?;
    let mut logs = Vec::new();
    for l in &args.logs {
        let k = NoteKey::from_vkey(l.trim()).map_err(|e| anyhow::anyhow!("--log {l:?}: {e}"))?;
        if k.kind != KeyKind::Log {
            anyhow::bail!("--log {l:?} is a witness key, not a log key");
        }
        logs.push(k);
    }
    let store = WitnessStore::open(&args.db).await.with_context(|| format!("cannot open {}", args.db.display()))?;
    tracing::info!(
        address = %args.bind, witness = %signer.key.vkey(), logs = logs.len(),
        "fxe witness listening"
    );
    let state = Arc::new(WitnessState { signer, logs, store });
    let router = Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(state);
    crate::http::server::serve(listener, router, ConnectionLimits::default(), shutdown).await;
    Ok(())
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], Body::from(body)).into_response()
}

fn refused(r: &Refusal) -> Response {
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
    match r {
        Refusal::SizeConflict { size } => text(status, "text/x.tlog.size", format!("{size}\n")),
        Refusal::BadRequest(why) | Refusal::Forbidden(why) => {
            text(status, "text/plain; charset=utf-8", format!("{why}\n"))
        }
        Refusal::UnknownLog(origin) => {
            text(status, "text/plain; charset=utf-8", format!("this witness does not follow the log {origin}\n"))
        }
        Refusal::RootConflict => text(
            status,
            "text/plain; charset=utf-8",
            "a checkpoint of this size with another root was cosigned before: kept as evidence\n".into(),
        ),
        Refusal::BadProof => text(
            status,
            "text/plain; charset=utf-8",
            "the consistency proof does not verify against the last cosigned checkpoint: kept as evidence\n".into(),
        ),
    }
}

fn unavailable(e: &sqlx::Error) -> Response {
    tracing::error!(error = %e, "the witness database failed");
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/plain; charset=utf-8",
        "the witness's storage failed; try again\n".into(),
    )
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

async fn add_checkpoint(State(w): State<Arc<WitnessState>>, body: String) -> Response {
    let req = match AddCheckpoint::parse(&body) {
        Ok(r) => r,
        Err(r) => return refused(&r),
    };
    let Some(origin) = Witness::origin_of(&req) else {
        return refused(&Refusal::BadRequest("the checkpoint does not parse".into()));
    };
    let mut tx = match w.store.begin().await {
        Ok(tx) => tx,
        Err(e) => return unavailable(&e),
    };
    let last = match tx.witnessed(&origin).await {
        Ok(l) => l,
        Err(e) => return unavailable(&e),
    };
    let witness = Witness { name: &w.signer.key.name, key: w.signer.secret(), logs: &w.logs };
    let now = now();
    match witness.add_checkpoint(&req, last.as_ref().map(|l| (l.size, l.root)), now) {
        Ok(accepted) => {
            let state = Witnessed { size: accepted.checkpoint.size, root: accepted.checkpoint.root, note: req.note };
            if let Err(e) = tx.accept(&origin, &state, now).await {
                return unavailable(&e);
            }
            tracing::info!(origin = %origin, size = state.size, "cosigned");
            text(StatusCode::OK, "text/plain; charset=utf-8", accepted.cosignature.line())
        }
        Err(r) => {
            let kept = if r.is_evidence() {
                tracing::warn!(origin = %origin, status = r.status(), "refused a signed checkpoint: kept as evidence of a fork");
                tx.keep_evidence(&Evidence {
                    origin,
                    received_at: now,
                    status: r.status(),
                    reason: format!("{r:?}"),
                    request: body,
                    last_note: last.map(|l| l.note),
                })
                .await
            } else {
                tx.finish().await
            };
            match kept {
                Ok(()) => refused(&r),
                Err(e) => unavailable(&e),
            }
        }
    }
}
