//! The sequencer: the one instance holding `cluster::Role::Log` writes the
//! log. At most every [`BATCH`] (sooner when a directory answer waits for
//! it), it compares the directory tables with the log and turns what is new
//! into facts (`fxe_protocol::transparency::Fact`): orgs' identities, bundles
//! (each org's active one last), numbers bound, numbers no longer held
//! released. `LogState::sequence` makes them the next valid entries; they and
//! the checkpoint the log key signs over them are stored in one transaction
//! that first checks no other instance appended meanwhile. The witnesses are
//! then asked to cosign; the checkpoint is published once a quorum has (at
//! once with quorum 0), and its cosignatures are renewed every half of the
//! policy's `max_age`.
//!
//! Because it compares tables with the log, every change to the directory is
//! logged whichever code path made it, and a relay that ran before the log
//! existed has its whole directory logged (backfilled) at its first start.
//! Reading every table each second would cost a relay of 10,000 orgs a third
//! of a core doing nothing, so a tick first reads the directory's change
//! counter (`db::orgs::directory_version`, bumped by every write of the
//! relay's to those tables, in the same transaction) and reads the tables only
//! when it moved, when a directory answer waits for the log, or every
//! [`READ_ANYWAY`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use fxe_protocol::transparency::Fact;
use fxe_protocol::transparency::checkpoint::Checkpoint;
use fxe_protocol::transparency::note::{SignedNote, sign_note};
use tokio_util::sync::CancellationToken;

use super::{View, witnesses};
use crate::cluster::Role;
use crate::db::transparency::{self as store, StoredCheckpoint};
use crate::db::{DbError, orgs};
use crate::state::AppState;

/// The longest a directory change waits to be logged.
pub const BATCH: Duration = Duration::from_secs(1);

/// The longest the sequencer goes without reading the directory tables, whatever the
/// change counter says: a change made to them by other means than the relay's storage
/// code (`db::orgs`, which bumps the counter) is logged within this.
pub const READ_ANYWAY: Duration = Duration::from_secs(30);

/// Starts the sequencer; it runs only while this instance holds the log role.
pub fn spawn(state: AppState, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seq = Sequencer {
            http: reqwest::Client::builder().build().unwrap_or_default(),
            known: witnesses::Known::default(),
            refused: BTreeSet::new(),
            read: None,
        };
        let mut nudged = true;
        loop {
            if state.cluster.leads(Role::Log).await {
                if let Err(e) = seq.tick(&state, nudged).await {
                    tracing::warn!(error = %e, "the transparency log's sequencer failed; trying again");
                }
            } else {
                seq.read = None;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = state.log.nudged() => nudged = true,
                () = tokio::time::sleep(BATCH) => nudged = false,
            }
        }
    })
}

struct Sequencer {
    http: reqwest::Client,
    known: witnesses::Known,
    /// Facts refused before (logged once, not every tick).
    refused: BTreeSet<String>,
    /// The directory's change counter when its tables last held nothing the log
    /// lacked, and when that was read: until the counter moves, a tick does not read
    /// the tables again (but at least every [`READ_ANYWAY`]).
    read: Option<(i64, Instant)>,
}

impl Sequencer {
    /// One batch: read what the directory tables hold that the log does not and log it.
    /// The tables are read when the relay's change counter moved since they last held
    /// nothing new, when a directory answer waits for the log (`nudged`), and at least
    /// every [`READ_ANYWAY`] (a change written by other means than the relay's storage
    /// code); otherwise a tick costs one small query whatever the directory's size.
    async fn tick(&mut self, state: &AppState, nudged: bool) -> Result<(), DbError> {
        let log = &state.log;
        log.refresh(&state.db).await?;
        // A checkpoint stored but not yet witnessed: ask again before adding more.
        if let Some(newest) = store::newest(&state.db).await?
            && !newest.witnessed
        {
            self.witness(state, newest).await?;
            return Ok(());
        }
        let version = orgs::directory_version(&state.db).await?;
        let unchanged = self.read.is_some_and(|(v, at)| v == version && at.elapsed() < READ_ANYWAY);
        if unchanged && !nudged {
            return self.renew(state).await;
        }
        let view = log.view();
        let facts = facts(&view, &state.db).await?;
        if !facts.is_empty() {
            // Read again next time: what was appended (here or by another instance) moves
            // the log on, and refused facts stay in the tables.
            self.read = None;
            self.append(state, &view, &facts).await?;
            return Ok(());
        }
        self.read = Some((version, Instant::now()));
        self.renew(state).await
    }

    /// Sequences `facts` after `view` and stores them with a signed checkpoint.
    async fn append(&mut self, state: &AppState, view: &View, facts: &[Fact]) -> Result<(), DbError> {
        let log = &state.log;
        let mut next = view.state().clone();
        let now = state.clock.unix_secs();
        let out = next.sequence(facts, now);
        for (fact, why) in &out.refused {
            let said = format!("{fact:?}: {why}");
            if self.refused.insert(said.clone()) {
                tracing::error!(fact = %said, "the directory holds a fact the transparency log's rules refuse; not logged");
            }
        }
        if out.entries.is_empty() {
            return Ok(());
        }
        let from = view.size();
        let body = Checkpoint { origin: log.origin().to_owned(), size: next.size(), root: next.root() }.body();
        let note = match sign_note(&body, log.origin(), log.signer().secret()) {
            Ok(sig) => SignedNote { text: body, signatures: vec![sig] },
            Err(e) => return Err(DbError::Query(sqlx::Error::Protocol(format!("cannot sign a checkpoint: {e}")))),
        };
        let cp = StoredCheckpoint { size: next.size(), note: note.format(), witnessed: log.policy().quorum == 0 };
        let mut tx = state.db.begin_write().await?;
        if store::size(&mut tx).await? != from {
            // Another instance appended: read it next time.
            tx.rollback().await?;
            return Ok(());
        }
        store::append(&mut tx, from, &out.entries).await?;
        store::insert_checkpoint(&mut tx, &cp, state.clock.now_secs()).await?;
        tx.commit().await?;
        tracing::info!(entries = out.entries.len(), size = cp.size, "transparency log: appended");
        log.refresh(&state.db).await?;
        if !cp.witnessed {
            self.witness(state, cp).await?;
        }
        Ok(())
    }

