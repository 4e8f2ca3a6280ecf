//! Run-time configuration: command-line arguments (with `FXE_*` environment
//! fallbacks), the storage locations derived from them, and the Leptos
//! options for the web UI.
//!
//! The clap argument groups live here, not in `main.rs`, so that every
//! subcommand (`serve` now, `invite …` and friends later) shares them:
//! flatten [`StorageArgs`] into any command that opens the database.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use leptos::config::{Env, LeptosOptions};
use url::Url;

/// File name of the SQLite database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "fxe.db";
/// Folder of the ciphertext blob store inside the data directory.
pub const BLOBS_DIR_NAME: &str = "blobs";

/// A configuration that cannot be used; the message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Mail(String),
    #[error("invalid --public-url {url:?}: {reason}")]
    PublicUrl { url: String, reason: &'static str },
    #[error(
        "unsupported --database-url scheme {scheme:?}: use postgres://… (or postgresql://…), \
         sqlite://…, or leave it out for SQLite in the data directory"
    )]
    DatabaseScheme { scheme: String },
    #[error("invalid --database-url: {0}")]
    DatabaseUrl(String),
    #[error("invalid environment variable {name}: {reason}")]
    Env { name: &'static str, reason: String },
    #[error("invalid --blob-store or S3 setting: {0}")]
    BlobStore(String),
    #[error("invalid transparency log setting: {0}")]
    Log(String),
}

/// Where the relay keeps its state. Shared by every subcommand that needs the
/// database or the blob store.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// Directory for the relay's state: the SQLite database `fxe.db` (unless
    /// --database-url is given) and the encrypted fax blobs in `blobs/`.
    /// Created on first start, readable by the server's user only.
    #[arg(long, env = "FXE_DATA_DIR", value_name = "DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Use this database instead of SQLite in the data directory, e.g.
    /// postgres://fxe:secret@db.internal:5432/fxe. The blobs still live in
    /// the data directory unless --blob-store names a bucket.
    #[arg(long, env = "FXE_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Keep the encrypted fax blobs in an S3-compatible bucket,
    /// s3://bucket/prefix, instead of `blobs/` in the data directory (needed
    /// for several relay instances). Credentials come from the standard AWS
    /// variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
    #[arg(long, env = "FXE_BLOB_STORE", value_name = "URL")]
    pub blob_store: Option<String>,

    /// The S3 endpoint for --blob-store s3://… (e.g. http://127.0.0.1:7480 or
    /// https://s3.example.net); objects are addressed path-style. Plain http
    /// is accepted for loopback addresses only. Default: AWS.
    #[arg(long, env = "FXE_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// The S3 region for --blob-store s3://….
    #[arg(long, env = "AWS_REGION", value_name = "REGION", default_value = "us-east-1")]
    pub s3_region: String,
}

