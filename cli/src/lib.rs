//! `fxe-client`: what a member org runs on a trusted workstation or in its fax
//! gateway scripts. It speaks the relay's REST API with signed requests and does
//! every cryptographic step locally through `fxe-protocol`.
//!
//! The binary (`src/main.rs`) parses arguments; the commands live here so the
//! bench can time the very code paths `send` and `receive` use.

pub mod cli;
pub mod commands;
pub mod crypto;
pub mod directory;
pub mod error;
pub mod files;
pub mod http;
pub mod keys;
pub mod output;
pub mod state;
pub mod transparency;

pub use error::{CliError, Result};

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
