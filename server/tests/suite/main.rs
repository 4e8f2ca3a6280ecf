//! The relay's integration tests, in one test binary: each module below was
//! its own binary once, and every one of those linked the whole relay (the
//! server, the web app, the S3 client) again, hundreds of MB of disk and a
//! long link each on a 2-core CI machine. One binary links once; the tests
//! still run in parallel, each against its own relay, data directory and
//! database (`common`).
//!
//! Kept in binaries of their own, next to this folder: `cluster.rs` (two
//! relays behind HAProxy, run on its own by `make test-s3`),
//! `blobs_s3_memory.rs` (it reads the process's peak RSS, so nothing else may
//! share its process), and `limits.rs` and `conn_limits.rs` (floods that
//! measure latency and read the relay's warnings, which other tests'
//! relays in the same process would disturb).
//!
//! `cargo test -p fxe-server --test suite MODULE::` runs one module.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;
mod org_admin_support;

mod blobs_s3;
mod browser_policy;
mod cli;
mod mail;
mod operator_cli;
mod org_admin;
mod passkeys;
mod relay_messages;
mod restart;
mod server;
mod transparency;
mod webhooks;
mod witness;