/// `fxe-server serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "FXE_BIND", value_name = "ADDR", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,

    #[command(flatten)]
    pub storage: StorageArgs,

    /// The address people and integrators use to reach this relay, e.g.
    /// https://fax.example.org (scheme and host, optionally a port, nothing
    /// else). Used for links, cookie security, origin checks and as the
    /// passkeys' relying party (which must be a host name, not an IP address).
    /// Defaults to http:// and the --bind address, with `localhost` for a
    /// loopback or wildcard address.
    #[arg(long, env = "FXE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// How long a queued fax waits for its recipient before it expires and
    /// its ciphertext is deleted: a number with s, m, h or d (e.g. 7d, 36h).
    #[arg(long, env = "FXE_MESSAGE_TTL", value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
    pub message_ttl: std::time::Duration,

    /// How many API requests one API key or one signed-in person may make a
    /// minute (bursts up to the same number); more are answered 429.
    #[arg(long, env = "FXE_RATE_LIMIT_PER_MINUTE", value_name = "N", default_value_t = DEFAULT_RATE_LIMIT_PER_MINUTE,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate_limit_per_minute: u32,

    #[command(flatten)]
    pub limits: LimitArgs,

    /// Let webhook endpoints use http and private, loopback or link-local
    /// addresses. For development and tests only: it lets org admins make the
    /// relay call into its own network.
    #[arg(long, env = "FXE_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,

    /// The file holding the key that encrypts webhook signing secrets at
    /// rest: 64 hex characters. Default: `webhook-secret.key` in the data
    /// directory, created on first start. Relays sharing one PostgreSQL
    /// database must all use the same key.
    #[arg(long, env = "FXE_SECRET_KEY_FILE", value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,

    #[command(flatten)]
    pub log: LogArgs,

    /// For tests and benchmarks only: the waits between webhook attempts,
    /// e.g. 1s,2s,500ms (default 30s,2m,10m,1h,6h,24h).
    #[arg(long, env = "FXE_RETRY_SCHEDULE", value_name = "LIST", hide = true, value_parser = parse_retry_schedule)]
    pub retry_schedule: Option<RetrySchedule>,

    /// The SMTP server for the relay's mail (passkey setup and recovery
    /// links): smtps://USER:PASS@HOST:465 (TLS), or
    /// smtp://USER:PASS@HOST:587?tls=required (STARTTLS). Without it, each
    /// mail is written to <data-dir>/outbox/ and its link logged.
    #[arg(long, env = "FXE_SMTP_URL", value_name = "URL")]
    pub smtp_url: Option<String>,

    /// The sender of the relay's mail, e.g. "fxe <fax@example.org>"
    /// (default: fxe relay <noreply@HOST> for the public URL's host).
    #[arg(long, env = "FXE_MAIL_FROM", value_name = "MAILBOX")]
    pub mail_from: Option<String>,

    /// The most connections the relay serves at once. When it is reached,
    /// the connection idle the longest (no request in progress, for at least
    /// 1 s) is closed to make room for a new one; if none is idle, new
    /// connections wait (in the listen backlog) until one ends. Keep it below
    /// the open-files limit (`ulimit -n`).
    #[arg(long, env = "FXE_MAX_CONNECTIONS", value_name = "N", default_value_t = ConnectionLimits::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// How long a client has to send a whole request head (request line and
    /// headers), counted from when the relay starts waiting for it: when the
    /// connection opens, or when the previous answer on a kept-alive
    /// connection was sent. So this is also the idle keep-alive timeout. The
    /// connection is closed when it passes.
    #[arg(long, env = "FXE_HEADER_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub header_timeout: std::time::Duration,

    /// The largest request head (request line and headers) in bytes; a
    /// larger one is answered 431 `headers_too_large`.
    #[arg(long, env = "FXE_MAX_HEADER_BYTES", value_name = "BYTES", default_value_t = ConnectionLimits::DEFAULT_MAX_HEADER_BYTES,
          value_parser = clap::value_parser!(u32).range(4096..=1_048_576))]
    pub max_header_bytes: u32,

    /// How long a request body (a JSON call, a web form) may take to arrive
    /// in full; then 408 `request_timeout`. The ciphertext upload has the
    /// rest of its upload window instead.
    #[arg(long, env = "FXE_BODY_TIMEOUT", value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub body_timeout: std::time::Duration,

    /// The slowest a request body (the ciphertext upload included) may
    /// arrive, in bytes a second on average over each --body-rate-window; a
    /// slower or stalled one is cut off with 408 `request_timeout`.
    #[arg(long, env = "FXE_BODY_MIN_RATE", value_name = "BYTES_PER_SEC", default_value_t = ConnectionLimits::DEFAULT_BODY_MIN_RATE,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub body_min_rate: u64,

    /// The stretch of time --body-min-rate is measured over.
    #[arg(long, env = "FXE_BODY_RATE_WINDOW", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub body_rate_window: std::time::Duration,
}

/// The key transparency log (docs/transparency.md): its key and its witnesses.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogArgs {
    /// The file holding the transparency log's signing key (the C2SP private
    /// key form, `PRIVATE+KEY+<origin>+…`). Default: `log.key` in the data
    /// directory, created on first start and named for the public URL. Relays
    /// sharing one PostgreSQL database must all use the same key. Losing it
    /// means every member org must pin a new policy: back it up.
    #[arg(long, env = "FXE_LOG_KEY_FILE", value_name = "FILE")]
    pub log_key_file: Option<PathBuf>,

    /// A witness that cosigns the log's checkpoints: its URL (where it serves
    /// `POST /add-checkpoint`) and its verifier key (`fxe-server witness
    /// init` prints it), separated by a space. Repeat for several, or give
    /// them in FXE_LOG_WITNESSES separated by commas.
    #[arg(long = "log-witness", env = "FXE_LOG_WITNESSES", value_name = "URL KEY", value_delimiter = ',')]
    pub log_witnesses: Vec<String>,

    /// How many distinct witnesses must cosign a checkpoint before it is
    /// published (default: all of them). With 0, the log's own signature is
    /// enough and clients are protected against split views only by
    /// comparing checkpoints.
    #[arg(long, env = "FXE_LOG_QUORUM", value_name = "N")]
    pub log_quorum: Option<usize>,

    /// How old a checkpoint's witness cosignatures may be before clients
    /// refuse it as stale; the relay asks its witnesses again every half of it.
    #[arg(long, env = "FXE_LOG_MAX_AGE", value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub log_max_age: std::time::Duration,
}

/// One witness of the log, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogWitness {
    /// Its base URL; the relay posts to `<url>/add-checkpoint`.
    pub url: Url,
    /// Its verifier key (`name+keyid+base64`).
    pub vkey: String,
}

/// The log's settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The key file; `None`: `log.key` in the data directory.
    pub key_file: Option<PathBuf>,
    pub witnesses: Vec<LogWitness>,
    pub quorum: usize,
    /// Seconds.
    pub max_age: u64,
}

