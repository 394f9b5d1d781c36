//! The optimised artifacts the bench measures, each built once per run: `k8s-server` and the ceilings
//! (`bench/ceiling`) in the `server` profile, as the Dockerfile builds the server, and the Lambda
//! `bootstrap` (and its zip) exactly as CI and SAM build it, with `cargo lambda build --release -p
//! lambda-fn`.

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};

use crate::steps::{self, target_dir};
use crate::tools;

/// Paths of the built artifacts: `target/server/NAME` for the servers, the ceilings (bare hyper and
/// axum servers, the raw `GetItem` loop, the bare `lambda_runtime` floor), and
/// `target/lambda/lambda-fn/bootstrap{,.zip}`.
pub struct Artifacts {
    pub k8s_server: PathBuf,
    pub ceiling_http: PathBuf,
    pub ceiling_getitem: PathBuf,
    pub ceiling_first_getitem: PathBuf,
    pub ceiling_axum: PathBuf,
    pub ceiling_lambda: PathBuf,
    pub bootstrap: PathBuf,
    pub bootstrap_zip: PathBuf,
}

impl Artifacts {
    /// Where the artifacts are (built or not).
    pub fn locate() -> Artifacts {
        let server = |name| target_dir().join("server").join(name);
        let lambda = |name| target_dir().join("lambda/lambda-fn").join(name);
        Artifacts {
            k8s_server: server("k8s-server"),
            ceiling_http: server("ceiling-http"),
            ceiling_getitem: server("ceiling-getitem"),
            ceiling_first_getitem: server("ceiling-first-getitem"),
            ceiling_axum: server("ceiling-axum"),
            ceiling_lambda: server("ceiling-lambda"),
            bootstrap: lambda("bootstrap"),
            bootstrap_zip: lambda("bootstrap.zip"),
        }
    }

    /// Builds everything. `k8s-server` is built on its own, as the Dockerfile builds it, so that its
    /// features (and size) are not those of a combined build.
    pub fn build() -> Result<Artifacts> {
        for package in ["k8s-server", "bench-ceiling"] {
            let args = ["build", "--profile", "server", "-p", package];
            steps::run(
                &format!("cargo {}", args.join(" ")),
                steps::cargo().args(args),
            )?;
        }
        // cargo-lambda's `python-zig` must be found next to it.
        let cargo_lambda = tools::ensure_cargo_lambda()?;
        let bin = cargo_lambda.parent().context("cargo-lambda's directory")?;
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&path)),
        )?;
        let artifacts = Artifacts::locate();
        let lambda = ["lambda", "build", "--release", "-p", "lambda-fn"];
        steps::run(
            &format!("cargo {}", lambda.join(" ")),
            steps::cargo().args(lambda).env("PATH", &path),
        )?;
        // The zip is what gets deployed; packaging reuses the binary just built (no compilation)
        // and may leave only the zip: the binary is put back.
        let binary = std::fs::read(&artifacts.bootstrap)?;
        steps::run(
            &format!("cargo {} --output-format zip", lambda.join(" ")),
            (steps::cargo().args(lambda))
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
            &self.ceiling_first_getitem,
            &self.ceiling_axum,
            &self.ceiling_lambda,
            &self.bootstrap,
            &self.bootstrap_zip,
        ] {
            ensure!(
                path.is_file(),
                "{} is missing (run without --no-build)",
                path.display()
            );
        }
        Ok(())
    }
}
