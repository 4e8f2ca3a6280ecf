//! Replays every input kept in `fuzz/seeds/<target>/` (the fuzzers' seeds and every
//! crash they ever found) through the fuzzing harnesses, natively, as a regression test.
//! `FXE_WRITE_FUZZ_SEEDS=1` (re)writes the generated seeds first.
#![cfg(not(target_arch = "wasm32"))]
// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::PathBuf;

fn seeds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

#[test]
fn generated_seeds_run_clean() {
    let seeds = harness::seeds();
    if std::env::var("FXE_WRITE_FUZZ_SEEDS").as_deref() == Ok("1") {
        for (target, name, data) in &seeds {
            let dir = seeds_dir().join(target);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
        }
    }
    for (target, name, data) in &seeds {
        assert!(harness::run(target, data), "{target}/{name}");
    }
}

#[test]
fn every_kept_input_replays_clean() {
    let mut n = 0;
    for target in ["envelope", "keyszip", "api_secret", "request_headers", "signed_json"] {
        let Ok(entries) = std::fs::read_dir(seeds_dir().join(target)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            // A panic names the file through the test's output.
            eprintln!("replaying {}", path.display());
            assert!(harness::run(target, &data));
            n += 1;
        }
    }
    eprintln!("{n} kept fuzz inputs replayed");
}