impl LogSettings {
    /// No witnesses, quorum 0, cosignatures good for 10 minutes.
    pub fn unwitnessed() -> LogSettings {
        LogSettings { key_file: None, witnesses: Vec::new(), quorum: 0, max_age: 600 }
    }

    fn from_args(args: LogArgs) -> Result<LogSettings, ConfigError> {
        let bad = |reason: String| ConfigError::Log(reason);
        let mut witnesses: Vec<LogWitness> = Vec::new();
        for raw in args.log_witnesses.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
            let Some((url, vkey)) = raw.split_once(char::is_whitespace) else {
                return Err(bad(format!("--log-witness {raw:?}: give the witness's URL, a space, then its key")));
            };
            let url = Url::parse(url.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| bad(format!("--log-witness {raw:?}: {url:?} is not an http(s) URL")))?;
            let vkey = vkey.trim().to_owned();
            match fxe_protocol::transparency::NoteKey::from_vkey(&vkey) {
                Ok(k) if k.kind == fxe_protocol::transparency::KeyKind::Witness => {}
                Ok(_) => return Err(bad(format!("--log-witness {raw:?}: that is a log key, not a witness key"))),
                Err(e) => return Err(bad(format!("--log-witness {raw:?}: {e}"))),
            }
            if witnesses.iter().any(|w| w.vkey == vkey) {
                return Err(bad(format!("--log-witness {raw:?}: the same witness key is given twice")));
            }
            witnesses.push(LogWitness { url, vkey });
        }
        let quorum = args.log_quorum.unwrap_or(witnesses.len());
        if quorum > witnesses.len() {
            return Err(bad(format!(
                "--log-quorum {quorum} asks for more witnesses than the {} given with --log-witness",
                witnesses.len()
            )));
        }
        let max_age = args.log_max_age.as_secs();
        if max_age < 60 {
            return Err(bad("--log-max-age must be at least 1m".into()));
        }
        Ok(LogSettings { key_file: args.log_key_file, witnesses, quorum, max_age })
    }
}

/// Limits on connections and request bodies, so that slow or idle clients
/// cannot hold the relay's connections, memory or upload leases (applied by
/// [`crate::http::server`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; at the limit the one idle the longest is
    /// closed for a new one, or new ones wait in the listen backlog.
    pub max_connections: usize,
    /// A request head must be complete this long after the relay starts
    /// waiting for it (also the idle keep-alive timeout).
    pub header_timeout: std::time::Duration,
    /// The largest request head in bytes (431 beyond).
    pub max_header_bytes: usize,
    /// A request body, other than the ciphertext upload, must be in within this long (408).
    pub body_timeout: std::time::Duration,
    /// Bodies must bring at least this many bytes a second, averaged over each `body_rate_window` (408).
    pub body_min_rate: u64,
    /// See `body_min_rate`.
    pub body_rate_window: std::time::Duration,
}

impl ConnectionLimits {
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 512;
    pub const DEFAULT_MAX_HEADER_BYTES: u32 = 64 * 1024;
    pub const DEFAULT_BODY_MIN_RATE: u64 = 1024;
}

impl Default for ConnectionLimits {
    /// 512 connections, 30 s for a request head, 64 KiB of headers, 60 s for
    /// a body, at least 1 KiB/s over each 30 s.
    fn default() -> Self {
        ConnectionLimits {
            max_connections: usize::try_from(Self::DEFAULT_MAX_CONNECTIONS).unwrap_or(usize::MAX),
            header_timeout: std::time::Duration::from_secs(30),
            max_header_bytes: usize::try_from(Self::DEFAULT_MAX_HEADER_BYTES).unwrap_or(usize::MAX),
            body_timeout: std::time::Duration::from_secs(60),
            body_min_rate: Self::DEFAULT_BODY_MIN_RATE,
            body_rate_window: std::time::Duration::from_secs(30),
        }
    }
}

