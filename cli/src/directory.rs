//! Who is on the network, verified: every directory answer is checked
//! identity → bundle → org id and against the pin store (PROTOCOL.md §3)
//! before anything is sealed to it or opened from it.

use crate::error::{CliError, Result, exit};
use crate::http::{Relay, encode};
use crate::state::State;
use fxe_protocol::api::{DirectoryEntry, OrgBundles, OrgPublic};
use fxe_protocol::bundle::Bundle;
use fxe_protocol::directory::{self, NumberOwner, OrgKeys};
use fxe_protocol::ids;
use fxe_protocol::pins::PinStatus;
use serde_json::{Value, json};

/// A verified answer: who holds a number (or an org by id) and its active bundle.
#[derive(Clone, Debug)]
pub struct Verified {
    pub number: Option<String>,
    pub org_id: String,
    pub org_name: String,
    pub identity_pub: [u8; 32],
    pub bundle: Bundle,
    pub first_contact: bool,
}

impl Verified {
    pub fn fingerprint(&self) -> String {
        ids::fingerprint(&self.identity_pub)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "on_network": true,
            "number": self.number,
            "org_id": self.org_id,
            "org_name": self.org_name,
            "fingerprint": self.fingerprint(),
            "bundle_id": self.bundle.bundle_id,
            "bundle_created_at": self.bundle.created_at,
            "first_contact": self.first_contact,
        })
    }
}

fn unverifiable(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(exit::ERROR, "bad_directory_answer", format!("the relay's answer for {what} does not verify: {e}"))
        .with_hint("the relay may be faulty or hostile; nothing was sent or opened")
}

/// The hint printed with a pin failure.
fn trust_hint(target: &str, offered_fingerprint: &str) -> String {
    format!(
        "if the organization confirms the new fingerprint out of band, run:\n  fxe-client trust {target} --fingerprint {offered_fingerprint}"
    )
}

/// Checks an answer against the pins and records it; a change stops with exit 4.
fn check_pins(
    state: &State, number: Option<&str>, target: &str, identity_pub: &[u8; 32], bundle: &Bundle,
) -> Result<bool> {
    let mut pins = state.load_pins()?;
    let before = pins.clone();
    let status = pins.check_and_record(number, identity_pub, bundle).map_err(|e| {
        CliError::new(exit::PIN, "pin_mismatch", e.to_string())
            .with_hint(trust_hint(target, &ids::fingerprint(identity_pub)))
    })?;
    if pins != before {
        state.save_pins(&pins)?;
    }
    Ok(status == PinStatus::FirstContact)
}

/// The raw directory answer, verified (identity → bundle → org) and, when the org pinned
/// the relay's log policy, against its synced replica of the log; not yet pinned.
fn directory_entry(relay: &Relay, state: &State, number: &str) -> Result<Option<NumberOwner>> {
    let fetch = || -> Result<Option<DirectoryEntry>> {
        match relay.get(&format!("/directory/{}", encode(number))) {
            Ok(e) => Ok(Some(e)),
            Err(e) if e.kind == "not_on_network" => Ok(None),
            Err(e) => Err(e),
        }
    };
    // The answer is checked on its own first (no network), then against the log.
    let verified = |e: &DirectoryEntry| directory::verify_entry(number, e.clone()).map_err(|e| unverifiable(number, e));
    let Some(entry) = fetch()? else {
        return Ok(None);
    };
    let owner = verified(&entry)?;
    let logged =
        |e: &DirectoryEntry, force: bool| state.log.check(&state.dir, relay, force, |log| log.check_directory(e));
    match logged(&entry, false) {
        // A rotation may land between the answer and the sync: ask once more, synced anew
        // after the relay's batch time.
        Err(e) if e.kind == "not_in_log" => {
            std::thread::sleep(crate::transparency::BATCH_WAIT);
            let entry = fetch()?.ok_or_else(|| CliError::not_on_network(number))?;
            let owner = verified(&entry)?;
            logged(&entry, true)?;
            Ok(Some(owner))
        }
        other => other.map(|_| Some(owner)),
    }
}

