//! `fxe-client`'s integration tests, in one test binary (one link of the
//! relay and the client instead of one per file): each module runs the real
//! `fxe-client` binary against a real relay started in this process
//! (`common`). `cargo test -p fxe-client --test suite MODULE::` runs one.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod end_to_end;
mod errors_and_keys;
mod proof;
mod transparency;