/// The limits beside the per-key one (docs/api.md, Limits). Every limit is
/// kept in this relay process's memory or read from the database as it is.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// How many API requests one org may make a minute, all its API keys and
    /// people together (default: twice --rate-limit-per-minute).
    #[arg(long, env = "FXE_ORG_RATE_LIMIT_PER_MINUTE", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    pub org_rate_limit_per_minute: Option<u32>,

    /// How many API requests one client address (an IPv6 address's /64) may
    /// make a minute before they authenticate; an authenticated request gives
    /// its token back (default: four times --rate-limit-per-minute).
    #[arg(long, env = "FXE_IP_RATE_LIMIT_PER_MINUTE", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    pub ip_rate_limit_per_minute: Option<u32>,

    /// How many API requests without valid credentials one client address may
    /// make a minute: sign-in, enrolment, recovery, redemption, and signed
    /// requests or sessions that do not authenticate (unknown key, bad
    /// signature, ended session).
    #[arg(long, env = "FXE_ANONYMOUS_RATE_LIMIT_PER_MINUTE", value_name = "N",
          default_value_t = DEFAULT_ANONYMOUS_RATE_LIMIT_PER_MINUTE,
          value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    pub anonymous_rate_limit_per_minute: u32,

    /// How many passkey ceremonies (sign-in, enrolment) started from one client
    /// address may be open (not finished, not expired) at once.
    #[arg(long, env = "FXE_MAX_CEREMONIES_PER_IP", value_name = "N", default_value_t = DEFAULT_MAX_CEREMONIES_PER_IP,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_ceremonies_per_ip: u32,

    /// How many passkey ceremonies may be open at once on the whole relay.
    #[arg(long, env = "FXE_MAX_CEREMONIES", value_name = "N", default_value_t = DEFAULT_MAX_CEREMONIES,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_ceremonies: u32,

    /// How many recovery requests may wait for the recovery worker; more
    /// are answered 503.
    #[arg(long, env = "FXE_RECOVERY_QUEUE", value_name = "N", default_value_t = DEFAULT_RECOVERY_QUEUE,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub recovery_queue: u32,

    /// How many API keys (not revoked) one org may have.
    #[arg(long, env = "FXE_MAX_API_KEYS_PER_ORG", value_name = "N", default_value_t = DEFAULT_MAX_API_KEYS_PER_ORG,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_api_keys_per_org: u32,

    /// A reverse proxy (an address or CIDR range, e.g. 10.0.0.0/8) whose
    /// X-Forwarded-For header is believed: the client is the nearest address
    /// in it that is not a trusted proxy. Repeat or separate with commas.
    /// Without it, X-Forwarded-For is ignored and the TCP peer is the client.
    #[arg(long = "trusted-proxy", env = "FXE_TRUSTED_PROXY", value_name = "CIDR", value_delimiter = ',',
          value_parser = parse_cidr)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Requests a minute without valid credentials from one address, unless configured.
pub const DEFAULT_ANONYMOUS_RATE_LIMIT_PER_MINUTE: u32 = 120;
/// Open passkey ceremonies from one address, unless configured.
pub const DEFAULT_MAX_CEREMONIES_PER_IP: u32 = 20;
/// Open passkey ceremonies on the relay, unless configured.
pub const DEFAULT_MAX_CEREMONIES: u32 = 5_000;
/// Recovery requests waiting for the worker, unless configured.
pub const DEFAULT_RECOVERY_QUEUE: u32 = 256;
/// API keys (not revoked) per org, unless configured.
pub const DEFAULT_MAX_API_KEYS_PER_ORG: u32 = 50;

