//! The org's keys, unlocked in this tab: keys.zip is read in WASM memory and
//! kept there only. Locking, signing out or closing the tab drops them (their
//! secrets are zeroised on drop). "Remember keys on this device" keeps them
//! in local storage only encrypted under the passkey's PRF output
//! (`fxe_protocol::devicekeys`, docs/device-keys.md).

use fxe_protocol::{
    devicekeys::{self, DeviceKeys, Randomness},
    error::Error,
    keyszip::{self, KeysKind, OrgKeys},
};

use crate::browser::{
    files, passkey,
    storage::{self, Area},
};
use leptos::prelude::*;

/// What the page may show about the unlocked keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Unlocked {
    pub org_id: String,
    pub org_name: String,
    pub fingerprint: String,
    /// A machine or staff keys.zip: no identity secret (cannot rotate or add API keys).
    pub machine: bool,
    /// Full, machine or staff.
    pub kind: KeysKind,
    pub bundles: usize,
}

/// The keys held by this tab. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Vault {
    keys: StoredValue<Option<OrgKeys>>,
    shown: RwSignal<Option<Unlocked>>,
}

/// Why keys.zip was not unlocked.
#[derive(Clone, Debug, PartialEq)]
pub enum UnlockError {
    /// Protected: ask for the passphrase.
    NeedsPassphrase,
    Refused(String),
}

impl Vault {
    pub fn provide() -> Vault {
        let vault = Vault { keys: StoredValue::new(None), shown: RwSignal::new(None) };
        provide_context(vault);
        vault
    }

    /// The dashboard's vault (from [`Vault::provide`]); where none was
    /// provided (a component rendered on its own), a new, locked one.
    pub fn get() -> Vault {
        use_context::<Vault>().unwrap_or_else(Vault::provide)
    }

    /// Reads `bytes` as keys.zip and keeps the keys if they belong to `org_id`.
    pub fn unlock(&self, bytes: &[u8], passphrase: Option<&str>, org_id: &str) -> Result<Unlocked, UnlockError> {
        let keys = match keyszip::read(bytes, passphrase) {
            Ok(keys) => keys,
            Err(Error::PassphraseRequired) => return Err(UnlockError::NeedsPassphrase),
            Err(Error::WrongPassphrase) => {
                return Err(UnlockError::Refused("The passphrase is not right for this keys.zip.".into()));
            }
            Err(e) => return Err(UnlockError::Refused(format!("This is not a keys.zip fxe can read: {e}"))),
        };
        if keys.org_id != org_id {
            return Err(UnlockError::Refused(format!(
                "This keys.zip belongs to {} (fingerprint {}), not to your organization. Choose your organization's keys.zip.",
                keys.org_name,
                keys.fingerprint()
            )));
        }
        Ok(self.keep(keys))
    }

    /// Holds `keys` (after unlocking, or after a rotation added to them); what
    /// the page may now show about them.
    pub fn keep(&self, keys: OrgKeys) -> Unlocked {
        let shown = Unlocked {
            org_id: keys.org_id.clone(),
            org_name: keys.org_name.clone(),
            fingerprint: keys.fingerprint(),
            machine: keys.is_machine(),
            kind: keys.kind(),
            bundles: keys.bundles.len(),
        };
        self.keys.set_value(Some(keys));
        self.shown.set(Some(shown.clone()));
        shown
    }

    /// Forgets the keys.
    pub fn lock(&self) {
        self.keys.set_value(None);
        self.shown.set(None);
    }

    /// What is unlocked (reactive).
    pub fn unlocked(&self) -> Option<Unlocked> {
        self.shown.get()
    }

    /// Whether the keys held include bundle `bundle_id` (`false` when locked).
    pub fn holds_bundle(&self, bundle_id: &str) -> bool {
        self.with(|k| k.holds_bundle(bundle_id)).unwrap_or(false)
    }

    /// Keeps the unlocked keys on this device, encrypted under the PRF output
    /// of the person's passkey. The error is in words (no PRF: keys.zip stays
    /// the way to unlock).
    pub async fn remember(&self, org_id: &str, user_id: &str) -> Result<(), String> {
        let input = devicekeys::prf_input(org_id, user_id);
        let (credential, output) = passkey::prf(None, &input).await.map_err(|e| e.0)?.ok_or_else(no_prf)?;
        let rnd = Randomness::generate().map_err(|e| e.to_string())?;
        let record = self
            .with(|k| DeviceKeys::seal(k, user_id, &credential, &output, files::now_secs(), &rnd))
            .ok_or_else(|| "Unlock your keys first.".to_string())?
            .map_err(|e| e.to_string())?;
        storage::set(Area::Browser, &record_key(org_id, user_id), &record.to_json())
    }

    /// Unlocks the keys remembered on this device with the person's passkey.
    pub async fn unlock_remembered(&self, org_id: &str, user_id: &str) -> Result<Unlocked, String> {
        let record = remembered(org_id, user_id).ok_or_else(|| "No keys are remembered on this device.".to_string())?;
        let credential = record.credential().map_err(|e| e.to_string())?;
        let input = devicekeys::prf_input(org_id, user_id);
        let (_, output) = passkey::prf(Some(&credential), &input).await.map_err(|e| e.0)?.ok_or_else(no_prf)?;
        let keys = record
            .open(&output, org_id, user_id)
            .map_err(|e| format!("The keys remembered on this device could not be unlocked: {e}"))?;
        Ok(self.keep(keys))
    }

    /// Runs `f` with the keys, if unlocked.
    pub fn with<R>(&self, f: impl FnOnce(&OrgKeys) -> R) -> Option<R> {
        self.keys.with_value(|k| k.as_ref().map(f))
    }
}

fn no_prf() -> String {
    "This passkey or browser cannot protect keys on this device (no WebAuthn PRF support). Unlock with keys.zip each time instead.".into()
}

/// Where the remembered keys of `user_id` in `org_id` are kept (local storage).
fn record_key(org_id: &str, user_id: &str) -> String {
    format!("fxe-device-keys/{org_id}/{user_id}")
}

/// The keys remembered on this device for this user, if any (still encrypted).
pub fn remembered(org_id: &str, user_id: &str) -> Option<DeviceKeys> {
    DeviceKeys::from_json(&storage::get(Area::Browser, &record_key(org_id, user_id))?).ok()
}

/// Removes the keys remembered on this device for this user.
pub fn forget_on_device(org_id: &str, user_id: &str) {
    storage::remove(Area::Browser, &record_key(org_id, user_id));
}
