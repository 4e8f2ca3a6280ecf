//! The relay's key transparency log (docs/transparency.md): every directory
//! fact the relay attests (an org's identity, its bundles, which numbers it
//! holds) is an entry of an append-only Merkle log whose checkpoints the
//! relay signs and its witnesses cosign, so the relay cannot show one member
//! a key binding it does not show every member.
//!
//! * [`Log`] (in the app state): the log's key and policy, and this
//!   instance's [`View`] of the stored log: the entries replayed under the
//!   log's rules (`fxe_protocol::transparency::LogState`) and the newest
//!   published checkpoint. Every instance keeps it current from the database
//!   ([`Log::refresh`]); it serves the tiles and checkpoint (`api::transparency`)
//!   and gates directory answers ([`Log::backed`]): the relay answers only what a
//!   published checkpoint covers, so a binding is never served before it is logged.
//! * [`sequencer`]: one instance at a time (`cluster::Role::Log`) compares the
//!   directory tables with the log, appends what is new, signs a checkpoint
//!   and has the witnesses cosign it ([`witnesses`]).
//! * [`key`]: the log's signing key file and the check that every instance
//!   on a database has the same one. [`keyfile`]: the key file format, shared
//!   with `fxe-server witness`.
//!
//! The rules and formats are `fxe_protocol::transparency`'s; nothing here
//! decides what a valid entry, proof or checkpoint is.

pub mod key;
pub mod keyfile;
pub mod sequencer;
mod view;
pub mod witnesses;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use fxe_protocol::transparency::{NoteKey, TrustPolicy, note::NoteSigner};
use tokio::sync::{Notify, watch};

use crate::config::LogSettings;
use crate::db::{Db, DbError};

pub use view::View;

/// How long a directory answer waits for the log to cover it before it is
/// answered 503 `log_pending` (the sequencer's batch time, with a margin).
pub const GATE_WAIT: Duration = Duration::from_secs(3);

/// How often an instance reads what the sequencer wrote.
pub const REFRESH_EVERY: Duration = Duration::from_millis(500);

/// The relay's log: shared by every request and worker. Cheap to clone.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

struct Inner {
    signer: NoteSigner,
    policy: TrustPolicy,
    witnesses: Vec<witnesses::Target>,
    view: RwLock<Arc<View>>,
    /// The published size, for requests waiting on the log.
    published: watch::Sender<u64>,
    /// Wakes the sequencer (a directory answer waits for it).
    nudge: Notify,
    /// Serialises [`Log::refresh`] (the refresh task, the sequencer, waiting requests).
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("origin", &self.inner.signer.key.name).finish()
    }
}

