//! One module per group of commands; [`run`] dispatches.

mod admin;
mod log;
mod messages;
mod onboarding;
mod proof;
mod receive;
mod webhook;

use crate::cli::{Cli, Command, Global};
use crate::error::{CliError, Result, exit};
use crate::http::Relay;
use crate::keys::{self, LoadedKeys};
use crate::output::Out;
use crate::state::State;

/// What every command has: the global options and the output settings.
pub struct Ctx {
    pub global: Global,
    pub out: Out,
}

impl Ctx {
    pub fn keys(&self) -> Result<LoadedKeys> {
        keys::load(&self.global.keys, self.global.passphrase.as_deref())
    }

    /// A client for the relay (from `--relay`, else keys.zip) signing with the key for `scope`.
    pub fn relay(&self, keys: &LoadedKeys, scope: &str) -> Result<Relay> {
        let base = self.global.relay.as_deref().unwrap_or(&keys.keys.relay_url);
        Relay::new(base, Some(keys.api_key(scope)?.key.clone()))
    }

    pub fn state(&self, keys: &LoadedKeys) -> State {
        State::new(self.global.state_dir.as_deref(), &keys.path)
    }
}

/// Normalises a user-typed number (exit 2 on nonsense).
pub fn number_arg(s: &str) -> Result<String> {
    fxe_protocol::e164::normalize(s).map_err(|e| CliError::new(exit::USAGE, "invalid_number", e.to_string()))
}

pub fn message_id_arg(s: &str) -> Result<String> {
    let s = s.trim().to_ascii_lowercase();
    fxe_protocol::encoding::validate_uuid_v4("message_id", &s)
        .map_err(|e| CliError::new(exit::USAGE, "invalid_message_id", e.to_string()))?;
    Ok(s)
}

/// Runs the command; the exit code is 0 unless it returns an error.
pub fn run(cli: Cli) -> Result<i32> {
    let ctx = Ctx { out: Out { json: cli.global.json, quiet: cli.global.quiet }, global: cli.global };
    match cli.command {
        Command::Redeem(a) => onboarding::redeem(&ctx, a),
        Command::Lookup { number } => messages::lookup(&ctx, &number),
        Command::Send(a) => messages::send(&ctx, a),
        Command::Inbox(a) => messages::list(&ctx, "inbox", a),
        Command::Outbox(a) => messages::list(&ctx, "outbox", a),
        Command::Status { message_id } => messages::status(&ctx, &message_id),
        Command::Reject { message_id, reason } => messages::reject(&ctx, &message_id, &reason),
        Command::Trust { target, fingerprint } => messages::trust(&ctx, &target, &fingerprint),
        Command::Receive(a) => receive::receive(&ctx, a),
        Command::RotateBundle => admin::rotate_bundle(&ctx),
        Command::ApiKey(c) => admin::api_key(&ctx, c),
        Command::Keys(c) => admin::keys(&ctx, c),
        Command::Webhook(c) => webhook::run(&ctx, c),
        Command::Proof(c) => proof::run(&ctx, c),
        Command::Log(c) => log::run(&ctx, c),
        Command::Monitor(a) => log::monitor(&ctx, a),
    }
}