    /// Has the witnesses cosign `cp` and stores the note with what they gave; publishes
    /// it once a quorum cosigned.
    async fn witness(&mut self, state: &AppState, cp: StoredCheckpoint) -> Result<(), DbError> {
        let log = &state.log;
        let Ok(mut note) = SignedNote::parse(&cp.note) else {
            tracing::error!(size = cp.size, "a stored checkpoint does not parse");
            return Ok(());
        };
        let view = log.view();
        if view.size() < cp.size {
            return Ok(());
        }
        let log_key = log.signer().key.clone();
        let old: Vec<_> = note.signatures.iter().filter(|s| s.name != log_key.name).cloned().collect();
        note.signatures.retain(|s| s.name == log_key.name && s.key_id == log_key.key_id());
        if self.known_is_empty() {
            self.known_start(view.published_size());
        }
        let fresh =
            witnesses::cosign(&self.http, log.witnesses(), &mut self.known, view.state().tree(), &note, cp.size).await;
        // Fresh cosignatures replace a witness's older ones; the others are kept.
        let fresh_keys: BTreeSet<(String, u32)> = fresh.iter().map(|s| (s.name.clone(), s.key_id)).collect();
        for s in old {
            if !fresh_keys.contains(&(s.name.clone(), s.key_id)) {
                note.signatures.push(s);
            }
        }
        note.signatures.extend(fresh);
        let text = note.format();
        let witnessed = log.policy().verify_signatures(&text).is_ok();
        if !witnessed {
            tracing::warn!(
                size = cp.size,
                quorum = log.policy().quorum,
                "the log's witnesses did not cosign a quorum yet"
            );
        }
        store::update_checkpoint(&state.db, &StoredCheckpoint { size: cp.size, note: text, witnessed }).await?;
        log.refresh(&state.db).await
    }

    /// Asks the witnesses again for the published checkpoint when its quorum's
    /// cosignatures are half of `max_age` old.
    async fn renew(&mut self, state: &AppState) -> Result<(), DbError> {
        let log = &state.log;
        if log.policy().quorum == 0 {
            return Ok(());
        }
        let Some(published) = store::published(&state.db).await? else { return Ok(()) };
        let now = state.clock.unix_secs();
        let age = match log.policy().verify_signatures(&published.note) {
            Ok(cp) => now.saturating_sub(cp.witnessed_at),
            Err(_) => u64::MAX,
        };
        if age >= log.policy().max_age / 2 {
            self.witness(state, published).await?;
        }
        Ok(())
    }

    fn known_is_empty(&self) -> bool {
        self.known.is_empty()
    }

    fn known_start(&mut self, size: u64) {
        self.known.assume(size);
    }
}

/// What the directory tables say that the log (as `view` holds it) does not: facts
/// in the order the log's rules need (releases, then identities, bundles, bindings).
async fn facts(view: &View, db: &crate::db::Db) -> Result<Vec<Fact>, DbError> {
    let rows = orgs::directory_rows(db).await?;
    let log = view.state();
    let mut facts = Vec::new();
    // A number the log binds to an org that no longer holds it: released. One pass over
    // the log's numbers (a pass per org was quadratic: seconds a tick at 10,000 orgs),
    // in the orgs' order, then the numbers'.
    let held: BTreeMap<&str, &str> = rows.numbers.iter().map(|(n, o)| (n.as_str(), o.as_str())).collect();
    let position: BTreeMap<&str, usize> = rows.orgs.iter().enumerate().map(|(i, (o, _))| (o.as_str(), i)).collect();
    let mut released: Vec<(usize, &str, &str)> = log
        .bound_numbers()
        .filter(|(number, org_id)| held.get(number) != Some(org_id))
        .filter_map(|(number, org_id)| position.get(org_id).map(|&i| (i, number, org_id)))
        .collect();
    released.sort_unstable();
    for (_, number, org_id) in released {
        facts.push(Fact::Released { number: number.to_owned(), org_id: org_id.to_owned() });
    }
    for (org_id, identity) in &rows.orgs {
        if log.org(org_id).is_none() {
            match fxe_protocol::encoding::b64u_fixed::<32>("identity_pub", identity) {
                Ok(identity_pub) => facts.push(Fact::Identity { org_id: org_id.clone(), identity_pub }),
                Err(e) => tracing::error!(org_id = %org_id, error = %e, "an org's stored identity does not decode"),
            }
        }
    }
    for (bundle_id, _) in &rows.bundles {
        if !view.has_bundle(bundle_id)
            && let Some(bundle) = orgs::bundle_by_id(db, bundle_id).await?
        {
            facts.push(Fact::Bundle(bundle));
        }
    }
    for (number, org_id) in &rows.numbers {
        if log.number(number).and_then(|r| r.org_id.as_deref()) != Some(org_id.as_str()) {
            facts.push(Fact::Bound { number: number.clone(), org_id: org_id.clone() });
        }
    }
    Ok(facts)
}