impl Default for LimitArgs {
    fn default() -> Self {
        LimitArgs {
            org_rate_limit_per_minute: None,
            ip_rate_limit_per_minute: None,
            anonymous_rate_limit_per_minute: DEFAULT_ANONYMOUS_RATE_LIMIT_PER_MINUTE,
            max_ceremonies_per_ip: DEFAULT_MAX_CEREMONIES_PER_IP,
            max_ceremonies: DEFAULT_MAX_CEREMONIES,
            recovery_queue: DEFAULT_RECOVERY_QUEUE,
            max_api_keys_per_org: DEFAULT_MAX_API_KEYS_PER_ORG,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Parses `--trusted-proxy`: a CIDR range (`10.0.0.0/8`, `fd00::/8`) or one
/// address (`192.0.2.7`, taken as `/32` or `/128`).
pub fn parse_cidr(raw: &str) -> Result<ipnet::IpNet, String> {
    let raw = raw.trim();
    if let Ok(net) = raw.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    raw.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| format!("{raw:?} is not an address or CIDR range like 10.0.0.0/8"))
}

/// The waits between webhook attempts: after the n-th failed attempt the
/// next comes `steps[n-1]` later; after the last step's attempt fails, the
/// delivery is dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<std::time::Duration>);

impl Default for RetrySchedule {
    /// 30 s, 2 min, 10 min, 1 h, 6 h, 24 h (API.md).
    fn default() -> Self {
        RetrySchedule(
            [30, 120, 600, 3600, 6 * 3600, 24 * 3600].into_iter().map(std::time::Duration::from_secs).collect(),
        )
    }
}

/// Parses `1s,2s,500ms,…` (1 to 20 steps; units ms, s, m, h, d).
pub fn parse_retry_schedule(raw: &str) -> Result<RetrySchedule, String> {
    let steps = raw
        .split(',')
        .map(|step| {
            let step = step.trim();
            match step.strip_suffix("ms") {
                Some(ms) => ms
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .map(std::time::Duration::from_millis)
                    .ok_or_else(|| format!("{step:?} is not a duration")),
                None => parse_duration(step),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if steps.len() > 20 {
        return Err("at most 20 steps".into());
    }
    Ok(RetrySchedule(steps))
}

/// API requests a minute per key or session, unless configured.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 600;

/// Parses `30s`, `15m`, `36h`, `7d` (a positive whole number and a unit).
pub fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (num, unit) = raw.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("{raw:?} is not a duration like 30s, 15m, 36h or 7d"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{raw:?} is not a duration like 30s, 15m, 36h or 7d")),
    };
    if n == 0 {
        return Err("the duration must be positive".into());
    }
    n.checked_mul(secs).map(std::time::Duration::from_secs).ok_or_else(|| format!("{raw:?} is too long"))
}

impl ServeArgs {
    /// Validates the arguments and reads the Leptos options from the
    /// environment (see [`leptos_options_from_env`]).
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let public_url = public_url_or_default(self.public_url.as_deref(), self.bind)?;
        let leptos = leptos_options_from_env(self.bind)?;
        let mail = MailSettings::new(self.smtp_url, self.mail_from, &public_url)?;
        Ok(Config {
            bind: self.bind,
            storage: Storage::from_args(self.storage)?,
            public_url,
            leptos,
            message_ttl: self.message_ttl,
            rate_limit_per_minute: self.rate_limit_per_minute,
            limits: self.limits,
            allow_private_webhooks: self.allow_private_webhooks,
            secret_key_file: self.secret_key_file,
            log: LogSettings::from_args(self.log)?,
            retry_schedule: self.retry_schedule.unwrap_or_default(),
            mail,
            connections: ConnectionLimits {
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
                header_timeout: self.header_timeout,
                max_header_bytes: usize::try_from(self.max_header_bytes).unwrap_or(usize::MAX),
                body_timeout: self.body_timeout,
                body_min_rate: self.body_min_rate,
                body_rate_window: self.body_rate_window,
            },
        })
    }
}

/// Where the relay's mail goes, validated.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The SMTP server's URL (`None`: the outbox folder).
    pub smtp_url: Option<String>,
    /// The `From` mailbox.
    pub from: String,
}

impl MailSettings {
    pub fn new(smtp_url: Option<String>, from: Option<String>, public_url: &Url) -> Result<MailSettings, ConfigError> {
        let from =
            from.map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).unwrap_or_else(|| default_from(public_url));
        check_from(&from).map_err(|reason| ConfigError::Mail(format!("--mail-from {from:?}: {reason}")))?;
        let smtp_url = smtp_url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
        if let Some(url) = &smtp_url {
            check_smtp_url(url).map_err(|reason| ConfigError::Mail(format!("--smtp-url: {reason}")))?;
        }
        Ok(MailSettings { smtp_url, from })
    }

    /// The outbox folder, with the default sender.
    pub fn outbox(public_url: &Url) -> MailSettings {
        MailSettings { smtp_url: None, from: default_from(public_url) }
    }
}

/// Everything `serve` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub storage: Storage,
    /// Scheme, host and port only; no path, query or trailing slash (see
    /// [`parse_public_url`]).
    pub public_url: Url,
    /// Where the web UI's assets are (`site_root`, `site_pkg_dir`) and what
    /// the bundle is called (`output_name`).
    pub leptos: LeptosOptions,
    /// How long a queued message waits before it expires.
    pub message_ttl: std::time::Duration,
    /// API requests a minute per API key or session.
    pub rate_limit_per_minute: u32,
    /// The other limits (per org, per address, anonymous work, API keys) and
    /// the trusted proxies.
    pub limits: LimitArgs,
    /// Webhook endpoints may use http and non-public addresses (development).
    pub allow_private_webhooks: bool,
    /// The webhook secret key file; `None`: `webhook-secret.key` in the data directory.
    pub secret_key_file: Option<PathBuf>,
    /// The transparency log's key file and witnesses.
    pub log: LogSettings,
    /// The waits between webhook attempts.
    pub retry_schedule: RetrySchedule,
    /// SMTP or the outbox folder, and the sender.
    pub mail: MailSettings,
    /// Connection, header and body limits.
    pub connections: ConnectionLimits,
}

impl Config {
    /// A relay on a free loopback port (`bind` 127.0.0.1:0) with every other
    /// setting at its default: SQLite in `data_dir` unless `database_url`,
    /// public URL `http://127.0.0.1`, mail to the outbox folder. For tests and
    /// tools that run a relay in-process; change fields as needed.
    pub fn local(data_dir: std::path::PathBuf, database_url: Option<String>) -> Result<Config, ConfigError> {
        let bind: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
        let public_url = Url::parse("http://127.0.0.1")
            .map_err(|_| ConfigError::PublicUrl { url: "http://127.0.0.1".into(), reason: "does not parse" })?;
        Ok(Config {
            bind,
            storage: Storage::from_args(StorageArgs {
                data_dir,
                database_url,
                blob_store: None,
                s3_endpoint: None,
                s3_region: crate::blobs::DEFAULT_S3_REGION.to_owned(),
            })?,
            mail: MailSettings::outbox(&public_url),
            public_url,
            leptos: leptos_options_from(bind, |_| None)?,
            message_ttl: std::time::Duration::from_secs(7 * 24 * 3600),
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            limits: LimitArgs::default(),
            allow_private_webhooks: false,
            secret_key_file: None,
            log: LogSettings::unwitnessed(),
            retry_schedule: RetrySchedule::default(),
            connections: ConnectionLimits::default(),
        })
    }

