//! The org's keys, unlocked in this tab: keys.zip is read in WASM memory and
//! kept there only, never in storage. Locking, signing out or closing the tab
//! drops them (their secrets are zeroised on drop).

use fxe_protocol::{
    error::Error,
    keyszip::{self, OrgKeys},
};
use leptos::prelude::*;

/// What the page may show about the unlocked keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Unlocked {
    pub org_id: String,
    pub org_name: String,
    pub fingerprint: String,
    /// A machine keys.zip: no identity secret (cannot rotate or add API keys).
    pub machine: bool,
    pub bundles: usize,
}

/// The keys held by this tab. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Vault {
    keys: StoredValue<Option<OrgKeys>, LocalStorage>,
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
        let vault = Vault { keys: StoredValue::new_local(None), shown: RwSignal::new(None) };
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
                "This keys.zip belongs to {} (fingerprint {}), not to your organisation. Choose your organisation's keys.zip.",
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

    /// Runs `f` with the keys, if unlocked.
    pub fn with<R>(&self, f: impl FnOnce(&OrgKeys) -> R) -> Option<R> {
        self.keys.with_value(|k| k.as_ref().map(f))
    }
}
