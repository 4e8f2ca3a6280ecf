//! `receive [--watch]`: fetch each queued fax, open and verify it while
//! streaming (constant memory), write the PDF atomically, and only then post
//! the signed receipt. A message that fails verification is refused
//! (`cannot_open`) and nothing is saved. Idempotent across crashes: a message
//! already saved (recorded in the state folder, or its file present) is not
//! written again; its receipt is simply posted again.

use super::Ctx;
use super::messages::{fetch, send_refusal};
use crate::cli::ReceiveArgs;
use crate::crypto::{self, OpenFailure};
use crate::directory;
use crate::error::{CliError, Result, exit, io_err};
use crate::http::Relay;
use crate::keys::LoadedKeys;
use crate::output::ProgressReader;
use crate::state::State;
use fxe_protocol::api::{Message, Org, Page};
use fxe_protocol::envelope::{CONTENT_TYPE_PDF, Recipient};
use fxe_protocol::receipt::{Receipt, RefusalReason};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Receiver<'a> {
    ctx: &'a Ctx,
    keys: &'a LoadedKeys,
    relay: Relay,
    state: State,
    out_dir: PathBuf,
    numbers: Vec<String>,
    watch: bool,
}

/// What happened to one message.
enum Outcome {
    Received(PathBuf),
    AlreadyReceived(PathBuf),
    Refused(RefusalReason, String),
}

pub fn receive(ctx: &Ctx, a: ReceiveArgs) -> Result<i32> {
    let keys = ctx.keys()?;
    std::fs::create_dir_all(&a.out_dir).map_err(io_err(format!("cannot create {}", a.out_dir.display())))?;
    let _lock = lock_out_dir(&a.out_dir)?;
    let relay = ctx.relay(&keys, "receive")?;
    let org: Org = relay.get("/org")?;
    let numbers = org.numbers.into_iter().map(|n| n.number).collect();
    let r = Receiver {
        ctx,
        keys: &keys,
        state: ctx.state(&keys),
        relay,
        out_dir: a.out_dir.clone(),
        numbers,
        watch: a.watch,
    };
    if !a.watch {
        let failed = r.round()?;
        return Ok(if failed == 0 { exit::OK } else { exit::ERROR });
    }
    ctx.out.note(format!(
        "Watching for faxes every {} s; saving to {} (Ctrl-C stops).",
        a.interval.max(1),
        a.out_dir.display()
    ));
    loop {
        match r.round() {
            Ok(_) => {}
            // A changed key or refused credentials need a person: stop.
            Err(e) if e.code == exit::PIN || e.code == exit::AUTH => return Err(e),
            // Anything else (relay down, a 5xx) is retried on the next poll.
            Err(e) => ctx.out.warn(format!("{} (retrying in {} s)", e.message, a.interval.max(1))),
        }
        std::thread::sleep(Duration::from_secs(a.interval.max(1)));
    }
}

