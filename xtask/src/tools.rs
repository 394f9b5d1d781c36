//! Tools the developer commands install on first use.

use std::path::PathBuf;

use anyhow::Result;
use testkit::lambda_watch::CARGO_LAMBDA_VERSION;

use testkit::python;

/// cargo-lambda: `$CARGO_LAMBDA` if set, else the pinned release in `target/ci-venv/cargo-lambda`
/// (installed with pip on first use), where the tests' `LambdaWatch` finds it.
pub fn ensure_cargo_lambda() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CARGO_LAMBDA") {
        return Ok(PathBuf::from(path));
    }
    python::ensure_tool(
        "cargo-lambda",
        &format!("cargo-lambda=={CARGO_LAMBDA_VERSION}"),
        "cargo-lambda",
    )
}
