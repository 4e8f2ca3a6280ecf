//! The command line (clap): global options, commands, help with examples and
//! the exit codes.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  done (lookup: the number is on the network)
  1  error (bad keys file, missing file, refused by the relay, message does not open, ...)
  2  usage error (bad arguments)
  3  not on the network: use your PSTN fax carrier (lookup, send)
  4  pin/trust failure: a key changed or rolled back; confirm with `fxe-client trust`
  5  relay unreachable (connection refused, DNS, TLS, timeout)
  6  authentication refused by the relay (unknown or revoked API key, wrong scope)
  7  the recipient refused the fax, or it expired or failed (send --wait, status)
  8  timed out waiting (send --wait)";

const AFTER_HELP: &str = "\
Examples:
  fxe-client redeem --relay https://relay.example --token inv_... --org-name 'Clinic' \\
      --numbers +15551230001 --admin-email admin@clinic.example --out keys.zip
  fxe-client lookup +15559870002 || echo 'not on fxe: use the carrier'
  fxe-client send --to +15559870002 --from +15551230001 scan.pdf --wait
  fxe-client receive --out-dir ./incoming --watch
  fxe-client inbox --status queued --json
  fxe-client proof export MESSAGE_ID --out fax.fxeproof --with-document
  fxe-client proof verify fax.fxeproof --document scan.pdf

Keys come from --keys or FXE_KEYS (default ./keys.zip); the relay from keys.zip or --relay.
Pins and the record of received faxes are kept next to keys.zip (or in --state-dir).";