/// A directory answer the published log does not cover yet.
#[derive(Debug, thiserror::Error)]
pub enum Gate {
    #[error("the transparency log does not cover this answer yet")]
    Pending,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Log {
    /// The log signed with `signer`, published with `settings`' witnesses and quorum.
    pub fn new(signer: NoteSigner, settings: &LogSettings) -> anyhow::Result<Log> {
        let mut targets = Vec::new();
        for w in &settings.witnesses {
            let key = NoteKey::from_vkey(&w.vkey).map_err(|e| anyhow::anyhow!("witness key {}: {e}", w.vkey))?;
            targets.push(witnesses::Target { url: w.url.clone(), key });
        }
        let policy = TrustPolicy {
            log: signer.key.vkey(),
            witnesses: targets.iter().map(|t| t.key.vkey()).collect(),
            quorum: u32::try_from(settings.quorum).unwrap_or(u32::MAX),
            max_age: settings.max_age,
        };
        Ok(Log {
            inner: Arc::new(Inner {
                signer,
                policy,
                witnesses: targets,
                view: RwLock::new(Arc::new(View::default())),
                published: watch::channel(0).0,
                nudge: Notify::new(),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The trust policy members pin (§4.1).
    pub fn policy(&self) -> &TrustPolicy {
        &self.inner.policy
    }

    /// The log's origin (its key's name).
    pub fn origin(&self) -> &str {
        &self.inner.signer.key.name
    }

    /// This instance's view now (a snapshot: it does not change under the caller).
    pub fn view(&self) -> Arc<View> {
        match self.inner.view.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_view(&self, view: View) {
        let published = view.published_size();
        let view = Arc::new(view);
        match self.inner.view.write() {
            Ok(mut v) => *v = view,
            Err(poisoned) => *poisoned.into_inner() = view,
        }
        self.inner.published.send_replace(published);
    }

    /// Reads the entries and the published checkpoint the sequencer stored since the
    /// last refresh. An entry that breaks the log's rules, or a checkpoint that does not
    /// match the entries, is never taken: the view stays where it was (and says why).
    pub async fn refresh(&self, db: &Db) -> Result<(), DbError> {
        let _one = self.inner.refreshing.lock().await;
        let current = self.view();
        let mut next: Option<View> = None;
        loop {
            let from = next.as_ref().map_or(current.size(), View::size);
            let batch = crate::db::transparency::entries_from(db, from).await?;
            if batch.is_empty() {
                break;
            }
            let full = u64::try_from(batch.len()).unwrap_or(u64::MAX) >= crate::db::transparency::READ_BATCH;
            let v = next.get_or_insert_with(|| (*current).clone());
            if let Err(e) = v.append(batch) {
                tracing::error!(error = %e, "the stored transparency log breaks its rules; serving it no further");
                break;
            }
            if !full {
                break;
            }
        }
        let base = next.as_ref().unwrap_or(&current);
        if let Some(stored) = crate::db::transparency::published(db).await?
            && base.published_note() != Some(stored.note.as_str())
        {
            let v = next.get_or_insert_with(|| (*current).clone());
            if let Err(e) = v.publish(&self.inner.policy, &stored.note) {
                tracing::error!(error = %e, size = stored.size, "a stored checkpoint does not check; not serving it");
            }
        }
        if let Some(v) = next {
            self.set_view(v);
        }
        Ok(())
    }

    /// Keeps this instance's view current until `shutdown`.
    pub fn spawn_refresh(&self, db: Db, shutdown: tokio_util::sync::CancellationToken) -> tokio::task::JoinHandle<()> {
        let log = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = log.refresh(&db).await {
                    tracing::warn!(error = %e, "cannot read the transparency log");
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(REFRESH_EVERY) => {}
                }
            }
        })
    }

    /// Loads an answer with `load` and returns it, with the view that covers it, once
    /// `covered` says the published log covers it, loading again whenever the log moves
    /// on; [`Gate::Pending`] after [`GATE_WAIT`]. `load` answers `Ok(None)` for "no such
    /// thing" (passed through).
    pub async fn backed<T, F>(
        &self, load: impl Fn() -> F, covered: impl Fn(&View, &T) -> bool,
    ) -> Result<Option<(T, Arc<View>)>, Gate>
    where
        F: std::future::Future<Output = Result<Option<T>, DbError>>,
    {
        let deadline = tokio::time::Instant::now() + GATE_WAIT;
        let mut changes = self.inner.published.subscribe();
        loop {
            changes.borrow_and_update();
            let Some(answer) = load().await? else { return Ok(None) };
            let view = self.view();
            if covered(&view, &answer) {
                return Ok(Some((answer, view)));
            }
            // Not covered yet: wake the sequencer (if it runs here), then wait for this
            // instance's view to move on (the refresh task reads what any sequencer wrote).
            self.inner.nudge.notify_one();
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(Gate::Pending);
            }
            let _ = tokio::time::timeout(left.min(REFRESH_EVERY), changes.changed()).await;
        }
    }

    pub(crate) fn signer(&self) -> &NoteSigner {
        &self.inner.signer
    }

    pub(crate) fn witnesses(&self) -> &[witnesses::Target] {
        &self.inner.witnesses
    }

    pub(crate) fn nudged(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.nudge.notified()
    }
}