    /// The relay's public origin, e.g. `https://fax.example.org`, as browsers
    /// send it in the `Origin` header.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// Whether cookies must be `Secure` (the relay is reached over https).
    pub fn public_url_is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

/// Which database to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// An SQLite file, created if missing.
    SqliteFile(PathBuf),
    /// A PostgreSQL server, by `postgres://` URL.
    Postgres(String),
    /// Any other SQLite URL given explicitly (`sqlite://…`), used as is.
    SqliteUrl(String),
}

impl DatabaseTarget {
    pub fn is_sqlite(&self) -> bool {
        !matches!(self, DatabaseTarget::Postgres(_))
    }

    /// The target with any password removed, for logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseTarget::SqliteFile(path) => format!("sqlite file {}", path.display()),
            DatabaseTarget::SqliteUrl(url) => url.clone(),
            DatabaseTarget::Postgres(url) => match Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://(unparseable url)".to_string(),
            },
        }
    }
}

/// The data directory, the database and the blob store.
#[derive(Debug, Clone)]
pub struct Storage {
    pub data_dir: PathBuf,
    pub database: DatabaseTarget,
    /// `None`: the `blobs/` folder in the data directory.
    pub blob_store: Option<crate::blobs::S3Settings>,
}

impl Storage {
    pub fn from_args(args: StorageArgs) -> Result<Self, ConfigError> {
        let database = match args.database_url {
            None => DatabaseTarget::SqliteFile(args.data_dir.join(SQLITE_FILE_NAME)),
            Some(url) => parse_database_url(&url)?,
        };
        let blob_store = match args.blob_store.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(url) => Some(
                crate::blobs::S3Settings::parse(url, args.s3_endpoint.as_deref(), &args.s3_region)
                    .map_err(ConfigError::BlobStore)?,
            ),
        };
        Ok(Storage { data_dir: args.data_dir, database, blob_store })
    }

    /// The folder of the blob store.
    pub fn blobs_dir(&self) -> PathBuf {
        self.data_dir.join(BLOBS_DIR_NAME)
    }
}

fn parse_database_url(raw: &str) -> Result<DatabaseTarget, ConfigError> {
    let raw = raw.trim();
    let Some((scheme, _)) = raw.split_once(':') else {
        return Err(ConfigError::DatabaseUrl(
            "expected a URL such as postgres://user:password@host:5432/dbname".into(),
        ));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => {
            Url::parse(raw).map_err(|e| ConfigError::DatabaseUrl(e.to_string()))?;
            Ok(DatabaseTarget::Postgres(raw.to_string()))
        }
        "sqlite" => Ok(DatabaseTarget::SqliteUrl(raw.to_string())),
        other => Err(ConfigError::DatabaseScheme { scheme: other.to_string() }),
    }
}