#[derive(Parser, Debug)]
#[command(name = "fxe-client", version, about = "End-to-end encrypted fax over the fxe relay: redeem, send, receive, keys.",
    after_help = format!("{AFTER_HELP}\n\n{EXIT_CODES}"))]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// keys.zip of your organization.
    #[arg(long, global = true, env = "FXE_KEYS", default_value = "keys.zip", value_name = "PATH")]
    pub keys: PathBuf,
    /// The relay's URL (default: the one in keys.zip).
    #[arg(long, global = true, env = "FXE_RELAY", value_name = "URL")]
    pub relay: Option<String>,
    /// Where pins and the received-message record live (default: keys.zip's folder).
    #[arg(long, global = true, env = "FXE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Passphrase of a protected keys.zip (asked on a terminal when needed).
    #[arg(long, global = true, env = "FXE_PASSPHRASE", hide_env_values = true, value_name = "PASSPHRASE")]
    pub passphrase: Option<String>,
    /// Machine-readable output: one JSON document (receive: one JSON line per message).
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress notes or bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Join a relay with an invite: make identity, bundle and API key locally, redeem, write keys.zip.
    #[command(
        after_help = "Example:\n  fxe-client redeem --relay https://relay.example --token inv_... --org-name 'Clinic' \\\n      --numbers '+1 555 123 0001,+15551230002' --admin-email admin@clinic.example --out keys.zip --protect"
    )]
    Redeem(RedeemArgs),
    /// Is a number on the network? Exit 0 yes (org and fingerprint shown), 3 no.
    #[command(after_help = "Example:\n  fxe-client lookup +15559870002 --json")]
    Lookup {
        /// The fax number (E.164; loose input like '+1 (555) 987-0002' is accepted).
        number: String,
    },
    /// Seal a PDF to the recipient and upload it; prints the message id.
    #[command(
        after_help = "Examples:\n  fxe-client send --to +15559870002 --from +15551230001 scan.pdf\n  fxe-client send --to +15559870002 --from +15551230001 --from-name 'Front desk' scan.pdf --wait --json"
    )]
    Send(SendArgs),
    /// Received messages (newest first).
    #[command(after_help = "Example:\n  fxe-client inbox --status queued --json")]
    Inbox(ListArgs),
    /// Sent messages (newest first).
    #[command(after_help = "Example:\n  fxe-client outbox --status delivered")]
    Outbox(ListArgs),
    /// Fetch, open and verify queued faxes, save each PDF atomically, then sign its receipt.
    #[command(
        after_help = "Examples:\n  fxe-client receive --out-dir ./incoming\n  fxe-client receive --out-dir ./incoming --watch --interval 5 --json"
    )]
    Receive(ReceiveArgs),
    /// A message's status, with its receipt or refusal verified.
    #[command(after_help = "Example:\n  fxe-client status 0f8e3a52-5d7c-4b1e-9a0f-6c2d1e4b7a90")]
    Status { message_id: String },
    /// Refuse a queued fax with a signed refusal.
    #[command(after_help = "Example:\n  fxe-client reject 0f8e3a52-5d7c-4b1e-9a0f-6c2d1e4b7a90 --reason policy")]
    Reject {
        message_id: String,
        /// cannot_open, not_a_pdf, policy or other.
        #[arg(long, value_parser = ["cannot_open", "not_a_pdf", "policy", "other"])]
        reason: String,
    },
    /// Confirm a changed key after checking its fingerprint out of band.
    #[command(after_help = "Example:\n  fxe-client trust +15559870002 --fingerprint '1a2b3c4d 5e6f...'")]
    Trust {
        /// A fax number (+…) or an org id.
        target: String,
        /// The fingerprint the organization gave you (spaces optional).
        #[arg(long)]
        fingerprint: String,
    },
    /// Make a new bundle, publish it, and rewrite keys.zip with it (old bundles kept).
    #[command(name = "rotate-bundle", after_help = "Example:\n  fxe-client rotate-bundle --keys keys.zip")]
    RotateBundle,
    /// The org's API keys.
    #[command(name = "api-key", subcommand)]
    ApiKey(ApiKeyCommand),
    /// Webhook helpers.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// keys.zip: show (never secrets) or export.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Proof of delivery: export a .fxeproof of a delivered or refused fax, or verify one offline.
    #[command(subcommand)]
    Proof(ProofCommand),
    /// The relay's transparency log: pin its trust policy, sync and show the local replica.
    #[command(subcommand)]
    Log(LogCommand),
    /// Read the transparency log's new entries and alert on changes to this org's keys or numbers
    /// it did not make, or that the relay withholds. Exit 0 no alert, 4 an alert.
    #[command(after_help = "Example (cron, every 10 minutes):\n  fxe-client --keys keys.zip monitor")]
    Monitor(MonitorArgs),
}

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Pin the relay's trust policy (log key, witnesses, quorum) after checking its fingerprint
    /// out of band; for an org that redeemed before its relay had a log.
    Pin {
        /// The policy fingerprint your relay operator gave you (spaces optional).
        #[arg(long)]
        fingerprint: String,
    },
    /// The pinned policy, its fingerprints, and the replica's size and last checkpoint.
    Status,
    /// Bring the local replica up to the relay's newest witnessed checkpoint.
    Sync,
}

#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// Keep watching.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between rounds with --watch.
    #[arg(long, default_value_t = 60)]
    pub interval: u64,
    /// How long (seconds) a change may take to appear in the log before it counts as withheld.
    #[arg(long, default_value_t = 60)]
    pub grace: u64,
}

