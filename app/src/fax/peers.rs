//! Other orgs as the relay describes them, checked before use: the answer is
//! verified (identity → org id, bundles signed by the identity) and compared
//! with the pins this browser keeps, and with the relay's transparency log
//! ([`transparency`]): a number's answer by its proof and the tab's replica, an
//! org's keys by the replica. A changed identity stops sending and
//! opening until an admin confirms the new fingerprint out of band.

use fxe_protocol::api::{DirectoryEntry, OrgBundles, OrgPublic};
use fxe_protocol::bundle::Bundle;
use fxe_protocol::directory::{self, NumberOwner, OrgKeys};
use fxe_protocol::pins::PinStatus;

use super::{pins, transparency};
use crate::browser::http::{self, ApiFailure};

/// A pinned fact the relay now contradicts.
#[derive(Clone, Debug, PartialEq)]
pub struct PinChange {
    /// The number looked up, when it was a number.
    pub number: Option<String>,
    pub org_name: String,
    pub identity_pub: [u8; 32],
    /// The bundle the relay offers now (what a confirmation pins).
    pub bundle: Bundle,
    /// What changed, in words.
    pub message: String,
}

impl PinChange {
    pub fn offered_fingerprint(&self) -> String {
        fxe_protocol::ids::fingerprint(&self.identity_pub)
    }
}

/// Why an org could not be used.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerError {
    Api(ApiFailure),
    /// The relay's answer does not verify: it may be faulty or hostile.
    Unverifiable(String),
    Changed(Box<PinChange>),
    /// This browser could not read or keep its pins.
    Pins(String),
}

impl PeerError {
    /// The failure in words for people.
    pub fn message(&self) -> String {
        match self {
            PeerError::Api(f) => f.message.clone(),
            PeerError::Unverifiable(m) => format!(
                "The relay's answer does not verify ({m}). It may be faulty or tampered with: nothing was sent or opened."
            ),
            PeerError::Changed(c) => c.message.clone(),
            PeerError::Pins(m) => m.clone(),
        }
    }
}

/// A verified answer and whether this browser had seen the org before.
#[derive(Clone, Debug, PartialEq)]
pub struct Pinned<T> {
    pub value: T,
    /// Seen for the first time: the fingerprint should be checked out of band.
    pub first_contact: bool,
}

/// Compares an answer with the pins of `me` (this browser's org) and records it.
fn check_pins(
    me: &str, number: Option<&str>, org_name: &str, identity_pub: &[u8; 32], bundle: &Bundle,
) -> Result<bool, PeerError> {
    let mut store = pins::load(me).map_err(PeerError::Pins)?;
    let before = store.clone();
    let status = store.check_and_record(number, identity_pub, bundle).map_err(|e| {
        PeerError::Changed(Box::new(PinChange {
            number: number.map(str::to_owned),
            org_name: org_name.to_owned(),
            identity_pub: *identity_pub,
            bundle: bundle.clone(),
            message: e.to_string(),
        }))
    })?;
    if store != before {
        pins::save(me, &store).map_err(PeerError::Pins)?;
    }
    Ok(status == PinStatus::FirstContact)
}

fn log_failure(e: transparency::LogCheck) -> PeerError {
    match e {
        transparency::LogCheck::Refused(why) => PeerError::Unverifiable(why),
        transparency::LogCheck::Behind(e) => PeerError::Unverifiable(e.to_string()),
        transparency::LogCheck::Storage(why) => PeerError::Pins(why),
    }
}

/// Who holds `number` (normalised): `None` when it is not on fxe.
pub async fn lookup(me: &str, number: &str) -> Result<Option<Pinned<NumberOwner>>, PeerError> {
    let entry: DirectoryEntry = match http::get(&format!("/directory/{}", http::segment(number))).await {
        Ok(e) => e,
        Err(f) if f.code == "not_on_network" => return Ok(None),
        Err(f) => return Err(PeerError::Api(f)),
    };
    transparency::check(me, &entry).await.map_err(log_failure)?;
    let owner = directory::verify_entry(number, entry).map_err(|e| PeerError::Unverifiable(e.to_string()))?;
    let first_contact = check_pins(me, Some(number), &owner.org_name, &owner.identity_pub, &owner.bundle)?;
    Ok(Some(Pinned { value: owner, first_contact }))
}

/// An org by id with every bundle it published, checked against the log, its identity pinned.
pub async fn org(me: &str, org_id: &str) -> Result<Pinned<OrgKeys>, PeerError> {
    let public: OrgPublic = http::get(&format!("/orgs/{}", http::segment(org_id))).await.map_err(PeerError::Api)?;
    let bundles: OrgBundles =
        http::get(&format!("/orgs/{}/bundles", http::segment(org_id))).await.map_err(PeerError::Api)?;
    let keys = directory::verify_org(org_id, public, bundles).map_err(|e| PeerError::Unverifiable(e.to_string()))?;
    transparency::check_org(me, &keys).await.map_err(log_failure)?;
    let newest = keys.newest_active().map_err(|e| PeerError::Unverifiable(e.to_string()))?.clone();
    let first_contact =
        if org_id == me { false } else { check_pins(me, None, &keys.org_name, &keys.identity_pub, &newest)? };
    Ok(Pinned { value: keys, first_contact })
}

/// An admin checked `fingerprint` with the org out of band: the pins take
/// what the relay offers now, if it is that fingerprint.
pub fn confirm(me: &str, change: &PinChange, fingerprint: &str) -> Result<(), String> {
    let mut store = pins::load(me)?;
    store
        .trust(change.number.as_deref(), &change.identity_pub, &change.bundle, fingerprint)
        .map_err(|_| format!("That is not the fingerprint the relay offers ({}). Do not send until it matches what the organization told you.", change.offered_fingerprint()))?;
    pins::save(me, &store)
}
