//! The `ktix` command-line tool: thin argument parsing over the library.

#[path = "ktix/demo.rs"]
mod demo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// libktix: Kerberos V5 session tickets.
#[derive(Parser)]
#[command(name = "ktix", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole session-ticket scheme on an embedded realm, narrating each step.
    Demo,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo => demo::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ktix: {e}");
            ExitCode::FAILURE
        }
    }
}
