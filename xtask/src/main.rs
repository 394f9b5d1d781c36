//! Developer commands for this workspace, run as `cargo xtask <command>`.
//!
//! Each command lives in its own module; this file only parses and dispatches.

mod aws_local;
mod bench;
mod chart;
mod demo;
mod numbers;
mod openapi;
mod schemathesis;
mod seed;
mod solutions;
mod steps;
mod test;
mod tools;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Developer commands for the user-lookup service.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every test: manifest checks, then `cargo test --workspace` (installs what it needs).
    Test(test::TestArgs),
    /// Run moto server (AWS emulator: DynamoDB, S3) on 127.0.0.1 with table Users seeded, until Ctrl-C.
    AwsLocal(aws_local::AwsLocalArgs),
    /// Write the sample users to a DynamoDB table (endpoint and region from the SDK's standard settings).
    Seed(seed::SeedArgs),
    /// Compare the monthly cost of the Kubernetes and Lambda deployments (docs/cost.md).
    Cost(decide::cost::CostArgs),
    /// The decision lab: every platform on every traffic shape (and your CSV), the verdict and
    /// target/decide/report.html (docs/decide.md).
    Decide(decide::cli::LabArgs),
    /// Measure both targets beside their ceilings and Node.js peers; writes docs/benchmarks.{md,json,svg}.
    Bench(bench::BenchArgs),
    /// Run k8s-server and lambda-fn (under cargo lambda watch) side by side and compare their answers
    /// (--hybrid: the user import through import-fn and import-job first).
    Demo(demo::DemoArgs),
    /// Write the API's OpenAPI document, generated from the code, to docs/openapi.json.
    Openapi,
    /// Apply each workshop solution (docs/workshop/solutions/*.patch) to a scratch copy and run its check.
    Solutions,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Test(args) => test::run(args),
        Command::AwsLocal(args) => aws_local::run(args),
        Command::Seed(args) => seed::run(args),
        Command::Cost(args) => decide::cost::run(args),
        Command::Decide(args) => decide::cli::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Openapi => openapi::run(),
        Command::Solutions => solutions::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