/// Looks a number up: `None` when it is not on the network.
pub fn lookup(relay: &Relay, state: &State, number: &str) -> Result<Option<Verified>> {
    let Some(owner) = directory_entry(relay, state, number)? else {
        return Ok(None);
    };
    let first_contact = check_pins(state, Some(number), number, &owner.identity_pub, &owner.bundle)?;
    Ok(Some(Verified {
        number: Some(owner.number),
        org_id: owner.org_id,
        org_name: owner.org_name,
        identity_pub: owner.identity_pub,
        bundle: owner.bundle,
        first_contact,
    }))
}

/// An org, its identity, and every bundle it published, each verified against the identity.
fn org_keys(relay: &Relay, org_id: &str) -> Result<OrgKeys> {
    fxe_protocol::encoding::validate_id32("org_id", org_id)
        .map_err(|e| CliError::new(exit::USAGE, "invalid_org_id", e.to_string()))?;
    let org: OrgPublic = relay.get(&format!("/orgs/{org_id}"))?;
    let bundles: OrgBundles = relay.get(&format!("/orgs/{org_id}/bundles"))?;
    directory::verify_org(org_id, org, bundles).map_err(|e| unverifiable(&format!("org {org_id}"), e))
}

/// The identity of `org_id` (pinned) and its bundle `bundle_id` (verified against it).
pub fn org_bundle(relay: &Relay, state: &State, org_id: &str, bundle_id: &str) -> Result<([u8; 32], Bundle)> {
    let org = org_keys(relay, org_id)?;
    let what = format!("org {org_id}");
    let newest = org.newest_active().map_err(|e| unverifiable(&what, e))?;
    let bundle = org.bundle(bundle_id).map_err(|e| unverifiable(&what, e))?.clone();
    let logged = |force| {
        state.log.check(&state.dir, relay, force, |log| log.check_org_bundle(org_id, &org.identity_pub, &bundle))
    };
    if let Err(e) = logged(false) {
        if e.kind != "not_in_log" {
            return Err(e);
        }
        // A bundle published a moment ago is logged within the relay's batch time.
        std::thread::sleep(crate::transparency::BATCH_WAIT);
        logged(true)?;
    }
    check_pins(state, None, org_id, &org.identity_pub, newest)?;
    Ok((org.identity_pub, bundle))
}

/// A person confirmed `fingerprint` for a number (`+…`) or an org id: the
/// pins are replaced with what the relay offers now, if it matches.
pub fn trust(relay: &Relay, state: &State, target: &str, fingerprint: &str) -> Result<Verified> {
    let verified = if target.starts_with('+') || target.starts_with("00") {
        let number = fxe_protocol::e164::normalize(target)
            .map_err(|e| CliError::new(exit::USAGE, "invalid_number", e.to_string()))?;
        let o = directory_entry(relay, state, &number)?.ok_or_else(|| CliError::not_on_network(&number))?;
        Verified {
            number: Some(number),
            org_id: o.org_id,
            org_name: o.org_name,
            identity_pub: o.identity_pub,
            bundle: o.bundle,
            first_contact: false,
        }
    } else {
        let org = org_keys(relay, target)?;
        let bundle = org.newest_active().map_err(|e| unverifiable(target, e))?.clone();
        Verified {
            number: None,
            org_id: org.org_id,
            org_name: org.org_name,
            identity_pub: org.identity_pub,
            bundle,
            first_contact: false,
        }
    };
    let mut pins = state.load_pins()?;
    pins.trust(verified.number.as_deref(), &verified.identity_pub, &verified.bundle, fingerprint).map_err(|e| {
        CliError::new(exit::PIN, "fingerprint_mismatch", format!("{e}: the relay offers {}", verified.fingerprint()))
    })?;
    state.save_pins(&pins)?;
    Ok(verified)
}
