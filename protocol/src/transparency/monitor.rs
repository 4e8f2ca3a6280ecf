//! An org watching the log for itself (docs/transparency.md §5): every new
//! entry about its identity or its numbers is classified as expected (it
//! made it) or an alert (it did not: a bundle it never made, a number
//! released or moved, its identity retired), and what it made but the log
//! does not hold after the grace time is an alert too (censoring). No I/O:
//! the caller passes what the org knows (from its keys.zip) and the entries
//! its replica just applied.

use super::entry::Entry;
use super::replica::Applied;
use super::state::LogState;
use serde::Serialize;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The org made this change (or it is one the operator makes for it, e.g. a number added).
    Notice,
    /// Someone other than the org changed its keys or numbers, or the relay withholds a change.
    Alert,
}

/// One thing a monitor reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Notice or alert.
    pub severity: Severity,
    /// A stable code: `identity_registered`, `bundle_published`, `foreign_bundle`,
    /// `number_bound`, `number_released`, `number_moved`, `identity_retired`,
    /// `bundle_not_logged`, `number_not_logged`.
    pub code: &'static str,
    /// The entry's index, when the finding is about an entry.
    pub index: Option<u64>,
    /// What happened, for a person.
    pub message: String,
}

/// What the org knows about itself, from its own keys (never from the relay).
#[derive(Clone, Debug)]
pub struct OwnOrg<'a> {
    /// The org's id.
    pub org_id: &'a str,
    /// Every bundle the org made: `(bundle_id, created_at)`.
    pub bundles: &'a [(String, u64)],
}

impl OwnOrg<'_> {
    fn made(&self, bundle_id: &str) -> bool {
        self.bundles.iter().any(|(id, _)| id == bundle_id)
    }
}

fn finding(severity: Severity, code: &'static str, index: u64, message: String) -> Finding {
    Finding { severity, code, index: Some(index), message }
}

/// Classifies the entries a sync applied: those naming the org, and a number released from
/// it that the same sync binds to another org.
pub fn watch(own: &OwnOrg<'_>, applied: &[Applied]) -> Vec<Finding> {
    use Severity::{Alert, Notice};
    let mine = |org: &str| org == own.org_id;
    let mut out = Vec::new();
    // Numbers released from this org earlier in this sync, and not bound back to it since.
    let mut released = std::collections::HashSet::new();
    for a in applied {
        let i = a.index;
        match &a.entry {
            Entry::Identity { org_id, .. } if mine(org_id) => {
                out.push(finding(
                    Notice,
                    "identity_registered",
                    i,
                    format!("the org's identity was logged (entry {i})"),
                ));
            }
            Entry::Bundle { bundle, .. } if mine(&bundle.org_id) => {
                if own.made(&bundle.bundle_id) {
                    out.push(finding(Notice, "bundle_published", i, format!("bundle {} was logged", bundle.bundle_id)));
                } else {
                    out.push(finding(
                        Alert,
                        "foreign_bundle",
                        i,
                        format!(
                            "bundle {} was logged for this org but is not in keys.zip: someone holding the \
                             org's identity key published it",
                            bundle.bundle_id
                        ),
                    ));
                }
            }
            Entry::NumberBound { number, org_id, .. } if mine(org_id) => {
                released.remove(number.as_str());
                out.push(finding(Notice, "number_bound", i, format!("{number} was bound to this org")));
            }
            Entry::NumberBound { number, org_id, .. } if released.contains(number.as_str()) => {
                out.push(finding(
                    Alert,
                    "number_moved",
                    i,
                    format!("{number}, released from this org, was bound to org {org_id}"),
                ));
            }
            Entry::NumberReleased { number, org_id, .. } if mine(org_id) => {
                released.insert(number.as_str());
                out.push(finding(
                    Alert,
                    "number_released",
                    i,
                    format!("{number} was released from this org: if no admin removed it, the relay did"),
                ));
            }
            Entry::IdentityRetired { org_id, .. } if mine(org_id) => {
                out.push(finding(
                    Alert,
                    "identity_retired",
                    i,
                    "the org's identity was retired (a re-invite): if nobody asked the operator for one, the \
                     relay replaced this org"
                        .to_owned(),
                ));
            }
            _ => {}
        }
    }
    out
}

/// What the org made that the log does not hold once `grace` seconds have passed
/// (`now` and the bundles' `created_at` are unix seconds): each is an alert that the relay
/// withholds it. `numbers` are the numbers the relay says the org holds now; one the log
/// does not bind to the org is withheld too.
pub fn withheld(own: &OwnOrg<'_>, numbers: &[String], log: &LogState, now: u64, grace: u64) -> Vec<Finding> {
    let logged = log.org(own.org_id);
    let mut out = Vec::new();
    for (id, created_at) in own.bundles {
        let in_log = logged.is_some_and(|o| o.bundles.iter().any(|b| &b.bundle_id == id));
        if !in_log && now.saturating_sub(*created_at) > grace {
            out.push(Finding {
                severity: Severity::Alert,
                code: "bundle_not_logged",
                index: None,
                message: format!(
                    "bundle {id} is in keys.zip but not in the log {} s after it was made",
                    now - created_at
                ),
            });
        }
    }
    for n in numbers {
        let bound = log.number(n).and_then(|r| r.org_id.as_deref()) == Some(own.org_id);
        if !bound {
            out.push(Finding {
                severity: Severity::Alert,
                code: "number_not_logged",
                index: None,
                message: format!("the relay says this org holds {n}, but the log does not bind it to the org"),
            });
        }
    }
    out
}

/// Every bundle the log holds for the org that the org did not make, from the whole log
/// rather than from one sync's entries: a monitor that could not tell its own bundles when
/// it applied them (the browser's, while the org's keys are locked) checks them all once
/// it can. Each is a `foreign_bundle` alert without an index.
pub fn foreign_bundles(own: &OwnOrg<'_>, log: &LogState) -> Vec<Finding> {
    let Some(logged) = log.org(own.org_id) else { return Vec::new() };
    logged
        .bundles
        .iter()
        .filter(|b| !own.made(&b.bundle_id))
        .map(|b| Finding {
            severity: Severity::Alert,
            code: "foreign_bundle",
            index: None,
            message: format!(
                "bundle {} is in the log for this org but not in keys.zip: someone holding the org's \
                 identity key published it",
                b.bundle_id
            ),
        })
        .collect()
}
