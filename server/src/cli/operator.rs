//! `fxe-server invite|operator|org|number …`: the operator's commands,
//! run directly on the relay's database (also while it serves). The work is
//! done by [`crate::accounts::operators`]; this module parses, prints and
//! picks exit codes.

use serde::Serialize;

use crate::{
    accounts::operators::{self, OperatorError},
    clock::Clock,
    config::{self, ConfigError, Storage, StorageArgs},
    db::Db,
    db::audit::Actor,
    ids::OrgId,
};

// ---------- the command line ----------

/// What every operator command takes: where the relay's state is, and the
/// address people use to reach it (for links).
#[derive(Debug, Clone, clap::Args)]
pub struct OperatorArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// The relay's public address, for the links printed (as for `serve`);
    /// defaults to http://localhost:3000.
    #[arg(long, env = "FXE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
}

/// What every `… list` command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// Print a JSON array.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub args: OperatorArgs,
}

/// `fxe-server invite …`
#[derive(Debug, clap::Subcommand)]
pub enum InviteCommand {
    /// Issue a single-use invite and print its token and redeem link.
    ///
    /// An invite that names numbers lets the org claim only those (check who
    /// controls them first); without --numbers the org may claim any free numbers.
    Create {
        /// The fax numbers the org may claim, comma-separated (E.164; spaces,
        /// dashes and brackets are fine), e.g. "+1 555 123 4567,+15551234568".
        #[arg(long, value_name = "N,…")]
        numbers: Option<String>,
        /// How long the invite stays valid: a number with s, m, h or d.
        #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = config::parse_duration)]
        expires: std::time::Duration,
        /// A note for yourself (who it is for), shown by `invite list`.
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
        /// Print {"id","token","redeem_url","numbers","expires_at"} as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        args: OperatorArgs,
    },
    /// List every invite, newest first (tokens are not stored and not shown).
    List(ListArgs),
    /// Revoke an unused invite.
    Revoke {
        /// The invite's id (from `invite list`).
        id: String,
        #[command(flatten)]
        args: OperatorArgs,
    },
}

/// `fxe-server operator …`
#[derive(Debug, clap::Subcommand)]
pub enum OperatorCommand {
    /// Add a relay operator and print their single-use passkey setup link
    /// (24 h). For an operator who already exists, a new link is issued.
    Add {
        /// The operator's e-mail address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// Print {"user_id","email","created","setup_url","expires_at"} as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        args: OperatorArgs,
    },
    /// List the relay's operators.
    List(ListArgs),
}

/// `fxe-server org …`
#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// List the member orgs.
    List(ListArgs),
    /// Disable an org: its API keys and sessions stop working and its numbers
    /// leave the directory. Nothing is deleted; `org enable` undoes it.
    Disable {
        org_id: String,
        #[command(flatten)]
        args: OperatorArgs,
    },
    /// Re-enable a disabled org.
    Enable {
        org_id: String,
        #[command(flatten)]
        args: OperatorArgs,
    },
}

/// `fxe-server number …`
#[derive(Debug, clap::Subcommand)]
pub enum NumberCommand {
    /// List the numbers orgs hold or claim.
    List {
        /// Only the claims waiting for your approval.
        #[arg(long)]
        pending: bool,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Approve a pending claim: the number becomes the org's and enters the
    /// directory. Check first that the org controls the line.
    Approve {
        number: String,
        #[command(flatten)]
        args: OperatorArgs,
    },
    /// Deny a pending claim (it is deleted; the org may claim again).
    Deny {
        number: String,
        #[command(flatten)]
        args: OperatorArgs,
    },
}

/// A failed command: the message for stderr and the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments: exit code 2, like clap's own usage errors.
    #[error("{0}")]
    Usage(String),
    /// The action could not be done: exit code 1.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

impl From<OperatorError> for CliError {
    fn from(e: OperatorError) -> Self {
        match e {
            OperatorError::Invalid(m) => CliError::Usage(m),
            OperatorError::Db(e) => CliError::Failed(format!("database: {e}")),
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::Usage(e.to_string())
    }
}

/// Opens the relay's database (creating the data directory and SQLite file
/// on first use) and brings its schema up to date.
async fn open(args: &OperatorArgs) -> Result<Db, CliError> {
    let storage = Storage::from_args(args.storage.clone())?;
    if matches!(storage.database, config::DatabaseTarget::SqliteFile(_)) {
        crate::blobs::create_private_dir(&storage.data_dir).await.map_err(|e| {
            CliError::Failed(format!("cannot create the data directory {}: {e}", storage.data_dir.display()))
        })?;
    }
    Db::open(&storage.database)
        .await
        .map_err(|e| CliError::Failed(format!("cannot open the database ({}): {e}", storage.database.redacted())))
}

/// Runs `action` on the database named by `args`, then closes it.
async fn with_db<T>(
    args: &OperatorArgs, action: impl AsyncFnOnce(&Db) -> Result<T, OperatorError>,
) -> Result<T, CliError> {
    let db = open(args).await?;
    let result = action(&db).await;
    db.close().await;
    Ok(result?)
}

fn public_origin(args: &OperatorArgs) -> Result<String, CliError> {
    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 3000));
    Ok(config::public_url_or_default(args.public_url.as_deref(), bind)?.origin().ascii_serialization())
}

fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Failed(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// Prints `items` as a JSON array (`json`), or as a table under `header`
/// with a row of cells from `row` for each.
fn print_list<T: Serialize>(
    json: bool, items: &[T], header: &[&str], row: impl Fn(&T) -> Vec<String>,
) -> Result<(), CliError> {
    if json {
        return print_json(&items);
    }
    print_table(header, &items.iter().map(row).collect::<Vec<_>>());
    Ok(())
}

/// Prints rows as left-aligned columns under a header.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
    if rows.is_empty() {
        println!("(none)");
    }
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn list_or_any(numbers: &[String], empty: &str) -> String {
    if numbers.is_empty() { empty.into() } else { numbers.join(",") }
}

pub async fn run_invite(cmd: InviteCommand) -> Result<(), CliError> {
    let actor = Actor::operator_cli();
    match cmd {
        InviteCommand::Create { numbers, expires, note, json, args } => {
            let origin = public_origin(&args)?;
            let secs = i64::try_from(expires.as_secs()).unwrap_or(i64::MAX);
            let (invite, policy) = with_db(&args, async |db| {
                let invite =
                    operators::create_invite(db, &origin, numbers.as_deref(), secs, &note, &actor, &Clock::system())
                        .await?;
                // Unreadable or not yet recorded (the relay never started): the invite stands without it.
                let policy = crate::transparency::key::recorded_policy(db).await.ok().flatten();
                Ok((invite, policy))
            })
            .await?;
            let fingerprint = policy.as_ref().map(|p| p.fingerprint());
            if json {
                let mut value = serde_json::to_value(&invite).map_err(|e| CliError::Failed(e.to_string()))?;
                if let Some(object) = value.as_object_mut() {
                    object.insert("log_policy_fingerprint".into(), serde_json::json!(fingerprint));
                }
                return print_json(&value);
            }
            println!("Invite {} created; it works once and expires {}.", invite.id, invite.expires_at);
            println!("Numbers: {}", list_or_any(&invite.numbers, "any free numbers"));
            println!("Token:   {}", invite.token);
            println!("Redeem:  {}", invite.redeem_url);
            match fingerprint {
                Some(fp) => println!(
                    "Log:     transparency log policy fingerprint {fp}\n         (give it with the link: the org checks its client shows the same)"
                ),
                None => println!(
                    "Log:     the relay has not started yet; `fxe-server serve` logs the log policy's fingerprint"
                ),
            }
            Ok(())
        }
        InviteCommand::List(list) => {
            let invites = with_db(&list.args, async |db| operators::list_invites(db, &Clock::system()).await).await?;
            print_list(list.json, &invites, &["ID", "STATE", "EXPIRES", "NUMBERS", "USED BY", "NOTE"], |i| {
                vec![
                    i.id.clone(),
                    i.state.to_string(),
                    i.expires_at.clone(),
                    list_or_any(&i.numbers, "any"),
                    or_dash(&i.used_by_org_id),
                    i.note.clone(),
                ]
            })
        }
        InviteCommand::Revoke { id, args } => {
            with_db(&args, async |db| operators::revoke_invite(db, id.trim(), &actor, &Clock::system()).await).await?;
            println!("Invite {} revoked.", id.trim());
            Ok(())
        }
    }
}

/// Runs `fxe-server operator …`.
pub async fn run_operator(cmd: OperatorCommand) -> Result<(), CliError> {
    let actor = Actor::operator_cli();
    match cmd {
        OperatorCommand::Add { email, json, args } => {
            let origin = public_origin(&args)?;
            let setup =
                with_db(&args, async |db| operators::add(db, &origin, &email, &actor, &Clock::system()).await).await?;
            if json {
                return print_json(&setup);
            }
            let what = if setup.created { "added" } else { "already exists; new setup link issued" };
            println!("Operator {} {what}.", setup.email);
            println!("Setup:   {}", setup.setup_url);
            println!(
                "The link works once, until {}: open it to enrol a passkey, then sign in at /login.",
                setup.expires_at
            );
            Ok(())
        }
        OperatorCommand::List(list) => {
            let operators = with_db(&list.args, async |db| operators::list(db).await).await?;
            print_list(list.json, &operators, &["ID", "EMAIL", "CREATED", "PASSKEYS"], |o| {
                vec![o.user_id.clone(), o.email.clone(), o.created_at.clone(), o.passkeys.to_string()]
            })
        }
    }
}

pub async fn run_org(cmd: OrgCommand) -> Result<(), CliError> {
    let actor = Actor::operator_cli();
    match cmd {
        OrgCommand::List(list) => {
            let orgs = with_db(&list.args, async |db| operators::list_orgs(db).await).await?;
            print_list(list.json, &orgs, &["ORG ID", "STATE", "NAME", "NUMBERS", "USERS", "JOINED"], |o| {
                let state = if o.echo {
                    "echo"
                } else if o.disabled_at.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                let pending = if o.pending_numbers.is_empty() {
                    String::new()
                } else {
                    format!(" (pending: {})", o.pending_numbers.join(","))
                };
                vec![
                    o.org_id.clone(),
                    state.into(),
                    o.org_name.clone(),
                    format!("{}{pending}", list_or_any(&o.numbers, "-")),
                    o.users.to_string(),
                    o.created_at.clone(),
                ]
            })
        }
        OrgCommand::Disable { org_id, args } => set_disabled_cli(&org_id, &args, true, &actor).await,
        OrgCommand::Enable { org_id, args } => set_disabled_cli(&org_id, &args, false, &actor).await,
    }
}

async fn set_disabled_cli(org_id: &str, args: &OperatorArgs, disabled: bool, actor: &Actor) -> Result<(), CliError> {
    let org_id = org_id.trim();
    with_db(args, async |db| {
        let id = OrgId::parse(org_id).map_err(|_| operators::no_such_org(org_id))?;
        operators::set_org_disabled(db, &id, disabled, actor, &Clock::system()).await
    })
    .await?;
    println!("Org {org_id} {}.", if disabled { "disabled" } else { "enabled" });
    Ok(())
}

pub async fn run_number(cmd: NumberCommand) -> Result<(), CliError> {
    let actor = Actor::operator_cli();
    match cmd {
        NumberCommand::List { pending, list } => {
            let numbers = with_db(&list.args, async |db| operators::list_numbers(db, pending).await).await?;
            print_list(list.json, &numbers, &["NUMBER", "STATUS", "ORG ID", "ORG", "SINCE"], |n| {
                vec![
                    n.number.clone(),
                    n.status.as_str().to_owned(),
                    n.org_id.clone(),
                    n.org_name.clone(),
                    n.created_at.clone(),
                ]
            })
        }
        NumberCommand::Approve { number, args } => decide_cli(&number, &args, true, &actor).await,
        NumberCommand::Deny { number, args } => decide_cli(&number, &args, false, &actor).await,
    }
}

async fn decide_cli(number: &str, args: &OperatorArgs, approve: bool, actor: &Actor) -> Result<(), CliError> {
    let n =
        with_db(args, async |db| operators::decide_number(db, number, approve, actor, &Clock::system()).await).await?;
    if approve {
        println!("{} approved: it now belongs to {} ({}).", n.number, n.org_name, n.org_id);
    } else {
        println!("{} denied: the claim by {} ({}) is withdrawn.", n.number, n.org_name, n.org_id);
    }
    Ok(())
}
