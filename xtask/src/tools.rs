//! Tools the developer commands install on first use.

use std::path::PathBuf;

use anyhow::Result;

use testkit::python;

/// cargo-lambda: `$CARGO_LAMBDA` if set, else the release pinned in `tools/python/cargo-lambda.txt`,
/// in `target/ci-venv/cargo-lambda` (installed on first use), where the tests' `LambdaWatch` finds it.
pub fn ensure_cargo_lambda() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CARGO_LAMBDA") {
        return Ok(PathBuf::from(path));
    }
    python::ensure_tool("cargo-lambda", "cargo-lambda")
}