#[derive(Subcommand, Debug)]
pub enum ProofCommand {
    /// Write a .fxeproof for a delivered or refused fax (sender or recipient); it is verified first.
    #[command(
        after_help = "Examples:\n  fxe-client proof export 0f8e3a52-5d7c-4b1e-9a0f-6c2d1e4b7a90 --out fax.fxeproof\n  fxe-client proof export 0f8e3a52-5d7c-4b1e-9a0f-6c2d1e4b7a90 --out fax.fxeproof --with-document\n\n--with-document discloses the fax's content key, so the proof can show which PDF it was:\nthe key decrypts this one fax and nothing else (no other fax, no key of your org)."
    )]
    Export {
        message_id: String,
        /// Where to write the proof (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Include the fax's content key, so a verifier given the PDF can check it is this fax.
        #[arg(long)]
        with_document: bool,
    },
    /// Check a .fxeproof offline (no keys, no relay): exit 0 only when every check passes.
    #[command(
        after_help = "Examples:\n  fxe-client proof verify fax.fxeproof\n  fxe-client proof verify fax.fxeproof --document scan.pdf --json\n\nA failure names the one check that failed (docs/proof.md) and exits 1."
    )]
    Verify {
        /// The .fxeproof file.
        file: PathBuf,
        /// The PDF to check against the fax (needs a proof exported with --with-document).
        #[arg(long, value_name = "PDF")]
        document: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct RedeemArgs {
    /// The invite token (or the whole /redeem link).
    #[arg(long, env = "FXE_INVITE_TOKEN", hide_env_values = true)]
    pub token: String,
    #[arg(long)]
    pub org_name: String,
    /// Comma-separated fax numbers.
    #[arg(long)]
    pub numbers: String,
    #[arg(long)]
    pub admin_email: String,
    /// Where to write keys.zip (never overwritten).
    #[arg(long, default_value = "keys.zip")]
    pub out: PathBuf,
    /// Ask for a passphrase to protect keys.zip (or pass --passphrase).
    #[arg(long)]
    pub protect: bool,
    /// The transparency log policy fingerprint your relay operator gave you: the relay's policy
    /// is pinned only if it matches (without it, it is pinned and its fingerprint printed to check).
    #[arg(long)]
    pub log_fingerprint: Option<String>,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    #[arg(long)]
    pub to: String,
    /// The org's number to send from; defaults to its only active number.
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long, default_value = "")]
    pub from_name: String,
    /// Send a file that is not a PDF by its first bytes.
    #[arg(long)]
    pub force: bool,
    /// Wait for the recipient's signed receipt (or refusal) and verify it.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// The PDF to send.
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// awaiting_upload, queued, delivered, rejected, expired or failed.
    #[arg(long)]
    pub status: Option<String>,
    /// Only messages of this number.
    #[arg(long)]
    pub number: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

#[derive(Args, Debug)]
pub struct ReceiveArgs {
    /// Where PDFs are written, as <message_id>.pdf.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
    /// Keep polling for new faxes.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between polls with --watch.
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Make a key pair locally, register it, and add it to keys.zip (full keys.zip only).
    Create {
        /// Comma-separated: send, receive, admin.
        #[arg(long, default_value = "send,receive")]
        scopes: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    List,
    Revoke {
        key_id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// Check a webhook delivery by hand: exit 0 when the signature verifies.
    #[command(
        after_help = "Example:\n  fxe-client webhook verify --secret whsec_... \\\n      --header 'X-FXE-Timestamp: 1767225600' --header 'X-FXE-Signature: v1=...' --body-file body.json"
    )]
    Verify {
        #[arg(long, env = "FXE_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// A received header, 'Name: value' (repeat for each).
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// The exact body received.
        #[arg(long)]
        body_file: PathBuf,
        /// Accepted age of the timestamp, seconds.
        #[arg(long, default_value_t = 300)]
        tolerance: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Org id, fingerprint, bundles and API key ids (never secrets).
    Show,
    /// Write a copy of keys.zip: --machine leaves out the identity secret (for gateways);
    /// --staff also the API keys (for members using the web app).
    #[command(
        after_help = "Examples:\n  fxe-client keys export --machine --out gateway-keys.zip --protect\n  fxe-client keys export --staff --out staff-keys.zip --protect"
    )]
    Export {
        #[arg(long, conflicts_with = "staff")]
        machine: bool,
        /// No identity secret and no API keys: what staff need in the web app
        /// (open, receipt, send), nothing more.
        #[arg(long)]
        staff: bool,
        #[arg(long)]
        out: PathBuf,
        /// Passphrase for the new file.
        #[arg(long, env = "FXE_OUT_PASSPHRASE", hide_env_values = true)]
        out_passphrase: Option<String>,
        /// Ask for a passphrase for the new file.
        #[arg(long)]
        protect: bool,
    },
}
