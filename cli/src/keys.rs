//! Loading and saving keys.zip: `--keys` or `FXE_KEYS`, plain or protected by a
//! passphrase (`--passphrase`, `FXE_PASSPHRASE`, or a prompt on a terminal).

use crate::error::{CliError, Result, io_err};
use crate::files;
use fxe_protocol::keyszip::{self, OrgKeys, StoredApiKey};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// keys.zip as loaded, with what is needed to write it back the same way.
pub struct LoadedKeys {
    pub keys: OrgKeys,
    pub path: PathBuf,
    /// The passphrase it was protected with (kept to write the new version).
    pub passphrase: Option<Zeroizing<String>>,
}

/// Asks for a passphrase on the terminal, or fails when there is none.
pub fn prompt_passphrase(prompt: &str) -> Result<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        return Err(fxe_protocol::Error::PassphraseRequired.into());
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|e| CliError::msg(format!("cannot read the passphrase: {e}")))
}

/// Reads and validates a keys.zip.
pub fn load(path: &Path, passphrase: Option<&str>) -> Result<LoadedKeys> {
    let bytes = std::fs::read(path).map_err(|e| {
        CliError::msg(format!("cannot read keys file {}: {e}", path.display()))
            .with_hint("pass --keys PATH or set FXE_KEYS")
    })?;
    let bad = |e: fxe_protocol::Error| {
        let mut err = CliError::from(e);
        err.message = format!("{}: {}", path.display(), err.message);
        err
    };
    let protected = keyszip::is_protected(&bytes).map_err(bad)?;
    let passphrase = match (protected, passphrase) {
        (false, _) => None,
        (true, Some(p)) => Some(Zeroizing::new(p.to_owned())),
        (true, None) => Some(prompt_passphrase(&format!("Passphrase for {}: ", path.display()))?),
    };
    let keys = keyszip::read(&bytes, passphrase.as_deref().map(|s| s.as_str())).map_err(bad)?;
    Ok(LoadedKeys { keys, path: path.to_path_buf(), passphrase })
}

/// Serialises keys.zip (protected when a passphrase is given).
pub fn to_zip(keys: &OrgKeys, passphrase: Option<&str>) -> Result<Vec<u8>> {
    Ok(keyszip::write(keys, passphrase)?)
}

impl LoadedKeys {
    /// The API key for `scope` (falls back to any key).
    pub fn api_key(&self, scope: &str) -> Result<&StoredApiKey> {
        self.keys
            .api_key_with_scope(scope)
            .or_else(|| self.keys.api_keys.last())
            .ok_or_else(|| CliError::msg(format!("{} holds no API key", self.path.display())))
    }

    /// A temporary file next to keys.zip holding `keys` (same protection),
    /// to be renamed over it with [`files::publish`] once the relay agreed.
    pub fn stage(&self, keys: &OrgKeys) -> Result<tempfile::NamedTempFile> {
        use std::io::Write;
        let bytes = to_zip(keys, self.passphrase.as_deref().map(|s| s.as_str()))?;
        let mut tmp = files::temp_next_to(&self.path)?;
        tmp.write_all(&bytes).map_err(io_err(format!("cannot write next to {}", self.path.display())))?;
        tmp.as_file().sync_all().map_err(io_err(format!("cannot write next to {}", self.path.display())))?;
        Ok(tmp)
    }
}