/// Parses `--public-url`: http or https, a host, no credentials, path, query
/// or fragment (fxe is served at the root of its host). The result has no
/// trailing slash when formatted with [`Url::origin`].
pub fn parse_public_url(raw: &str) -> Result<Url, ConfigError> {
    let err = |reason| ConfigError::PublicUrl { url: raw.to_string(), reason };
    let url = Url::parse(raw.trim()).map_err(|_| err("not a URL"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(err("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(err("a host is required"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("credentials are not allowed"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(err("only scheme, host and port are allowed: fxe is served at the root of its host"));
    }
    Ok(url)
}

/// `--public-url` if given, else http:// and the bind address.
pub fn public_url_or_default(raw: Option<&str>, bind: SocketAddr) -> Result<Url, ConfigError> {
    match raw {
        Some(raw) => parse_public_url(raw),
        None => Ok(default_public_url(bind)),
    }
}

fn default_public_url(bind: SocketAddr) -> Url {
    // A loopback or wildcard bind is reached as `localhost`: WebAuthn
    // (passkeys) refuses IP addresses as relying-party ids.
    let host = if bind.ip().is_unspecified() || bind.ip().is_loopback() {
        "localhost".to_string()
    } else {
        match bind {
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        }
    };
    // Both parts are well formed, so this parses; fall back to localhost all the same.
    Url::parse(&format!("http://{host}:{}", bind.port())).unwrap_or_else(|_| localhost())
}

/// `http://localhost/`.
#[allow(clippy::expect_used)] // a constant, well-formed URL: parsing it cannot fail
fn localhost() -> Url {
    Url::parse("http://localhost").expect("a constant URL parses")
}

/// The Leptos options, read from the variables cargo-leptos sets
/// (`LEPTOS_OUTPUT_NAME`, `LEPTOS_SITE_ROOT`, `LEPTOS_SITE_PKG_DIR`,
/// `LEPTOS_ENV`, `LEPTOS_RELOAD_PORT`, `LEPTOS_HASH_FILES`,
/// `LEPTOS_HASH_FILE_NAME`), with defaults that work when the binary is
/// started directly: output name `fxe`, the site root found by
/// [`default_site_root`], environment `PROD`. The site address is always
/// `--bind`.
pub fn leptos_options_from_env(bind: SocketAddr) -> Result<LeptosOptions, ConfigError> {
    leptos_options_from(bind, |name| std::env::var(name).ok())
}

/// [`leptos_options_from_env`] with the environment passed in (for tests).
pub fn leptos_options_from(
    bind: SocketAddr, var: impl Fn(&str) -> Option<String>,
) -> Result<LeptosOptions, ConfigError> {
    let output_name =
        var("LEPTOS_OUTPUT_NAME").filter(|s| !s.is_empty()).unwrap_or_else(|| app::OUTPUT_NAME.to_string());
    let site_root = match var("LEPTOS_SITE_ROOT").filter(|s| !s.is_empty()) {
        Some(root) => root,
        None => default_site_root().to_string_lossy().into_owned(),
    };
    let site_pkg_dir = var("LEPTOS_SITE_PKG_DIR").filter(|s| !s.is_empty()).unwrap_or_else(|| "pkg".to_string());
    let env = match var("LEPTOS_ENV").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("prod") | Some("production") => Env::PROD,
        Some("dev") | Some("development") => Env::DEV,
        Some(other) => {
            return Err(ConfigError::Env { name: "LEPTOS_ENV", reason: format!("{other:?} is neither DEV nor PROD") });
        }
    };
    let reload_port = match var("LEPTOS_RELOAD_PORT") {
        None => 3001,
        Some(port) => port.parse().map_err(|_| ConfigError::Env {
            name: "LEPTOS_RELOAD_PORT",
            reason: format!("{port:?} is not a port number"),
        })?,
    };
    let hash_files = match var("LEPTOS_HASH_FILES").as_deref() {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ConfigError::Env {
                name: "LEPTOS_HASH_FILES",
                reason: format!("{other:?} is neither true nor false"),
            });
        }
    };
    let hash_file = var("LEPTOS_HASH_FILE_NAME").filter(|s| !s.is_empty()).unwrap_or_else(|| "hash.txt".to_string());

    Ok(LeptosOptions::builder()
        .output_name(output_name)
        .site_root(site_root)
        .site_pkg_dir(site_pkg_dir)
        .env(env)
        .site_addr(bind)
        .reload_port(reload_port)
        .hash_files(hash_files)
        .hash_file(hash_file.into())
        .build())
}

/// Where the built web assets (`pkg/fxe.js`, `pkg/fxe.wasm`, `pkg/fxe.css`,
/// `favicon.svg`) are when `LEPTOS_SITE_ROOT` is not set: `target/site` below
/// the working directory if it exists (running from the repository root),
/// else `site` next to the binary's folder (`target/release/fxe-server` →
/// `target/site`), else `target/site`.
pub fn default_site_root() -> PathBuf {
    let relative = Path::new("target").join("site");
    if relative.is_dir() {
        return relative;
    }
    if let Some(beside_exe) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(|dir| dir.join("site")))
        .filter(|dir| dir.is_dir())
    {
        return beside_exe;
    }
    relative
}

/// Checks a `From` mailbox (`Name <a@b>` or `a@b`) and returns its address.
pub fn check_from(from: &str) -> Result<lettre::Address, String> {
    if from.chars().any(char::is_control) || !from.is_ascii() {
        return Err("must be ASCII on one line".into());
    }
    from.parse::<lettre::message::Mailbox>()
        .map(|m| m.email)
        .map_err(|e| format!("not a mailbox like \"fxe <fax@example.org>\" ({e})"))
}

/// Checks an SMTP URL: smtp:// or smtps://, a host; warns when mail would
/// cross the network unencrypted.
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{e}"))?;
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err("use smtps://HOST:465 or smtp://HOST:587?tls=required".into());
    }
    let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or("the URL names no host")?;
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url).map_err(|e| format!("{e}"))?;
    let encrypted = parsed.scheme() == "smtps" || parsed.query_pairs().any(|(k, v)| k == "tls" && v == "required");
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    if !encrypted && !local {
        tracing::warn!(host, "--smtp-url sends setup links unencrypted; use smtps:// or ?tls=required");
    }
    Ok(())
}

