//! What the commands print: human lines on stdout, notes and warnings on
//! stderr, one JSON document on stdout with `--json`, progress bars on stderr
//! only when it is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::io::{IsTerminal, Read};

/// Unix seconds (a bundle's or receipt's time) as RFC 3339; a time past
/// `i64::MAX` seconds, which no honest clock gives, shows as the latest one.
pub fn unix_time(secs: u64) -> String {
    fxe_protocol::time::format_rfc3339(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[derive(Clone, Copy, Debug)]
pub struct Out {
    pub json: bool,
    pub quiet: bool,
}

impl Out {
    /// The command's result: JSON with `--json`, else the human text.
    pub fn result(&self, json: &Value, human: impl FnOnce() -> String) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(json).unwrap_or_default());
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{}", text.trim_end_matches('\n'));
            }
        }
    }

    /// One JSON line per event (for `--watch`), or a human line.
    pub fn event(&self, json: &Value, human: impl FnOnce() -> String) {
        if self.json {
            println!("{}", serde_json::to_string(json).unwrap_or_default());
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }

    /// Progress information for people (stderr; silent with --json or --quiet).
    pub fn note(&self, s: impl AsRef<str>) {
        if !self.json && !self.quiet {
            eprintln!("{}", s.as_ref());
        }
    }

    pub fn warn(&self, s: impl AsRef<str>) {
        eprintln!("warning: {}", s.as_ref());
    }

    /// A byte progress bar, drawn only when stderr is a terminal.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        if self.json || self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    }
}

/// A reader that advances a progress bar.
pub struct ProgressReader<R> {
    pub inner: R,
    pub bar: ProgressBar,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        if n == 0 || self.bar.length() == Some(self.bar.position()) {
            self.bar.finish_and_clear();
        }
        Ok(n)
    }
}
