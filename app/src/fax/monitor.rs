//! The org watching the relay's transparency log for itself, in the browser
//! (docs/transparency.md §5, docs/web.md "The log monitor"): what
//! `fxe-client monitor` does, each time a member opens the dashboard.
//!
//! The tab's replica (`fax::log_replica`, shared with the send page's
//! lookups) is synced to the relay's newest checkpoint; the entries past the
//! last one this browser's monitor read are classified by what they say
//! about the org (`monitor::watch`). With the org's keys unlocked in the tab
//! it also checks every bundle the log holds for the org against keys.zip
//! (`monitor::foreign_bundles`) and what keys.zip holds that the log does not
//! (`monitor::withheld`); the numbers the relay says the org holds are
//! checked either way. The decisions are `fxe_protocol`'s; this module
//! remembers how far it read and which alerts a person has seen.
//!
//! Alerts found in entries are kept (local storage, `fxe-log-alerts/{org_id}`,
//! with the index the monitor has read up to) until a member dismisses them.

use fxe_protocol::api::{NumberStatus, Org};
use fxe_protocol::transparency::monitor::{self, Finding, OwnOrg, Severity};
use fxe_protocol::transparency::{Applied, Entry, LogError};
use serde::{Deserialize, Serialize};

use super::log_replica::{self, Outcome};
use super::transparency::{self, LogCheck};
use crate::browser::{
    files, http,
    storage::{self, Area},
};

/// How long a change may take to reach the log before it counts as withheld (seconds):
/// the CLI monitor's default.
const GRACE_SECS: u64 = 60;

/// How long to wait before asking again about a number the log does not bind yet: the
/// relay sequences within 2 s (docs/transparency.md §2.2), plus a margin.
const BATCH_WAIT_MS: i32 = 2500;

/// An alert as the dashboard shows and keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The finding's code (`number_released`, `foreign_bundle`, …).
    pub code: String,
    /// The log entry it is about, if any.
    pub index: Option<u64>,
    pub message: String,
}

impl Alert {
    fn of(f: &Finding) -> Alert {
        Alert { code: f.code.to_owned(), index: f.index, message: f.message.clone() }
    }
}

/// What one run of the monitor found.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
    /// The relay publishes no log (or no checkpoint yet): nothing to watch.
    NoLog,
    /// The log was read up to `size` entries.
    Checked {
        size: u64,
        /// The alerts not dismissed yet, oldest first.
        alerts: Vec<Alert>,
        /// Whether the org's bundles were checked (its keys were unlocked).
        bundles_checked: bool,
    },
    /// The log itself failed a check (a forged or stale checkpoint, a rollback, a fork, an
    /// invalid entry): the relay may be showing different people different keys.
    Broken {
        message: String,
        /// For a rollback or a fork: the checkpoint seen before and the one offered now.
        evidence: Option<(String, String)>,
    },
}

fn broken(e: LogError) -> Report {
    let evidence = match &e {
        LogError::Rollback { seen, offered } | LogError::Fork { seen, offered } => {
            Some((seen.clone(), offered.clone()))
        }
        _ => None,
    };
    Report::Broken { message: e.to_string(), evidence }
}

/// The entries from index `from` on, decoded (the replica checked them all).
fn applied_from(entries: &[Vec<u8>], from: u64) -> Vec<Applied> {
    (0u64..)
        .zip(entries)
        .skip(usize::try_from(from).unwrap_or(usize::MAX))
        .filter_map(|(index, bytes)| Entry::decode(bytes).ok().map(|entry| Applied { index, entry }))
        .collect()
}

/// What this browser keeps about the monitor's alerts for one org.
#[derive(Default, Serialize, Deserialize)]
struct Kept {
    /// How many of the log's entries the monitor has read (their alerts are in `open`).
    #[serde(default)]
    read: u64,
    /// Alerts found in entries, not dismissed yet.
    open: Vec<Alert>,
    /// Alerts a member dismissed (their messages), so that a standing one (a foreign
    /// bundle, a withheld number) is not shown again.
    dismissed: Vec<String>,
}