/// `fxe relay <noreply@HOST>` for the relay's public host.
pub fn default_from(public_url: &url::Url) -> String {
    format!("fxe relay <noreply@{}>", public_url.host_str().unwrap_or("localhost").trim_matches(['[', ']']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn bind() -> SocketAddr {
        "127.0.0.1:3000".parse().unwrap()
    }

    #[test]
    fn trusted_proxies_parse() {
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr(" 192.0.2.7 ").unwrap().to_string(), "192.0.2.7/32");
        assert_eq!(parse_cidr("fd00::/8").unwrap().to_string(), "fd00::/8");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        for bad in ["", "10.0.0.0/33", "example.org", "10.0.0/8"] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serve_defaults_are_the_connection_limits_defaults() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let args = <Cli as clap::Parser>::try_parse_from(["fxe-server"]).unwrap().serve;
        let defaults = ConnectionLimits::default();
        assert_eq!(usize::try_from(args.max_connections).unwrap(), defaults.max_connections);
        assert_eq!(args.header_timeout, defaults.header_timeout);
        assert_eq!(usize::try_from(args.max_header_bytes).unwrap(), defaults.max_header_bytes);
        assert_eq!(args.body_timeout, defaults.body_timeout);
        assert_eq!(args.body_min_rate, defaults.body_min_rate);
        assert_eq!(args.body_rate_window, defaults.body_rate_window);
    }

    #[test]
    fn retry_schedules() {
        assert_eq!(RetrySchedule::default().0.len(), 6);
        let s = parse_retry_schedule("1s, 500ms,2m").unwrap();
        assert_eq!(
            s.0,
            vec![
                std::time::Duration::from_secs(1),
                std::time::Duration::from_millis(500),
                std::time::Duration::from_secs(120)
            ]
        );
        for bad in ["", "1x", "0ms", "1s,,2s"] {
            assert!(parse_retry_schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_url_accepts_origins_only() {
        let url = parse_public_url("https://fax.example.org").unwrap();
        assert_eq!(url.origin().ascii_serialization(), "https://fax.example.org");
        let url = parse_public_url("http://127.0.0.1:8080/").unwrap();
        assert_eq!(url.origin().ascii_serialization(), "http://127.0.0.1:8080");

        for bad in [
            "fax.example.org",
            "ftp://fax.example.org",
            "https://user:pw@fax.example.org",
            "https://fax.example.org/relay",
            "https://fax.example.org/?a=b",
            "https://fax.example.org/#x",
            "",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn default_public_url_follows_bind() {
        assert_eq!(default_public_url(bind()).as_str(), "http://localhost:3000/");
        assert_eq!(default_public_url("0.0.0.0:8080".parse().unwrap()).as_str(), "http://localhost:8080/");
        assert_eq!(default_public_url("[::1]:3000".parse().unwrap()).as_str(), "http://localhost:3000/");
        assert_eq!(default_public_url("192.0.2.7:3000".parse().unwrap()).as_str(), "http://192.0.2.7:3000/");
    }

    #[test]
    fn database_target_from_args() {
        let args = |url: Option<&str>| StorageArgs {
            data_dir: PathBuf::from("/srv/fxe"),
            database_url: url.map(str::to_string),
            blob_store: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
        };
        assert_eq!(
            Storage::from_args(args(None)).unwrap().database,
            DatabaseTarget::SqliteFile(PathBuf::from("/srv/fxe/fxe.db"))
        );
        let pg = Storage::from_args(args(Some("postgres://fxe:s3cret@db:5432/fxe"))).unwrap();
        assert_eq!(pg.database, DatabaseTarget::Postgres("postgres://fxe:s3cret@db:5432/fxe".into()));
        assert!(!pg.database.redacted().contains("s3cret"));
        assert_eq!(pg.blobs_dir(), PathBuf::from("/srv/fxe/blobs"));
        assert!(matches!(
            Storage::from_args(args(Some("postgresql://db/fxe"))).unwrap().database,
            DatabaseTarget::Postgres(_)
        ));
        assert!(matches!(Storage::from_args(args(Some("mysql://db/fxe"))), Err(ConfigError::DatabaseScheme { .. })));
        assert!(Storage::from_args(args(Some("not a url"))).is_err());
    }

    #[test]
    fn leptos_options_defaults_and_overrides() {
        let none = leptos_options_from(bind(), |_| None).unwrap();
        assert_eq!(&*none.output_name, "fxe");
        assert_eq!(&*none.site_pkg_dir, "pkg");
        assert_eq!(none.env, Env::PROD);
        assert_eq!(none.site_addr, bind());

        let vars: HashMap<&str, &str> = [
            ("LEPTOS_OUTPUT_NAME", "other"),
            ("LEPTOS_SITE_ROOT", "/srv/site"),
            ("LEPTOS_ENV", "DEV"),
            ("LEPTOS_RELOAD_PORT", "4001"),
        ]
        .into_iter()
        .collect();
        let set = leptos_options_from(bind(), |k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(&*set.output_name, "other");
        assert_eq!(&*set.site_root, "/srv/site");
        assert_eq!(set.env, Env::DEV);
        assert_eq!(set.reload_port, 4001);

        assert!(leptos_options_from(bind(), |k| (k == "LEPTOS_ENV").then(|| "staging".into())).is_err());
        assert!(leptos_options_from(bind(), |k| (k == "LEPTOS_RELOAD_PORT").then(|| "x".into())).is_err());
    }
}
