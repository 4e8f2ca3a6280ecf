//! A tiny writer for benchmark results, shared by every bench suite of the workspace.
//!
//! Each suite writes `target/bench-results/<suite>.json`: a JSON list of records
//! `{"name", "value", "unit", "peer_value"?, "peer"?}`, e.g.
//! `{"name":"seal 100 MiB","value":412.3,"unit":"MiB/s"}`, and prints them as a table.
//!
//! No dependencies: include it by path from any crate's bench, e.g.
//! `#[path = "../../protocol/benches/report.rs"] mod report;`
//! `BENCH_RESULTS_DIR` overrides the output folder; otherwise `$CARGO_TARGET_DIR/bench-results`,
//! otherwise `target/bench-results` in the workspace that holds the bench's crate.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// One measured figure, optionally next to the same figure of a peer (another
/// implementation or a baseline) measured the same way on the same machine.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub name: String,
    pub value: f64,
    pub unit: String,
    pub peer_value: Option<f64>,
    pub peer: Option<String>,
}

impl Record {
    pub fn new(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Record {
        Record { name: name.into(), value, unit: unit.into(), peer_value: None, peer: None }
    }

    pub fn with_peer(mut self, peer: impl Into<String>, peer_value: f64) -> Record {
        self.peer = Some(peer.into());
        self.peer_value = Some(peer_value);
        self
    }

    /// A throughput in MiB/s from bytes processed in `per_iter` time.
    pub fn mib_per_s(name: impl Into<String>, bytes: u64, per_iter: Duration) -> Record {
        Record::new(name, round(float(bytes) / (1024.0 * 1024.0) / per_iter.as_secs_f64()), "MiB/s")
    }

    /// A latency in microseconds.
    pub fn micros(name: impl Into<String>, per_iter: Duration) -> Record {
        Record::new(name, round(per_iter.as_secs_f64() * 1e6), "µs")
    }

    /// Operations per second.
    pub fn ops_per_s(name: impl Into<String>, per_iter: Duration) -> Record {
        Record::new(name, round(1.0 / per_iter.as_secs_f64()), "ops/s")
    }
}

/// A byte or iteration count as `f64`: exact below 2^53, far beyond any count here.
#[allow(clippy::cast_precision_loss, reason = "counts here stay far below 2^53, where f64 is exact")]
fn float(n: u64) -> f64 {
    n as f64
}

/// The decimal exponent of a finite, non-zero `x` (`floor(log10 |x|)`).
#[allow(
    clippy::cast_possible_truncation,
    reason = "floor(log10 |x|) of a finite non-zero f64 is a whole number in -324..=308, exact in i32"
)]
fn exponent(x: f64) -> i32 {
    x.abs().log10().floor() as i32
}

/// Four significant digits are plenty for a benchmark figure.
pub fn round(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let digits = 4 - 1 - exponent(x);
    let f = 10f64.powi(digits.max(0));
    (x * f).round() / f
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_number(x: f64, out: &mut String) {
    if x.is_finite() {
        let _ = write!(out, "{x}");
    } else {
        out.push_str("null");
    }
}

/// The JSON list, one record per line.
pub fn to_json(records: &[Record]) -> String {
    let mut out = String::from("[\n");
    for (i, r) in records.iter().enumerate() {
        out.push_str("  {\"name\":");
        json_string(&r.name, &mut out);
        out.push_str(",\"value\":");
        json_number(r.value, &mut out);
        out.push_str(",\"unit\":");
        json_string(&r.unit, &mut out);
        if let Some(p) = r.peer_value {
            out.push_str(",\"peer_value\":");
            json_number(p, &mut out);
        }
        if let Some(p) = &r.peer {
            out.push_str(",\"peer\":");
            json_string(p, &mut out);
        }
        out.push('}');
        if i + 1 < records.len() {
            out.push(',');
        }
        out.push('\n');
    }
    out.push_str("]\n");
    out
}

/// Where the results go (see the module documentation).
pub fn results_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BENCH_RESULTS_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d).join("bench-results");
    }
    // The including crate's manifest folder, then up to the workspace (the folder with Cargo.lock).
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.ancestors().find(|d| d.join("Cargo.lock").is_file()).unwrap_or(&manifest).to_path_buf();
    root.join("target").join("bench-results")
}

/// Prints the records as a table and writes `<results_dir>/<suite>.json`; returns the path.
pub fn write(suite: &str, records: &[Record]) -> std::io::Result<PathBuf> {
    println!("\n{suite} benchmark results");
    for r in records {
        let peer = match (&r.peer, r.peer_value) {
            (Some(p), Some(v)) => format!("   (peer {p}: {v} {})", r.unit),
            _ => String::new(),
        };
        println!("  {:<32} {:>12} {}{peer}", r.name, r.value, r.unit);
    }
    let dir = results_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{suite}.json"));
    std::fs::write(&path, to_json(records))?;
    println!("written to {}", path.display());
    Ok(path)
}

/// Collects per-iteration times from criterion's `iter_custom` so the same runs
/// that criterion reports also feed the JSON records (no second measurement).
#[derive(Default, Debug)]
pub struct Timings(Vec<f64>);

impl Timings {
    /// Records one batch of `iters` iterations that took `elapsed`.
    pub fn add(&mut self, iters: u64, elapsed: Duration) {
        if iters > 0 {
            self.0.push(elapsed.as_secs_f64() / float(iters));
        }
    }

    /// The median time per iteration over every batch (robust to the warm-up batches).
    pub fn median(&self) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        let m = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
        Duration::from_secs_f64(m)
    }
}
