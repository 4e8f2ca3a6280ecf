//! A real relay (the `fxe-server` library, in this process, on a free
//! loopback port, with a fresh data directory) and helpers that run the real
//! `fxe-client` binary as a subprocess.

#![allow(dead_code)]

use fxe_protocol::api::ECHO_NUMBER;
use fxe_server::{AppState, Config};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub const BIN: &str = env!("CARGO_BIN_EXE_fxe-client");

pub struct Relay {
    pub base_url: String,
    pub data_dir: PathBuf,
    state: AppState,
    shutdown: CancellationToken,
    rt: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

impl Relay {
    pub fn start() -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("relay-data");
        let mut config = Config::local(data_dir.clone(), None).expect("relay configuration");
        config.rate_limit_per_minute = 100_000;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let state = rt.block_on(AppState::init(config)).expect("relay state");
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        rt.spawn(fxe_server::run(state.clone(), listener, shutdown.clone()));
        Relay { base_url, data_dir, state, shutdown, rt: Some(rt), _dir: dir }
    }

    /// A fresh single-use invite token.
    pub fn invite(&self) -> String {
        let actor = fxe_server::db::audit::Actor::operator_cli();
        let (_, token) = self
            .rt
            .as_ref()
            .unwrap()
            .block_on(fxe_server::db::invites::create(
                &self.state.db,
                &[],
                86_400,
                "cli test",
                &actor,
                self.state.clock.now_ms(),
            ))
            .unwrap();
        token
    }

    /// Runs `f` on the relay's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().unwrap().block_on(f)
    }

    /// The relay's state (its database, its log).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The arguments of `fxe-client redeem` with `token` on this relay.
    pub fn redeem_args<'a>(&'a self, token: &'a str, name: &'a str, number: &'a str, email: &'a str) -> Vec<&'a str> {
        vec![
            "redeem",
            "--relay",
            &self.base_url,
            "--token",
            token,
            "--org-name",
            name,
            "--numbers",
            number,
            "--admin-email",
            email,
        ]
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// The client binary, run in `dir`, without the caller's FXE_* variables.
pub fn client(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FXE_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir);
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
    /// The error is one line (plus an optional `hint:` line) starting with `error:`.
    pub fn assert_one_line_error(&self) {
        assert_ne!(self.code, 0, "expected a failure: {}", self.stderr);
        let lines: Vec<&str> =
            self.stderr.lines().filter(|l| !l.starts_with("hint:") && !l.starts_with("  ")).collect();
        assert_eq!(lines.len(), 1, "one error line expected, got:\n{}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{}", self.stderr);
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn run(dir: &Path, args: &[&str]) -> Run {
    client(dir).args(args).output().unwrap().into()
}

/// An org redeemed with the CLI, in a folder of its own.
pub struct Org {
    pub dir: tempfile::TempDir,
    pub number: String,
    pub org_id: String,
    pub fingerprint: String,
}

impl Org {
    pub fn redeem(relay: &Relay, name: &str, number: &str) -> Org {
        Self::redeem_at(relay, &relay.base_url, name, number)
    }

    /// Redeems an org on `relay` reached at `url` (e.g. through a proxy in front of it).
    pub fn redeem_at(relay: &Relay, url: &str, name: &str, number: &str) -> Org {
        let dir = tempfile::tempdir().unwrap();
        let token = relay.invite();
        let mut args = relay.redeem_args(&token, name, number, "admin@example.org");
        args[2] = url;
        args.push("--json");
        let r = run(dir.path(), &args);
        assert_eq!(r.code, 0, "redeem failed: {}", r.stderr);
        let v = r.json();
        assert!(v["setup_url"].as_str().unwrap().starts_with("http"), "{v}");
        assert!(dir.path().join("keys.zip").is_file());
        Org {
            number: number.to_owned(),
            org_id: v["org_id"].as_str().unwrap().to_owned(),
            fingerprint: v["fingerprint"].as_str().unwrap().to_owned(),
            dir,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run(self.path(), args)
    }

    /// Sends `fax` (written to `scan.pdf`) to the echo org from this org's
    /// number and waits for the receipt; returns the `send --json` answer.
    pub fn send_to_echo(&self, fax: &[u8]) -> serde_json::Value {
        std::fs::write(self.path().join("scan.pdf"), fax).unwrap();
        let args =
            ["send", "--to", ECHO_NUMBER, "--from", &self.number, "scan.pdf", "--wait", "--timeout", "60", "--json"];
        let r = self.run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.json()["receipt_verified"], true);
        r.json()
    }

    /// Runs `receive` until `n` PDFs are in `out` (or fails after 30 s).
    pub fn receive_until(&self, out: &str, n: usize) -> Vec<PathBuf> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.run(&["receive", "--out-dir", out]);
            assert_eq!(r.code, 0, "receive: {}", r.stderr);
            let files = pdfs(&self.path().join(out));
            if files.len() >= n {
                return files;
            }
            assert!(Instant::now() < deadline, "only {} of {n} faxes arrived", files.len());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The PDFs in a folder, sorted; fails on leftover temporary files.
pub fn pdfs(dir: &Path) -> Vec<PathBuf> {
    let all = files_in(dir);
    for p in &all {
        let name = p.file_name().unwrap().to_string_lossy();
        assert!(!name.starts_with(".fxe-tmp"), "a temporary file was left behind: {name}");
    }
    all.into_iter().filter(|p| p.extension().is_some_and(|e| e == "pdf")).collect()
}

/// Every file in a folder, sorted.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A PDF-looking file of `len` bytes (random after the header).
pub fn pdf_bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x.to_le_bytes()[0]);
    }
    v.truncate(len.max(9));
    v
}
