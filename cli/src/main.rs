//! `fxe-client`: see `fxe-client --help` and docs/cli.md.

use clap::Parser;
use fxe_client::cli::Cli;
use fxe_client::error::exit;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let json = cli.global.json;
    let code = match fxe_client::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            if json {
                let v = serde_json::json!({"error": {"code": e.kind, "message": e.message, "hint": e.hint, "exit_code": e.code}});
                println!("{v}");
            }
            eprintln!("error: {}", e.message);
            if let Some(h) = &e.hint {
                eprintln!("hint: {h}");
            }
            e.code
        }
    };
    std::process::exit(code);
}
