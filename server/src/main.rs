//! `fxe-server`: the relay's command line. The work is done in the library
//! (`fxe_server`); this file only parses arguments and reports errors.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fxe_server::config::ServeArgs;

const EXAMPLES: &str = "\
Examples:
  Run a relay on this machine, with SQLite and blobs under ./data:
    fxe-server serve

  Serve on all interfaces behind a TLS proxy, state under /var/lib/fxe:
    fxe-server serve --bind 0.0.0.0:3000 --data-dir /var/lib/fxe \\
        --public-url https://fax.example.org

  Keep the database in PostgreSQL (the blobs stay in --data-dir):
    FXE_DATABASE_URL=postgres://fxe:secret@db.internal/fxe fxe-server serve

Every option can also be set through its FXE_* environment variable.
Logging follows RUST_LOG (default: info), on stderr.";

/// The fxe relay: moves end-to-end encrypted faxes between member organisations.
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
    Serve(ServeArgs),
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fxe-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}
