//! # fxe-protocol
//!
//! The fxe v1 wire protocol (`PROTOCOL.md`): transcripts, identities and
//! bundles, X-Wing, envelopes with a streaming STREAM payload, receipts and
//! refusals, API keys and signed requests, `keys.zip`, pinning, and the
//! webhook signature scheme. No I/O beyond `std::io::{Read, Write}` adapters.
//!
//! Every decoder here rejects anything that is not exactly canonical, and no
//! function panics on any input.

#![warn(missing_docs)]

pub mod api;
pub mod apikey;
pub mod bundle;
pub mod devicekeys;
pub mod directory;
pub mod e164;
pub mod encoding;
pub mod envelope;
pub mod error;
pub mod ids;
pub mod kem;
pub mod keyszip;
pub mod pins;
pub mod proof;
pub mod receipt;
pub mod redeem;
pub mod request;
pub mod sign;
pub mod stream;
pub mod time;
pub mod transcript;
pub mod transparency;
pub mod webhook;

pub use error::{Error, Result};

/// Random bytes from the operating system (or the browser's `crypto.getRandomValues`).
/// Fails with [`Error::Rng`] when the source fails.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| Error::Rng)?;
    Ok(out)
}

/// The relay's cap on one message's ciphertext: 104,857,600 bytes (100 MiB).
pub const MAX_CIPHERTEXT_LEN: u64 = 104_857_600;
