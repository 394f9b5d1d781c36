//! Python tools the project needs, each in its own virtual environment under `target/ci-venv/`,
//! installed from `tools/python/<venv>.txt` (the whole tree pinned by hash) so that a fresh machine
//! and CI behave the same.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::steps::{target_dir, workspace_root};

/// Makes sure `target/ci-venv/<venv>` holds exactly `tools/python/<venv>.txt` (reinstalled when the
/// file changes, by `tools/python/install`) and returns the path of its `binary`.
pub fn ensure_tool(venv: &str, binary: &str) -> Result<PathBuf> {
    let install = workspace_root().join("tools/python/install");
    run(Command::new("bash")
        .arg(&install)
        .arg(venv)
        .env("CARGO_TARGET_DIR", target_dir()))?;
    let bin = target_dir()
        .join("ci-venv")
        .join(venv)
        .join("bin")
        .join(binary);
    if !bin.is_file() {
        bail!(
            "{} is missing after installing tools/python/{venv}.txt",
            bin.display()
        );
    }
    Ok(bin)
}

fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
