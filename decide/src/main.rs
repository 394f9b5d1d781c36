//! `cargo run -p decide -- COMMAND`: the decision lab's commands (also `cargo xtask cost`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The decision lab: Kubernetes or Lambda, for your traffic, from measurements and list prices.
#[derive(Debug, Parser)]
#[command(name = "decide", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every platform on every traffic shape (and your CSV): verdict, report.html, summary.json.
    Run(decide::cli::LabArgs),
    /// Compare the monthly cost of the Kubernetes and Lambda deployments (docs/cost.md).
    Cost(decide::cost::CostArgs),
}

fn main() -> ExitCode {
    let result = match &Cli::parse().command {
        Command::Run(args) => decide::cli::run(args),
        Command::Cost(args) => decide::cost::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
