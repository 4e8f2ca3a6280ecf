//! Faxes in the browser: who is on the network (verified and pinned),
//! sealing a PDF for upload, and opening a download. The protocol itself is
//! `fxe_protocol`'s; these modules feed it the browser's files and streams.

pub mod archive;
#[cfg(target_arch = "wasm32")]
pub mod bench;
pub mod log_replica;
pub mod monitor;
pub mod open;
pub mod peers;
pub mod pins;
pub mod recent;
pub mod seal;
pub mod sniff;
pub mod transparency;
pub mod webcrypto;