impl Receiver<'_> {
    /// Every queued message, oldest first.
    fn queued(&self) -> Result<Vec<Message>> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = "/messages?box=inbox&status=queued&limit=500".to_owned();
            if let Some(c) = &cursor {
                q.push_str(&format!("&cursor={}", crate::http::encode(c)));
            }
            let page: Page<Message> = self.relay.get(&q)?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => break,
            }
        }
        all.reverse();
        Ok(all)
    }

    /// One pass over the queue; returns how many messages failed (and stay queued).
    fn round(&self) -> Result<usize> {
        let mut failed = 0;
        let queued = self.queued()?;
        if queued.is_empty() && !self.watch {
            self.ctx.out.note("No queued faxes.");
        }
        for m in queued {
            match self.one(&m) {
                Ok(outcome) => self.report(&m, outcome),
                // A changed key stops everything until a person decides.
                Err(e) if e.code == exit::PIN => return Err(e),
                Err(e) if e.code == exit::UNREACHABLE || e.code == exit::AUTH => return Err(e),
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {}: {}", m.message_id, e.message);
                    self.ctx.out.event(
                        &json!({"event": "failed", "message_id": m.message_id, "error": e.kind, "message": e.message}),
                        String::new,
                    );
                }
            }
        }
        Ok(failed)
    }

    fn report(&self, m: &Message, outcome: Outcome) {
        let base = json!({"message_id": m.message_id, "from_number": m.from_number, "from_name": m.from_name, "to_number": m.to_number, "sender_org_id": m.sender_org_id});
        let (event, extra, human): (&str, Value, String) = match outcome {
            Outcome::Received(p) => (
                "received",
                json!({"path": p}),
                format!("{}  from {} {}  saved {}", m.message_id, m.from_number, m.from_name, p.display()),
            ),
            Outcome::AlreadyReceived(p) => (
                "already_received",
                json!({"path": p}),
                format!("{}  already saved as {} (receipt sent)", m.message_id, p.display()),
            ),
            Outcome::Refused(r, why) => (
                "refused",
                json!({"reason": r.as_str(), "error": why}),
                format!("{}  REFUSED ({}): {why}", m.message_id, r.as_str()),
            ),
        };
        let mut v = base;
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.insert("event".into(), json!(event));
            o.extend(e);
        }
        self.ctx.out.event(&v, || human);
    }

    fn dest(&self, message_id: &str) -> PathBuf {
        self.out_dir.join(format!("{message_id}.pdf"))
    }

    fn post_receipt(&self, env: &fxe_protocol::envelope::Envelope) -> Result<()> {
        let receipt = Receipt::make(env, &self.keys.keys.bundles, crate::now())?;
        let _: Message = self.relay.post(&format!("/messages/{}/receipt", env.message_id), &receipt)?;
        Ok(())
    }

    fn one(&self, m: &Message) -> Result<Outcome> {
        let (_, env) = fetch(&self.relay, &m.message_id)?;
        let org_id = &self.keys.keys.org_id;
        let dest = self.dest(&env.message_id);
        if self.state.was_received(org_id, &env.sender_org_id, &env.message_id) || dest.exists() {
            self.post_receipt(&env)?;
            return Ok(Outcome::AlreadyReceived(dest));
        }
        let refuse = |reason: RefusalReason, why: String| -> Result<Outcome> {
            send_refusal(&self.relay, self.keys, &env, reason)?;
            Ok(Outcome::Refused(reason, why))
        };
        if env.content_type != CONTENT_TYPE_PDF {
            return refuse(RefusalReason::NotAPdf, format!("content type {:?}", env.content_type));
        }
        let (sender_identity, sender_bundle) =
            directory::org_bundle(&self.relay, &self.state, &env.sender_org_id, &env.sender_bundle_id)?;
        let recipient = Recipient { org_id, numbers: &self.numbers, bundles: &self.keys.keys.bundles };
        let body = self.relay.download(&format!("/messages/{}/content", env.message_id))?;
        let reader = ProgressReader { inner: body, bar: self.ctx.out.bar(env.ciphertext_len, "receiving") };
        match crypto::open_to_file(&env, &sender_identity, &sender_bundle, &recipient, reader, &dest) {
            Ok(()) => {}
            Err(OpenFailure::Verification(e)) => return refuse(RefusalReason::CannotOpen, e.to_string()),
            Err(OpenFailure::Local(e)) => return Err(e),
        }
        self.state.mark_received(org_id, &env.sender_org_id, &env.message_id, &absolute(&dest))?;
        self.post_receipt(&env)?;
        Ok(Outcome::Received(dest))
    }
}

/// One receiver per output folder: an exclusive lock on `.fxe-receive.lock`
/// (released when the process ends, however it ends). Holding it, the
/// temporary files a killed receiver left behind are deleted.
fn lock_out_dir(dir: &Path) -> Result<std::fs::File> {
    let path = dir.join(".fxe-receive.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(format!("cannot create {}", path.display())))?;
    file.try_lock().map_err(|_| {
        CliError::msg(format!("another fxe-client receive is using {}", dir.display()))
            .with_hint("run one receiver per output folder")
    })?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(crate::files::TEMP_PREFIX) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(file)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
