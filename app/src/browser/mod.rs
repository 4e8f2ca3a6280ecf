//! The browser's side: API calls, passkeys, downloads. These functions are
//! only called from event handlers and local resources, which run in the
//! browser and never during server rendering.

pub mod files;
pub mod http;
pub mod idb;
pub mod notify;
pub mod passkey;
pub mod storage;
pub mod transfer;