fn alerts_key(org_id: &str) -> String {
    format!("fxe-log-alerts/{org_id}")
}

fn kept(org_id: &str) -> Kept {
    storage::get(Area::Browser, &alerts_key(org_id)).and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

fn keep(org_id: &str, kept: &Kept) -> Result<(), String> {
    let text = serde_json::to_string(kept).map_err(|e| e.to_string())?;
    storage::set(Area::Browser, &alerts_key(org_id), &text)
}

/// Runs the monitor for `org_id`. `bundles`: every bundle the org made, from its unlocked
/// keys.zip (`(bundle_id, created_at)`), or `None` while its keys are locked.
pub async fn run(org_id: &str, bundles: Option<Vec<(String, u64)>>) -> Result<Report, String> {
    let policy = match transparency::pinned_policy(org_id).await {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(Report::NoLog),
        Err(LogCheck::Behind(e)) => return Ok(broken(e)),
        Err(LogCheck::Refused(m) | LogCheck::Storage(m)) => return Err(m),
    };
    let made = bundles.clone().unwrap_or_default();
    let own = OwnOrg { org_id, bundles: &made };
    let org: Org = http::get("/org").await.map_err(|f| f.message)?;
    let held: Vec<String> =
        org.numbers.iter().filter(|n| n.status == NumberStatus::Active).map(|n| n.number.clone()).collect();
    let mut kept = kept(org_id);
    let read_from = kept.read;
    // The new entries' alerts (bundle entries are judged against the whole log below, with
    // the keys at hand), what is withheld, and the foreign bundles.
    let check_bundles = bundles.is_some();
    let look = |force: bool| {
        let (own, held) = (&own, &held);
        log_replica::synced(org_id, &policy, 0, force, move |replica, entries| {
            let new: Vec<Alert> = monitor::watch(own, &applied_from(entries, read_from))
                .iter()
                .filter(|f| f.severity == Severity::Alert && f.code != "foreign_bundle")
                .map(Alert::of)
                .collect();
            let withheld = monitor::withheld(own, held, replica.state(), files::now_secs(), GRACE_SECS);
            let foreign = if check_bundles { monitor::foreign_bundles(own, replica.state()) } else { Vec::new() };
            (replica.size(), new, withheld, foreign)
        })
    };
    let mut outcome = look(true).await?;
    // A number just added (a redemption, an approval) may be a batch away from the log.
    if let Outcome::Ready((_, _, withheld, _)) = &outcome
        && withheld.iter().any(|f| f.code == "number_not_logged")
    {
        files::sleep(BATCH_WAIT_MS).await;
        outcome = look(true).await?;
    }
    let (size, new, withheld, foreign) = match outcome {
        Outcome::NoLog => return Ok(Report::NoLog),
        Outcome::Broken(e) => return Ok(broken(e)),
        Outcome::Ready(found) => found,
    };
    // Another run (the keys unlocked during this one) may have read the same entries.
    kept = self::kept(org_id);
    for a in new {
        if !kept.open.contains(&a) {
            kept.open.push(a);
        }
    }
    kept.read = kept.read.max(size);
    keep(org_id, &kept)?;
    // Standing conditions, shown while they hold.
    let standing = withheld.iter().chain(foreign.iter()).map(Alert::of);
    let alerts = kept.open.iter().cloned().chain(standing.filter(|a| !kept.dismissed.contains(&a.message))).collect();
    Ok(Report::Checked { size, alerts, bundles_checked: bundles.is_some() })
}

/// A member read `alerts` and dismissed them: they are not shown again.
pub fn dismiss(org_id: &str, alerts: &[Alert]) -> Result<(), String> {
    let mut kept = kept(org_id);
    kept.open.retain(|a| !alerts.contains(a));
    for a in alerts {
        if !kept.dismissed.contains(&a.message) {
            kept.dismissed.push(a.message.clone());
        }
    }
    keep(org_id, &kept)
}
