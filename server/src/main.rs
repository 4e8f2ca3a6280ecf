//! `fxe-server`: the relay's command line. The work is done in the library
//! (`fxe_server`); this file only parses arguments and reports errors.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fxe_server::{
    cli::operator::{InviteCommand, NumberCommand, OperatorCommand, OrgCommand},
    config::ServeArgs,
};

const EXAMPLES: &str = "\
Examples:
  Run a relay on this machine, with SQLite and blobs under ./data:
    fxe-server serve

  Serve on all interfaces behind a TLS proxy, state under /var/lib/fxe:
    fxe-server serve --bind 0.0.0.0:3000 --data-dir /var/lib/fxe \\
        --public-url https://fax.example.org

  Keep the database in PostgreSQL (the blobs stay in --data-dir):
    FXE_DATABASE_URL=postgres://fxe:secret@db.internal/fxe fxe-server serve

Issue the first invite (prints a token and the redeem link):
    fxe-server invite create --numbers +15551234567 --expires 7d \\
        --public-url https://fax.example.org

Every option can also be set through its FXE_* environment variable.
Logging follows RUST_LOG (default: info), on stderr.";

/// The fxe relay: moves end-to-end encrypted faxes between member organizations.
#[derive(Debug, Parser)]
#[command(name = "fxe-server", version, about, after_help = EXAMPLES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the relay: the web UI, the REST API and the health checks.
    ///
    /// On first start this creates the data directory, the SQLite database
    /// `fxe.db` in it (unless --database-url points at PostgreSQL) and the
    /// blob folder `blobs/`; database migrations run on every start.
    /// Stops cleanly on SIGINT or SIGTERM.
    #[command(after_help = EXAMPLES)]
    Serve(Box<ServeArgs>),

    /// Operator: issue, list and revoke invites.
    #[command(subcommand)]
    Invite(InviteCommand),

    /// Operator: list, disable and re-enable member orgs.
    #[command(subcommand)]
    Org(OrgCommand),

    /// Operator: list number claims, approve or deny them.
    #[command(subcommand)]
    Number(NumberCommand),

    /// Operator accounts: add one (prints a passkey setup link), list them.
    #[command(subcommand)]
    Operator(OperatorCommand),

    /// A transparency-log witness any member org can run (docs/transparency.md §8):
    /// create its key, serve it, read the evidence it kept.
    #[command(subcommand)]
    Witness(fxe_server::witness::WitnessCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    fxe_server::init_tracing();

    let result = match cli.command {
        Command::Serve(args) => match args.into_config() {
            Ok(config) => fxe_server::serve(config).await,
            Err(e) => Err(e.into()),
        },
        Command::Invite(cmd) => return operator_exit(fxe_server::cli::operator::run_invite(cmd).await),
        Command::Org(cmd) => return operator_exit(fxe_server::cli::operator::run_org(cmd).await),
        Command::Number(cmd) => return operator_exit(fxe_server::cli::operator::run_number(cmd).await),
        Command::Operator(cmd) => return operator_exit(fxe_server::cli::operator::run_operator(cmd).await),
        Command::Witness(cmd) => fxe_server::witness::run(cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fxe-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Operator commands: 0, or the message on stderr and 1 (could not be done)
/// or 2 (bad arguments).
fn operator_exit(result: Result<(), fxe_server::cli::operator::CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fxe-server: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
