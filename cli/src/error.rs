//! Errors with the exit code a script can branch on (docs/cli.md).

use fxe_protocol::Error as ProtocolError;

/// Exit codes of `fxe-client` (documented in `--help` and docs/cli.md).
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const NOT_ON_NETWORK: i32 = 3;
    pub const PIN: i32 = 4;
    pub const UNREACHABLE: i32 = 5;
    pub const AUTH: i32 = 6;
    pub const REFUSED: i32 = 7;
    pub const TIMEOUT: i32 = 8;
}

/// One failure: a one-line message, an exit code, and an optional hint line.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    /// A stable snake_case name for `--json` output (the relay's error code
    /// when the relay refused the request).
    pub kind: String,
    /// The HTTP status when the relay answered with an error.
    pub status: Option<u16>,
    pub message: String,
    pub hint: Option<String>,
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    pub fn new(code: i32, kind: impl Into<String>, message: impl Into<String>) -> Self {
        CliError { code, kind: kind.into(), status: None, message: message.into(), hint: None }
    }
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new(exit::ERROR, "error", message)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn not_on_network(number: &str) -> Self {
        Self::new(exit::NOT_ON_NETWORK, "not_on_network", format!("{number} is not on the fxe network"))
            .with_hint("send it through your PSTN fax carrier instead")
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ProtocolError> for CliError {
    fn from(e: ProtocolError) -> Self {
        match &e {
            ProtocolError::Pin(_) => CliError::new(exit::PIN, "pin_mismatch", e.to_string()),
            ProtocolError::PassphraseRequired => CliError::new(exit::ERROR, "passphrase_required", e.to_string())
                .with_hint("pass --passphrase or set FXE_PASSPHRASE (or run in a terminal to be asked)"),
            ProtocolError::WrongPassphrase => CliError::new(exit::ERROR, "wrong_passphrase", e.to_string()),
            ProtocolError::KeysZip(_) => CliError::new(exit::ERROR, "bad_keys", e.to_string()),
            ProtocolError::IdentitySecretMissing => CliError::new(exit::ERROR, "machine_keys", e.to_string()),
            _ => CliError::msg(e.to_string()),
        }
    }
}

/// Adds context to I/O errors: `io(path, "cannot read")`.
pub fn io_err(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> CliError {
    move |e| CliError::msg(format!("{what}: {e}"))
}
