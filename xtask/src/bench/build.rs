//! The optimised artifacts the bench measures, each built once per run: `k8s-server` and the ceilings
//! (`bench/ceiling`) in the `server` profile, as the Dockerfile builds the server, and the Lambda
//! `bootstrap` (and its zip) exactly as CI and SAM build it, with `cargo lambda build --release -p
//! lambda-fn`.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::steps::{self, target_dir};
use crate::tools;

/// Paths of the built artifacts.
pub struct Artifacts {
    /// `target/server/k8s-server`.
    pub k8s_server: PathBuf,
    /// `target/server/ceiling-http`.
    pub ceiling_http: PathBuf,
    /// `target/server/ceiling-getitem`.
    pub ceiling_getitem: PathBuf,
    /// `target/server/ceiling-axum`.
    pub ceiling_axum: PathBuf,
    /// `target/server/ceiling-lambda`.
    pub ceiling_lambda: PathBuf,
    /// `target/lambda/lambda-fn/bootstrap`.
    pub bootstrap: PathBuf,
    /// `target/lambda/lambda-fn/bootstrap.zip`.
    pub bootstrap_zip: PathBuf,
}

impl Artifacts {
    /// Where the artifacts are (built or not).
    pub fn locate() -> Artifacts {
        let server = target_dir().join("server");
        let lambda = target_dir().join("lambda/lambda-fn");
        Artifacts {
            k8s_server: server.join("k8s-server"),
            ceiling_http: server.join("ceiling-http"),
            ceiling_getitem: server.join("ceiling-getitem"),
            ceiling_axum: server.join("ceiling-axum"),
            ceiling_lambda: server.join("ceiling-lambda"),
            bootstrap: lambda.join("bootstrap"),
            bootstrap_zip: lambda.join("bootstrap.zip"),
        }
    }

    /// Builds everything. `k8s-server` is built on its own, as the Dockerfile builds it, so that its
    /// features (and size) are not those of a combined build.
    pub fn build() -> Result<Artifacts> {
        steps::run(
            "cargo build --profile server -p k8s-server",
            steps::cargo().args(["build", "--profile", "server", "-p", "k8s-server"]),
        )?;
        steps::run(
            "cargo build --profile server -p bench-ceiling (bare hyper and axum servers, raw GetItem loop, Lambda floor)",
            steps::cargo().args(["build", "--profile", "server", "-p", "bench-ceiling"]),
        )?;
        let path = cargo_lambda_path()?;
        steps::run(
            "cargo lambda build --release -p lambda-fn",
            steps::cargo()
                .args(["lambda", "build", "--release", "-p", "lambda-fn"])
                .env("PATH", &path),
        )?;
        let artifacts = Artifacts::locate();
        // The zip is what gets deployed; packaging reuses the binary just built (no compilation).
        let binary = std::fs::read(&artifacts.bootstrap)?;
        steps::run(
            "cargo lambda build --release -p lambda-fn --output-format zip",
            steps::cargo()
                .args(["lambda", "build", "--release", "-p", "lambda-fn"])
                .args(["--output-format", "zip"])
                .env("PATH", &path),
        )?;
        if !artifacts.bootstrap.is_file() {
            std::fs::write(&artifacts.bootstrap, binary)?;
        }
        artifacts.check()?;
        Ok(artifacts)
    }

    /// Fails unless every artifact exists.
    pub fn check(&self) -> Result<()> {
        for path in [
            &self.k8s_server,
            &self.ceiling_http,
            &self.ceiling_getitem,
            &self.ceiling_axum,
            &self.ceiling_lambda,
            &self.bootstrap,
            &self.bootstrap_zip,
        ] {
            if !path.is_file() {
                bail!("{} is missing (run without --no-build)", path.display());
            }
        }
        Ok(())
    }
}

/// `PATH` with cargo-lambda's directory in front (its `python-zig` must be found next to it),
/// installing cargo-lambda first if needed.
fn cargo_lambda_path() -> Result<OsString> {
    let cargo_lambda = tools::ensure_cargo_lambda()?;
    let bin = cargo_lambda
        .parent()
        .context("cargo-lambda's directory")?
        .to_path_buf();
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).context("PATH")
}
